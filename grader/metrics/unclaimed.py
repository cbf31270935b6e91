"""Phrases written but not claimed: a fact's phrase, or its opposite, can stand in a clause without being said
of the subject. "The difference behaves *like* an implicit classifier gradient" likens; "a dial on *how* sharp the
odds are" names a dimension; "start from pure *static*" uses an adjective as a noun; "minimise *minus* log D"
flips the sign back. Each is a reading of one clause, shared by the fact check (``claims.py``).
"""
from __future__ import annotations

from grader.metrics.reading import PAUSE, Reading


def analogy(reading: Reading, first: int) -> bool:
    """Whether the phrase is what something is likened to ("the difference behaves *like* an implicit classifier
    gradient"): an analogy, not a claim that it is one."""
    tokens = reading.tokens
    return any(tokens[k].text in ("like", "akin", "resembles", "resembling", "mimics")
               for k in range(max(0, first - 3), first) if reading.clause[k] == reading.clause[first])


#: Prepositions and fillers before an adjective of the lexicon used as a noun ("start from *pure* static").
_NOUN_BEFORE = frozenset("with from into of".split())
_NOUN_FILLER = frozenset("pure all just some more the a".split())


def as_noun(reading: Reading, first: int, last: int) -> bool:
    """Whether a one-word phrase stands as a noun: after a preposition ("mess it up *with* static", "start *from*
    pure static") and with no noun after it in its clause. Plain speech names the noise "static"; "trained from
    fixed data" keeps its noun and stays an adjective."""
    tokens = reading.tokens
    if first != last:
        return False
    k = first - 1
    while k >= 0 and tokens[k].text in _NOUN_FILLER and first - k <= 2:
        k -= 1
    if k < 0 or tokens[k].text not in _NOUN_BEFORE or reading.clause[k] != reading.clause[first]:
        return False
    after = first + 1
    return (after >= len(tokens) or reading.clause[after] != reading.clause[first]
            or tokens[after].text in ("and", "or") or bool(PAUSE.search(reading.text, tokens[first].end,
                                                                        tokens[after].start)))


def degree(reading: Reading, first: int) -> bool:
    """Whether the phrase names a dimension, not a value: "a dial on *how* sharp those odds are", "controls *how
    much* noise is added", "*whether* the output is random"."""
    tokens = reading.tokens
    for k in range(first - 1, max(-1, first - 3), -1):
        if reading.clause[k] != reading.clause[first]:
            return False
        if tokens[k].text in ("how", "whether"):
            return True
        if tokens[k].text not in ("much", "many", "far", "often"):
            return False
    return False


def sign_flipped(reading: Reading, first: int, last: int, own: frozenset[int]) -> bool:
    """Whether a sign word inside the matched phrase flips it back: "minimise the negative log-likelihood" is
    "maximise the likelihood", "minimise minus log D" is "maximise log D"."""
    return any(reading.tokens[k].text in ("minus", "negative", "neg") for k in range(first, last + 1) if k not in own)
