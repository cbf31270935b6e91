"""The cohort summary (``summary.json``) from transcript reports: per candidate, per question, and every graded
answer as one cell of the candidate x question grid a mentor works from, with the mentor's latest grades.

It is built from the transcript reports themselves (JSON dicts), so the same code makes the summary after a
batch (:mod:`grader.batch`) and keeps it in step when a mentor reviews one of them (:mod:`grader.mentor.review`).
"""
from __future__ import annotations

from statistics import mean
from typing import Any

from grader.reports.model import REPORT_SCHEMA_VERSION


def _latest(entry: dict) -> dict | None:
    reviews = entry.get("reviews") or []
    return reviews[-1] if reviews else None


def answer_cell(number: int, entry: dict) -> dict[str, Any]:
    """One graded answer as the cohort grid shows it: score, band, the mentor's latest grade, what was flagged."""
    review = _latest(entry)
    keywords = (entry.get("metrics") or {}).get("keywords") or {}
    return {"number": number, "question_id": entry["question_id"], "score": entry["score"],
            "band": entry.get("band"),
            "mentor_grade": review["grade"] if review else None,
            "reviewer": review["reviewer"] if review else None,
            "reviewed_at": review["reviewed_at"] if review else None,
            "misconceptions": list(dict.fromkeys(p["pitfall"] for p in keywords.get("pitfalls") or ())),
            "contradictions": list(dict.fromkeys(c.get("fact", "") for c in entry.get("contradictions") or ())),
            **_judge_flags(entry)}


def _judge_flags(entry: dict) -> dict:
    """With --judge: the judge's flags that ask a mentor to look (a quoted contradiction, a disagreement with the
    other metrics, a failure), by name; nothing without a judge, so a summary without one is unchanged."""
    judge = entry.get("judge")
    if not judge:
        return {}
    return {"judge_flags": list(dict.fromkeys(f["flag"] for f in judge.get("flags") or ()
                                              if f.get("flag") in ("judge-contradiction", "judge-disagrees",
                                                                   "judge-failed")))}


def candidate_entry(report: dict, report_file: str | None = None) -> dict[str, Any]:
    """A transcript report's line of the summary; ``report_file`` is its JSON file, relative to the summary."""
    cells = [answer_cell(n, a) for n, a in enumerate(report["answers"], 1)
             if a.get("question_id") and a.get("score") is not None]
    reviewed = [c for c in cells if c["mentor_grade"] is not None]
    entry = {"candidate": report.get("candidate"), "source": report["source"],
             "overall_score": report.get("overall_score"), "answers_graded": len(cells),
             "unmatched_turns": len(report.get("unmatched") or ()), "reviewed": len(reviewed),
             "mentor_mean": round(mean(c["mentor_grade"] for c in reviewed), 2) if reviewed else None,
             "answers": cells}
    if report_file is not None:
        entry["report"] = report_file
    return entry


def question_stats(candidates: list[dict], texts: dict[str, str], topics: dict[str, tuple[str, ...]]) -> dict:
    """Per question id (sorted): answers, mean/min/max automatic score, the mentor's grades, text and topics."""
    cells: dict[str, list[dict]] = {}
    for candidate in candidates:
        for cell in candidate.get("answers") or ():
            cells.setdefault(cell["question_id"], []).append(cell)
    out = {}
    for qid, group in sorted(cells.items()):
        scores = [c["score"] for c in group]
        pairs = [(c["mentor_grade"], c["score"]) for c in group if c["mentor_grade"] is not None]
        out[qid] = {"n": len(scores), "mean": round(mean(scores), 2), "min": min(scores), "max": max(scores),
                    "reviewed": len(pairs),
                    "mentor_mean": round(mean(m for m, _ in pairs), 2) if pairs else None,
                    "mean_difference": round(mean(m - s for m, s in pairs), 2) if pairs else None,
                    "question": texts.get(qid, ""), "topics": list(topics.get(qid, ()))}
    return out


def question_texts(reports: list[dict]) -> dict[str, str]:
    """Question id -> the bank's question text, as the transcript reports carry it."""
    texts: dict[str, str] = {}
    for report in reports:
        for answer in report.get("answers") or ():
            if answer.get("question_id") and answer.get("question"):
                texts.setdefault(answer["question_id"], answer["question"])
    return texts


def summarise(reports: list[dict], *, failed: list[str], signature: dict, files: list[str | None] | None = None,
              topics: dict[str, tuple[str, ...]] | None = None) -> dict[str, Any]:
    """The summary of a batch: ``reports`` are its transcript reports (with any mentor reviews), ``files`` their
    JSON files relative to the summary (None when none was written), ``topics`` the bank's tags."""
    files = files or [None] * len(reports)
    candidates = [candidate_entry(r, f) for r, f in zip(reports, files)]
    return {"schema_version": REPORT_SCHEMA_VERSION, "transcripts": len(reports), "failed": list(failed),
            "per_question": question_stats(candidates, question_texts(reports), topics or {}),
            "per_candidate": candidates, "signature": signature}


def refresh(summary: dict, report_file: str, report: dict) -> dict | None:
    """``summary`` with the line of the report saved as ``report_file`` rebuilt from ``report`` (after a review);
    None when the summary does not list that report."""
    candidates = list(summary.get("per_candidate") or ())
    found = [i for i, c in enumerate(candidates) if c.get("report") == report_file]
    if not found:
        return None
    candidates[found[0]] = candidate_entry(report, report_file)
    old = summary.get("per_question") or {}
    texts = {**question_texts([report]), **{qid: q["question"] for qid, q in old.items() if q.get("question")}}
    topics = {qid: tuple(q.get("topics") or ()) for qid, q in old.items()}
    return {**summary, "per_candidate": candidates, "per_question": question_stats(candidates, texts, topics)}


#: A mentor's grade at least this far from the automatic score is a disagreement to look at first.
DISAGREEMENT = 10.0


def attention(cell: dict) -> tuple:
    """Sort key, most in need of a mentor first: the largest disagreements between mentor and grader, then
    flagged answers (a misconception, a contradiction, the LLM judge's contradiction or disagreement) not yet
    reviewed, highest score first (the likeliest to
    be wrong), then the other unreviewed answers, lowest score first, then reviewed answers that agree."""
    flags = len(cell.get("misconceptions") or ()) + len(cell.get("contradictions") or ()) \
        + len(cell.get("judge_flags") or ())  # --judge: a quoted contradiction, a disagreement, a failure
    if cell.get("mentor_grade") is not None:
        gap = abs(cell["mentor_grade"] - cell["score"])
        return (0 if gap >= DISAGREEMENT else 3, -gap, cell["number"])
    if flags:
        return (1, -flags, -cell["score"], cell["number"])
    return (2, cell["score"], cell["number"])


def candidate_attention(candidate: dict) -> tuple:
    """A candidate's place in the mentor's list: that of their answer most in need of attention."""
    cells = candidate.get("answers") or ()
    return min((attention(c) for c in cells), default=(4,))
