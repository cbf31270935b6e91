"""Grading at scale: ``grader score`` streams a table of answers into JSON lines, and the options every command
that grades many answers shares (``--engine``, ``--address``, ``--workers``, ``--device``).
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Optional

import typer

from grader.cli.app import (
    BankOption,
    CalibrationOption,
    MetricsOption,
    WeightsOption,
    _config,
    _err_console,
    _escape,
    _handled,
    app,
)
from grader.errors import EXIT_FINDINGS, EXIT_INTERRUPTED

EngineOption = Annotated[str, typer.Option(
    "--engine", help="local (this process) or ray (Ray actors, one Grader each; needs pip install 'grader\\[ray]'). "
    "Reports are byte-identical either way.")]
AddressOption = Annotated[Optional[str], typer.Option(
    "--address", help="With --engine ray: the cluster, 'auto' (the one 'ray start' runs on this machine) or "
    "ray://HOST:10001 (default: a new Ray runtime on this machine).", show_default=False)]
WorkersOption = Annotated[Optional[int], typer.Option(
    "--workers", help="With --engine ray: how many actors (default: one per GPU, else one per min(4, CPUs) cores, "
    "as each runs torch on that many threads).",
    show_default=False)]
DeviceOption = Annotated[str, typer.Option(
    "--device", help="Where the model runs: auto (CUDA when torch sees a GPU), cpu or cuda. The device is in the "
    "signature: scores on CUDA equal the CPU's to 1e-4.")]


def check_engine(engine: str, address: Optional[str], workers: Optional[int], chunk_size: Optional[int] = None):
    """Refuse engine options that cannot work before anything slow (Ray not installed: one line, exit 2)."""
    from grader.scale.engines import check_engine as check_named

    check_named(engine, address=address, workers=workers, chunk_size=chunk_size)


def open_engine(grader, engine: str, address: Optional[str], workers: Optional[int],
                chunk_size: Optional[int] = None):
    """The engine asked for (Ray is imported only for --engine ray)."""
    from grader.scale.engines import open_engine as open_named

    return open_named(grader, engine, address=address, workers=workers, chunk_size=chunk_size)


@contextlib.contextmanager
def _score_progress(console):
    """A bar with rows done of the total, the rate of this run and the time left."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("grading rows"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                  TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task("score", total=None, rate="")
        first: list = []

        def progress(done: int, total: int) -> None:
            now = time.perf_counter()
            if not first:  # the rate is this run's: rows kept from an earlier run do not count
                first.append((now, done))
            elapsed, graded = now - first[0][0], done - first[0][1]
            rate = f"{graded / elapsed:,.1f} rows/s" if elapsed > 0 and graded else ""
            bar.update(task, completed=done, total=total, rate=rate)

        yield progress


@app.command()
def score(
    table: Annotated[Path, typer.Argument(help="A table of answers: .csv, .jsonl or .parquet (needs pip install "
                                          "'grader\\[parquet]').", show_default=False, readable=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="The JSON Lines file to write: one line per row, "
                                         "in the table's order.", show_default=False, readable=False)],
    id_col: Annotated[str, typer.Option("--id-col", help="Row id column.")] = "id",
    question_col: Annotated[str, typer.Option("--question-col", help="Bank question id column.")] = "question_id",
    answer_col: Annotated[str, typer.Option("--answer-col", help="Answer column.")] = "answer",
    resume: Annotated[bool, typer.Option("--resume", help="Continue an earlier --output of this table: the rows it "
                      "holds are skipped.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an --output that holds scored rows.")] = False,
    engine: EngineOption = "local",
    address: AddressOption = None,
    workers: WorkersOption = None,
    device: DeviceOption = "auto",
    chunk_size: Annotated[Optional[int], typer.Option("--chunk-size", help="Rows graded together (default: 512 on "
                          "a CPU, 4096 on a GPU); part of how the figures are computed.", show_default=False)] = None,
    metrics: MetricsOption = "keywords,rouge,bertscore",
    bank: BankOption = None,
    weights: WeightsOption = None,
    calibration: CalibrationOption = None,
):
    """Grade a table of (id, question_id, answer) rows into JSON Lines, as it goes, in constant memory.

    Each line holds the row's id, its line in the table and the question report (score, band, metrics,
    feedback); the signature is written once beside the output (NAME.signature.json). A row that cannot be
    graded (unknown question, empty or oversized answer, broken text) gets a line with its id and the error, and
    the rest are graded. Ctrl-C keeps every finished line; --resume grades the rest.
    Exit code 1 when some rows could not be graded, 2 for --engine ray without Ray, 3 when the table cannot be
    read, 5 when Ray cannot be reached, 6 when the output cannot be written (or holds rows and neither --resume
    nor --force was given), 130 when interrupted.

    Examples:

      grader score answers.csv --output scores.jsonl

      grader score answers.parquet -o scores.jsonl --engine ray --address auto
    """
    with _handled():
        from grader.bank import load_bank
        from grader.scale import Columns, open_table
        from grader.scale.stream import ScoreSummary, check_output, count_rows, score_table
        from grader.scoring.engine import Grader

        rows = open_table(table, Columns(id_col, question_col, answer_col))
        check_output(output, resume=resume, force=force)
        check_engine(engine, address, workers, chunk_size)  # before anything slow
        total = count_rows(rows)
        grader = Grader(load_bank(bank), metrics=metrics, config=_config(weights, calibration, metrics),
                        device=device)
        chosen = open_engine(grader, engine, address, workers, chunk_size)
        console = _err_console()
        summary = ScoreSummary()
        try:
            with _score_progress(console) as progress:
                score_table(rows, output, chosen, resume=resume, force=force, progress=progress, summary=summary,
                            total=total)
        except KeyboardInterrupt:
            console.print(f"interrupted: {summary.written:,} of {summary.total:,} rows are in {output} (every line "
                          "whole); run the same command with --resume to grade the rest.", markup=False)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        finally:
            chosen.close()
        _print_score_outcome(console, summary, output)
        if summary.errors:
            raise typer.Exit(EXIT_FINDINGS)


def _print_score_outcome(console, summary, output: Path) -> None:
    from grader.scale.stream import signature_path

    for example in summary.examples:
        console.print(f"[bold red]error:[/] {_escape(example)}", markup=True, highlight=False)
    if summary.errors > len(summary.examples):
        console.print(f"... {summary.errors - len(summary.examples):,} more rows could not be graded; their lines "
                      "hold the reason", markup=False)
    kept = f" ({summary.resumed:,} kept from the earlier run)" if summary.resumed else ""
    console.print(f"{summary.graded:,} rows graded, {summary.errors:,} could not be{kept}; "
                  f"{summary.rate:,.1f} rows/s; wrote {output} and {signature_path(output).name}", markup=False)
