"""Captions: WebVTT and SRT, with voice tags, cue timings checked and sound cues dropped.
"""
from __future__ import annotations

import html
import re

from grader.transcripts.labels import _accepted_labels, _label_match, _label_name
from grader.transcripts.model import _collapse, _Draft, _error, _name_key, _short

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
