"""The bank's data model (questions, rubrics, concepts, facts, pitfalls) and where a bank lives on disk.

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

from grader.errors import BankError

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
    first: tuple[str, ...] = ()  # an order fact: these steps come before ``then`` (grader/metrics/order.py)
    then: tuple[str, ...] = ()


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
    here = Path(__file__).resolve().parent.parent  # grader/
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
