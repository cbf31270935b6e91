"""Speaker labels at the start of a line ("Interviewer:", "[10:02] Ana:", "Q:"), and what role a label names.

Chat logs label speakers in more ways than transcripts: lower-case names ("bob:"), handles ("lee_w:",
"dana99:"), IRC's "<nick> text" and time-stamped lines ("[10:02] bob:", "[2024-05-01 10:02] <bob>"). All are
recognised; a transcript in which none is found is an error that lists them (:data:`LABEL_FORMS`).
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, Sequence

from grader.transcripts.model import CANDIDATE, INTERVIEWER, _collapse, _error, _name_key

# Speaker labels -----------------------------------------------------------------------------------

_TS = r"(?:\d{4}-\d{2}-\d{2}[ T])?\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
#: The label forms a plain-text transcript may use, as an error message lists them.
LABEL_FORMS = ("'Dana Lee:'", "'bob:'", "'lee_w:'", "'[10:02] Name:'", "'<nick>' (IRC)", "'Interviewer:' / "
               "'Candidate:'", "'Q:' / 'A:'")
#: IRC and chat-client lines: "<bob> text", "[10:02] <@bob> text" (mode prefixes @ + % & ~ are not the name).
_IRC_RE = re.compile(rf"^(?:[\[(]\s*{_TS}\s*[\])]\s*|{_TS}\s+)?<\s*[@+%&~]?(?P<speaker>[^\W\d_][\w.\-]{{0,31}})"
                     r"\s*>\s*(?P<text>.*)$", re.S)
#: A chat handle: one token of letters, digits, "_", "." or "-" ("bob", "lee_w", "dana99", "j.smith").
_HANDLE = re.compile(r"[^\W\d_][\w.\-]{0,31}")
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
    if _is_handle(base):
        return name
    if len(words) > 1 and words[-1].isdigit():               # "Speaker 2"
        words = words[:-1]
    for i, word in enumerate(words):
        if not _NAME_WORD.fullmatch(word) or not all(p[:1].isupper() for p in word.split("-")[1:]):
            return None                                     # "Jean-Luc" yes, "Top-k" no
        if not (word[0].isupper() or (i and word.casefold() in _PARTICLES)):
            return None
    return name


def _is_handle(word: str) -> bool:
    """A chat handle rather than a capitalised name: one token, lower-case or holding "_" or a digit."""
    if len(word) < 2 or not _HANDLE.fullmatch(word) or word[-1] in ".-":
        return False
    return word.islower() or "_" in word or any(ch.isdigit() for ch in word)


def _label_match(line: str) -> tuple[str, str] | None:
    """(speaker, text) when the line opens with a speaker label such as "Dana Lee:", "[10:03] sam:" or
    "<lee_w>"."""
    irc = _IRC_RE.match(line.strip())
    if irc and _label_name(irc.group("speaker")):
        return irc.group("speaker"), irc.group("text")
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


def require_questions(transcript) -> None:
    """Refuse a transcript in which no interviewer turn was found (nothing could be matched to the bank, so it
    would be "0 answers graded"): a plain-text file without any recognised speaker label names the labels tried."""
    if any(turn.role == INTERVIEWER for turn in transcript.turns):
        return
    if not transcript.speakers:
        raise _error("no speaker labels recognised, so no question asked could be found (labels tried: "
                     f"{', '.join(LABEL_FORMS)}; or a Markdown heading per question)", transcript.source, 1)
    raise _error(f"no interviewer turns: every turn is the candidate's (speakers: "
                 f"{', '.join(transcript.speakers[:5])}); label the interviewer, e.g. 'Interviewer:'",
                 transcript.source, 1)
