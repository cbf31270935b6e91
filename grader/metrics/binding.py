"""Which subject an answer's phrase is said of: the reading of subject-verb-object order the facts check needs.

"top-p keeps a fixed number of tokens" says "fixed number" of top-p; "unlike top-k, top-p adapts" says nothing
of top-k; "raising w above 1 loosens the grip on the prompt and increases diversity" says both of raising w.
Split from ``claims.py``, which asks ``bind`` for every phrase it finds; lexical, like the rest.
"""
from __future__ import annotations

from dataclasses import dataclass

from grader.metrics.opposites import Opposites
from grader.metrics.reading import CONTRASTIVE, NEGATION_REACH, PAUSE, PRONOUNS, SPEAKERS, STOPWORDS, Reading


@dataclass(frozen=True)
class Mention:
    """A subject named in the answer: tokens first..last, its subject group."""

    group: int  # subject group: facts whose subjects share a name talk about one thing
    first: int
    last: int
    carried: bool = False  # bound through a pronoun ("so we minimise it")


#: A phrase is said of a subject named at most this many words before it, in the same clause.
BIND_REACH = 10
#: ... or named right after it, as a verb's object, at most this many words on.
OBJECT_REACH = 2


class Subjects:
    """The subjects an answer names, indexed by clause and sentence (binding stays linear in the answer)."""

    def __init__(self, mentions: list[Mention], reading: Reading):
        self.all = mentions
        self.by_clause: dict[int, list[Mention]] = {}
        self.by_sentence: dict[int, list[Mention]] = {}
        self.at: dict[int, Mention] = {}
        self.aside = {m: _aside(m, reading) for m in mentions}
        # "precision and recall separate fidelity from coverage": coordinated subjects share what is said.
        self.together: dict[Mention, set[int]] = {m: {m.group} for m in mentions}
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


def bind(first: int, last: int, subjects: Subjects, reading: Reading,
         opposites: Opposites | None = None) -> Mention | None:
    """The subject a phrase at first..last is said of: the nearest subject named before it in its clause
    (subject-verb-object order: a subject named after the phrase, or in another clause, is not it); in a
    clause that names no subject but uses a pronoun, the last subject named shortly before it in the sentence."""
    clause, sentence = reading.clause[first], reading.tokens[first].sentence
    in_clause = [m for m in subjects.by_clause.get(clause, ())
                 if not subjects.aside[m] or _relative_to(m, first, reading)]
    before = [m for m in in_clause if m.last < first and first - m.last <= BIND_REACH
              and not reading.restarts(m.last, first, SPEAKERS)  # "the reward model, you have the model generate"
              and not (opposites and _contrasted_after(m, first, reading, opposites))
              and not _naming_closed(m, first, reading) and not _listed(m, first, last, subjects, reading)
              and not _bracketed(m, first, reading) and not _formula_term(m, reading)
              and not _apposed(m, first, subjects, reading)]
    if not before:
        before = _coordinated(in_clause, first, reading)
    # With no subject before it, a subject named inside the phrase is what it is said of: "a *higher perplexity
    # is better*" (the phrase "higher is better" around the name). After a subject it is an object: "VQ-VAE
    # *quantizes the encoder's vectors*" is said of VQ-VAE.
    inside = [m for m in in_clause if first < m.first and m.last < last]
    if inside and not before:
        return inside[0]
    # A verb's object right after it ("minimise the ELBO", "learns the update BA") is what it is said of,
    # when it is closer than the subject before it.
    after = [m for m in in_clause if m.first > last and m.first - last <= OBJECT_REACH
             # "reconstruction + codebook + commitment losses": items of a list, not a verb and its object
             and not any(ch in reading.text[reading.tokens[last].end : reading.tokens[m.first].start] for ch in ",;:()+&/")
             # "... give an exact likelihood and GANs don't": a subject after "and" starts a claim of its own
             and not any(reading.tokens[k].text in ("and", "or", "but") for k in range(last + 1, m.first))]
    if after and (not before or after[0].first - last < first - before[-1].last):
        return after[0]
    if before:
        absolute, noun = _absolute(before[-1], first, subjects, reading)
        return noun if absolute else before[-1]
    if in_clause:
        return None  # the clause names its subject after the phrase: too loose to judge
    lo = reading.clause_span[clause][0]
    if _conditional(reading, clause):
        return None  # "T of one is the plain distribution, and *if you go above one* it flattens": a new case
    if lo == first or any(reading.tokens[k].text in PRONOUNS for k in range(lo, first)):
        singular = any(reading.tokens[k].text in ("it", "its") for k in range(lo, first))
        earlier = [m for m in subjects.by_sentence.get(sentence, ())
                   if m.last < first and first - m.last <= 2 * BIND_REACH
                   and (not subjects.aside[m] or _relative_to(m, first, reading))
                   and not (singular and plural(reading, m))]
        if earlier and not (opposites and _contrasted_in(earlier[-1], lo, first, reading, opposites)):
            carried = _antecedent(earlier, lo, first, reading)
            return Mention(carried.group, carried.first, carried.last, carried=True)
        if not earlier and reading.tokens[lo].text in ("it", "they") and (
                lo == 0 or reading.tokens[lo - 1].sentence != sentence):
            previous = _sentence_subject(subjects.by_sentence.get(sentence - 1, ()), reading)
            if previous is not None:
                return Mention(previous.group, previous.first, previous.last, carried=True)
    return None


#: Words that may open a clause before its own first word ("*so* it's not ...", "*and* if you go above one").
_LINKS = frozenset("so and but or yet thus hence therefore which".split())


def opening_word(reading: Reading, clause: int) -> str:
    """The clause's first word after its linking words: its subject ("so *it*'s not an emergent ability") or
    what opens it ("and *if* you go above one")."""
    lo, hi = reading.clause_span[clause]
    k = lo
    while k < hi and reading.tokens[k].text in _LINKS:
        k += 1
    return reading.tokens[k].text


def _conditional(reading: Reading, clause: int) -> bool:
    """Whether the clause opens on a condition of its own ("and if you go above one ..."): what it says holds in
    that case, not of the subject named before it."""
    return opening_word(reading, clause) in ("if", "unless", "whenever")


def plural(reading: Reading, m: Mention) -> bool:
    """Whether a subject is named in the plural ("small models", "GANs"): "it" does not stand for it ("Small
    models gain as much as large ones, so *it*'s not an emergent ability": the question's topic)."""
    word = reading.tokens[m.last].text
    return len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is"))


def _sentence_subject(mentions, reading: Reading) -> Mention | None:
    """The subject of a sentence: a subject named at the start of its first clause ("The ELBO is ..."). A
    sentence opening with "It" or "They" carries it on ("The ELBO is reconstruction minus the KL. It is a lower
    bound.")."""
    if not mentions:
        return None
    m = mentions[0]
    start = reading.clause_span[reading.clause[m.first]][0]
    sentence_start = start == 0 or reading.tokens[start - 1].sentence != reading.tokens[m.first].sentence
    return m if sentence_start and _opens_clause(m, reading) else None


def _opens_clause(m: Mention, reading: Reading) -> bool:
    """Whether the subject stands at the start of its clause, as its grammatical subject ("and the ELBO is ...")."""
    start = reading.clause_span[reading.clause[m.first]][0]
    return all(reading.tokens[k].text in _BEFORE_SUBJECT for k in range(start, m.first))


#: Words that may come before a clause's subject: "and the ELBO ...", "so, um, the decoder ...".
_BEFORE_SUBJECT = frozenset("a an the this that these those its their our your and but so then also um uh well now "
                            "both".split())
#: Words that join a clause whose pronoun keeps the earlier subject ("..., and, um, it is ...").
_COORDINATION = frozenset("and but yet um uh well also".split())


def _antecedent(earlier: list[Mention], lo: int, first: int, reading: Reading) -> Mention:
    """What a pronoun stands for: in a clause joined by "and" or "but", the subject of an earlier clause, as a
    reader takes it (the subject stays the topic: "The ELBO is reconstruction minus the KL, and *it* is a lower
    bound" is about the ELBO, not the KL); else the last subject named ("a KL penalty keeps the policy near the
    SFT model *so it* doesn't drift": the policy)."""
    opening = [reading.tokens[k].text for k in range(lo, first)]
    pronoun = next((k for k, w in enumerate(opening) if w in PRONOUNS), None)
    if pronoun is None or not opening[:pronoun] or not set(opening[:pronoun]) <= _COORDINATION:
        return earlier[-1]
    return next((m for m in reversed(earlier) if _opens_clause(m, reading)), earlier[-1])


def _absolute(mention: Mention, first: int, subjects: Subjects,
              reading: Reading) -> tuple[bool, Mention | None]:
    """Whether the phrase describes a noun of its own after "with" (and that noun, if it is a subject): "W + BA
    *with W frozen*" says "frozen" of W, not of BA (the subject before); "trains A and B with the base weights
    frozen" says it of the base weights. One to three words stand between "with" and the phrase."""
    tokens = reading.tokens
    for k in range(first - 1, max(mention.last, first - 5), -1):
        if tokens[k].text == "with":
            between = range(k + 1, first)
            if not between or all(tokens[j].text in STOPWORDS for j in between) \
                    or PAUSE.search(reading.text, tokens[k].end, tokens[first].start):
                return False, None
            return True, next((subjects.at[j] for j in between if j in subjects.at), None)
    return False, None


def _coordinated(in_clause: list[Mention], first: int, reading: Reading) -> list[Mention]:
    """The subject of a phrase in a later predicate joined by "and" ("raising w above 1 loosens the model's grip on
    the prompt *and increases sample diversity*"): a long first predicate puts the second beyond BIND_REACH, yet
    it is said of the same subject. The nearest subject before, within twice the reach, with "and" and a content
    word between (not "and the original W is ...", a new clause)."""
    before = [m for m in in_clause if m.last < first and first - m.last <= 2 * BIND_REACH]
    if not before:
        return []
    m = before[-1]
    # "and" opening a predicate (a verb: not a function word, which would open a new clause, "and the W is")
    joined = any(reading.tokens[k].text == "and" and reading.tokens[k + 1].text not in STOPWORDS
                 for k in range(m.last + 1, first))
    return [m] if joined and not reading.restarts(m.last, first, SPEAKERS) else []


def _listed(mention: Mention, first: int, last: int, subjects: "Subjects", reading: Reading) -> bool:
    """Whether the phrase is an item of its own in a list of alternatives: after a comma that follows the
    subject, and followed by "or"/"and" and another subject ("adapter layers, *learned prefix vectors*, or
    LoRA": the prefix vectors are not said of the adapters)."""
    tokens = reading.tokens
    if not PAUSE.search(reading.text, tokens[mention.last].end, tokens[first].start):
        return False
    k = last + 1  # to the end of the phrase's item: "learned prefix *vectors*, or LoRA"
    while k < min(len(tokens), last + 4) and tokens[k].text not in ("or", "and") \
            and not PAUSE.search(reading.text, tokens[k - 1].end, tokens[k].start):
        k += 1
    if k < len(tokens) and tokens[k].text in ("or", "and") and tokens[k].sentence == tokens[last].sentence:
        k += 1
        while k < len(tokens) and tokens[k].text in _ARTICLES:
            k += 1
        other = subjects.at.get(k)
        return other is not None and other is not mention
    return False


def _apposed(mention: Mention, first: int, subjects: "Subjects", reading: Reading) -> bool:
    """Whether the subject is named in an apposition between commas right after another subject: "The ELBO,
    the reconstruction term minus the KL term, is a lower bound" says it of the ELBO, not of the KL term."""
    tokens, text = reading.tokens, reading.text
    if "," not in text[tokens[mention.last].end : tokens[first].start]:
        return False
    k = mention.first - 1
    while k >= 0 and tokens[k].sentence == tokens[mention.first].sentence:
        if "," in text[tokens[k].end : tokens[k + 1].start]:
            # a noun phrase: it opens with an article or with the name itself ("instead of learning delta W,"
            # is no apposition)
            other = subjects.at.get(k)
            opens = k + 1 == mention.first or tokens[k + 1].text in ("the", "a", "an")
            return opens and other is not None and other.group != mention.group
        k -= 1
    return False


def _formula_term(mention: Mention, reading: Reading) -> bool:
    """Whether the subject is a term on the right of a formula ("ELBO = E[log p(x|z)] − KL(q || p), a lower
    bound"): what follows the formula is said of the whole, not of its last term."""
    before = reading.text[: reading.tokens[mention.first].start].rstrip()
    return before.endswith(("=", "+", "−", "*", "×", "·", " -"))


def _bracketed(mention: Mention, first: int, reading: Reading) -> bool:
    """Whether the subject stands inside brackets closed before the phrase: "N(√(1−β_t) x, β_t I) that gradually
    destroys data" says nothing of β; "pretraining gradients (PPO-ptx) to reduce the alignment tax" nothing of
    PPO. A bracket is an aside; what follows it is said of what stands outside. (Brackets of the subject's own
    notation, "p(z) is fixed", open after its start and close before the phrase: they do not count.)"""
    depth = 0
    for ch in reading.text[reading.tokens[mention.first].start : reading.tokens[first].start]:
        depth += (ch in "([{") - (ch in ")]}")
        if depth < 0:
            return True
    return False


def _naming_closed(mention: Mention, first: int, reading: Reading) -> bool:
    """Whether the subject only names what was described before it, in a clause closed by a comma before the
    phrase: "ask it to reason step by step, *which is chain-of-thought*, or give it a persona" (the persona is not
    said of chain-of-thought)."""
    tokens = reading.tokens
    k = mention.first - 1
    while k >= 0 and tokens[k].text in _ARTICLES:
        k -= 1
    naming = k >= 1 and ((tokens[k].text in ("is", "are") and tokens[k - 1].text in ("which", "that", "this"))
                         or tokens[k].text in ("called", "named")
                         or (tokens[k].text == "as" and tokens[k - 1].text == "known"))
    # ... or it is named inside a relative clause closed before the phrase: "The original RAG, *which paired a
    # dense retriever with a generator*, answers a question by first fetching ..." (the retriever does not answer)
    lo = reading.clause_span[reading.clause[mention.first]][0]
    relative = tokens[lo].text in ("which", "who") and lo < mention.first
    return (naming or relative) and bool(PAUSE.search(reading.text, tokens[mention.last].end, tokens[first].start))


def _contrasted_in(mention: Mention, lo: int, first: int, reading: Reading, opposites: Opposites) -> bool:
    """Whether the clause opens on the opposite of a word of the subject's name before the phrase: "below one it
    sharpens, *while above one it* flattens" is not said of "T below one"."""
    named = reading.tokens[mention.first : mention.last + 1]
    return any(opposites.are_opposite(reading.tokens[k], t) for k in range(lo, first) for t in named)


def _contrasted_after(mention: Mention, first: int, reading: Reading, opposites: Opposites) -> bool:
    """Whether a list item after the subject opens on the opposite of a word of its name: "T below one sharpens,
    *above* one flattens" says "flattens" of T above one, not of T below one. (Within one item, "a higher
    temperature gives a less peaked, flatter distribution" is still said of the subject.)"""
    named = reading.tokens[mention.first : mention.last + 1]
    tokens = reading.tokens
    starts = [k for k in range(mention.last + 1, first) if PAUSE.search(reading.text, tokens[k - 1].end, tokens[k].start)]
    return any(opposites.are_opposite(tokens[k], t) for start in starts[-1:] for k in range(start, first) for t in named)


#: A subject named after one of these is context, not what the clause describes: "the difference from a
#: normal VAE is ...", "the output of the generator". ("In the RL phase", "at inference", "for FID" name a time
#: or a topic that the clause is about, so those prepositions are not here.)
PREPOSITIONS = frozenset("with from of by via like".split())
_ARTICLES = frozenset("a an the this that these those its their our your".split())


def _aside(mention: Mention, reading: Reading) -> bool:
    """A subject named only in contrast ("unlike top-k", "rather than the encoder") or as the object of a
    preposition ("in CFG", "from a normal VAE") is not what is described."""
    k = mention.first - 1
    while k >= 0 and reading.tokens[k].text in _ARTICLES and mention.first - k <= 2:
        k -= 1
    if k < 0 or reading.clause[k] != reading.clause[mention.first]:
        return False
    word = reading.tokens[k].text
    if word in PREPOSITIONS:
        # "With a temperature above one, the distribution gets sharper": a clause that opens on "with" names
        # the condition it describes, not an aside.
        return not (word == "with" and reading.clause_span[reading.clause[k]][0] == k)
    while k >= 0 and reading.tokens[k].text in STOPWORDS and word not in CONTRASTIVE and mention.first - k <= 2:
        k -= 1
        word = reading.tokens[k].text if k >= 0 else ""
    return word in CONTRASTIVE


def _relative_to(mention: Mention, first: int, reading: Reading) -> bool:
    """A phrase in a relative clause right after a subject named in contrast is said of that subject:
    "unlike full fine-tuning, which updates the weights"."""
    between = [reading.tokens[k].text for k in range(mention.last + 1, first)]
    # ... up to its comma: "VAEs, unlike GANs which train adversarially, *maximise* a lower bound".
    closed = "," in reading.text[reading.tokens[mention.last + 1].end : reading.tokens[first].start] if between else False
    return bool(between) and between[0] in ("which", "who", "that") and len(between) <= NEGATION_REACH + 1 \
        and not closed


def second_predicate(subject: Mention, first: int, reading: Reading) -> bool:
    """Whether the subject is a verb's object and the phrase is in a second predicate joined by "and": in "LoRA
    keeps the pretrained weights frozen and trains two small low-rank matrices", the matrices are trained by
    LoRA, and "small low-rank" is not said of the weights."""
    tokens = reading.tokens
    lo = reading.clause_span[reading.clause[subject.first]][0]
    is_object = any(tokens[k].text not in STOPWORDS for k in range(lo, subject.first))
    return is_object and any(tokens[k].text == "and" and k + 1 < first and tokens[k + 1].text not in STOPWORDS
                             for k in range(subject.last + 1, first))


#: Words before a subject's name that make it a verb ("you merge the update", "to fold BA into W").
_VERB_BEFORE = frozenset("i you we they to can could will would should must may might then just simply".split())


def used_as_verb(subject: Mention, reading: Reading) -> bool:
    """Whether the subject's name is used as a verb: the words after it are its object, not said of it, so they
    cannot swap ("you merge the update" does not say the merge is the update)."""
    k = subject.first - 1
    return k >= 0 and reading.tokens[k].sentence == reading.tokens[subject.first].sentence \
        and reading.tokens[k].text in _VERB_BEFORE
