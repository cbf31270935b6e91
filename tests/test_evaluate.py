"""`grader evaluate` and `grader calibrate` on a small graded CSV written for the tests."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import cohen_kappa_score
from typer.testing import CliRunner

from grader.cli import app
from grader.errors import EXIT_CONFIG, EXIT_INPUT, ConfigError
from grader.scoring.evaluate import read_dataset, select_exemplars

from .conftest import REPO

DATA = REPO / "tests" / "data" / "graded-small.csv"
runner = CliRunner()


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, full_grader):
    """One evaluate run (JSON summary + predictions), shared by the checks below."""
    out = tmp_path_factory.mktemp("eval")
    predictions = out / "preds.csv"
    result = runner.invoke(app, ["evaluate", "--dataset", str(DATA), "--format", "json",
                                 "--predictions", str(predictions)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), list(csv.DictReader(predictions.open()))


def test_agreement_figures_equal_independent_computation(evaluated):
    summary, rows = evaluated
    human = np.array([float(r["human"]) for r in rows])
    score = np.array([float(r["score"]) for r in rows])
    assert summary["n"] == len(rows) == 24
    assert summary["pearson"] == pytest.approx(pearsonr(human, score)[0], abs=1e-4)
    assert summary["spearman"] == pytest.approx(spearmanr(human, score)[0], abs=1e-4)
    predicted = score / 100 * 5
    assert [float(r["predicted"]) for r in rows] == pytest.approx(predicted, abs=1e-4)
    assert summary["rmse"] == pytest.approx(np.sqrt(np.mean((predicted - human) ** 2)), abs=1e-4)
    assert summary["mae"] == pytest.approx(np.mean(np.abs(predicted - human)), abs=1e-4)
    qwk = cohen_kappa_score(np.rint(human / 0.5).astype(int), np.rint(predicted / 0.5).astype(int),
                            weights="quadratic")
    assert summary["qwk"] == pytest.approx(qwk, abs=1e-4)
    assert summary["max_score"] == 5 and summary["step"] == 0.5


def test_per_metric_and_per_question(evaluated):
    summary, rows = evaluated
    human = [float(r["human"]) for r in rows]
    recall = [float(r["bertscore_recall"]) for r in rows]
    assert summary["per_metric"]["bertscore_recall"]["pearson"] == pytest.approx(pearsonr(human, recall)[0], abs=1e-4)
    assert set(summary["per_question"]) == {"s1", "s2", "s3", "q09", "q13"}
    s1 = [(h, float(r["score"])) for h, r in zip(human, rows) if r["id"] == "s1"]
    assert summary["per_question"]["s1"]["pearson"] == pytest.approx(pearsonr(*zip(*s1))[0], abs=1e-4)
    assert summary["pearson"] > 0.5  # the metrics do track these grades


def test_predictions_are_in_input_order_with_metric_columns(evaluated):
    _, rows = evaluated
    assert [int(r["row"]) for r in rows] == list(range(24))
    assert {"row", "id", "human", "score", "predicted", "bertscore_recall", "rouge1_recall"} <= set(rows[0])


def test_bank_ids_are_graded_as_grade_grades_them(evaluated, full_grader):
    _, rows = evaluated
    line = next(r for r in rows if r["id"] == "q09")
    text = next(r for r in csv.DictReader(DATA.open()) if r["id"] == "q09")["student_answer"]
    assert float(line["score"]) == full_grader.grade("q09", text).score
    assert line["keywords_coverage"] != ""  # the bank rubric was used


def test_exemplars_never_include_the_graded_answer():
    rows, _ = read_dataset(DATA)
    chosen = select_exemplars(rows, 3)
    for row, extra in zip(rows, chosen):
        assert row.answer not in extra
        same = [r for r in rows if r.id == row.id and r.row != row.row]
        top = max(r.human for r in rows if r.id == row.id)
        assert all(any(e == r.answer and r.human == top for r in same) for e in extra)
        assert len(extra) <= 3
    assert any(chosen)


def test_exemplars_run(full_grader):
    result = runner.invoke(app, ["evaluate", "--dataset", str(DATA), "--format", "json", "--exemplars", "2"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n"] == 24


@pytest.mark.parametrize("content,expected", [
    ("id,question\n1,q\n", "missing column"),
    ("id,question,desired_answer,student_answer,score_avg\ns1,q,r,a,high\n", "line 2"),
    ("id,question,desired_answer,student_answer,score_avg\n", "no data rows"),
])
def test_bad_datasets(tmp_path, content, expected):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = runner.invoke(app, ["evaluate", "--dataset", str(path)])
    assert result.exit_code == EXIT_INPUT
    assert "bad.csv" in result.output and "Traceback" not in result.output
    assert expected in result.output or expected.replace("line ", ":") in result.output


def test_calibrate_round_trip(tmp_path, full_grader):
    out = tmp_path / "cal.json"
    result = runner.invoke(app, ["calibrate", "--dataset", str(DATA), "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["format"] == "grader-calibration" and data["version"] == 1
    assert len(data["features"]) == len(data["coefficients"]) and data["data"]["rows"] == 24
    assert data["cross_validation"]["pearson"] is not None
    graded = runner.invoke(app, ["grade", "-q", "q09", "--calibration", str(out), "--format", "json",
                                 "--answer", "LoRA learns a low-rank update BA and merges it, so no latency."])
    assert graded.exit_code == 0, graded.output
    assert json.loads(graded.stdout)["signature"]["weights"]["calibration"]["features"] == data["features"]
    evaluated = runner.invoke(app, ["evaluate", "--dataset", str(DATA), "--calibration", str(out), "-f", "json"])
    assert evaluated.exit_code == 0, evaluated.output


def test_folds_never_share_a_question():
    from grader.scoring.calibration import fit_calibration

    rows, _ = read_dataset(DATA)
    values = [{"rouge1_recall": i / 24} for i in range(24)]
    _, _, _, fold_of = fit_calibration(values, [r.human for r in rows], [r.id for r in rows], ("rouge1_recall",))
    for qid in {r.id for r in rows}:
        assert len({fold_of[i] for i, r in enumerate(rows) if r.id == qid}) == 1


def _calibration(tmp_path: Path, **changes) -> Path:
    from grader.scoring.calibration import dump_calibration

    text = dump_calibration(("bertscore_recall",), [4.0], 1.0, 5.0, 5, {}, {})
    data = json.loads(text)
    path = tmp_path / "cal.json"
    if changes.pop("tamper", False):
        data["coefficients"] = [40.0]
    data.update(changes)
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("case,expected", [
    ("tampered", "checksum mismatch"),
    ("truncated", "not valid JSON"),
    ("newer", "newer than this grader"),
    ("not-calibration", "not a grader calibration"),
])
def test_bad_calibration_files(tmp_path, case, expected):
    from grader.scoring.calibration import load_calibration

    if case == "tampered":
        path = _calibration(tmp_path, tamper=True)
    elif case == "truncated":
        path = _calibration(tmp_path)
        path.write_text(path.read_text()[:40])
    elif case == "newer":
        path = _calibration(tmp_path, version=99)
    else:
        path = tmp_path / "cal.json"
        path.write_text('{"hello": 1}')
    with pytest.raises(ConfigError) as info:
        load_calibration(path)
    assert expected in str(info.value) and "cal.json" in str(info.value)
    result = runner.invoke(app, ["grade", "-q", "q09", "--answer", "x", "--calibration", str(path)])
    assert result.exit_code == EXIT_CONFIG and expected in result.output


def test_calibration_from_a_different_feature_set_is_refused(tmp_path):
    path = _calibration(tmp_path)  # bertscore features, layer 5
    result = runner.invoke(app, ["grade", "-q", "q09", "--answer", "x", "--metrics", "keywords,rouge",
                                 "--calibration", str(path)])
    assert result.exit_code == EXIT_CONFIG and "leaves bertscore out" in result.output
    from grader.scoring.calibration import dump_calibration

    other = tmp_path / "other.json"
    other.write_text(dump_calibration(("bertscore_recall",), [4.0], 1.0, 5.0, 2, {}, {}))
    result = runner.invoke(app, ["grade", "-q", "q09", "--answer", "x", "--calibration", str(other)])
    assert result.exit_code == EXIT_CONFIG and "layer 2" in result.output
