"""Streaming table grading: one JSON line per row, in input order, written as each chunk is graded.

Memory stays flat whatever the table's size: rows are read lazily and graded ``chunk_size`` at a time through
``Grader.grade_many`` (one batched model pass per chunk, texts sorted by length inside it), and only the chunks
in flight are held. Chunks are fixed runs of the table's rows (rows 1..C, C+1..2C, ...) whoever grades them, and
an output is only ever cut back to a chunk boundary: BERTScore's float sums depend a little on which texts share
a padded batch, so the same chunks are what make the local and Ray engines, and a resumed run and an
uninterrupted one, write byte-identical files.

Each output line holds the row's ``id`` and ``line`` and the question report (``signature_sha256`` in place of
the signature, which is written once beside the output as ``NAME.signature.json``); a row that cannot be graded
gets a line with ``id`` and ``error`` instead, and the rest are graded.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import GraderError, InputError, OutputError
from grader.scale.tables import Table, TableRow
from grader.scoring.engine import MAX_ANSWER_CHARS

SCORE_SCHEMA_VERSION = 1
#: Rows per chunk on the CPU: large enough that sorting by length leaves little padding, small enough that
#: Ctrl-C loses seconds, not minutes (about 11 s of work at 180 rows/s). On a quiet 2-core machine, 6,000 Mohler
#: rows: one ``grade_many`` 199 pairs/s; chunks of 2,048 183 rows/s (0.92x, peak RSS 853 MB); chunks of 512
#: 158 rows/s (0.79x, 797 MB).
CPU_CHUNK = 2048
#: On a GPU a chunk feeds larger model batches (see the encoder's batch size), so it is larger too.
GPU_CHUNK = 4096

#: (row id, line, question id, answer): what a worker needs to grade one row.
Item = tuple[str | None, int, str, str]


def dump_line(data: dict) -> str:
    """One compact JSON line (keys in a fixed order): the same data gives the same bytes on every engine."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


def signature_digest(signature: dict) -> str:
    return hashlib.sha256(json.dumps(signature, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


def signature_path(output: str | Path) -> Path:
    """Where the full signature of an output is kept: ``scores.jsonl`` -> ``scores.signature.json``."""
    output = Path(output)
    return output.with_name(f"{output.stem}.signature.json")


def error_line(row_id: str | None, line: int, question_id: str | None, reason: str) -> str:
    return dump_line({"id": row_id, "line": line, "question_id": question_id, "error": reason})


def graded_line(row_id: str | None, line: int, report: dict, digest: str) -> str:
    data = {"id": row_id, "line": line, "schema_version": SCORE_SCHEMA_VERSION}
    data.update((k, v) for k, v in report.items() if k not in ("schema_version", "signature"))
    data["signature_sha256"] = digest
    return dump_line(data)


def default_chunk(grader) -> int:
    """Rows per chunk for this grader: larger when its model runs on a GPU."""
    return GPU_CHUNK if "bertscore" in grader.metrics and grader.device == "cuda" else CPU_CHUNK


def grade_lines(grader, items: list[Item], digest: str) -> tuple[list[str], int]:
    """The output lines of checked rows, graded in one batch (a row the grader refuses fails alone), and how many
    of them are errors: what every engine runs, in whatever process."""
    from grader.scoring.isolation import GroupFailure, grade_groups

    outcomes = grade_groups(grader, [[(qid, answer)] for _, _, qid, answer in items])
    lines = [error_line(rid, line, qid, outcome.message) if isinstance(outcome, GroupFailure)
             else graded_line(rid, line, outcome[0].to_dict(), digest)
             for (rid, line, qid, _), outcome in zip(items, outcomes)]
    return lines, sum(1 for outcome in outcomes if isinstance(outcome, GroupFailure))


def row_problem(grader, row: TableRow) -> str | None:
    """Why a row cannot be graded: the reader's reason, no id, an unknown question, an empty or oversized answer."""
    if row.problem:
        return row.problem
    if not row.id or not row.id.strip():
        return "empty id"
    if not row.question_id or not row.question_id.strip():
        return "empty question id"
    try:
        grader.question(row.question_id.strip())
    except GraderError as exc:
        return exc.message
    if not row.answer or not row.answer.strip():
        return "empty answer"
    if len(row.answer) > MAX_ANSWER_CHARS:
        return f"answer is {len(row.answer):,} characters; the limit is {MAX_ANSWER_CHARS:,}"
    return None


class LocalEngine:
    """Grades chunks in this process with one ``Grader``."""

    name = "local"

    def __init__(self, grader, chunk_size: int | None = None):
        self.grader = grader
        self.chunk_size = chunk_size or default_chunk(grader)
        self._prepared = False

    def _prepare(self) -> None:
        """References encoded once, up front, as every Ray worker does: the same bytes from either engine."""
        if not self._prepared:
            self.grader.prepare()
            self._prepared = True

    @property
    def signature(self) -> dict:
        return self.grader.signature

    def map(self, chunks: Iterable[list[Item]], digest: str) -> Iterator[tuple[list[str], int]]:
        """(lines, errors among them) per chunk, in order."""
        for items in chunks:
            if items:
                self._prepare()
            yield grade_lines(self.grader, items, digest) if items else ([], 0)

    def grade_chunks(self, chunks: Iterable[list[list[tuple[str, str]]]]) -> Iterator[list]:
        """``batch``: per chunk of groups, each group's reports or its ``GroupFailure``, in order."""
        from grader.scoring.isolation import grade_groups

        for groups in chunks:
            if groups:
                self._prepare()
            yield grade_groups(self.grader, groups) if groups else []

    def view(self):
        """The grader that ``batch`` matches questions with and signs reports with: here, the one grading."""
        return self.grader

    def close(self) -> None:
        pass


@dataclass
class ScoreSummary:
    """What a run did; filled in as it goes, so a caller still has it when the run is interrupted."""

    total: int = 0  # rows in the table
    resumed: int = 0  # rows already in the output at the start (--resume)
    written: int = 0  # rows whose line is in the output now
    graded: int = 0  # rows graded by this run
    errors: int = 0  # error lines written by this run
    seconds: float = 0.0  # grading time of this run (after the engine started)
    examples: list[str] = field(default_factory=list)  # the first few error lines, as 'table:line: reason'
    chunk_size: int = 0

    @property
    def rate(self) -> float:
        """Rows per second graded by this run."""
        return (self.graded + self.errors) / self.seconds if self.seconds > 0 else 0.0


def _resume_point(output: Path, table: Table, chunk: int, total: int) -> tuple[int, int]:
    """(rows done, bytes to keep) of an earlier output of this table: its lines must be a prefix of the table's
    rows (same ids, in order); a torn or damaged tail is dropped, and so is a partial last chunk (so the chunks
    graded next are the same as in an uninterrupted run)."""
    kept_rows = kept_bytes = rows = offset = 0
    source = table.rows()
    with open(output, "rb") as fh:
        for raw in fh:
            if not raw.endswith(b"\n"):
                break
            try:
                record = json.loads(raw)
                written_id = record["id"]
            except (ValueError, KeyError, TypeError, RecursionError):
                break
            row = next(source, None)
            if row is None:
                raise OutputError(f"holds more lines than {table.path} has rows: it was written from another table; "
                                  "give another --output, or --force to replace it", path=output)
            if written_id != row.id:
                raise OutputError(f"is for id {written_id!r} but row {rows + 1} of {table.path} (line {row.line}) "
                                  f"has id {row.id!r}: it was written from another table; give another --output, "
                                  "or --force to replace it", path=output, line=rows + 1)
            rows += 1
            offset += len(raw)
            if rows % chunk == 0 or rows == total:
                kept_rows, kept_bytes = rows, offset
    return kept_rows, kept_bytes


def _check_earlier(output: Path, digest: str, chunk: int) -> None:
    """An output is continued only under the signature and chunk size it was started with."""
    sidecar = signature_path(output)
    try:
        saved = json.loads(sidecar.read_text(encoding="utf-8"))
        saved_digest, saved_chunk = saved["signature_sha256"], saved["chunk_size"]
    except FileNotFoundError:
        raise OutputError(f"cannot be resumed: {sidecar.name}, which records how it was graded, is missing; "
                          "give another --output, or --force to replace it", path=output) from None
    except (OSError, ValueError, KeyError, TypeError):
        raise OutputError(f"cannot be resumed: {sidecar.name} is damaged; give another --output, or --force to "
                          "replace it", path=output) from None
    if saved_digest != digest:
        raise OutputError(f"was graded with another signature ({saved_digest}, now {digest}: another grader, bank, "
                          "weights, metrics or device); give another --output, or --force to replace it",
                          path=output)
    if saved_chunk != chunk:
        raise OutputError(f"was graded in chunks of {saved_chunk} rows, now {chunk}; resume with --chunk-size "
                          f"{saved_chunk}", path=output)


def _chunks(rows: Iterator[TableRow], grader, chunk: int, table: Table, summary: ScoreSummary):
    """(ready lines or item positions, items) per chunk of ``chunk`` rows: errors found on reading are lines
    already; the rest are items for the engine. When the table breaks off (unreadable from some line on), the
    rows read before it are still handed on, then the error."""
    while True:
        slots: list[str | int] = []
        items: list[Item] = []
        try:
            for row in rows:
                problem = row_problem(grader, row)
                if problem is None:
                    slots.append(len(items))
                    items.append((row.id, row.line, row.question_id.strip(), row.answer))
                else:
                    slots.append(error_line(row.id, row.line, row.question_id, problem))
                    if len(summary.examples) < 5:
                        summary.examples.append(f"{table.path}:{row.line}: {problem}")
                if len(slots) == chunk:
                    break
        except GraderError:
            if slots:
                yield slots, items
            raise
        if not slots:
            return
        yield slots, items


class _Output:
    """The output file, appended to a chunk at a time: a chunk is on disk whole (flushed and synced) or, after a
    failed or interrupted write, not at all."""

    def __init__(self, path: Path, keep_bytes: int):
        self.path = path
        try:
            self.fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
            os.ftruncate(self.fd, keep_bytes)
            os.lseek(self.fd, keep_bytes, os.SEEK_SET)
        except OSError as exc:
            raise OutputError(f"cannot write: {exc.strerror or exc}", path=path) from None
        self.committed = keep_bytes

    def write(self, lines: list[str]) -> None:
        data = memoryview("".join(lines).encode("utf-8"))
        try:
            while data:
                data = data[os.write(self.fd, data):]
            os.fsync(self.fd)
        except BaseException as exc:  # disk full, Ctrl-C: the part of the chunk written goes again
            os.ftruncate(self.fd, self.committed)
            if isinstance(exc, OSError):
                raise OutputError(f"cannot write: {exc.strerror or exc}; the lines before this chunk are kept",
                                  path=self.path) from None
            raise
        self.committed += len(data.obj)

    def close(self) -> None:
        os.close(self.fd)


def check_output(output: str | Path, *, resume: bool = False, force: bool = False) -> bool:
    """Refuse an output that cannot be written, or that holds lines and is neither resumed nor replaced, before
    any work; whether it holds lines."""
    from grader.io import check_writable

    output = Path(output)
    check_writable(output)
    has_lines = output.is_file() and output.stat().st_size > 0
    if has_lines and not resume and not force:
        raise OutputError("already holds scored rows; --resume continues it, --force replaces it", path=output)
    return has_lines


def count_rows(table: Table) -> int:
    """The table's rows, read once (its header and columns checked on the way); none is an error."""
    total = table.count()
    if total == 0:
        raise InputError("no data rows", path=table.path, line=1)
    return total


def score_table(table: Table, output: str | Path, engine, *, resume: bool = False, force: bool = False,
                progress: Callable[[int, int], None] | None = None, summary: ScoreSummary | None = None,
                total: int | None = None) -> ScoreSummary:
    """Grade every row of ``table`` into ``output`` (JSON Lines, input order) with ``engine``.

    An existing non-empty output is refused unless ``resume`` (continue it: the rows it holds are skipped) or
    ``force`` (replace it). ``progress(rows done, total)`` follows the chunks. ``summary`` is filled in as rows
    are written, so the caller has the counts even when the run is interrupted (KeyboardInterrupt passes
    through, with every finished chunk on disk). ``total``: the table's row count when already known.
    """
    from grader.io import write_atomic

    output = Path(output)
    summary = summary if summary is not None else ScoreSummary()
    has_lines = check_output(output, resume=resume, force=force)
    chunk = summary.chunk_size = engine.chunk_size
    summary.total = total if total is not None else count_rows(table)
    signature = engine.signature
    digest = signature_digest(signature)
    keep_rows = keep_bytes = 0
    if has_lines and resume:
        _check_earlier(output, digest, chunk)
        keep_rows, keep_bytes = _resume_point(output, table, chunk, summary.total)
    summary.resumed = summary.written = keep_rows
    if keep_rows == 0:
        write_atomic(signature_path(output), json.dumps(
            {"schema_version": SCORE_SCHEMA_VERSION, "signature_sha256": digest, "chunk_size": chunk,
             "signature": signature}, ensure_ascii=False, indent=2) + "\n")
    rows = table.rows()
    for _ in range(keep_rows):
        next(rows)
    out = _Output(output, keep_bytes)
    start = time.perf_counter()
    pending: list[list[str | int]] = []

    def items_of_chunks():
        for slots, items in _chunks(rows, engine.grader, chunk, table, summary):
            pending.append(slots)
            yield items

    try:
        if progress:
            progress(summary.written, summary.total)
        for lines, failed in engine.map(items_of_chunks(), digest):
            slots = pending.pop(0)
            merged = [s if isinstance(s, str) else lines[s] for s in slots]
            out.write(merged)
            errors = failed + sum(1 for s in slots if isinstance(s, str))
            summary.errors += errors
            summary.graded += len(merged) - errors
            summary.written += len(merged)
            summary.seconds = time.perf_counter() - start
            if progress:
                progress(summary.written, summary.total)
    finally:
        out.close()
    return summary
