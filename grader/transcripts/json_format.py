"""JSON and JSON Lines exports: turn lists, question/answer pairs, chat messages, with line numbers for errors.
"""
from __future__ import annotations

import json
import re
from bisect import bisect_right
from typing import Any, Callable, Sequence

from grader.transcripts.labels import _label_role
from grader.transcripts.model import CANDIDATE, INTERVIEWER, _collapse, _Draft, _error

# --------------------------------------------------------------------------------------------------
# JSON and JSON Lines

_QUESTION_KEYS = ("question", "prompt", "q", "interviewerquestion")
_ANSWER_KEYS = ("answer", "response", "a", "candidateanswer", "reply")
_SPEAKER_KEYS = ("speaker", "name", "speakername", "who")
_TEXT_KEYS = ("text", "content", "utterance", "message")
_CANDIDATE_KEYS = ("candidate", "candidatename", "interviewee")
_LIST_KEYS = ("turns", "pairs", "qa")
_DECODER = json.JSONDecoder()


def _norm_key(key: str) -> str:
    return re.sub(r"[\s_\-]+", "", key.casefold())


def _first_key(obj: dict[str, Any], keys: Sequence[str]) -> str | None:
    return next((k for k in keys if k in obj), None)


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null", int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _item_drafts(obj: dict[str, Any], what: str, line: int, key_line: Callable[[str], int],
                 source: str, pair_no: int) -> list[_Draft]:
    """One JSON object / CSV row: a {speaker, text} turn or a {question, answer} pair."""
    fields = {_norm_key(k): (k, v) for k, v in obj.items() if isinstance(k, str)}

    def string(norm: str) -> str | None:
        original, value = fields[norm]
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise _error(f"the '{original}' field of {what} must be a string, not {_type_name(value)}",
                     source, key_line(original))

    qk, ak = _first_key(fields, _QUESTION_KEYS), _first_key(fields, _ANSWER_KEYS)
    if qk or ak:
        question = (string(qk) or "") if qk else ""
        answer = (string(ak) or "") if ak else ""
        ck = _first_key(fields, _CANDIDATE_KEYS)
        who = string(ck) if ck else None
        asker = string("interviewer") if "interviewer" in fields else None
        drafts = []
        if question.strip():
            drafts.append(_Draft(asker or None, line, [question], role=INTERVIEWER, merge=False,
                                 pair=pair_no))
        drafts.append(_Draft(_collapse(who) if who and who.strip() else None,
                             key_line(fields[ak][0]) if ak else line, [answer], role=CANDIDATE,
                             merge=False, keep_empty=bool(question.strip()), pair=pair_no))
        return drafts
    tk = _first_key(fields, _TEXT_KEYS)
    sk = _first_key(fields, _SPEAKER_KEYS) or ("role" if "role" in fields else None)
    if tk:
        speaker = string(sk) if sk else None
        role_word = string("role") if "role" in fields else None
        speaker = _collapse(speaker) if speaker and speaker.strip() else None
        return [_Draft(speaker, line, [string(tk) or ""], role=_label_role(role_word))]
    found = ", ".join(str(k) for k in obj) or "none"
    raise _error(f"{what} has neither speaker/text nor question/answer fields (fields found: {found})",
                 source, line)


class _LineIndex:
    """Offset -> 1-based line, by bisecting the newline positions once."""

    def __init__(self, text: str):
        self.newlines = [m.start() for m in re.finditer("\n", text)]

    def __call__(self, offset: int) -> int:
        return bisect_right(self.newlines, offset - 1) + 1


def _skip_ws(s: str, i: int) -> int:
    while i < len(s) and s[i] in " \t\n\r":
        i += 1
    return i


def _array_offsets(s: str, i: int) -> list[int]:
    """Start offsets of the elements of the (valid) JSON array opening at ``s[i]``."""
    starts: list[int] = []
    i = _skip_ws(s, i + 1)
    if s[i] == "]":
        return starts
    while True:
        starts.append(i)
        _, i = _DECODER.raw_decode(s, i)
        i = _skip_ws(s, i)
        if s[i] != ",":
            return starts
        i = _skip_ws(s, i + 1)


def _object_offsets(s: str, i: int) -> dict[str, int]:
    """Offset of each key of the (valid) JSON object opening at ``s[i]``; the last duplicate wins."""
    keys: dict[str, int] = {}
    i = _skip_ws(s, i + 1)
    if s[i] == "}":
        return keys
    while True:
        start = i
        key, i = _DECODER.raw_decode(s, i)
        keys[key] = start
        i = _skip_ws(s, _skip_ws(s, i) + 1)
        _, i = _DECODER.raw_decode(s, i)
        i = _skip_ws(s, i)
        if s[i] != ",":
            return keys
        i = _skip_ws(s, i + 1)


def _value_offset(s: str, key_offset: int) -> int:
    _, i = _DECODER.raw_decode(s, key_offset)
    return _skip_ws(s, _skip_ws(s, i) + 1)


def _json_limit(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "arrays or objects nested too deeply"
    return " ".join(str(exc).split())[:160]


def _check_strings(data: Any, source: str, line: Callable[[], int]) -> None:
    """Refuse text that is not valid Unicode (a lone surrogate escape such as \\ud800) or holds NUL characters:
    no report could hold it. Iterative, so a deep structure cannot overflow the stack."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise _error("a string holds a NUL character (\\u0000), which is not text", source, line())
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise _error("a string holds a lone surrogate escape (such as \\ud800), which is not valid "
                             "Unicode text", source, line()) from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _parse_json(text: str, source: str) -> tuple[list[_Draft], str | None]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _error(f"invalid JSON: {exc.msg} at column {exc.colno}", source, exc.lineno) from None
    except (ValueError, RecursionError) as exc:  # nested too deep, or an integer of thousands of digits
        raise _error(f"JSON this program cannot read: {_json_limit(exc)}", source, 1) from None
    _check_strings(data, source, lambda: 1)
    line_of = _LineIndex(text)
    root = _skip_ws(text, 0)
    declared: str | None = None
    if isinstance(data, dict):
        keys = _object_offsets(text, root)
        cand_key = next((k for k in data if _norm_key(k) in _CANDIDATE_KEYS), None)
        if cand_key is not None:
            value = data[cand_key]
            if value is not None and not isinstance(value, str):
                raise _error(f"the top-level '{cand_key}' field must be a string, not {_type_name(value)}",
                             source, line_of(keys[cand_key]))
            declared = value.strip() if value and value.strip() else None
        list_key = next((k for k in data if _norm_key(k) in _LIST_KEYS), None)
        if list_key is None:
            if any(_norm_key(k) in _QUESTION_KEYS + _ANSWER_KEYS + _TEXT_KEYS for k in data):
                items = [(data, root)]         # a single turn or pair on its own
            else:
                raise _error("the JSON object has no 'turns', 'pairs' or 'qa' list (keys found: "
                             f"{', '.join(data) or 'none'})", source, line_of(root))
        else:
            value = data[list_key]
            if not isinstance(value, list):
                raise _error(f"'{list_key}' must be a list of turns or pairs, not {_type_name(value)}",
                             source, line_of(keys[list_key]))
            items = list(zip(value, _array_offsets(text, _value_offset(text, keys[list_key]))))
    elif isinstance(data, list):
        items = list(zip(data, _array_offsets(text, root)))
    else:
        raise _error(f"a JSON transcript must be a list or an object, not {_type_name(data)}",
                     source, line_of(root))
    drafts: list[_Draft] = []
    for number, (item, offset) in enumerate(items, start=1):
        line = line_of(offset)
        if not isinstance(item, dict):
            raise _error(f"item {number} is {_type_name(item)}, not an object with speaker/text or "
                         "question/answer fields", source, line)
        offsets = _object_offsets(text, offset)
        drafts += _item_drafts(item, f"item {number}", line,
                               lambda k, o=offsets, d=line: line_of(o[k]) if k in o else d,
                               source, number)
    return drafts, declared


def _parse_jsonl(text: str, source: str) -> tuple[list[_Draft], str | None]:
    drafts: list[_Draft] = []
    declared: str | None = None
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _error(f"this line is not valid JSON: {exc.msg} at column {exc.colno}",
                         source, number) from None
        except (ValueError, RecursionError) as exc:
            raise _error(f"JSON this program cannot read: {_json_limit(exc)}", source, number) from None
        _check_strings(item, source, lambda n=number: n)
        if not isinstance(item, dict):
            raise _error(f"each line must be a JSON object, but this one is {_type_name(item)}",
                         source, number)
        norm = {_norm_key(k) for k in item}
        if norm and norm <= set(_CANDIDATE_KEYS):      # {"candidate": "Dana Lee"} names the candidate
            value = next(iter(item.values()))
            if isinstance(value, str) and value.strip():
                declared = value.strip()
            continue
        drafts += _item_drafts(item, "this line", number, lambda _k, n=number: n, source, number)
    return drafts, declared
