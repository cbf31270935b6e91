"""A practice session as a mentor would sum it up: what was answered, how each try scored, what to review next.

``grader practice`` keeps a :class:`Session` of its graded attempts and prints :meth:`Session.summary` when the
learner quits, presses Ctrl-D or Ctrl-C, or runs out of questions. Text that was typed but never graded (an
answer cut short by Ctrl-C, lines typed ahead and not used) is kept too, so the summary can show it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

#: A question whose best score is below this is worth reviewing (the Good band of the bundled weights).
REVIEW_BELOW = 70.0
#: Key points named per question to review.
POINTS_PER_QUESTION = 3


@dataclass
class Session:
    """The attempts of one practice session, in order (a question may be tried several times)."""

    attempts: list = field(default_factory=list)  # QuestionReport, in the order graded
    unused: list[str] = field(default_factory=list)  # text typed but never graded, to show at the end

    def add(self, report) -> float | None:
        """Record a graded attempt; returns the change since the previous try at the same question, if any."""
        previous = [a.score for a in self.attempts if a.question_id == report.question_id]
        self.attempts.append(report)
        return round(report.score - previous[-1], 2) if previous else None

    def summary(self) -> dict:
        """Questions in the order first answered, each with its scores, best and last band; the questions to
        review next (best score below REVIEW_BELOW, lowest first) with the key points still missing."""
        questions: dict[str, dict] = {}
        for report in self.attempts:
            entry = questions.setdefault(report.question_id, {
                "question_id": report.question_id, "question": report.question, "scores": [], "bands": []})
            entry["scores"].append(report.score)
            entry["bands"].append(report.band)
            entry["missing"] = _missing_points(report)
        for entry in questions.values():
            entry["best"] = max(entry["scores"])
            entry["last_band"] = entry["bands"][-1]
        review = sorted((e for e in questions.values() if e["best"] < REVIEW_BELOW), key=lambda e: e["best"])
        return {"attempts": len(self.attempts), "questions": list(questions.values()),
                "review_next": [{"question_id": e["question_id"], "question": e["question"], "best": e["best"],
                                 "points": e["missing"][:POINTS_PER_QUESTION]} for e in review],
                "unused": [text for text in self.unused if text.strip()]}


def _missing_points(report) -> list[str]:
    """The key points the latest try missed, essential ones first (the rubric's concept names)."""
    if report.keywords is None:
        return []
    missing = sorted((m for m in report.keywords.missing if not m.bonus), key=lambda m: (not m.required, -m.weight))
    return [m.concept for m in missing]
