"""On-disk cache of reference-answer encodings, so a cold ``grader grade`` skips encoding the bank.

One ``.npz`` file per (model, layer, idf sentences, reference texts, grader version), written atomically,
read with ``allow_pickle=False`` (loading runs no code) and verified with a checksum over its arrays: a stale
key misses, a corrupt or truncated file is rebuilt, never trusted. Where the cache folder cannot be written,
grading goes on without it.

Location: ``$GRADER_CACHE_DIR``, else ``$XDG_CACHE_HOME/grader``, else ``~/.cache/grader``.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

CACHE_ENV = "GRADER_CACHE_DIR"


def cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "grader"


def cache_key(*parts: object) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(repr(part).encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:24]


def _checksum(arrays: dict) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        if name == "checksum":
            continue
        value = arrays[name]
        h.update(name.encode())
        h.update(str(value.dtype).encode() + str(value.shape).encode())
        h.update(value.tobytes())
    return h.hexdigest()


def load(key: str) -> dict | None:
    """The arrays stored under ``key``, or None when absent, stale or damaged."""
    import numpy as np

    path = cache_dir() / f"refs-{key}.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, KeyError, EOFError):
        return None
    except Exception:  # zipfile.BadZipFile and friends: a damaged file is a miss, never a crash
        return None
    if "checksum" not in arrays or str(arrays["checksum"]) != _checksum(arrays):
        return None
    if str(arrays.get("key", "")) != key:
        return None
    return arrays


def save(key: str, arrays: dict) -> bool:
    """Store arrays atomically; False (and no file) when the cache folder is not writable."""
    import numpy as np

    folder = cache_dir()
    arrays = {**arrays, "key": np.array(key)}
    arrays["checksum"] = np.array(_checksum(arrays))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".refs-", suffix=".npz.tmp", dir=folder)
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, folder / f"refs-{key}.npz")
        return True
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False
