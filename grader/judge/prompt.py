"""The judge's prompt: read from ``prompt.txt`` (data, not code), filled in, hashed.

The file holds the generation settings and one message template; its SHA-256 goes into every signature and
every cache key, so a reworded prompt is a different judge. Filling uses ``string.Template``: substituted text is
never scanned again, so nothing in an answer can pull in other fields. The answer is framed by markers ending in
a hash of the answer itself, which the answer cannot contain (it would have to contain its own hash).
"""
from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from grader.errors import ConfigError

PROMPT_FILE = Path(__file__).with_name("prompt.txt")
_SETTINGS = {"temperature": float, "seed": int, "max_tokens": int}
_PLACEHOLDERS = {"question", "reference", "concepts", "facts", "pitfalls", "answer", "tag", "concept_names"}


@dataclass(frozen=True)
class Prompt:
    """A parsed prompt file: settings, the user-turn template, and the hash of the file's bytes."""

    path: str
    sha256: str
    template: str
    temperature: float
    seed: int
    max_tokens: int
    settings: dict = field(default_factory=dict)

    def render(self, *, question: str, reference: str, concepts, facts, pitfalls, answer: str) -> list[dict]:
        """The chat messages for one answer; ``concepts``/``facts``/``pitfalls`` are plain rubric dicts."""
        concept_rows = [_concept_line(c) for c in concepts]
        names = [_concept_name(c) for c in concepts]
        values = {
            "question": _text(question, "question"),
            "reference": _text(reference, "reference") or "(no reference answer)",
            "concepts": "\n".join(concept_rows) or "(no rubric: judge against the reference answer)",
            "facts": "\n".join(_fact_line(f) for f in facts) or "(none listed)",
            "pitfalls": "\n".join(_pitfall_line(p) for p in pitfalls) or "(none listed)",
            "answer": _text(answer, "answer"),
            "tag": answer_tag(answer),
            "concept_names": ", ".join(f'"{n}"' for n in names) if names else "none (an empty object)",
        }
        return [{"role": "user", "content": string.Template(self.template).substitute(values)}]


def answer_tag(answer: str) -> str:
    """A tag for the answer's markers that the answer cannot forge: a hash of the answer."""
    return hashlib.sha256(answer.encode("utf-8")).hexdigest()[:16]


@lru_cache(maxsize=4)
def load_prompt(path: str | None = None) -> Prompt:
    """Parse the prompt file; raises ConfigError naming the file and line for a malformed one."""
    source = Path(path) if path else PROMPT_FILE
    try:
        raw = source.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read the judge prompt: {error.strerror}", path=source) from None
    text = raw.decode("utf-8")
    settings: dict = {}
    body: list[str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if body is not None:
            body.append(line)
        elif line.strip() == "### user":
            body = []
        elif line.startswith("#") or not line.strip():
            continue
        else:
            key, sep, value = line.partition(":")
            key = key.strip()
            if not sep or key not in _SETTINGS:
                raise ConfigError(f"expected one of {sorted(_SETTINGS)} as 'key: value' or '### user'",
                                  path=source, line=number)
            try:
                settings[key] = _SETTINGS[key](value.strip())
            except ValueError:
                raise ConfigError(f"{key} must be a {_SETTINGS[key].__name__}, got {value.strip()!r}",
                                  path=source, line=number) from None
    if body is None or not "\n".join(body).strip():
        raise ConfigError("no '### user' message", path=source)
    missing = sorted(set(_SETTINGS) - set(settings))
    if missing:
        raise ConfigError(f"missing settings: {', '.join(missing)}", path=source)
    template = "\n".join(body).strip("\n")
    used = {m.group("named") or m.group("braced") for m in string.Template.pattern.finditer(template)
            if m.group("named") or m.group("braced")}
    unknown = sorted(used - _PLACEHOLDERS)
    if unknown:
        raise ConfigError(f"unknown placeholders {unknown}; valid: {sorted(_PLACEHOLDERS)}", path=source)
    if "answer" not in used or "tag" not in used:
        raise ConfigError("the message must contain ${answer} between markers with ${tag}", path=source)
    return Prompt(path=str(source), sha256=hashlib.sha256(raw).hexdigest(), template=template,
                  temperature=settings["temperature"], seed=settings["seed"], max_tokens=settings["max_tokens"],
                  settings=dict(settings))


def _text(value, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__}")
    return value.strip()


def _concept_name(concept) -> str:
    name = concept.get("name") if isinstance(concept, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a rubric concept needs a non-empty 'name': {concept!r}")
    return _one_line(name)


def _concept_line(concept) -> str:
    statement = concept.get("statement") or next(iter(concept.get("statements") or []), "")
    required = " (required)" if concept.get("required") else ""
    return f'- "{_concept_name(concept)}"{required}: {_one_line(statement)}'.rstrip(": ")


def _fact_line(fact) -> str:
    claim = fact.get("claim") if isinstance(fact, dict) else fact
    return f"- {_one_line(str(claim))}"


def _pitfall_line(pitfall) -> str:
    if not isinstance(pitfall, dict):
        return f"- {_one_line(str(pitfall))}"
    name, why = pitfall.get("name", ""), pitfall.get("explanation", "")
    return f"- {_one_line(name)}: {_one_line(why)}".rstrip(": ")


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", str(text)).strip()
