"""CSV for spreadsheets: one row per answer, with columns that never change order (new ones go at the end).

UTF-8 with a byte-order mark (so Excel reads σ and “quotes”), RFC 4180 quoting. A text cell that starts like a
spreadsheet formula (= + - @) gets a leading apostrophe so opening the file never runs candidate text.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from grader.reports.views import answer_rows, orphan_rows

#: The answer columns, in order. Append new columns at the end; never reorder or rename.
ANSWER_COLUMNS = (
    "source", "candidate", "number", "question_id", "question", "topics", "score", "band",
    "keyword_coverage", "concepts_matched", "concepts_total", "pitfalls",
    "rouge1_f1", "rouge2_f1", "rougeL_f1", "bertscore_precision", "bertscore_recall", "bertscore_f1", "semantic",
    "flags", "mentor_grade", "difference", "reviewer", "reviewed_at", "mentor_note", "asked", "answer",
    "errors", "kind", "judge_grade", "judge_notes",
)
#: The ``kind`` column, for a spreadsheet filter: a graded answer, small talk (a turn that asked no bank
#: question: no score), or a mentor's review kept from an earlier answer that a regrade changed.
KINDS = ("answer", "small_talk", "orphaned_review")
#: The cohort summary has no answers: one row per candidate instead.
CANDIDATE_COLUMNS = ("candidate", "source", "overall_score", "answers_graded", "unmatched_turns")
BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, (list, tuple)):
        value = "; ".join(str(v) for v in value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _table(columns: tuple[str, ...], rows: Iterable[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return BOM + buffer.getvalue()


def _kind(row: dict) -> str:
    if row.get("number") is None:
        return "orphaned_review"
    return "answer" if row.get("question_id") else "small_talk"


def answers_csv(rows: Iterable[dict]) -> str:
    """Rows from :func:`grader.views.answer_rows` (any number of reports) as one table."""
    return _table(ANSWER_COLUMNS, ({**row, "kind": _kind(row)} for row in rows))


def render_csv(kind: str, data: dict, topics: dict[str, tuple[str, ...]] | None = None) -> str:
    if kind == "summary":
        return _table(CANDIDATE_COLUMNS, data["per_candidate"])
    return answers_csv([*answer_rows(kind, data, topics), *orphan_rows(data, topics)])
