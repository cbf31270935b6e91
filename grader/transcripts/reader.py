"""Reading a transcript: the format from the extension or the content, then the format's parser.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable

from grader.transcripts.captions import _looks_like_timing, _parse_srt, _parse_vtt
from grader.transcripts.csv_format import _looks_like_csv_header, _parse_csv
from grader.transcripts.decoding import _decode, _read_bytes
from grader.transcripts.json_format import _parse_json, _parse_jsonl
from grader.transcripts.labels import _label_match
from grader.transcripts.markdown import _parse_markdown
from grader.transcripts.model import (
    _FORMAT_NAMES,
    Transcript,
    Turn,
    _collapse,
    _Draft,
    _error,
    _merge,
    _normalize_format,
)
from grader.transcripts.plain import _parse_text
from grader.transcripts.roles import _assign_roles, _select_pairs

_EXTENSIONS = {
    ".txt": "text", ".text": "text",
    ".md": "markdown", ".markdown": "markdown",
    ".json": "json",
    ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".csv": "csv", ".tsv": "csv",
    ".vtt": "vtt", ".webvtt": "vtt",
    ".srt": "srt",
}


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


_PARSERS: dict[str, Callable[[str, str], tuple[list[_Draft], str | None]]] = {
    "text": _parse_text,
    "markdown": _parse_markdown,
    "json": _parse_json,
    "jsonl": _parse_jsonl,
    "csv": _parse_csv,
    "vtt": _parse_vtt,
    "srt": _parse_srt,
}
