"""`grader evaluate` and `grader calibrate` explain their figures: what each means and what is good, the two
human graders' own agreement beside grader's, readable metric names, a schema version, a progress bar, and a
calibration verdict that does not mistake a lower RMSE for a better grader."""
from __future__ import annotations

import csv
import json
import os
import pty
import re
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import pearsonr
from typer.testing import CliRunner

from grader.cli import app
from grader.errors import EXIT_INPUT, EXIT_USAGE
from grader.scoring.calibration import verdict

from .conftest import REPO

DATA = REPO / "tests" / "data" / "graded-small.csv"
LEX = ["--metrics", "keywords,rouge"]
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "160"})


def ok(result):
    assert result.exit_code == 0, result.output
    return result


def test_evaluate_shows_the_two_humans_agreement_beside_graders():
    summary = json.loads(ok(invoke("evaluate", "--dataset", DATA, *LEX, "--rater-cols", "score_me,score_other",
                                   "-f", "json")).stdout)
    rows = list(csv.DictReader(DATA.open(encoding="utf-8")))
    me = np.array([float(r["score_me"]) for r in rows])
    other = np.array([float(r["score_other"]) for r in rows])
    human = summary["human_agreement"]
    assert summary["schema_version"] == 1 and human["n"] == len(rows) == 24
    assert human["pearson"] == pytest.approx(pearsonr(me, other)[0], abs=1e-4)
    assert human["rmse"] == pytest.approx(np.sqrt(np.mean((me - other) ** 2)), abs=1e-4)
    assert human["mae"] == pytest.approx(np.mean(np.abs(me - other)), abs=1e-4)
    without = json.loads(ok(invoke("evaluate", "--dataset", DATA, *LEX, "-f", "json")).stdout)
    assert "human_agreement" not in without and without["schema_version"] == 1
    assert without["pearson"] == summary["pearson"]  # the raters' columns change nothing else


def test_evaluate_table_says_what_each_figure_means_with_readable_metric_names():
    text = ok(invoke("evaluate", "--dataset", DATA, *LEX, "--rater-cols", "score_me,score_other")).stdout
    assert "grader vs humans" in text and "human vs human" in text and "what it means" in text
    for label in ("Pearson r", "Spearman rho", "QWK", "RMSE", "MAE", "lower is better", "1 perfect"):
        assert label in text
    assert "ROUGE-1 recall" in text and "rouge1_recall" not in text
    plain = ok(invoke("evaluate", "--dataset", DATA, *LEX)).stdout
    assert "human vs human" not in plain and "--rater-cols" in plain  # says how to get the comparison


@pytest.mark.parametrize("value,code,named", [("score_me", EXIT_USAGE, "--rater-cols"),
                                              ("score_me,nope", EXIT_INPUT, "--rater-cols 'nope'")])
def test_bad_rater_columns(value, code, named):
    result = invoke("evaluate", "--dataset", DATA, *LEX, "--rater-cols", value)
    assert result.exit_code == code and named in result.output and "Traceback" not in result.output


def test_calibrate_help_explains_every_column_option():
    text = ok(invoke("calibrate", "--help")).stdout
    for option in ("--id-col", "--question-col", "--reference-col", "--answer-col", "--score-col"):
        line = next(line for line in text.splitlines() if option in line)
        assert re.search(rf"{option}\s+TEXT\s+Column of", line), line


CV = {"pearson": 0.50, "rmse": 1.0}


@pytest.mark.parametrize("default,words,recommended", [
    ({"pearson": 0.60, "rmse": 1.7}, "mixed", False),     # nearer the scale, worse order: the dishonest case
    ({"pearson": 0.60, "rmse": 0.9}, "worse than the default score on both counts", False),
    ({"pearson": 0.40, "rmse": 1.7}, "better than the default score", True),
    ({"pearson": 0.502, "rmse": 1.7}, "about as well", True),
    ({"pearson": 0.502, "rmse": 0.5}, "no better than the default", False),
    ({"pearson": None, "rmse": 1.7}, "cannot compare", False),
])
def test_the_calibration_verdict_weighs_order_before_error(default, words, recommended):
    text, use = verdict(CV, default)
    assert words in text and use is recommended
    if default["pearson"] is not None:
        assert f"{CV['pearson']:.3f} vs {default['pearson']:.3f}" in text


def test_calibrate_json_compares_with_the_default_score(tmp_path, full_grader):
    out = tmp_path / "cal.json"
    result = ok(invoke("calibrate", "--dataset", DATA, "--out", out, "-f", "JSON"))
    data = json.loads(result.stdout)
    assert data["schema_version"] == 1 and data["rows"] == 24 and data["calibration"] == str(out)
    assert data["cross_validated"] == json.loads(out.read_text())["cross_validation"]
    assert (data["verdict"], data["recommended"]) == verdict(data["cross_validated"], data["default"])
    assert data["default"]["n"] == 24 and data["default"]["pearson"] is not None
    text = ok(invoke("calibrate", "--dataset", DATA, "--out", out, "--force")).stdout
    assert "calibrated" in text and "default" in text and "verdict: " in text and "what it means" in text


@pytest.mark.skipif(os.name != "posix", reason="a pseudo-terminal")
def test_evaluate_shows_a_progress_bar_on_a_terminal():
    main, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "grader", "evaluate", "--dataset", str(DATA), *LEX],
                            stdin=child, stdout=child, stderr=child, env={**os.environ, "COLUMNS": "120"})
    os.close(child)
    seen = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(main)
    assert proc.wait(timeout=120) == 0
    text = seen.decode("utf-8", "replace")
    assert "grading rows" in text and "24/24" in text
