"""The transcript data model: ``Transcript`` of ``Turn`` s, and the drafts every format parser produces.

A parser returns ``_Draft`` s (speaker, text parts, line); ``reader`` merges them into turns and gives
them roles, so no format needs to know about roles or question matching.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from grader.errors import TranscriptParseError

FORMATS = ("text", "markdown", "json", "jsonl", "csv", "vtt", "srt")
#: A transcript larger than this is refused rather than read into memory (a day of captions is a few MB).
MAX_TRANSCRIPT_BYTES = 64 * 1024 * 1024

INTERVIEWER = "interviewer"
CANDIDATE = "candidate"


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
