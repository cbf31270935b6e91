"""The question bank: reference answers and keyword rubrics, loaded from YAML and validated.

A bank is a directory with ``references/`` and ``rubrics/`` (format: docs/bank-format.md). The bundled bank
ships inside the package, so grader finds it wherever it is installed; ``--bank DIR`` or ``GRADER_BANK``
choose another one.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.errors import BankError
from grader.yamlio import safe_load

DIFFICULTIES = ("Easy", "Medium", "Hard")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
BANK_ENV = "GRADER_BANK"


@dataclass(frozen=True)
class Concept:
    """Something a strong answer mentions, with the ways people say it."""

    name: str
    weight: float
    synonyms: tuple[str, ...]
    formulas: tuple[str, ...] = ()
    required: bool = False
    hint: str = ""
    bonus: bool = False  # beyond the reference answer: credit when said, no loss when not
    #: The concept as plain sentences (written and spoken ways of saying it): matched by meaning when no
    #: synonym occurs.
    statements: tuple[str, ...] = ()

    @property
    def meanings(self) -> tuple[str, ...]:
        """What a clause must say to cover the concept in other words: the statements, else the hint."""
        if self.statements:
            return self.statements
        hint = re.sub(r"^(mention|say|explain|note|state)( that)?\s+", "", self.hint, flags=re.I).strip()
        return (hint,) if hint else ()

    @property
    def meaning(self) -> str:
        """The first of ``meanings`` (what a report quotes as the concept's statement)."""
        return self.meanings[0] if self.meanings else ""


@dataclass(frozen=True)
class Pitfall:
    """A known misconception: stating it costs ``penalty`` of the keyword coverage."""

    name: str
    patterns: tuple[str, ...]
    penalty: float
    explanation: str = ""
    #: Groups of alternatives that must all occur in one clause, any order (pmatch-style); negation cancels.
    terms: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Fact:
    """A claim a correct answer must not contradict: what ``holds`` (and what does not) of a ``subject``."""

    claim: str
    subject: tuple[str, ...]
    holds: tuple[str, ...] = ()
    denies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rubric:
    question_id: str
    concepts: tuple[Concept, ...]
    pitfalls: tuple[Pitfall, ...] = ()
    path: str = ""
    facts: tuple[Fact, ...] = ()
    opposites: tuple[tuple[str, str], ...] = ()  # rubric-specific opposite pairs, beside the bank-wide lexicon


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    difficulty: str
    topics: tuple[str, ...]
    reference: str
    alternative_phrasings: tuple[str, ...] = ()
    extra_reference: str = ""
    exemplars: tuple[str, ...] = ()
    rubric: Rubric | None = None
    path: str = ""

    @property
    def number(self) -> int | None:
        digits = re.sub(r"\D", "", self.id)
        return int(digits) if digits else None


@dataclass(frozen=True)
class Bank:
    root: str
    questions: tuple[Question, ...]
    file_hashes: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_by_id", {q.id: q for q in self.questions})

    def __len__(self) -> int:
        return len(self.questions)

    def __iter__(self):
        return iter(self.questions)

    def __contains__(self, question_id: str) -> bool:
        return question_id in self._by_id

    def get(self, question_id: str) -> Question:
        try:
            return self._by_id[question_id]
        except KeyError:
            raise BankError(f"unknown question id {question_id!r}") from None

    @property
    def ids(self) -> list[str]:
        return [q.id for q in self.questions]

    @property
    def digest(self) -> str:
        """One hash over every bank file: what the signature records."""
        h = hashlib.sha256()
        for name in sorted(self.file_hashes):
            h.update(f"{name}:{self.file_hashes[name]}\n".encode())
        return h.hexdigest()[:16]


# --------------------------------------------------------------------------- locating


def bundled_bank_dir() -> Path:
    """The bank shipped with grader: the source checkout's folders, else the installed package data."""
    here = Path(__file__).resolve().parent
    checkout = here.parent
    if (checkout / "references").is_dir() and (checkout / "pyproject.toml").is_file():
        return checkout
    return here / "_bank"


def resolve_bank_dir(bank: str | Path | None = None) -> Path:
    """``--bank`` wins, then ``GRADER_BANK``, then the bundled bank."""
    chosen = bank if bank else os.environ.get(BANK_ENV) or None
    if chosen is None:
        return bundled_bank_dir()
    path = Path(chosen).expanduser()
    if not path.exists():
        raise BankError("bank directory does not exist", path=path)
    if not path.is_dir():
        raise BankError("bank must be a directory holding references/ and rubrics/", path=path)
    if not (path / "references").is_dir():
        raise BankError("bank has no references/ folder", path=path)
    return path


# --------------------------------------------------------------------------- reading


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
_FACT_FIELDS = {"claim", "subject", "holds", "denies"}


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
        subject = ff.texts("subject", required=True)
        holds, denies = ff.texts("holds"), ff.texts("denies")
        if not holds and not denies:
            ff.error("holds", "needs at least one phrase in holds or denies")
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


def inspect_bank(bank_dir: str | Path | None = None, warnings: bool = True) -> tuple[Bank | None, list[Finding]]:
    """Read and validate a bank, returning it (None when it has errors) and every finding.

    ``warnings=False`` skips the lint-only checks (they tokenize every reference), as grading does.
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
        if warnings:
            findings.extend(_rubric_warnings(questions[r.question_id], r))
    if any(f.severity == "error" for f in findings):
        return None, findings
    ordered = [
        Question(**{**q.__dict__, "rubric": rubrics.get(q.id)}) for q in questions.values()
    ]
    return Bank(str(root), tuple(ordered), hashes), findings


def _rubric_warnings(question: Question, rubric: Rubric) -> list[Finding]:
    """Concepts none of whose phrasings occur in the reference: probably a typo or a rubric out of step."""
    from grader.metrics.keywords import phrase_occurs

    reference = "\n".join([question.reference, question.extra_reference, *question.exemplars])
    out = []
    for i, concept in enumerate(rubric.concepts):
        if concept.bonus:
            continue
        if not any(phrase_occurs(p, reference) for p in concept.synonyms) and not any(
            phrase_occurs(p, reference, formula=True) for p in concept.formulas
        ):
            out.append(Finding("warning", rubric.path, f"concept {concept.name!r}: no synonym or formula "
                               "occurs in the reference answer (mark it 'bonus: true' if it goes beyond the reference on purpose)",
                               question.id, f"concepts[{i}]"))
    out.extend(_correctness_warnings(question, rubric, reference))
    return out


def _correctness_warnings(question: Question, rubric: Rubric, reference: str) -> list[Finding]:
    """Facts and pitfalls must hold on the model answer: a flag on the reference is a rubric bug."""
    from grader.metrics.claims import check_facts
    from grader.metrics.opposites import opposites_for
    from grader.metrics.keywords import score_keywords

    out = []
    context = f"{question.reference}\n{question.extra_reference}"
    for c in check_facts(rubric.facts, reference, opposites_for(rubric.opposites), context=context):
        out.append(Finding("warning", rubric.path, f"the reference answer contradicts a fact ({c.kind}: "
                           f"{c.said!r} of {c.subject!r} in {c.text.strip()!r}): fix the fact's phrases",
                           question.id, "facts"))
    for hit in score_keywords(rubric, reference).pitfalls:
        out.append(Finding("warning", rubric.path, f"pitfall {hit.pitfall!r} fires on the reference answer "
                           f"({hit.text.strip()!r})", question.id, "pitfalls"))
    return out


def load_bank(bank_dir: str | Path | None = None) -> Bank:
    """The validated bank; raises BankError naming the first error (``grader bank check`` lists all)."""
    bank, findings = inspect_bank(bank_dir, warnings=False)
    if bank is None:
        errors = [f for f in findings if f.severity == "error"]
        first = errors[0]
        more = f" (and {len(errors) - 1} more; run 'grader bank check')" if len(errors) > 1 else ""
        raise BankError(first.message + more, path=first.path, field=(
            f"{first.question_id}.{first.field}" if first.question_id and first.field else first.field
            or first.question_id))
    return bank
