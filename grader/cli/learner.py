"""The learner's commands: list the questions, grade one answer, practise in a loop.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from grader.cli.app import (
    BankOption,
    CalibrationOption,
    ForceOption,
    HistoryDbOption,
    MetricsOption,
    RecordOption,
    _choose_format,
    _config,
    _emit,
    _err_console,
    _handled,
    _record_history,
    app,
)

# --------------------------------------------------------------------------- questions / bank


@app.command()
def questions(
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
    bank: BankOption = None,
):
    """List the bank's questions: id, difficulty, topics and text."""
    with _handled():
        from grader.bank import load_bank
        from grader.reports.model import dumps

        fmt = _choose_format(fmt, ("text", "json"))
        loaded = load_bank(bank)
        if fmt == "json":
            sys.stdout.write(dumps([{"id": q.id, "difficulty": q.difficulty, "topics": list(q.topics),
                                     "question": q.question, "has_rubric": q.rubric is not None}
                                    for q in loaded]))
        elif fmt == "text":
            from rich.console import Console
            from rich.table import Table

            table = Table("id", "difficulty", "topics", "question", title=f"{len(loaded)} questions")
            for q in loaded:
                table.add_row(q.id, q.difficulty, ", ".join(q.topics), q.question)
            Console(highlight=False).print(table)
        else:
            raise typer.BadParameter(f"unknown format {fmt!r}; choose text or json", param_hint="--format")


# --------------------------------------------------------------------------- grade


def _argv_text(value: str, option: str) -> str:
    """Text given on the command line, as UTF-8: bytes that are not UTF-8 arrive as lone surrogates."""
    from grader.errors import InputError
    from grader.io import refuse_nul

    try:
        text = value.encode("utf-8", "surrogateescape").decode("utf-8")
    except UnicodeError:
        raise InputError("is not valid UTF-8 text; pass the answer in a UTF-8 file with --answer-file",
                         field=option) from None
    return refuse_nul(text, field=option)


def _read_answer(answer: Optional[str], answer_file: Optional[Path]) -> str:
    from grader.errors import InputError
    from grader.io import decode_text, read_text_file

    if answer is not None and answer_file is not None:
        raise InputError("give either --answer or --answer-file, not both", field="answer")
    if answer_file is not None:
        if str(answer_file) == "-":
            return decode_text(sys.stdin.buffer.read(), "<stdin>")
        return read_text_file(answer_file)
    if answer is not None:
        return decode_text(sys.stdin.buffer.read(), "<stdin>") if answer == "-" else _argv_text(answer, "--answer")
    if not sys.stdin.isatty():
        return decode_text(sys.stdin.buffer.read(), "<stdin>")
    raise InputError("no answer given: use --answer TEXT, --answer-file PATH, or pipe it on stdin",
                     field="answer")


@app.command()
def grade(
    question: Annotated[str, typer.Option("--question", "-q", help="Question id (q09), number (9) or a piece "
                                          "of its text ('explain lora').", show_default=False)],
    answer: Annotated[Optional[str], typer.Option("--answer", "-a", help="The answer text ('-' reads stdin).",
                                                  show_default=False)] = None,
    answer_file: Annotated[Optional[Path], typer.Option("--answer-file", help="Read the answer from a UTF-8 "
                                                        "text file ('-' for stdin).", show_default=False,
                                                        readable=False)] = None,
    fmt: Annotated[Optional[str], typer.Option("--format", "-f", help="text (terminal), json, md, html or csv "
                   "(default: the -o file's extension, else text).", show_default=False)] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the report to this file.",
                                                   show_default=False, readable=False)] = None,
    metrics: Annotated[str, typer.Option("--metrics", help="Comma-separated subset of keywords,rouge,bertscore. "
                                         "Without bertscore, grading starts instantly (no torch).")]
    = "keywords,rouge,bertscore",
    bank: BankOption = None,
    weights: Annotated[Optional[Path], typer.Option("--weights", help="A weights file (default: the bundled "
                                                    "grader/data/weights.yaml).", show_default=False,
                                                    readable=False)] = None,
    calibration: CalibrationOption = None,
    record: RecordOption = False,
    history_db: HistoryDbOption = None,
    force: ForceOption = False,
):
    """Grade one answer to one bank question and explain the score.

    Writing a JSON report over an earlier one keeps its mentor reviews (under orphaned_reviews when the answer
    changed); another format over a reviewed report is refused without --force.

    Examples:

      grader grade -q q09 --answer "LoRA learns a low-rank update BA ..."

      grader grade -q "mode collapse" --answer-file my_answer.txt --format json -o report.json

      echo "Top-p samples from the smallest set ..." | grader grade -q 13 --metrics keywords,rouge
    """
    with _handled():
        from grader.bank import load_bank
        from grader.bank.resolve import resolve_question
        from grader.reports.render import FORMATS
        from grader.scoring.engine import Grader

        fmt = _choose_format(fmt, (*FORMATS, "html", "csv"), output)
        if output is not None:
            from grader.io import check_writable
            from grader.mentor.keep import guard_overwrite

            check_writable(output)
            guard_overwrite(output, force=force, keeps_reviews=fmt == "json")
        loaded = load_bank(bank)
        qid = resolve_question(loaded, question)
        text = _read_answer(answer, answer_file)
        grader = Grader(loaded, metrics=metrics, config=_config(weights, calibration, metrics))
        report = grader.grade(qid, text)
        _emit_report(report, fmt, output, force, loaded)
        _record_history(record, history_db, "grade", [(None, report.to_dict())],
                        source=str(answer_file) if answer_file is not None else "")


def _emit_report(report, fmt: str, output: Optional[Path], force: bool, loaded) -> None:
    """The report in ``fmt`` to ``output`` or the terminal; a JSON file keeps the mentor reviews it held."""
    from grader.reports.markdown import to_markdown
    from grader.reports.model import to_json
    from grader.reports.terminal import print_text

    if fmt == "json" and output is not None:
        from grader.io import locked
        from grader.mentor.keep import carry_reviews, read_existing
        from grader.reports.model import dumps

        with locked(output):
            data, on_answer, orphaned = carry_reviews("question", read_existing(output), report.to_dict())
            _emit(dumps(data), output, force)
        if on_answer or orphaned:
            _err_console().print(f"kept {on_answer + orphaned} mentor review(s) of {output}"
                                 + (" under orphaned_reviews (the answer changed)" if orphaned else ""))
    elif fmt == "json":
        _emit(to_json(report), output)
    elif fmt == "md":
        _emit(to_markdown(report), output, force)
    elif fmt in ("html", "csv"):
        from grader.reports.render import render
        from grader.reports.views import bank_topics

        _emit(render("question", report.to_dict(), fmt, bank_topics(loaded)), output, force)
    elif output is not None:
        _emit(to_markdown(report), output, force)
    else:
        from rich.console import Console

        print_text(report, Console(highlight=False))


# --------------------------------------------------------------------------- practice


@app.command()
def practice(
    question: Annotated[Optional[str], typer.Option("--question", "-q", help="Practise this question (id, "
                                                    "number or text).", show_default=False)] = None,
    topic: Annotated[Optional[str], typer.Option("--topic", "-t", help="Pick questions with this topic tag.",
                                                 show_default=False)] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Random seed for the question order.",
                                                show_default=False)] = None,
    metrics: MetricsOption = "keywords,rouge,bertscore",
    bank: BankOption = None,
    record: RecordOption = False,
    history_db: HistoryDbOption = None,
):
    """Practise interactively: a question, your answer (finish with an empty line or Ctrl-D), the report, repeat.

    Text typed while an answer is being graded is shown after the report and offered as the start of the next
    answer: nothing typed is dropped unseen."""
    with _handled():

        from rich.console import Console

        from grader.bank import load_bank
        from grader.cli.terminal import take_typed_ahead
        from grader.reports.terminal import print_text
        from grader.scoring.engine import Grader

        loaded = load_bank(bank)
        pool = _practice_pool(loaded, question, topic, seed)
        grader = Grader(loaded, metrics=metrics)
        console = Console(highlight=False)
        carried: list[str] = []  # lines typed ahead, kept as the start of the next answer
        for q in pool:
            console.print(f"\n[bold]{q.id} ({q.difficulty}):[/] {q.question}", markup=True)
            console.print("[dim]Your answer (empty line to finish, Ctrl-D to quit):[/]", markup=True)
            lines = _read_answer_lines(console, carried)
            carried = []
            if lines is None:
                return
            attempt = grader.grade(q.id, "\n".join(lines))
            print_text(attempt, console)
            _record_history(record, history_db, "practice", [(None, attempt.to_dict())], source="practice")
            last = q is pool[-1]
            typed, ended = take_typed_ahead()
            typed_lines = _typed_lines(typed)
            if typed_lines:
                console.print("\nYou typed this while your answer was being graded:", markup=False)
                for line in typed_lines:
                    console.print(f"  {line}", markup=False, highlight=False)
                if last or ended:
                    console.print("It was not used (" + ("that was the last question" if last else "Ctrl-D ended the "
                                  "practice") + "); copy it from here if you need it.", markup=False)
                    return
                reply = _ask("Use it as the start of your next answer? [Y/n] ")
                if reply is None:
                    return
                if reply.strip().lower() in _NO:
                    console.print("Set aside, not used.", markup=False)
                else:
                    carried = typed_lines + ([reply] if reply.strip().lower() not in _YES else [])
                    continue
            elif ended:
                return
            if not last:
                reply = _ask("Next question? [Y/n] ")
                if reply is None or reply.strip().lower() in _NO:
                    return
                if reply.strip().lower() not in _YES:  # an answer where a yes or no was asked: never dropped
                    carried = [reply]
                    console.print("(kept as the first line of your next answer)", markup=False)


def _practice_pool(loaded, question: Optional[str], topic: Optional[str], seed: Optional[int]) -> list:
    """The questions to practise, in a (seeded) random order: one question, a topic's, or the whole bank."""
    import random

    from grader.bank.resolve import resolve_question
    from grader.errors import InputError

    pool = list(loaded)
    if topic:
        pool = [q for q in pool if topic.lower() in q.topics]
        if not pool:
            topics = sorted({t for q in loaded for t in q.topics})
            raise InputError(f"no question has topic {topic!r}; topics: {', '.join(topics)}", field="--topic")
    if question:
        pool = [loaded.get(resolve_question(loaded, question))]
    random.Random(seed).shuffle(pool)
    return pool


def _read_answer_lines(console, carried: list[str]) -> Optional[list[str]]:
    """An answer typed at the terminal, starting with ``carried``; None when Ctrl-D ends the practice."""
    lines = list(carried)
    if lines:
        console.print("[dim](it starts with what you typed earlier:)[/]", markup=True)
        for line in lines:
            console.print(line, markup=False, highlight=False)
    while True:
        try:
            line = input()
        except EOFError:
            return lines or None
        if not line.strip() and lines:
            return lines
        lines.append(line)


_YES = ("", "y", "yes")
_NO = ("n", "no", "q", "quit")


def _ask(prompt: str) -> Optional[str]:
    """A one-line reply, or None at the end of input (Ctrl-D)."""
    try:
        return input(prompt)
    except EOFError:
        return None


def _typed_lines(text: str) -> list[str]:
    """Typed-ahead text as lines, blank lines at either end dropped; [] when nothing but blanks was typed."""
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines
