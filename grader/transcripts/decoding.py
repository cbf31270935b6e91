"""Reading a transcript's bytes and decoding them: bounded size, BOMs, UTF-16, legacy code pages.
"""
from __future__ import annotations

import codecs
from pathlib import Path

from grader.transcripts.model import MAX_TRANSCRIPT_BYTES, _error


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
