"""The coach's commands: batch-grade transcripts, serve an API (evaluate and calibrate: ``evaluation``).
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Optional

import typer

from grader.cli.app import (
    BankOption,
    CalibrationOption,
    HistoryDbOption,
    JudgeConcurrencyOption,
    JudgeModelOption,
    JudgeOption,
    JudgeTimeoutOption,
    MetricsOption,
    RecordOption,
    WeightsOption,
    _choose_format,
    _config,
    _err_console,
    _escape,
    _handled,
    _judge,
    _record_history,
    app,
)
from grader.cli.scale import AddressOption, DeviceOption, EngineOption, WorkersOption, check_engine, open_engine
from grader.errors import EXIT_FINDINGS, EXIT_INPUT, EXIT_INTERRUPTED

# --------------------------------------------------------------------------- batch


@app.command()
def batch(
    paths: Annotated[list[str], typer.Argument(help="Transcript files, directories or globs ('cohort/*.vtt').",
                                               show_default=False)],
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o", help="Where reports are written.", readable=False)]
    = Path("reports"),
    fmt: Annotated[str, typer.Option("--format", "-f", help="Report format: json, md, html or csv.")] = "json",
    input_format: Annotated[Optional[str], typer.Option("--input-format", help="Force the transcript format: "
                            "text, markdown, json, jsonl, csv, vtt, srt (default: detected).", show_default=False)]
    = None,
    candidate: Annotated[Optional[str], typer.Option("--candidate", help="The candidate's speaker name "
                         "(default: detected as the one who answers).", show_default=False)] = None,
    metrics: MetricsOption = "keywords,rouge,bertscore",
    bank: BankOption = None,
    weights: WeightsOption = None,
    calibration: CalibrationOption = None,
    record: RecordOption = False,
    history_db: HistoryDbOption = None,
    engine: EngineOption = "local",
    address: AddressOption = None,
    workers: WorkersOption = None,
    device: DeviceOption = "auto",
    resume: Annotated[bool, typer.Option("--resume", help="Skip transcripts whose JSON report in --output-dir "
                      "is complete and current (same input and signature): finish an interrupted batch, in any "
                      "--format.")]
    = False,
    judge: JudgeOption = None,
    judge_model: JudgeModelOption = None,
    judge_timeout: JudgeTimeoutOption = 300.0,
    judge_concurrency: JudgeConcurrencyOption = 1,
):
    """Grade mock-interview transcripts: match each question asked to the bank, grade every answer, summarise.

    Writes one JSON report per transcript (what 'grader review' and --resume read), the --format rendering
    beside it, and summary.{json,md} for the cohort into --output-dir (with --format html also summary.html,
    with --format csv also answers.csv: every answer of the cohort). Each report is written as soon as its
    transcript is graded, so Ctrl-C keeps every finished report; run the same command with --resume to grade
    only the rest.
    Exit code 1 when some inputs could not be read or some reports not written (the rest are still graded and
    written), 3 when no input could be read, 6 when no report could be written, 130 when interrupted.

    Example: grader batch samples/ --output-dir reports --format md
    """
    with _handled():
        from grader.bank import load_bank
        from grader.batch import ReportFolder, expand_inputs, skipped_lines
        from grader.io import check_writable
        from grader.scoring.engine import Grader

        fmt = _batch_formats(fmt, input_format)
        check_engine(engine, address, workers)  # before anything slow: Ray not installed is one line (exit 2)
        check_writable(output_dir, folder=True)
        client = _batch_judge(judge, judge_model, judge_timeout, judge_concurrency, engine)
        grader = Grader(load_bank(bank), metrics=metrics, config=_config(weights, calibration, metrics), device=device,
                        judge=client, judge_concurrency=judge_concurrency)
        skipped: list = []
        files, failures = expand_inputs(paths, exclude=[output_dir], skipped=skipped)
        console = _err_console()
        for line in skipped_lines(skipped):
            console.print(line, markup=False, highlight=False)
        runner = open_engine(grader, engine, address, workers)  # Ray: the workers start (and load the model) here
        folder = ReportFolder(output_dir, fmt, runner.view(), failures)

        def record_finished() -> None:
            _record_history(record, history_db, "batch", [(t.candidate or Path(t.source).stem, r.to_dict())
                                                          for t in folder.finished if t.saved is None
                                                          for r in t.reports.values()])

        result = _grade_batch(console, runner, files, failures, folder, output_dir, record_finished,
                              input_format=input_format, candidate=candidate, resume=resume)
        folder.write_summary(result)
        _print_outcome(console, result, folder, output_dir)
        record_finished()
        if result.failures:
            from grader.errors import EXIT_OUTPUT, OutputError

            if result.transcripts:
                raise typer.Exit(EXIT_FINDINGS)
            raise typer.Exit(EXIT_OUTPUT if all(isinstance(f, OutputError) for f in result.failures) else EXIT_INPUT)


def _grade_batch(console, runner, files, failures, folder, output_dir, record_finished, *, resume: bool, **options):
    """``grade_files`` on the engine's workers with a progress bar; Ctrl-C says what is kept (exit 130). The
    engine is closed (Ray's workers stopped) whatever happens."""
    from grader.batch import grade_files

    try:
        with _progress(console) as progress:
            _follow_judge(runner.view(), progress)
            return grade_files(files, runner.view(), failures=failures, progress=progress, on_graded=folder.write,
                               saved=folder.saved if resume else None, grade_chunks=runner.grade_chunks, **options)
    except KeyboardInterrupt:
        _interrupted(console, files, failures, folder, output_dir)
        record_finished()
        raise typer.Exit(EXIT_INTERRUPTED) from None
    finally:
        runner.close()


def _batch_judge(url, model, timeout: float, concurrency: int, engine: str):
    """The judge, connected (a bad server or model: one line, exit 5), or None without --judge."""
    if url and engine != "local":
        from grader.cli.app import UsageError

        raise UsageError("--judge grades with --engine local only (the judge's requests and cache are here)",
                         field="--judge")
    return _judge(url, model, timeout, concurrency)


def _follow_judge(grader, progress) -> None:
    """With --judge, a third bar: answers judged (the judge is asked once per chunk of answers, so its total
    grows chunk by chunk)."""
    if getattr(grader, "judge", None) is None:
        return
    before = [0]

    def judged(done: int, total: int) -> None:
        progress("judge", before[0] + done, before[0] + total)
        if done == total:
            before[0] += total

    grader.on_judged = judged


def _batch_formats(fmt: str, input_format: Optional[str]) -> str:
    """The report format (checked), after checking --input-format names a transcript format."""
    from grader.errors import InputError
    from grader.transcripts import FORMATS as INPUT_FORMATS

    fmt = _choose_format(fmt, ("json", "md", "html", "csv"))
    aliases = {"txt": "text", "md": "markdown", "webvtt": "vtt", "ndjson": "jsonl"}
    if input_format is not None and aliases.get(input_format.lower(), input_format.lower()) not in INPUT_FORMATS:
        raise InputError(f"unknown transcript format {input_format!r}; choose {', '.join(INPUT_FORMATS)}",
                         field="--input-format")
    return fmt


@contextlib.contextmanager
def _progress(console):
    """A transient two-stage bar (parsing, grading) for :func:`grader.batch.grade_files`'s ``progress``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console, transient=True) as bar:
        tasks = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                names = {"parse": "parsing transcripts", "judge": "judging answers (LLM)"}
                tasks[stage] = bar.add_task(names.get(stage, "grading answers"), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield progress


def _print_outcome(console, result, folder, output_dir) -> None:
    """One line per transcript (or kept report), truncations, failures, carried reviews, where it all is."""
    for t in result.transcripts:
        if t.saved is not None:
            console.print(f"{t.source}: report current, kept (--resume)", markup=False)
            continue
        matched = sum(1 for e in t.exchanges if e.question_id)
        score = "–" if t.overall_score is None else f"{t.overall_score:.1f}"
        console.print(f"{t.source}: {t.candidate or '?'}, {matched} answer{'' if matched == 1 else 's'} graded, "
                      f"overall {score}")
        for index, length in sorted(t.truncated.items()):
            from grader.scoring.engine import MAX_ANSWER_CHARS

            console.print(f"  {t.path}:{t.exchanges[index].line}: the answer to "
                          f"{t.exchanges[index].question_id} is {length:,} characters; graded the first "
                          f"{MAX_ANSWER_CHARS:,} (truncated_from in the report)", markup=False)
    for failure in result.failures:
        console.print(f"[bold red]error:[/] {_escape(failure.one_line())}", markup=True, highlight=False)
    carried = folder.carried
    if carried["on_answers"] or carried["orphaned"]:
        console.print(f"carried over {carried['on_answers'] + carried['orphaned']} mentor review(s) from the "
                      f"earlier reports: {carried['on_answers']} onto unchanged answers, {carried['orphaned']} "
                      "kept under orphaned_reviews (their answer changed or is gone)", markup=False)
    console.print(f"{len(result.transcripts)} reports and summary written to {output_dir}/")


def _interrupted(console, files, failures, folder, output_dir) -> None:
    """What Ctrl-C leaves: the failures so far, which reports are on disk, and how to finish."""
    failed = {f.path for f in failures}
    done_paths = {t.path for t in folder.finished}
    left = [str(f) for f in files if str(f) not in done_paths and str(f) not in failed]
    for failure in failures:
        console.print(f"[bold red]error:[/] {_escape(failure.one_line())}", markup=True, highlight=False)
    console.print(f"interrupted: {len(folder.finished)} of {len(files)} transcript reports are in {output_dir}/ "
                  f"and intact; not done: {', '.join(left) or 'none'}; no summary written. Run the same "
                  "command with --resume to grade only what is left.", markup=False, highlight=False)


# --------------------------------------------------------------------------- serve


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to bind. Only loopback unless you choose "
                                      "otherwise: anyone who can reach it can use it.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="TCP port.")] = 8765,
    max_request_bytes: Annotated[int, typer.Option("--max-request-bytes", help="Refuse larger request bodies "
                                                   "(413).")] = 1_000_000,
    metrics: MetricsOption = "keywords,rouge,bertscore",
    bank: BankOption = None,
    weights: WeightsOption = None,
    calibration: CalibrationOption = None,
    judge: JudgeOption = None,
    judge_model: JudgeModelOption = None,
    judge_timeout: JudgeTimeoutOption = 300.0,
):
    """Serve a local HTTP JSON API with the model kept warm: POST /grade, POST /batch, GET /questions, GET /health.

    Every error is {"error": {"code", "message", "field"}}; GET /docs describes the API (offline). Exit code 5
    when the port is in use or cannot be bound.

    Example: grader serve --port 8765, then
    curl -s localhost:8765/grade -H 'content-type: application/json' -d '{"question": "q09", "answer": "..."}'
    """
    with _handled():
        from grader.bank import load_bank
        from grader.errors import InputError
        from grader.scoring.engine import Grader
        from grader.server import bind
        from grader.server import serve as run_server

        if not 0 < port < 65536:
            raise InputError(f"port must be 1-65535, got {port}", field="--port")
        if max_request_bytes < 1024:
            raise InputError("must be at least 1024", field="--max-request-bytes")
        grader = Grader(load_bank(bank), metrics=metrics, config=_config(weights, calibration, metrics),
                        judge=_judge(judge, judge_model, judge_timeout))
        sock = bind(host, port)  # a port in use is one line (exit 5) before anything says "serving"
        _err_console().print(f"grader {grader.signature['grader']} serving on http://{host}:{port} "
                             "(Ctrl-C to stop)")
        run_server(grader, host=host, port=port, max_request_bytes=max_request_bytes, sock=sock)
