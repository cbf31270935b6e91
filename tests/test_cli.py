"""The command line: question resolution, answer input, formats, and bad input with clear one-line errors."""
from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from grader.cli import app
from grader.errors import EXIT_CONFIG, EXIT_INPUT, EXIT_OUTPUT

runner = CliRunner()
LEX = ["--metrics", "keywords,rouge"]
ANSWER = "LoRA freezes W and learns a low-rank update BA; after training BA is merged into W, so no latency."


def grade(*args, input=None):
    return runner.invoke(app, ["grade", *args], input=input)


@pytest.mark.parametrize("spec,qid", [("q09", "q09"), ("9", "q09"), ("Q09", "q09"), ("q9", "q09"),
                                      ("mode collapse", "q15"), ("Explain LoRA mathematically", "q09"),
                                      ("classifier-free guidance", "q17")])
def test_question_by_id_number_or_text(spec, qid):
    result = grade("-q", spec, "--answer", ANSWER, "--format", "json", *LEX)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["question_id"] == qid


@pytest.mark.parametrize("spec,expected", [
    ("q99", "no question number 99"),
    ("42", "no question number 42"),
    ("diffusion", "matches several questions"),
    ("quantum chromodynamics", "unknown question"),
])
def test_unknown_or_ambiguous_question(spec, expected):
    result = grade("-q", spec, "--answer", ANSWER, *LEX)
    assert result.exit_code == EXIT_INPUT
    assert expected in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_unknown_id_suggests_closest():
    result = grade("-q", "q2O", "--answer", ANSWER, *LEX)
    assert result.exit_code == EXIT_INPUT and "did you mean" in result.output and "q20" in result.output


def test_answer_from_file_and_stdin(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(ANSWER, encoding="utf-8")
    from_file = json.loads(grade("-q", "q09", "--answer-file", str(path), "-f", "json", *LEX).stdout)
    from_stdin = json.loads(grade("-q", "q09", "--answer-file", "-", "-f", "json", *LEX, input=ANSWER).stdout)
    from_dash = json.loads(grade("-q", "q09", "--answer", "-", "-f", "json", *LEX, input=ANSWER).stdout)
    assert from_file["score"] == from_stdin["score"] == from_dash["score"] > 30


@pytest.mark.parametrize("content,expected", [
    (None, "file not found"),
    ("DIR", "is a directory"),
    (b"\x00\x01\x02binary", "binary"),
    (b"caf\xe9 au lait", "not valid UTF-8"),
])
def test_bad_answer_files(tmp_path, content, expected):
    path = tmp_path / "answer.txt"
    if content == "DIR":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    result = grade("-q", "q09", "--answer-file", str(path), *LEX)
    assert result.exit_code == EXIT_INPUT
    assert expected in result.output and "answer.txt" in result.output and "Traceback" not in result.output


def test_bom_and_utf16_answer_files(tmp_path):
    bom = tmp_path / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbf" + ANSWER.encode())
    utf16 = tmp_path / "u16.txt"
    utf16.write_bytes(ANSWER.encode("utf-16"))
    scores = [json.loads(grade("-q", "q09", "--answer-file", str(p), "-f", "json", *LEX).stdout)["score"]
              for p in (bom, utf16)]
    assert scores[0] == scores[1] > 30


@pytest.mark.parametrize("answer", ["", "   \n\t"])
def test_empty_answers_score_zero(answer):
    result = grade("-q", "q09", "--answer", answer, "-f", "json", *LEX)
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["score"] == 0 and "empty" in data["flags"]


def test_one_megabyte_answer_is_refused_clearly():
    result = grade("-q", "q09", "--answer", "word " * 210_000, *LEX)
    assert result.exit_code == EXIT_INPUT
    assert "characters; the limit is" in result.output and "Traceback" not in result.output


def test_output_file_and_formats(tmp_path):
    out = tmp_path / "r.md"
    result = grade("-q", "q09", "--answer", ANSWER, "-f", "md", "-o", str(out), *LEX)
    assert result.exit_code == 0 and out.read_text().startswith("## q09")
    text = grade("-q", "q09", "--answer", ANSWER, *LEX)
    assert text.exit_code == 0 and "q09" in text.output and "/ 100" in text.output


def test_unwritable_output(tmp_path):
    target = tmp_path / "dir"
    target.mkdir()
    result = grade("-q", "q09", "--answer", ANSWER, "-f", "json", "-o", str(target), *LEX)
    assert result.exit_code == EXIT_OUTPUT and "is a directory" in result.output


@pytest.mark.parametrize("change,expected", [
    (lambda d: d.update(keyword_weight=1.5), "keyword_weight"),
    (lambda d: d["semantic_features"].update(magic=1), "unknown feature"),
    (lambda d: d.update(version=2), "unsupported version"),
    (lambda d: d["bertscore"].update(layer=9), "bertscore.layer"),
    (lambda d: d["guards"].update(admission_cap=250), "guards.admission_cap"),
    (lambda d: d["guards"].update(keyword_list_reference_f1="high"), "guards.keyword_list_reference_f1"),
])
def test_invalid_weights(tmp_path, change, expected):
    from grader.scoring.combine import DEFAULT_CONFIG

    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    change(data)
    path = tmp_path / "w.yaml"
    path.write_text(yaml.safe_dump(data))
    result = grade("-q", "q09", "--answer", ANSWER, "--weights", str(path), *LEX)
    assert result.exit_code == EXIT_CONFIG and expected in result.output and "w.yaml" in result.output


def test_unknown_metric():
    result = grade("-q", "q09", "--answer", ANSWER, "--metrics", "keywords,bleu")
    assert result.exit_code == EXIT_CONFIG and "bleu" in result.output


def test_debug_shows_traceback():
    result = runner.invoke(app, ["--debug", "grade", "-q", "q99", "--answer", "x", *LEX])
    assert result.exit_code != 0 and result.exception is not None


def test_help_teaches():
    result = runner.invoke(app, ["grade", "--help"])
    assert result.exit_code == 0 and "Examples" in result.output and "--metrics" in result.output


def test_python_dash_m(tmp_path):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "grader", "questions", "--format", "json"], capture_output=True,
                         text=True, cwd=tmp_path)
    assert out.returncode == 0 and len(json.loads(out.stdout)) == 20


def test_rubric_suggest_proposes_editable_yaml(tmp_path):
    result = runner.invoke(app, ["rubric", "suggest", "-q", "q09"])
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(result.stdout)
    assert data["question"] == "q09" and len(data["concepts"]) >= 4
    names = " ".join(c["name"] for c in data["concepts"])
    assert "merge" in names or "trainable" in names
    formulas = [f for c in data["concepts"] for f in c.get("formulas", [])]
    assert "ΔW = BA" in formulas
    ref = tmp_path / "ref.txt"
    ref.write_text("Dropout randomly zeroes activations during training to reduce overfitting; at test time "
                   "activations are scaled.", encoding="utf-8")
    new = runner.invoke(app, ["rubric", "suggest", "--reference-file", str(ref), "--id", "n01"])
    assert new.exit_code == 0 and "dropout" in new.stdout.lower()
    both = runner.invoke(app, ["rubric", "suggest"])
    assert both.exit_code == EXIT_INPUT
