"""Transcripts end to end: segmentation and matching against hand-labelled interviews, and `grader batch`."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.errors import EXIT_FINDINGS
from grader.transcripts.matching import QuestionMatcher, segment
from grader.transcripts import read_transcript

from .conftest import REPO

SAMPLES = REPO / "samples"
INTERVIEWS = REPO / "tests" / "data" / "interviews"
runner = CliRunner()


@pytest.fixture(scope="module")
def matcher(bank):
    return QuestionMatcher(bank)


def labelled(folder: Path):
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    return [(folder / name, items) for name, items in expected.items() if items]


def outcome(exchanges, text: str):
    """How the segmenter treated the interviewer turn containing ``text``."""
    for ex in exchanges:
        if text in ex.asked:
            return ex.question_id
        if any(text in f for f in ex.follow_ups):
            return ("follow-up", ex.question_id)
    return None


def check(path: Path, items, matcher) -> list[str]:
    exchanges, _ = segment(read_transcript(path), matcher)
    wrong = []
    for item in items:
        want = item["question_id"] if item["kind"] != "follow-up" else ("follow-up", item["question_id"])
        got = outcome(exchanges, item["asked_contains"])
        if got != want:
            wrong.append(f"{path.name}: {item['asked_contains']!r}: expected {want}, got {got}")
    return wrong


@pytest.mark.parametrize("path,items", labelled(SAMPLES), ids=lambda v: getattr(v, "name", ""))
def test_samples_are_segmented_and_matched(path, items, matcher):
    assert check(path, items, matcher) == []


def test_test_interviews_small_talk_and_off_bank_stay_unmatched(matcher):
    """Written for the tests, independently of the matcher: no small talk or off-bank turn is forced onto a question."""
    false = []
    for path, items in labelled(INTERVIEWS):
        exchanges, _ = segment(read_transcript(path), matcher)
        for item in items:
            if item["question_id"] is None and outcome(exchanges, item["asked_contains"]) is not None:
                false.append((path.name, item["asked_contains"]))
    assert false == []


def test_test_interviews_bank_questions_are_matched(matcher):
    """Every bank question asked in the interviews written for the tests, follow-ups included."""
    wrong = []
    total = 0
    for path, items in labelled(INTERVIEWS):
        total += sum(1 for i in items if i["question_id"])
        wrong += check(path, items, matcher)
    assert wrong == [], wrong
    assert total >= 15


def test_two_answers_to_one_question_are_joined(bank, matcher):
    from grader.transcripts import parse_transcript_text

    text = ("Interviewer: What is mode collapse in GANs and how do you fix it?\n"
            "Candidate: The generator only produces a few kinds of samples.\n"
            "Interviewer: Tell me about a project you're proud of.\n"
            "Candidate: I built a search engine for recipes.\n"
            "Interviewer: Back to GANs: what is mode collapse again, and what are the fixes?\n"
            "Candidate: Fixes include WGAN with a gradient penalty and minibatch discrimination.\n")
    exchanges, unmatched = segment(parse_transcript_text(text, "text"), matcher)
    matched = [e for e in exchanges if e.question_id]
    assert [e.question_id for e in matched] == ["q15"]
    assert "few kinds" in matched[0].answer and "WGAN" in matched[0].answer
    assert any("proud" in u["text"] for u in unmatched)


def test_batch_cli_writes_reports_and_summary(tmp_path):
    out = tmp_path / "reports"
    result = runner.invoke(app, ["batch", str(SAMPLES), "--output-dir", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    reports = sorted(p.name for p in out.glob("*.json"))
    # 6 files, 7 candidates: the cohort CSV holds two, each gets a report of their own
    assert "summary.json" in reports and "dana-lee.json" in reports and len(reports) == 8
    assert {"cohort-pairs-mia-torres.json", "cohort-pairs-ken-ito.json"} <= set(reports)
    ken = json.loads((out / "cohort-pairs-ken-ito.json").read_text())
    assert ken["candidate"] == "Ken Ito" and ken["source"].endswith("cohort-pairs.csv#Ken Ito")
    assert [a["question_id"] for a in ken["answers"] if a["question_id"]] == ["q03", "q15", "q13"]
    data = json.loads((out / "dana-lee.json").read_text())
    assert {"source", "candidate", "overall_score", "answers", "unmatched"} <= set(data)
    assert data["candidate"] == "Dana Lee"
    asked = [a["question_id"] for a in data["answers"]]
    assert [q for q in asked if q] == ["q09", "q11", "q13", "q17"]
    for answer in data["answers"]:
        assert {"question_id", "asked", "answer", "match_confidence"} <= set(answer)
        if answer["question_id"]:
            assert 0 <= answer["score"] <= 100 and answer["band"]
            assert {"keywords", "rouge", "bertscore"} <= set(answer["metrics"])
            assert isinstance(answer["feedback"], list)
    assert any("proud" in u["text"] for u in data["unmatched"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["transcripts"] == 7 and summary["failed"] == []
    assert {"n", "mean", "min", "max", "reviewed", "mentor_mean", "question", "topics"} <= set(
        summary["per_question"]["q09"])
    assert summary["per_question"]["q09"]["n"] == 3
    md = runner.invoke(app, ["batch", str(SAMPLES / "priya-nair.md"), "-o", str(out), "--format", "md"])
    assert md.exit_code == 0 and (out / "priya-nair.md").read_text().startswith("# Mock interview")


def test_one_broken_file_does_not_lose_the_batch(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(SAMPLES / "alex-chen.txt", inputs)
    shutil.copy(REPO / "tests" / "data" / "transcripts" / "bad-timing.vtt", inputs)
    out = tmp_path / "out"
    result = runner.invoke(app, ["batch", str(inputs), "--output-dir", str(out)])
    assert result.exit_code == EXIT_FINDINGS
    assert "bad-timing.vtt:" in result.output and "Traceback" not in result.output
    assert (out / "alex-chen.json").exists()
    assert not list(out.glob(".*.tmp"))
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["failed"]) == 1 and summary["transcripts"] == 1


def test_missing_input_is_reported(tmp_path):
    result = runner.invoke(app, ["batch", str(tmp_path / "nope.vtt"), str(SAMPLES / "alex-chen.txt"),
                                 "-o", str(tmp_path / "out"), "--metrics", "keywords,rouge"])
    assert result.exit_code == EXIT_FINDINGS
    assert "nope.vtt" in result.output and (tmp_path / "out" / "alex-chen.json").exists()


def test_fifty_transcripts_load_the_model_once_and_report_progress(tmp_path):
    """In a fresh process: 50 transcripts, one model load, progress reported up to the total."""
    folder = tmp_path / "cohort"
    folder.mkdir()
    for i in range(50):
        shutil.copy(SAMPLES / ["alex-chen.txt", "dana-lee.vtt", "jordan-reyes.json"][i % 3],
                    folder / f"c{i:02d}{[ '.txt', '.vtt', '.json'][i % 3]}")
    code = f"""
import json
from grader.batch import run_batch
from grader.scoring.engine import Grader
from grader.metrics import bertscore
seen = []
result = run_batch([{str(folder)!r}], Grader(), progress=lambda stage, done, total: seen.append((stage, done, total)))
grades = [s for s in seen if s[0] == "grade"]
print(json.dumps({{"loads": bertscore.MODEL_LOADS, "transcripts": len(result.transcripts),
                  "last": grades[-1], "steps": len(grades), "parsed": [s for s in seen if s[0] == "parse"][-1]}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["loads"] == 1
    assert data["transcripts"] == 50
    assert data["parsed"] == ["parse", 50, 50]
    assert data["last"][1] == data["last"][2] and data["steps"] > 1


@pytest.mark.parametrize("probe, named", [
    ("VQ-VAE: what is it, and why do people use it?", "q18"),
    ("And RLHF?", "q10"),
    ("What about top-k, why would you use it?", "q13"),
])
def test_a_short_turn_naming_another_bank_topic_starts_a_new_question(tmp_path, matcher, probe, named):
    path = tmp_path / "interview.txt"
    path.write_text(
        "Interviewer: How does a VAE work, and what is the ELBO?\n"
        "Candidate: The encoder outputs a mean and variance, we sample z with the reparameterization trick, and "
        "we maximise the ELBO, reconstruction minus the KL to the prior.\n"
        f"Interviewer: {probe}\n"
        "Candidate: It is a variant that uses a discrete codebook, the encoder outputs are snapped to the nearest "
        "code; it is also trained with a reconstruction loss like the VAE.\n", encoding="utf-8")
    exchanges, _ = segment(read_transcript(path), matcher)
    assert outcome(exchanges, probe) == named
    assert [e.question_id for e in exchanges] == ["q04", named]


def test_a_follow_up_that_names_no_other_topic_stays_a_follow_up(tmp_path, matcher):
    path = tmp_path / "interview.txt"
    path.write_text(
        "Interviewer: How does a VAE work, and what is the ELBO?\n"
        "Candidate: The encoder outputs a mean and variance and we maximise the ELBO.\n"
        "Interviewer: Why is that a lower bound?\n"
        "Candidate: Because the KL divergence is non-negative, so the ELBO never exceeds log p(x).\n",
        encoding="utf-8")
    exchanges, _ = segment(read_transcript(path), matcher)
    assert outcome(exchanges, "Why is that a lower bound?") == ("follow-up", "q04")
