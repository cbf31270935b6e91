"""On-disk cache of the judge's replies, so grading again costs nothing and gives the same verdict.

One JSON file per key; the key hashes the server's model id, the prompt file's hash, the guard's hash and the
inputs (question, reference, rubric, answer). Only accepted replies are stored (a failure is asked again next
time), and only what the server said: never the API key, the URL or a header. Files are written atomically; an
unreadable or damaged file is a miss, never trusted. Where the folder cannot be written, grading goes on.

Location: ``$GRADER_JUDGE_CACHE_DIR``, else ``judge/`` under ``$GRADER_CACHE_DIR``, ``$XDG_CACHE_HOME/grader``
or ``~/.cache/grader``.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

CACHE_ENV = "GRADER_JUDGE_CACHE_DIR"
FORMAT = 1


def default_cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    if os.environ.get("GRADER_CACHE_DIR"):
        return Path(os.environ["GRADER_CACHE_DIR"]).expanduser() / "judge"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "grader" / "judge"


def cache_key(parts: dict) -> str:
    """A stable hash of JSON-able ``parts`` (sorted keys, so dict order never matters)."""
    blob = json.dumps({"format": FORMAT, **parts}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ReplyCache:
    """``get(key)`` -> the stored reply dict or None; ``put(key, reply)``. ``folder=None`` disables it."""

    def __init__(self, folder: str | Path | None):
        self.folder = Path(folder).expanduser() if folder is not None else None

    def _path(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        if self.folder is None:
            return None
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != key \
                or not isinstance(data.get("reply"), dict):
            return None
        return data["reply"]

    def put(self, key: str, reply: dict) -> bool:
        """Store ``reply`` (what the server said: content, model id, usage); False where it cannot be written."""
        if self.folder is None:
            return False
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump({"format": FORMAT, "key": key, "reply": reply}, out, ensure_ascii=False)
                os.replace(tmp, path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except OSError:
            return False
        return True
