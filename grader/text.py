"""Text normalisation shared by the lexical metrics.

Answers are typed or transcribed by people: "W′ = W + BA", "w' = w+ba" and "W prime equals W plus BA" are
the same statement. Everything lexical (keyword rubrics, ROUGE, question matching) goes through this module so
the metrics agree on what a token is.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Symbols a formula may be written with, mapped to the ASCII a candidate would type instead.
_SYMBOLS = {
    "′": "'", "’": "'", "‘": "'", "`": "'", "″": "''", "“": '"', "”": '"',
    "−": "-", "–": "-", "—": "-", "‐": "-", "‑": "-",
    "∈": " in ", "∉": " notin ", "≪": "<<", "≫": ">>", "≥": ">=", "≤": "<=", "≠": "!=", "≈": "~",
    "→": "->", "←": "<-", "⇒": "=>", "×": "x", "·": "*", "⋅": "*", "∗": "*", "∏": " prod ", "∑": " sum ",
    "∞": " inf ", "∇": " grad ", "√": " sqrt ", "∫": " int ", "‖": "||", "∥": "||",
    "α": " alpha ", "β": " beta ", "γ": " gamma ", "δ": " delta ", "Δ": " delta ", "ε": " epsilon ",
    "ϵ": " epsilon ", "ζ": " zeta ", "η": " eta ", "θ": " theta ", "ϑ": " theta ", "λ": " lambda ",
    "μ": " mu ", "µ": " mu ", "ν": " nu ", "ξ": " xi ", "π": " pi ", "ρ": " rho ", "σ": " sigma ",
    "Σ": " sigma ", "τ": " tau ", "φ": " phi ", "ϕ": " phi ", "χ": " chi ", "ψ": " psi ", "ω": " omega ",
    "Ω": " omega ", "ℝ": "R",
}
_SYMBOL_RE = re.compile("|".join(re.escape(k) for k in sorted(_SYMBOLS, key=len, reverse=True)))
_ZERO_WIDTH_RE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")

#: Function words: skipped when matching phrases, and counted to tell prose from a bare keyword list. ("same" is
#: not one: "the same dimension" says more than "dimension"; nor is "t", the temperature in "T > 1".)
STOPWORDS = frozenset("""
a an the of to in on at for from by with and or as is are was were be been being it its this that these
those which who whom what when where how why than then so such into onto over under about via per each
any all some can could would should will shall may might must do does did has have had i we you they he
she them our your their my me us also just only very much many there here if but while both
either whether because since until up down out off again further once own too s
""".split())

#: Words that negate a statement around them (for pitfall detection).
NEGATIONS = frozenset("""
not no never none nor neither without cannot cant dont doesnt didnt isnt arent wasnt werent wont
wouldnt shouldnt hasnt havent hadnt nothing myth misconception wrong false incorrect untrue unlike
instead rather non
""".split())


def fold(text: str) -> str:
    """NFKC-normalise, drop zero-width and control characters, and spell out symbols and Greek letters."""
    text = unicodedata.normalize("NFKC", text)
    text = _ZERO_WIDTH_RE.sub("", text)
    text = _SYMBOL_RE.sub(lambda m: _SYMBOLS[m.group(0)], text)
    return "".join(ch if (ch.isprintable() or ch in "\n\t") else " " for ch in text)


@lru_cache(maxsize=1)
def _stemmer():
    from grader._lazy import porter_stemmer

    return porter_stemmer()


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Porter stem of a lower-case word (cached: answers repeat their vocabulary)."""
    if len(word) <= 3 or not word.isalpha():
        return word
    return _stemmer().stem(word, to_lowercase=False)


@dataclass(frozen=True)
class Token:
    """A word of the original text: its stem and where it stands (character offsets into the text)."""

    text: str
    stem: str
    start: int
    end: int
    sentence: int

    @property
    def is_stopword(self) -> bool:
        return self.text in STOPWORDS


#: A word, with the part after an apostrophe ("doesn't"): typographic apostrophes too ("doesn’t", pasted or
#: transcribed text), and a double quote standing for one in a negation (exports that turn "aren't" into
#: 'aren"t'), so the negation stays one word.
_WORD_RE = re.compile(r"[^\W_]+(?:['\u2019\u2018\u02bc][^\W_]+|\"t\b)?"
                      r"|(?<=[\w)\s])(?:>=|<=|>|<|≥|≤)(?=\s*\d)", re.UNICODE)
#: A comparison with a number is read as words: "T > 1" says "T greater than 1", which a subject such as "T greater
#: than one" names; without them "T > 1" and "T < 1" would read the same. Arrows ("->") are not comparisons (their
#: ">" follows a hyphen), nor is a ">" between words ("reasoning > steps", a list).
_COMPARATORS = {">": "greater than", ">=": "greater than", "≥": "greater than",
                "<": "less than", "<=": "less than", "≤": "less than"}
_APOSTROPHES = str.maketrans("", "", "'\u2019\u2018\u02bc\"")
_SENTENCE_END_RE = re.compile(r"[.!?;\n]+")


def tokenize(text: str) -> list[Token]:
    """Words of ``text`` in order, lower-cased and stemmed, with offsets into ``text`` itself.

    Hyphens and punctuation separate words ("low-rank" -> "low", "rank"); apostrophes inside a word are
    dropped so "doesn't" (or "doesn’t") becomes the negation "doesnt". Greek letters count as words ("σ" -> "sigma").
    """
    tokens: list[Token] = []
    sentence = 0
    last = 0
    for match in _WORD_RE.finditer(text):
        if _SENTENCE_END_RE.search(text, last, match.start()):
            sentence += 1
        last = match.end()
        raw = match.group(0)
        word = _COMPARATORS.get(raw) or fold(raw).lower().translate(_APOSTROPHES)
        for part in word.split():
            if not part:
                continue
            tokens.append(Token(part, stem(part), match.start(), match.end(), sentence))
    return tokens


def words(text: str) -> list[str]:
    """Lower-case words of ``text`` after folding symbols: the tokenizer ROUGE and matching use."""
    return [w for raw in _WORD_RE.findall(fold(text).lower())
            for w in (_COMPARATORS.get(raw) or raw.translate(_APOSTROPHES)).split()]


def compact_formula(text: str) -> tuple[str, list[int]]:
    """Formula canonical form: folded, lower-case, without spaces; plus each character's offset in ``text``.

    "W′ = W + BA" and "w'=w+ba" both become "w'=w+ba"; "B∈R^{d×r}" and "B in R^{d x r}" both "binr^{dxr}".
    """
    out: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        for c in fold(ch).lower():
            if c.isspace() or c in "{}":
                continue
            out.append(c)
            offsets.append(i)
    return "".join(out), offsets


def edit_distance_at_most(a: str, b: str, limit: int) -> bool:
    """True when Levenshtein(a, b) <= limit; bounded so it stays cheap on long words."""
    if abs(len(a) - len(b)) > limit:
        return False
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
        if min(current) > limit:
            return False
        previous = current
    return previous[-1] <= limit


def typo_tolerance(word: str) -> int:
    """How many edits a word may carry and still count: none for short words, where typos collide."""
    if len(word) >= 12:
        return 2
    if len(word) >= 6:
        return 1
    return 0


def same_word(expected: Token, seen: Token) -> bool:
    """Stems equal, or close enough for a misspelling of a longer word ("discriminater")."""
    if expected.stem == seen.stem or expected.text == seen.text:
        return True
    return _misspelling(expected.text, seen.text)


@lru_cache(maxsize=262144)
def _misspelling(expected: str, seen: str) -> bool:
    """Within the typo tolerance of ``expected`` (cached: the same word pairs recur over a batch)."""
    limit = typo_tolerance(expected)
    if not limit or abs(len(expected) - len(seen)) > limit or not expected.isalpha() or not seen.isalpha():
        return False
    return edit_distance_at_most(expected, seen, limit) and not _other_prefix(expected, seen)


#: Prefixes that make a different word, often the opposite: "unconditional", "asymmetric", "unidirectional".
_PREFIXES = ("", "un", "in", "im", "il", "ir", "dis", "non", "a", "an", "anti", "uni", "bi", "de", "en")


def _other_prefix(a: str, b: str) -> bool:
    """Whether two words are one stem with different prefixes ("conditional" / "unconditional", "bidirectional" /
    "unidirectional"): a typo's few edits, yet another word. Typo tolerance is for misspellings only. Not
    ``opposites.negated_form``: that knows which prefixes *negate* (and its exceptions, "insight"); here any
    change of prefix is enough, and this foundation module cannot import metrics."""
    return any(a == p + a[len(p):] and b == q + a[len(p):] for p in _PREFIXES for q in _PREFIXES
               if p != q and len(a) - len(p) >= 4)


def holds_answer(question: str, references: list[str] | tuple[str, ...]) -> bool:
    """Whether the question already holds an answer: every content word of some reference is one of the
    question's ("... was clear with nothing on the bottom. What evidence does Jim have that it is a
    solution?" against "The mixtures are all clear."). Saying the question back is then no sign of an empty
    answer, and demoting the question's words would leave nothing of the reference to compare with."""
    asked = {t.stem for t in tokenize(question) if not t.is_stopword}
    for reference in references:
        stems = {t.stem for t in tokenize(reference) if not t.is_stopword}
        if stems and stems <= asked:
            return True
    return False


def demote(text: str, question: str) -> str:
    """``text`` without the words of ``question`` ("question demoting", Mohler et al. 2011).

    Saying the question back earns nothing: similarity is then measured on what the answer adds.
    """
    asked = {t.stem for t in tokenize(question) if not t.is_stopword}
    return " ".join(text[t.start : t.end] for t in tokenize(text) if t.stem not in asked)
