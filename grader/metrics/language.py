"""Is the answer in English? A cheap check, so an answer in another language is not misread.

The bank, its rubrics and the model are English: a correct answer in French shares few words with the
reference, and carries none of the English function words that tell prose from a bare list of terms. Rather than
call it "a list of terms", grader says the bank is English and the score unreliable (the ``not-english`` flag).

Two signals, no model and no new dependency: the script of the letters (Cyrillic, Han, Arabic... rather than
Latin; Greek only when it is more than formula symbols), and, for Latin script, function words of a handful of
languages (data: grader/data/languages.yaml) against English ones. Short answers are never flagged: a few words
do not tell a language apart.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache
from pathlib import Path

from grader.text import STOPWORDS

LANGUAGES_FILE = Path(__file__).resolve().parent.parent / "data" / "languages.yaml"
#: Fewer words (or letters in another script) than this: too short to tell.
MIN_WORDS = 8
MIN_LETTERS = 20
#: Share of another language's function words among all words ...
MIN_FOREIGN_SHARE = 0.15
#: ... and how many times the share of English function words it must reach.
FOREIGN_OVER_ENGLISH = 2.0
#: Share of letters in a script other than Latin that makes an answer non-English.
MIN_OTHER_SCRIPT = 0.5
#: Script names (first word of the Unicode character name) and how a learner knows them.
_SCRIPTS = {"CJK": "Chinese or Japanese", "HIRAGANA": "Japanese", "KATAKANA": "Japanese", "HANGUL": "Korean",
            "CYRILLIC": "Cyrillic script", "ARABIC": "Arabic", "HEBREW": "Hebrew", "DEVANAGARI": "Hindi",
            "GREEK": "Greek", "THAI": "Thai", "BENGALI": "Bengali", "TAMIL": "Tamil", "ARMENIAN": "Armenian",
            "GEORGIAN": "Georgian"}
_WORD = re.compile(r"[^\W\d_]+")


@lru_cache(maxsize=1)
def _function_words() -> dict[str, frozenset[str]]:
    from grader.yamlio import safe_load

    data = safe_load(LANGUAGES_FILE.read_text(encoding="utf-8"))
    return {str(name): frozenset(str(w).lower() for w in words) - STOPWORDS
            for name, words in data["languages"].items()}


def _script(ch: str) -> str:
    try:
        return unicodedata.name(ch).split(" ", 1)[0]
    except ValueError:
        return ""


def _other_script(text: str, letters: list[str]) -> str | None:
    """The language or script most letters are written in, when it is not Latin."""
    scripts = Counter(_script(ch) for ch in letters)
    script, count = max(((s, n) for s, n in scripts.items() if s != "LATIN"), key=lambda sn: sn[1],
                        default=("", 0))
    if count < MIN_OTHER_SCRIPT * len(letters):
        return None
    if script == "GREEK" and len(re.findall(r"[\u0370-\u03ff]{3,}", text)) < 3:
        return None  # formula symbols (σ, α, β ...), not Greek prose
    return _SCRIPTS.get(script, script.title() or "another script")


def detect_non_english(answer: str) -> str | None:
    """The language (or script) the answer seems written in when it is clearly not English, else None."""
    text = unicodedata.normalize("NFC", answer)
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) < MIN_LETTERS:
        return None
    other = _other_script(text, letters)
    if other is not None:
        return other
    words = _WORD.findall(answer.lower())
    if len(words) < MIN_WORDS:
        return None
    english = sum(1 for w in words if w in STOPWORDS and len(w) > 1) / len(words)
    shares = {name: sum(1 for w in words if w in vocabulary) / len(words)
              for name, vocabulary in _function_words().items()}
    language, share = max(shares.items(), key=lambda kv: kv[1])
    if share >= MIN_FOREIGN_SHARE and share >= FOREIGN_OVER_ENGLISH * english:
        return language
    return None
