"""Mentor review: a mentor's own grade and note per answer, kept beside the automatic score.

A review is appended to the answer's ``reviews`` list (oldest first; the last is the mentor's current grade)
with the reviewer's name and the UTC time. The automatic score, band, metrics and feedback are never touched:
:func:`add_review` returns a new dict and checks that nothing else changed.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

from grader.errors import InputError
from grader.io import refuse_nul

GRADE_MIN, GRADE_MAX = 0.0, 100.0


@dataclass(frozen=True)
class Target:
    """One reviewable answer: its position in the report and how to name it."""

    number: int  # 1-based answer number (the '#' column of a transcript report; 1 for a question report)
    question_id: str
    question: str
    asked: str
    answer: str
    score: float


def targets(kind: str, data: dict) -> list[Target]:
    """Every graded answer of a report (unmatched turns have no score to review)."""
    if kind == "question":
        return [Target(1, data["question_id"], data["question"], data["question"], data["answer"], data["score"])]
    if kind == "transcript":
        return [Target(n, a["question_id"], a.get("question", ""), a["asked"], a["answer"], a["score"])
                for n, a in enumerate(data["answers"], 1) if a.get("question_id") and a.get("score") is not None]
    raise InputError(f"a {kind} report has no answers to review; review the question or transcript reports")


def select(kind: str, data: dict, question: str | None = None, number: int | None = None,
           path: str | None = None) -> list[Target]:
    """The answers a review applies to: all, those of one question id, or one answer number."""
    found = targets(kind, data)
    if not found:
        raise InputError("the report has no graded answer to review", path=path)
    if number is not None:
        chosen = [t for t in found if t.number == number]
        if not chosen:
            raise InputError(f"no graded answer number {number}; graded answers: "
                             f"{', '.join(str(t.number) for t in found)}", path=path, field="--number")
        found = chosen
    if question is not None:
        wanted = question.strip().lower()
        chosen = [t for t in found if t.question_id.lower() == wanted]
        if not chosen:
            ids = sorted({t.question_id for t in found})
            raise InputError(f"no graded answer to question {question!r}; questions in this report: "
                             f"{', '.join(ids)}", path=path, field="--question")
        found = chosen
    return found


def check_grade(grade: float) -> float:
    if not math.isfinite(grade) or not GRADE_MIN <= grade <= GRADE_MAX:
        raise InputError(f"the mentor's grade must be between {GRADE_MIN:g} and {GRADE_MAX:g}, got {grade!r}",
                         field="--grade")
    return round(float(grade), 2)


def check_reviewer(reviewer: str | None) -> str:
    name = " ".join((reviewer or "").split())
    if not name:
        raise InputError("a review needs the reviewer's name: give --reviewer NAME", field="--reviewer")
    return name


def add_review(kind: str, data: dict, target: Target, *, grade: float, note: str, reviewer: str,
               reviewed_at: str) -> dict:
    """A copy of ``data`` with one more review on ``target``'s answer; the automatic results are unchanged."""
    out = copy.deepcopy(data)
    entry = out if kind == "question" else out["answers"][target.number - 1]
    if entry.get("question_id") != target.question_id:
        raise InputError(f"answer {target.number} is not question {target.question_id}", field="--number")
    if entry.get("answer") != target.answer:
        raise InputError(f"answer {target.number} changed while it was being reviewed (the report was regraded); "
                         "run 'grader review' again", field="--number")
    review = {"grade": check_grade(grade), "note": refuse_nul((note or "").strip(), field="--note"),
              "reviewer": refuse_nul(check_reviewer(reviewer), field="--reviewer"),
              "reviewed_at": reviewed_at}
    entry["reviews"] = [*entry.get("reviews", []), review]
    before = {k: v for k, v in (data if kind == "question" else data["answers"][target.number - 1]).items()
              if k != "reviews"}
    after = {k: v for k, v in entry.items() if k != "reviews"}
    if before != after:  # pragma: no cover - a guard on this function's own contract
        raise AssertionError("a review must not change the automatic results")
    return out


def save_review(source, target, pick: Target, *, grade: float, note: str, reviewer: str, reviewed_at: str) -> dict:
    """Add one review and write the report at once: read ``source`` afresh, add, write ``target`` atomically.

    All of it happens under a lock (:func:`grader.io.locked`), so reviews saved at the same time by other
    processes are read back and kept, never overwritten. A transcript's cohort summary beside it follows
    (:func:`refresh_summary`). Returns the report as written.
    """
    from grader.io import locked, write_atomic
    from grader.reports.model import dumps
    from grader.reports.schemas import load_report

    with locked(target):
        kind, data = load_report(source, kinds=("question", "transcript"))
        data = add_review(kind, data, pick, grade=grade, note=note, reviewer=reviewer, reviewed_at=reviewed_at)
        write_atomic(target, dumps(data))
        if kind == "transcript":
            refresh_summary(target, data)
    return data


def refresh_summary(report_path, report: dict):
    """Keep the cohort summary beside a reviewed transcript report in step (its mentor grades), and its page.

    ``summary.json`` in the report's folder is rewritten when it lists this report (``per_candidate[].report``),
    and ``summary.html`` beside it re-rendered when there is one. A summary that does not list the report (an
    older one, another batch's, or no summary at all) is left as it is. Returns the summary's path when it was
    updated, else None. Call it under :func:`grader.io.locked` on the folder.
    """
    from pathlib import Path

    from grader.errors import GraderError
    from grader.io import write_atomic
    from grader.reports.cohort import refresh
    from grader.reports.model import dumps
    from grader.reports.render import render
    from grader.reports.schemas import load_report

    path = Path(report_path).parent / "summary.json"
    if not path.is_file():
        return None
    try:
        _, summary = load_report(path, kinds=("summary",))
    except GraderError:  # not a summary this grader can read: not ours to rewrite
        return None
    updated = refresh(summary, Path(report_path).name, report)
    if updated is None:
        return None
    write_atomic(path, dumps(updated))
    page = path.with_suffix(".html")
    if page.is_file():
        write_atomic(page, render("summary", updated, "html"))
    return path
