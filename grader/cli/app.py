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
from typer.core import TyperArgument, TyperGroup, TyperOption

from grader.errors import EXIT_INTERRUPTED, EXIT_USAGE, GraderError


class UsageError(GraderError):
    """An option value the command does not take (an unknown --format, a format that contradicts -o): exit 2,
    like typer's own usage errors, but as grader's one line naming the option."""

    exit_code = EXIT_USAGE


class _PlainArgument(TyperArgument):
    """An argument whose help shows its name (PATHS...) and no Python type (typer prints ``<list[str]>``)."""

    def display_type_rich(self, ctx) -> None:
        return None

    def _rich_display_name(self) -> str:
        return self.display_name_raw

    def _usage_display_name(self) -> str:
        return self.display_name_raw if self.required else f"[{self.display_name_raw}]"


#: Typer's type labels (``<str>``, ``<path>``) as the metavars Python command lines have always shown.
_METAVARS = {"str": "TEXT", "path": "PATH", "int": "INTEGER", "float": "NUMBER", "list[str]": "TEXT"}


def _plain_help(params: list) -> None:
    """Help without Python types: a flag shows none (not ``<bool>``), a value option TEXT/PATH/INTEGER/NUMBER
    (or its own metavar), an argument its upper-case name. Typer builds these parameters itself, so they are
    adjusted after it; idempotent."""
    for param in params:
        if isinstance(param, TyperArgument) and not isinstance(param, _PlainArgument):
            param.__class__ = _PlainArgument
            param.metavar = param.metavar or param.name.upper() + ("..." if param.nargs != 1 else "")
        elif isinstance(param, TyperOption) and param.metavar is None:
            if param.is_flag:
                param.metavar = ""
            else:
                label = param.display_type(None).strip("<>")
                param.metavar = _METAVARS.get(label, label.upper())


class GraderGroup(TyperGroup):
    """grader's command groups: help without Python types on every command, and a bare ``grader`` (or
    ``grader bank``) prints the help and exits 0 instead of the usage error click makes of it."""

    def get_params(self, ctx) -> list:
        params = super().get_params(ctx)
        _plain_help(params)
        return params

    def get_command(self, ctx, cmd_name: str):
        command = super().get_command(ctx, cmd_name)
        if command is not None and not isinstance(command, TyperGroup):
            _plain_help(command.get_params(ctx))
        return command

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            typer.echo(ctx.get_help(), color=ctx.color)
            ctx.exit(0)
        return super().parse_args(ctx, args)


app = typer.Typer(
    name="grader",
    cls=GraderGroup,
    help="Grade answers to technical interview questions offline: keyword rubrics, ROUGE and BERTScore "
    "combined into a 0-100 score with feedback.\n\nStart with 'grader questions', then "
    "'grader grade --question q09 --answer \"...\"'.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)
bank_app = typer.Typer(cls=GraderGroup, help="Inspect and lint a question bank.", no_args_is_help=True)
app.add_typer(bank_app, name="bank")
rubric_app = typer.Typer(cls=GraderGroup, help="Help write keyword rubrics.", no_args_is_help=True)
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


def _print_version(value: bool) -> None:
    if value:
        from grader._version import __version__

        typer.echo(f"grader {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
          version: Annotated[bool, typer.Option("--version", help="Print grader's version and exit.",
                                                callback=_print_version, is_eager=True)] = False):
    _state["debug"] = debug


def _choose_format(fmt: Optional[str], allowed: tuple[str, ...], output: Optional[Path] = None,
                   default: str = "text", by_suffix: Optional[dict[str, str]] = None) -> str:
    """The report format: --format (any case) when given, else the one ``output``'s extension names (-o
    report.html), else ``default``. An unknown format, or one that contradicts the extension, is a usage error."""
    suffixes = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".csv": "csv", ".json": "json",
                ".txt": "text", **(by_suffix or {})}
    implied = suffixes.get(output.suffix.lower()) if output is not None else None
    if implied is not None and implied not in allowed:
        implied = None
    if fmt is None:
        return implied or default
    chosen = fmt.strip().lower()
    if chosen not in allowed:
        raise UsageError(f"unknown format {fmt!r}; choose {', '.join(allowed)}", field="--format")
    if implied is not None and implied != chosen:
        raise UsageError(f"--format {chosen} contradicts the output file {output.name!r} (a .{implied} name); "
                         "change one of them", field="--format")
    return chosen


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


JudgeOption = Annotated[Optional[str], typer.Option(
    "--judge", envvar="GRADER_JUDGE_URL", show_envvar=True, show_default=False,
    help="An LLM judge as a fourth metric: the OpenAI API base of a server you run, e.g. "
    "http://127.0.0.1:8080/v1 (plain http only to loopback; a key only from GRADER_JUDGE_API_KEY). Off by default; "
    "see docs/judge.md.")]
JudgeModelOption = Annotated[Optional[str], typer.Option(
    "--judge-model", help="The judge's model: one the server lists at GET /models.", show_default=False)]
JudgeTimeoutOption = Annotated[float, typer.Option("--judge-timeout", help="Seconds to wait for one judge reply.")]
JudgeConcurrencyOption = Annotated[int, typer.Option("--judge-concurrency", help="Judge requests at a time.")]


def _judge(url: Optional[str], model: Optional[str], timeout: float = 300.0, concurrency: int = 1):
    """None without --judge (nothing of the judge is imported); else a Judge checked against its server, so a
    bad URL, an unreachable server or a model it does not serve is one line (exit 5) before anything is graded."""
    if not url:
        if model:
            raise UsageError("--judge-model needs --judge URL (or GRADER_JUDGE_URL)", field="--judge-model")
        return None
    if not model:
        raise UsageError("--judge needs --judge-model NAME (a model the server lists)", field="--judge-model")
    if concurrency < 1:
        raise UsageError(f"must be 1 or more, got {concurrency}", field="--judge-concurrency")
    from grader.judge import Judge

    judge = Judge(url, model, timeout=timeout)
    judge.connect()
    return judge


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
        from grader.reports.guide import plural

        _err_console().print(f"recorded {plural(count, 'attempt')} in {path}")


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
