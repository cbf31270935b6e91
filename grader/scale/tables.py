"""Tables of answers to grade, read lazily: CSV, JSON Lines and Parquet, one row at a time.

Why lazy: ``grader score`` must grade a table of a million answers in constant memory, so a table is never read
whole. A row that cannot be graded as it stands (a missing field, bytes that are not UTF-8, a NUL, JSON that does
not parse) is handed on with the reason in ``problem`` and becomes an error line; only what makes the whole table
unreadable (a missing file or column, a binary file, a CSV quote never closed) is an error that stops it.
"""
from __future__ import annotations

import csv
import errno
import io
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from grader.errors import InputError

#: Table formats by file suffix.
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
#: A CSV field or JSON line longer than this (characters) is not read into memory whole: the row is refused (CSV:
#: the table, since the parser cannot find the next row). Far above the grader's own answer limit.
MAX_FIELD_CHARS = 4 * 1024 * 1024
#: Rows per Parquet batch read (memory stays bounded whatever the file's row groups).
PARQUET_BATCH = 4096


@dataclass(frozen=True)
class Columns:
    """Which columns (or JSON keys) hold the row id, the bank question id and the answer."""

    id: str = "id"
    question: str = "question_id"
    answer: str = "answer"

    def flags(self) -> dict[str, str]:
        return {"--id-col": self.id, "--question-col": self.question, "--answer-col": self.answer}


@dataclass(frozen=True)
class TableRow:
    #: CSV and JSON Lines: the line the row starts on; Parquet: the row number (1-based).
    line: int
    id: str | None
    question_id: str | None
    answer: str | None
    #: Why the row cannot be graded as it stands (it becomes an error line), or None.
    problem: str | None = None


def table_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"unknown table type {suffix or '(no suffix)'!r}; name the file .csv, .jsonl or "
                         ".parquet", path=path)
    return FORMATS[suffix]


def _open_binary(path: Path):
    """A regular file opened for reading; a folder, pipe, socket or device is refused at once (never waited on)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise InputError("file not found", path=path) from None
    except PermissionError:
        raise InputError("permission denied", path=path) from None
    except OSError as exc:
        if exc.errno == errno.ENOTDIR:
            blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
            raise InputError(f"cannot read: {blocker or 'a parent'} is a file, not a folder", path=path) from None
        raise InputError(f"cannot read: {exc.strerror or exc}", path=path) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a directory" if stat.S_ISDIR(mode) else "a named pipe, socket or device"
        raise InputError(f"is {kind}, expected a table file (.csv, .jsonl, .parquet)", path=path)
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _open_text(path: Path) -> io.TextIOWrapper:
    """UTF-8 (BOM allowed) or UTF-16 with a BOM. Bytes that are not UTF-8 are kept as lone surrogates so the row
    holding them can be refused alone; a file whose start is more than 1 % NUL bytes is binary, refused whole."""
    raw = _open_binary(path)
    head = raw.peek(8192)[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return io.TextIOWrapper(raw, encoding="utf-16", newline="")
    if head.count(b"\x00") > max(2, len(head) // 100):  # a spreadsheet, an archive: a NUL in one row is that row's
        line = head.count(b"\n", 0, head.index(b"\x00")) + 1
        raw.close()
        raise InputError("file looks binary (it contains NUL bytes), not a text table", path=path, line=line)
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")


def text_problem(value: str) -> str | None:
    """Why a cell's text cannot be graded or written: a NUL, bytes that are not UTF-8, or a lone surrogate."""
    if "\x00" in value:
        return "holds a NUL character (\\u0000), which is not text"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = value[exc.start]
        if "\udc80" <= bad <= "\udcff":
            return f"not valid UTF-8 (byte 0x{ord(bad) - 0xDC00:02x}); save the table as UTF-8"
        return f"not valid Unicode text (a lone surrogate at character {exc.start})"
    return None


def printable_id(value) -> str | None:
    """The row id as it can be written to a JSON line (invalid bytes shown as U+FFFD)."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace") if text_problem(text) else text


def _cell(value, name: str) -> tuple[str | None, str | None]:
    """(text, problem) of one JSON or Parquet value: numbers become text; null, lists and objects do not."""
    if value is None:
        return None, None
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, f"{name}: not valid UTF-8 (byte 0x{value[exc.start]:02x})"
    if isinstance(value, bool) or isinstance(value, (dict, list, tuple)):
        return None, f"{name}: expected text, got {type(value).__name__}"
    text = value if isinstance(value, str) else str(value)
    problem = text_problem(text)
    return text, f"{name}: {problem}" if problem else None


class Table:
    """A table on disk; ``rows()`` reads it lazily, ``count()`` counts its rows (for a progress bar's total)."""

    def __init__(self, path: str | Path, columns: Columns | None = None):
        self.path = Path(path)
        self.columns = columns or Columns()
        self.format = table_format(self.path)
        for flag, name in self.columns.flags().items():
            if not name or not name.strip():
                raise InputError("must not be empty", field=flag)
        if self.format == "parquet":
            from grader.scale.extras import require

            require("parquet", path=self.path)

    # ------------------------------------------------------------------ CSV

    def _csv_rows(self) -> Iterator[TableRow]:
        csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))
        with _open_text(self.path) as text:
            reader = csv.reader(text, strict=True)
            try:
                header = next(reader, None)
            except csv.Error as exc:
                raise InputError(f"malformed CSV header ({exc})", path=self.path, line=1) from None
            if header is None:
                raise InputError("empty file: expected a header row naming the columns", path=self.path, line=1)
            index = self._header_index(header)
            start = reader.line_num + 1
            while True:
                try:
                    record = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    if "unexpected end of data" in str(exc):  # the rest of the file went into one field
                        raise InputError("malformed CSV: a quoted field opened here is never closed", path=self.path,
                                         line=start) from None
                    line, start = start, reader.line_num + 1  # strict mode goes on at the next line
                    yield TableRow(line, None, None, None, f"malformed CSV ({exc})")
                    continue
                line, start = start, reader.line_num + 1
                if record:
                    yield self._csv_row(line, record, index, len(header))

    def _header_index(self, header: list[str]) -> dict[str, int]:
        names = [h.strip() for h in header]
        missing = [f"{flag} {name!r}" for flag, name in self.columns.flags().items() if name not in names]
        if missing:
            shown = ", ".join(names)[:300] or "(none)"
            raise InputError(f"missing column(s) {', '.join(missing)}; the header has: {shown}", path=self.path,
                             line=1)
        return {key: names.index(name) for key, name in
                (("id", self.columns.id), ("question", self.columns.question), ("answer", self.columns.answer))}

    def _csv_row(self, line: int, record: list[str], index: dict[str, int], width: int) -> TableRow:
        values = {key: record[i] if i < len(record) else None for key, i in index.items()}
        problem = None
        if len(record) != width:
            problem = f"the row has {len(record)} fields but the header has {width}"
        else:
            for key, name in (("id", self.columns.id), ("question", self.columns.question),
                              ("answer", self.columns.answer)):
                bad = text_problem(values[key])
                if bad:
                    problem = f"{name}: {bad}"
                    break
        return TableRow(line, printable_id(values["id"]), printable_id(values["question"]),
                        values["answer"] if problem is None else None, problem)

    # ------------------------------------------------------------------ JSON Lines

    def _jsonl_rows(self) -> Iterator[TableRow]:
        with _open_text(self.path) as text:
            number, checked = 0, False
            while True:
                raw = text.readline(MAX_FIELD_CHARS + 1)
                if not raw:
                    return
                number += 1
                if len(raw) > MAX_FIELD_CHARS and not raw.endswith("\n"):
                    while raw and not raw.endswith("\n"):  # skip the rest of the line without holding it
                        raw = text.readline(MAX_FIELD_CHARS)
                    yield TableRow(number, None, None, None, f"the line is longer than {MAX_FIELD_CHARS:,} characters")
                    continue
                if not raw.strip():
                    continue
                try:
                    record = json.loads(raw)
                except (ValueError, RecursionError) as exc:
                    yield TableRow(number, None, None, None, f"not valid JSON ({str(exc)[:80]})")
                    continue
                if not isinstance(record, dict):
                    yield TableRow(number, None, None, None, "each line must be a JSON object")
                    continue
                if not checked:  # the first object stands for a header: a key it lacks is a wrong column flag
                    checked = True
                    missing = [f"{flag} {name!r}" for flag, name in self.columns.flags().items() if name not in record]
                    if missing:
                        raise InputError(f"missing key(s) {', '.join(missing)}; the object has: "
                                         f"{', '.join(map(str, record))[:300] or '(none)'}", path=self.path,
                                         line=number)
                yield self._record_row(number, record, "key")

    def _record_row(self, number: int, record: dict, what: str) -> TableRow:
        out, problem = {}, None
        for key, name in (("id", self.columns.id), ("question", self.columns.question),
                          ("answer", self.columns.answer)):
            if name not in record and problem is None:
                problem = f"missing {what} {name!r}"
            value, bad = _cell(record.get(name), name)
            out[key] = value
            problem = problem or bad
        return TableRow(number, printable_id(out["id"]), printable_id(out["question"]),
                        out["answer"] if problem is None else None, problem)

    # ------------------------------------------------------------------ Parquet

    def _parquet_file(self):
        import pyarrow.parquet as pq

        _open_binary(self.path).close()  # the same refusals as the text formats (missing, folder, pipe)
        try:
            parquet = pq.ParquetFile(self.path)
        except Exception as exc:  # pyarrow raises ArrowInvalid / OSError for a file that is not Parquet
            raise InputError(f"not a readable Parquet file ({str(exc)[:120]})", path=self.path) from None
        names = parquet.schema_arrow.names
        missing = [f"{flag} {name!r}" for flag, name in self.columns.flags().items() if name not in names]
        if missing:
            raise InputError(f"missing column(s) {', '.join(missing)}; the file has: "
                             f"{', '.join(names)[:300] or '(none)'}", path=self.path)
        return parquet

    def _parquet_rows(self) -> Iterator[TableRow]:
        parquet = self._parquet_file()
        wanted = list(dict.fromkeys([self.columns.id, self.columns.question, self.columns.answer]))
        number = 0
        try:
            for batch in parquet.iter_batches(batch_size=PARQUET_BATCH, columns=wanted):
                data = batch.to_pydict()
                for i in range(batch.num_rows):
                    number += 1
                    yield self._record_row(number, {name: data[name][i] for name in wanted}, "column")
        except InputError:
            raise
        except Exception as exc:  # a damaged page: the rows before it were handed on
            raise InputError(f"cannot read the Parquet data ({str(exc)[:120]})", path=self.path,
                             line=number + 1) from None

    # ------------------------------------------------------------------ public

    def rows(self) -> Iterator[TableRow]:
        """Every data row in order. Reading errors that make the rest unreadable raise InputError (file, line)."""
        reader = {"csv": self._csv_rows, "jsonl": self._jsonl_rows, "parquet": self._parquet_rows}[self.format]
        last = 0
        try:
            for row in reader():
                last = row.line
                yield row
        except UnicodeDecodeError as exc:  # UTF-16 that breaks off (UTF-8 errors stay with their row)
            raise InputError(f"not valid UTF-16 ({exc.reason})", path=self.path, line=last + 1) from None

    def count(self) -> int:
        """How many rows ``rows()`` will give (one cheap pass; Parquet: its metadata)."""
        if self.format == "parquet":
            return self._parquet_file().metadata.num_rows
        return sum(1 for _ in self.rows())


def open_table(path: str | Path, columns: Columns | None = None) -> Table:
    """A table whose format follows its suffix (.csv, .jsonl/.ndjson, .parquet/.pq)."""
    return Table(path, columns)
