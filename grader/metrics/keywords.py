"""Keyword rubric metric: which of a question's concepts an answer states, and which misconceptions.

Matching is lexical but forgiving the way a human reader is: case, punctuation and hyphenation do not matter,
words are stemmed, longer words may carry a typo, function words are skipped, and formulas are compared in a
canonical form that ignores spacing and Unicode spelling (W′ vs W', σ vs sigma, ∈ vs in, ≪ vs <<).
A pitfall does not fire when its sentence negates it ("LoRA does not add latency").
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from grader.bank import Concept, Rubric
from grader.text import NEGATIONS, Token, compact_formula, same_word, tokenize

#: How many words may stand between the words of a pitfall pattern ("LoRA adds some extra latency").
PITFALL_GAP = 2
#: How far before a pitfall match a negation still negates it, in words of the same sentence.
NEGATION_REACH = 4
#: A formula this short ("ba") would match by accident inside ordinary words.
MIN_FORMULA_CHARS = 4


@dataclass(frozen=True)
class ConceptMatch:
    """A concept the answer states, with the span of the answer that states it."""

    concept: str
    weight: float
    required: bool
    phrase: str
    text: str
    start: int
    end: int
    via: str = "words"  # "words" (a synonym or formula) or "meaning" (a clause close to the concept's statement)
    similarity: float | None = None  # for "meaning": cosine of the clause and the statement


@dataclass(frozen=True)
class MissedConcept:
    concept: str
    weight: float
    required: bool
    hint: str
    bonus: bool = False


@dataclass(frozen=True)
class PitfallHit:
    pitfall: str
    penalty: float
    explanation: str
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class KeywordResult:
    """Weighted coverage in [0, 1] after pitfall penalties, and the evidence behind it."""

    coverage: float
    raw_coverage: float
    matched: tuple[ConceptMatch, ...]
    missing: tuple[MissedConcept, ...]
    pitfalls: tuple[PitfallHit, ...]


@lru_cache(maxsize=8192)
def _phrase_tokens(phrase: str) -> tuple[Token, ...]:
    tokens = tokenize(phrase)
    content = tuple(t for t in tokens if not t.is_stopword)
    return content or tuple(tokens)


#: Short words that carry a pattern's claim (when, how much, which way): "generates the whole sequence *at once*".
_CLAIM_WORDS = frozenset("at once in on off up down out all only every each same before after over under into "
                         "without".split())


@lru_cache(maxsize=8192)
def _pattern_tokens(pattern: str) -> tuple[Token, ...]:
    """A pitfall pattern's content words and the short words that carry its claim: "generates the whole sequence
    *at once*" must not match "generates the whole sequence one token at a time", as its content words alone
    would; "the generator *should* maximize ..." still matches "the generator maximizes ..."."""
    return tuple(t for t in tokenize(pattern) if not t.is_stopword or t.text in _CLAIM_WORDS) or _phrase_tokens(pattern)


def _content(tokens: list[Token]) -> list[Token]:
    return [t for t in tokens if not t.is_stopword]


class _Index:
    """Answer tokens with a word -> positions map, so a phrase is looked for only where its first word is."""

    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.positions: dict[str, list[int]] = {}
        self.by_text: dict[str, Token] = {}
        for i, token in enumerate(tokens):
            self.positions.setdefault(token.text, []).append(i)
            self.by_text.setdefault(token.text, token)

    def starts(self, first: Token) -> list[int]:
        hits = [i for text, token in self.by_text.items() if same_word(first, token) for i in self.positions[text]]
        return sorted(hits)


def _find_phrase(phrase: tuple[Token, ...], tokens: list[Token] | _Index, max_gap: int = 0) -> tuple[int, int] | None:
    """Indices (first, last) in ``tokens`` of the first occurrence of ``phrase``; gaps allowed up to max_gap."""
    index = tokens if isinstance(tokens, _Index) else _Index(tokens)
    tokens = index.tokens
    if not phrase or len(phrase) > len(tokens):
        return None
    for i in index.starts(phrase[0]):
        token = tokens[i]
        position, ok = i, True
        for expected in phrase[1:]:
            for step in range(1, max_gap + 2):
                j = position + step
                if j < len(tokens) and tokens[j].sentence == token.sentence and same_word(expected, tokens[j]):
                    position = j
                    break
            else:
                ok = False
                break
        if ok:
            return i, position
    return None


def _find_formula(formula: str, text: str, compact: tuple[str, list[int]] | None = None) -> tuple[int, int] | None:
    needle, _ = compact_formula(formula)
    if len(needle) < MIN_FORMULA_CHARS:
        return None
    haystack, offsets = compact or compact_formula(text)
    at = haystack.find(needle)
    if at < 0:
        return None
    return offsets[at], offsets[at + len(needle) - 1] + 1


def phrase_occurs(phrase: str, text: str, formula: bool = False) -> bool:
    """Whether ``phrase`` (or ``formula``) occurs in ``text`` as the rubric matcher sees it."""
    if formula:
        return _find_formula(phrase, text) is not None
    return _find_phrase(_phrase_tokens(phrase), _content(tokenize(text))) is not None


def _negated(tokens: list[Token], first: int, last: int) -> bool:
    sentence = tokens[first].sentence
    lo = first
    while lo > 0 and tokens[lo - 1].sentence == sentence and first - (lo - 1) <= NEGATION_REACH:
        lo -= 1
    window = tokens[lo : last + 1]
    if any(t.text in NEGATIONS for t in window):
        return True
    # "It is a myth that ...", "Wrong: ..." anywhere earlier in the sentence negates the claim.
    from grader.metrics.reading import DISOWNING

    if any(t.text in DISOWNING for t in tokens[:first] if t.sentence == sentence):
        return True
    return _reported(tokens, first)


def _reported(tokens: list[Token], first: int) -> bool:
    """A belief reported to be corrected ("people often think LoRA adds latency, but ..."), on the plain token
    list the rubric matcher keeps: within the sentence, up to a clause break."""
    from grader.metrics.reading import CLAUSE_BREAKS, reported

    sentence = tokens[first].sentence
    return reported(tokens, first, stop=lambda k: tokens[k].sentence != sentence or tokens[k].text in CLAUSE_BREAKS,
                    same=lambda j: tokens[j].sentence == sentence)


def _match_concept(concept: Concept, text: str, content: _Index,
                   compact: tuple[str, list[int]]) -> ConceptMatch | None:
    for phrase in concept.synonyms:
        found = _find_phrase(_phrase_tokens(phrase), content)
        if found:
            start, end = content.tokens[found[0]].start, content.tokens[found[1]].end
            return ConceptMatch(concept.name, concept.weight, concept.required, phrase, text[start:end], start, end)
    for formula in concept.formulas:
        found = _find_formula(formula, text, compact)
        if found:
            start, end = found
            return ConceptMatch(concept.name, concept.weight, concept.required, formula, text[start:end], start, end)
    return None


def score_keywords(rubric: Rubric, answer: str) -> KeywordResult:
    """Match ``answer`` against ``rubric``: coverage = matched weight / total weight, less pitfall penalties."""
    all_tokens = tokenize(answer)
    content = _Index(_content(all_tokens))
    everything = _Index(all_tokens)
    compact = compact_formula(answer)
    matched: list[ConceptMatch] = []
    missing: list[MissedConcept] = []
    for concept in rubric.concepts:
        hit = _match_concept(concept, answer, content, compact)
        if hit:
            matched.append(hit)
        else:
            missing.append(MissedConcept(concept.name, concept.weight, concept.required, concept.hint, concept.bonus))
    pitfalls: list[PitfallHit] = []
    reading = None
    for pitfall in rubric.pitfalls:
        if pitfall.terms:
            from grader.metrics.reading import Reading, match_terms

            reading = reading or Reading.of(answer)
            hit = match_terms(pitfall.terms, answer, reading)
            if hit is not None:
                pitfalls.append(PitfallHit(pitfall.name, pitfall.penalty, pitfall.explanation, hit.text,
                                           hit.start, hit.end))
                continue
        for pattern in pitfall.patterns:
            phrase = _pattern_tokens(pattern)
            # Two words must stand together ("the discriminator collapses" is not "the discriminator detects
            # mode collapse"); a longer pattern says enough to allow a few words in between.
            gap = PITFALL_GAP if len(phrase) > 2 else 0
            found = _find_phrase(phrase, everything, max_gap=gap) if phrase else None
            # The words in between stay within one clause: "Training is simple: add known noise" is not
            # "trained to add noise".
            if found and gap and any(ch in answer[all_tokens[found[0]].end:all_tokens[found[1]].start] for ch in ":;"):
                found = None
            if found and not _negated(all_tokens, *found):
                start, end = all_tokens[found[0]].start, all_tokens[found[1]].end
                pitfalls.append(PitfallHit(pitfall.name, pitfall.penalty, pitfall.explanation,
                                           answer[start:end], start, end))
                break
    # Bonus concepts add credit but are not owed: the reference answer itself reaches full coverage.
    total = sum(c.weight for c in rubric.concepts if not c.bonus) or 1.0
    raw = min(1.0, sum(m.weight for m in matched) / total)
    coverage = max(0.0, raw - sum(p.penalty for p in pitfalls))
    return KeywordResult(round(coverage, 6), round(raw, 6), tuple(matched), tuple(missing), tuple(pitfalls))


def with_meaning_matches(rubric: Rubric, result: KeywordResult, matches) -> KeywordResult:
    """``result`` with the missed concepts that a clause states in other words counted as matched."""
    found = {m.concept: m for m in matches}
    if not any(m.concept in found for m in result.missing):
        return result
    by_name = {c.name: c for c in rubric.concepts}
    matched, missing = list(result.matched), []
    for m in result.missing:
        hit = found.get(m.concept)
        if hit is None:
            missing.append(m)
            continue
        concept = by_name[m.concept]
        matched.append(ConceptMatch(concept.name, concept.weight, concept.required, concept.meaning, hit.text,
                                    hit.start, hit.end, "meaning", hit.similarity))
    total = sum(c.weight for c in rubric.concepts if not c.bonus) or 1.0
    raw = min(1.0, sum(m.weight for m in matched) / total)
    coverage = max(0.0, raw - sum(p.penalty for p in result.pitfalls))
    return KeywordResult(round(coverage, 6), round(raw, 6), tuple(matched), tuple(missing), result.pitfalls)
