"""The typer app and what every command shares: options, one-line errors, writing output, signals.

Exit codes: 0 ok; 1 findings (lint problems, some batch inputs failed); 2 usage error; 3 bad input
(answer, transcript, dataset); 4 invalid bank; 5 invalid configuration; 6 output cannot be written;
130 interrupted.
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from grader.errors import EXIT_INTERRUPTED, GraderError

app = typer.Typer(
    name="grader",
    help="Grade answers to technical interview questions offline: keyword rubrics, ROUGE and BERTScore "
    "combined into a 0-100 score with feedback.\n\nStart with 'grader questions', then "
    "'grader grade --question q09 --answer \"...\"'.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)
bank_app = typer.Typer(help="Inspect and lint a question bank.", no_args_is_help=True)
app.add_typer(bank_app, name="bank")
rubric_app = typer.Typer(help="Help write keyword rubrics.", no_args_is_help=True)
app.add_typer(rubric_app, name="rubric")

_state = {"debug": False}

BankOption = Annotated[Optional[Path], typer.Option(
    "--bank", help="Bank directory with references/ and rubrics/ (default: $GRADER_BANK, else the bundled "
    "20 Generative-AI questions).", show_default=False, readable=False)]


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _err_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


@contextlib.contextmanager
def _handled():
    """Turn grader's errors into one line on stderr and their exit code; a traceback only with --debug."""
    try:
        yield
    except GraderError as exc:
        if _state["debug"]:
            raise
        _err_console().print(f"[bold red]error:[/] {_escape(exc.one_line())}", markup=True, highlight=False)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        _err_console().print("interrupted")
        raise typer.Exit(EXIT_INTERRUPTED) from None


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False):
    _state["debug"] = debug


MetricsOption = Annotated[str, typer.Option("--metrics", help="Comma-separated subset of keywords,rouge,bertscore.")]
WeightsOption = Annotated[Optional[Path], typer.Option("--weights", help="A weights file (default: the bundled "
                                                       "grader/data/weights.yaml).", show_default=False,
                                                       readable=False)]
CalibrationOption = Annotated[Optional[Path], typer.Option(
    "--calibration", help="A calibration file from 'grader calibrate': grade like your own graded answers.",
    show_default=False, readable=False)]


def _config(weights: Optional[Path], calibration: Optional[Path], metrics: str):
    """The weights, with a calibration applied when given (refused, with the reason, if incompatible)."""
    import dataclasses

    from grader.scoring.combine import load_config
    from grader.scoring.engine import parse_metrics

    config = load_config(weights)
    if calibration is None:
        return config
    from grader.scoring.calibration import check_compatible, load_calibration

    loaded = load_calibration(calibration)
    check_compatible(loaded, config, parse_metrics(metrics))
    return dataclasses.replace(config, calibration=loaded)


RecordOption = Annotated[bool, typer.Option("--record", help="Record the scores in the progress history "
                         "(also: GRADER_HISTORY=1); see 'grader history'.")]
HistoryDbOption = Annotated[Optional[Path], typer.Option("--history-db", help="History database (default: "
                            "$GRADER_HISTORY_DB, else ~/.local/share/grader/history.sqlite3).", show_default=False,
                            readable=False)]


def _record_history(flag: bool, db: Optional[Path], command: str, reports: list, source: str = "") -> None:
    """Record (candidate, report dict) pairs when --record or GRADER_HISTORY asks for it."""
    from grader.mentor.history import record_reports, recording_enabled

    if recording_enabled(flag):
        path, count = record_reports(reports, command, db=db, source=source)
        _err_console().print(f"recorded {count} attempt(s) in {path}")


ReferencesSepOption = Annotated[Optional[str], typer.Option(
    "--references-sep", help="The reference column holds several accepted answers separated by this "
    "(e.g. ' || ' for SemEval-2013's all_references).", show_default=False)]


def _references_sep(value: Optional[str]) -> Optional[str]:
    from grader.errors import InputError

    if value is not None and not value.strip():
        raise InputError("must not be empty or only spaces", field="--references-sep")
    return value


ForceOption = Annotated[bool, typer.Option("--force", help="Replace an output file that holds a person's work "
                        "(mentor reviews, a calibration, a history database) instead of refusing.")]


def _emit(text: str, output: Optional[Path], force: bool = False) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    from grader.io import locked, write_atomic
    from grader.mentor.keep import guard_overwrite

    with locked(output):
        guard_overwrite(output, force=force, text=text)
        write_atomic(output, text)
    _err_console().print(f"wrote {output}")


def _install_signal_handlers() -> None:
    """SIGTERM (kill, a closing terminal session, a CI timeout) is handled like Ctrl-C: a report being written is
    left whole or not at all (no temporary file), finished batch reports are kept, and grader exits 130."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), interrupt)
