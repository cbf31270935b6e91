"""The command line: parse options, call the library, render. Nothing else lives here.

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

from grader.errors import EXIT_FINDINGS, EXIT_INPUT, EXIT_INTERRUPTED, GraderError

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

    from grader.combine import load_config
    from grader.engine import parse_metrics

    config = load_config(weights)
    if calibration is None:
        return config
    from grader.calibration import check_compatible, load_calibration

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
    from grader.history import record_reports, recording_enabled

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
    from grader.keep import guard_overwrite

    with locked(output):
        guard_overwrite(output, force=force, text=text)
        write_atomic(output, text)
    _err_console().print(f"wrote {output}")


# --------------------------------------------------------------------------- questions / bank


@app.command()
def questions(
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
    bank: BankOption = None,
):
    """List the bank's questions: id, difficulty, topics and text."""
    with _handled():
        from grader.bank import load_bank
        from grader.report import dumps

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


@bank_app.command("check")
def bank_check(path: Annotated[Optional[Path], typer.Argument(
        help="Bank directory (default: $GRADER_BANK, else the bundled bank).", show_default=False,
        readable=False)] = None):
    """Lint a bank: ids, empty references, unknown questions in rubrics, weights, unused concepts.

    Exits 0 when clean, 1 with findings (errors or warnings), 4 when the bank cannot be read at all.
    """
    with _handled():
        from grader.bank import inspect_bank

        loaded, findings = inspect_bank(path)
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
    fmt: Annotated[str, typer.Option("--format", "-f", help="text (terminal), json, md, html or csv.")] = "text",
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
        from grader.engine import Grader
        from grader.errors import InputError
        from grader.render import FORMATS, print_text, to_json, to_markdown
        from grader.resolve import resolve_question

        if fmt not in (*FORMATS, "html", "csv"):
            raise InputError(f"unknown format {fmt!r}; choose {', '.join((*FORMATS, 'html', 'csv'))}",
                             field="--format")
        if output is not None:
            from grader.io import check_writable
            from grader.keep import guard_overwrite

            check_writable(output)
            guard_overwrite(output, force=force, keeps_reviews=fmt == "json")
        loaded = load_bank(bank)
        qid = resolve_question(loaded, question)
        text = _read_answer(answer, answer_file)
        grader = Grader(loaded, metrics=metrics, config=_config(weights, calibration, metrics))
        report = grader.grade(qid, text)
        if fmt == "json" and output is not None:
            from grader.io import locked
            from grader.keep import carry_reviews, read_existing
            from grader.report import dumps

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
            from grader.views import bank_topics, render

            _emit(render("question", report.to_dict(), fmt, bank_topics(loaded)), output, force)
        elif output is not None:
            _emit(to_markdown(report), output, force)
        else:
            from rich.console import Console

            print_text(report, Console(highlight=False))
        _record_history(record, history_db, "grade", [(None, report.to_dict())],
                        source=str(answer_file) if answer_file is not None else "")


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
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        from grader.bank import load_bank
        from grader.batch import expand_inputs, grade_files
        from grader.engine import Grader
        from grader.errors import InputError
        from grader.io import check_writable, write_atomic
        from grader.render import summary_markdown, transcript_markdown
        from grader.report import dumps
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
        files, failures = expand_inputs(paths, exclude=[output_dir])
        console = _err_console()
        from grader.views import bank_topics, render

        topics = bank_topics(grader.bank)
        finished: list = []  # transcripts whose report is on disk (graded now or kept from an earlier run)
        signature: dict = {}

        def saved_report(t) -> Optional[dict]:
            from grader.schemas import load_report

            path = output_dir / f"{t.name}.json"
            if not path.is_file():
                return None
            try:
                return load_report(path, kinds=("transcript",))[1]
            except GraderError:
                return None  # damaged or not a transcript report: graded again

        carried = {"on_answers": 0, "orphaned": 0}
        written: dict[int, dict] = {}  # id(transcript) -> its report as written (reviews carried over)
        unwritten: set[int] = set()  # id(transcript) of reports that could not be written (each a failure)

        def write_report(t) -> None:
            from grader.errors import OutputError
            from grader.io import WHOLE_RUN_ERRNOS, locked
            from grader.keep import carry_reviews, read_existing

            if t.saved is None:
                if not signature:
                    signature.update(grader.signature)
                data = t.to_dict(signature)
                json_path = output_dir / f"{t.name}.json"
                try:
                    with locked(json_path):  # a mentor's review saved meanwhile is read back, not overwritten
                        data, on_answers, orphaned = carry_reviews("transcript", read_existing(json_path), data)
                        text = dumps(data) if fmt == "json" else transcript_markdown(data) if fmt == "md" else \
                            render("transcript", data, fmt, topics)
                        write_atomic(output_dir / f"{t.name}.{fmt}", text)
                except OutputError as exc:  # this report only (its path is a folder, its name too long...)
                    if exc.errno in WHOLE_RUN_ERRNOS:  # a full disk fails every report: stop here (exit 6)
                        raise
                    unwritten.add(id(t))
                    failures.append(OutputError(f"the report of {t.source} was not written: {exc.message}",
                                                path=exc.path or output_dir / f"{t.name}.{fmt}"))
                    return
                written[id(t)] = data
                carried["on_answers"] += on_answers
                carried["orphaned"] += orphaned
            finished.append(t)

        def record_finished() -> None:
            _record_history(record, history_db, "batch", [(t.candidate or Path(t.source).stem, r.to_dict())
                                                          for t in finished if t.saved is None
                                                          for r in t.reports.values()])

        try:
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeRemainingColumn(), console=console, transient=True) as bar:
                tasks = {}

                def progress(stage: str, done: int, total: int) -> None:
                    if stage not in tasks:
                        tasks[stage] = bar.add_task("parsing transcripts" if stage == "parse"
                                                    else "grading answers", total=total)
                    bar.update(tasks[stage], completed=done, total=total)

                result = grade_files(files, grader, failures=failures, input_format=input_format,
                                     candidate=candidate, progress=progress,
                                     saved=saved_report if resume else None, on_graded=write_report)
        except KeyboardInterrupt:
            failed = {f.path for f in failures}
            done_paths = {t.path for t in finished}
            left = [str(f) for f in files if str(f) not in done_paths and str(f) not in failed]
            for failure in failures:
                console.print(f"[bold red]error:[/] {_escape(failure.one_line())}", markup=True, highlight=False)
            console.print(f"interrupted: {len(finished)} of {len(files)} transcript reports are in {output_dir}/ "
                          f"and intact; not done: {', '.join(left) or 'none'}; no summary written. Run the same "
                          "command with --resume to grade only what is left.", markup=False, highlight=False)
            record_finished()
            raise typer.Exit(EXIT_INTERRUPTED) from None
        result.transcripts[:] = [t for t in result.transcripts if id(t) not in unwritten]
        reports = [written.get(id(t)) or t.to_dict(result.signature) for t in result.transcripts]
        summary = result.summary()
        write_atomic(output_dir / "summary.json", dumps(summary))
        write_atomic(output_dir / "summary.md", summary_markdown(summary))
        if fmt == "html":
            write_atomic(output_dir / "summary.html", render("summary", summary, "html", topics))
        elif fmt == "csv":
            from grader.csvreport import answers_csv
            from grader.views import answer_rows, orphan_rows

            write_atomic(output_dir / "answers.csv", answers_csv(r for d in reports for r in (
                *answer_rows("transcript", d, topics), *orphan_rows(d, topics))))
        for t in result.transcripts:
            if t.saved is not None:
                console.print(f"{t.source}: report current, kept (--resume)", markup=False)
                continue
            matched = sum(1 for e in t.exchanges if e.question_id)
            score = "–" if t.overall_score is None else f"{t.overall_score:.1f}"
            console.print(f"{t.source}: {t.candidate or '?'}, {matched} answers graded, overall {score}")
            for index, length in sorted(t.truncated.items()):
                from grader.engine import MAX_ANSWER_CHARS

                console.print(f"  {t.path}:{t.exchanges[index].line}: the answer to "
                              f"{t.exchanges[index].question_id} is {length:,} characters; graded the first "
                              f"{MAX_ANSWER_CHARS:,} (truncated_from in the report)", markup=False)
        for failure in result.failures:
            console.print(f"[bold red]error:[/] {_escape(failure.one_line())}", markup=True, highlight=False)
        if carried["on_answers"] or carried["orphaned"]:
            console.print(f"carried over {carried['on_answers'] + carried['orphaned']} mentor review(s) from the "
                          f"earlier reports: {carried['on_answers']} onto unchanged answers, {carried['orphaned']} "
                          "kept under orphaned_reviews (their answer changed or is gone)", markup=False)
        console.print(f"{len(result.transcripts)} reports and summary written to {output_dir}/")
        record_finished()
        if result.failures:
            from grader.errors import EXIT_OUTPUT, OutputError

            if result.transcripts:
                raise typer.Exit(EXIT_FINDINGS)
            raise typer.Exit(EXIT_OUTPUT if all(isinstance(f, OutputError) for f in result.failures) else EXIT_INPUT)


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
        from grader.engine import Grader
        from grader.errors import InputError
        from grader.evaluate import evaluate as run_evaluation
        from grader.evaluate import read_dataset
        from grader.io import write_atomic
        from grader.report import dumps

        if fmt not in ("text", "json"):
            raise InputError(f"unknown format {fmt!r}; choose text or json", field="--format")
        if exemplars < 0:
            raise InputError("must be 0 or more", field="--exemplars")
        if max_score is not None and not 0 < max_score < float("inf"):
            raise InputError(f"must be a positive number, got {max_score}", field="--max-score")
        if predictions is not None:
            from grader.io import check_writable

            from grader.keep import guard_overwrite

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
        from grader.calibration import calibrate_dataset
        from grader.combine import load_config
        from grader.errors import InputError
        from grader.evaluate import read_dataset
        from grader.io import check_writable, write_atomic

        if not alpha >= 0 or alpha == float("inf"):
            raise InputError(f"must be a finite number >= 0, got {alpha}", field="--alpha")
        if max_score is not None and not 0 < max_score < float("inf"):
            raise InputError(f"must be a positive number, got {max_score}", field="--max-score")
        check_writable(out)
        from grader.keep import guard_overwrite

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
        from grader.errors import InputError
        from grader.io import read_text_file
        from grader.resolve import resolve_question
        from grader.suggest import rubric_snippet

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
        from grader.engine import Grader
        from grader.errors import InputError
        from grader.server import serve as run_server

        if not 0 < port < 65536:
            raise InputError(f"port must be 1-65535, got {port}", field="--port")
        if max_request_bytes < 1024:
            raise InputError("must be at least 1024", field="--max-request-bytes")
        grader = Grader(load_bank(bank), metrics=metrics, config=_config(weights, calibration, metrics))
        _err_console().print(f"grader {grader.signature['grader']} serving on http://{host}:{port} "
                             "(Ctrl-C to stop)")
        run_server(grader, host=host, port=port, max_request_bytes=max_request_bytes)


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
        import random

        from rich.console import Console

        from grader.bank import load_bank
        from grader.engine import Grader
        from grader.errors import InputError
        from grader.render import print_text
        from grader.resolve import resolve_question
        from grader.terminal import take_typed_ahead

        loaded = load_bank(bank)
        pool = list(loaded)
        if topic:
            pool = [q for q in pool if topic.lower() in q.topics]
            if not pool:
                topics = sorted({t for q in loaded for t in q.topics})
                raise InputError(f"no question has topic {topic!r}; topics: {', '.join(topics)}", field="--topic")
        if question:
            pool = [loaded.get(resolve_question(loaded, question))]
        rng = random.Random(seed)
        rng.shuffle(pool)
        grader = Grader(loaded, metrics=metrics)
        console = Console(highlight=False)
        carried: list[str] = []  # lines typed ahead, kept as the start of the next answer
        for q in pool:
            console.print(f"\n[bold]{q.id} ({q.difficulty}):[/] {q.question}", markup=True)
            console.print("[dim]Your answer (empty line to finish, Ctrl-D to quit):[/]", markup=True)
            lines, carried = carried, []
            if lines:
                console.print("[dim](it starts with what you typed earlier:)[/]", markup=True)
                for line in lines:
                    console.print(line, markup=False, highlight=False)
            while True:
                try:
                    line = input()
                except EOFError:
                    if lines:
                        break
                    return
                if not line.strip() and lines:
                    break
                lines.append(line)
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


import grader.cli_reports  # noqa: E402,F401  (registers review/report/agreement/history)


def _install_signal_handlers() -> None:
    """SIGTERM (kill, a closing terminal session, a CI timeout) is handled like Ctrl-C: a report being written is
    left whole or not at all (no temporary file), finished batch reports are kept, and grader exits 130."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), interrupt)


def main() -> None:
    """Console-script entry point."""
    _install_signal_handlers()
    app()


if __name__ == "__main__":
    main()
