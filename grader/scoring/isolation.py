"""Grading groups of answers so that one refused answer fails only its group (a transcript, a table row).

Why a function of plain data: the local process and a Ray worker must run exactly the same ``grade_many`` calls
on the same texts (BERTScore's float sums depend a little on which texts share a padded batch), so a report is
byte-identical whichever process made it. Both call this.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from grader.errors import GraderError


@dataclass(frozen=True)
class GroupFailure:
    """A group that could not be graded: the answer at fault (its index in the group, when one alone fails) and
    the grader's reason."""

    index: int | None
    message: str


def grade_groups(grader, groups: Sequence[Sequence[tuple[str, str]]]) -> list:
    """For each group of (question id, answer) pairs, its reports, or a GroupFailure.

    All groups go through one ``grade_many`` (least padding); if that refuses an answer, each group is graded
    alone, and the answer at fault in a failing group is found by grading its answers one by one.
    """
    flat = [pair for group in groups for pair in group]
    try:
        reports = list(grader.grade_many(flat))
    except GraderError:
        return [_grade_alone(grader, group) for group in groups]
    out, start = [], 0
    for group in groups:
        out.append(reports[start : start + len(group)])
        start += len(group)
    return out


def _grade_alone(grader, group: Sequence[tuple[str, str]]):
    try:
        return list(grader.grade_many(list(group)))
    except GraderError:
        pass
    for index, pair in enumerate(group):
        try:
            grader.grade_many([pair])
        except GraderError as exc:
            return GroupFailure(index, exc.message)
    return GroupFailure(None, "its answers could not be graded")  # pragma: no cover - they fail only together
