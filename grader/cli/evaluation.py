"""The coach's commands that measure grader against human grades: evaluate and calibrate.

Split from ``coach`` (batch and serve), which would otherwise pass 500 lines; the two share their dataset
options, the progress bar and the tables that say what each figure means.
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
    JudgeConcurrencyOption,
    JudgeModelOption,
    JudgeOption,
    JudgeTimeoutOption,
    MetricsOption,
    ReferencesSepOption,
    UsageError,
    WeightsOption,
    _choose_format,
    _config,
    _err_console,
    _handled,
    _judge,
    _references_sep,
    app,
)

DatasetOption = Annotated[Path, typer.Option("--dataset", "-d", help="A CSV (or .jsonl) of human-graded answers.",
                                             show_default=False, readable=False)]
IdCol = Annotated[str, typer.Option("--id-col", help="Column of the question id (a bank id such as q09 is graded "
                                    "with the bank's rubric).")]
QuestionCol = Annotated[str, typer.Option("--question-col", help="Column of the question text.")]
ReferenceCol = Annotated[str, typer.Option("--reference-col", help="Column of the reference answer.")]
AnswerCol = Annotated[str, typer.Option("--answer-col", help="Column of the candidate's answer.")]
ScoreCol = Annotated[str, typer.Option("--score-col", help="Column of the human grade (the truth).")]
RaterCols = Annotated[Optional[str], typer.Option("--rater-cols", help="Two columns holding each human grader's "
                      "own grade (Mohler: score_me,score_other): shows how the humans agree with each other, "
                      "beside grader.", show_default=False)]
MaxScore = Annotated[Optional[float], typer.Option("--max-score", help="Top of the human scale (default: the "
                     "largest grade, rounded up).", show_default=False)]
FormatOption = Annotated[Optional[str], typer.Option("--format", "-f", help="text (tables on the terminal) or json.",
                         show_default=False)]


def _columns(id_col: str, question_col: str, reference_col: str, answer_col: str, score_col: str) -> dict:
    return {"id": id_col, "question": question_col, "reference": reference_col, "answer": answer_col,
            "score": score_col}


def _rater_cols(value: Optional[str]) -> Optional[tuple[str, str]]:
    if value is None:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    if len(names) != 2:
        raise UsageError(f"give two column names separated by a comma, got {value!r}", field="--rater-cols")
    return names[0], names[1]


def _check_max_score(max_score: Optional[float]) -> None:
    from grader.errors import InputError

    if max_score is not None and not 0 < max_score < float("inf"):
        raise InputError(f"must be a positive number, got {max_score}", field="--max-score")


@contextlib.contextmanager
def _rows_progress(total: int):
    """A bar over the rows graded (it follows the model's batches), with the time spent and the time left."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    with Progress(TextColumn("grading rows"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("left"), TimeRemainingColumn(), console=_err_console(), transient=True) as bar:
        task = bar.add_task("grade", total=total)
        yield lambda done, _total: bar.update(task, completed=done)


def _figure(value) -> str:
    return "–" if value is None else f"{value:.3f}" if abs(value) < 1e6 else f"{value:.4g}"


def _figures_table(title: str, columns: dict[str, dict]):
    """One row per agreement figure: its readable name, a column per ``columns`` (name -> figures), what it
    means and what is good."""
    from rich.table import Table

    from grader.scoring.evaluate import figure_guide

    guide = figure_guide()["measures"]
    table = Table("figure", title=title)
    for name in columns:
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("what it means (what is good)")
    for key in ("pearson", "spearman", "qwk", "rmse", "mae"):
        table.add_row(guide[key]["label"], *(_figure(c.get(key)) for c in columns.values()),
                      f"{guide[key]['meaning']} ({guide[key]['good']})")
    return table


def _print_evaluation(summary: dict) -> None:
    """The agreement figures, beside the two humans' agreement when known, then each metric alone."""
    from rich.console import Console
    from rich.table import Table

    from grader.scoring.evaluate import figure_guide

    console = Console(highlight=False)
    columns = {"grader vs humans": summary}
    if "human_agreement" in summary:
        columns["human vs human"] = summary["human_agreement"]
    console.print(_figures_table(f"{summary['n']} rows, human scale 0-{summary['max_score']:g} (step "
                                 f"{summary['step']:g})", columns))
    if "human_agreement" not in summary:
        console.print("(give --rater-cols A,B to see how two human graders agree with each other)", markup=False)
    for key, why in summary.get("notes", {}).items():
        console.print(f"{key}: {why}", markup=False)
    names = figure_guide()["metrics"]
    metric_table = Table("metric alone", "Pearson r", "Spearman rho", title="Each metric alone against the "
                         "human grades")
    for name, m in summary["per_metric"].items():
        metric_table.add_row(names.get(name, name), *(_figure(m[k]) for k in ("pearson", "spearman")))
    console.print(metric_table)


@app.command()
def evaluate(
    dataset: DatasetOption,
    id_col: IdCol = "id",
    question_col: QuestionCol = "question",
    reference_col: ReferenceCol = "desired_answer",
    references_sep: ReferencesSepOption = None,
    answer_col: AnswerCol = "student_answer",
    score_col: ScoreCol = "score_avg",
    rater_cols: RaterCols = None,
    max_score: MaxScore = None,
    exemplars: Annotated[int, typer.Option("--exemplars", help="Use up to K other top-graded answers to the same "
                         "question as extra references (never the graded answer itself).")] = 0,
    predictions: Annotated[Optional[Path], typer.Option("--predictions", help="Write one CSV row per graded row.",
                                                        show_default=False, readable=False)] = None,
    fmt: FormatOption = None,
    metrics: MetricsOption = "keywords,rouge,bertscore",
    bank: BankOption = None,
    weights: WeightsOption = None,
    calibration: CalibrationOption = None,
    force: ForceOption = False,
    judge: JudgeOption = None,
    judge_model: JudgeModelOption = None,
    judge_timeout: JudgeTimeoutOption = 300.0,
    judge_concurrency: JudgeConcurrencyOption = 1,
):
    """Grade a human-graded CSV or JSONL and report agreement: Pearson, Spearman, QWK, RMSE, MAE; per metric, per question.

    Defaults fit the Mohler et al. (2011) layout (id, question, desired_answer, student_answer, score_avg). The
    table says what each figure means and what is good; with --rater-cols the two human graders' agreement
    with each other stands beside grader's.

    Example: grader evaluate --dataset graded.csv --rater-cols score_me,score_other --predictions preds.csv
    """
    with _handled():
        from grader.bank import load_bank
        from grader.errors import InputError
        from grader.io import write_atomic
        from grader.reports.model import dumps
        from grader.scoring.engine import Grader
        from grader.scoring.evaluate import evaluate as run_evaluation
        from grader.scoring.evaluate import read_dataset

        fmt = _choose_format(fmt, ("text", "json"))
        raters = _rater_cols(rater_cols)
        if exemplars < 0:
            raise InputError("must be 0 or more", field="--exemplars")
        _check_max_score(max_score)
        if predictions is not None:
            from grader.io import check_writable
            from grader.mentor.keep import guard_overwrite

            check_writable(predictions)
            guard_overwrite(predictions, force=force)
        rows, digest = read_dataset(dataset, _columns(id_col, question_col, reference_col, answer_col, score_col),
                                    _references_sep(references_sep), rater_cols=raters)
        config = _config(weights, calibration, metrics)
        loaded = load_bank(bank)
        client = _judge(judge, judge_model, judge_timeout, judge_concurrency)
        with _rows_progress(len(rows)) as progress:
            result = run_evaluation(rows, lambda b: Grader(b, metrics=metrics, config=config, judge=client,
                                                           judge_concurrency=judge_concurrency), loaded, digest,
                                    exemplars=exemplars, max_score=max_score, progress=progress)
        summary = result.summary()
        if predictions is not None:
            write_atomic(predictions, result.predictions_csv())
        if fmt == "json":
            sys.stdout.write(dumps(summary))
            return
        _print_evaluation(summary)


@app.command()
def calibrate(
    dataset: DatasetOption,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the calibration JSON.", readable=False)]
    = Path("calibration.json"),
    id_col: IdCol = "id",
    question_col: QuestionCol = "question",
    reference_col: ReferenceCol = "desired_answer",
    references_sep: ReferencesSepOption = None,
    answer_col: AnswerCol = "student_answer",
    score_col: ScoreCol = "score_avg",
    max_score: MaxScore = None,
    features: Annotated[str, typer.Option("--features", help="Comma-separated features to combine.")]
    = "bertscore_recall,bertscore_f1,rouge1_recall,demoted_bertscore_recall,demoted_rouge1_recall",
    alpha: Annotated[float, typer.Option("--alpha", help="Ridge regularisation strength.")] = 1.0,
    fmt: FormatOption = None,
    bank: BankOption = None,
    weights: WeightsOption = None,
    force: ForceOption = False,
):
    """Fit how the metrics combine into a grade on your own graded answers (ridge regression).

    Cross-validated with folds grouped by question (a question is never in both the fit and the check); prints
    the cross-validated agreement beside the default score's on the same answers, with a verdict (a lower
    RMSE alone is not a better grader), and writes a JSON calibration (no pickle) for --calibration on grade,
    batch and evaluate.

    Example: grader calibrate --dataset my_graded.csv --out calibration.json
    """
    with _handled():
        from grader.bank import load_bank
        from grader.errors import InputError
        from grader.io import check_writable, write_atomic
        from grader.mentor.keep import guard_overwrite
        from grader.reports.model import dumps
        from grader.scoring.calibration import calibrate_dataset
        from grader.scoring.combine import load_config
        from grader.scoring.evaluate import read_dataset

        fmt = _choose_format(fmt, ("text", "json"))
        if not alpha >= 0 or alpha == float("inf"):
            raise InputError(f"must be a finite number >= 0, got {alpha}", field="--alpha")
        _check_max_score(max_score)
        check_writable(out)
        guard_overwrite(out, force=force)  # an earlier calibration (or a report, a history) is not replaced
        rows, digest = read_dataset(dataset, _columns(id_col, question_col, reference_col, answer_col, score_col),
                                    _references_sep(references_sep))
        with _rows_progress(len(rows)) as progress:
            run = calibrate_dataset(rows, digest, dataset.name, load_bank(bank), load_config(weights),
                                    features.split(","), alpha=alpha, max_score=max_score, progress=progress)
        write_atomic(out, run.text)
        if fmt == "json":
            sys.stdout.write(dumps({**run.summary(), "rows": len(rows), "calibration": str(out)}))
        else:
            from rich.console import Console

            console = Console(highlight=False)
            console.print(_figures_table(f"{len(rows)} rows, cross-validated by question",
                                         {"calibrated": run.cross_validated, "default": run.default}))
            console.print(f"verdict: {run.verdict}", markup=False)
        _err_console().print(f"wrote {out}")
