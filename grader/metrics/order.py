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


#: Adverbs that rank the step they stand by as the first one ("the model *first* generates a draft").
FIRST_MARKS = frozenset("first firstly initially".split())
#: Words after which "first" is an ordinal adjective, not a rank of the step ("its first answer").
_DETERMINERS = frozenset("the a an its their his her our your this that each every".split())


def _marked_first(reading: Reading, first: int, last: int) -> bool:
    """Whether the mention at tokens first..last is ranked first by an adverb next to it: "X first generates",
    "first, generate", "generate ... first, then" (not the ordinal "the first answer")."""
    tokens = reading.tokens
    for k in range(first - 1, max(-1, first - 7), -1):
        if tokens[k].sentence != tokens[first].sentence:
            break
        opens = k == 0 or tokens[k - 1].sentence != tokens[k].sentence
        if tokens[k].text in FIRST_MARKS and (opens or k >= first - 2):  # "Initially the model revises"
            return opens or tokens[k - 1].text not in _DETERMINERS
        if tokens[k].text in FIRST_MARKS and reading.text[tokens[k].end : tokens[k].end + 1] in (",", ":") \
                and reading.clause[k] == reading.clause[first]:
            return True  # "the order is: first, train a reward model": "first," ranks its whole clause
    if _ranked_by_phrase(reading, first):
        return True
    nxt = last + 1
    if nxt < len(tokens) and tokens[nxt].text in FIRST_MARKS and tokens[nxt].sentence == tokens[last].sentence:
        after = reading.text[tokens[nxt].end : tokens[nxt].end + 2]
        return nxt + 1 == len(tokens) or after[:1] in (",", ";", ".", ":") or tokens[nxt + 1].text in ("then", "and")
    return False


#: Nouns that make "the first ___" a rank of the step the clause goes on to name: "the first thing you do is X".
_STAGES = frozenset("thing step stage phase part".split())
_STARTS = frozenset("start starts started begin begins began".split())


def _ranked_by_phrase(reading: Reading, first: int) -> bool:
    """Whether the clause before the mention at ``first`` ranks it first in words: "the first thing you do is
    train a reward model", "step one is ...", "you start by/with ...", "it begins with ..."."""
    tokens = reading.tokens
    for k in range(first - 1, max(-1, first - 10), -1):
        if tokens[k].sentence != tokens[first].sentence or reading.clause[k] != reading.clause[first]:
            return False
        nxt = tokens[k + 1].text
        if (tokens[k].text == "first" and k and tokens[k - 1].text == "the" and nxt in _STAGES) \
                or (tokens[k].text == "step" and nxt in ("one", "1")) \
                or (tokens[k].text in _STARTS and nxt in ("by", "with", "off")):
            return True
    return False


def ranked_first(fact, reading: Reading) -> tuple[int, int] | None:
    """A ``then`` step that the answer ranks first ("the model first generates a draft ...") while the ``first``
    step comes only later in the answer, in any sentence ("... that draft is then used to retrieve"): the steps
    reversed across sentences, where no single ordering cue joins them. The span is the sentence that ranks it."""
    firsts = _mentions(fact.first, reading, 0)
    for lo, hi, _ in sorted(_mentions(fact.then, reading, 1)):
        if not _marked_first(reading, lo, hi):
            continue
        before = [m for m in firsts if m[0] < lo]
        later = [m for m in firsts if m[0] > hi]
        if not before and later and not any(_marked_first(reading, a, b) for a, b, _ in later):
            same = [k for k, t in enumerate(reading.tokens) if t.sentence == reading.tokens[lo].sentence]
            return same[0], same[-1]
    return None


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
    return ranked_first(fact, reading)
