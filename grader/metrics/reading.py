"""Reading an answer the way the correctness checks need: clauses, negation, and phrase matching.

A person's sentence is read clause by clause ("while", "but", "because" ... start a new one); a phrase is
negated by a negator shortly before it, by a contrast marker ("rather than X", "unlike X") or by a disowning
word earlier in the sentence ("It is a myth that ..."). Phrases match on stems with small gaps, never across a
comma; a subject's name matches whole words only. Matching is indexed by word so that it stays linear in the
answer's length (100,000 characters are allowed). Used by ``facts``, ``reference`` and the keyword rubric's
term-group pitfalls.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from grader.text import STOPWORDS, Token, edit_distance_at_most, same_word, tokenize, typo_tolerance

#: Words that negate what follows them in the clause.
NEGATORS = frozenset("""
not no never none nor neither without cannot cant dont doesnt didnt isnt arent wasnt werent wont wouldnt
shouldnt couldnt hasnt havent hadnt aint nothing lack lacks lacking avoid avoids avoided avoiding immune
non ignore ignores ignored ignoring neglect neglects neglected neglecting fails nobody nobodys nothings
""".split())
#: Contrast markers: negate a phrase that follows them closely ("top-p, rather than a fixed number, ...").
#: ("versus" is not one: "fidelity versus coverage" names two sides, it denies neither.)
CONTRASTIVE = frozenset("instead rather unlike than opposed".split())
#: Words that disown a whole sentence: "It is a myth that LoRA adds latency."
DISOWNING = frozenset("myth misconception misconceptions wrong false incorrect untrue mistake mistaken".split())
#: Words that deny the claim they close: "putting the whole corpus into the context is *impossible*".
INFEASIBLE = frozenset("impossible infeasible impractical unrealistic".split())
#: Words that start a new clause (negation never reaches across them).
CLAUSE_BREAKS = frozenset("while whereas whilst but however although though so because since therefore thus hence".split())
#: ... and, after a comma, these too.
COMMA_BREAKS = frozenset("and so which whereas while".split())
#: Pronouns that, after a comma, open a sentence of their own, as speech runs them together: "the loss is not
#: adversarial, it's just MSE" (the negation stops at the comma); "then you train a reward model, you have the
#: model generate a few answers" (what "you" do is not said of the reward model).
RESTARTS = frozenset("it its they you we i".split())
SPEAKERS = frozenset("you we i".split())
#: Pronouns that carry the subject of the previous sentence into a sentence that names none.
PRONOUNS = frozenset("it its they them their this that these those".split())
#: Verbs that take away a need: "removes the need for X" negates X.
_REMOVING = frozenset("remove removes removed removing eliminate eliminates eliminated eliminating obviate obviates "
                      "obviated avoid avoids avoiding".split())
_REPLACING = frozenset("replace replaces replaced replacing".split())
_NUMBER_WORDS = frozenset("zero one two three four five six seven eight nine ten hundred thousand".split())
#: Who holds a belief that an answer reports in order to correct it ("people often think ...").
_BELIEVERS = frozenset("people many some most beginners newcomers folks everyone somebody someone one you they "
                       "candidates students".split())
_BELIEVING = frozenset("think thinks thought assume assumes assumed believe believes believed expect expects "
                       "imagine imagines claim claims say says".split())
#: Verbs that act on what follows them: negated, they deny the act, not the thing ("D cannot penalize a lack of
#: variety", "the loss does not fix the blur"). Stems, so every form counts.
_ACTING_ON = frozenset(t.stem for t in tokenize("penalize penalise punish detect notice spot fix solve address "
                                                  "prevent avoid correct"))
#: Verbs that carry a negation on through "to": "don't want to ...", "doesn't have to ...".
_CARRYING = frozenset("want wants need needs have has try tries going".split())
#: Words that open a clause that ends at its comma: "Since ..., the main clause".
_SUBORDINATORS = frozenset("since because if when although though as once after before unless while whereas".split())
#: Verbs that make the phrase before them a subject: "the reconstructions *are* sharp".
_FINITE = frozenset("is are was were".split())
#: Words that open a condition: a negation before them does not reach into it.
_CONDITIONS = frozenset("if unless whether".split())
#: Auxiliaries and modals: after "and" they start a predicate of its own.
_AUXILIARIES = frozenset("can could will would may might must should is are was were has have had does do".split())
#: How many words before a phrase a negator still negates it, and a contrast marker.
NEGATION_REACH = 4
#: How far after "than", "unlike", "instead of" ... the compared thing may reach.
CONTRAST_CLAUSE_REACH = 6
#: Largest gap (in content words) between the words of a phrase.
PHRASE_GAP = 2
PAUSE = re.compile(r"[,;]")



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
        self._by_stem: dict[str, list[str]] | None = None
        self.clause_span: dict[int, tuple[int, int]] = {}
        for k, c in enumerate(self.clause):
            lo, _ = self.clause_span.get(c, (k, k))
            self.clause_span[c] = (lo, k)

    def starts(self, word: Token, match=same_word) -> list[int]:
        """Content positions of the words ``match`` accepts for ``word`` (cached per word).

        Only words that could match are compared: the same stem, or (for a word long enough to carry a typo)
        a length within two letters."""
        key = (word.text, match)
        hits = self._word_hits.get(key)
        if hits is None:
            if self._by_stem is None:
                self._by_stem = {}
                for text, positions in self._by_text.items():
                    self._by_stem.setdefault(self.tokens[self.content[positions[0]]].stem, []).append(text)
            candidates = set(self._by_stem.get(word.stem, ())) | ({word.text} & self._by_text.keys())
            if typo_tolerance(word.text):
                candidates |= {t for t in self._by_text if abs(len(t) - len(word.text)) <= 2}
            hits = sorted(ci for text in candidates
                          if match(word, self.tokens[self.content[self._by_text[text][0]]])
                          for ci in self._by_text[text])
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
        if word == "than" and (following.replace(".", "", 1).isdigit() or following in _NUMBER_WORDS) \
                and first > k + 1:
            return False  # "T greater than 1 flattens it": the thing compared is the number, no more
        if any(ch in self.text[self.tokens[k].end : self.tokens[first].start] for ch in ",;:()"):
            return False  # "unlike top-k, top-p adapts ...": the comparison ends at the comma
        if any(self.tokens[j].text in ("which", "who", "whose") for j in range(k + 2, first)):
            return False  # "unlike GANs which train adversarially": what the other thing does, said of it
        return first - k <= CONTRAST_CLAUSE_REACH

    def restarts(self, a: int, b: int, pronouns: frozenset[str]) -> bool:
        """Whether a comma and one of ``pronouns`` stand between tokens a and b: a new sentence run on."""
        return any(self.tokens[j].text in pronouns and "," in self.text[self.tokens[j - 1].end : self.tokens[j].start]
                   for j in range(a + 1, b + 1))

    def _need_removed(self, k: int) -> bool:
        """Whether "need" at ``k`` is removed: "removes the need for a classifier" says there is no classifier."""
        before = [self.tokens[j].text for j in range(max(0, k - 2), k)]
        return bool(before) and (before[-1] in _REMOVING or (len(before) == 2 and before[-1] == "the"
                                                               and before[0] in _REMOVING))

    def _replaced(self, k: int, first: int) -> bool:
        """Whether "replace" at ``k`` takes away the phrase at ``first``: "replaces human labels with AI feedback"
        says no human labels; what it is replaced with ("with AI feedback", "replaced by an empty prompt") stays."""
        if self.tokens[k].text not in _REPLACING:
            return False
        return not any(self.tokens[j].text in ("with", "by", "for") for j in range(k + 1, first))

    def contrasted(self, first: int) -> bool:
        """Whether "versus" (or "vs") stands shortly before the phrase in its clause: "real versus generated
        samples" names the phrase as one side of a contrast, neither asserting nor denying it."""
        for k in range(first - 1, max(-1, first - CONTRAST_CLAUSE_REACH), -1):
            if self.clause[k] != self.clause[first]:
                return False
            if self.tokens[k].text in ("versus", "vs"):
                return True
        return False

    def _reported(self, first: int) -> bool:
        """Whether the phrase is someone else's belief, reported to be corrected (``reported``), within its clause
        and up to a colon: "the opposite of what people expect: raising w ..." asserts what follows the colon."""
        tokens, clause = self.tokens, self.clause[first]
        return reported(tokens, first,
                        stop=lambda k: self.clause[k] != clause
                        or any(ch in self.text[tokens[k].end : tokens[k + 1].start] for ch in ":;"),
                        same=lambda j: self.clause[j] == clause)

    def _scope_ends(self, k: int, first: int) -> bool:
        """Whether the negation at k ends before ``first``: at a condition ("does not help *if* retrieval returns
        the wrong document"), at "and" with a verb of its own ("no likelihood *and can* mode-collapse"), or at a
        verb that acts on the phrase ("cannot *penalize* a lack of variety": the lack is there, unpunished)."""
        tokens = self.tokens
        for j in range(k + 1, first):
            if tokens[j].text in _CONDITIONS or tokens[j].stem in _ACTING_ON:
                return True
            if tokens[j].text == "and" and j + 1 < first and tokens[j + 1].text in _AUXILIARIES:
                return True
        return False

    def _carried(self, k: int, first: int) -> int:
        """How many tokens between ``k`` and ``first`` only carry the negation on to the next verb: "don't *want
        to* train a separate classifier", "doesn't *have to* ..."."""
        return sum(2 for j in range(k + 1, first - 1)
                   if self.tokens[j].text in _CARRYING and self.tokens[j + 1].text == "to")

    def _new_clause(self, k: int, first: int, last: int) -> bool:
        """Whether a comma between the negator at ``k`` and the phrase ends the negated clause: after an opening
        "since"/"if"/"when" clause ("Since the lookup has no gradient, a straight-through estimator ...") or
        before a phrase that is the subject of a verb of its own ("... ignores the code, the reconstructions
        are sharp")."""
        if not any("," in self.text[self.tokens[j].end : self.tokens[j + 1].start] for j in range(k, first)):
            return False
        lo = self.clause_span[self.clause[first]][0]
        if self.tokens[lo].text in _SUBORDINATORS:
            return True
        return last + 1 < len(self.tokens) and self.tokens[last + 1].text in _FINITE

    def _bounded(self, first: int, clause: int) -> bool:
        """Whether the phrase at ``first`` follows a negated comparison: "D can't do better than guessing one half",
        "no more than a few steps". The comparison is denied; what it is bounded by is said, not denied."""
        for t in range(first - 1, max(-1, first - CONTRAST_CLAUSE_REACH - 1), -1):
            if self.clause[t] != clause:
                return False
            if self.tokens[t].text == "than":
                return any(self.tokens[j].text in NEGATORS and self.clause[j] == clause
                           for j in range(max(0, t - NEGATION_REACH), t))
        return False

    def negated(self, first: int, last: int, own: frozenset[int] = frozenset()) -> bool:
        """Whether the phrase at tokens first..last is negated: a negator shortly before it (or inside it, not one
        of its own words), a contrast marker right before it, or a disowning word earlier in the sentence."""
        clause, sentence = self.clause[first], self.tokens[first].sentence
        if self._bounded(first, clause):
            return False
        count = 0
        for k in range(max(0, first - max(NEGATION_REACH, CONTRAST_CLAUSE_REACH)), last + 1):
            if self.clause[k] != clause or k in own:
                continue
            word = self.tokens[k].text
            if (word in NEGATORS or (word == "need" and self._need_removed(k)) or self._replaced(k, first)) \
                    and first - k - self._carried(k, first) <= NEGATION_REACH and not _item_after(self, k, first) \
                    and not self.restarts(k, first, RESTARTS) and not self._scope_ends(k, first) \
                    and not self._new_clause(k, first, last):
                count += 1
            elif word in CONTRASTIVE and k < first and self._contrasts(k, first):
                return True
        # "human labels are replaced by AI feedback": the passive takes the phrase before it away.
        after = [self.tokens[j].text for j in range(last + 1, min(last + 4, len(self.tokens))) if self.clause[j] == clause]
        if any(a in ("is", "are", "was", "were", "get", "gets", "been") and b in _REPLACING
               for a, b in zip(after, after[1:])):
            count += 1
        if count % 2 == 1:
            return True
        return self.disowned(first)

    def disowned(self, first: int) -> bool:
        """Whether the phrase at ``first`` is not the speaker's claim: a belief reported to be corrected ("people
        often think ..."), or a sentence that calls what it says a myth or a mistake ("A common mistake is to
        think the network learns both directions"). Neither asserted nor denied."""
        if self._reported(first):
            return True
        sentence = self.tokens[first].sentence
        k = first - 1  # back to the start of the sentence only: linear in the sentence, not the answer
        while k >= 0 and self.tokens[k].sentence == sentence:
            # ... not an adjective before its noun: "fluent yet *wrong chains*", "the wrong document"
            if self.tokens[k].text in DISOWNING and not (k + 1 < first and self.tokens[k + 1].text not in STOPWORDS):
                return True
            k -= 1
        return False


def _item_after(reading: "Reading", k: int, first: int) -> bool:
    """Whether a comma or semicolon between tokens k and first is followed, before ``first``, by a word of its
    own: "no likelihood, prone to mode collapse" is a list of two claims, and the "no" stays in the first; in
    "no latency, memory or compute" the items are bare and the negation runs over the list."""
    tokens = reading.tokens
    for j in range(first - 1, k - 1, -1):
        if PAUSE.search(reading.text[tokens[j].end : tokens[j + 1].start]):
            return any(tokens[i].text not in STOPWORDS for i in range(j + 1, first))
    return False


def _after_comma(text: str, previous: Token, token: Token) -> bool:
    return "," in text[previous.end : token.start]


@lru_cache(maxsize=16384)
def phrase_tokens(phrase: str) -> tuple[Token, ...]:
    tokens = tokenize(phrase)
    content = tuple(t for t in tokens if t.text not in STOPWORDS or t.text in NEGATORS)
    return content or tuple(tokens)


def reported(tokens: list[Token], first: int, stop, same) -> bool:
    """Whether the phrase at ``first`` is someone else's belief, reported to be corrected: "people often think
    (that) LoRA adds latency, but ...", "you might assume ...", "it is tempting to say ...". ``stop(k)``: the
    belief's scope ends before token k; ``same(j)``: token j is in the phrase's scope (a clause, a sentence)."""
    for k in range(first - 1, -1, -1):
        if stop(k):
            return False
        if tokens[k].text == "tempting":
            return True
        if tokens[k].text in _BELIEVING and k:
            before = {tokens[j].text for j in range(max(0, k - 3), k) if same(j)}
            if before & _BELIEVERS or before & {"might", "may", "would", "could"}:
                return True
    return False


def same_phrase_word(expected: Token, seen: Token) -> bool:
    """A phrase's word: same stem (or a misspelling), but not the agent noun of a verb or the verb of one: the
    stemmer makes "denoiser" "denoise" and "encoder" "encode", yet "cross-attention inside the denoiser" does
    not say that cross-attention denoises."""
    if not same_word(expected, seen):
        return False
    return expected.stem != seen.stem or not (_agent_of(expected.text, seen.text) or _agent_of(seen.text, expected.text))


@lru_cache(maxsize=65536)
def _agent_of(noun: str, verb: str) -> bool:
    """Whether ``noun`` is the agent noun of ``verb`` ("denoiser"/"denoise", "predictor"/"predict",
    "generators"/"generate"): one stem to the stemmer, a thing and an action to a reader."""
    noun = noun[:-1] if noun.endswith("s") else noun
    if len(verb) < 5 or not noun.endswith(("er", "or")) or verb.endswith(("er", "or")):
        return False
    base = noun[:-2]
    return verb in (noun[:-1], base, base + "e") or (verb.endswith("s") and verb[:-1] in (noun[:-1], base, base + "e"))


def same_name(expected: Token, seen: Token) -> bool:
    """A subject's name matches its own word, a plural or a one-letter typo, never a word that only shares its
    stem ("generator" is not "generated", "denoiser" not "denoising")."""
    return _same_name(expected.text, seen.text)


@lru_cache(maxsize=262144)
def _same_name(a: str, b: str) -> bool:
    if a == b or b in (a + "s", a + "es") or a in (b + "s", b + "es"):
        return True
    return len(a) >= 6 and a[:2] == b[:2] and a.isalpha() and b.isalpha() \
        and b.startswith("un") == a.startswith("un") and edit_distance_at_most(a, b, 1)


def find_all(phrase: tuple[Token, ...], reading: Reading, gap: int = PHRASE_GAP,
             name: bool = False) -> list[tuple[int, int, frozenset[int]]]:
    """Every occurrence of ``phrase`` within one clause: (first, last, matched token indices). ``name``: match
    a subject's name (exact words, see ``same_name``), not a phrase (stems)."""
    if not phrase:
        return []
    content, tokens = reading.content, reading.tokens
    match = same_name if name else same_phrase_word
    out = []
    for ci in reading.starts(phrase[0], match):
        ti = content[ci]
        matched, position = [ti], ci
        for before, expected in zip(phrase, phrase[1:]):
            # "token by token", "step by step": a word said twice is one idiom, its halves side by side (else
            # "each token on the future tokens" reads as "token by token").
            reach = 1 if expected.text == before.text else gap + 1
            for step in range(1, reach + 1):
                cj = position + step
                if cj >= len(content) or reading.clause[content[cj]] != reading.clause[ti] \
                        or PAUSE.search(reading.text, tokens[content[position]].end, tokens[content[cj]].start):
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
        if matched and len(matched) == len(phrase) and not _at_a_time(tokens, matched[-1]) \
                and not any(_part_of_number(reading.text, tokens[k]) for k in matched):
            out.append((matched[0], matched[-1], frozenset(matched)))
    return out


_FRACTION = re.compile(r"\d[/.,]$")


def _part_of_number(text: str, token: Token) -> bool:
    """Whether a number token is part of a longer number: the "1" of "1/2" or of "1.5" is not "1"."""
    return token.text.isdigit() and (bool(re.match(r"[/.,]\d", text[token.end : token.end + 2]))
                                     or bool(_FRACTION.search(text[max(0, token.start - 2) : token.start])))


def find_phrase(phrase: str, reading: Reading) -> list[tuple[int, int, frozenset[int]]]:
    """``find_all`` for a phrase as written: its words joined by "and"/"or" in the answer are listed, not related,
    unless the phrase lists them too ("image features as queries *and* text embeddings" is not "queries from
    the text"; "mean and covariance" is itself a list)."""
    hits = find_all(phrase_tokens(phrase), reading)
    if re.search(r"\b(?:and|or)\b", phrase):
        return hits
    return [h for h in hits if not any(reading.tokens[k].text in ("and", "or") for k in range(h[0], h[1] + 1)
                                       if k not in h[2])]


def _at_a_time(tokens: list[Token], last: int) -> bool:
    """ "one step at a time" is step after step, not "in one step": the idiom is another phrase."""
    return [t.text for t in tokens[last + 1 : last + 4]] == ["at", "a", "time"]



@dataclass(frozen=True)
class TermMatch:
    text: str
    start: int
    end: int


def _closes_relative(reading: Reading, lo: int, first: int, last: int) -> bool:
    """Whether a clause opened by a relative pronoun ("which", "who") ends at a comma between ``first`` and ``last``."""
    tokens = reading.tokens
    return tokens[lo].text in ("which", "who") and any(
        PAUSE.search(reading.text, tokens[k].end, tokens[k + 1].start) for k in range(max(lo, first), last))


def _set_aside(reading: Reading, first: int, last: int, own: frozenset[int]) -> bool:
    """Whether a contrast inside a term match sets part of it aside: "generates the whole sequence sequentially
    *rather than in parallel*" does not say it is generated in parallel."""
    for k in range(first + 1, last):
        if reading.tokens[k].text in CONTRASTIVE and k not in own:
            after = [j for j in own if j > k]
            if after and reading._contrasts(k, min(after)):
                return True
    return False


def match_terms(groups: tuple[tuple[str, ...], ...], answer: str, reading: Reading | None = None) -> TermMatch | None:
    """The first clause in which every group has an alternative, not negated: pmatch-style, order-free."""
    if not groups:
        return None
    reading = reading or Reading.of(answer)
    per_group = []
    for group in groups:
        hits = [h for alt in group for h in find_phrase(alt, reading)]
        if not hits:
            return None
        per_group.append(hits)
    clauses = set.intersection(*({reading.clause[h[0]] for h in hits} for hits in per_group))
    for clause in sorted(clauses):
        chosen = [min((h for h in hits if reading.clause[h[0]] == clause), key=lambda h: h[0]) for hits in per_group]
        first, last = min(h[0] for h in chosen), max(h[1] for h in chosen)
        own = frozenset().union(*(h[2] for h in chosen))
        lo = reading.clause_span[clause][0]
        # A negation anywhere in the clause before the last matched term cancels it ("RAG does not retrain").
        hi = reading.clause_span[clause][1]
        if _closes_relative(reading, lo, first, last):
            continue  # "Unlike fine-tuning, which makes gradient updates on examples, few-shot prompting ...":
            # the relative clause ends at its comma; what follows is the main clause, with its own subject
        if reading.negated(max(lo, first), last, own) or any(
                reading.tokens[k].text in NEGATORS for k in range(lo, last) if k not in own) \
                or any(reading.tokens[k].text in INFEASIBLE for k in range(last + 1, hi + 1)) \
                or _set_aside(reading, first, last, own):
            # ... and so does a word after it that denies it ("... is impossible"), or a term set aside by a
            # contrast after the first ("used during training *rather than* as a filter at inference")
            continue
        text, start, end = reading.clause_text(first)
        return TermMatch(text, start, end)
    return None
