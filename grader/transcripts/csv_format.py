"""CSV and TSV sheets: a speaker column and a text column, or question and answer columns.
"""
from __future__ import annotations

import csv
import io

from grader.transcripts.json_format import (
    _ANSWER_KEYS,
    _QUESTION_KEYS,
    _TEXT_KEYS,
    _item_drafts,
    _norm_key,
)
from grader.transcripts.model import _Draft, _error

# --------------------------------------------------------------------------------------------------
# CSV

_CSV_SPEAKER = ("speaker", "name", "speakername", "who", "role")


def _looks_like_csv_header(line: str) -> bool:
    delim = max(",;\t", key=line.count)
    if line.count(delim) == 0:
        return False
    cols = {_norm_key(c.strip().strip('"')) for c in line.split(delim)}
    return bool((cols & set(_QUESTION_KEYS) and cols & set(_ANSWER_KEYS))
                or (cols & set(_CSV_SPEAKER) and cols & set(_TEXT_KEYS)))


def _parse_csv(text: str, source: str) -> tuple[list[_Draft], str | None]:
    lines = text.split("\n")
    head = next(line for line in lines if line.strip())
    delim = max(",;\t", key=head.count) if any(c in head for c in ",;\t") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delim, strict=True)
    header: list[str] | None = None
    drafts: list[_Draft] = []
    end = 0
    while True:
        start = end + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if "end of data" in str(exc):
                raise _error("a quoted field that starts in this row is never closed by a '\"'",
                             source, start) from None
            raise _error(f"malformed CSV row ({exc})", source, reader.line_num or start) from None
        end = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip() for cell in row]
            norm = {_norm_key(c) for c in header}
            pairs = bool(norm & set(_QUESTION_KEYS) and norm & set(_ANSWER_KEYS))
            turns = bool(norm & set(_TEXT_KEYS) and norm & set(_CSV_SPEAKER))
            if not (pairs or turns):
                raise _error("the CSV header needs question/answer (or prompt/response) columns or "
                             f"speaker/text columns, but it has: {', '.join(header)}", source, start)
            continue
        extra = [cell for cell in row[len(header):] if cell.strip()]
        if extra:
            sep = "tab" if delim == "\t" else f"'{delim}'"
            raise _error(f"this row has {len(header) + len(extra)} fields but the header has "
                         f"{len(header)}, so quote any field that contains a {sep}", source, start)
        obj = {name: (row[i] if i < len(row) else "") for i, name in enumerate(header) if name}
        if not any(v.strip() for v in obj.values()):
            continue
        drafts += _item_drafts(obj, "this row", start, lambda _k, n=start: n, source, start)
    return drafts, None
