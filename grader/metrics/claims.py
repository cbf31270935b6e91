"""Correctness: does the answer contradict what a correct answer must get right?

Vocabulary is not understanding: "the ELBO is an upper bound, so we minimise it" uses every right word. This
module reads an answer clause by clause and checks it against **facts** — claims with a subject and what holds
(or does not hold) of it, authored in the rubric, or taken from the reference sentences when there is no
rubric. Three kinds of contradiction generalise beyond any list of known mistakes:

- *negation*: what holds of the subject, said under a negation ("BA can't be merged into W");
- *opposite*: a phrase that holds of the subject with one word flipped by the bank-wide lexicon of opposites
  (``grader/data/opposites.yaml``: upper/lower, maximise/minimise, fixed/learned, ...), or a phrase the fact
  denies;
- *swap*: what holds of one subject said of a sibling subject ("top-p keeps a fixed number of tokens").

Phrases are bound to the nearest subject named in the same sentence (one before the phrase preferred), so a
sentence that names two subjects is read the way a person reads it. Pitfalls written as term groups (pmatch
style: all groups within one clause, any order, negation-aware) catch misconceptions that are not
contradictions of a fact. Everything is lexical and runs in microseconds: no model, no network.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from grader.text import STOPWORDS, Token, edit_distance_at_most, same_word, tokenize

OPPOSITES_FILE = Path(__file__).resolve().parent.parent / "data" / "opposites.yaml"

#: Words that negate what follows them in the clause.
NEGATORS = frozenset("""
not no never none nor neither without cannot cant dont doesnt didnt isnt arent wasnt werent wont wouldnt
shouldnt couldnt hasnt havent hadnt aint nothing lack lacks lacking avoid avoids avoided avoiding
""".split())
#: Contrast markers: negate a phrase that follows them closely ("top-p, rather than a fixed number, ...").
CONTRASTIVE = frozenset("instead rather unlike than versus vs opposed".split())
#: Words that disown a whole sentence: "It is a myth that LoRA adds latency."
DISOWNING = frozenset("myth misconception misconceptions wrong false incorrect untrue mistake mistaken".split())
#: Words that start a new clause (negation never reaches across them).
CLAUSE_BREAKS = frozenset("while whereas whilst but however although though so because since therefore thus hence".split())
#: ... and, after a comma, these too.
COMMA_BREAKS = frozenset("and so which whereas while".split())
#: Pronouns that carry the subject of the previous sentence into a sentence that names none.
PRONOUNS = frozenset("it its they them their this that these those".split())
#: How many words before a phrase a negator still negates it, and a contrast marker.
NEGATION_REACH = 4
#: How far after "than", "unlike", "instead of" ... the compared thing may reach.
CONTRAST_CLAUSE_REACH = 6
#: Largest gap (in content words) between the words of a phrase.
PHRASE_GAP = 2
_PAUSE = re.compile(r"[,;]")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Contradiction:
    """A clause of the answer that contradicts a fact: the quoted clause, what it said, and the fact."""

    kind: str  # "negation" | "opposite" | "swap"
    fact: str  # the fact's claim (or the reference sentence)
    subject: str  # the subject as the answer named it ("" when the reference has no subjects)
    said: str  # the words of the answer that contradict the fact
    text: str  # the clause, quoted
    start: int
    end: int

    @property
    def explanation(self) -> str:
        what = {"negation": "denies what holds", "opposite": "says the opposite of what holds",
                "swap": "gives it what holds of something else"}[self.kind]
        about = f" of {self.subject!r}" if self.subject else ""
        return f"{self.text.strip()!r} {what}{about}: {self.fact}"


# --------------------------------------------------------------------------- lexicon


@lru_cache(maxsize=1)
def _lexicon_pairs() -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    from grader.yamlio import safe_load

    data = safe_load(OPPOSITES_FILE.read_text(encoding="utf-8"))
    pairs = []
    for a, b in data["pairs"]:
        pairs.append((tuple(a) if isinstance(a, list) else (a,), tuple(b) if isinstance(b, list) else (b,)))
    return tuple(pairs)


class Opposites:
    """Word families and which reverse which, by stem: the bank-wide lexicon plus a rubric's own pairs.

    A misspelt word ("postive") is looked up by its closest family member (the rubric matcher's typo
    tolerance). Two words of one family count as saying the same thing ("more" and "higher").
    """

    def __init__(self, extra: tuple[tuple[str, str], ...] = ()):
        self._families: dict[str, set[int]] = {}  # stem -> family ids
        self._words: list[tuple[str, ...]] = []  # family id -> its words
        self._opposite: dict[int, set[int]] = {}
        for left, right in (*_lexicon_pairs(), *(((a,), (b,)) for a, b in extra)):
            ids = []
            for side in (left, right):
                family = len(self._words)
                self._words.append(side)
                for word in side:
                    for token in tokenize(word)[:1]:
                        self._families.setdefault(token.stem, set()).add(family)
                ids.append(family)
            self._opposite.setdefault(ids[0], set()).add(ids[1])
            self._opposite.setdefault(ids[1], set()).add(ids[0])

    def families(self, token: Token) -> set[int]:
        found = self._families.get(token.stem)
        if found is None and len(token.text) >= 6 and token.text.isalpha():
            found = set()
            for stem, ids in self._families.items():
                if len(stem) >= 5 and same_word(Token(stem, stem, 0, 0, 0), token):
                    found |= ids
            self._families[token.stem] = found
        return found or set()

    def of(self, token: Token) -> tuple[str, ...]:
        """The words that reverse ``token``."""
        return tuple(sorted({w for f in self.families(token) for o in self._opposite.get(f, ()) for w in self._words[o]}))

    def are_opposite(self, a: Token, b: Token) -> bool:
        fb = self.families(b)
        return any(o in fb for f in self.families(a) for o in self._opposite.get(f, ()))

    def are_kin(self, a: Token, b: Token) -> bool:
        """Same word, a misspelling of it, or a word of the same family ("more" / "higher")."""
        return same_word(a, b) or bool(self.families(a) & self.families(b))


@lru_cache(maxsize=64)
def opposites_for(extra: tuple[tuple[str, str], ...] = ()) -> Opposites:
    return Opposites(extra)


# --------------------------------------------------------------------------- reading the answer


@dataclass
class Reading:
    """An answer's tokens with clause numbers, and the content tokens phrases are matched on."""

    text: str
    tokens: list[Token]
    clause: list[int]
    content: list[int]  # indices into tokens of the non-stopwords

    @classmethod
    def of(cls, text: str) -> "Reading":
        tokens = tokenize(text)
        clause, current, last_sentence = [], 0, None
        for i, t in enumerate(tokens):
            if last_sentence is not None and t.sentence != last_sentence:
                current += 1
            elif i and (t.text in CLAUSE_BREAKS or (t.text in COMMA_BREAKS and _after_comma(text, tokens[i - 1], t))):
                current += 1
            clause.append(current)
            last_sentence = t.sentence
        content = [i for i, t in enumerate(tokens) if t.text not in STOPWORDS or t.text in NEGATORS]
        return cls(text, tokens, clause, content)

    def __post_init__(self):
        # Where each distinct word stands (content positions), and each clause's token range: phrase matching
        # and binding stay linear in the answer's length (100,000 characters are allowed).
        self._by_text: dict[str, list[int]] = {}
        for ci, ti in enumerate(self.content):
            self._by_text.setdefault(self.tokens[ti].text, []).append(ci)
        self._word_hits: dict[tuple, list[int]] = {}
        self.clause_span: dict[int, tuple[int, int]] = {}
        for k, c in enumerate(self.clause):
            lo, _ = self.clause_span.get(c, (k, k))
            self.clause_span[c] = (lo, k)

    def starts(self, word: Token, match=same_word) -> list[int]:
        """Content positions of the words ``match`` accepts for ``word`` (cached per word)."""
        key = (word.text, match)
        hits = self._word_hits.get(key)
        if hits is None:
            hits = sorted(ci for text, positions in self._by_text.items()
                          if match(word, self.tokens[self.content[positions[0]]]) for ci in positions)
            self._word_hits[key] = hits
        return hits

    def clause_text(self, i: int) -> tuple[str, int, int]:
        """The clause holding token ``i``: its text and character offsets."""
        lo, hi = self.clause_span[self.clause[i]]
        start, end = self.tokens[lo].start, self.tokens[hi].end
        return self.text[start:end], start, end

    def _contrasts(self, k: int, first: int) -> bool:
        """Whether the contrast marker at ``k`` sets aside the phrase at ``first``: "rather than X", "instead
        of X", "unlike X", "than X" (to the end of the clause); a bare "instead" ("top-p instead keeps ...")
        does not."""
        word = self.tokens[k].text
        following = self.tokens[k + 1].text if k + 1 < len(self.tokens) else ""
        if word in ("instead", "rather") and following not in ("of", "than"):
            return False
        if any(ch in self.text[self.tokens[k].end : self.tokens[first].start] for ch in ",;:()"):
            return False  # "unlike top-k, top-p adapts ...": the comparison ends at the comma
        return first - k <= CONTRAST_CLAUSE_REACH

    def negated(self, first: int, last: int, own: frozenset[int] = frozenset()) -> bool:
        """Whether the phrase at tokens first..last is negated: a negator shortly before it (or inside it, not one
        of its own words), a contrast marker right before it, or a disowning word earlier in the sentence."""
        clause, sentence = self.clause[first], self.tokens[first].sentence
        count = 0
        for k in range(max(0, first - max(NEGATION_REACH, CONTRAST_CLAUSE_REACH)), last + 1):
            if self.clause[k] != clause or k in own:
                continue
            word = self.tokens[k].text
            if word in NEGATORS and first - k <= NEGATION_REACH:
                count += 1
            elif word in CONTRASTIVE and k < first and self._contrasts(k, first):
                return True
        if count % 2 == 1:
            return True
        k = first - 1  # back to the start of the sentence only: linear in the sentence, not the answer
        while k >= 0 and self.tokens[k].sentence == sentence:
            if self.tokens[k].text in DISOWNING:
                return True
            k -= 1
        return False


def _after_comma(text: str, previous: Token, token: Token) -> bool:
    return "," in text[previous.end : token.start]


@lru_cache(maxsize=16384)
def phrase_tokens(phrase: str) -> tuple[Token, ...]:
    tokens = tokenize(phrase)
    content = tuple(t for t in tokens if t.text not in STOPWORDS or t.text in NEGATORS)
    return content or tuple(tokens)


def same_name(expected: Token, seen: Token) -> bool:
    """A subject's name matches its own word, a plural or a one-letter typo, never a word that only shares its
    stem ("generator" is not "generated", "denoiser" not "denoising")."""
    a, b = expected.text, seen.text
    if a == b or b in (a + "s", a + "es") or a in (b + "s", b + "es"):
        return True
    return len(a) >= 6 and a.isalpha() and b.isalpha() and edit_distance_at_most(a, b, 1) \
        and a[:2] == b[:2] and not (b.startswith("un") != a.startswith("un"))


def find_all(phrase: tuple[Token, ...], reading: Reading, gap: int = PHRASE_GAP,
             name: bool = False) -> list[tuple[int, int, frozenset[int]]]:
    """Every occurrence of ``phrase`` within one clause: (first, last, matched token indices). ``name``: match
    a subject's name (exact words, see ``same_name``), not a phrase (stems)."""
    if not phrase:
        return []
    content, tokens = reading.content, reading.tokens
    match = same_name if name else same_word
    out = []
    for ci in reading.starts(phrase[0], match):
        ti = content[ci]
        matched, position = [ti], ci
        for expected in phrase[1:]:
            for step in range(1, gap + 2):
                cj = position + step
                if cj >= len(content) or reading.clause[content[cj]] != reading.clause[ti] \
                        or _PAUSE.search(reading.text, tokens[content[position]].end, tokens[content[cj]].start):
                    break  # a phrase never spans a comma: "p, like ninety percent" is not "p percent"
                if match(expected, tokens[content[cj]]):  # cheap: a word stands next to the last one
                    matched.append(content[cj])
                    position = cj
                    break
            else:
                matched = []
                break
            if len(matched) == 0:
                break
        if matched and len(matched) == len(phrase):
            out.append((matched[0], matched[-1], frozenset(matched)))
    return out


# --------------------------------------------------------------------------- facts (rubric)


@dataclass(frozen=True)
class _Mention:
    group: int  # subject group: facts whose subjects share a name talk about one thing
    first: int
    last: int
    carried: bool = False  # bound through a pronoun ("so we minimise it")


def _subject_groups(facts) -> list[int]:
    """Union facts whose subject lists share a name (two facts about "the ELBO" are about one subject)."""
    parent = list(range(len(facts)))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    names: dict[str, int] = {}
    for i, fact in enumerate(facts):
        for name in fact.subject:
            key = " ".join(t.stem for t in phrase_tokens(name))
            if key in names:
                parent[find(i)] = find(names[key])
            else:
                names[key] = i
    return [find(i) for i in range(len(facts))]


def _mentions(facts, groups: list[int], reading: Reading) -> list[_Mention]:
    """Subject mentions, longest first where they overlap ("stable diffusion" over "diffusion")."""
    found = []
    for fact, group in zip(facts, groups):
        for name in fact.subject:
            for first, last, _ in find_all(phrase_tokens(name), reading, gap=0, name=True):
                found.append(_Mention(group, first, last))
    found.sort(key=lambda m: (-(m.last - m.first), m.first))
    kept: list[_Mention] = []
    taken: set[int] = set()
    for m in found:
        span = range(m.first, m.last + 1)
        if not taken.intersection(span):
            kept.append(m)
            taken.update(span)
    return sorted(kept, key=lambda m: m.first)


#: A phrase is said of a subject named at most this many words before it, in the same clause.
BIND_REACH = 10
#: ... or named right after it, as a verb's object, at most this many words on.
OBJECT_REACH = 2


class _Subjects:
    """The subjects an answer names, indexed by clause and sentence (binding stays linear in the answer)."""

    def __init__(self, mentions: list[_Mention], reading: Reading):
        self.all = mentions
        self.by_clause: dict[int, list[_Mention]] = {}
        self.by_sentence: dict[int, list[_Mention]] = {}
        self.at: dict[int, _Mention] = {}
        self.aside = {m: _aside(m, reading) for m in mentions}
        # "precision and recall separate fidelity from coverage": coordinated subjects share what is said.
        self.together: dict[_Mention, set[int]] = {m: {m.group} for m in mentions}
        for a, b in zip(mentions, mentions[1:]):
            between = [reading.tokens[k].text for k in range(a.last + 1, b.first)]
            if reading.clause[a.first] == reading.clause[b.first] and len(between) <= 2 \
                    and all(w in ("and", "or", "both", "either", "nor") for w in between):
                joined = self.together[a] | self.together[b]
                self.together[a] = self.together[b] = joined
        for m in mentions:
            self.by_clause.setdefault(reading.clause[m.first], []).append(m)
            self.by_sentence.setdefault(reading.tokens[m.first].sentence, []).append(m)
            for k in range(m.first, m.last + 1):
                self.at[k] = m


def _bind(first: int, last: int, subjects: _Subjects, reading: Reading) -> _Mention | None:
    """The subject a phrase at first..last is said of: the nearest subject named before it in its clause
    (subject-verb-object order: a subject named after the phrase, or in another clause, is not it); in a
    clause that names no subject but uses a pronoun, the last subject named shortly before it in the sentence."""
    clause, sentence = reading.clause[first], reading.tokens[first].sentence
    in_clause = [m for m in subjects.by_clause.get(clause, ())
                 if not subjects.aside[m] or _relative_to(m, first, reading)]
    before = [m for m in in_clause if m.last < first and first - m.last <= BIND_REACH]
    # A verb's object right after it ("minimise the ELBO", "learns the update BA") is what it is said of,
    # when it is closer than the subject before it.
    after = [m for m in in_clause if m.first > last and m.first - last <= OBJECT_REACH
             and not any(ch in reading.text[reading.tokens[last].end : reading.tokens[m.first].start] for ch in ",;:()")]
    if after and (not before or after[0].first - last < first - before[-1].last):
        return after[0]
    if before:
        return before[-1]
    if in_clause:
        return None  # the clause names its subject after the phrase: too loose to judge
    lo = reading.clause_span[clause][0]
    if lo == first or any(reading.tokens[k].text in PRONOUNS for k in range(lo, first)):
        earlier = [m for m in subjects.by_sentence.get(sentence, ())
                   if m.last < first and first - m.last <= 2 * BIND_REACH
                   and (not subjects.aside[m] or _relative_to(m, first, reading))]
        if earlier:
            return _Mention(earlier[-1].group, earlier[-1].first, earlier[-1].last, carried=True)
    return None


#: A subject named after one of these is context, not what the clause describes: "the difference from a
#: normal VAE is ...", "the output of the generator". ("In the RL phase", "at inference", "for FID" name a time
#: or a topic that the clause is about, so those prepositions are not here.)
PREPOSITIONS = frozenset("with from of by via like".split())
_ARTICLES = frozenset("a an the this that these those its their our your".split())


def _aside(mention: _Mention, reading: Reading) -> bool:
    """A subject named only in contrast ("unlike top-k", "rather than the encoder") or as the object of a
    preposition ("in CFG", "from a normal VAE") is not what is described."""
    k = mention.first - 1
    while k >= 0 and reading.tokens[k].text in _ARTICLES and mention.first - k <= 2:
        k -= 1
    if k < 0 or reading.clause[k] != reading.clause[mention.first]:
        return False
    word = reading.tokens[k].text
    if word in PREPOSITIONS:
        return True
    while k >= 0 and reading.tokens[k].text in STOPWORDS and word not in CONTRASTIVE and mention.first - k <= 2:
        k -= 1
        word = reading.tokens[k].text if k >= 0 else ""
    return word in CONTRASTIVE


def _relative_to(mention: _Mention, first: int, reading: Reading) -> bool:
    """A phrase in a relative clause right after a subject named in contrast is said of that subject:
    "unlike full fine-tuning, which updates the weights"."""
    between = [reading.tokens[k].text for k in range(mention.last + 1, first)]
    return bool(between) and between[0] in ("which", "who", "that") and len(between) <= NEGATION_REACH + 1


def _variants(phrase: str, opposites: Opposites) -> list[tuple[str, str]]:
    """The phrase with one word replaced by each of its opposites: (variant, the replacing word)."""
    tokens = phrase_tokens(phrase)
    out = []
    for k, token in enumerate(tokens):
        for word in opposites.of(token):
            words = [t.text for t in tokens]
            words[k] = word
            out.append((" ".join(words), word))
    return out


@lru_cache(maxsize=256)
def _siblings(facts: tuple, context: str) -> frozenset[tuple[int, int]]:
    """Pairs of subject groups that can be swapped: their names share a word (top-k / top-p, forward / reverse
    process), or one sentence of the reference or of a claim names both (generator and discriminator)."""
    import re

    groups = _subject_groups(facts)
    names = {}
    for fact, g in zip(facts, groups):
        names.setdefault(g, set()).update(fact.subject)
    words = {g: {t.stem for n in ns for t in phrase_tokens(n) if len(t.text) > 2} for g, ns in names.items()}
    pairs = set()
    sentences = [s for text in (context, *(f.claim for f in facts)) for s in re.split(r"[.!?\n]+", text) if s.strip()]
    named = []
    for sentence in sentences:
        r = Reading.of(sentence)
        named.append({g for g, ns in names.items() if any(find_all(phrase_tokens(n), r, gap=0) for n in ns)})
    for a in names:
        for b in names:
            if a < b and (words[a] & words[b] or any(a in n and b in n for n in named)):
                pairs.update({(a, b), (b, a)})
    return frozenset(pairs)


def check_facts(facts, answer: str, opposites: Opposites, reading: Reading | None = None,
                context: str = "") -> list[Contradiction]:
    """Contradictions of the rubric's facts in ``answer``, at most one per clause. ``context`` (the reference
    answer) tells which subjects are siblings that a candidate can swap."""
    if not facts or not answer.strip():
        return []
    reading = reading or Reading.of(answer)
    groups = _subject_groups(facts)
    siblings = _siblings(tuple(facts), context)
    mentions = _mentions(facts, groups, reading)
    if not mentions:
        return []
    subjects = _Subjects(mentions, reading)
    # Every holds phrase of a subject, where it occurs: a phrase true of the subject it is bound to never
    # counts as a swap or an opposite.
    holds_at: dict[int, set[int]] = {}  # subject group -> tokens inside a phrase that holds of it
    holds_of: dict[int, list[tuple[int, int, frozenset[int]]]] = {}  # fact index -> where its holds occur
    occurrences = []  # (first, last, own, fact index, kind, phrase)
    for i, fact in enumerate(facts):
        for phrase in fact.holds:
            for first, last, own in find_all(phrase_tokens(phrase), reading):
                holds_at.setdefault(groups[i], set()).update(range(first, last + 1))
                holds_of.setdefault(i, []).append((first, last, own))
                occurrences.append((first, last, own, i, "holds", phrase))
            for variant, _ in _variants(phrase, opposites):
                for first, last, own in find_all(phrase_tokens(variant), reading):
                    occurrences.append((first, last, own, i, "opposite", variant))
        for phrase in fact.denies:
            for first, last, own in find_all(phrase_tokens(phrase), reading):
                occurrences.append((first, last, own, i, "denies", phrase))
    found: dict[tuple[int, int], Contradiction] = {}
    for first, last, own, i, kind, phrase in occurrences:
        named_at = [subjects.at.get(k) for k in (first, last)]
        if named_at[0] is not None and (named_at[0] is named_at[1] or not set(range(named_at[0].first,
                                                                                  named_at[0].last + 1)) <= own):
            continue  # the phrase is a subject's name, or starts inside one ("k most likely" from "top-k")
        subject = _bind(first, last, subjects, reading)
        if subject is None:
            continue
        fact = facts[i]
        negated = reading.negated(first, last, own)
        same = subject.group == groups[i]
        # True of the subject, or of a subject coordinated with it ("precision and recall separate fidelity ...").
        overlaps_true = any(k in holds_at.get(g, ()) for g in subjects.together.get(subject, {subject.group})
                            for k in range(first, last + 1))
        if kind == "holds" and same and negated:
            verdict = "negation"
        elif kind in ("opposite", "denies") and same and not negated and not overlaps_true:
            if kind == "opposite" and _holds_unnegated(holds_of.get(i, ()), reading, subject, subjects, first):
                continue
            verdict = "opposite"
        elif (kind == "holds" and not same and not negated and not overlaps_true and not subject.carried
              and (subject.group, groups[i]) in siblings and groups[i] not in subjects.together.get(subject, ())
              and not _names_subject(fact.claim, facts, groups, subject.group)
              and not any(m.group == groups[i] for m in subjects.by_clause.get(reading.clause[first], ()))):
            verdict = "swap"
        else:
            continue
        key = reading.clause[first]  # one contradiction per clause: a negation or opposite before a swap
        if key in found and (found[key].kind != "swap" or verdict == "swap"):
            continue
        text, start, end = reading.clause_text(first)
        named = reading.text[reading.tokens[subject.first].start : reading.tokens[subject.last].end]
        said = reading.text[reading.tokens[first].start : reading.tokens[last].end]
        found[key] = Contradiction(verdict, fact.claim, named, said, text, start, end)
    return sorted(found.values(), key=lambda c: c.start)


def _holds_unnegated(holds, reading: Reading, subject: _Mention, subjects: _Subjects, near: int) -> bool:
    """The clause also says, unnegated, what holds ("a lower bound, not an upper one"): not an opposite."""
    for first, last, own in holds:
        if reading.clause[first] == reading.clause[near] and not reading.negated(first, last, own):
            bound = _bind(first, last, subjects, reading)
            if bound is not None and bound.group == subject.group:
                return True
    return False


def _names_subject(claim: str, facts, groups: list[int], group: int) -> bool:
    """Whether a fact's claim itself names the other subject (then saying it of that subject is no swap)."""
    reading = Reading.of(claim)
    return any(find_all(phrase_tokens(name), reading, gap=0)
               for fact, g in zip(facts, groups) if g == group for name in fact.subject)


# --------------------------------------------------------------------------- pitfalls as term groups


@dataclass(frozen=True)
class TermMatch:
    text: str
    start: int
    end: int


def match_terms(groups: tuple[tuple[str, ...], ...], answer: str, reading: Reading | None = None) -> TermMatch | None:
    """The first clause in which every group has an alternative, not negated: pmatch-style, order-free."""
    if not groups:
        return None
    reading = reading or Reading.of(answer)
    per_group = []
    for group in groups:
        hits = [h for alt in group for h in find_all(phrase_tokens(alt), reading)]
        if not hits:
            return None
        per_group.append(hits)
    clauses = set.intersection(*({reading.clause[h[0]] for h in hits} for hits in per_group))
    for clause in sorted(clauses):
        chosen = [min((h for h in hits if reading.clause[h[0]] == clause), key=lambda h: h[0]) for hits in per_group]
        first, last = min(h[0] for h in chosen), max(h[1] for h in chosen)
        own = frozenset().union(*(h[2] for h in chosen))
        members = [k for k, c in enumerate(reading.clause) if c == clause]
        # A negation anywhere in the clause before the last matched term cancels it ("RAG does not retrain").
        if reading.negated(max(members[0], first), last, own) or any(
                reading.tokens[k].text in NEGATORS for k in members if k < last and k not in own):
            continue
        text, start, end = reading.clause_text(first)
        return TermMatch(text, start, end)
    return None


# --------------------------------------------------------------------------- reference sentences (no rubric)


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
