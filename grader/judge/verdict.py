"""The judge's reply, parsed strictly into a frozen ``JudgeVerdict``; anything else is a failure with a reason.

No silent default: a reply that is not exactly the JSON the prompt asks for (every rubric concept once, in a
known status; a grade that is an integer 0-5; quotes and a rationale as strings) is rejected with a one-line
reason, and the caller records ``judge: failed``. ``verdict_schema`` is the same contract as a JSON schema, for
servers that constrain their output with ``response_format``.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field

STATUSES = ("covered", "missing", "contradicted")
GRADE_MIN, GRADE_MAX = 0, 5
MAX_QUOTE_CHARS = 400
MAX_WHY_CHARS = 300
MAX_RATIONALE_CHARS = 1200
MAX_ERRORS = 10
_FENCE = re.compile(r"^```(?:json)?\s*\n(.*)\n```$", re.S | re.I)


class VerdictError(ValueError):
    """A reply that breaks the contract; the message is one line, for the report."""


@dataclass(frozen=True)
class ConceptJudgement:
    name: str
    status: str  # covered | missing | contradicted
    quote: str
    quote_found: bool  # the quote is really in the answer (a small model may paraphrase or invent)


@dataclass(frozen=True)
class FoundError:
    quote: str
    why: str
    quote_found: bool


@dataclass(frozen=True)
class JudgeVerdict:
    """One answer as the judge saw it. ``grade`` is None exactly when ``failed`` says why."""

    grade: int | None
    failed: str | None
    concepts: tuple[ConceptJudgement, ...] = ()
    errors: tuple[FoundError, ...] = ()
    rationale: str = ""
    model: str = ""
    server_model_id: str | None = None
    prompt_hash: str = ""
    cached: bool = False
    injection: tuple[str, ...] = ()  # sentences taken out as attempts to instruct the grader
    usage: dict = field(default_factory=dict)  # prompt_tokens / completion_tokens as the server reported

    @property
    def ok(self) -> bool:
        return self.failed is None

    @property
    def score(self) -> float | None:
        """The grade on 0-1, the scale of grader's other metrics."""
        return None if self.grade is None else self.grade / GRADE_MAX

    def contradictions(self) -> list[dict]:
        """What the judge found wrong, with a quote that is really in the answer: evidence for a flag."""
        found = [{"concept": c.name, "quote": c.quote, "why": f"contradicts the concept '{c.name}'"}
                 for c in self.concepts if c.status == "contradicted" and c.quote_found and c.quote.strip()]
        found += [{"concept": None, "quote": e.quote, "why": e.why}
                  for e in self.errors if e.quote_found and e.quote.strip()]
        return found

    def to_dict(self) -> dict:
        data = asdict(self)
        data["concepts"] = [asdict(c) for c in self.concepts]
        data["errors"] = [asdict(e) for e in self.errors]
        data["injection"] = list(self.injection)
        return data


def verdict_schema(concept_names: list[str]) -> dict:
    """The reply's JSON schema: every concept once, as a key, in rubric order; the grade last (reason first).

    No maxLength or maxItems: grammar-constrained servers (llama.cpp) unroll them into rules too large to
    parse. The lengths are checked by ``parse_reply`` instead.
    """
    judgement = {"type": "object", "additionalProperties": False, "required": ["status", "quote"],
                 "properties": {"status": {"type": "string", "enum": list(STATUSES)},
                                "quote": {"type": "string"}}}
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["concepts", "errors", "rationale", "grade"],
        "properties": {
            "concepts": {"type": "object", "additionalProperties": False, "required": list(concept_names),
                         "properties": {name: judgement for name in concept_names}},
            "errors": {"type": "array", "items": {
                "type": "object", "additionalProperties": False, "required": ["quote", "why"],
                "properties": {"quote": {"type": "string"}, "why": {"type": "string"}}}},
            "rationale": {"type": "string"},
            "grade": {"type": "integer", "enum": list(range(GRADE_MIN, GRADE_MAX + 1))},
        },
    }


def parse_reply(content: str, concept_names: list[str], answer: str) -> dict:
    """The reply's fields, checked; raises VerdictError with a one-line reason. ``answer`` verifies quotes."""
    if not isinstance(content, str) or not content.strip():
        raise VerdictError("the reply is empty")
    text = content.strip()
    fenced = _FENCE.match(text)
    if fenced:  # a Markdown code fence around the object is the one wrapping tolerated
        text = fenced.group(1).strip()
    try:
        data = json.loads(text)
    except ValueError as error:
        raise VerdictError(f"the reply is not JSON ({error.msg} at char {error.pos}): {_excerpt(text)}") from None
    if not isinstance(data, dict):
        raise VerdictError(f"the reply is JSON but not an object: {_excerpt(text)}")
    _keys(data, {"concepts", "errors", "rationale", "grade"}, "the reply")

    grade = data["grade"]
    if isinstance(grade, bool) or not isinstance(grade, (int, float)) or grade != int(grade):
        raise VerdictError(f"grade must be an integer {GRADE_MIN}-{GRADE_MAX}, got {grade!r}")
    if not GRADE_MIN <= grade <= GRADE_MAX:
        raise VerdictError(f"grade must be {GRADE_MIN}-{GRADE_MAX}, got {grade!r}")

    concepts = data["concepts"]
    if not isinstance(concepts, dict):
        raise VerdictError(f"concepts must be an object keyed by concept name, got {type(concepts).__name__}")
    _keys(concepts, set(concept_names), "concepts")
    judged = []
    for name in concept_names:
        item = concepts[name]
        if not isinstance(item, dict):
            raise VerdictError(f"concept {name!r} must be an object with status and quote")
        _keys(item, {"status", "quote"}, f"concept {name!r}")
        status, quote = item["status"], _string(item["quote"], f"the quote of {name!r}", MAX_QUOTE_CHARS)
        if status not in STATUSES:
            raise VerdictError(f"concept {name!r} has status {status!r}; valid: {', '.join(STATUSES)}")
        judged.append(ConceptJudgement(name, status, quote, quote_in(quote, answer)))

    errors = data["errors"]
    if not isinstance(errors, list) or len(errors) > MAX_ERRORS:
        raise VerdictError(f"errors must be a list of at most {MAX_ERRORS} objects")
    found = []
    for number, item in enumerate(errors, start=1):
        if not isinstance(item, dict):
            raise VerdictError(f"error {number} must be an object with quote and why")
        _keys(item, {"quote", "why"}, f"error {number}")
        quote = _string(item["quote"], f"the quote of error {number}", MAX_QUOTE_CHARS)
        found.append(FoundError(quote, _string(item["why"], f"the why of error {number}", MAX_WHY_CHARS),
                                quote_in(quote, answer)))

    rationale = _string(data["rationale"], "rationale", MAX_RATIONALE_CHARS)
    if not rationale.strip():
        raise VerdictError("the rationale is empty")
    return {"grade": int(grade), "concepts": tuple(judged), "errors": tuple(found), "rationale": rationale.strip()}


def quote_in(quote: str, answer: str) -> bool:
    """Whether the quote is in the answer, ignoring case, white space and the quote marks around it."""
    needle = _squash(quote.strip().strip("\"'“”‘’").rstrip(".…"))
    return bool(needle) and needle in _squash(answer)


def _squash(text: str) -> str:
    return " ".join(text.lower().split())


def _keys(data: dict, expected: set, what: str) -> None:
    missing = [k for k in expected if k not in data]
    extra = [k for k in data if k not in expected]
    if missing or extra:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(repr(k) for k in sorted(missing)))
        if extra:
            parts.append("unexpected " + ", ".join(repr(k) for k in sorted(map(str, extra))))
        raise VerdictError(f"{what}: {'; '.join(parts)}")


def _string(value, what: str, limit: int) -> str:
    if not isinstance(value, str):
        raise VerdictError(f"{what} must be a string, got {type(value).__name__}")
    if len(value) > limit:
        raise VerdictError(f"{what} is longer than {limit} characters")
    return value


def _excerpt(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
