"""The bundled bank, loading errors, and `grader bank check` / `grader questions`."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.bank import load_bank
from grader.cli import app
from grader.errors import EXIT_BANK, EXIT_FINDINGS, BankError

from .conftest import REPO, SEED

runner = CliRunner()


def seed_questions() -> list[tuple[str, str]]:
    if not SEED.exists():
        pytest.skip(f"seed file not found at {SEED}")
    out = []
    for line in SEED.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^(\d{1,2}) (.+?) (?:⚡ Easy|📊 Medium|🔥 Hard)$", line)
        if m:
            out.append((m.group(1), m.group(2)))
    assert len(out) == 20
    return out


def test_every_seed_question_is_present_verbatim(bank):
    for (number, text), question in zip(seed_questions(), bank):
        assert question.id == f"q{int(number):02d}"
        assert question.question == text


def test_bank_shape(bank):
    assert len(bank) == 20
    assert all(q.difficulty in ("Easy", "Medium", "Hard") for q in bank)
    assert all(q.reference and q.topics and len(q.alternative_phrasings) >= 3 for q in bank)
    assert all(q.rubric is not None and len(q.rubric.concepts) >= 4 for q in bank)
    assert sum(1 for q in bank if q.rubric.pitfalls) >= 8


def test_formula_lines_are_in_references(bank):
    assert "min_G max_D V(D,G)" in bank.get("q03").reference
    assert "Discriminative: learn P(Y|X)" in bank.get("q01").reference


def test_bundled_bank_is_clean():
    result = runner.invoke(app, ["bank", "check"])
    assert result.exit_code == 0, result.output


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


BREAKAGES = [
    # (how to break the copy, text that must appear in the one-line error)
    ("duplicate-id", lambda b: _write(b / "references" / "q99.yaml",
                                      (b / "references" / "q01.yaml").read_text().replace("id: q01", "id: q99", 1)
                                      .replace("id: \"q01\"", "id: \"q99\"", 1)) or
     _write(b / "references" / "q02.yaml", (b / "references" / "q01.yaml").read_text()),
     "q02.yaml"),
    ("malformed-id", lambda b: _write(b / "references" / "q01.yaml", re.sub(
        r"(?m)^id:.*$", "id: \"bad id!\"", (b / "references" / "q01.yaml").read_text())),
     "malformed"),
    ("empty-reference", lambda b: _write(b / "references" / "q05.yaml", re.sub(
        r"(?ms)^reference:.*?(?=^\w)", "reference: \"\"\n", (b / "references" / "q05.yaml").read_text())),
     "[q05.reference]"),
    ("unknown-question", lambda b: _write(b / "rubrics" / "q77.yaml",
                                          (b / "rubrics" / "q09.yaml").read_text().replace("q09", "q77", 1)),
     "unknown question"),
    ("non-positive-weight", lambda b: _write(b / "rubrics" / "q09.yaml", re.sub(
        r"weight: [\d.]+", "weight: 0", (b / "rubrics" / "q09.yaml").read_text(), count=1)),
     "weight"),
    ("malformed-yaml", lambda b: _write(b / "rubrics" / "q04.yaml", "question: q04\nconcepts: [unclosed\n"),
     "malformed YAML"),
    ("bad-difficulty", lambda b: _write(b / "references" / "q06.yaml", re.sub(
        r"(?m)^difficulty:.*$", "difficulty: Impossible", (b / "references" / "q06.yaml").read_text())),
     "difficulty"),
    ("missing-question-text", lambda b: _write(b / "references" / "q07.yaml", re.sub(
        r"(?m)^question:.*$", "", (b / "references" / "q07.yaml").read_text())),
     "[q07.question]: missing"),
    ("not-utf8", lambda b: (b / "rubrics" / "q03.yaml").write_bytes(b"question: q03\xff\xfe\n"),
     "not valid UTF-8"),
]


@pytest.mark.parametrize("name,breaker,expected", BREAKAGES, ids=[b[0] for b in BREAKAGES])
def test_broken_bank_is_reported(bank_copy, name, breaker, expected):
    breaker(bank_copy)
    with pytest.raises(BankError) as info:
        load_bank(bank_copy)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message
    check = runner.invoke(app, ["bank", "check", str(bank_copy)])
    assert check.exit_code == EXIT_FINDINGS
    assert expected in check.output
    listing = runner.invoke(app, ["questions", "--bank", str(bank_copy)])
    assert listing.exit_code == EXIT_BANK
    assert "Traceback" not in listing.output and expected in listing.output


def test_unused_concept_is_a_warning(bank_copy):
    _edit(bank_copy / "rubrics" / "q09.yaml", "concepts:", "concepts:\n  - name: made up\n    weight: 1\n"
          "    synonyms: [\"zebra crossing\"]")
    bank = load_bank(bank_copy)  # a warning does not stop loading
    assert bank.get("q09").rubric.concepts[0].name == "made up"
    check = runner.invoke(app, ["bank", "check", str(bank_copy)])
    assert check.exit_code == EXIT_FINDINGS
    assert "warning" in check.output and "made up" in check.output


def test_question_without_rubric_is_valid(bank_copy):
    (bank_copy / "rubrics" / "q12.yaml").unlink()
    bank = load_bank(bank_copy)
    assert bank.get("q12").rubric is None


def test_bank_from_environment(bank_copy, monkeypatch):
    for path in list((bank_copy / "references").glob("*.yaml"))[3:]:
        path.unlink()
    for path in (bank_copy / "rubrics").glob("*.yaml"):
        path.unlink()
    monkeypatch.setenv("GRADER_BANK", str(bank_copy))
    result = runner.invoke(app, ["questions", "--format", "json"])
    assert result.exit_code == 0
    assert len(json.loads(result.output)) == 3


@pytest.mark.parametrize("bad", ["/nonexistent/bank", "FILE"])
def test_missing_or_file_bank(tmp_path, bad):
    if bad == "FILE":
        bad = str(tmp_path / "f.txt")
        Path(bad).write_text("x")
    result = runner.invoke(app, ["questions", "--bank", bad])
    assert result.exit_code == EXIT_BANK
    assert bad in result.output


def test_questions_json_lists_bank():
    result = runner.invoke(app, ["questions", "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert [d["id"] for d in data] == [f"q{i:02d}" for i in range(1, 21)]
    assert {"id", "difficulty", "topics", "question"} <= set(data[0])


def test_non_editable_install_finds_bundled_bank(tmp_path):
    """`pip install .` ships references/ and rubrics/ as package data, found from any directory."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(REPO)], check=True, cwd=tmp_path, capture_output=True)
    code = ("import grader, os; from grader.cli import main; "
            "assert grader.__file__.startswith(os.environ['PYTHONPATH']), grader.__file__; main()")
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    listing = subprocess.run([sys.executable, "-c", code, "questions", "--format", "json"],
                             cwd=tmp_path, env=env, capture_output=True, text=True)
    assert listing.returncode == 0, listing.stderr
    assert len(json.loads(listing.stdout)) == 20
    check = subprocess.run([sys.executable, "-c", code, "bank", "check"], cwd=tmp_path, env=env,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


@pytest.mark.parametrize("addition, expected", [
    # A fact whose phrase the reference itself negates: "No extra compute at inference" vs holds "extra compute".
    ("facts:\n  - claim: \"Inference costs extra compute.\"\n    subject: [inference]\n    holds: [extra compute]\n",
     "contradicts a fact"),
    ("pitfalls:\n  - name: merge is wrong\n    terms: [[merge], [training]]\n    penalty: 0.1\n",
     "fires on the reference"),
    # Function words are skipped in matching: "from people" would deny every "people".
    ("facts:\n  - claim: \"Labels come from an AI.\"\n    subject: [labels]\n    holds: [ai feedback]\n"
     "    denies: [from people]\n", "reads as the one word 'people'"),
    # A pitfall that fires on the rubric's own true sentence (a fact's claim) would fire on correct answers too.
    ("pitfalls:\n  - name: frozen means trained\n    terms: [[frozen], [trained]]\n    penalty: 0.1\n",
     "the rubric's own sentence"),
])
def test_a_fact_or_pitfall_that_flags_the_reference_is_a_warning(bank_copy, addition, expected):
    path = bank_copy / "rubrics" / "q09.yaml"
    text = path.read_text(encoding="utf-8")
    key = addition.split(":", 1)[0] + ":"
    assert key + "\n" in text
    path.write_text(text.replace(key + "\n", addition, 1), encoding="utf-8")
    check = runner.invoke(app, ["bank", "check", str(bank_copy)])
    assert check.exit_code == EXIT_FINDINGS, check.output
    assert expected in check.output
