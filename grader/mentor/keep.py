"""Never lose what a person made: mentor reviews, calibrations and the progress history.

A report is regenerable; the reviews in it are not. Regrading carries every review over to the new report
(:func:`carry_reviews`): to the same answer when its text is unchanged, else under ``orphaned_reviews`` with
the old answer text. Any other write over a file that holds a person's work (a reviewed report, a calibration,
a history database) is refused unless the user says ``--force`` (:func:`guard_overwrite`).
"""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from grader.errors import OutputError

#: Files larger than this are not inspected for reviews (no report is this large; see schemas.MAX_REPORT_BYTES).
_MAX_INSPECT_BYTES = 64 * 1024 * 1024
_SQLITE_MAGIC = b"SQLite format 3\x00"


def review_key(review: dict) -> tuple:
    return (review.get("reviewed_at"), review.get("reviewer"), review.get("grade"), review.get("note"))


def _entries(kind: str, data: dict) -> list[dict]:
    if kind == "question":
        return [data]
    return [a for a in data.get("answers") or () if isinstance(a, dict)]


def all_reviews(data: dict) -> list[dict]:
    """Every review a report holds: on its answers and under ``orphaned_reviews``."""
    if not isinstance(data, dict):
        return []
    kind = "transcript" if "answers" in data else "question"
    found = [r for e in _entries(kind, data) for r in e.get("reviews") or () if isinstance(r, dict)]
    for orphan in data.get("orphaned_reviews") or ():
        if isinstance(orphan, dict):
            found += [r for r in orphan.get("reviews") or () if isinstance(r, dict)]
    return found


def carry_reviews(kind: str, old: dict | None, new: dict) -> tuple[dict, int, int]:
    """``new`` with the reviews of ``old`` (the earlier report of the same input) carried over.

    A review goes back onto the answer to the same question with the same text (in order, each new answer taking
    at most one earlier answer's reviews); otherwise it is kept under ``orphaned_reviews`` with the old answer
    text, so that a regrade never drops a review. Earlier orphans re-attach when their answer comes back.
    Returns (report, reviews carried onto answers, reviews kept as orphans). ``new`` itself is not changed.
    """
    if not isinstance(old, dict):
        return new, 0, 0
    old_kind = "transcript" if "answers" in old else "question"
    pending = []  # (question_id, answer text, entry) holding reviews
    for entry in _entries(old_kind, old):
        if entry.get("reviews"):
            pending.append(entry)
    pending += [o for o in old.get("orphaned_reviews") or () if isinstance(o, dict) and o.get("reviews")]
    if not pending:
        return new, 0, 0
    out = json.loads(json.dumps(new))
    targets = _entries(kind, out)
    taken: set[int] = set()
    carried = orphaned = 0
    orphans = []
    for entry in pending:
        reviews = [r for r in entry["reviews"] if isinstance(r, dict)]
        qid, text = entry.get("question_id"), entry.get("answer")
        index = next((i for i, t in enumerate(targets) if i not in taken and t.get("question_id") == qid
                      and t.get("score") is not None and t.get("answer") == text), None)
        if index is None:
            orphans.append({"question_id": qid, "question": entry.get("question", ""),
                            "asked": entry.get("asked", entry.get("question", "")), "answer": text or "",
                            "score": entry.get("score"), "reviews": reviews})
            orphaned += len(reviews)
            continue
        taken.add(index)
        target = targets[index]
        have = {review_key(r) for r in target.get("reviews") or ()}
        merged = list(target.get("reviews") or ()) + [r for r in reviews if review_key(r) not in have]
        target["reviews"] = sorted(merged, key=lambda r: str(r.get("reviewed_at", "")))
        carried += len(merged) - len(have)
    if orphans:
        out["orphaned_reviews"] = orphans
    return out, carried, orphaned


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def read_existing(path: str | Path) -> dict | None:
    """The JSON object in ``path`` when it is a readable regular file holding one, else None (never raises)."""
    path = Path(path)
    if not _regular(path):
        return None
    try:
        with open(path, "rb") as fh:
            raw = fh.read(_MAX_INSPECT_BYTES + 1)
        if len(raw) > _MAX_INSPECT_BYTES:
            return None
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = raw.decode("utf-16")
        else:
            text = raw.decode("utf-8-sig")
        data = json.loads(text)
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def person_made(path: str | Path) -> str | None:
    """What a person made that ``path`` holds (to name it in a refusal), or None."""
    path = Path(path)
    if not _regular(path):
        return None
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
    except OSError:
        return None
    if head == _SQLITE_MAGIC:
        return "a SQLite database (such as the progress history)"
    data = read_existing(path)
    if data is None:
        return None
    from grader.scoring.calibration import FORMAT

    if data.get("format") == FORMAT:
        return "a calibration file"
    reviews = all_reviews(data) if "schema_version" in data else []
    if reviews:
        return f"a report with {len(reviews)} mentor review(s)"
    return None


def guard_overwrite(path: str | Path, *, force: bool, text: str | None = None,
                    keeps_reviews: bool = False) -> None:
    """Refuse to replace a file that holds a person's work, unless ``force``.

    With ``text`` (the new content), a reviewed report may be replaced by one that still holds all its reviews.
    ``keeps_reviews`` says the writer will carry the reviews over itself (checked again with ``text``).
    """
    if force:
        return
    what = person_made(path)
    if what is None:
        return
    if what.startswith("a report"):
        if keeps_reviews and text is None:
            return
        if text is not None:
            old = {review_key(r) for r in all_reviews(read_existing(path) or {})}
            try:
                new = {review_key(r) for r in all_reviews(json.loads(text))}
            except (ValueError, RecursionError):
                new = set()
            if old <= new:
                return
    raise OutputError(f"holds {what}; writing here would lose it: choose another file, or add --force to "
                      "replace it", path=path)
