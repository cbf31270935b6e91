"""Commands over saved reports: review (mentor grades), report (re-render), agreement, history.

Registered on grader's app when grader.cli is imported. Like the rest of the CLI:
parse options, call the library, render; errors are one line with the exit codes of grader/cli.py.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from grader.cli.app import (
    BankOption,
    ForceOption,
    UsageError,
    _choose_format,
    _emit,
    _err_console,
    _escape,
    _handled,
    app,
)
from grader.errors import EXIT_FINDINGS

OutputOption = Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file instead of "
                                                      "standard output.", show_default=False, readable=False)]


def _check_format(fmt: str, allowed: tuple[str, ...]) -> None:
    if fmt not in allowed:
        raise UsageError(f"unknown format {fmt!r}; choose {', '.join(allowed)}", field="--format")


def _num(value, spec: str = ".1f") -> str:
    return "–" if value is None else format(value, spec)


# --------------------------------------------------------------------------- review


def _prompt_grade(label: str) -> float | None:
    """Ask until the answer is empty (skip) or a grade in 0-100."""
    from grader.errors import InputError
    from grader.mentor.review import check_grade

    while True:
        raw = typer.prompt(label, default="", show_default=False).strip()
        if not raw:
            return None
        try:
            return check_grade(float(raw.replace(",", ".")))
        except ValueError:
            typer.echo(f"  {raw!r} is not a number; give 0-100 or press Enter to skip")
        except InputError as exc:
            typer.echo(f"  {exc.message}")


def _show_answer(console, t, entry: dict) -> None:
    """What a mentor grades against: the question as asked and the interviewer's follow-ups, the answer, then
    the automatic score with its band, flags and feedback, and earlier reviews (local time)."""
    from grader.clock import local_time

    console.print(f"\n[bold]{t.number}. {_escape(t.question_id)}: {_escape(t.question)}[/]", markup=True)
    if t.asked and t.asked != t.question:
        console.print(f"[dim]Asked:[/] {_escape(t.asked)}", markup=True)
    for follow_up in entry.get("follow_ups") or ():
        console.print(f"[dim]Interviewer follow-up:[/] {_escape(follow_up)}", markup=True)
    excerpt = t.answer.strip() or "(empty answer)"
    if len(excerpt) > 1200:
        excerpt = excerpt[:1200] + " …"
    console.print(_escape(excerpt), markup=False)
    flags = f"  [dim]flags:[/] {_escape(', '.join(entry['flags']))}" if entry.get("flags") else ""
    console.print(f"[dim]Automatic score:[/] {t.score:.1f} {_escape(entry.get('band') or '')}{flags}", markup=True)
    for line in entry.get("feedback") or ():
        console.print(f"  • {_escape(line)}", markup=True)
    for r in entry.get("reviews") or ():
        note = f": {r['note']}" if r.get("note") else ""
        console.print(f"[dim]Earlier review:[/] {r['grade']:g} by {_escape(r['reviewer'])}, "
                      f"{local_time(r['reviewed_at'])}{_escape(note)}", markup=True)


def _review_interactively(chosen, entries: dict, reviewer, save, saved: dict, target: Path, report: Path) -> bool:
    """Ask for a grade and a note per answer, saving each at once; False when input ended early (Ctrl-D).
    ``entries`` maps an answer number to its report entry (band, flags, feedback, follow-ups, reviews)."""
    from grader.errors import EXIT_INTERRUPTED
    from grader.mentor.review import check_reviewer

    from rich.console import Console

    console = Console(highlight=False)
    try:
        name = check_reviewer(reviewer or typer.prompt("Your name (reviewer)"))
        for t in chosen:
            _show_answer(console, t, entries[t.number])
            value = _prompt_grade("Your grade 0-100 (Enter to skip)")
            if value is None:
                continue
            text = typer.prompt("Note (optional)", default="", show_default=False)
            save(t, value, text, name)
            console.print(f"[dim]saved to {_escape(str(target))}[/]", markup=True)
    except (typer.Abort, KeyboardInterrupt) as exc:
        interrupted = isinstance(exc, KeyboardInterrupt) or isinstance(exc.__context__, KeyboardInterrupt)
        kept = f"{saved['n']} review(s) saved to {target}" if saved["n"] else f"{report} is unchanged"
        if interrupted:
            _err_console().print(f"interrupted: {kept}", markup=False)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        _err_console().print(f"input ended; {kept}", markup=False)
        return False
    return True


@app.command()
def review(
    report: Annotated[Path, typer.Argument(help="A JSON report from 'grade --format json' or 'batch --format json'.",
                                           metavar="REPORT.json", show_default=False, readable=False)],
    question: Annotated[Optional[str], typer.Option("--question", "-q", help="The question id to review (q09).",
                                                    show_default=False)] = None,
    number: Annotated[Optional[int], typer.Option("--number", "-n", help="The answer number in a transcript "
                      "report (its '#' column), when a question was asked twice.", show_default=False)] = None,
    grade: Annotated[Optional[float], typer.Option("--grade", "-g", help="Your grade, 0-100. Without it, grader "
                     "asks for a grade and a note per answer.", show_default=False)] = None,
    note: Annotated[Optional[str], typer.Option("--note", help="Your note for the candidate.",
                                                show_default=False)] = None,
    reviewer: Annotated[Optional[str], typer.Option("--reviewer", "-r", envvar="GRADER_REVIEWER",
                        help="Your name (or $GRADER_REVIEWER).", show_default=False)] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the reviewed report here "
                      "(default: update REPORT in place).", show_default=False, readable=False)] = None,
    now: Annotated[Optional[str], typer.Option("--now", hidden=True, help="Fix the review time (tests).")] = None,
    force: Annotated[bool, typer.Option("--force", help="With --output: replace a file that holds other "
                     "reviews.")] = False,
):
    """Add a mentor's grade and note to answers of a saved report, beside the automatic score.

    The automatic score is never changed; a later review of the same answer is added after the earlier one
    and becomes the mentor's current grade. Each review is saved as soon as it is entered (the file is
    rewritten atomically, under a lock, so reviews given at the same time by others are kept too); Ctrl-C
    keeps every review already entered.

    Examples:

      grader review report.json --grade 70 --note "Good intuition, missed the merge" --reviewer "Ana Ruiz"

      grader review reports/dana-lee.json -q q13 -g 40 -r Ana

      grader review reports/dana-lee.json            (asks for a grade and a note per answer)
    """
    with _handled():
        from grader.clock import utc_now
        from grader.errors import InputError
        from grader.mentor.keep import guard_overwrite
        from grader.mentor.review import check_reviewer, save_review, select
        from grader.reports.schemas import load_report

        kind, data = load_report(report, kinds=("question", "transcript"))
        chosen = select(kind, data, question, number, path=str(report))
        when = utc_now(now)
        target = output or report
        if output is not None:
            from grader.io import check_writable

            check_writable(output)
            if output.resolve() != report.resolve():
                guard_overwrite(output, force=force)
        saved = {"n": 0}

        def save(t, value: float, text: str, name: str) -> None:
            source = target if saved["n"] or target == report else report
            save_review(source, target, t, grade=value, note=text, reviewer=name, reviewed_at=when)
            saved["n"] += 1

        if grade is not None:
            if len(chosen) > 1:
                listing = ", ".join(f"{t.number} ({t.question_id})" for t in chosen)
                raise InputError(f"the report has {len(chosen)} graded answers ({listing}); choose one with "
                                 "--question ID or --number N", path=report, field="--question")
            save(chosen[0], grade, note or "", check_reviewer(reviewer))
        else:
            if note is not None:
                raise InputError("--note needs --grade (or leave both out to review interactively)", field="--note")
            entries = {1: data} if kind == "question" else dict(enumerate(data["answers"], 1))
            if not _review_interactively(chosen, entries, reviewer, save, saved, target, report):
                return
        if saved["n"] == 0:
            _err_console().print(f"no review added; {report} is unchanged")
            return
        _err_console().print(f"saved {saved['n']} review(s) to {target}")


# --------------------------------------------------------------------------- report


@app.command("report")
def report_command(
    report: Annotated[Path, typer.Argument(help="A saved JSON report: from grade, batch (a transcript or "
                                           "summary.json), reviewed or not.", metavar="REPORT.json",
                                           show_default=False, readable=False)],
    fmt: Annotated[Optional[str], typer.Option("--format", "-f", help="text, html, md, csv or json (default: "
                   "the -o file's extension, else text).", show_default=False)] = None,
    output: OutputOption = None,
    bank: BankOption = None,
    force: ForceOption = False,
):
    """Show a saved report in the terminal, or re-render it as HTML, Markdown or CSV, with mentor grades beside the automatic scores.

    Without --format: a text view on the terminal, or the format -o's extension names (-o report.html writes
    HTML). Topics come from the bank (--bank, default the bundled one). json re-emits the report after checking
    it against its schema.

    Examples:

      grader report reports/dana-lee.json

      grader report report.json -o report.html

      grader report reports/summary.json --format html -o cohort.html

      grader report reports/dana-lee.json --format csv > dana-lee.csv
    """
    with _handled():
        from grader.bank import load_bank
        from grader.reports.schemas import load_report
        from grader.reports.render import RENDER_FORMATS, render
        from grader.reports.views import bank_topics

        fmt = _choose_format(fmt, RENDER_FORMATS, output)
        kind, data = load_report(report)
        topics = bank_topics(load_bank(bank)) if fmt != "json" else {}
        _emit(render(kind, data, fmt, topics), output, force)


# --------------------------------------------------------------------------- agreement


@app.command()
def agreement(
    folder: Annotated[Path, typer.Argument(help="A folder of reviewed JSON reports (searched recursively).",
                                           metavar="DIR", show_default=False, readable=False)],
    fmt: Annotated[Optional[str], typer.Option("--format", "-f", help="text or json (default: the -o file's "
                   "extension, else text).", show_default=False)] = None,
    output: OutputOption = None,
    force: ForceOption = False,
):
    """Where mentors and grader disagree: by question and by metric, with Pearson's r and mean differences.

    Differences are mentor minus automatic (0-100); a metric in [0, 1] is scaled by 100 for its mean
    difference. Exit code 1 when some JSON files could not be read (the rest are used).

    Example: grader agreement reports/ --format json
    """
    with _handled():
        from grader.mentor.agreement import agreement as compute
        from grader.reports.model import dumps

        fmt = _choose_format(fmt, ("text", "json"), output)
        data, problems = compute(folder)
        if fmt == "json":
            _emit(dumps(data), output, force)
        else:
            _emit(_agreement_text(data), output, force)
        for problem in problems:
            _err_console().print(f"[bold red]error:[/] {_escape(problem.one_line())}", markup=True)
        if problems:
            raise typer.Exit(EXIT_FINDINGS)


def _table_text(table) -> str:
    """A rich table as plain text (for stdout or a file)."""
    import io

    from rich.console import Console

    buffer = io.StringIO()
    Console(file=buffer, width=120, highlight=False, color_system=None).print(table)
    return buffer.getvalue()


def _agreement_text(data: dict) -> str:
    from rich.table import Table

    o = data["overall"]
    out = [f"{data['reviewed_answers']} reviewed answers in {data['reports']} reports under {data['directory']}",
           f"overall: pearson {_num(o['pearson'], '.3f')}, mean difference (mentor - automatic) "
           f"{_num(o['mean_difference'], '+.1f')}, mean absolute difference {_num(o['mean_abs_difference'])}", ""]
    questions = Table("question", "n", "mentor mean", "automatic mean", "mean diff", "mean |diff|", "pearson",
                      title="By question (largest disagreement first)")
    for q in data["by_question"]:
        questions.add_row(q["question_id"], str(q["n"]), _num(q["mentor_mean"]), _num(q["automatic_mean"]),
                          _num(q["mean_difference"], "+.1f"), _num(q["mean_abs_difference"]),
                          _num(q["pearson"], ".3f"))
    metrics = Table("metric", "n", "pearson with mentor", "mean diff (x100)", title="By metric")
    for m in data["by_metric"]:
        metrics.add_row(m["label"], str(m["n"]), _num(m["pearson"], ".3f"), _num(m["mean_difference"], "+.1f"))
    worst = Table("report", "#", "question", "mentor", "automatic", "diff", "reviewer", "note",
                  title="Largest disagreements")
    for d in data["disagreements"]:
        worst.add_row(d["report"], str(d["number"]), d["question_id"], _num(d["mentor"]), _num(d["automatic"]),
                      _num(d["difference"], "+.1f"), d["reviewer"], d["note"][:60])
    return "\n".join(out) + "".join(_table_text(t) for t in (questions, metrics, worst))


# --------------------------------------------------------------------------- history


def _trend_word(slope: float | None) -> str:
    if slope is None:
        return "– (1 attempt)"
    arrow = "↑" if slope >= 0.5 else "↓" if slope <= -0.5 else "→"
    return f"{slope:+.1f}/attempt {arrow}"


@app.command()
def history(
    candidate: Annotated[Optional[str], typer.Option("--candidate", "-c", help="Only this candidate.",
                                                     show_default=False)] = None,
    question: Annotated[Optional[str], typer.Option("--question", "-q", help="Only this question: an id (q09), "
                                                    "a number (9) or a piece of its text, as grade -q takes.",
                                                    show_default=False)] = None,
    fmt: Annotated[Optional[str], typer.Option("--format", "-f", help="text, json or html (default: from -o's "
                                               "extension, else text).", show_default=False)] = None,
    output: OutputOption = None,
    history_db: Annotated[Optional[Path], typer.Option("--history-db", help="The history database (default: "
                          "$GRADER_HISTORY_DB, else ~/.local/share/grader/history.sqlite3).", show_default=False,
                          readable=False)]
    = None,
    force: ForceOption = False,
    bank: BankOption = None,
):
    """Scores over time from the progress history, with a trend per candidate and question.

    Attempts are recorded by grade, practice and batch with --record (or GRADER_HISTORY=1). The trend is the
    least-squares slope of the score per attempt, over attempts scored the same way (same metrics and weights):
    a question scored several ways has a series, and a trend, for each. The sparkline uses the fixed 0-100 scale.

    Examples:

      grader grade -q q09 --answer-file try3.txt --record

      grader history --question q09

      grader history --candidate "Dana Lee" --format html -o progress.html
    """
    with _handled():
        from grader.bank import load_bank
        from grader.mentor.history import History, resolve_question_filter, summarize
        from grader.reports.model import dumps

        fmt = _choose_format(fmt, ("text", "json", "html"), output)
        with History(history_db, create=False) as db:
            question = resolve_question_filter(question, db.question_ids(), lambda: load_bank(bank))
            attempts = db.attempts(candidate, question)
            data = summarize(attempts, db.path, candidate, question)
        if fmt == "json":
            _emit(dumps(data), output, force)
            return
        if fmt == "html":
            from grader.reports.html import history_html

            _emit(history_html(data), output, force)
            return
        _emit(_history_text(data), output, force)


def _history_text(data: dict) -> str:
    from rich.table import Table

    if not data["attempts"]:
        scope = " ".join(f"{k.replace('_id', '')} {v}" for k, v in data["filters"].items() if v)
        return f"no attempts recorded{' for ' + scope if scope else ''} in {data['database']}\n"
    series = Table("candidate", "question", "scored with", "attempts", "scores", "first", "last", "best", "trend",
                   title="Progress (trend: least-squares slope per attempt, over attempts scored the same way)")
    for s in data["series"]:
        series.add_row(s["candidate"], s["question_id"], s.get("scoring", ""), str(s["n"]), s["sparkline"],
                       _num(s["first"]), _num(s["last"]), _num(s["best"]), _trend_word(s["slope"]))
    notes = "".join(f"note: {note}\n" for note in data.get("notes") or ())
    from grader.clock import local_time
    from grader.mentor.history import scoring_label

    attempts = Table("when", "candidate", "question", "score", "band", "via", "scored with", title="Attempts")
    for a in data["attempts"]:
        attempts.add_row(local_time(a["recorded_at"]), a["candidate"], a["question_id"], _num(a["score"]), a["band"],
                         a["command"], scoring_label(a.get("metrics", ""), a.get("weights", "")))
    return _table_text(series) + notes + _table_text(attempts)
