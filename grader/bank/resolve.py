"""Turning what a user typed ("q09", "9", "explain lora") into a bank question id."""
from __future__ import annotations

import difflib
import re

from grader.bank.model import Bank
from grader.errors import UnknownQuestionError


#: The longest question spec (id, number or a piece of the question's text) looked up.
MAX_SPEC_CHARS = 300


def closest_ids(bank: Bank, wanted: str, n: int = 3) -> list[str]:
    return difflib.get_close_matches(wanted, bank.ids, n=n, cutoff=0.5)


def resolve_question(bank: Bank, spec: str) -> str:
    """An id, a number (9 -> q09) or a piece of the question's text; ambiguity is an error listing the candidates."""
    spec = spec.strip()
    if not spec:
        raise UnknownQuestionError("no question given", field="question")
    if len(spec) > MAX_SPEC_CHARS:  # fuzzy matching costs time in its length; no question is this long
        raise UnknownQuestionError(f"a question is named by an id, a number or a piece of its text of at most "
                                   f"{MAX_SPEC_CHARS} characters; got {len(spec):,}", field="question")
    if spec in bank:
        return spec
    lowered = {q.id.lower(): q.id for q in bank}
    if spec.lower() in lowered:
        return lowered[spec.lower()]
    numbered = re.fullmatch(r"(?:#|[A-Za-z]{1,3})?0*(\d{1,4})", spec)
    if numbered and (spec[0].isdigit() or spec[0] == "#" or any(q.id.lower().startswith(spec[0].lower())
                                                               for q in bank)):
        number = int(numbered.group(1))
        hits = [q.id for q in bank if q.number == number]
        if len(hits) == 1:
            return hits[0]
        raise UnknownQuestionError(f"no question number {number} in the bank (it has {len(bank)} questions: "
                                   f"{bank.ids[0]}..{bank.ids[-1]})", field="question")
    if len(spec) >= 3 and not re.fullmatch(r"[A-Za-z]{0,3}\d+", spec):
        text = spec.lower()
        contains = [q.id for q in bank if text in q.question.lower()]
        if len(contains) == 1:
            return contains[0]
        scored = sorted(((difflib.SequenceMatcher(None, text, q.question.lower()).ratio(), q.id) for q in bank),
                        reverse=True)
        words = set(re.findall(r"\w+", text))
        overlap = sorted(((len(words & set(re.findall(r"\w+", q.question.lower()))) / max(1, len(words)), q.id)
                          for q in bank), reverse=True)
        candidates = contains or [qid for ratio, qid in overlap if ratio >= 0.5]
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            listed = "; ".join(f"{qid} ({bank.get(qid).question})" for qid in candidates[:5])
            raise UnknownQuestionError(f"{spec[:80]!r} matches several questions: {listed}", field="question")
        if scored and scored[0][0] >= 0.6:
            return scored[0][1]
    hint = closest_ids(bank, spec)
    raise UnknownQuestionError(f"unknown question {spec[:80]!r}" + (f"; did you mean {', '.join(hint)}?" if hint else
                               "; list them with 'grader questions'"), field="question")
