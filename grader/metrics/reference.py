"""Contradictions of the reference answers, for a question without facts (any coach's bank, every data set).

Each claim (clause) of the answer is aligned with the reference claim it shares most with; it contradicts that
claim when an odd number of flips separate them (a word replaced by its opposite, or the negation added or
removed), unless a reference claim about as close says it unflipped. Two flips cancel.
"""
from __future__ import annotations

from grader.metrics.claims import Contradiction
from grader.metrics.opposites import Opposites
from grader.metrics.reading import CONTRASTIVE, NEGATORS, STOPWORDS, Reading, Token

def _content_words(reading: Reading, lo: int, hi: int) -> list[Token]:
    # Single letters are symbols, not claims: "log(D(x))" shares d and x with "log(1 - D(G(z)))" and says no more.
    return [reading.tokens[k] for k in range(lo, hi)
            if reading.tokens[k].text not in STOPWORDS and reading.tokens[k].text not in NEGATORS
            and reading.tokens[k].text not in CONTRASTIVE
            and (len(reading.tokens[k].text) > 1 or reading.tokens[k].text.isdigit())]


def _units(reading: Reading) -> list[tuple[int, int]]:
    """Token ranges of each claim: clauses (a sentence split at "so", "because", "but", ...), and relative
    or conditional clauses ("that", "which", "if")."""
    spans, start = [], 0
    for k in range(1, len(reading.tokens) + 1):
        if k == len(reading.tokens) or reading.clause[k] != reading.clause[start] \
                or (reading.tokens[k].text in UNIT_BREAKS and k - start >= 2):
            spans.append((start, k))
            start = k
    return spans


def _negations(reading: Reading, lo: int, hi: int) -> int:
    return sum(1 for k in range(lo, hi) if reading.tokens[k].text in NEGATORS)


#: A claim of the answer is compared with a reference claim when this share of its words is aligned ...
MIN_ALIGNED_SHARE = 0.6
#: ... and, when the only flip is a negation, this share with at least two shared words (a long sentence
#: negates many things).
MIN_NEGATION_SHARE = 0.75
#: A reference claim this close to the best-aligned one that agrees with the answer clears it.
SUPPORT_MARGIN = 0.15
#: Words that open a relative or conditional clause: a claim of its own ("a path that C is not in").
UNIT_BREAKS = frozenset("that which who where if then".split())


def _compare(words: list[Token], rwords: list[Token], opposites: Opposites,
             sentence: list[Token]) -> tuple[float, float, int, list[Token]]:
    """(aligned share of the answer claim, of the reference claim, shared words, flipped words).

    A word is flipped when the reference claim has its opposite and the answer's whole sentence does not
    say the reference's word too (an answer that names both sides, "inside the class but outside its
    functions", flips nothing)."""
    shared = [t for t in words if any(opposites.are_kin(t, r) for r in rwords)]
    flipped = [t for t in words if t not in shared
               and any(opposites.are_opposite(t, r) and not any(opposites.are_kin(r, a) for a in sentence)
                       for r in rwords)]
    aligned = len({t.stem for t in shared}) + len({t.stem for t in flipped})
    return (aligned / len({t.stem for t in words}), min(1.0, aligned / len({t.stem for t in rwords})),
            len({t.stem for t in shared}), flipped)


def check_reference(answer: str, references: list[str], opposites: Opposites,
                    reading: Reading | None = None) -> list[Contradiction]:
    """Contradictions of the reference answers, for a question without facts.

    Each claim (clause) of the answer is aligned with the reference claim it shares most with (words of one
    family in the lexicon count as shared, a word and its opposite as aligned). It contradicts that claim when
    an odd number of "flips" separate them — a word replaced by its opposite, or the negation added or removed —
    unless an equally close reference claim says it unflipped. Two flips cancel ("looser string, lower pitch"
    against "tighter string, higher pitch").
    """
    if not answer.strip() or not references:
        return []
    reading = reading or Reading.of(answer)
    claims = []
    for reference in references:
        r = Reading.of(reference)
        for lo, hi in _units(r):
            words = _content_words(r, lo, hi)
            if words:
                claims.append((r, lo, hi, words))
    out = []
    sentences: dict[int, list[Token]] = {}
    for t in reading.tokens:
        sentences.setdefault(t.sentence, []).append(t)
    for lo, hi in _units(reading):
        words = _content_words(reading, lo, hi)
        if not words:
            continue
        sentence = sentences[reading.tokens[lo].sentence]
        verdicts = []
        for r, rlo, rhi, rwords in claims:
            own_share, ref_share, shared, flipped = _compare(words, rwords, opposites, sentence)
            # Aligned on either side: an answer that adds words to a short reference claim still says it
            # ("they are connected to the positive terminal" against "the terminals are not connected").
            share = max(own_share, ref_share)
            if not shared or share < MIN_ALIGNED_SHARE:
                continue
            negation_flip = (_negations(reading, lo, hi) % 2) != (_negations(r, rlo, rhi) % 2)
            flips = len({t.stem for t in flipped}) + negation_flip
            # A negation flip alone needs the two claims to be close paraphrases, seen from both sides: a long
            # sentence negates many things.
            if flips == 1 and not flipped and min(own_share, ref_share) < MIN_NEGATION_SHARE \
                    and not (own_share == 1.0 and ref_share >= 0.5):  # "there is a gap" / "there is no gap between them"
                continue
            verdicts.append((share, shared, flips, flipped, r, rlo, rhi))
        if not verdicts:
            continue
        best = max(v[0] for v in verdicts)
        closest = sorted((v for v in verdicts if v[0] >= best - SUPPORT_MARGIN), key=lambda v: (-v[0], -v[1]))
        if any(v[2] % 2 == 0 for v in closest):
            continue  # a reference claim about as close says it as the answer does
        share, shared, flips, flipped, r, rlo, rhi = closest[0]
        start, end = reading.tokens[lo].start, reading.tokens[hi - 1].end
        said = ", ".join(dict.fromkeys(reading.text[t.start:t.end] for t in flipped)) or "the negation"
        fact = r.text[r.tokens[rlo].start : r.tokens[rhi - 1].end]
        out.append(Contradiction("opposite" if flipped else "negation", fact, "", said,
                                 reading.text[start:end], start, end))
    return out
