"""The coach's commands: batch-grade transcripts, agree with human grades, calibrate, serve an API.
"""
from __future__ import annotations

import contextlib
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
    ReferencesSepOption,
    WeightsOption,
    _config,
    _err_console,
    _escape,
    _handled,
    _record_history,
    _references_sep,
    app,
)
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
    resume: Annotated[bool, typer.Option("--resume", help="Skip transcripts whose JSON report in --output-dir "
                      "is complete and current (same input and signature): finish an interrupted batch.")]
    = False,
):
    """Grade mock-interview transcripts: match each question asked to the bank, grade every answer, summarise.

    Writes one report per transcript and summary.{json,md} for the cohort into --output-dir (with --format html
    also summary.html, with --format csv also answers.csv: every answer of the cohort). Each report is written
    as soon as its transcript is graded, so Ctrl-C keeps every finished report; run the same command with
    --resume to grade only the rest.
    Exit code 1 when some inputs could not be read or some reports not written (the rest are still graded and
    written), 3 when no input could be read, 6 when no report could be written, 130 when interrupted.

    Example: grader batch samples/ --output-dir reports --format md
    """
    with _handled():
        from grader.bank import load_bank
        from grader.batch import ReportFolder, expand_inputs, grade_files, skipped_lines
        from grader.errors import InputError
        from grader.io import check_writable
        from grader.scoring.engine import Grader
        from grader.transcripts import FORMATS as INPUT_FORMATS

        if fmt not in ("json", "md", "html", "csv"):
            raise InputError(f"unknown format {fmt!r}; choose json, md, html or csv", field="--format")
        if resume and fmt != "json":
            raise InputError("--resume reads the JSON reports of the earlier run, so it needs --format json "
                             "(render other formats from them with 'grader report')", field="--resume")
        aliases = {"txt": "text", "md": "markdown", "webvtt": "vtt", "ndjson": "jsonl"}
        if input_format is not None and aliases.get(input_format.lower(), input_format.lower()) not in INPUT_FORMATS:
            raise InputError(f"unknown transcript format {input_format!r}; choose {', '.join(INPUT_FORMATS)}",
                             field="--input-format")
        check_writable(output_dir, folder=True)
        grader = Grader(load_bank(bank), metrics=metrics, config=_config(weights, calibration, metrics))
        skipped: list = []
        files, failures = expand_inputs(paths, exclude=[output_dir], skipped=skipped)
        console = _err_console()
        for line in skipped_lines(skipped):
            console.print(line, markup=False, highlight=False)
        folder = ReportFolder(output_dir, fmt, grader, failures)

        def record_finished() -> None:
            _record_history(record, history_db, "batch", [(t.candidate or Path(t.source).stem, r.to_dict())
                                                          for t in folder.finished if t.saved is None
                                                          for r in t.reports.values()])

        try:
            with _progress(console) as progress:
                result = grade_files(files, grader, failures=failures, input_format=input_format,
                                     candidate=candidate, progress=progress,
                                     saved=folder.saved if resume else None, on_graded=folder.write)
        except KeyboardInterrupt:
            _interrupted(console, files, failures, folder, output_dir)
            record_finished()
            raise typer.Exit(EXIT_INTERRUPTED) from None
        folder.write_summary(result)
        _print_outcome(console, result, folder, output_dir)
        record_finished()
        if result.failures:
            from grader.errors import EXIT_OUTPUT, OutputError

            if result.transcripts:
                raise typer.Exit(EXIT_FINDINGS)
            raise typer.Exit(EXIT_OUTPUT if all(isinstance(f, OutputError) for f in result.failures) else EXIT_INPUT)


@contextlib.contextmanager
def _progress(console):
    """A transient two-stage bar (parsing, grading) for :func:`grader.batch.grade_files`'s ``progress``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console, transient=True) as bar:
        tasks = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task("parsing transcripts" if stage == "parse" else "grading answers",
                                            total=total)
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
        console.print(f"{t.source}: {t.candidate or '?'}, {matched} answers graded, overall {score}")
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


def _print_evaluation(summary: dict) -> None:
    """The agreement figures as two terminal tables: overall, then each metric alone."""
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    table = Table("measure", "value", title=f"{summary['n']} rows, human scale 0-{summary['max_score']:g} "
                  f"(step {summary['step']:g})")
    for key in ("pearson", "spearman", "qwk", "rmse", "mae"):
        value = summary[key]
        table.add_row(key, "–" if value is None else f"{value:.3f}" if abs(value) < 1e6 else f"{value:.4g}")
    console.print(table)
    for key, why in summary.get("notes", {}).items():
        console.print(f"{key}: {why}", markup=False)
    metric_table = Table("metric alone", "pearson", "spearman")
    for name, m in summary["per_metric"].items():
        metric_table.add_row(name, *("–" if m[k] is None else f"{m[k]:.3f}" for k in ("pearson", "spearman")))
    console.print(metric_table)


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


# --------------------------------------------------------------------------- evaluate


@app.command()
def evaluate(
    dataset: Annotated[Path, typer.Option("--dataset", "-d", help="A CSV of human-graded answers.",
                                          show_default=False, readable=False)],
    id_col: Annotated[str, typer.Option("--id-col", help="Question id column.")] = "id",
    question_col: Annotated[str, typer.Option("--question-col", help="Question text column.")] = "question",
    reference_col: Annotated[str, typer.Option("--reference-col", help="Reference answer column.")]
    = "desired_answer",
    references_sep: ReferencesSepOption = None,
    answer_col: Annotated[str, typer.Option("--answer-col", help="Candidate answer column.")] = "student_answer",
    score_col: Annotated[str, typer.Option("--score-col", help="Human grade column.")] = "score_avg",
    max_score: Annotated[Optional[float], typer.Option("--max-score", help="Top of the human scale (default: "
                         "inferred from the grades).", show_default=False)] = None,
    exemplars: Annotated[int, typer.Option("--exemplars", help="Use up to K other top-graded answers to the same "
                         "question as extra references (never the graded answer itself).")] = 0,
    predictions: Annotated[Optional[Path], typer.Option("--predictions", help="Write one CSV row per graded row.",
                                                        show_default=False, readable=False)] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
    metrics: MetricsOption = "keywords,rouge,bertscore",
    bank: BankOption = None,
    weights: WeightsOption = None,
    calibration: CalibrationOption = None,
    force: ForceOption = False,
):
    """Grade a human-graded CSV or JSONL and report agreement: Pearson, Spearman, QWK, RMSE, MAE; per metric, per question.

    Defaults fit the Mohler et al. (2011) layout (id, question, desired_answer, student_answer, score_avg).

    Example: grader evaluate --dataset graded.csv --exemplars 3 --predictions preds.csv --format json
    """
    with _handled():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        from grader.bank import load_bank
        from grader.errors import InputError
        from grader.io import write_atomic
        from grader.reports.model import dumps
        from grader.scoring.engine import Grader
        from grader.scoring.evaluate import evaluate as run_evaluation
        from grader.scoring.evaluate import read_dataset

        if fmt not in ("text", "json"):
            raise InputError(f"unknown format {fmt!r}; choose text or json", field="--format")
        if exemplars < 0:
            raise InputError("must be 0 or more", field="--exemplars")
        if max_score is not None and not 0 < max_score < float("inf"):
            raise InputError(f"must be a positive number, got {max_score}", field="--max-score")
        if predictions is not None:
            from grader.io import check_writable
            from grader.mentor.keep import guard_overwrite

            check_writable(predictions)
            guard_overwrite(predictions, force=force)
        rows, digest = read_dataset(dataset, {"id": id_col, "question": question_col, "reference": reference_col,
                                              "answer": answer_col, "score": score_col},
                                    _references_sep(references_sep))
        config = _config(weights, calibration, metrics)
        loaded = load_bank(bank)
        with Progress(TextColumn("grading rows"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=_err_console(), transient=True) as bar:
            task = bar.add_task("grade", total=len(rows))
            result = run_evaluation(rows, lambda b: Grader(b, metrics=metrics, config=config), loaded, digest,
                                    exemplars=exemplars, max_score=max_score,
                                    progress=lambda done, total: bar.update(task, completed=done))
        summary = result.summary()
        if predictions is not None:
            write_atomic(predictions, result.predictions_csv())
        if fmt == "json":
            sys.stdout.write(dumps(summary))
            return
        _print_evaluation(summary)


@app.command()
def calibrate(
    dataset: Annotated[Path, typer.Option("--dataset", "-d", help="A CSV of human-graded answers (columns as in "
                                          "evaluate).", show_default=False, readable=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the calibration JSON.", readable=False)]
    = Path("calibration.json"),
    id_col: Annotated[str, typer.Option("--id-col")] = "id",
    question_col: Annotated[str, typer.Option("--question-col")] = "question",
    reference_col: Annotated[str, typer.Option("--reference-col")] = "desired_answer",
    references_sep: ReferencesSepOption = None,
    answer_col: Annotated[str, typer.Option("--answer-col")] = "student_answer",
    score_col: Annotated[str, typer.Option("--score-col")] = "score_avg",
    max_score: Annotated[Optional[float], typer.Option("--max-score", help="Top of the human scale (default: "
                         "inferred).", show_default=False)] = None,
    features: Annotated[str, typer.Option("--features", help="Comma-separated features to combine.")]
    = "bertscore_recall,bertscore_f1,rouge1_recall,demoted_bertscore_recall,demoted_rouge1_recall",
    alpha: Annotated[float, typer.Option("--alpha", help="Ridge regularisation strength.")] = 1.0,
    bank: BankOption = None,
    weights: WeightsOption = None,
    force: ForceOption = False,
):
    """Fit how the metrics combine into a grade on your own graded answers (ridge regression).

    Cross-validated with folds grouped by question (a question is never in both the fit and the check), prints
    the cross-validated agreement, and writes a JSON calibration (no pickle) for --calibration on grade,
    batch and evaluate.

    Example: grader calibrate --dataset my_graded.csv --out calibration.json
    """
    with _handled():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        from grader.bank import load_bank
        from grader.errors import InputError
        from grader.io import check_writable, write_atomic
        from grader.scoring.calibration import calibrate_dataset
        from grader.scoring.combine import load_config
        from grader.scoring.evaluate import read_dataset

        if not alpha >= 0 or alpha == float("inf"):
            raise InputError(f"must be a finite number >= 0, got {alpha}", field="--alpha")
        if max_score is not None and not 0 < max_score < float("inf"):
            raise InputError(f"must be a positive number, got {max_score}", field="--max-score")
        check_writable(out)
        from grader.mentor.keep import guard_overwrite

        guard_overwrite(out, force=force)  # an earlier calibration (or a report, a history) is not replaced
        rows, digest = read_dataset(dataset, {"id": id_col, "question": question_col, "reference": reference_col,
                                              "answer": answer_col, "score": score_col},
                                    _references_sep(references_sep))
        with Progress(TextColumn("grading rows"), BarColumn(), MofNCompleteColumn(), console=_err_console(),
                      transient=True) as bar:
            task = bar.add_task("grade", total=len(rows))
            text, cv = calibrate_dataset(rows, digest, dataset.name, load_bank(bank), load_config(weights),
                                         features.split(","), alpha=alpha, max_score=max_score,
                                         progress=lambda done, total: bar.update(task, completed=done))
        write_atomic(out, text)
        console = _err_console()
        console.print(f"cross-validated (grouped by question) on {len(rows)} rows: pearson {cv['pearson']}, "
                      f"spearman {cv['spearman']}, qwk {cv['qwk']}, rmse {cv['rmse']}, mae {cv['mae']}")
        console.print(f"wrote {out}")


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
):
    """Serve a local HTTP JSON API with the model kept warm: POST /grade, POST /batch, GET /questions, GET /health.

    Example: grader serve --port 8765, then
    curl -s localhost:8765/grade -H 'content-type: application/json' -d '{"question": "q09", "answer": "..."}'
    """
    with _handled():
        from grader.bank import load_bank
        from grader.errors import InputError
        from grader.scoring.engine import Grader
        from grader.server import serve as run_server

        if not 0 < port < 65536:
            raise InputError(f"port must be 1-65535, got {port}", field="--port")
        if max_request_bytes < 1024:
            raise InputError("must be at least 1024", field="--max-request-bytes")
        grader = Grader(load_bank(bank), metrics=metrics, config=_config(weights, calibration, metrics))
        _err_console().print(f"grader {grader.signature['grader']} serving on http://{host}:{port} "
                             "(Ctrl-C to stop)")
        run_server(grader, host=host, port=port, max_request_bytes=max_request_bytes)
