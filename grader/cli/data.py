"""Commands over the question bank itself: lint it, suggest rubric phrases.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from grader.cli.app import (
    BankOption,
    _err_console,
    _escape,
    _handled,
    bank_app,
    rubric_app,
)
from grader.errors import EXIT_FINDINGS


@bank_app.command("check")
def bank_check(path: Annotated[Optional[Path], typer.Argument(
        help="Bank directory (default: $GRADER_BANK, else the bundled bank).", show_default=False,
        readable=False)] = None):
    """Lint a bank: ids, empty references, unknown questions in rubrics, weights, unused concepts.

    Exits 0 when clean, 1 with findings (errors or warnings), 4 when the bank cannot be read at all.
    """
    with _handled():
        from grader.bank import inspect_bank
        from grader.metrics.selfcheck import rubric_warnings

        loaded, findings = inspect_bank(path, lint=rubric_warnings)
        console = _err_console()
        for finding in findings:
            style = "red" if finding.severity == "error" else "yellow"
            console.print(f"[{style}]{_escape(finding.one_line())}[/]", markup=True, highlight=False)
        if loaded is not None:
            rubrics = sum(1 for q in loaded if q.rubric)
            console.print(f"{len(loaded)} questions, {rubrics} rubrics, "
                          f"{sum(1 for f in findings if f.severity == 'error')} errors, "
                          f"{sum(1 for f in findings if f.severity == 'warning')} warnings")
        if findings:
            raise typer.Exit(EXIT_FINDINGS)


@rubric_app.command("suggest")
def rubric_suggest(
    question: Annotated[Optional[str], typer.Option("--question", "-q", help="A bank question (id, number or "
                                                    "text).", show_default=False)] = None,
    reference_file: Annotated[Optional[Path], typer.Option("--reference-file", help="A reference answer for a new "
                              "question (UTF-8 text).", show_default=False, readable=False)] = None,
    question_id: Annotated[str, typer.Option("--id", help="Id to put in the snippet for --reference-file.")]
    = "new",
    top: Annotated[int, typer.Option("--top", help="How many concepts to propose.")] = 6,
    bank: BankOption = None,
):
    """Propose rubric concepts from a reference answer (TF-IDF against the bank), as YAML to edit.

    Example: grader rubric suggest -q q11 > rubrics/q11.draft.yaml
    """
    with _handled():
        from grader.bank import load_bank
        from grader.bank.resolve import resolve_question
        from grader.bank.suggest import rubric_snippet
        from grader.errors import InputError
        from grader.io import read_text_file

        if (question is None) == (reference_file is None):
            raise InputError("give exactly one of --question or --reference-file", field="--question")
        loaded = load_bank(bank)
        if question is not None:
            qid = resolve_question(loaded, question)
            reference = loaded.get(qid).reference
            corpus = [q.reference for q in loaded if q.id != qid]
        else:
            qid, reference = question_id, read_text_file(reference_file)
            corpus = [q.reference for q in loaded]
        if not reference.strip():
            raise InputError("the reference answer is empty", path=reference_file, field="reference")
        sys.stdout.write(rubric_snippet(qid, reference, corpus, top=max(1, top)))
