"""Where mentors and grader disagree, over the reviewed reports of a folder.

Each reviewed answer gives a pair (the mentor's current grade, the automatic score) and the answer's metric
values. Per question: how far apart they are (mean difference mentor - automatic, mean absolute difference) and
Pearson's r; per metric: Pearson's r of the metric with the mentor's grade and the mean difference, with metrics
in [0, 1] scaled by 100 to share the 0-100 scale.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean

from grader.errors import GraderError, InputError
from grader.reports.model import REPORT_SCHEMA_VERSION
from grader.reports.views import METRICS, answer_rows

#: Metrics compared with the mentor's grade: the automatic score (0-100) and each metric (x100).
AGREEMENT_METRICS = (("score", "automatic score", 1.0),) + tuple((key, label, 100.0) for key, label in METRICS)
TOP_DISAGREEMENTS = 10


@dataclass(frozen=True)
class Pair:
    report: str
    number: int
    question_id: str
    mentor: float
    automatic: float
    reviewer: str
    note: str
    metrics: dict[str, float | None] = field(default_factory=dict)

    @property
    def difference(self) -> float:
        return self.mentor - self.automatic


def pearson(xs: list[float], ys: list[float]) -> float | None:
    """Pearson's r; None with fewer than two pairs or when either side does not vary."""
    if len(xs) != len(ys):
        raise ValueError(f"pearson needs as many x as y, got {len(xs)} and {len(ys)}")
    if len(xs) < 2:
        return None
    mx, my = mean(xs), mean(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 0 or syy <= 0:
        return None
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def collect(folder: str | Path) -> tuple[list[Pair], int, list[GraderError]]:
    """Reviewed answers of every question or transcript report under ``folder`` (recursively).

    Returns the pairs, how many reports were read, and the files that could not be used (invalid JSON or a
    report that breaks its schema). Summaries and other JSON files without answers are passed over.
    """
    from grader.reports.schemas import check, detect_kind, read_json

    root = Path(folder)
    if not root.is_dir():
        raise InputError("not a directory" if root.exists() else "directory not found", path=root)
    pairs: list[Pair] = []
    problems: list[GraderError] = []
    reports = 0
    for path in sorted(root.rglob("*.json")):
        if path.name.startswith("."):
            continue
        try:
            data = read_json(path)
            if not isinstance(data, dict) or "schema_version" not in data:
                continue  # some other JSON file (a calibration, a config): not ours to judge
            kind = detect_kind(data, path)
            if kind not in ("question", "transcript"):
                continue
            check(data, kind, path)
        except InputError as exc:
            problems.append(exc)
            continue
        reports += 1
        label = str(path.relative_to(root))
        for row in answer_rows(kind, data):
            if row["mentor_grade"] is None or row["score"] is None:
                continue
            pairs.append(Pair(label, row["number"], row["question_id"], row["mentor_grade"], row["score"],
                              row["reviewer"], row["mentor_note"] or "",
                              {key: row.get(key) for key, _, _ in AGREEMENT_METRICS}))
    return pairs, reports, problems


def _stat(mentor: list[float], other: list[float]) -> dict:
    diffs = [m - o for m, o in zip(mentor, other)]
    return {"n": len(diffs), "pearson": _r(pearson(other, mentor)),
            "mean_difference": _r(mean(diffs), 2) if diffs else None,
            "mean_abs_difference": _r(mean(abs(d) for d in diffs), 2) if diffs else None}


def summarize(pairs: Iterable[Pair], directory: str, reports: int) -> dict:
    """The agreement data model (schema: grader/data/schemas/agreement.schema.json)."""
    pairs = list(pairs)
    by_question = []
    for qid in sorted({p.question_id for p in pairs}):
        group = [p for p in pairs if p.question_id == qid]
        stat = _stat([p.mentor for p in group], [p.automatic for p in group])
        by_question.append({"question_id": qid, **stat, "mentor_mean": round(mean(p.mentor for p in group), 2),
                            "automatic_mean": round(mean(p.automatic for p in group), 2)})
    by_question.sort(key=lambda q: (-(q["mean_abs_difference"] or 0), q["question_id"]))
    by_metric = []
    for key, label, scale in AGREEMENT_METRICS:
        have = [p for p in pairs if p.metrics.get(key) is not None]
        if have:
            by_metric.append({"metric": key, "label": label,
                              **_stat([p.mentor for p in have], [p.metrics[key] * scale for p in have])})
    worst = sorted(pairs, key=lambda p: (-abs(p.difference), p.report, p.number))[:TOP_DISAGREEMENTS]
    return {
        "schema_version": REPORT_SCHEMA_VERSION, "directory": directory, "reports": reports,
        "reviewed_answers": len(pairs),
        "overall": _stat([p.mentor for p in pairs], [p.automatic for p in pairs]),
        "by_question": by_question, "by_metric": by_metric,
        "disagreements": [{"report": p.report, "number": p.number, "question_id": p.question_id,
                           "mentor": p.mentor, "automatic": p.automatic, "difference": round(p.difference, 2),
                           "reviewer": p.reviewer, "note": p.note} for p in worst],
    }


def agreement(folder: str | Path) -> tuple[dict, list[GraderError]]:
    pairs, reports, problems = collect(folder)
    if not pairs:
        unread = f"; {len(problems)} file(s) could not be used, first {problems[0].one_line()}" if problems else ""
        raise InputError(f"no reviewed answers among {reports} report(s); add mentor grades with "
                         f"'grader review REPORT.json' first{unread}", path=folder)
    return summarize(pairs, str(folder), reports), problems
