"""Agreement with human grades: grade a human-graded CSV and compare, overall, per metric and per question.

A question that is not in the bank is graded from its reference alone (ROUGE and BERTScore; no rubric). Rows
whose id is a bank question id are graded exactly as ``grader grade`` grades them, rubric included.
"""
from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from grader.bank import Bank, Question
from grader.errors import InputError

#: In JSON Lines the question and reference keys may be absent when every row's id is a bank question.
REQUIRED_COLUMNS = ("id", "answer", "score")
DEFAULT_COLUMNS = {"id": "id", "question": "question", "reference": "desired_answer", "answer": "student_answer",
                   "score": "score_avg"}
#: The metric values reported alone next to the combined score (column names of --predictions).
METRIC_COLUMNS = ("keywords_coverage", "rouge1_recall", "rouge1_f1", "rouge2_f1", "rougeL_f1",
                  "bertscore_precision", "bertscore_recall", "bertscore_f1", "demoted_bertscore_recall",
                  "reference_demoted_bertscore_recall",
                  "demoted_rouge1_recall", "semantic")


@dataclass(frozen=True)
class GradedRow:
    row: int
    id: str
    question: str
    reference: str
    answer: str
    human: float
    more_references: tuple[str, ...] = ()  # further accepted answers (several references per row)
    raters: tuple[float, ...] = ()  # two human graders' own grades (--rater-cols), when the data has them


def _jsonl_records(text: str, path, columns: dict[str, str]):
    """(line, record) of a JSON Lines file; every line an object holding the named columns."""
    import json

    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise InputError(f"not valid JSON ({str(exc)[:80]})", path=path, line=number) from None
        if not isinstance(record, dict):
            raise InputError("each line must be a JSON object", path=path, line=number)
        missing = [f"--{k}-col {v!r}" for k, v in columns.items()
                   if v not in record and (k in REQUIRED_COLUMNS or k.startswith("rater"))]
        if missing:
            raise InputError(f"missing key(s) {', '.join(missing)}", path=path, line=number)
        yield number, {k: v if isinstance(v, str) or v is None else str(v) if not isinstance(v, (dict, list)) else ""
                       for k, v in record.items()}


def _number(raw, path, line: int, column: str) -> float:
    """A grade cell as a finite number, or an error naming the file, line and column."""
    raw = (raw or "").strip()
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"score {raw!r} is not a number", path=path, line=line, field=column) from None
    if not math.isfinite(value):
        raise InputError(f"score {raw!r} is not finite", path=path, line=line, field=column)
    return value


def read_dataset(path: str | Path, columns: dict[str, str] | None = None,
                 references_sep: str | None = None,
                 rater_cols: tuple[str, str] | None = None) -> tuple[list[GradedRow], str]:
    """Rows of a human-graded CSV or JSON Lines file (``.jsonl``) and the file's sha256 (its signature).

    With ``references_sep`` the reference column holds several accepted answers separated by it (SemEval-2013's
    ``all_references`` uses " || "). With ``rater_cols`` each row also keeps two human graders' own grades
    (Mohler's ``score_me``, ``score_other``), for the human-human agreement. Errors name the file, line and column.
    """
    from grader.io import read_text_file

    columns = {**DEFAULT_COLUMNS, **(columns or {})}
    if rater_cols:
        columns.update(rater_a=rater_cols[0], rater_b=rater_cols[1])
    text = read_text_file(path, limit=512 * 1024 * 1024)
    if str(path).lower().endswith((".jsonl", ".ndjson")):
        records = _jsonl_records(text, path, columns)
    else:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = reader.fieldnames or []
        missing = [f"--{k}-col {v!r}" if not k.startswith("rater") else f"--rater-cols {v!r}"
                   for k, v in columns.items() if v not in header]
        if missing:
            raise InputError(f"missing column(s) {', '.join(missing)}; the header has: "
                             f"{', '.join(header) or '(none)'}", path=path, line=1)
        records = ((reader.line_num, record) for record in reader)
    rows: list[GradedRow] = []
    for n, (line, record) in enumerate(records):
        if None in record:
            raise InputError("row has more fields than the header", path=path, line=line)
        human = _number(record.get(columns["score"]), path, line, columns["score"])
        raters = tuple(_number(record.get(columns[k]), path, line, columns[k]) for k in ("rater_a", "rater_b")
                       if k in columns)
        qid = (record.get(columns["id"]) or "").strip()
        if not qid:
            raise InputError("empty question id", path=path, line=line, field=columns["id"])
        reference = (record.get(columns["reference"]) or "").strip()
        references = tuple(r.strip() for r in reference.split(references_sep) if r.strip()) \
            if references_sep else (reference,) if reference else ()
        rows.append(GradedRow(n, qid, (record.get(columns["question"]) or "").strip(),
                              references[0] if references else "", record[columns["answer"]] or "", human,
                              references[1:], raters))
    if not rows:
        raise InputError("no data rows", path=path, line=1)
    return rows, hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def dataset_bank(rows: list[GradedRow]) -> Bank:
    """A bank of the data set's own questions, each graded from its reference answer alone (no rubric)."""
    questions: dict[str, Question] = {}
    for r in rows:
        if r.id in questions:
            continue
        if not r.reference:
            raise InputError(f"question {r.id!r} has no reference answer and is not in the bank", field="reference")
        questions[r.id] = Question(r.id, r.question, "Medium", ("dataset",), r.reference,
                                   exemplars=r.more_references)
    return Bank("<dataset>", tuple(questions.values()), {})


def select_exemplars(rows: list[GradedRow], k: int) -> list[list[str]]:
    """For each row, up to k answers to the same question that humans gave the top grade: never its own answer."""
    if k <= 0:
        return [[] for _ in rows]
    best: dict[str, float] = {}
    for r in rows:
        best[r.id] = max(best.get(r.id, -math.inf), r.human)
    tops: dict[str, list[GradedRow]] = {}
    for r in rows:
        if r.human == best[r.id]:
            tops.setdefault(r.id, []).append(r)
    return [[t.answer for t in tops.get(r.id, []) if t.row != r.row and t.answer.strip() != r.answer.strip()][:k]
            for r in rows]


def metric_values(report) -> dict[str, float | None]:
    out: dict[str, float | None] = {c: None for c in METRIC_COLUMNS}
    if report.keywords is not None:
        out["keywords_coverage"] = report.keywords.coverage
    if report.rouge is not None:
        out.update(rouge1_recall=report.rouge.rouge1.recall, rouge1_f1=report.rouge.rouge1.f1,
                   rouge2_f1=report.rouge.rouge2.f1, rougeL_f1=report.rouge.rougeL.f1)
    if report.bertscore is not None:
        out.update(bertscore_precision=report.bertscore.precision, bertscore_recall=report.bertscore.recall,
                   bertscore_f1=report.bertscore.f1)
    out.update(report.demoted)
    out["semantic"] = report.semantic
    return out


# --------------------------------------------------------------------------- agreement


def infer_max_score(humans: list[float]) -> float:
    """The top of the human scale: the largest grade, rounded up to a whole number."""
    return float(math.ceil(max(humans))) if humans and max(humans) > 0 else 1.0


def scale_step(humans: list[float]) -> float:
    """The grid human grades sit on (0.5 for averages of two integer grades, 1 for integers)."""
    for step in (1.0, 0.5, 0.25, 0.1):
        if all(abs(h / step - round(h / step)) < 1e-9 for h in humans):
            return step
    return 0.1


#: QWK compares grades on the human scale's steps; more distinct steps than this make no kappa worth reading
#: (and a confusion matrix of their square).
MAX_QWK_STEPS = 2001
#: Why a figure is null: grades so large (or spread so far) that floating point cannot hold the result.
_NOT_FINITE = ("not a finite number: the grades are too large for floating point (largest |grade| {top:g}); "
               "rescale them")


def agreement(human: list[float], score: list[float], max_score: float, step: float) -> dict:
    """Pearson, Spearman, QWK (on the human scale's steps), RMSE and MAE of score (0-100) mapped to the scale.

    A figure that cannot be computed as a finite number (grades near the limits of floating point) is None,
    with the reason under ``notes`` (present only then): never Infinity or NaN, which JSON cannot hold, and
    no numpy warnings on stderr.
    """
    import warnings

    import numpy as np
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics import cohen_kappa_score

    h = np.asarray(human, dtype=float)
    s = np.asarray(score, dtype=float)
    n = len(h)
    out: dict = {"n": n, "pearson": None, "spearman": None, "qwk": None, "rmse": None, "mae": None}
    if n == 0:
        return out
    notes: dict[str, str] = {}
    top = float(np.max(np.abs(h)))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # overflow, constant input: the figure becomes None with a note
        # Errors on the scale of max_score, so grades near the float limit do not overflow on the way.
        error = s / 100.0 - h / max_score
        out["rmse"] = float(max_score * np.sqrt(np.mean(error ** 2)))
        out["mae"] = float(max_score * np.mean(np.abs(error)))
        if n >= 2 and np.std(h) > 0 and np.std(s) > 0:
            out["pearson"] = float(pearsonr(h, s)[0])
            out["spearman"] = float(spearmanr(h, s)[0])
        steps_h = h / step
        steps_p = np.clip(s / 100.0 * max_score, 0, max_score) / step
        levels = np.concatenate([steps_h, steps_p])
        if not np.all(np.isfinite(levels)) or np.max(np.abs(levels)) > 2 ** 53:
            notes["qwk"] = (f"not computed: the grades and the scale (0-{max_score:g}) span more steps of "
                            f"{step:g} than can be counted (largest |grade| {top:g})")
        else:
            steps_h, steps_p = np.rint(steps_h).astype(np.int64), np.rint(steps_p).astype(np.int64)
            distinct = len(set(steps_h.tolist()) | set(steps_p.tolist()))
            if distinct > MAX_QWK_STEPS:
                notes["qwk"] = f"not computed: {distinct} distinct steps of {step:g} (the limit is {MAX_QWK_STEPS})"
            elif distinct > 1:
                out["qwk"] = float(cohen_kappa_score(steps_h, steps_p, weights="quadratic"))
    for key in ("pearson", "spearman", "qwk", "rmse", "mae"):
        value = out[key]
        if value is not None and not math.isfinite(value):
            out[key] = None
            notes[key] = _NOT_FINITE.format(top=top)
        elif value is not None:
            out[key] = round(value, 4)
    if notes:
        out["notes"] = notes
    return out


#: Version of the JSON ``grader evaluate --format json`` and ``grader calibrate --format json`` write.
EVALUATION_SCHEMA_VERSION = 1
FIGURES_FILE = Path(__file__).resolve().parent.parent / "data" / "evaluation-figures.yaml"


def figure_guide() -> dict:
    """What each agreement figure means and what is good (``measures``), and readable metric names
    (``metrics``), from ``grader/data/evaluation-figures.yaml``."""
    from grader.yamlio import safe_load

    return safe_load(FIGURES_FILE.read_text(encoding="utf-8"))


@dataclass
class Evaluation:
    rows: list[GradedRow]
    reports: list
    max_score: float
    step: float
    dataset_sha256: str

    def summary(self) -> dict:
        humans = [r.human for r in self.rows]
        scores = [rep.score for rep in self.reports]
        out = agreement(humans, scores, self.max_score, self.step)
        values = [metric_values(rep) for rep in self.reports]
        per_metric = {}
        for name in METRIC_COLUMNS:
            pairs = [(h, v[name]) for h, v in zip(humans, values) if v[name] is not None]
            if pairs:
                hs, vs = zip(*pairs)
                a = agreement(list(hs), [100 * x for x in vs], self.max_score, self.step)
                per_metric[name] = {k: a[k] for k in ("n", "pearson", "spearman") if k in a}
                notes = {k: v for k, v in a.get("notes", {}).items() if k in ("pearson", "spearman")}
                if notes:
                    per_metric[name]["notes"] = notes
        per_question = {}
        for qid in dict.fromkeys(r.id for r in self.rows):
            idx = [i for i, r in enumerate(self.rows) if r.id == qid]
            a = agreement([humans[i] for i in idx], [scores[i] for i in idx], self.max_score, self.step)
            keys = ("n", "pearson", "spearman", "rmse", "mae")
            per_question[qid] = {k: a[k] for k in keys}
            notes = {k: v for k, v in a.get("notes", {}).items() if k in keys}
            if notes:
                per_question[qid]["notes"] = notes
        extra = {}
        if self.rows and all(len(r.raters) == 2 for r in self.rows):
            extra["human_agreement"] = self.human_agreement()
        return {"schema_version": EVALUATION_SCHEMA_VERSION, **out, **extra, "max_score": self.max_score,
                "step": self.step, "per_metric": per_metric, "per_question": per_question,
                "dataset_sha256": self.dataset_sha256, "signature": self.reports[0].signature if self.reports else {}}

    def human_agreement(self) -> dict:
        """How the two human graders agree with each other (the first taken as the truth, the second as the
        score): the ceiling any automatic grader can be read against."""
        first = [r.raters[0] for r in self.rows]
        second = [100.0 * r.raters[1] / self.max_score for r in self.rows]
        return agreement(first, second, self.max_score, scale_step([*first, *(r.raters[1] for r in self.rows)]))

    def predictions_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["row", "id", "human", "score", "predicted", *METRIC_COLUMNS])
        for r, rep in zip(self.rows, self.reports):
            values = metric_values(rep)
            writer.writerow([r.row, r.id, r.human, rep.score, round(rep.score / 100 * self.max_score, 4),
                             *("" if values[c] is None else values[c] for c in METRIC_COLUMNS)])
        return buffer.getvalue()


def evaluate(rows: list[GradedRow], grader_factory: Callable[[Bank], object], bank: Bank | None,
             dataset_sha256: str, exemplars: int = 0, max_score: float | None = None,
             progress: Callable[[int, int], None] | None = None, chunk: int = 4096) -> Evaluation:
    """Grade every row (batched, in input order) and keep the reports for the agreement figures."""
    # Rows of bank questions are graded exactly as `grader grade` grades them (the bank, its idf, its
    # rubrics); the other questions form a bank of their own, graded from their references.
    in_bank = [bank is not None and r.id in bank for r in rows]
    graders = {True: grader_factory(bank) if any(in_bank) else None,
               False: grader_factory(dataset_bank([r for r, b in zip(rows, in_bank) if not b]))
               if not all(in_bank) else None}
    extras = select_exemplars(rows, exemplars)
    reports: list = [None] * len(rows)
    done = 0
    for kind in (True, False):
        index = [i for i, b in enumerate(in_bank) if b is kind]
        for start in range(0, len(index), chunk):
            part = index[start : start + chunk]
            offset = done

            def step(encoded: int, total: int, offset=offset, size=len(part)) -> None:
                if progress and total:
                    progress(offset + int(size * encoded / total), len(rows))

            graded = graders[kind].grade_many([(rows[i].id, rows[i].answer) for i in part],
                                              [extras[i] for i in part], progress=step)
            for i, report in zip(part, graded):
                reports[i] = report
            done += len(part)
            if progress:
                progress(done, len(rows))
    humans = [r.human for r in rows]
    top = max_score if max_score is not None else infer_max_score(humans)
    return Evaluation(rows, reports, top, scale_step(humans), dataset_sha256)
