"""Loading a bank from YAML and validating it: every problem becomes a ``Finding`` naming file and field.

``load_bank`` (grading) stops at the first error; ``inspect_bank`` (``grader bank check``) lists them all and
takes a ``lint`` callback for checks that need the metrics, which this package may not import.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from grader.bank.model import (
    DIFFICULTIES,
    ID_RE,
    Bank,
    Concept,
    Fact,
    Pitfall,
    Question,
    Rubric,
    resolve_bank_dir,
)
from grader.errors import BankError
from grader.yamlio import safe_load


@dataclass(frozen=True)
class Finding:
    """One problem found in a bank: an error stops loading, a warning only informs."""

    severity: str  # "error" | "warning"
    path: str
    message: str
    question_id: str | None = None
    field: str | None = None

    def one_line(self) -> str:
        label = ".".join(p for p in (self.question_id, self.field) if p)
        where = self.path + (f" [{label}]" if label else "")
        return f"{self.severity}: {where}: {self.message}"


def _read_yaml(path: Path, findings: list[Finding]) -> Any:
    import yaml

    from grader.io import read_bytes_limited
    from grader.yamlio import MAX_YAML_BYTES

    try:
        raw = read_bytes_limited(path, MAX_YAML_BYTES)  # a regular file of bounded size (not a FIFO, /dev/zero)
    except OSError as exc:
        findings.append(Finding("error", str(path), f"cannot read file: {exc.strerror or exc}"))
        return None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        findings.append(Finding("error", f"{path}:{line}", "file is not valid UTF-8"))
        return None
    try:
        return safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if isinstance(exc, yaml.constructor.ConstructorError):  # safe_load met a tag such as !!python/object
            problem = f"YAML tags are not allowed in a bank (plain YAML only): {problem}"
            findings.append(Finding("error", where, problem))
            return None
        findings.append(Finding("error", where, f"malformed YAML: {problem}"))
        return None


class _Fields:
    """Typed access to one YAML mapping that records a finding for every bad field."""

    def __init__(self, data: dict, path: Path, qid: str | None, findings: list[Finding], prefix: str = ""):
        self.data, self.path, self.qid, self.findings, self.prefix = data, path, qid, findings, prefix

    def error(self, name: str, message: str) -> None:
        self.findings.append(Finding("error", str(self.path), message, self.qid, self.prefix + name))

    def text(self, name: str, required: bool = True) -> str:
        value = self.data.get(name)
        if value is None:
            if required:
                self.error(name, "missing")
            return ""
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            self.error(name, f"must be text, got {type(value).__name__}")
            return ""
        value = str(value).strip()
        if required and not value:
            self.error(name, "is empty")
        return value

    def texts(self, name: str, required: bool = False) -> tuple[str, ...]:
        value = self.data.get(name)
        if value is None:
            if required:
                self.error(name, "missing")
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.error(name, f"must be a list of text, got {type(value).__name__}")
            return ()
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, (str, int, float)) or isinstance(item, bool) or not str(item).strip():
                self.error(f"{name}[{i}]", "must be non-empty text")
                continue
            out.append(str(item).strip())
        return tuple(out)

    def number(self, name: str, default: float | None = None, low: float = 0.0, high: float | None = None,
               low_inclusive: bool = False) -> float:
        value = self.data.get(name, default)
        if value is None:
            self.error(name, "missing")
            return 0.0
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.error(name, f"must be a number, got {value!r}")
            return 0.0
        value = float(value)
        too_low = value < low if low_inclusive else value <= low
        if too_low or (high is not None and value > high) or value != value:
            bound = f"{'>=' if low_inclusive else '>'} {low:g}" + (f" and <= {high:g}" if high is not None else "")
            self.error(name, f"must be {bound}, got {value:g}")
            return 0.0
        return value

    def flag(self, name: str) -> bool:
        value = self.data.get(name, False)
        if not isinstance(value, bool):
            self.error(name, f"must be true or false, got {value!r}")
            return False
        return value

    def unknown(self, allowed: set[str]) -> None:
        for key in self.data:
            if key not in allowed:
                self.error(str(key), f"unknown field (allowed: {', '.join(sorted(allowed))})")


_QUESTION_FIELDS = {"id", "question", "difficulty", "topics", "reference", "alternative_phrasings",
                    "extra_reference", "exemplars"}
_RUBRIC_FIELDS = {"question", "concepts", "pitfalls", "facts", "opposites"}
_CONCEPT_FIELDS = {"name", "weight", "required", "synonyms", "formulas", "hint", "bonus", "statement", "statements"}
_PITFALL_FIELDS = {"name", "patterns", "penalty", "explanation", "terms"}
_FACT_FIELDS = {"claim", "subject", "holds", "denies", "first", "then"}


def _parse_question(path: Path, data: Any, findings: list[Finding]) -> Question | None:
    if not isinstance(data, dict):
        findings.append(Finding("error", str(path), "must be a YAML mapping of fields"))
        return None
    qid = str(data.get("id", "")).strip() or None
    f = _Fields(data, path, qid, findings)
    f.unknown(_QUESTION_FIELDS)
    before = len([x for x in findings if x.severity == "error"])
    if qid is None:
        f.error("id", "missing")
    elif not ID_RE.match(qid):
        f.error("id", "malformed: use 1-32 letters, digits, '-' or '_' (e.g. q09)")
    elif path.stem != qid:
        f.error("id", f"does not match the file name {path.name!r}")
    question = f.text("question")
    difficulty = f.text("difficulty")
    if difficulty and difficulty not in DIFFICULTIES:
        f.error("difficulty", f"must be one of {', '.join(DIFFICULTIES)}, got {difficulty!r}")
    topics = f.texts("topics", required=True)
    if "topics" in data and not topics:
        f.error("topics", "needs at least one tag")
    reference = f.text("reference")
    phrasings = f.texts("alternative_phrasings")
    extra = f.text("extra_reference", required=False)
    exemplars = f.texts("exemplars")
    if len([x for x in findings if x.severity == "error"]) > before:
        return None
    return Question(qid, question, difficulty, topics, reference, phrasings, extra, exemplars, None, str(path))


def _parse_rubric(path: Path, data: Any, findings: list[Finding]) -> Rubric | None:
    if not isinstance(data, dict):
        findings.append(Finding("error", str(path), "must be a YAML mapping of fields"))
        return None
    qid = str(data.get("question", "")).strip() or None
    f = _Fields(data, path, qid, findings)
    f.unknown(_RUBRIC_FIELDS)
    before = len([x for x in findings if x.severity == "error"])
    if qid is None:
        f.error("question", "missing: the id of the question this rubric grades")
    concepts_raw = data.get("concepts")
    concepts: list[Concept] = []
    if not isinstance(concepts_raw, list) or not concepts_raw:
        f.error("concepts", "must be a non-empty list")
        concepts_raw = []
    seen: set[str] = set()
    for i, raw in enumerate(concepts_raw):
        cf = _Fields(raw if isinstance(raw, dict) else {}, path, qid, findings, f"concepts[{i}].")
        if not isinstance(raw, dict):
            cf.error("", "must be a mapping with name, weight, synonyms")
            continue
        cf.unknown(_CONCEPT_FIELDS)
        name = cf.text("name")
        if name and name in seen:
            cf.error("name", f"duplicate concept name {name!r}")
        seen.add(name)
        weight = cf.number("weight")
        synonyms = cf.texts("synonyms")
        formulas = cf.texts("formulas")
        if not synonyms and not formulas:
            cf.error("synonyms", "needs at least one synonym or formula")
        required, bonus = cf.flag("required"), cf.flag("bonus")
        if required and bonus:
            cf.error("bonus", "a concept cannot be both required and bonus")
        concepts.append(Concept(name, weight, synonyms, formulas, required, cf.text("hint", required=False), bonus,
                                (*cf.texts("statement"), *cf.texts("statements"))))
    pitfalls: list[Pitfall] = []
    for raw, pf in _mappings(f, data.get("pitfalls"), "pitfalls", "name, patterns, penalty", _PITFALL_FIELDS):
        patterns = pf.texts("patterns")
        terms = _term_groups(pf, raw.get("terms"))
        if not patterns and not terms:
            pf.error("patterns", "needs at least one phrase in patterns, or term groups in terms")
        pitfalls.append(Pitfall(pf.text("name"), patterns, pf.number("penalty", high=1.0),
                                pf.text("explanation", required=False), terms))
    facts = _parse_facts(f, data.get("facts"))
    opposites = _parse_opposites(f, data.get("opposites"))
    if len([x for x in findings if x.severity == "error"]) > before:
        return None
    return Rubric(qid, tuple(concepts), tuple(pitfalls), str(path), facts, opposites)


def _term_groups(pf: _Fields, raw: Any) -> tuple[tuple[str, ...], ...]:
    """``terms``: a list of groups, each a phrase or a list of alternative phrases."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw:
        pf.error("terms", "must be a non-empty list of term groups (each a list of alternatives)")
        return ()
    groups = []
    for i, group in enumerate(raw):
        items = [group] if isinstance(group, str) else group
        if not isinstance(items, list) or not items or not all(
                isinstance(t, (str, int, float)) and not isinstance(t, bool) and str(t).strip() for t in items):
            pf.error(f"terms[{i}]", "must be a phrase or a non-empty list of phrases")
            continue
        groups.append(tuple(str(t).strip() for t in items))
    return tuple(groups)


def _mappings(f: _Fields, raw: Any, name: str, shape: str, allowed: set[str]):
    """(item, its typed fields) for each mapping in the list ``raw`` under ``name``; a finding for anything else."""
    if raw is None:
        return
    if not isinstance(raw, list):
        f.error(name, "must be a list")
        return
    for i, item in enumerate(raw):
        fields = _Fields(item if isinstance(item, dict) else {}, f.path, f.qid, f.findings, f"{name}[{i}].")
        if not isinstance(item, dict):
            fields.error("", f"must be a mapping with {shape}")
            continue
        fields.unknown(allowed)
        yield item, fields


def _parse_facts(f: _Fields, raw: Any) -> tuple[Fact, ...]:
    facts = []
    for _, ff in _mappings(f, raw, "facts", "claim, subject, holds", _FACT_FIELDS):
        claim = ff.text("claim")
        first, then = ff.texts("first"), ff.texts("then")
        if first or then:  # an order fact: which of two steps comes first
            if not (first and then):
                ff.error("then" if first else "first", "an order fact needs phrases in both first and then")
            facts.append(Fact(claim, ff.texts("subject"), (), (), first, then))
            continue
        subject = ff.texts("subject", required=True)
        holds, denies = ff.texts("holds"), ff.texts("denies")
        if not holds and not denies:
            ff.error("holds", "needs at least one phrase in holds or denies (or first and then)")
        facts.append(Fact(claim, subject, holds, denies))
    return tuple(facts)


def _parse_opposites(f: _Fields, raw: Any) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    ok = isinstance(raw, list) and all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(w, str) and w.strip() for w in p) for p in raw)
    if not ok:
        f.error("opposites", "must be a list of pairs of words, e.g. [[frozen, updated]]")
        return ()
    return tuple((a.strip().lower(), b.strip().lower()) for a, b in raw)


def _hash_file(path: Path) -> str:
    try:
        from grader.io import read_bytes_limited
        from grader.yamlio import MAX_YAML_BYTES

        return hashlib.sha256(read_bytes_limited(path, MAX_YAML_BYTES)).hexdigest()[:16]
    except OSError:
        return "unreadable"


def inspect_bank(bank_dir: str | Path | None = None,
                 lint: Callable[[Question, Rubric], list[Finding]] | None = None) -> tuple[Bank | None, list[Finding]]:
    """Read and validate a bank, returning it (None when it has errors) and every finding.

    ``lint`` adds warnings per rubric (``grader.metrics.selfcheck.rubric_warnings``: it runs the metrics, so
    it is passed in rather than imported); grading leaves it out.
    """
    root = resolve_bank_dir(bank_dir)
    findings: list[Finding] = []
    ref_dir, rub_dir = root / "references", root / "rubrics"
    hashes: dict[str, str] = {}
    questions: dict[str, Question] = {}
    broken: set[str] = set()  # question files that failed: their rubrics are not "for unknown questions"
    ref_files = sorted(p for p in ref_dir.glob("*") if p.suffix in (".yaml", ".yml"))
    if not ref_files:
        findings.append(Finding("error", str(ref_dir), "no question files (*.yaml) found"))
    for path in ref_files:
        hashes[f"references/{path.name}"] = _hash_file(path)
        unread = len(findings)
        data = _read_yaml(path, findings)
        q = _parse_question(path, data, findings) if len(findings) == unread else None  # one error per file
        if q is None:
            broken.add(path.stem)
            continue
        if q.id in questions:
            findings.append(Finding("error", str(path), f"duplicate id (also in {questions[q.id].path})",
                                    q.id, "id"))
            continue
        questions[q.id] = q
    rubrics: dict[str, Rubric] = {}
    for path in sorted(p for p in rub_dir.glob("*") if p.suffix in (".yaml", ".yml")) if rub_dir.is_dir() else []:
        hashes[f"rubrics/{path.name}"] = _hash_file(path)
        unread = len(findings)
        data = _read_yaml(path, findings)
        r = _parse_rubric(path, data, findings) if len(findings) == unread else None
        if r is None:
            continue
        if r.question_id in broken:
            continue
        if r.question_id not in questions:
            known = ", ".join(sorted(questions)[:5]) + (" ..." if len(questions) > 5 else "")
            findings.append(Finding("error", str(path), f"rubric for unknown question (known: {known})",
                                    r.question_id, "question"))
            continue
        if r.question_id in rubrics:
            findings.append(Finding("error", str(path), f"second rubric for this question (first: "
                                    f"{rubrics[r.question_id].path})", r.question_id, "question"))
            continue
        rubrics[r.question_id] = r
        if lint is not None:
            findings.extend(lint(questions[r.question_id], r))
    if any(f.severity == "error" for f in findings):
        return None, findings
    ordered = [
        Question(**{**q.__dict__, "rubric": rubrics.get(q.id)}) for q in questions.values()
    ]
    return Bank(str(root), tuple(ordered), hashes), findings


def load_bank(bank_dir: str | Path | None = None) -> Bank:
    """The validated bank; raises BankError naming the first error (``grader bank check`` lists all)."""
    bank, findings = inspect_bank(bank_dir)
    if bank is None:
        errors = [f for f in findings if f.severity == "error"]
        first = errors[0]
        more = f" (and {len(errors) - 1} more; run 'grader bank check')" if len(errors) > 1 else ""
        raise BankError(first.message + more, path=first.path, field=(
            f"{first.question_id}.{first.field}" if first.question_id and first.field else first.field
            or first.question_id))
    return bank
