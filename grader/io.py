"""Reading user files and writing reports safely (atomic writes, clear errors)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from grader.errors import InputError, OutputError

#: An answer file larger than this is refused rather than read into memory.
MAX_ANSWER_BYTES = 4 * 1024 * 1024


def decode_text(raw: bytes, path: str | Path) -> str:
    """UTF-8 (BOM allowed) or UTF-16 with a BOM; anything else is an error naming the first bad line."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError("file starts like UTF-16 but is not valid UTF-16", path=path) from None
    if b"\x00" in raw[:8192]:
        raise InputError("file looks binary (it contains NUL bytes), not text", path=path)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
                         path=path, line=line) from None


def read_text_file(path: str | Path, limit: int = MAX_ANSWER_BYTES) -> str:
    path = Path(path)
    try:
        if path.is_dir():
            raise InputError("is a directory, expected a text file", path=path)
        size = path.stat().st_size
        if size > limit:
            raise InputError(f"file is {size:,} bytes; the limit is {limit:,}", path=path)
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", path=path) from None
    except PermissionError:
        raise InputError("permission denied", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", path=path) from None
    return decode_text(raw, path)


def write_atomic(path: str | Path, text: str) -> None:
    """Write via a temporary file in the same folder and rename: a reader never sees half a report."""
    path = Path(path)
    try:
        if path.is_dir():
            raise OutputError("is a directory, expected a file path", path=path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot write: {exc.strerror or exc}", path=path) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise OutputError(f"cannot write: {exc.strerror or exc}", path=path) from None
