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

A phrase is bound to the subject named before it in its clause (or a verb's object right after it), so a
sentence that names two subjects is read the way a person reads it. Without a rubric the reference sentences
are the facts (``grader/metrics/reference.py``). Everything is lexical and fast: no model, no network.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from grader.metrics.binding import Mention, Subjects, bind, opening_word, plural, second_predicate, used_as_verb
from grader.metrics.opposites import Opposites, without_negating_prefix
from grader.metrics.unclaimed import analogy, as_noun, degree, sign_flipped
from grader.metrics.reading import (NEGATION_REACH, NEGATORS, PAUSE, STOPWORDS, Reading, find_all, find_phrase,
                                    phrase_tokens)

# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Contradiction:
    """A clause of the answer that contradicts a fact: the quoted clause, what it said, and the fact."""

    kind: str  # "negation" | "opposite" | "swap" | "order"
    fact: str  # the fact's claim (or the reference sentence)
    subject: str  # the subject as the answer named it ("" when the reference has no subjects)
    said: str  # the words of the answer that contradict the fact
    text: str  # the clause, quoted
    start: int
    end: int

    @property
    def explanation(self) -> str:
        what = {"negation": "denies what holds", "opposite": "says the opposite of what holds",
                "swap": "gives it what holds of something else", "order": "puts the steps the wrong way round"}[self.kind]
        about = f" of {self.subject!r}" if self.subject else ""
        return f"{self.text.strip()!r} {what}{about}: {self.fact}"



# --------------------------------------------------------------------------- facts (rubric)


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


def _mentions(facts, groups: list[int], reading: Reading) -> list[Mention]:
    """Subject mentions, longest first where they overlap ("stable diffusion" over "diffusion")."""
    found = []
    for fact, group in zip(facts, groups):
        for name in fact.subject:
            for first, last, _ in find_all(phrase_tokens(name), reading, gap=0, name=True):
                found.append(Mention(group, first, last))
    found.sort(key=lambda m: (-(m.last - m.first), m.first))
    kept: list[Mention] = []
    taken: set[int] = set()
    for m in found:
        span = range(m.first, m.last + 1)
        if not taken.intersection(span):
            kept.append(m)
            taken.update(span)
    return sorted(kept, key=lambda m: m.first)


#: Verbs of the direction families: they do not stand for an adjective ("lower bound" -> "upper bound", not
#: "increases bound").
_CHANGE_VERBS = frozenset("""increase increases increased increasing raise raises raised raising rise rises grow
grows boost boosts decrease decreases decreased decreasing reduce reduces reduced reducing drop drops shrink shrinks
cut cuts lessen lessens diminish diminishes""".split())


@lru_cache(maxsize=16384)
def _variants(phrase: str, opposites: Opposites, kin: bool = False) -> tuple[tuple[str, str], ...]:
    """The phrase with one word replaced by each of its opposites (``kin``: by each word of its family, "less
    memory" -> "reduces memory"): (variant, the replacing word). Cached: every answer asks for every phrase's."""
    tokens = phrase_tokens(phrase)
    out = []
    if not kin:
        out += _unprefixed(tokens)
    for k, token in enumerate(tokens):
        describes = not kin and k + 1 < len(tokens) and token.text not in _CHANGE_VERBS  # "lower bound"
        for word in (opposites.kin(token) if kin else opposites.of(token)):
            if word in STOPWORDS:
                continue  # matched without it, "same bound" would be "bound": the flip would not be there
            if describes and word in _CHANGE_VERBS:
                continue  # "increases the likelihood bound" is no "upper bound": a verb for an adjective
            words = [t.text for t in tokens]
            words[k] = word
            out.append((" ".join(words), word))
    return tuple(out)


def _unprefixed(tokens) -> list[tuple[str, str]]:
    """The phrase with its negating prefix taken off, a word no lexicon needs to list: "non differentiable" ->
    "differentiable", "intractable" -> "tractable", "non markovian" -> "markovian". Of the negators only "non"
    ("no gradient" -> "gradient" would flip a noun, said of the subject in many true sentences), and a prefixed
    word only when what is left is an adjective by its ending: matched by stem, "unlabeled" -> "labeled" would
    be "labels" and "unchanged" -> "changed" a "change" (false flags on correct answers)."""
    words = [t.text for t in tokens]
    out = []
    if len(words) >= 2 and words[0] == "non":
        out.append((" ".join(words[1:]), words[1]))
    for k, word in enumerate(words):
        base = without_negating_prefix(word)
        if base is not None and base.endswith(_ADJECTIVE_ENDINGS):
            out.append((" ".join([*words[:k], base, *words[k + 1:]]), base))
    return out


_ADJECTIVE_ENDINGS = ("able", "ible", "al", "ic", "ive", "ous", "ian", "ent", "ant", "ary")


@lru_cache(maxsize=256)
def _siblings(facts: tuple, context: str) -> frozenset[tuple[int, int]]:
    """Pairs of subject groups that can be swapped: their names share a word (top-k / top-p, forward / reverse
    process), or one sentence of the reference or of a claim names both (generator and discriminator)."""

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
                context: str = "", question: str = "") -> list[Contradiction]:
    """Contradictions of the rubric's facts in ``answer``, at most one per clause. ``context`` (the reference
    answer) tells which subjects are siblings that a candidate can swap; ``question``, which subject is the
    whole the question asks about (its parts' properties are its own: no swap onto it)."""
    if not facts or not answer.strip():
        return []
    reading = reading or Reading.of(answer)
    found = _order_contradictions([f for f in facts if f.first], reading)
    facts = [f for f in facts if not f.first]
    return sorted({**found, **_fact_contradictions(facts, reading, opposites, context, question)}.values(),
                  key=lambda c: c.start)


def _order_contradictions(facts, reading: Reading) -> dict[int, Contradiction]:
    """Order facts (``first``/``then``): a sentence that puts the later step first, keyed by clause."""
    from grader.metrics.order import reversed_steps

    found = {}
    for fact in facts:
        span = reversed_steps(fact, reading)
        if span is not None:
            first, last = span
            start, end = reading.tokens[first].start, reading.tokens[last].end
            said = reading.text[start:end]
            found[reading.clause[first]] = Contradiction("order", fact.claim, "", said, said, start, end)
    return found


def _written(phrase: str, text: str) -> list[tuple[int, int]]:
    """Character spans where ``phrase`` is written word for word (any case, any spacing)."""
    pattern = r"\b" + r"\s+".join(re.escape(w) for w in phrase.split()) + r"\b"
    return [(m.start(), m.end()) for m in re.finditer(pattern, text, re.IGNORECASE)]


def _occurrences(facts, groups: list[int], reading: Reading, opposites: Opposites):
    """Where each fact's phrases occur, as said (holds, denies), flipped (opposite) or in kin words (kin):
    (tokens inside a phrase that holds of each subject group, where each fact's holds occur, the occurrences
    as (first, last, own tokens, fact index, kind, phrase))."""
    def at(phrase: str):
        found = find_phrase(phrase, reading)
        if len(phrase_tokens(phrase)) == 1 and len(phrase.split()) > 1:
            # "how much noise" is one content word: said only as written, not wherever "noise" is.
            spans = _written(phrase, reading.text)
            found = [f for f in found if any(a <= reading.tokens[f[0]].start < b for a, b in spans)]
        return found

    # Every holds phrase of a subject, where it occurs: a phrase true of the subject it is bound to never
    # counts as a swap or an opposite.
    holds_at: dict[int, set[int]] = {}  # subject group -> tokens inside a phrase that holds of it
    holds_of: dict[int, list[tuple[int, int, frozenset[int]]]] = {}  # fact index -> where its holds occur
    occurrences = []  # (first, last, own, fact index, kind, phrase)
    for i, fact in enumerate(facts):
        for phrase in fact.holds:
            for first, last, own in at(phrase):
                holds_at.setdefault(groups[i], set()).update(range(first, last + 1))
                holds_of.setdefault(i, []).append((first, last, own))
                occurrences.append((first, last, own, i, "holds", phrase))
            occurrences += [(*found, i, "opposite", v) for v, _ in _variants(phrase, opposites) for found in at(v)]
            # Said in other words of the same family and negated ("doesn't reduce GPU memory" against "less
            # memory"): a negation. Only that: a kin word is too loose to make a swap.
            occurrences += [(*found, i, "kin", v) for v, _ in _variants(phrase, opposites, kin=True) for found in at(v)]
        for phrase in fact.denies:
            # ... denied as said, or in other words of its family ("cuts hallucinations" for "reduces hallucinations")
            said = (phrase, *(v for v, _ in _variants(phrase, opposites, kin=True)))
            occurrences += [(*found, i, "denies", v) for v in said for found in at(v)]
    return holds_at, holds_of, occurrences


def _fact_contradictions(facts, reading: Reading, opposites: Opposites, context: str, question: str = "") -> dict:
    """Negations, opposites and swaps of the subject facts, at most one per clause (keyed by clause)."""
    if not facts:
        return {}
    groups = _subject_groups(facts)
    siblings = _siblings(tuple(facts), context)
    topic = _topic(tuple(facts), question)
    mentions = _mentions(facts, groups, reading)
    if not mentions and topic is None:
        return {}
    subjects = Subjects(mentions, reading)
    holds_at, holds_of, occurrences = _occurrences(facts, groups, reading, opposites)
    found: dict[tuple[int, int], Contradiction] = {}
    for first, last, own, i, kind, phrase in occurrences:
        named_at = [subjects.at.get(k) for k in (first, last)]
        if named_at[0] is not None and (named_at[0] is named_at[1] or not set(range(named_at[0].first,
                                                                                  named_at[0].last + 1)) <= own):
            continue  # the phrase is a subject's name, or starts inside one ("k most likely" from "top-k")
        if kind in ("opposite", "denies") and (sign_flipped(reading, first, last, own) or analogy(reading, first)
                                               or degree(reading, first) or as_noun(reading, first, last)):
            continue  # "minimise *minus* log D(G(z))" maximises log D(G(z)): two flips; "behaves *like* a ...";
            # "a dial on *how* sharp the odds are"
        subject = bind(first, last, subjects, reading, opposites)
        negated = reading.negated(first, last, own) or (kind in ("opposite", "denies") and _dropped(reading, first))
        if subject is None and kind in ("holds", "kin") and negated:
            subject = _topic_default(groups[i], topic, first, subjects, reading)
        elif subject is None and kind == "denies" and not negated and len(own) >= 2:
            subject = (_sentence_subject_denied(groups[i], first, subjects, reading)
                       or _topic_denied(groups[i], topic, first, subjects, reading))
        if subject is None:
            continue
        fact = facts[i]
        same = subject.group == groups[i]
        # True of the subject, or of a subject coordinated with it ("precision and recall separate fidelity ...").
        overlaps_true = any(k in holds_at.get(g, ()) for g in subjects.together.get(subject, {subject.group})
                            for k in range(first, last + 1))
        contrasted = reading.contrasted(first)  # "real versus generated samples": one side named, not claimed
        if kind in ("holds", "kin") and negated and reading.disowned(first):
            continue  # "a common mistake is to think the network learns both directions": not a denial
        if kind in ("holds", "kin") and same and negated and (kind == "holds" or _negator_before(reading, first)):
            # A word of the family ("learning" for "update") set aside by "instead of"/"unlike" is another
            # method named for contrast, not a denial: only a plain negator denies a kin phrase.
            verdict = "negation"
        elif kind in ("opposite", "denies") and same and not negated and not overlaps_true and not contrasted:
            if kind == "opposite" and _holds_unnegated(holds_of.get(i, ()), reading, subject, subjects, first):
                continue
            verdict = "opposite"
        elif (kind == "holds" and not same and not negated and not overlaps_true and not subject.carried
              and (subject.group, groups[i]) in siblings and groups[i] not in subjects.together.get(subject, ())
              and not _names_subject(fact.claim, facts, groups, subject.group)
              and not used_as_verb(subject, reading) and subject.group != topic
              and not _relation_object(reading, first) and not second_predicate(subject, first, reading)
              # The fact's own subject named in the clause makes the phrase its own, unless the name ends the
              # phrase ("the reward model is optimised *with PPO*": PPO is the instrument, not what is said).
              and not any(m.group == groups[i] and not (first <= m.first and m.last == last)
                          for m in subjects.by_clause.get(reading.clause[first], ()))):
            verdict = "swap"
        else:
            continue
        key = reading.clause[first]  # one contradiction per clause: a negation or opposite before a swap
        if key in found and (found[key].kind != "swap" or verdict == "swap"):
            continue
        text, start, end = reading.clause_text(first)
        named = (reading.text[reading.tokens[subject.first].start : reading.tokens[subject.last].end]
                 if subject.first >= 0 else facts[i].subject[0])
        said = reading.text[reading.tokens[first].start : reading.tokens[last].end]
        found[key] = Contradiction(verdict, fact.claim, named, said, text, start, end)
    return found


def _negator_before(reading: Reading, first: int) -> bool:
    """Whether a plain negator ("not", "no", "never" ...) stands shortly before the phrase, in its clause."""
    return any(reading.tokens[k].text in NEGATORS and reading.clause[k] == reading.clause[first]
               for k in range(max(0, first - NEGATION_REACH), first))


#: Timing words: "not after generating the answer" negates when, not what.
_WHEN = frozenset("after before during until while once when".split())


def _topic_default(group: int, topic: int | None, first: int, subjects: Subjects,
                   reading: Reading) -> Mention | None:
    """A sentence that names no subject at all is about the question's topic ("What is RAG?" ... "no external
    database or embeddings are needed"): what holds of the topic, said under a negation, counts. Only the
    topic's own facts and only negations: a denied or flipped word in such a sentence ("diversity" in a
    sentence about fixes for mode collapse) is as often about something else; never a swap (the mention is
    carried); never after some other subject named in the sentence, which may be what it describes."""
    if not _about_topic(group, topic, first, subjects, reading):
        return None
    # With no subject to anchor it, the negator must be in the phrase's own list item: "handles updates without
    # retraining, improves factual accuracy" does not deny the accuracy.
    # "before generation, not after generating the answer" negates when, not what: no timing word in between.
    tokens = reading.tokens
    for k in range(first - 1, max(-1, first - 1 - NEGATION_REACH), -1):
        if (reading.clause[k] != reading.clause[first] or tokens[k].text in _WHEN
                or PAUSE.search(reading.text, tokens[k].end, tokens[k + 1].start)):
            return None
        if tokens[k].text in NEGATORS:
            return Mention(topic, -1, -1, carried=True)
    return None


def _topic_denied(group: int, topic: int | None, first: int, subjects: Subjects,
                  reading: Reading) -> Mention | None:
    """A sentence that names no subject at all is about the question's topic: what its own facts deny, said
    plainly there, is said of it ("What is prompt engineering?" ... "the examples trigger a gradient update"), in
    an answer that names some subject of the question: one that names none may be about another topic altogether
    ("It replaces classifier guidance, which needed a separate classifier", in answer to "What is Constitutional
    AI?")."""
    about = subjects.all and _about_topic(group, topic, first, subjects, reading)
    return Mention(topic, -1, -1, carried=True) if about else None


def _sentence_subject_denied(group: int, first: int, subjects: Subjects, reading: Reading) -> Mention | None:
    """A clause that names no subject and explains one that named the subject whose fact denies the phrase, with
    no other subject in between: "Few-shot prompting works because the model takes gradient steps on the
    examples" says it of few-shot prompting."""
    earlier = [m for m in subjects.by_sentence.get(reading.tokens[first].sentence, ()) if m.last < first]
    clause = reading.clause[first]
    if not earlier or earlier[-1].group != group or subjects.by_clause.get(clause):
        return None
    # Only a clause that explains it: "... works *because* ..." ("while it flattens", "even though the real data
    # is more varied" describe something else).
    if reading.tokens[reading.clause_span[clause][0]].text not in _EXPLAINING:
        return None
    m = earlier[-1]
    return Mention(m.group, m.first, m.last, carried=True)


#: Words that open a clause explaining what the sentence's subject does or how it works.
_EXPLAINING = frozenset("because since by".split())


def _about_topic(group: int, topic: int | None, first: int, subjects: Subjects, reading: Reading) -> bool:
    """Whether a phrase of the topic's own facts stands in a sentence that names no subject before it or in its
    clause ("There is no reinforcement learning involved; it is purely supervised, which makes it cheaper than
    RLHF" is about the topic: RLHF comes later, in a clause of its own)."""
    if topic is None or group != topic:
        return False
    clause = reading.clause[first]
    lo = reading.clause_span[clause][0]
    if any(reading.tokens[k].text in _OTHER_THING for k in range(lo, first)):
        return False  # "because the older method needed a separate classifier": about that other thing
    it_clause = opening_word(reading, clause) in ("it", "its")
    return not any((m.first < first and not (it_clause and reading.clause[m.first] != clause
                                             and plural(reading, m)))
                   or reading.clause[m.first] == clause
                   for m in subjects.by_sentence.get(reading.tokens[first].sentence, ()))


#: Words that point at something other than the topic: "the older method", "previous approaches".
_OTHER_THING = frozenset("older old previous earlier prior other others traditional conventional alternative "
                         "former predecessor predecessors".split())


@lru_cache(maxsize=256)
def _topic(facts: tuple, question: str) -> int | None:
    """The subject group the question asks about, when it names exactly one ("What is RAG?"): the whole, whose
    parts' properties are its own ("RAG retrieves the top-k passages" is no swap from the retriever). A question
    that names several ("top-k and top-p") asks for a contrast, and its subjects stay swappable."""
    if not question.strip():
        return None
    groups = _subject_groups(facts)
    r = Reading.of(question)
    spans = [(first, last, g) for fact, g in zip(facts, groups) for n in fact.subject
             for first, last, _ in find_all(phrase_tokens(n), r, gap=0)]
    # A name inside a longer one is part of it: "Constitutional AI" names Constitutional AI, not the constitution.
    named = {g for first, last, g in spans
             if not any(a <= first and last <= b and (a, b) != (first, last) for a, b, _ in spans)}
    return named.pop() if len(named) == 1 else None


#: Verbs that do away with what follows them: "DPO *skips* the explicit reward model" denies nothing of DPO.
_DROPPING = frozenset("skip skips skipped skipping omit omits omitted omitting bypass bypasses bypassed drop drops "
                      "dropped dropping eliminate eliminates eliminated eliminating remove removes removed removing "
                      "avoid avoids avoided avoiding".split())


def _dropped(reading: Reading, first: int) -> bool:
    """Whether a verb that does away with something stands right before the phrase (determiners between):
    a false property said to be dropped or avoided is not claimed."""
    k = first - 1
    while k >= 0 and reading.tokens[k].text in _DETERMINERS and first - k <= 4:
        k -= 1
    return k >= 0 and reading.tokens[k].text in _DROPPING and reading.tokens[k].sentence == reading.tokens[first].sentence


#: What may stand between a verb and its object ("skips *the* explicit reward model"), unlike a preposition
#: ("the condition is dropped *at* sampling time": sampling time is not what is dropped).
_DETERMINERS = frozenset("a an the any its their his her this that these those both all every".split())


#: Words after which a phrase names what something is compared with or pulled towards, not what it is.
_RELATIONS = frozenset("towards toward than like unlike against versus vs".split())
_RELATION_HEADS = frozenset("close closer similar near nearer compared relative equal identical equivalent "
                            "simplifies simplified simplify reduces reduced reduce corresponds amounts".split())


def _relation_object(reading: Reading, first: int) -> bool:
    """Whether the phrase at ``first`` is the object of a comparison: "keeps q close to a standard normal",
    "pulls it towards the prior", "sharper than a VAE", "a bound that DDPM simplifies to an MSE". What is said of
    the subject is the relation; the phrase names the other thing (no swap)."""
    tokens = reading.tokens
    for k in range(first - 1, max(-1, first - 4), -1):  # up to three words back: "close to a plain ..."
        if tokens[k].sentence != tokens[first].sentence or reading.clause[k] != reading.clause[first]:
            return False
        word = tokens[k].text
        if word in _RELATIONS or (word == "to" and k and tokens[k - 1].text in _RELATION_HEADS):
            return True
    return False


def _holds_unnegated(holds, reading: Reading, subject: Mention, subjects: Subjects, near: int) -> bool:
    """The clause also says, unnegated, what holds ("a lower bound, not an upper one"): not an opposite."""
    for first, last, own in holds:
        if reading.clause[first] == reading.clause[near] and not reading.negated(first, last, own):
            bound = bind(first, last, subjects, reading)
            if bound is not None and bound.group == subject.group:
                return True
    return False


def _names_subject(claim: str, facts, groups: list[int], group: int) -> bool:
    """Whether a fact's claim itself names the other subject (then saying it of that subject is no swap)."""
    reading = Reading.of(claim)
    return any(find_all(phrase_tokens(name), reading, gap=0)
               for fact, g in zip(facts, groups) if g == group for name in fact.subject)
