"""Reading user files and writing reports safely (atomic writes, clear errors)."""
from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

from grader.errors import InputError, OutputError

#: An answer file larger than this is refused rather than read into memory.
MAX_ANSWER_BYTES = 4 * 1024 * 1024


def decode_text(raw: bytes, path: str | Path) -> str:
    """UTF-8 (BOM allowed) or UTF-16 with a BOM; anything else is an error naming the first bad line. Text
    holding a NUL character is refused (as in transcripts): no report may carry it."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError("file starts like UTF-16 but is not valid UTF-16", path=path) from None
        refuse_nul(text, path=path)
        return text
    if b"\x00" in raw[:8192]:
        raise InputError("file looks binary (it contains NUL bytes), not text", path=path,
                         line=raw.count(b"\n", 0, raw.index(b"\x00")) + 1)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
                         path=path, line=line) from None
    refuse_nul(text, path=path)
    return text


def refuse_nul(text: str, *, path: str | Path | None = None, field: str | None = None) -> str:
    """``text`` unchanged, or an error naming where its first NUL character is (file and line, or field)."""
    at = text.find("\x00")
    if at >= 0:
        raise InputError("holds a NUL character (\\u0000), which is not text (is it a binary file?); remove it",
                         path=path, line=text.count("\n", 0, at) + 1 if path is not None else None, field=field)
    return text


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def read_bytes_limited(path: str | Path, limit: int) -> bytes:
    """At most ``limit`` bytes of a regular file; OSError(EFBIG) when it holds more, OSError(EINVAL) for a
    named pipe, socket or device (reading one may wait forever or never end). Opened without blocking, so a
    pipe with no writer is refused at once instead of hanging."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
            raise OSError(errno.EINVAL, f"is {_kind(mode)}, not a regular file; save the content to a file")
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory")
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"the file is larger than the limit of {limit:,} bytes")
    return data


def read_text_file(path: str | Path, limit: int = MAX_ANSWER_BYTES) -> str:
    path = Path(path)
    try:
        if path.is_dir():
            raise InputError("is a directory, expected a text file", path=path)
        size = path.stat().st_size
        if size > limit:
            raise InputError(f"file is {size:,} bytes; the limit is {limit:,}", path=path)
        raw = read_bytes_limited(path, limit)
    except FileNotFoundError:
        raise InputError("file not found", path=path) from None
    except PermissionError:
        raise InputError("permission denied", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read file: {_reason(exc, path)}", path=path) from None
    return decode_text(raw, path)


def _blocking_file(path: Path) -> Path | None:
    """The nearest ancestor of ``path`` that exists as something other than a folder, if any."""
    for parent in path.parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def _reason(exc: OSError, path: Path) -> str:
    blocker = _blocking_file(path)
    if blocker is not None:
        return f"{blocker} is a file, not a folder"
    if exc.errno == errno.ENOSPC:
        return "no space left on the device (disk full); the earlier file, if any, is unchanged"
    return exc.strerror or str(exc)


def check_writable(path: str | Path, *, folder: bool = False) -> None:
    """Refuse an output path before the work rather than after it: grading a cohort only to find that the
    report cannot be written loses that work. Creates nothing (a probe file is removed at once)."""
    path = Path(path)
    target = path if folder else path.parent
    if not folder and path.is_dir():
        raise OutputError("is a directory, expected a file path", path=path)
    if target.exists() and not target.is_dir():
        raise OutputError("is a file, expected a folder", path=target)
    blocker = _blocking_file(target)
    if blocker is not None:
        raise OutputError(f"cannot write: {blocker} is a file, not a folder", path=path)
    existing = next((p for p in (target, *target.parents) if p.exists()), None)
    # A typo in a path should not become a tree of folders: only a batch's own output folder is created, and
    # only inside a folder that exists.
    missing = target if not folder else target.parent
    if existing is not None and str(missing) not in ("", ".") and not missing.exists():
        raise OutputError(f"cannot write: the folder {missing} does not exist (create it first)", path=path)
    try:
        if existing == target:
            fd, probe = tempfile.mkstemp(prefix=".grader-probe.", dir=target)
            os.close(fd)
            os.unlink(probe)
        elif existing is not None and not os.access(existing, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, "Permission denied")
    except OSError as exc:
        raise OutputError(f"cannot write: {_reason(exc, path)}", path=path) from None


def _umask() -> int:
    """The process's umask (read by setting it back at once: Python has no other portable way)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _file_mode(path: Path) -> int:
    """The mode a written file gets: the earlier file's when it is replaced, else what a plain ``open`` would
    give under the user's umask (0644 with the usual 022). ``mkstemp`` alone makes 0600, which locks out the
    colleagues a coach shares a report folder with."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~_umask()


def write_atomic(path: str | Path, text: str) -> None:
    """Write via a temporary file in the same folder and rename: a reader never sees half a report, an earlier
    report survives a failed write (disk full, interrupted), and no temporary file is left behind. The file
    gets the user's usual permissions; its folder must exist (a typo in a path makes no tree of folders)."""
    path = Path(path)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise OutputError(f"cannot write: the text holds a character that is not valid Unicode (a lone "
                          f"surrogate at character {exc.start})", path=path) from None
    try:
        if path.is_dir():
            raise OutputError("is a directory, expected a file path", path=path)
        if not path.parent.is_dir() and _blocking_file(path) is None:
            raise OutputError(f"cannot write: the folder {path.parent} does not exist (create it first)", path=path)
        mode = _file_mode(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OutputError:
        raise
    except OSError as exc:
        raise _cannot_write(exc, path) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            if hasattr(os, "fchmod"):  # missing on Windows, where these modes mean little
                os.fchmod(fh.fileno(), mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:  # disk full, Ctrl-C: the temporary file goes, the earlier report stays
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise _cannot_write(exc, path) from None
        raise


#: Errors that stop every write, not one file's: a batch stops at the first instead of failing each report.
WHOLE_RUN_ERRNOS = frozenset(getattr(errno, name) for name in ("ENOSPC", "EDQUOT", "EROFS") if hasattr(errno, name))


def _cannot_write(exc: OSError, path: Path) -> OutputError:
    error = OutputError(f"cannot write: {_reason(exc, path)}", path=path)
    error.errno = exc.errno
    return error


_HELD: dict[str, int] = {}  # folder -> how many nested ``locked`` blocks of this process hold it


@contextlib.contextmanager
def locked(path: str | Path):
    """Hold an exclusive lock for a read-modify-write of ``path``: two processes reviewing one report queue
    instead of each writing back what it read (one review lost). The lock is taken on the folder (a report is
    replaced by rename, so the file itself cannot carry it) and is re-entrant within a process; where fcntl is
    missing (Windows), there is no lock."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    folder = os.path.realpath(Path(path).parent)
    if _HELD.get(folder):
        _HELD[folder] += 1
        try:
            yield
        finally:
            _HELD[folder] -= 1
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        yield  # the folder cannot be opened (yet): the write that follows creates it or reports why
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        _HELD[folder] = 1
        yield
    finally:
        _HELD.pop(folder, None)
        os.close(fd)  # closing releases the lock
