"""Read mock-interview transcripts in the shapes coaches actually keep them.

Plain text, Markdown notes, JSON / JSON Lines exports, CSV sheets and WebVTT / SRT captions all become
the same :class:`Transcript`: a tuple of speaker :class:`Turn` s, each with the 1-based line it starts
on, and a role (interviewer or candidate) so that question matching never cares where a transcript
came from. Every failure is a :class:`~grader.errors.TranscriptParseError` naming the file and line.
"""
from __future__ import annotations

import codecs
import csv
import html
import io
import json
import re
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from grader.errors import TranscriptParseError

__all__ = [
    "FORMATS",
    "Turn",
    "Transcript",
    "detect_format",
    "detect_roles",
    "parse_transcript_text",
    "read_transcript",
]

FORMATS = ("text", "markdown", "json", "jsonl", "csv", "vtt", "srt")
#: A transcript larger than this is refused rather than read into memory (a day of captions is a few MB).
MAX_TRANSCRIPT_BYTES = 64 * 1024 * 1024

INTERVIEWER = "interviewer"
CANDIDATE = "candidate"

_EXTENSIONS = {
    ".txt": "text", ".text": "text",
    ".md": "markdown", ".markdown": "markdown",
    ".json": "json",
    ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".csv": "csv", ".tsv": "csv",
    ".vtt": "vtt", ".webvtt": "vtt",
    ".srt": "srt",
}
_FORMAT_ALIASES = {"txt": "text", "md": "markdown", "webvtt": "vtt", "ndjson": "jsonl"}


@dataclass(frozen=True)
class Turn:
    """One speaker's uninterrupted contribution; ``line`` points back into the source for reports."""

    speaker: str | None
    text: str
    line: int               # where the text starts (captions: the first text line of the first cue)
    role: str | None = None  # "interviewer" | "candidate" | None (preamble, section notes)


@dataclass(frozen=True)
class Transcript:
    """A parsed transcript: the turns in order plus who the candidate is."""

    source: str
    format: str
    turns: tuple[Turn, ...]
    candidate: str | None = None

    @property
    def speakers(self) -> tuple[str, ...]:
        """Distinct speakers as first written (case-insensitive), in order of appearance."""
        seen: dict[str, str] = {}
        for turn in self.turns:
            if turn.speaker is not None:
                seen.setdefault(_name_key(turn.speaker), turn.speaker)
        return tuple(seen.values())


# --------------------------------------------------------------------------------------------------
# Reading and decoding


def read_transcript(path: str | Path, input_format: str | None = None,
                    candidate: str | None = None) -> Transcript:
    """Read, decode and parse one transcript file; the format comes from the extension or content."""
    source = str(path)
    text = _decode(_read_bytes(Path(path), source), source)
    if not text.strip():
        raise _error("no turns found because the file is empty", source, 1)
    fmt = _normalize_format(input_format, source) if input_format else detect_format(Path(path), text)
    return parse_transcript_text(text, fmt, source=source, candidate=candidate)


def parse_transcript_text(text: str, fmt: str, source: str = "<string>",
                          candidate: str | None = None) -> Transcript:
    """Parse already-decoded text; ``source`` only names the origin in errors and the result."""
    fmt = _normalize_format(fmt, source)
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise _error("no turns found because the transcript is empty", source, 1)
    drafts, declared = _PARSERS[fmt](text, source)
    drafts = _merge(drafts)
    if candidate is not None:
        drafts = _select_pairs(drafts, candidate, source)
    turns = [Turn(d.speaker, _collapse(" ".join(d.parts)), d.line, d.role) for d in drafts]
    turns = [t for t, d in zip(turns, drafts) if t.text or d.keep_empty]
    if not turns:
        raise _error(f"no turns found in this {_FORMAT_NAMES[fmt]} transcript", source, 1)
    roled, name = _assign_roles(turns, candidate, declared, source)
    return Transcript(source=source, format=fmt, turns=roled, candidate=name)


def detect_format(path: Path, text: str) -> str:
    """The format named by the extension, else the one the content looks like."""
    fmt = _EXTENSIONS.get(Path(path).suffix.lower())
    if fmt:
        return fmt
    source = str(path)
    body = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.strip() for line in body.split("\n")]
    nonblank = [line for line in lines if line]
    if not nonblank:
        raise _error("no turns found because the file is empty", source, 1)
    first = nonblank[0]
    if re.match(r"WEBVTT(?:\s|$)", first):
        return "vtt"
    if first.isdigit() and len(nonblank) > 1 and "-->" in nonblank[1]:
        return "srt"
    if first[0] in "[{":
        try:
            json.loads(body)
            return "json"
        except (ValueError, RecursionError):
            pass
        if first[0] == "{" and len(nonblank) > 1 and all(line.startswith("{") for line in nonblank):
            return "jsonl"
        if not _label_match(first):      # "[10:03] Sam: hi" is text; anything else is broken JSON
            return "json"
    if first == "---" or any(re.match(r"#{1,6}\s", line) or re.match(r"\*\*[^*]+\*\*", line)
                             for line in nonblank):
        return "markdown"
    if _looks_like_csv_header(first):
        return "csv"
    if any(_label_match(line) for line in nonblank):
        return "text"
    if any(_looks_like_timing(line) for line in nonblank):
        return "srt"
    raise _error("cannot tell the transcript format from the content, so give the file an extension "
                 "(.txt .md .json .jsonl .csv .vtt .srt) or name the format", source, 1)


def _read_bytes(path: Path, source: str) -> bytes:
    try:
        if path.is_dir():
            raise _error("is a directory, not a transcript file", source)
        from grader.io import read_bytes_limited

        return read_bytes_limited(path, MAX_TRANSCRIPT_BYTES)
    except FileNotFoundError:
        raise _error("transcript file not found", source) from None
    except PermissionError:
        raise _error("permission denied reading the transcript", source) from None
    except OSError as exc:
        raise _error(f"cannot read the transcript ({exc.strerror or exc})", source) from None


def _decode(data: bytes, source: str) -> str:
    """UTF-8 (BOM stripped) or UTF-16/32 with a BOM; anything else names the first bad line."""
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as exc:
                good = data[:exc.start].decode(codec, errors="replace")
                raise _error(f"bytes are not valid {codec.upper()} although the file starts with "
                             f"a {codec.upper()} byte-order mark", source,
                             good.count("\n") + 1) from None
            text = text.lstrip("\ufeff")
            if "\x00" in text:
                raise _error("contains NUL characters, so it looks like a binary file rather than "
                             "a transcript", source, text.count("\n", 0, text.index("\x00")) + 1)
            return text
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    nul = data.find(b"\x00")
    if nul != -1:
        raise _error("contains NUL bytes, so it looks like a binary file (or UTF-16 without a "
                     "byte-order mark) rather than a text transcript", source,
                     data.count(b"\n", 0, nul) + 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _error(f"byte 0x{data[exc.start]:02X} at column {column} is not valid UTF-8, so save "
                     f"the transcript as UTF-8", source, data.count(b"\n", 0, exc.start) + 1) from None


# --------------------------------------------------------------------------------------------------
# Shared pieces


@dataclass
class _Draft:
    """A turn under construction; parsers append text parts, then drafts merge and freeze."""

    speaker: str | None
    line: int
    parts: list[str] = field(default_factory=list)
    role: str | None = None
    merge: bool = True          # may merge with a neighbouring draft of the same speaker
    keep_empty: bool = False    # an empty pair answer still says "the candidate gave no answer"
    pair: int | None = None     # drafts of one question/answer pair share this number


_FORMAT_NAMES = {"text": "plain-text", "markdown": "Markdown", "json": "JSON", "jsonl": "JSON Lines",
                 "csv": "CSV", "vtt": "WebVTT", "srt": "SRT"}


def _error(message: str, source: str, line: int | None = None) -> TranscriptParseError:
    return TranscriptParseError(message, path=source, line=line)


def _normalize_format(fmt: str | None, source: str) -> str:
    name = (fmt or "").strip().lower()
    name = _FORMAT_ALIASES.get(name, name)
    if name not in FORMATS:
        raise _error(f"unknown transcript format '{fmt}', expected one of {', '.join(FORMATS)}", source)
    return name


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _key(name: str | None) -> str | None:
    return None if name is None else _name_key(name)


def _name_key(name: str) -> str:
    """Speakers compare case- and spacing-insensitively: "SAM", "Sam" and "sam " are one person."""
    return _collapse(name).casefold()


def _short(text: str, limit: int = 60) -> str:
    text = _collapse(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _merge(drafts: Iterable[_Draft]) -> list[_Draft]:
    """Consecutive drafts of one speaker become one turn (an answer spread over cues or lines)."""
    out: list[_Draft] = []
    for draft in drafts:
        prev = out[-1] if out else None
        if (prev is not None and prev.merge and draft.merge and prev.role == draft.role
                and _key(prev.speaker) == _key(draft.speaker)):
            prev.parts.extend(draft.parts)
        else:
            out.append(draft)
    return out


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


# Roles --------------------------------------------------------------------------------------------


def detect_roles(turns: Sequence[Turn], candidate: str | None = None,
                 source: str = "<string>") -> tuple[tuple[Turn, ...], str | None]:
    """Give every speaker a role and return the turns with the candidate's name.

    ``candidate`` names the candidate explicitly (matched case-insensitively; an unknown name is an
    error listing the speakers). Otherwise labels decide (Interviewer/Q vs Candidate/A), and among
    unlabelled speakers the candidate is the one with longer turns that asks fewer questions.
    """
    return _assign_roles(list(turns), candidate, None, source)


def _assign_roles(turns: list[Turn], candidate: str | None, declared: str | None,
                  source: str) -> tuple[tuple[Turn, ...], str | None]:
    names: dict[str, str] = {}
    preset: dict[str, str] = {}
    for turn in turns:
        if turn.speaker is None:
            continue
        k = _name_key(turn.speaker)
        names.setdefault(k, turn.speaker)
        if turn.role and k not in preset:
            preset[k] = turn.role
    roles: dict[str, str] = {}
    chosen: str | None = None
    if candidate is not None and candidate.strip():
        k = _match_name(candidate, names)
        if k is not None:
            roles = {other: (CANDIDATE if other == k else INTERVIEWER) for other in names}
            chosen = names[k]
        elif names and not _has_labelled_candidate(turns, names, preset):
            found = ", ".join(names.values())
            raise _error(f"candidate '{_collapse(candidate)}' is not a speaker in this transcript "
                         f"(speakers found: {found})", source)
        else:
            chosen = _collapse(candidate)
    if not roles:
        hinted = _match_name(declared, names) if declared else None
        for k, name in names.items():
            role = preset.get(k) or _label_role(name)
            if role:
                roles[k] = role
        if hinted is not None and hinted not in roles:
            roles[hinted] = CANDIDATE
        unknown = [k for k in names if k not in roles]
        if unknown and CANDIDATE not in roles.values():
            roles[max(unknown, key=lambda k: _candidate_score(turns, k))] = CANDIDATE
        for k in unknown:
            roles.setdefault(k, INTERVIEWER)
    out = tuple(replace(t, role=roles.get(_key(t.speaker), t.role)) if t.speaker is not None else t
                for t in turns)
    if chosen is None:
        chosen = declared.strip() if declared and declared.strip() else None
    if chosen is None:
        cands = [k for k in names if roles.get(k) == CANDIDATE and _label_role(names[k]) is None]
        chosen = names[cands[0]] if len(cands) == 1 else None
    return out, chosen


def _has_labelled_candidate(turns: list[Turn], names: dict[str, str], preset: dict[str, str]) -> bool:
    """True when the candidate is known without a name (structure or a "Candidate:" label)."""
    if any(t.speaker is None and t.role == CANDIDATE for t in turns):
        return True
    return any(preset.get(k) == CANDIDATE or _label_role(n) == CANDIDATE for k, n in names.items())


def _match_name(given: str | None, names: dict[str, str]) -> str | None:
    """Key of the speaker ``given`` names: exactly, else the one speaker sharing all its words."""
    if not given or not given.strip():
        return None
    g = _name_key(given)
    if g in names:
        return g
    gw = set(g.split())
    hits = [k for k in names if _label_role(k) is None and (gw <= set(k.split()) or set(k.split()) <= gw)]
    return hits[0] if len(hits) == 1 else None


def _candidate_score(turns: list[Turn], key: str) -> tuple[float, float, int]:
    """Candidates talk longer and ask fewer questions than interviewers."""
    mine = [t for t in turns if _key(t.speaker) == key]
    words = [len(t.text.split()) for t in mine]
    mean = sum(words) / len(words)
    asks = sum(1 for t in mine if "?" in t.text) / len(mine)
    return (mean * (1.0 - asks), mean, sum(words))


def _select_pairs(drafts: list[_Draft], candidate: str, source: str) -> list[_Draft]:
    """In a cohort sheet (a candidate per row) keep only the named candidate's pairs."""
    answers = {_name_key(d.speaker): d.speaker for d in drafts
               if d.pair is not None and d.role == CANDIDATE and d.speaker}
    if not answers:
        return drafts
    k = _match_name(candidate, answers)
    if k is None:
        raise _error(f"candidate '{_collapse(candidate)}' has no answers in this transcript "
                     f"(candidates found: {', '.join(answers.values())})", source)
    keep = {d.pair for d in drafts if d.pair is not None and d.role == CANDIDATE and _key(d.speaker) == k}
    return [d for d in drafts if d.pair is None or d.pair in keep]


# --------------------------------------------------------------------------------------------------
# Plain text


def _parse_text(text: str, source: str) -> tuple[list[_Draft], str | None]:
    lines = text.split("\n")
    hits = [_label_match(line) for line in lines]
    first = next((h for line, h in zip(lines, hits) if line.strip()), None)
    accepted = _accepted_labels([h[0] for h in hits if h], first_is_label=first is not None)
    drafts: list[_Draft] = []
    labelled = False
    for number, (line, hit) in enumerate(zip(lines, hits), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if hit and _name_key(hit[0]) in accepted:
            labelled = True
            drafts.append(_Draft(hit[0], number, [hit[1]]))
        elif drafts:
            drafts[-1].parts.append(_TS_PREFIX_RE.sub("", stripped))
        else:
            drafts.append(_Draft(None, number, [_TS_PREFIX_RE.sub("", stripped)]))
    if not labelled:                     # no speakers at all: a practice answer on its own
        for draft in drafts:
            draft.role = CANDIDATE
    return drafts, None


# --------------------------------------------------------------------------------------------------
# Markdown

_MD_HEADING_OPEN = re.compile(r"^(#{1,6})[ \t]+")


def _md_heading(s: str) -> tuple[int, str] | None:
    """(level, text) of an ATX heading ("## Q3 ##"), else None. Done by hand, not by one regex: a lazy text
    group beside optional whitespace runs backtracks quadratically on a heading of 40,000 spaces."""
    m = _MD_HEADING_OPEN.match(s)
    if not m:
        return None
    text = s[m.end():].rstrip(" \t")
    closed = text.rstrip("#")
    if closed != text and (not closed or closed[-1] in " \t"):  # a closing run of '#', after a space
        text = closed.rstrip(" \t")
    return len(m.group(1)), text
_MD_BOLD = re.compile(r"^(\*\*|__)(?P<inner>.+?)\1(?P<rest>.*)$")
_MD_FENCE = re.compile(r"^\s*(```|~~~)")
_MD_RULE = re.compile(r"^(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$")
_MD_LIST = re.compile(r"^(?:[-*+]|\d{1,3}[.)])[ \t]+")
_QLABEL_RE = re.compile(
    r"^(?P<label>(?:Q|Question)(?:[ \t]*#)?(?:[ \t]*\d+[a-z]?)?|Follow[- ]?up(?:[ \t]+question)?)"
    r"[ \t]*(?:[:.)\-–—][ \t]*|$)(?P<text>.*)$", re.I)
_QUESTION_WORDS = {
    "what", "how", "why", "when", "where", "which", "who", "whom", "whose", "can", "could", "would",
    "should", "will", "do", "does", "did", "is", "are", "was", "were", "have", "has", "tell", "explain",
    "describe", "walk", "compare", "contrast", "give", "talk", "define", "discuss", "derive", "design",
    "summarize", "summarise", "outline", "suppose", "imagine", "share", "any", "name", "list",
}


def _md_inline(text: str) -> str:
    """Markdown emphasis, code marks and links reduced to their words."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"</?(?:br|p|em|strong|b|i|u|sub|sup|span|div|code|mark)\b[^<>]*>", " ", text, flags=re.I)
    text = text.replace("**", "").replace("__", "").replace("`", "")
    text = re.sub(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])", r"\1", text)   # *create*
    text = re.sub(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])", r"\1", text)      # _but W_merged stays_
    text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!>])", r"\1", text)
    return text.strip()


def _question_shaped(text: str) -> bool:
    t = text.strip().rstrip("*_`\"'”’ ").strip()
    if t.endswith("?"):
        return True
    m = re.match(r"[A-Za-z']+", t)
    return bool(m) and m.group().casefold() in _QUESTION_WORDS


def _front_matter(lines: list[str], source: str) -> tuple[dict[str, str], int]:
    """A leading ``---`` block: simple ``key: value`` fields, and the index of the first body line."""
    if not lines or lines[0].strip() != "---":
        return {}, 0
    meta: dict[str, str] = {}
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            return meta, i + 1
        m = re.match(r"^\s*([A-Za-z_][\w-]*)\s*:\s*(.*?)\s*$", lines[i])
        if m:
            meta[m.group(1).casefold()] = m.group(2).strip("'\"")
    raise _error("the front matter opened by '---' on line 1 is never closed by another '---' line",
                 source, 1)


class _MarkdownReader:
    """Headings and bold lines introduce the interviewer's questions; paragraphs after them are the
    candidate's answer; ``**Name:** text`` and ``Name: text`` lines are ordinary speaker turns."""

    def __init__(self, accepted: set[str]):
        self.accepted = accepted
        self.drafts: list[_Draft] = []
        self.cur: _Draft | None = None
        self.kind = ""          # question | answer | speaker | loose | section
        self.open = False       # a line right below (no blank line) continues the current turn
        self.blank = False

    def flush(self) -> None:
        if self.cur is not None:
            self.drafts.append(self.cur)
        self.cur = None

    def question(self, line: int, speaker: str | None, text: str, *, open_: bool,
                 role: str = INTERVIEWER) -> None:
        self.flush()
        self.cur = _Draft(speaker, line, [text] if text else [], role=role, merge=False)
        self.kind = "question" if role == INTERVIEWER else "answer"
        self.open, self.blank = open_, False

    def section(self) -> None:
        self.flush()
        self.kind, self.open, self.blank = "section", False, False

    def labelled(self, line: int, name: str, text: str) -> None:
        cur = self.cur
        if (cur is not None and cur.merge and cur.speaker is not None
                and _key(cur.speaker) == _key(name)):
            cur.parts.append(text)
        else:
            self.flush()
            self.cur = _Draft(name, line, [text] if text else [])
            qlabel = _QLABEL_RE.match(name + ":")
            self.kind = "question" if (_label_role(name) == INTERVIEWER or qlabel) else "speaker"
        self.open, self.blank = True, False

    def text(self, line: int, text: str) -> None:
        if not text:
            return
        cur = self.cur
        if cur is not None and ((self.open and not self.blank)
                                or (self.kind == "question" and not cur.parts)):
            cur.parts.append(text)
        elif cur is not None and self.kind == "question":
            self.flush()
            self.cur = _Draft(None, line, [text], role=CANDIDATE, merge=False)
            self.kind = "answer"
        elif cur is not None:
            cur.parts.append(text)
        else:
            self.cur = _Draft(None, line, [text], merge=False)
            self.kind = "loose"
        self.open, self.blank = True, False

    def heading(self, line: int, level: int, body: str) -> None:
        q = _QLABEL_RE.match(body)
        if q:
            rest = q.group("text").strip()
            self.question(line, q.group("label").strip(), rest, open_=not rest)
            return
        hit = _label_match(body)
        if hit and hit[1].strip():
            role = _label_role(hit[0]) or INTERVIEWER   # a heading asks, unless labelled an answer
            self.question(line, hit[0], hit[1].strip(), open_=False, role=role)
        elif (level >= 2 and _question_shaped(body)) or body.rstrip().endswith("?"):
            self.question(line, None, body, open_=False)
        else:
            self.section()

    def bold(self, line: int, inner: str, rest: str) -> bool:
        """Handle a line opening in bold; False when it is just emphasis inside the text."""
        inner, rest = inner.strip(), rest.strip()
        if inner.endswith(":") or rest.startswith(":"):
            label = inner.rstrip(":").strip()
            text = _md_inline(rest.lstrip(":").strip())
            q = _QLABEL_RE.match(label + ":")
            name = q.group("label").strip() if q else _label_name(label)
            if name:
                self.labelled(line, name, text)
                return True
            return False
        if rest:
            return False
        q = _QLABEL_RE.match(inner)
        if q and q.group("text").strip():
            self.question(line, q.group("label").strip(), _md_inline(q.group("text")), open_=False)
            return True
        if _question_shaped(inner):
            self.question(line, None, _md_inline(inner), open_=False)
            return True
        return False


def _parse_markdown(text: str, source: str) -> tuple[list[_Draft], str | None]:
    lines = text.split("\n")
    meta, start = _front_matter(lines, source)
    body = [(number, line) for number, line in enumerate(lines, start=1) if number > start]

    plain: list[str] = []                        # first pass: plain "Name:" labels, for the count rule
    bold: list[str] = []
    first_is_label = None
    in_fence = False
    for _, line in body:
        if _MD_FENCE.match(line):
            in_fence = not in_fence
            continue
        s = _MD_LIST.sub("", re.sub(r"^(?:>[ \t]?)+", "", line.strip()).strip())
        if in_fence or not s or _md_heading(s):
            continue
        mb = _MD_BOLD.match(s)
        if mb and (mb.group("inner").strip().endswith(":") or mb.group("rest").strip().startswith(":")):
            name = _label_name(mb.group("inner").strip().rstrip(":"))
            if name:
                bold.append(name)
            continue
        hit = _label_match(s)
        if first_is_label is None:
            first_is_label = hit is not None
        if hit:
            plain.append(hit[0])
    reader = _MarkdownReader(_accepted_labels(plain, bold, bool(first_is_label)))

    in_fence = in_comment = False
    for number, line in body:
        if _MD_FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            reader.text(number, line.strip())
            continue
        s = line.strip()
        if in_comment or s.startswith("<!--"):
            in_comment = "-->" not in s
            continue
        if not s or _MD_RULE.match(s):
            reader.blank = True
            continue
        s = re.sub(r"^(?:>[ \t]?)+", "", s).strip()
        if not s:
            reader.blank = True
            continue
        mh = _md_heading(s)
        if mh:
            reader.heading(number, mh[0], _md_inline(mh[1]))
            continue
        s = _MD_LIST.sub("", s)
        mb = _MD_BOLD.match(s)
        if mb and reader.bold(number, mb.group("inner"), mb.group("rest")):
            continue
        hit = _label_match(_md_inline(s))
        if hit and _name_key(hit[0]) in reader.accepted:
            reader.labelled(number, hit[0], hit[1].strip())
            continue
        reader.text(number, _md_inline(s))
    reader.flush()
    drafts = reader.drafts
    if not any(d.speaker is not None or d.role is not None for d in drafts):
        for draft in drafts:             # no questions and no speakers: a practice answer on its own
            draft.role = CANDIDATE
    return drafts, meta.get("candidate") or None


# --------------------------------------------------------------------------------------------------
# JSON and JSON Lines

_QUESTION_KEYS = ("question", "prompt", "q", "interviewerquestion")
_ANSWER_KEYS = ("answer", "response", "a", "candidateanswer", "reply")
_SPEAKER_KEYS = ("speaker", "name", "speakername", "who")
_TEXT_KEYS = ("text", "content", "utterance", "message")
_CANDIDATE_KEYS = ("candidate", "candidatename", "interviewee")
_LIST_KEYS = ("turns", "pairs", "qa")
_DECODER = json.JSONDecoder()


def _norm_key(key: str) -> str:
    return re.sub(r"[\s_\-]+", "", key.casefold())


def _first_key(obj: dict[str, Any], keys: Sequence[str]) -> str | None:
    return next((k for k in keys if k in obj), None)


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null", int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _item_drafts(obj: dict[str, Any], what: str, line: int, key_line: Callable[[str], int],
                 source: str, pair_no: int) -> list[_Draft]:
    """One JSON object / CSV row: a {speaker, text} turn or a {question, answer} pair."""
    fields = {_norm_key(k): (k, v) for k, v in obj.items() if isinstance(k, str)}

    def string(norm: str) -> str | None:
        original, value = fields[norm]
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise _error(f"the '{original}' field of {what} must be a string, not {_type_name(value)}",
                     source, key_line(original))

    qk, ak = _first_key(fields, _QUESTION_KEYS), _first_key(fields, _ANSWER_KEYS)
    if qk or ak:
        question = (string(qk) or "") if qk else ""
        answer = (string(ak) or "") if ak else ""
        ck = _first_key(fields, _CANDIDATE_KEYS)
        who = string(ck) if ck else None
        asker = string("interviewer") if "interviewer" in fields else None
        drafts = []
        if question.strip():
            drafts.append(_Draft(asker or None, line, [question], role=INTERVIEWER, merge=False,
                                 pair=pair_no))
        drafts.append(_Draft(_collapse(who) if who and who.strip() else None,
                             key_line(fields[ak][0]) if ak else line, [answer], role=CANDIDATE,
                             merge=False, keep_empty=bool(question.strip()), pair=pair_no))
        return drafts
    tk = _first_key(fields, _TEXT_KEYS)
    sk = _first_key(fields, _SPEAKER_KEYS) or ("role" if "role" in fields else None)
    if tk:
        speaker = string(sk) if sk else None
        role_word = string("role") if "role" in fields else None
        speaker = _collapse(speaker) if speaker and speaker.strip() else None
        return [_Draft(speaker, line, [string(tk) or ""], role=_label_role(role_word))]
    found = ", ".join(str(k) for k in obj) or "none"
    raise _error(f"{what} has neither speaker/text nor question/answer fields (fields found: {found})",
                 source, line)


class _LineIndex:
    """Offset -> 1-based line, by bisecting the newline positions once."""

    def __init__(self, text: str):
        self.newlines = [m.start() for m in re.finditer("\n", text)]

    def __call__(self, offset: int) -> int:
        return bisect_right(self.newlines, offset - 1) + 1


def _skip_ws(s: str, i: int) -> int:
    while i < len(s) and s[i] in " \t\n\r":
        i += 1
    return i


def _array_offsets(s: str, i: int) -> list[int]:
    """Start offsets of the elements of the (valid) JSON array opening at ``s[i]``."""
    starts: list[int] = []
    i = _skip_ws(s, i + 1)
    if s[i] == "]":
        return starts
    while True:
        starts.append(i)
        _, i = _DECODER.raw_decode(s, i)
        i = _skip_ws(s, i)
        if s[i] != ",":
            return starts
        i = _skip_ws(s, i + 1)


def _object_offsets(s: str, i: int) -> dict[str, int]:
    """Offset of each key of the (valid) JSON object opening at ``s[i]``; the last duplicate wins."""
    keys: dict[str, int] = {}
    i = _skip_ws(s, i + 1)
    if s[i] == "}":
        return keys
    while True:
        start = i
        key, i = _DECODER.raw_decode(s, i)
        keys[key] = start
        i = _skip_ws(s, _skip_ws(s, i) + 1)
        _, i = _DECODER.raw_decode(s, i)
        i = _skip_ws(s, i)
        if s[i] != ",":
            return keys
        i = _skip_ws(s, i + 1)


def _value_offset(s: str, key_offset: int) -> int:
    _, i = _DECODER.raw_decode(s, key_offset)
    return _skip_ws(s, _skip_ws(s, i) + 1)


def _json_limit(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "arrays or objects nested too deeply"
    return " ".join(str(exc).split())[:160]


def _check_strings(data: Any, source: str, line: Callable[[], int]) -> None:
    """Refuse text that is not valid Unicode (a lone surrogate escape such as \\ud800) or holds NUL characters:
    no report could hold it. Iterative, so a deep structure cannot overflow the stack."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise _error("a string holds a NUL character (\\u0000), which is not text", source, line())
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise _error("a string holds a lone surrogate escape (such as \\ud800), which is not valid "
                             "Unicode text", source, line()) from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _parse_json(text: str, source: str) -> tuple[list[_Draft], str | None]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _error(f"invalid JSON: {exc.msg} at column {exc.colno}", source, exc.lineno) from None
    except (ValueError, RecursionError) as exc:  # nested too deep, or an integer of thousands of digits
        raise _error(f"JSON this program cannot read: {_json_limit(exc)}", source, 1) from None
    _check_strings(data, source, lambda: 1)
    line_of = _LineIndex(text)
    root = _skip_ws(text, 0)
    declared: str | None = None
    if isinstance(data, dict):
        keys = _object_offsets(text, root)
        cand_key = next((k for k in data if _norm_key(k) in _CANDIDATE_KEYS), None)
        if cand_key is not None:
            value = data[cand_key]
            if value is not None and not isinstance(value, str):
                raise _error(f"the top-level '{cand_key}' field must be a string, not {_type_name(value)}",
                             source, line_of(keys[cand_key]))
            declared = value.strip() if value and value.strip() else None
        list_key = next((k for k in data if _norm_key(k) in _LIST_KEYS), None)
        if list_key is None:
            if any(_norm_key(k) in _QUESTION_KEYS + _ANSWER_KEYS + _TEXT_KEYS for k in data):
                items = [(data, root)]         # a single turn or pair on its own
            else:
                raise _error("the JSON object has no 'turns', 'pairs' or 'qa' list (keys found: "
                             f"{', '.join(data) or 'none'})", source, line_of(root))
        else:
            value = data[list_key]
            if not isinstance(value, list):
                raise _error(f"'{list_key}' must be a list of turns or pairs, not {_type_name(value)}",
                             source, line_of(keys[list_key]))
            items = list(zip(value, _array_offsets(text, _value_offset(text, keys[list_key]))))
    elif isinstance(data, list):
        items = list(zip(data, _array_offsets(text, root)))
    else:
        raise _error(f"a JSON transcript must be a list or an object, not {_type_name(data)}",
                     source, line_of(root))
    drafts: list[_Draft] = []
    for number, (item, offset) in enumerate(items, start=1):
        line = line_of(offset)
        if not isinstance(item, dict):
            raise _error(f"item {number} is {_type_name(item)}, not an object with speaker/text or "
                         "question/answer fields", source, line)
        offsets = _object_offsets(text, offset)
        drafts += _item_drafts(item, f"item {number}", line,
                               lambda k, o=offsets, d=line: line_of(o[k]) if k in o else d,
                               source, number)
    return drafts, declared


def _parse_jsonl(text: str, source: str) -> tuple[list[_Draft], str | None]:
    drafts: list[_Draft] = []
    declared: str | None = None
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _error(f"this line is not valid JSON: {exc.msg} at column {exc.colno}",
                         source, number) from None
        except (ValueError, RecursionError) as exc:
            raise _error(f"JSON this program cannot read: {_json_limit(exc)}", source, number) from None
        _check_strings(item, source, lambda n=number: n)
        if not isinstance(item, dict):
            raise _error(f"each line must be a JSON object, but this one is {_type_name(item)}",
                         source, number)
        norm = {_norm_key(k) for k in item}
        if norm and norm <= set(_CANDIDATE_KEYS):      # {"candidate": "Dana Lee"} names the candidate
            value = next(iter(item.values()))
            if isinstance(value, str) and value.strip():
                declared = value.strip()
            continue
        drafts += _item_drafts(item, "this line", number, lambda _k, n=number: n, source, number)
    return drafts, declared


# --------------------------------------------------------------------------------------------------
# CSV

_CSV_SPEAKER = ("speaker", "name", "speakername", "who", "role")


def _looks_like_csv_header(line: str) -> bool:
    delim = max(",;\t", key=line.count)
    if line.count(delim) == 0:
        return False
    cols = {_norm_key(c.strip().strip('"')) for c in line.split(delim)}
    return bool((cols & set(_QUESTION_KEYS) and cols & set(_ANSWER_KEYS))
                or (cols & set(_CSV_SPEAKER) and cols & set(_TEXT_KEYS)))


def _parse_csv(text: str, source: str) -> tuple[list[_Draft], str | None]:
    lines = text.split("\n")
    head = next(line for line in lines if line.strip())
    delim = max(",;\t", key=head.count) if any(c in head for c in ",;\t") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delim, strict=True)
    header: list[str] | None = None
    drafts: list[_Draft] = []
    end = 0
    while True:
        start = end + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if "end of data" in str(exc):
                raise _error("a quoted field that starts in this row is never closed by a '\"'",
                             source, start) from None
            raise _error(f"malformed CSV row ({exc})", source, reader.line_num or start) from None
        end = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip() for cell in row]
            norm = {_norm_key(c) for c in header}
            pairs = bool(norm & set(_QUESTION_KEYS) and norm & set(_ANSWER_KEYS))
            turns = bool(norm & set(_TEXT_KEYS) and norm & set(_CSV_SPEAKER))
            if not (pairs or turns):
                raise _error("the CSV header needs question/answer (or prompt/response) columns or "
                             f"speaker/text columns, but it has: {', '.join(header)}", source, start)
            continue
        extra = [cell for cell in row[len(header):] if cell.strip()]
        if extra:
            sep = "tab" if delim == "\t" else f"'{delim}'"
            raise _error(f"this row has {len(header) + len(extra)} fields but the header has "
                         f"{len(header)}, so quote any field that contains a {sep}", source, start)
        obj = {name: (row[i] if i < len(row) else "") for i, name in enumerate(header) if name}
        if not any(v.strip() for v in obj.values()):
            continue
        drafts += _item_drafts(obj, "this row", start, lambda _k, n=start: n, source, start)
    return drafts, None


# --------------------------------------------------------------------------------------------------
# Captions: WebVTT and SRT

_VTT_TS = r"(?:\d{2,}:)?[0-5]\d:[0-5]\d\.\d{3}"
_VTT_TIMING = re.compile(rf"^({_VTT_TS})[ \t]+-->[ \t]+({_VTT_TS})(?:[ \t]+\S.*)?$")
_SRT_TS = r"\d{1,3}:[0-5]\d:[0-5]\d[,.]\d{1,3}"
_SRT_TIMING = re.compile(rf"^({_SRT_TS})[ \t]*-->[ \t]*({_SRT_TS})(?:[ \t]+\S.*)?$")
_VOICE_RE = re.compile(r"<v(?:\.[^\s>]*)?(?:[ \t]([^>]*))?>", re.I)  # one [ \t]: the name is collapsed
_TAG_RE = re.compile(r"</?[A-Za-z][^<>]*>|<\d[\d:.]*>|\{\\[^}]*\}")
_SOUNDS = {"music", "laughs", "laughter", "laughing", "applause", "inaudible", "crosstalk", "silence",
           "pause", "noise", "background noise", "coughs", "cough", "sighs", "chuckles", "indistinct",
           "unintelligible", "foreign", "blank_audio", "no audio", "static", "typing", "clears throat"}


def _looks_like_timing(line: str) -> bool:
    return "-->" in line or bool(re.match(r"^\s*\d{1,3}:\d{2}(?::\d{2})?[.,]\d", line))


def _seconds(stamp: str) -> float:
    parts = stamp.replace(",", ".").split(":")
    return sum(float(p) * 60 ** i for i, p in enumerate(reversed(parts)))


def _check_timing(line: str, number: int, pattern: re.Pattern[str], example: str, source: str) -> None:
    m = pattern.match(line.strip())
    if not m:
        raise _error(f"malformed cue timing line '{_short(line)}', expected a line like '{example}'",
                     source, number)
    if _seconds(m.group(2)) < _seconds(m.group(1)):
        raise _error(f"the cue ends ({m.group(2)}) before it starts ({m.group(1)})", source, number)


def _blocks(lines: list[str], start: int = 0) -> list[list[tuple[int, str]]]:
    """Runs of non-blank lines, each line with its 1-based number."""
    blocks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for number, line in enumerate(lines[start:], start=start + 1):
        if line.strip():
            current.append((number, line))
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _caption_segments(payload: list[tuple[int, str]]) -> list[tuple[int, str | None, str, bool]]:
    """Split cue text into (line, speaker or None, text, explicit) at voice tags and speaker labels."""
    out: list[tuple[int, str | None, str, bool]] = []
    for number, raw in payload:
        spans = list(_VOICE_RE.finditer(raw))
        if spans:
            if raw[:spans[0].start()].strip():
                out.append((number, None, raw[:spans[0].start()], False))
            for j, m in enumerate(spans):
                end = spans[j + 1].start() if j + 1 < len(spans) else len(raw)
                out.append((number, _collapse(m.group(1) or "") or None, raw[m.end():end], True))
            continue
        s = html.unescape(_TAG_RE.sub("", raw)).strip()
        s = re.sub(r"^(?:>>+|[-–—])\s*", "", s)
        m = re.match(r"^\[([^\]]{1,60})\]\s*:?\s*(.*)$", s)
        if m and m.group(1).strip().casefold() not in _SOUNDS and _label_name(m.group(1)):
            out.append((number, _collapse(m.group(1)), m.group(2), True))
            continue
        hit = _label_match(s)
        if hit:
            out.append((number, hit[0], hit[1], False))
        else:
            out.append((number, None, s, False))
    return out


def _caption_drafts(payload: list[tuple[int, str]]) -> list[_Draft]:
    """Cue text to drafts: a cue without a speaker continues the previous speaker."""
    segments = _caption_segments(payload)
    labels = [name for _, name, _, explicit in segments if name and not explicit]
    explicit = [name for _, name, _, exp in segments if name and exp]
    first_is_label = bool(segments) and segments[0][1] is not None
    accepted = _accepted_labels(labels, explicit, first_is_label)
    drafts: list[_Draft] = []
    speaker: str | None = None
    for number, name, text, _ in segments:
        if name is not None and _name_key(name) in accepted:
            speaker = name
        elif name is not None:             # a lone "Word:" that is not a speaker: keep it as text
            text = f"{name}: {text}"
        clean = html.unescape(_TAG_RE.sub("", text))
        clean = re.sub(r"\[[^\]]*\]|♪", " ", clean)
        if _collapse(clean):
            drafts.append(_Draft(speaker, number, [clean]))
    return drafts


def _parse_vtt(text: str, source: str) -> tuple[list[_Draft], str | None]:
    lines = text.split("\n")
    if not re.match(r"^WEBVTT(?:[ \t].*)?$", lines[0].rstrip()):
        raise _error(f"a WebVTT file must start with a 'WEBVTT' line, but line 1 is "
                     f"'{_short(lines[0])}'", source, 1)
    blocks = _blocks(lines)
    payload: list[tuple[int, str]] = []
    seen_cue = False
    example = "00:00:01.000 --> 00:00:04.000"
    for block in blocks[1:]:                       # the first block is the header
        head = block[0][1].strip()
        if re.match(r"^(?:NOTE|STYLE|REGION)(?:\s|$)", head):
            continue
        if _looks_like_timing(head):
            at = 0
        elif len(block) > 1 and _looks_like_timing(block[1][1]):
            at = 1
        elif seen_cue:                             # a blank line inside cue text: keep the text
            payload += block
            continue
        else:
            where = block[1] if len(block) > 1 else block[0]
            raise _error(f"expected a cue timing line like '{example}' but found '{_short(where[1])}'",
                         source, where[0])
        _check_timing(block[at][1], block[at][0], _VTT_TIMING, example, source)
        seen_cue = True
        payload += block[at + 1:]
    return _caption_drafts(payload), None


def _parse_srt(text: str, source: str) -> tuple[list[_Draft], str | None]:
    payload: list[tuple[int, str]] = []
    seen_cue = False
    example = "00:00:01,000 --> 00:00:04,000"
    for block in _blocks(text.split("\n")):
        (n0, l0) = block[0]
        if l0.strip().isdigit():
            if len(block) < 2:
                raise _error(f"cue {l0.strip()} has no timing line after its number", source, n0)
            _check_timing(block[1][1], block[1][0], _SRT_TIMING, example, source)
            body = block[2:]
        elif _looks_like_timing(l0):             # a cue without its number: tolerated
            _check_timing(l0, n0, _SRT_TIMING, example, source)
            body = block[1:]
        elif len(block) > 1 and _looks_like_timing(block[1][1]):
            raise _error(f"expected a cue number but found '{_short(l0)}'", source, n0)
        elif seen_cue:                             # a blank line inside cue text: keep the text
            payload += block
            continue
        else:
            raise _error(f"expected a numbered cue followed by a timing line like '{example}' but "
                         f"found '{_short(l0)}'", source, n0)
        seen_cue = True
        payload += body
    return _caption_drafts(payload), None


_PARSERS: dict[str, Callable[[str, str], tuple[list[_Draft], str | None]]] = {
    "text": _parse_text,
    "markdown": _parse_markdown,
    "json": _parse_json,
    "jsonl": _parse_jsonl,
    "csv": _parse_csv,
    "vtt": _parse_vtt,
    "srt": _parse_srt,
}
