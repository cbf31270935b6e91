"""Order facts: steps a correct answer must not put the wrong way round.

Many answers describe a pipeline, and a common class of error keeps every right word but reverses two steps:
"the model first generates a draft, then retrieves documents for it" (RAG retrieves, then generates); "state the
answer first, then explain the steps" (chain-of-thought reasons, then answers). Which step comes first follows
from the reference, so a rubric states it once as a fact with ``first`` and ``then`` phrases
(docs/bank-format.md), and no list of known mistakes is needed.

Reading is lexical and local: within one sentence, two mentions of different steps joined by an ordering cue
("then", "before", "followed by", "after", "once"; or a leading "after X, Y" / "before X, Y") say which comes
first. A negated mention ("it does not generate before it retrieves") is not read as a claim.
"""
from __future__ import annotations

from grader.metrics.reading import Reading, find_all, phrase_tokens

#: Cues that put the step written before them first ("X, then Y", "X before Y", "X followed by Y").
FORWARD = frozenset("then before followed afterwards afterward subsequently next later".split())
#: Cues that put the step written after them first ("X after Y", "X once Y").
BACKWARD = frozenset("after once following".split())
#: Words that may stand before "then" when it orders two actions ("X, then Y", "X and then Y", "first X then Y").
_THEN_AFTER = frozenset("and is are was were it they we you".split())
#: Longest stretch (in words) between two step mentions read as one ordering claim.
REACH = 14


def _mentions(phrases, reading: Reading, step: int) -> list[tuple[int, int, int]]:
    out = []
    for phrase in phrases:
        for first, last, own in find_all(phrase_tokens(phrase), reading):
            if not reading.negated(first, last, own):
                out.append((first, last, step))
    return out


def _cue(reading: Reading, lo: int, hi: int) -> str | None:
    """The ordering cue between tokens lo and hi (exclusive): "forward", "backward" or None."""
    found = None
    for k in range(lo + 1, hi):
        word = reading.tokens[k].text
        if word == "then":
            before = reading.tokens[k - 1].text if k else ""
            gap = reading.text[reading.tokens[k - 1].end : reading.tokens[k].start] if k else ""
            if before in _THEN_AFTER or "," in gap or ";" in gap or before in ("first", "step"):
                found = found or "forward"
        elif word in BACKWARD and k + 1 < hi and reading.tokens[k + 1].text in ("that", "this", "which"):
            found = found or "forward"  # "X, and after that Y": "after that" points back at X, so X first
        elif word in FORWARD | BACKWARD and not _opens_clause(reading, lo, k):
            found = found or ("forward" if word in FORWARD else "backward")
    return found


def _opens_clause(reading: Reading, lo: int, k: int) -> bool:
    """Whether the cue at ``k`` opens a clause of its own ("X, and after Y, Z"): then it relates Y to Z, not X."""
    gap = reading.text[reading.tokens[lo].end : reading.tokens[k].start]
    return any(ch in gap for ch in ",;:") or any(reading.tokens[j].text in ("and", "but", "so")
                                                  for j in range(lo + 1, k))


def _leading(reading: Reading, first: int) -> str | None:
    """A cue opening the sentence right before a mention: "After retrieving, ..." / "Before answering, ..."."""
    k = first - 1
    if k < 0 or reading.tokens[k].sentence != reading.tokens[first].sentence:
        return None
    word = reading.tokens[k].text
    opens = k == 0 or reading.tokens[k - 1].sentence != reading.tokens[k].sentence
    if not opens:
        return None
    return "after" if word in ("after", "once", "following") else "before" if word == "before" else None


def reversed_steps(fact, reading: Reading) -> tuple[int, int] | None:
    """The token span of a sentence that puts ``fact.then`` before ``fact.first``, or None."""
    mentions = sorted(_mentions(fact.first, reading, 0) + _mentions(fact.then, reading, 1))
    for (a_first, a_last, a_step), (b_first, b_last, b_step) in zip(mentions, mentions[1:]):
        if a_step == b_step or reading.tokens[a_first].sentence != reading.tokens[b_first].sentence:
            continue
        if b_first - a_last > REACH:
            continue
        cue = _cue(reading, a_last, b_first)
        lead = _leading(reading, a_first)
        if cue == "forward" or lead == "after":
            earlier = a_step  # "X then Y", "After X, Y": X first
        elif cue == "backward" or lead == "before":
            earlier = b_step  # "X after Y", "Before X, Y": Y first
        else:
            continue
        if earlier == 1:
            return a_first, b_last
    return None
