"""Speaker labels at the start of a line ("Interviewer:", "[10:02] Ana:", "Q:"), and what role a label names.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, Sequence

from grader.transcripts.model import CANDIDATE, INTERVIEWER, _collapse, _name_key

# Speaker labels -----------------------------------------------------------------------------------

_TS = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
_LABEL_RE = re.compile(
    rf"^(?:[\[(]\s*{_TS}\s*[\])]\s*|{_TS}\s+(?:[-–—]\s+)?)?"       # "[10:03] Sam:" or "10:03 - Sam:"
    rf"(?P<speaker>[^\W\d_][^:\n]{{0,59}}?)\s*(?:[\[(]\s*{_TS}\s*[\])]\s*)?"  # "Sam [10:03]:"
    r":(?:\s+|$)(?P<text>.*)$", re.S)
_TS_PREFIX_RE = re.compile(rf"^(?:[\[(]\s*{_TS}\s*[\])]|{_TS}(?=\s))\s*(?:[-–—]\s+)?")
_NAME_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|[-'’.])*")
_PARTICLES = {"de", "da", "del", "della", "der", "den", "di", "du", "la", "le", "van", "von", "bin",
              "al", "el", "y", "dos", "das", "ten", "ter", "st."}
#: Capitalised words that open a sentence with a colon but are not people.
_NOT_SPEAKERS = {
    "note", "notes", "nb", "n.b.", "example", "examples", "e.g.", "i.e.", "eg", "ie", "step", "tip",
    "edit", "update", "ps", "p.s.", "warning", "important", "summary", "result", "results", "output",
    "input", "formula", "equation", "definition", "source", "sources", "reference", "references",
    "date", "time", "location", "duration", "subject", "re", "fyi", "todo", "key", "pros", "cons",
    "so", "well", "also", "basically", "why", "how", "what", "yes", "no", "ok", "okay", "http",
    "https", "caveat", "verdict", "score", "feedback", "training", "inference", "intuition",
    "answer key", "hint", "context", "goal", "problem", "solution", "idea", "remember", "roughly",
    "honestly", "overall", "first", "second", "third", "then", "finally", "mitigation", "causes",
}
_INTERVIEWER_LABELS = {"interviewer", "q", "question", "recruiter", "hiring manager", "host", "moderator",
                       "panelist", "panel", "examiner", "coach", "follow-up", "followup", "follow up",
                       "follow-up question", "hr"}
_CANDIDATE_LABELS = {"candidate", "a", "answer", "interviewee", "applicant"}


def _label_role(label: str | None) -> str | None:
    """The role a label states by itself ("Interviewer", "Q3", "Sam (interviewer)", "A"), if any."""
    if not label:
        return None
    text = label.casefold()
    notes = re.findall(r"\(([^)]*)\)", text)
    base = re.sub(r"\([^)]*\)", " ", text)
    for part in [base, *notes]:
        word = re.sub(r"[\s#.]*\d+[a-z]?$", "", _collapse(part)).strip(" .#")
        if word in _INTERVIEWER_LABELS:
            return INTERVIEWER
        if word in _CANDIDATE_LABELS:
            return CANDIDATE
    first = base.split()[0] if base.split() else ""
    if first in {"interviewer", "recruiter", "coach"}:
        return INTERVIEWER
    if first in {"candidate", "interviewee"}:
        return CANDIDATE
    return None


def _label_name(raw: str) -> str | None:
    """``raw`` as a speaker name when it looks like one (capitalised, short), else None."""
    name = _collapse(raw)
    if not name or len(name) > 60:
        return None
    if _label_role(name):
        return name
    base = _collapse(re.sub(r"\([^)]*\)", " ", name))
    words = base.split()
    if not words or len(words) > 4 or base.casefold() in _NOT_SPEAKERS:
        return None
    if len(words) > 1 and words[-1].isdigit():               # "Speaker 2"
        words = words[:-1]
    for i, word in enumerate(words):
        if not _NAME_WORD.fullmatch(word) or not all(p[:1].isupper() for p in word.split("-")[1:]):
            return None                                     # "Jean-Luc" yes, "Top-k" no
        if not (word[0].isupper() or (i and word.casefold() in _PARTICLES)):
            return None
    return name


def _label_match(line: str) -> tuple[str, str] | None:
    """(speaker, text) when the line opens with a speaker label such as "Dana Lee:" or "[10:03] Sam:"."""
    m = _LABEL_RE.match(line.strip())
    if not m:
        return None
    name = _label_name(m.group("speaker"))
    return (name, m.group("text")) if name else None


def _accepted_labels(found: Sequence[str], explicit: Iterable[str] = (), first_is_label: bool = False
                     ) -> set[str]:
    """Which labels are speakers: role words and names used twice always, any name in a short
    dialogue that opens with a label; so a lone "Intuition:" inside an answer stays text."""
    counts = Counter(_name_key(name) for name in found)
    accepted = {_name_key(name) for name in explicit}
    accepted |= {k for k, n in counts.items() if n >= 2 or _label_role(k)}
    if len(accepted) < 2 and first_is_label:
        accepted |= set(counts)
    return accepted
