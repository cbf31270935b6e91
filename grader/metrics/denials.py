"""Denied concepts: "you don't need the reparameterization trick", "it does not use classifier-free guidance",
"switching to a Wasserstein loss doesn't really help with mode collapse".

A fact is denied in its own words (``claims.py``: "BA can't be merged into W"). A concept the reference relies
on is as often denied by what is said *of* it: that it is not needed, not used, or no help. Those verbs are few
and the same for every question, so the check needs no list of mistakes: any concept of the rubric (its name
and synonyms) under one of them is a denial, unless the reference itself says it is not needed ("RAG needs no
retraining"), the speaker reports it as someone else's belief, or the denial is scoped ("not needed *at
inference*", "doesn't help *on its own*", "no *separate* classifier").
"""
from __future__ import annotations

from bisect import bisect_left
from functools import lru_cache

from grader.metrics.claims import Contradiction
from grader.metrics.reading import NEGATORS, PAUSE, STOPWORDS, Reading, find_phrase

#: Verbs that say a concept is part of the method: negated before it, they deny it ("doesn't need X").
NEED = frozenset("need needs needing require requires requiring use uses using involve involves involving "
                 "rely relies relying depend depends depending include includes including have has had "
                 "help helps enable enables allow allows support supports".split())
#: Verbs that leave a concept out by themselves ("RLHF skips supervised fine-tuning").
SKIP = frozenset("skip skips skipped skipping omit omits omitted omitting bypass bypasses bypassed".split())
#: ... and after it, in the passive or as an adjective ("X is not needed", "X isn't necessary").
NEEDED = frozenset("needed required necessary used involved essential useful helpful effective".split())
#: Verbs that say a concept does its job: negated after it, they deny it ("X doesn't really help").
WORKS = frozenset("help helps work works matter matters improve improves address addresses reduce reduces "
                  "mitigate mitigates prevent prevents fix fixes".split())
#: Words that scope a denial so that it is true: "not needed at inference", "doesn't help on its own", "no
#: separate classifier", "no longer needed".
SCOPES = frozenset("alone itself own entirely completely fully always totally perfectly inference test sampling "
                   "generation deployment serving longer anymore separate extra additional another second full "
                   "whole entire more much less many fewer if unless when only just".split())
#: Filler between a negator and its verb ("doesn't *actually* need", "doesn't *really* help").
_FILLER = frozenset("actually really even necessarily strictly truly".split())
#: Words between a negator and its verb: "does not", "is not", "don't you", "won't be".
_AUXILIARY = frozenset("do does did to you we it is are was were be been being".split())
REACH = 4
#: After the concept, a verb may follow a short list ("temperature or top-p have no influence").
AFTER_REACH = 6
_BE = frozenset("is are was were".split())
_PURPOSE = frozenset("to for as".split())
#: Who a denial before the concept may be said of, besides the question's topic.
_SPEAKERS = frozenset("it they you we one this that there theres i".split())


def check_denials(concepts, answer: str, reference: str, question: str = "", reading: Reading | None = None,
                  flagged=()) -> list[Contradiction]:
    """Clauses of ``answer`` that deny one of ``concepts`` the ``reference`` relies on, one per clause, none
    where a contradiction is already ``flagged``. What denies a concept before it must be said of the question's
    topic ("It does not use classifier-free guidance", "RLHF doesn't need ...", "you don't need ..."): "the frozen
    weights need no optimizer states" is said of something else."""
    if not concepts or not answer.strip():
        return []
    reading = reading or Reading.of(answer)
    said_of = _read(reference)
    asked = {t.stem for t in _read(question).tokens}
    starts = [t.start for t in reading.tokens]
    taken = {reading.clause[k] for c in flagged  # clauses already flagged
             for k in range(bisect_left(starts, c.start), bisect_left(starts, c.end))}
    found: dict[int, Contradiction] = {}
    for concept in concepts:
        terms = tuple(dict.fromkeys((concept.name, *concept.synonyms)))
        hits = [h for term in terms for h in find_phrase(term, reading)]
        if not hits or any(_denied_in(said_of, f, l) for term in terms for f, l, _ in find_phrase(term, said_of)):
            continue  # not said, or the reference itself says it is not there ("without retraining")
        for first, last, own in hits:
            span = _denial(reading, first, last, asked)
            clause = reading.clause[first]
            if span is None or clause in found or clause in taken or reading.disowned(first):
                continue
            lo, hi = span
            text, start, end = reading.clause_text(first)
            said = reading.text[reading.tokens[lo].start : reading.tokens[hi].end]
            fact = concept.meaning or concept.name
            found[clause] = Contradiction("negation", fact, concept.name, said, text, start, end)
    return sorted(found.values(), key=lambda c: c.start)


def rubric_contradictions(question, answer: str, rubric=None) -> list[Contradiction]:
    """What grading flags against a question's rubric: its facts' contradictions, then the concepts the answer
    denies (in clauses not already flagged), in the answer's order. One place for the engine, ``grader bank
    check`` and the authoring tool, so they judge a sentence alike. ``rubric``: one not yet attached to the
    question (while a bank is checked), else the question's own."""
    from grader.metrics.claims import check_facts
    from grader.metrics.opposites import opposites_for

    rubric = rubric or question.rubric
    context = f"{question.reference}\n{question.extra_reference}"
    found = check_facts(rubric.facts, answer, opposites_for(rubric.opposites), context=context,
                        question=question.question)
    denied = check_denials(rubric.concepts, answer, context, question.question, flagged=found)
    return sorted(found + denied, key=lambda c: c.start)


@lru_cache(maxsize=64)
def _read(text: str) -> Reading:
    """A reference or question, read once: every answer to the question checks against it."""
    return Reading.of(text)


def _denial(reading: Reading, first: int, last: int, asked: set[str] | None = None) -> tuple[int, int] | None:
    """The tokens that deny the concept at first..last, if a need verb before it or a passive or working verb
    after it is negated, in its clause and with no scoping word in that clause."""
    tokens, clause = reading.tokens, reading.clause[first]
    lo_c, hi_c = reading.clause_span[clause]
    sentence = tokens[first].sentence  # "At inference ..., so it cannot use teacher forcing": the whole sentence
    k = first - 1
    while k >= 0 and tokens[k].sentence == sentence:
        if tokens[k].text in SCOPES:
            return None
        k -= 1
    if any(tokens[k].text in SCOPES for k in range(last + 1, hi_c + 1)):
        return None
    # "doesn't (actually) need (the) X", "no need for X", "without using X"
    for k in range(first - 1, max(lo_c - 1, first - 1 - REACH), -1):
        if PAUSE.search(reading.text, tokens[k].end, tokens[k + 1].start):
            break
        if tokens[k].text in SKIP and all(tokens[j].text in STOPWORDS for j in range(k + 1, first)):
            return k, last
        # "don't need to train with dropped conditions": the verb after "need to" stands for "need"
        to_verb = tokens[k].text not in STOPWORDS and k - 2 >= lo_c and tokens[k - 1].text == "to" \
            and tokens[k - 2].text in NEED
        if to_verb:
            k -= 2
        if tokens[k].text in NEED and (to_verb or all(tokens[j].text in STOPWORDS for j in range(k + 1, first))):
            negator = _negator_right_before(reading, k, lo_c)
            if negator is not None and not _scoped_by_for(reading, last, hi_c) \
                    and _of_the_topic(reading, lo_c, negator, asked):
                return negator, last
            break
        if tokens[k].text == "no" and k > lo_c and (tokens[k - 1].text in NEED or tokens[k - 1].text in _BE) \
                and _of_the_topic(reading, lo_c, k - 1, asked):
            return k - 1, last  # "has no cross-attention", "there is no reward model"
        if tokens[k].text not in STOPWORDS:
            break
    # "X is not needed", "X isn't necessary", "X doesn't (really) help", "X has no effect"
    opened = first > lo_c and tokens[first - 1].text == "no"  # "no X or other trick is needed": a longer reach
    for k in range(last + 1, min(hi_c + 1, last + 1 + (2 * REACH if opened else AFTER_REACH))):
        if PAUSE.search(reading.text, tokens[k - 1].end, tokens[k].start):
            break
        if tokens[k].text in NEEDED and k + 1 <= hi_c and tokens[k + 1].text in _PURPOSE:
            break  # "never used to update the weights": a use denied, not the concept
        if tokens[k].text in NEEDED or tokens[k].text in WORKS:
            if _negator_right_before(reading, k, last + 1) is not None or (
                    tokens[k].text in NEEDED and opened):  # "no X is needed"
                aimed = tokens[k].text in WORKS and _aimed_elsewhere(reading, k, hi_c, asked)
                return None if aimed else (first, k)
            break
        if tokens[k].text in ("effect", "role", "difference", "impact", "influence") and any(
                tokens[j].text == "no" for j in range(last + 1, k)):
            # "no effect on *how often it hallucinates*" denies its part in what is asked; "no effect on
            # *greedy decoding*" is scoped to something else
            on_what = k + 1 <= hi_c and tokens[k + 1].text in ("on", "in", "over")
            return None if on_what and _aimed_elsewhere(reading, k + 1, hi_c, asked) else (first, k)
    return None


def _aimed_elsewhere(reading: Reading, k: int, hi: int, asked: set[str] | None) -> bool:
    """Whether what the denying verb at k is aimed at, the rest of its clause, names something and nothing the
    question asks about: "X doesn't prevent *posterior collapse*" (in a question about VQ-VAE) and "X has no
    effect on *greedy decoding*" are scoped claims, while "X doesn't help" and "X has no influence on *how often
    it hallucinates*" (asked: why LLMs hallucinate) deny the concept's part in the answer."""
    words = []
    for j in range(k + 1, hi + 1):
        if PAUSE.search(reading.text, reading.tokens[j - 1].end, reading.tokens[j].start):
            break
        if reading.tokens[j].text not in STOPWORDS:
            words.append(reading.tokens[j])
    return asked is not None and bool(words) and not any(t.stem in asked for t in words)


def _negator_right_before(reading: Reading, k: int, lo: int) -> int | None:
    """Where a negator stands right before the verb at ``k`` (fillers and auxiliaries between)."""
    tokens = reading.tokens
    for j in range(k - 1, max(lo - 1, k - 4), -1):
        if tokens[j].text in NEGATORS:
            return j
        if tokens[j].text not in _FILLER and tokens[j].text not in _AUXILIARY:
            return None
    return None


def _scoped_by_for(reading: Reading, last: int, hi: int) -> bool:
    """Whether "for ..." follows the denied concept: "you don't need optimiser state *for the frozen weights*"
    denies it only there."""
    return any(reading.tokens[j].text == "for" for j in range(last + 1, min(hi + 1, last + 3)))


def _denied_in(reading: Reading, first: int, last: int) -> bool:
    """Whether the reference denies the concept at first..last: one of the denials above, or a negator right
    before it ("without retraining", "no reward model")."""
    if _denial(reading, first, last) is not None:
        return True
    k = first - 1
    while k >= 0 and reading.tokens[k].text in STOPWORDS and reading.tokens[k].text not in NEGATORS \
            and not PAUSE.search(reading.text, reading.tokens[k].end, reading.tokens[k + 1].start):
        k -= 1
    return k >= 0 and reading.tokens[k].text in NEGATORS \
        and not PAUSE.search(reading.text, reading.tokens[k].end, reading.tokens[k + 1].start)


def _of_the_topic(reading: Reading, lo: int, at: int, asked: set[str] | None) -> bool:
    """Whether the denial at ``at`` is said of the question's topic, a pronoun or nobody: the last word before
    it in its clause ("Stable *Diffusion* doesn't use ...", "In this last stage *there's* no need ...", "*you*
    don't need ..."), not "the frozen *weights* need no optimizer states"."""
    if asked is None:
        return True
    for t in reversed(reading.tokens[lo:at]):
        if t.text in STOPWORDS or t.text in _FILLER or t.text in NEGATORS:
            continue
        return t.text in _SPEAKERS or t.stem in asked
    return True
