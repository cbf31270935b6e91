"""The question bank: questions with reference answers and rubrics, loaded from YAML and validated.

Lives here: the data model and where banks live (``model``), loading and validation (``loading``), turning
what a user typed into a question id (``resolve``), and TF-IDF rubric suggestions (``suggest``).

May import: only the foundation modules (``grader.errors``, ``grader.io``, ``grader.yamlio``, ``grader.text``).
Everything else reads the bank, so the bank reads nothing of theirs.
"""
from grader.bank.loading import Finding, inspect_bank, load_bank
from grader.bank.model import (
    BANK_ENV,
    Bank,
    Concept,
    Fact,
    Pitfall,
    Question,
    Rubric,
    bundled_bank_dir,
    resolve_bank_dir,
)

__all__ = [
    "BANK_ENV",
    "Bank",
    "Concept",
    "Fact",
    "Finding",
    "Pitfall",
    "Question",
    "Rubric",
    "bundled_bank_dir",
    "inspect_bank",
    "load_bank",
    "resolve_bank_dir",
]
