"""Contradictions of the reference answers, for a question without facts (any coach's bank, every data set).

Each claim (clause) of the answer is aligned with the reference claim it shares most with; it contradicts that
claim when an odd number of flips separate them (a word replaced by its opposite, or the negation added or
removed), unless a reference claim about as close says it unflipped. Two flips cancel.
"""
from __future__ import annotations

import re

from grader.metrics.claims import Contradiction
from grader.metrics.opposites import Opposites
from grader.metrics.reading import CONTRASTIVE, NEGATORS, STOPWORDS, Reading, Token
from grader.text import stem

#: Prepositions that only link the things a claim names, whose opposites (if any) are not claims: "there is no
#: gap *between* the terminals" says no more than "there is no gap" about the gap.
LINKING = frozenset("between among amongst through across along around upon toward towards".split())


#: Verbs that frame a claim as the speaker's ("I think", "we knew"): not part of what is claimed.
STANCE = frozenset("think thought believe believed guess guessed suppose feel felt know knew predict predicted "
                   "chose choose picked".split())


def _content_words(reading: Reading, lo: int, hi: int) -> list[Token]:
    """The words of tokens lo..hi that carry the claim. "non-magnetic" (read as "non", "magnetic") is one word,
    "nonmagnetic": the opposite of "magnetic", the same as "nonmagnetic"."""
    out = []
    for k in range(lo, hi):
        t = reading.tokens[k]
        if k > lo and reading.tokens[k - 1].text == "non" and t.text.isalpha():
            out.append(Token("non" + t.text, stem("non" + t.text), reading.tokens[k - 1].start, t.end, t.sentence))
            continue
        # Single letters are symbols, not claims: "log(D(x))" shares d and x with "log(1 - D(G(z)))" and says
        # no more.
        if t.text in STANCE and k > lo and reading.tokens[k - 1].text in ("i", "we"):
            continue  # "I think the nail will stick": the claim is what follows
        if t.text not in STOPWORDS and t.text not in NEGATORS and t.text not in CONTRASTIVE \
                and t.text not in LINKING \
                and t.text != "non" and len(t.text) > 1 and not (LABELS and t.text.isdigit()):
            out.append(t)
    return out


#: Whether names such as "bulb A", "terminal 4", "switch Z" are compared as labels (a different label is a
#: different thing: "bulbs A and B" against "bulbs A and C").
LABELS = True
_NUMBER_WORDS = {w: str(k) for k, w in enumerate("zero one two three four five six seven eight nine ten".split())}


def _labels(reading: Reading, lo: int, hi: int) -> frozenset[str]:
    """The labels a claim names: single letters ("bulb A", "a and c"; an article "a" is followed by the word it
    goes with, a label by a function word, a comma or nothing) and numbers ("terminal 4", "terminal one")."""
    out = set()
    tokens = reading.tokens
    for k in range(lo, hi):
        t = tokens[k]
        nxt = tokens[k + 1] if k + 1 < hi else None
        if t.text.isdigit():
            out.add(t.text)
        elif t.text in _NUMBER_WORDS and k > lo and tokens[k - 1].text not in STOPWORDS \
                and tokens[k - 1].text not in NEGATORS:
            out.add(_NUMBER_WORDS[t.text])
        elif len(t.text) == 1 and t.text.isalpha() and reading.text[t.start - 1 : t.start] not in ("'", '"', "’"):
            if t.text in ("a", "i") and nxt is not None and nxt.text not in STOPWORDS \
                    and not any(ch in reading.text[t.end:nxt.start] for ch in ",;:()."):
                continue  # an article or "I"
            out.add(t.text)
    return frozenset(out)


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


def _comparable(prescribes: bool, compared: list[Token], r: Reading, rlo: int, rhi: int, rwords: list[Token],
                opposites: Opposites) -> bool:
    """Whether an answer claim (which ``prescribes``, and is ``compared`` with the words after its "than") can
    be held against the reference claim r[rlo:rhi]: not "everyone should use the same ball" (what ought to be)
    against what is, nor "the holes are smaller than the particles" against a claim that compares nothing
    (which side is which decides the direction)."""
    if prescribes and not _prescribes(r, rlo, rhi):
        return False
    return not (compared and not _compared_with(r, rlo, rhi) and any(
        opposites.are_kin(t, w) or opposites.are_opposite(t, w) for t in compared for w in rwords))


def _prescribes(reading: Reading, lo: int, hi: int) -> bool:
    """Whether tokens lo..hi say what ought to be ("should", "ought to", "need to"), not what is."""
    tokens = reading.tokens
    return any(tokens[k].text in ("should", "ought", "shouldnt") or (
        tokens[k].text in ("need", "needs") and k + 1 < hi and tokens[k + 1].text == "to") for k in range(lo, hi))


def _compared_with(reading: Reading, lo: int, hi: int) -> list[Token]:
    """The words after "than" in tokens lo..hi: what a comparison measures its subject against. When the
    reference says the same things without comparing them ("the sand particles are too large"), "the grains of
    salt are smaller than the grains of sand" agrees with it though its words are flipped."""
    for k in range(lo, hi):
        if reading.tokens[k].text == "than":
            return _content_words(reading, k + 1, hi)
    return []


def _negations(reading: Reading, lo: int, hi: int, asks_yes_no: bool = False,
               opposites: Opposites | None = None) -> int:
    """Negators in tokens lo..hi. A verdict that opens a sentence ("No, string is an insulator") answers the
    question; it does not negate the claim after it ("zero" before a noun does). Nor does a correction that
    names the other side ("the pitch is higher, not lower"): it denies the opposite, which is to say the claim."""
    return sum(1 for k in range(lo, hi)
               if (reading.tokens[k].text in NEGATORS or _zero(reading, k, hi))
               and not _is_verdict(reading, k, asks_yes_no)
               and not (opposites is not None and _corrects(reading, k, lo, hi, opposites)))


def _zero(reading: Reading, k: int, hi: int) -> bool:
    """ "0 marbles", "zero marbles": "no marbles"."""
    tokens = reading.tokens
    return tokens[k].text in ("0", "zero") and k + 1 < hi and tokens[k + 1].text.isalpha() \
        and tokens[k + 1].text not in STOPWORDS


def _corrected(reading: Reading, lo: int, hi: int, opposites: Opposites) -> list[Token]:
    """The words in tokens lo..hi that a correction denies: "lower" in "higher not lower"."""
    return [reading.tokens[k + 1] for k in range(lo, hi)
            if reading.tokens[k].text in NEGATORS and _corrects(reading, k, lo, hi, opposites)]


def _corrects(reading: Reading, k: int, lo: int, hi: int, opposites: Opposites) -> bool:
    """Whether the negator at token k denies a word whose opposite the claim also says: "higher not lower"."""
    if k + 1 >= hi:
        return False
    denied = reading.tokens[k + 1]
    return any(opposites.are_opposite(denied, t) for t in _content_words(reading, lo, hi) if t is not denied)


def _is_verdict(reading: Reading, k: int, asks_yes_no: bool = False) -> bool:
    """Whether the "no" at token k is a verdict: it opens a sentence and a comma or stop follows, or (when the
    references answer yes or no: ``asks_yes_no``) it opens the answer ("No Fruity Cream cookies are not pure
    sugar", the comma left out)."""
    tokens = reading.tokens
    if tokens[k].text not in ("no", "nope") or (k and tokens[k - 1].sentence == tokens[k].sentence):
        return False
    return (asks_yes_no and k == 0) or reading.text[tokens[k].end : tokens[k].end + 1] in (",", ".", "!", ";", ":", "")


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


def _pairs_reversed(flipped: list[Token], rwords: list[Token], opposites: Opposites) -> int:
    """How many claim words are reversed: the most pairs (answer word, reference word it reverses) with no word
    in two pairs. "more beads, greater density" against "the same density" reverses one word, not two that
    cancel; "connected" against "separated by a gap" reverses one; "looser, lower" against "tighter, higher" two.

    Hand-written (Kuhn's augmenting paths) rather than scipy's ``maximum_bipartite_matching``: a claim has a
    handful of words, and importing scipy.sparse would cost every cold ``grader grade``. The tests check it
    against scipy."""
    edges = {a: {r.stem for r in rwords if opposites.are_opposite(t, r)} for t in flipped for a in [t.stem]}
    partner: dict[str, str] = {}

    def augment(a: str, seen: set[str]) -> bool:  # Kuhn's augmenting path; a claim has a handful of words
        for r in edges[a]:
            if r not in seen:
                seen.add(r)
                if r not in partner or augment(partner[r], seen):
                    partner[r] = a
                    return True
        return False

    return sum(augment(a, set()) for a in edges)


#: A verdict that opens an answer: yes or no, a choice ("B.", "(c)"), or a number ("30 meters").
_VERDICT = re.compile(r"\s*(?:(?:i\s+)?(yes|yeah|yep|agree|no|nope|disagree)\b(?!\s+(?:and|or)\s+(?:yes|no)\b)(?![-']\w)"
                      r"|\(?([a-hj-z])(?:[.,:)]|\s*$)"
                      r"|(\d+(?:\.\d+)?)(?![\w.]*\s*[-+*/x=]))", re.IGNORECASE)
_YES = frozenset({"yes", "yeah", "yep", "agree"})
#: A name that opens an answer as its verdict: "Nathaniel - because ...", "Sammy's.", "Lee, because ...".
_NAMED = re.compile(r"\s*([A-Za-z]+)(?:['’]s)?\s*(?:[-–—.,:!]|because\b|\s*$)", re.IGNORECASE)


def _verdict(text: str, names: frozenset[str] = frozenset()) -> tuple[str, str, str] | None:
    """(kind, value, the words as written) of the verdict that opens ``text``, if any: yes or no (agree or
    disagree), a choice letter, a number, or one of ``names`` (the people or things a question offers)."""
    m = _VERDICT.match(text)
    if not m:
        named = _NAMED.match(text)
        if named and named.group(1).lower() in names:
            return "name", named.group(1).lower(), named.group(1)
        return None
    if m.group(1):
        return "yes/no", "yes" if m.group(1).lower() in _YES else "no", m.group(1)
    if m.group(2):
        return "choice", m.group(2).lower(), m.group(2)
    return "number", str(float(m.group(3))), m.group(3)


def _names(question: str) -> frozenset[str]:
    """Names a question offers: words it always writes capitalised ("Nathaniel and Sammy are ... Sammy wants
    ... Nathaniel thinks ... Which student's method ...?")."""
    words = re.findall(r"[A-Za-z]+", question)
    lower = {w for w in words if w[0].islower()}
    return frozenset(w.lower() for w in words if w[0].isupper() and len(w) > 1 and w.lower() not in lower) - STOPWORDS


def _numbers(text: str) -> set[str]:
    return {str(float(n)) for n in re.findall(r"(?<![\w.])\d+(?:\.\d+)?", text)}


def check_verdict(answer: str, references: list[str], question: str = "") -> Contradiction | None:
    """An answer that opens with a different verdict than every reference does: "No, ..." to a reference that
    says "Yes, ...", "B." to "A. ...", "30 meters" to "40 meters." (a number only when the reference's number is
    nowhere in the answer). The explanation after it may share every word with the reference; the verdict is
    the claim. Or a name the question offers ("Nathaniel - ..." to "Sammy's. ...")."""
    names = _names(question) if question else frozenset()
    verdicts = [_verdict(r, names) for r in references]
    if not verdicts or verdicts[0] is None or any(v is None or v[:2] != verdicts[0][:2] for v in verdicts):
        return None
    said = _verdict(answer, names)
    if said is None or said[0] != verdicts[0][0] or said[1] == verdicts[0][1]:
        return None
    if said[0] == "number" and verdicts[0][1] in _numbers(answer):
        return None
    first = re.split(r"(?<=[.!?])\s+", answer.strip(), maxsplit=1)[0]
    start = answer.index(first)
    fact = re.split(r"(?<=[.!?])\s+", references[0].strip(), maxsplit=1)[0]
    return Contradiction("opposite", fact, "", said[2], first, start, start + len(first))


def check_reference(answer: str, references: list[str], opposites: Opposites,
                    reading: Reading | None = None, question: str = "") -> list[Contradiction]:
    """Contradictions of the reference answers, for a question without facts.

    Each claim (clause) of the answer is aligned with the reference claim it shares most with (words of one
    family in the lexicon count as shared, a word and its opposite as aligned). It contradicts that claim when
    an odd number of "flips" separate them — a word replaced by its opposite, or the negation added or removed —
    unless an equally close reference claim says it unflipped. Two flips cancel ("looser string, lower pitch"
    against "tighter string, higher pitch").
    """
    if not answer.strip() or not references:
        return []
    verdict = check_verdict(answer, references, question)
    if verdict is not None:
        return [verdict]
    reading = reading or Reading.of(answer)
    asks_yes_no = any((_verdict(r) or ("",))[0] == "yes/no" for r in references)
    claims = []
    rlabel_of: dict[tuple[int, int], frozenset[str]] = {}
    for reference in references:
        r = Reading.of(reference)
        for lo, hi in _units(r):
            words = _content_words(r, lo, hi)
            if words:
                claims.append((r, lo, hi, words))
                rlabel_of[(id(r), lo)] = _labels(r, lo, hi) if LABELS else frozenset()
    out = []
    spans: dict[int, list[int]] = {}
    for k, t in enumerate(reading.tokens):
        spans.setdefault(t.sentence, [k, k])[1] = k + 1
    # Each sentence's words as the claims read them ("non-magnetic" is "nonmagnetic", not "magnetic").
    # A word a correction denies ("higher, not *lower*") is not said.
    sentences = {n: [t for t in _content_words(reading, lo, hi) if t not in _corrected(reading, lo, hi, opposites)]
                 for n, (lo, hi) in spans.items()}
    for lo, hi in _units(reading):
        words = _content_words(reading, lo, hi)
        if not words:
            continue
        sentence = sentences[reading.tokens[lo].sentence]
        labels = _labels(reading, lo, hi) if LABELS else frozenset()
        compared = _compared_with(reading, lo, hi)
        verdicts = []
        prescribes = _prescribes(reading, lo, hi)
        for r, rlo, rhi, rwords in claims:
            if not _comparable(prescribes, compared, r, rlo, rhi, rwords, opposites):
                continue
            own_share, ref_share, shared, flipped = _compare(words, rwords, opposites, sentence)
            # Aligned on either side: an answer that adds words to a short reference claim still says it
            # ("they are connected to the positive terminal" against "the terminals are not connected").
            share = max(own_share, ref_share)
            if not shared or share < MIN_ALIGNED_SHARE:
                continue
            negation_flip = (_negations(reading, lo, hi, asks_yes_no, opposites) % 2) != (_negations(r, rlo, rhi) % 2)
            rlabels = rlabel_of[(id(r), rlo)]
            # Other things named than the reference names ("bulbs A and B" for "bulbs A and C"): a swap. Naming
            # fewer or more of them is not (an incomplete or a wider answer).
            swapped = bool(labels & rlabels and labels - rlabels and rlabels - labels)
            flips = _pairs_reversed(flipped, rwords, opposites) + negation_flip + swapped
            # A negation flip alone needs the two claims to be close paraphrases, seen from both sides: a long
            # sentence negates many things.
            if flips == 1 and not flipped and not swapped and min(own_share, ref_share) < MIN_NEGATION_SHARE \
                    and not (own_share == 1.0 and ref_share >= 0.5):  # "there is a gap" / "there is no gap between them"
                continue
            verdicts.append((share, shared, flips, flipped, r, rlo, rhi, swapped))
        if not verdicts:
            out += _existence_denied(reading, lo, hi, claims, opposites)
            continue
        best = max(v[0] for v in verdicts)
        closest = sorted((v for v in verdicts if v[0] >= best - SUPPORT_MARGIN), key=lambda v: (-v[0], -v[1]))
        if any(v[2] % 2 == 0 for v in closest):
            continue  # a reference claim about as close says it as the answer does
        share, shared, flips, flipped, r, rlo, rhi, swapped = closest[0]
        start, end = reading.tokens[lo].start, reading.tokens[hi - 1].end
        said = ", ".join(dict.fromkeys(reading.text[t.start:t.end] for t in flipped)) \
            or (", ".join(sorted(labels - rlabel_of[(id(r), rlo)])).upper() if swapped else "the negation")
        fact = r.text[r.tokens[rlo].start : r.tokens[rhi - 1].end]
        out.append(Contradiction("opposite" if flipped else "swap" if swapped else "negation", fact, "", said,
                                 reading.text[start:end], start, end))
    return out


_BE = frozenset("is are was were s".split())
#: Words that stand for a thing without naming it: "there is not one already" says nothing about which.
_VAGUE = frozenset("one ones something anything nothing everything way need reason".split())


def _existence(reading: Reading, lo: int, hi: int) -> tuple[Token, bool] | None:
    """(the thing, whether it is denied) when tokens lo..hi say that something is or is not there: "there is
    no gap", "there was a gap in the circuit", "there are not any bulbs"."""
    tokens = reading.tokens
    for k in range(lo, hi - 1):
        if tokens[k].text in ("there", "theres") and (tokens[k].text == "theres" or tokens[k + 1].text in _BE):
            j = k + 1 if tokens[k].text == "theres" else k + 2
            denied = False
            while j < hi and (tokens[j].text in STOPWORDS or tokens[j].text in NEGATORS):
                denied ^= tokens[j].text in NEGATORS
                j += 1
            if j < hi and len(tokens[j].text) > 1 and not tokens[j].text.isdigit() and tokens[j].text not in _VAGUE:
                return tokens[j], denied
            return None
    return None


def _existence_denied(reading: Reading, lo: int, hi: int, claims, opposites: Opposites) -> list[Contradiction]:
    """An answer clause that says something is there (or not) which every reference claim naming it says is not
    (or is): "there was no gap" against "separated by the gap", "there is a gap" against "there is no gap between
    them". The words around it are the reference's business; whether the thing exists is the claim."""
    said = _existence(reading, lo, hi)
    if said is None:
        return []
    thing, denied = said
    polarities = set()
    fact = None
    for r, rlo, rhi, rwords in claims:
        for k in range(rlo, rhi):
            if r.tokens[k].text in STOPWORDS or not opposites.are_kin(r.tokens[k], thing):
                continue
            negated = any(r.tokens[j].text in NEGATORS for j in range(max(rlo, k - 4), k))
            polarities.add(negated)
            fact = fact or r.text[r.tokens[rlo].start : r.tokens[rhi - 1].end]
    if len(polarities) != 1 or polarities.pop() == denied:
        return []
    start, end = reading.tokens[lo].start, reading.tokens[hi - 1].end
    return [Contradiction("negation", fact, "", reading.text[thing.start:thing.end], reading.text[start:end], start,
                          end)]
