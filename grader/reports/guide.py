"""Plain words for reports: the "how to read this" guide (data: grader/data/reading-guide.yaml) and counts.

The text and Markdown renderers print the guide's entries for their kind of report (question, transcript,
summary) so a learner can read the numbers without knowing what ROUGE or BERTScore are.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

GUIDE_FILE = Path(__file__).resolve().parent.parent / "data" / "reading-guide.yaml"
KINDS = ("question", "transcript", "summary")


@lru_cache(maxsize=1)
def _guide() -> tuple[str, tuple[tuple[str, str, tuple[str, ...], str], ...]]:
    from grader.yamlio import safe_load

    data = safe_load(GUIDE_FILE.read_text(encoding="utf-8"))
    entries = tuple((str(e["name"]), " ".join(str(e["text"]).split()), tuple(e.get("shows") or KINDS),
                     str(e.get("needs") or "")) for e in data["entries"])
    return str(data.get("title") or "How to read this"), entries


def guide_title() -> str:
    return _guide()[0]


def guide_entries(kind: str, shown: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
    """(name, explanation) of each guide entry a ``kind`` report shows, in order; with ``shown`` (the metrics
    the report holds: keywords, rouge, bertscore, semantic) only the entries for those."""
    if kind not in KINDS:
        raise ValueError(f"unknown report kind {kind!r}; expected one of {', '.join(KINDS)}")
    return [(name, text) for name, text, shows, needs in _guide()[1]
            if kind in shows and (not needs or shown is None or needs in shown)]


def shown_metrics(data: dict) -> tuple[str, ...]:
    """The metrics a question report or transcript answer (JSON dict) holds, as guide entries name them."""
    names = tuple(name for name in ("keywords", "rouge", "bertscore") if (data.get("metrics") or {}).get(name))
    return names + (("semantic",) if data.get("semantic") is not None else ())


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 misconception``, ``2 misconceptions``, ``0 attempts``; ``many`` for irregular plurals."""
    return f"{count} {word if count == 1 else (many or word + 's')}"
