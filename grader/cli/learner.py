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
    JudgeModelOption,
    JudgeOption,
    JudgeTimeoutOption,
    MetricsOption,
    RecordOption,
    _choose_format,
    _config,
    _emit,
    _err_console,
    _escape,
    _handled,
    _judge,
    _record_history,
    app,
)

# --------------------------------------------------------------------------- questions / bank


@app.command()
def questions(
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
    bank: BankOption = None,
    show: Annotated[Optional[str], typer.Option("--show", help="Show one question (id, number or text) with its "
                    "model answer and the rubric's key points: read it after you have answered.",
                    show_default=False)] = None,
):
    """List the bank's questions: id, difficulty, topics and text; --show q09 shows one with its model answer."""
    with _handled():
        if show is not None:
            _show_question(show, fmt, bank)
            return
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


def _show_question(spec: str, fmt: str, bank: Optional[Path]) -> None:
    """One question with its model answer and key points (``questions --show``), as text or JSON."""
    from grader.bank import load_bank
    from grader.bank.resolve import resolve_question
    from grader.reports.model import dumps, model_answer_dict
    from grader.scoring.engine import key_points

    fmt = _choose_format(fmt, ("text", "json"))
    loaded = load_bank(bank)
    q = loaded.get(resolve_question(loaded, spec))
    points = key_points(q)
    if fmt == "json":
        sys.stdout.write(dumps({"id": q.id, "difficulty": q.difficulty, "topics": list(q.topics),
                                "question": q.question, "model_answer": model_answer_dict(q.reference.strip(),
                                                                                          points)}))
        return
    from rich.console import Console

    from grader.reports.terminal import print_reference

    console = Console(highlight=False)
    console.print(f"[bold]{q.id} ({q.difficulty}):[/] {_escape(q.question)}", markup=True)
    console.print(f"topics: {', '.join(q.topics)}", markup=False, style="dim")
    print_reference(q.reference, points, console)


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
    from grader.io import read_text_file

    if answer is not None and answer_file is not None:
        raise InputError("give either --answer or --answer-file, not both", field="answer")
    if answer_file is not None:
        if str(answer_file) == "-":
            return _stdin_answer()
        return read_text_file(answer_file)
    if answer is not None:
        return _stdin_answer() if answer == "-" else _argv_text(answer, "--answer")
    if not sys.stdin.isatty():
        return _stdin_answer()
    raise InputError("no answer given: use --answer TEXT, --answer-file PATH, or pipe it on stdin",
                     field="answer")


def _stdin_answer() -> str:
    """The answer piped on standard input; nothing there (an empty pipe, /dev/null, a closed stdin in a script or
    cron job) is an error, as in a terminal, not an empty answer graded 0."""
    from grader.errors import InputError
    from grader.io import decode_text

    text = decode_text(sys.stdin.buffer.read(), "<stdin>")
    if not text.strip():
        raise InputError("no answer given: standard input is empty; pipe the answer in, or use --answer TEXT or "
                         "--answer-file PATH", path="<stdin>")
    return text


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
    judge: JudgeOption = None,
    judge_model: JudgeModelOption = None,
    judge_timeout: JudgeTimeoutOption = 300.0,
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
        config = _config(weights, calibration, metrics)
        grader = Grader(loaded, metrics=metrics, config=config, judge=_judge(judge, judge_model, judge_timeout))
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
    judge: JudgeOption = None,
    judge_model: JudgeModelOption = None,
    judge_timeout: JudgeTimeoutOption = 300.0,
):
    """Practise interactively: a question, your answer, the report, then retry, the model answer, next or quit.

    An answer may run over several paragraphs: end it with a line holding only '.' or with Ctrl-D; ':edit' on a
    line of its own opens $VISUAL or $EDITOR. Ctrl-D on an empty answer, 'q' or Ctrl-C end the practice with a
    summary of the session (exit 0; 130 after Ctrl-C). Text typed while an answer is being graded is shown after
    the report and offered as the start of the next answer: nothing typed is dropped unseen.

    Example: grader practice --topic lora --record
    """
    with _handled():
        from grader.bank import load_bank
        from grader.scoring.engine import Grader

        loaded = load_bank(bank)
        pool = _practice_pool(loaded, question, topic, seed)
        grader = Grader(loaded, metrics=metrics, judge=_judge(judge, judge_model, judge_timeout))
        code = _Practice(grader, pool, record, history_db).run()
        if code:
            raise typer.Exit(code)


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


_YES = ("", "y", "yes")
_NO = ("n", "no")
_NEXT = ("", "n", "next", "s", "skip", "y", "yes")
_QUIT = ("q", "quit", "exit")


class _Practice:
    """One practice session at the terminal: ask, read, grade, report, offer what next; a summary at the end."""

    def __init__(self, grader, pool: list, record: bool, history_db: Optional[Path]):
        from rich.console import Console

        from grader.cli.terminal import AnswerReader
        from grader.mentor.session import Session

        self.console = Console(highlight=False)
        self.grader, self.pool, self.record, self.history_db = grader, pool, record, history_db
        self.session = Session()
        self.reader = AnswerReader(say=self._note)
        self.carried: list[str] = []  # lines typed ahead (or given at a prompt), the start of the next answer
        self.grading = ""  # an answer being graded: shown in the summary if Ctrl-C stops the grading
        self.model_loaded = "bertscore" not in grader.metrics

    def _note(self, text: str) -> None:
        self.console.print(text, markup=False, style="dim")

    def run(self) -> int:
        """Practise until the questions run out or the learner stops; 0, or 130 after Ctrl-C (or SIGTERM)."""
        from grader.errors import EXIT_INTERRUPTED

        code = 0
        try:
            self._loop()
        except KeyboardInterrupt:
            sys.stdout.write("\n")  # off the line where the terminal echoed ^C
            sys.stdout.flush()
            code = EXIT_INTERRUPTED
            self.session.unused += [self.grading, "\n".join(self.reader.lines)]
        self.session.unused.append("\n".join(self.carried))
        from grader.reports.terminal import print_session

        print_session(self.session.summary(), self.console, interrupted=bool(code))
        return code

    def _loop(self) -> None:
        index = 0
        while index < len(self.pool):
            question = self.pool[index]
            report = self._attempt(question)
            if report is None:  # Ctrl-D on an empty answer
                return
            choice = self._after(report, last=index == len(self.pool) - 1)
            if choice == "quit":
                return
            if choice == "next":
                index += 1

    def _attempt(self, question):
        """Ask, read and grade one answer; None when the learner ends the practice instead."""
        from grader.cli.terminal import ANSWER_HELP, ANSWER_REMINDER
        from grader.reports.terminal import print_text

        self.console.print(f"\n[bold]{question.id} ({question.difficulty}):[/] {_escape(question.question)}",
                           markup=True)
        self._note(ANSWER_REMINDER if self.session.attempts else ANSWER_HELP)
        if self.carried:
            self._note("(it starts with what you typed earlier:)")
            for line in self.carried:
                self.console.print(line, markup=False, highlight=False)
        lines = self.reader.read(self.carried)
        self.carried, self.reader.lines = [], []  # read: no longer text that an interruption could lose
        if lines is None:
            return None
        self.grading = "\n".join(lines)
        if not self.model_loaded:
            with self._status("Loading the language model (first answer only, a few seconds)..."):
                self.grader.bert  # noqa: B018 - loads the model and the bank's reference encodings
            self.model_loaded = True
        with self._status("Grading your answer..."):
            report = self.grader.grade(question.id, self.grading)
        self.grading = ""
        change = self.session.add(report)
        print_text(report, self.console, model_answer=False, guide=len(self.session.attempts) == 1)
        if change is not None:
            self.console.print(f"Since your last try at {report.question_id}: {change:+.1f}", markup=False)
        _record_history(self.record, self.history_db, "practice", [(None, report.to_dict())], source="practice")
        return report

    def _status(self, message: str):
        """A spinner on a terminal; one plain line where the output is not one (piped, a dumb terminal)."""
        import contextlib

        if self.console.is_interactive:
            return self.console.status(message)
        self._note(message)
        return contextlib.nullcontext()

    def _after(self, report, last: bool) -> str:
        """Text typed while grading, shown and offered; then what next: "next", "retry" or "quit"."""
        from grader.cli.terminal import take_typed_ahead

        typed, ended = take_typed_ahead()
        lines = _typed_lines(typed)
        if lines:
            self.console.print("\nYou typed this while your answer was being graded:", markup=False)
            for line in lines:
                self.console.print(f"  {line}", markup=False, highlight=False)
            if ended:
                self.session.unused.append("\n".join(lines))
                return "quit"
            reply = _ask("Keep it as the start of your next answer? [Y/n] ")
            if reply is None:
                self.session.unused.append("\n".join(lines))
                return "quit"
            if reply.strip().lower() in _NO:
                self.console.print("Set aside, not used.", markup=False)
            else:
                self.carried = lines + ([reply] if reply.strip().lower() not in _YES else [])
        elif ended:
            return "quit"
        return self._menu(report, last)

    def _menu(self, report, last: bool) -> str:
        """Retry, the model answer (once), next (or finish after the last question), quit."""
        from grader.reports.terminal import print_model_answer

        shown = False
        while True:
            options = ["Enter: " + ("finish" if last else "next question"), "r: retry"]
            options += [] if shown else ["m: model answer"]
            reply = _ask(f"What next? ({', '.join(options + ['q: quit'])}) ")
            word = None if reply is None else reply.strip().lower()
            if word is None or word in _QUIT:
                return "quit"
            if word in ("m", "model") and not shown:
                print_model_answer(report, self.console)
                shown = True
            elif word in ("r", "retry"):
                return "retry"
            elif word in _NEXT:
                return "quit" if last else "next"
            else:  # an answer where a choice was asked: never dropped
                self.carried.append(reply)
                self.console.print("(kept as the first line of your next answer)", markup=False)
                return "retry" if last else "next"


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
