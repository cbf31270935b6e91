"""The published JSON Schemas of grader's reports, and reading a saved report back with a clear error.

The schemas live in ``grader/data/schemas/`` (shipped as package data) so other tools can validate reports
without grader. jsonschema is not a runtime dependency, so :func:`check` is a small validator for the subset of
JSON Schema those files use; the tests validate every report with jsonschema itself as well.
"""
from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from grader.errors import InputError
from grader.reports.model import REPORT_SCHEMA_VERSION

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "data" / "schemas"

#: Report kind -> schema file stem.
SCHEMAS = {
    "question": "question-report",
    "transcript": "transcript-report",
    "summary": "summary",
    "agreement": "agreement",
    "history": "history",
}
#: A saved report is refused above this size (a cohort transcript is a few hundred kB).
MAX_REPORT_BYTES = 64 * 1024 * 1024


def schema_path(kind: str) -> Path:
    if kind not in SCHEMAS:
        raise ValueError(f"unknown report kind {kind!r}; expected one of {', '.join(SCHEMAS)}")
    return SCHEMA_DIR / f"{SCHEMAS[kind]}.schema.json"


@lru_cache(maxsize=None)
def load_schema(kind: str) -> dict:
    return json.loads(schema_path(kind).read_text(encoding="utf-8"))


def detect_kind(data: Any, path: str | Path | None = None) -> str:
    """Which report this is, from the fields it carries (reports have no type tag of their own)."""
    if not isinstance(data, dict):
        raise InputError(f"expected a JSON object (a grader report), got {type(data).__name__}", path=path)
    if "schema_version" not in data:
        raise InputError("not a grader report (no schema_version field)", path=path)
    if data["schema_version"] != REPORT_SCHEMA_VERSION:
        raise InputError(f"report schema version {data['schema_version']!r} is not supported; this grader reads "
                         f"version {REPORT_SCHEMA_VERSION}", path=path, field="schema_version")
    if "answers" in data and "source" in data:
        return "transcript"
    if "per_question" in data and "per_candidate" in data:
        return "summary"
    if "question_id" in data and "score" in data:
        return "question"
    if "by_metric" in data:
        return "agreement"
    if "series" in data and "attempts" in data:
        return "history"
    raise InputError("not a grader report: expected a question report (grade), a transcript report or a "
                     "summary (batch)", path=path)


def read_json(path: str | Path) -> Any:
    """A JSON file's content; errors name the file and line."""
    from grader.io import read_text_file

    text = read_text_file(path, limit=MAX_REPORT_BYTES)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg} (column {exc.colno})", path=path, line=exc.lineno) from None
    except RecursionError:
        raise InputError("JSON this program cannot read: arrays or objects nested too deeply", path=path) from None
    except ValueError as exc:  # an integer of thousands of digits
        raise InputError(f"JSON this program cannot read: {' '.join(str(exc).split())[:160]}", path=path) from None


def load_report(path: str | Path, kinds: tuple[str, ...] = ("question", "transcript", "summary")) -> tuple[str, dict]:
    """Read, parse and validate a saved report; errors name the file, line or field."""
    data = read_json(path)
    kind = detect_kind(data, path)
    if kind not in kinds:
        raise InputError(f"this is a {kind} report; expected a {' or '.join(kinds)} report", path=path)
    check(data, kind, path)
    return kind, data


def check(data: Any, kind: str, path: str | Path | None = None) -> None:
    """Raise InputError naming the first field of ``data`` that breaks the schema of ``kind``."""
    schema = load_schema(kind)
    problem = _first_error(data, schema, schema, "")
    if problem is not None:
        where, message = problem
        raise InputError(f"does not match the {SCHEMAS[kind]} schema: {message}", path=path, field=where or "$")


# --------------------------------------------------------------------------- a small validator

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
}


def _resolve(ref: str, root: dict) -> dict:
    if not ref.startswith("#/"):
        raise ValueError(f"only local $ref are supported, got {ref!r}")
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _join(where: str, key: str | int) -> str:
    return f"{where}[{key}]" if isinstance(key, int) else (f"{where}.{key}" if where else key)


def _first_error(value: Any, schema: dict, root: dict, where: str) -> tuple[str, str] | None:
    if "$ref" in schema:
        found = _first_error(value, _resolve(schema["$ref"], root), root, where)
        if found:
            return found
    for part in schema.get("allOf", ()):
        found = _first_error(value, part, root, where)
        if found:
            return found
    if "const" in schema and value != schema["const"]:
        return where, f"must be {schema['const']!r}, got {value!r}"
    if "enum" in schema and value not in schema["enum"]:
        return where, f"must be one of {', '.join(map(repr, schema['enum']))}, got {value!r}"
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not any(_TYPES[name](value) for name in names):
            return where, f"must be {' or '.join(names)}, got {type(value).__name__}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return where, f"must be at least {schema['minimum']}, got {value}"
        if "maximum" in schema and value > schema["maximum"]:
            return where, f"must be at most {schema['maximum']}, got {value}"
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            return where, "must not be empty"
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return where, f"{value!r} does not have the expected form"
    if isinstance(value, dict):
        for name in schema.get("required", ()):
            if name not in value:
                return _join(where, name), "missing"
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in properties:
                found = _first_error(item, properties[key], root, _join(where, key))
            elif extra is False:
                return _join(where, key), "unexpected field"
            elif isinstance(extra, dict):
                found = _first_error(item, extra, root, _join(where, key))
            else:
                found = None
            if found:
                return found
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found = _first_error(item, schema["items"], root, _join(where, index))
            if found:
                return found
    return None
