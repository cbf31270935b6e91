"""The bank-wide lexicon of opposites (``grader/data/opposites.yaml``) and a rubric's own pairs.

Word families and which reverse which, looked up by stem; a misspelt word ("postive") is looked up by its closest
family member. Two words of one family count as saying the same thing ("more" and "higher").
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from grader.text import Token, same_word, tokenize

OPPOSITES_FILE = Path(__file__).resolve().parent.parent / "data" / "opposites.yaml"

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
            # ... and against the lexicon's words as written: "seperate" (stem "seper") is "separate" ("separ").
            written = Token(token.text, token.text, 0, 0, 0)
            for family, words in enumerate(self._words):
                if any(len(w) >= 6 and same_word(Token(w, w, 0, 0, 0), written) for w in words):
                    found.add(family)
            self._families[token.stem] = found
        return found or set()

    def of(self, token: Token) -> tuple[str, ...]:
        """The words that reverse ``token``."""
        return tuple(sorted({w for f in self.families(token) for o in self._opposite.get(f, ()) for w in self._words[o]}))

    def kin(self, token: Token) -> tuple[str, ...]:
        """The other words of ``token``'s families ("less" -> "lower", "reduces", "smaller", ...)."""
        return tuple(sorted({w for f in self.families(token) for w in self._words[f]} - {token.text}))

    def are_opposite(self, a: Token, b: Token) -> bool:
        fb = self.families(b)
        return any(o in fb for f in self.families(a) for o in self._opposite.get(f, ())) \
            or negated_form(a.text, b.text)

    def are_kin(self, a: Token, b: Token) -> bool:
        """Same word, a misspelling of it, or a word of the same family ("more" / "higher")."""
        return same_word(a, b) or bool(self.families(a) & self.families(b))


#: Negating prefixes ("unlit", "incomplete", "nonmagnetic", "disconnected") and the shortest word they reverse:
#: "un" and "non" hardly start a word that is not a negation; "in", "im", "il", "ir", "dis" do ("insight",
#: "display"), so they need a longer word after them and a few words are set aside.
_NEGATING_PREFIXES = (("non", 3), ("un", 3), ("dis", 5), ("in", 5), ("im", 5), ("il", 5), ("ir", 5))
_NOT_NEGATED = frozenset("""insight inspire install instead invent invest insert income inform indent involve
infuse inflate discover display dispose dispatch dismiss distance discharge impress import impose imply
illustrate irate interest""".split())


@lru_cache(maxsize=65536)
def negated_form(a: str, b: str) -> bool:
    """One word is the other with a negating prefix: "lit" / "unlit", "complete" / "incomplete"."""
    if len(a) > len(b):
        a, b = b, a
    if not a.isalpha() or not b.isalpha() or b in _NOT_NEGATED:
        return False
    for prefix, shortest in _NEGATING_PREFIXES:
        if len(a) >= shortest and b == prefix + a:
            return True
    return False


def without_negating_prefix(word: str) -> str | None:
    """The word a prefixed word negates ("intractable" -> "tractable"), if it is one by ``negated_form``."""
    for prefix, _ in _NEGATING_PREFIXES:
        if word.startswith(prefix) and negated_form(word[len(prefix):], word):
            return word[len(prefix):]
    return None


@lru_cache(maxsize=64)
def opposites_for(extra: tuple[tuple[str, str], ...] = ()) -> Opposites:
    return Opposites(extra)
