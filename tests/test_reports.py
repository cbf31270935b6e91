"""Reports: HTML (escaped, offline, rendered in a real browser), CSV, versioned JSON schemas, mentor review,
agreement with mentors, and the progress history with concurrent writers."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import sqlite3
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.reports.csv_report import ANSWER_COLUMNS, CANDIDATE_COLUMNS
from grader.errors import EXIT_FINDINGS, EXIT_INPUT, EXIT_OUTPUT, EXIT_USAGE, InputError
from grader.reports.schemas import SCHEMAS, check, load_schema

from .conftest import REPO

runner = CliRunner()
LEX = ["--metrics", "keywords,rouge"]
SAMPLES = REPO / "samples"
MARKUP = ("LoRA freezes W and learns a low-rank update BA with r << d. <script>alert('x')</script> "
          "<img src=x onerror=alert(1)> & \"quotes\"; after training BA is merged into W, so no latency.")
NOW = "2025-03-01T09:30:00Z"


def invoke(*args, input=None, env=None):
    base = {"GRADER_HISTORY": "", "GRADER_NOW": ""}
    return runner.invoke(app, [str(a) for a in args], input=input, env={**base, **(env or {})})


def ok(result):
    assert result.exit_code == 0, result.output
    return result


def validate(data: dict, kind: str) -> None:
    """Both the published schema (with jsonschema) and grader's own reader accept the report."""
    jsonschema.Draft202012Validator(load_schema(kind)).validate(data)
    check(data, kind)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("reports")


@pytest.fixture(scope="module")
def single(work) -> Path:
    path = work / "single.json"
    ok(invoke("grade", "-q", "q09", "--answer", MARKUP, "-f", "json", "-o", path, *LEX))
    return path


@pytest.fixture(scope="module")
def batch_dir(work) -> Path:
    out = work / "batch"
    ok(invoke("batch", SAMPLES, "-o", out, "-f", "json", *LEX))
    return out


def transcripts(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.json") if p.name != "summary.json")


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- schemas


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_schema_files_are_valid_json_schema_and_versioned(kind):
    schema = load_schema(kind)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["schema_version"] == {"const": 1}
    assert schema["$id"].endswith(f"{SCHEMAS[kind]}.schema.json")


def test_schemas_are_package_data():
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert '"grader.data.schemas" = ["*.json"]' in pyproject and '"grader.data.schemas",' in pyproject


def test_every_json_report_validates(single, batch_dir, full_grader):
    validate(load(single), "question")
    validate(full_grader.grade("q09", MARKUP).to_dict(), "question")  # with BERTScore
    for path in transcripts(batch_dir):
        validate(load(path), "transcript")
    validate(load(batch_dir / "summary.json"), "summary")


@pytest.mark.parametrize("kind,change,field", [
    ("question", lambda d: d.pop("score"), "score"),
    ("question", lambda d: d.update(score=150), "score"),
    ("question", lambda d: d.update(schema_version=1, flags="empty"), "flags"),
    ("question", lambda d: d["metrics"]["rouge"]["rouge1"].update(f1="high"), "metrics.rouge.rouge1.f1"),
    ("question", lambda d: d.update(reviews=[{"grade": 50, "note": "", "reviewer": "A",
                                              "reviewed_at": "yesterday"}]), "reviews[0].reviewed_at"),
    ("question", lambda d: d.update(reviews=[{"grade": 50, "note": "", "reviewer": "A", "reviewed_at": NOW,
                                              "mood": "happy"}]), "reviews[0].mood"),
    ("transcript", lambda d: d["answers"][1].update(score="x"), "answers[1].score"),
    ("transcript", lambda d: d.pop("signature"), "signature"),
    ("summary", lambda d: d["per_candidate"][0].update(answers_graded=-1), "per_candidate[0].answers_graded"),
])
def test_broken_reports_are_refused_naming_the_field(single, batch_dir, kind, change, field):
    path = {"question": single, "transcript": batch_dir / "dana-lee.json", "summary": batch_dir / "summary.json"}
    data = load(path[kind])
    change(data)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(load_schema(kind)).validate(data)
    with pytest.raises(InputError) as caught:
        check(data, kind)
    assert f"[{field}]" in caught.value.one_line()


@pytest.mark.parametrize("content,expected", [
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "expected a JSON object"),
    (b'{"hello": 1}', "not a grader report"),
    (b'{"schema_version": 9, "question_id": "q09", "score": 1}', "schema version 9"),
    (None, "file not found"),
])
def test_report_command_refuses_bad_files(tmp_path, content, expected):
    path = tmp_path / "r.json"
    if content is not None:
        path.write_bytes(content)
    result = invoke("report", path, "-f", "md")
    assert result.exit_code == EXIT_INPUT
    assert expected in result.output and "r.json" in result.output and "Traceback" not in result.output


# --------------------------------------------------------------------------- HTML


def _hostile(kind: str, data: dict) -> dict:
    """Markup wherever a report carries free text: a name, a question, a note."""
    evil = "<script>alert(1)</script><b onmouseover=x>bold</b>"
    if kind == "transcript":
        data["candidate"] = evil
        data["answers"][1]["asked"] = evil
        data["answers"][1]["reviews"] = [{"grade": 50, "note": evil, "reviewer": evil, "reviewed_at": NOW}]
    elif kind == "summary":
        data["per_candidate"][0]["candidate"] = evil
        data["failed"] = [f"x.txt: {evil}"]
    else:
        data["reviews"] = [{"grade": 50, "note": evil, "reviewer": evil, "reviewed_at": NOW}]
    return data


@pytest.mark.parametrize("kind", ["question", "transcript", "summary"])
def test_html_shows_candidate_text_as_text(single, batch_dir, kind):
    from grader.reports.html import render_html

    path = {"question": single, "transcript": batch_dir / "dana-lee.json", "summary": batch_dir / "summary.json"}
    page = render_html(kind, _hostile(kind, load(path[kind])))
    assert "<script" not in page.lower() and "<img" not in page and "<b onmouseover" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    if kind == "question":
        assert "&lt;img src=x onerror=alert(1)&gt; &amp; &#34;quotes&#34;" in page


@pytest.mark.parametrize("kind", ["question", "transcript", "summary"])
def test_html_is_self_contained(single, batch_dir, kind):
    from grader.reports.html import render_html

    path = {"question": single, "transcript": batch_dir / "dana-lee.json", "summary": batch_dir / "summary.json"}
    page = render_html(kind, load(path[kind]))
    without_svg_ns = page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "http://" not in without_svg_ns and "https://" not in without_svg_ns
    local = r"#|[\w.-]+\.(html|json)[#\"]"  # an anchor, or a report beside this one (the cohort page's links)
    assert not re.search(rf"<(link|script|img|iframe|object)\b|<[^>]*\s(src=|href=\"(?!{local}))", page)
    assert "@import" not in page and "url(" not in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert page.count("<svg") >= (3 if kind == "transcript" else 2)
    if kind != "summary":
        assert "Coverage by topic" in page and "Metric breakdown" in page


def test_html_topics_and_highlights_come_from_the_bank_and_the_evidence(single):
    from grader.bank import load_bank
    from grader.reports.html import render_html
    from grader.reports.views import bank_topics

    topics = bank_topics(load_bank())
    page = render_html("question", load(single), topics)
    for tag in topics["q09"]:
        assert f"<span class=\"chip\">{tag}</span>" in page
    assert "<mark class=\"concept\" title=\"low-rank update\">low-rank</mark>" in page


def test_grade_and_batch_write_html_and_csv(tmp_path):
    html = tmp_path / "one.html"
    ok(invoke("grade", "-q", "q09", "--answer", MARKUP, "-f", "html", "-o", html, *LEX))
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    ok(invoke("batch", SAMPLES / "dana-lee.vtt", SAMPLES / "priya-nair.md", "-o", tmp_path / "h", "-f", "html", *LEX))
    assert sorted(p.name for p in (tmp_path / "h").iterdir()) == [  # the JSON beside the HTML: reviewable
        "dana-lee.html", "dana-lee.json", "priya-nair.html", "priya-nair.json", "summary.html", "summary.json",
        "summary.md"]
    ok(invoke("batch", SAMPLES / "dana-lee.vtt", SAMPLES / "priya-nair.md", "-o", tmp_path / "c", "-f", "csv", *LEX))
    assert {"answers.csv", "dana-lee.csv", "priya-nair.csv"} <= {p.name for p in (tmp_path / "c").iterdir()}
    bad = invoke("grade", "-q", "q09", "--answer", "x", "-f", "pdf", *LEX)
    assert bad.exit_code == EXIT_USAGE and "html" in bad.output and "csv" in bad.output


# --------------------------------------------------------------------------- CSV


def read_csv(text: str) -> tuple[list[str], list[dict]]:
    assert text.startswith("\ufeff")
    reader = csv.DictReader(io.StringIO(text[1:], newline=""))
    return list(reader.fieldnames), list(reader)


def test_csv_columns_are_stable():
    """A spreadsheet or script reading these files relies on the order: append, never reorder."""
    assert ANSWER_COLUMNS == (
        "source", "candidate", "number", "question_id", "question", "topics", "score", "band",
        "keyword_coverage", "concepts_matched", "concepts_total", "pitfalls",
        "rouge1_f1", "rouge2_f1", "rougeL_f1", "bertscore_precision", "bertscore_recall", "bertscore_f1",
        "semantic", "flags", "mentor_grade", "difference", "reviewer", "reviewed_at", "mentor_note", "asked",
        "answer", "errors", "kind", "judge_grade", "judge_notes")  # the LLM judge's: empty without --judge
    assert CANDIDATE_COLUMNS == ("candidate", "source", "overall_score", "answers_graded", "unmatched_turns")


@pytest.mark.parametrize("name", ["single", "dana-lee", "alex-chen", "cohort-pairs-ken-ito", "summary"])
def test_csv_reads_back(single, batch_dir, name):
    path = single if name == "single" else batch_dir / f"{name}.json"
    data = load(path)
    text = ok(invoke("report", path, "-f", "csv")).stdout
    header, rows = read_csv(text)
    if name == "summary":
        assert header == list(CANDIDATE_COLUMNS) and len(rows) == len(data["per_candidate"])
        assert [float(r["overall_score"]) for r in rows] == [c["overall_score"] for c in data["per_candidate"]]
        return
    assert header == list(ANSWER_COLUMNS)
    answers = [data] if name == "single" else data["answers"]
    assert len(rows) == len(answers)
    for row, answer in zip(rows, answers):
        assert row["question_id"] == (answer["question_id"] or "")
        assert (float(row["score"]) if row["score"] else None) == answer["score"]
        assert row["answer"] == answer["answer"]  # commas, quotes and newlines survive
        if answer.get("metrics", {}).get("rouge"):
            assert float(row["rouge1_f1"]) == answer["metrics"]["rouge"]["rouge1"]["f1"]


def test_csv_defuses_spreadsheet_formulas(tmp_path):
    path = tmp_path / "f.json"
    ok(invoke("grade", "-q", "q09", "--answer", "=HYPERLINK(\"http://x\")", "-f", "json", "-o", path, *LEX))
    _, rows = read_csv(ok(invoke("report", path, "-f", "csv")).stdout)
    assert rows[0]["answer"] == "'=HYPERLINK(\"http://x\")"


def test_batch_csv_has_every_answer_of_the_cohort(tmp_path):
    ok(invoke("batch", SAMPLES, "-o", tmp_path, "-f", "csv", *LEX))
    header, rows = read_csv((tmp_path / "answers.csv").read_text(encoding="utf-8"))
    summary = load(tmp_path / "summary.json")
    graded = [r for r in rows if r["score"]]
    assert header == list(ANSWER_COLUMNS)
    assert len(graded) == sum(q["n"] for q in summary["per_question"].values())
    assert {r["source"] for r in rows} == {c["source"] for c in summary["per_candidate"]}


# --------------------------------------------------------------------------- review


def test_review_round_trip(single, tmp_path):
    path = tmp_path / "r.json"
    shutil.copy(single, path)
    before = load(path)
    ok(invoke("review", path, "--grade", "72.5", "--note", "Good <i>intuition</i>", "--reviewer", "Ana Ruiz",
              "--now", NOW))
    after = load(path)
    validate(after, "question")
    assert {k: v for k, v in after.items() if k != "reviews"} == before  # automatic results untouched
    assert after["reviews"] == [{"grade": 72.5, "note": "Good <i>intuition</i>", "reviewer": "Ana Ruiz",
                                 "reviewed_at": NOW}]
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # atomic write left no temporary file

    diff = f"{72.5 - before['score']:+.1f}"
    md = ok(invoke("report", path, "-f", "md")).stdout
    assert "Mentor's grade: 72.5" in md and f"automatic {before['score']:.1f}" in md and diff in md
    assert "Good &lt;i&gt;intuition&lt;/i&gt;" in md and "<i>" not in md  # Markdown escapes HTML too
    page = ok(invoke("report", path, "-f", "html")).stdout
    assert "72.5" in page and diff in page and "Ana Ruiz" in page and "Good &lt;i&gt;intuition&lt;/i&gt;" in page
    _, rows = read_csv(ok(invoke("report", path, "-f", "csv")).stdout)
    assert float(rows[0]["mentor_grade"]) == 72.5 and float(rows[0]["score"]) == before["score"]
    assert float(rows[0]["difference"]) == round(72.5 - before["score"], 2)

    ok(invoke("review", path, "-g", "60", "-r", "Bo", "--now", "2025-03-02T10:00:00+01:00"))
    again = load(path)
    assert [r["grade"] for r in again["reviews"]] == [72.5, 60.0] and again["score"] == before["score"]
    assert again["reviews"][-1]["reviewed_at"] == "2025-03-02T09:00:00Z"
    _, rows = read_csv(ok(invoke("report", path, "-f", "csv")).stdout)
    assert float(rows[0]["mentor_grade"]) == 60.0 and rows[0]["reviewer"] == "Bo"


def test_review_transcript_by_question_and_number(batch_dir, tmp_path):
    path = tmp_path / "t.json"
    shutil.copy(batch_dir / "dana-lee.json", path)
    before = load(path)
    ambiguous = invoke("review", path, "--grade", "50", "-r", "Ana")
    assert ambiguous.exit_code == EXIT_INPUT and "--question" in ambiguous.output
    ok(invoke("review", path, "-q", "q13", "-g", "35", "--note", "top-p is a mass", "-r", "Ana", "--now", NOW))
    ok(invoke("review", path, "--number", "2", "-g", "90", "-r", "Ana", "--now", NOW))
    after = load(path)
    validate(after, "transcript")
    reviewed = {a["question_id"]: a["reviews"][-1]["grade"] for a in after["answers"] if a.get("reviews")}
    assert reviewed == {"q13": 35.0, "q09": 90.0}
    strip = [{k: v for k, v in a.items() if k != "reviews"} for a in after["answers"]]
    assert strip == before["answers"] and after["overall_score"] == before["overall_score"]
    md = ok(invoke("report", path, "-f", "md")).stdout
    assert "Mentor's grade: 35.0" in md and "top-p is a mass" in md


def test_review_interactively(batch_dir, tmp_path):
    path = tmp_path / "t.json"
    shutil.copy(batch_dir / "dana-lee.json", path)
    graded = [a for a in load(path)["answers"] if a["score"] is not None]
    # name; first answer: a bad grade, then 80 and a note; second: skipped; third: 40, no note; fourth: skipped
    result = ok(invoke("review", path, "--now", NOW, input="Ana\nlots\n80\nclear\n\n40\n\n\n"))
    assert "not a number" in result.output
    reviews = [(a["question_id"], a["reviews"]) for a in load(path)["answers"] if a.get("reviews")]
    assert reviews == [
        (graded[0]["question_id"], [{"grade": 80.0, "note": "clear", "reviewer": "Ana", "reviewed_at": NOW}]),
        (graded[2]["question_id"], [{"grade": 40.0, "note": "", "reviewer": "Ana", "reviewed_at": NOW}])]


@pytest.mark.parametrize("args,code,expected", [
    (["--grade", "101", "-r", "A"], EXIT_INPUT, "between 0 and 100"),
    (["--grade", "50"], EXIT_INPUT, "--reviewer"),
    (["--grade", "50", "-r", "A", "-q", "q01"], EXIT_INPUT, "questions in this report: q09"),
    (["--grade", "50", "-r", "A", "--number", "3"], EXIT_INPUT, "no graded answer number 3"),
    (["--note", "hi", "-r", "A"], EXIT_INPUT, "--note needs --grade"),
    (["--grade", "50", "-r", "A", "--now", "tomorrow"], EXIT_INPUT, "ISO 8601"),
    (["--grade", "50", "-r", "A", "-o", "DIR"], EXIT_OUTPUT, "is a directory"),
])
def test_review_errors(single, tmp_path, args, code, expected):
    path = tmp_path / "r.json"
    shutil.copy(single, path)
    args = [str(tmp_path) if a == "DIR" else a for a in args]
    result = invoke("review", path, *args)
    assert result.exit_code == code, result.output
    assert expected in result.output and "Traceback" not in result.output
    assert load(path) == load(single)


def test_summary_cannot_be_reviewed(batch_dir):
    result = invoke("review", batch_dir / "summary.json", "-g", "50", "-r", "A")
    assert result.exit_code == EXIT_INPUT and "summary report" in result.output


# --------------------------------------------------------------------------- agreement

MENTOR_GRADES = [35, 30, 90, 35, 0, 80, 45, 20, 60, 75, 10, 55]  # given in turn to the graded answers


@pytest.fixture(scope="module")
def reviewed_dir(batch_dir, work):
    """Four of the six transcripts reviewed answer by answer (by number, as a mentor going down the list)."""
    folder = work / "reviewed"
    shutil.copytree(batch_dir, folder)
    (folder / "notes.json").write_text('{"not": "a report"}', encoding="utf-8")
    grades = iter(MENTOR_GRADES * 10)
    for name in ("alex-chen", "dana-lee", "priya-nair", "sam-okafor"):
        answers = load(folder / f"{name}.json")["answers"]
        for number, answer in enumerate(answers, 1):
            if answer["score"] is not None:
                ok(invoke("review", folder / f"{name}.json", "-n", number, "-g", next(grades), "-r", "Ana",
                          "--now", NOW))
    return folder


def independent_pairs(folder: Path):
    """Straight from the JSON files: (question id, mentor, automatic, rouge-1 F1, keyword coverage)."""
    out = []
    for path in sorted(folder.glob("*.json")):
        data = load(path)
        for answer in data.get("answers", []):
            if answer.get("reviews"):
                m = answer["metrics"]
                out.append((answer["question_id"], answer["reviews"][-1]["grade"], answer["score"],
                            m["rouge"]["rouge1"]["f1"], m["keywords"]["coverage"]))
    return out


def test_agreement_matches_an_independent_computation(reviewed_dir):
    from scipy.stats import pearsonr

    data = json.loads(ok(invoke("agreement", reviewed_dir, "-f", "json")).stdout)
    validate(data, "agreement")
    pairs = independent_pairs(reviewed_dir)
    assert data["reviewed_answers"] == len(pairs) >= 8 and data["reports"] == 7  # 6 files, the cohort CSV split in two
    mentor = [p[1] for p in pairs]
    automatic = [p[2] for p in pairs]
    assert data["overall"]["pearson"] == pytest.approx(pearsonr(automatic, mentor)[0], abs=1e-4)
    assert data["overall"]["mean_difference"] == pytest.approx(statistics.mean(
        m - a for m, a in zip(mentor, automatic)), abs=0.01)
    metrics = {m["metric"]: m for m in data["by_metric"]}
    for index, key in ((3, "rouge1_f1"), (4, "keyword_coverage")):
        values = [p[index] for p in pairs]
        assert metrics[key]["pearson"] == pytest.approx(pearsonr(values, mentor)[0], abs=1e-4)
        assert metrics[key]["mean_difference"] == pytest.approx(
            statistics.mean(m - 100 * v for m, v in zip(mentor, values)), abs=0.01)
    by_question = {q["question_id"]: q for q in data["by_question"]}
    for qid in {p[0] for p in pairs}:
        group = [p for p in pairs if p[0] == qid]
        q = by_question[qid]
        assert q["n"] == len(group)
        assert q["mean_difference"] == pytest.approx(statistics.mean(p[1] - p[2] for p in group), abs=0.01)
        if len(group) > 1 and len({p[1] for p in group}) > 1 and len({p[2] for p in group}) > 1:
            assert q["pearson"] == pytest.approx(pearsonr([p[2] for p in group], [p[1] for p in group])[0],
                                                 abs=1e-4)
        else:
            assert q["pearson"] is None
    worst = max(pairs, key=lambda p: abs(p[1] - p[2]))
    assert data["disagreements"][0]["difference"] == pytest.approx(worst[1] - worst[2], abs=0.01)


def test_agreement_text_and_problems(reviewed_dir, tmp_path):
    text = ok(invoke("agreement", reviewed_dir)).stdout
    assert "By question" in text and "By metric" in text and "pearson" in text
    folder = tmp_path / "mixed"
    shutil.copytree(reviewed_dir, folder)
    (folder / "broken.json").write_text('{"schema_version": 1, "question_id": "q01", "score": "high"}')
    result = invoke("agreement", folder, "-f", "json")
    assert result.exit_code == EXIT_FINDINGS and "broken.json" in result.output
    assert json.loads(result.stdout)["reviewed_answers"] == len(independent_pairs(reviewed_dir))


def test_agreement_without_reviews(batch_dir, tmp_path):
    result = invoke("agreement", batch_dir)
    assert result.exit_code == EXIT_INPUT and "no reviewed answers" in result.output
    assert invoke("agreement", tmp_path / "nowhere").exit_code == EXIT_INPUT


def test_pearson_degenerate_cases():
    from grader.mentor.agreement import pearson

    assert pearson([], []) is None and pearson([1.0], [2.0]) is None and pearson([1, 1, 1], [1, 2, 3]) is None
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        pearson([1, 2], [1])


# --------------------------------------------------------------------------- history

ATTEMPTS = [  # (time, answer) for q09, worst first
    ("2025-03-01T09:00:00Z", "LoRA is a kind of fine-tuning."),
    ("2025-03-02T09:00:00Z", "LoRA freezes W and learns a low-rank update BA with r << d."),
    ("2025-03-03T09:00:00Z", "LoRA freezes W and learns a low-rank update BA with r << d; after training BA is "
                             "merged into W, so there is no extra latency."),
]


def test_history_records_lists_in_order_and_computes_the_trend(tmp_path):
    import numpy as np

    db = tmp_path / "h.sqlite3"
    scores = []
    for when, answer in ATTEMPTS:
        result = ok(invoke("grade", "-q", "q09", "--answer", answer, "-f", "json", "--record", "--history-db", db,
                           *LEX, env={"GRADER_NOW": when, "GRADER_CANDIDATE": "Lee"}))
        scores.append(json.loads(result.stdout)["score"])
    ok(invoke("grade", "-q", "q13", "--answer", "Temperature divides the logits.", "-f", "json", *LEX,
              env={"GRADER_HISTORY": "1", "GRADER_HISTORY_DB": str(db), "GRADER_NOW": "2025-03-04T09:00:00Z",
                   "GRADER_CANDIDATE": "Kim"}))
    data = json.loads(ok(invoke("history", "--history-db", db, "-f", "json")).stdout)
    validate(data, "history")
    assert [(a["candidate"], a["question_id"]) for a in data["attempts"]] == [("Lee", "q09")] * 3 + [("Kim", "q13")]
    assert [a["recorded_at"] for a in data["attempts"]] == [t for t, _ in ATTEMPTS] + ["2025-03-04T09:00:00Z"]
    lee = json.loads(ok(invoke("history", "--history-db", db, "-f", "json", "--candidate", "lee",
                               "--question", "q09")).stdout)
    (series,) = lee["series"]
    assert series["scores"] == scores and series["n"] == 3 and series["best"] == max(scores)
    assert series["slope"] == pytest.approx(np.polyfit(range(3), scores, 1)[0], abs=1e-3)
    assert scores[0] < scores[-1] and series["slope"] > 0
    assert len(series["sparkline"]) == 3 and set(series["sparkline"]) <= set("▁▂▃▄▅▆▇█")
    text = ok(invoke("history", "--history-db", db, "--question", "q09")).stdout
    assert series["sparkline"] in text and "/attempt" in text and "Lee" in text and "Kim" not in text
    page = ok(invoke("history", "--history-db", db, "-f", "html")).stdout
    assert "<svg" in page and 'aria-label="Lee: score over time' in page and "<g><title>q09</title>" in page


def test_history_is_opt_in(tmp_path):
    db = tmp_path / "h.sqlite3"
    ok(invoke("grade", "-q", "q09", "--answer", "LoRA", *LEX, env={"GRADER_HISTORY_DB": str(db)}))
    assert not db.exists()
    result = invoke("history", "--history-db", db)
    assert result.exit_code == EXIT_INPUT and "no history database" in result.output


def test_batch_and_practice_record(tmp_path):
    db = tmp_path / "h.sqlite3"
    ok(invoke("batch", SAMPLES / "dana-lee.vtt", "-o", tmp_path / "out", "--record", "--history-db", db, *LEX))
    ok(invoke("practice", "-q", "q13", "--record", "--history-db", db, *LEX,
              input="Temperature rescales the logits.\n\n", env={"GRADER_CANDIDATE": "Kim"}))
    data = json.loads(ok(invoke("history", "--history-db", db, "-f", "json")).stdout)
    summary = load(tmp_path / "out" / "summary.json")
    batch = [a for a in data["attempts"] if a["command"] == "batch"]
    assert {a["candidate"] for a in batch} == {"Dana Lee"}
    assert len(batch) == summary["per_candidate"][0]["answers_graded"]
    assert [(a["candidate"], a["question_id"]) for a in data["attempts"] if a["command"] == "practice"] == [
        ("Kim", "q13")]


def test_history_schema_migrations(tmp_path):
    from grader.mentor.history import MIGRATIONS, SCHEMA_VERSION, History

    old = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(old)
    conn.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
    conn.execute("INSERT INTO attempts (recorded_at, command, candidate, question_id, score, band) VALUES "
                 "('2024-01-01T00:00:00Z', 'grade', 'Lee', 'q09', 40, 'Partial')")
    conn.commit()
    conn.close()
    with History(old) as history:
        assert [a.score for a in history.attempts()] == [40.0]
    conn = sqlite3.connect(old)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    result = invoke("history", "--history-db", old)
    assert result.exit_code == EXIT_INPUT and "newer than this grader" in result.output
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not sqlite" * 100)
    result = invoke("history", "--history-db", junk)
    assert result.exit_code == EXIT_INPUT and "junk.sqlite3" in result.output


@pytest.mark.parametrize("values,expected", [([], None), ([50.0], None), ([10.0, 20.0, 30.0], 10.0),
                                             ([80.0, 60.0], -20.0), ([5.0, 5.0, 5.0, 5.0], 0.0)])
def test_slope(values, expected):
    from grader.mentor.history import slope

    assert slope(values) == (None if expected is None else pytest.approx(expected))


WRITER = """
import sys, time
from grader.mentor.history import Attempt, History
db, name, count, start = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
while time.time() < start:
    time.sleep(0.001)
for i in range(count):
    with History(db) as history:  # a fresh connection per attempt, like separate grade runs
        history.record([Attempt("2025-03-01T00:00:00Z", "grade", name, "q09", i % 101, "Weak", source=str(i))])
"""


def test_concurrent_writers_lose_nothing(tmp_path):
    db = tmp_path / "h.sqlite3"
    count = 250
    start = time.time() + 1.5
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(db), name, str(count), str(start)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in ("A", "B")]
    for proc in procs:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT candidate, source FROM attempts").fetchall()
    conn.close()
    assert len(rows) == 2 * count
    for name in ("A", "B"):
        assert sorted(int(s) for c, s in rows if c == name) == list(range(count))


def test_reports_stay_out_of_the_cli_start_up():
    """grader --help must not get slower: the report modules, sqlite3 and torch load only when used."""
    code = ("import sys, grader.cli; print(sorted(m for m in ('torch', 'sqlite3', 'grader.reports.html', "
            "'grader.mentor.history', 'grader.reports.csv_report', 'grader.mentor.agreement') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --------------------------------------------------------------------------- a real browser

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
                None)
BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]


def browse(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *BROWSER_FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
                          capture_output=True, text=True, timeout=120)


def png_size(path: Path) -> tuple[int, int]:
    raw = path.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", raw[16:24])


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (Debian: apt-get install -y chromium); "
                                              "the HTML reports are not checked in a browser")
def test_html_in_a_headless_browser(single, batch_dir, tmp_path):
    reviewed = tmp_path / "single.json"
    shutil.copy(single, reviewed)
    ok(invoke("review", reviewed, "-g", "70", "--note", "<script>alert(2)</script>", "-r", "Ana", "--now", NOW))
    pages = {}
    for name, source in (("single", reviewed), ("transcript", batch_dir / "dana-lee.json"),
                         ("summary", batch_dir / "summary.json")):
        pages[name] = tmp_path / f"{name}.html"
        ok(invoke("report", source, "-f", "html", "-o", pages[name]))
    for name, page in pages.items():
        result = browse(page, tmp_path / f"profile-{name}", "--dump-dom")
        assert result.returncode == 0, result.stderr[-2000:]
        console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
        assert console == [], f"{name}: browser console messages: {console}"
        dom = result.stdout
        assert "<main>" in dom and dom.count("<svg") >= 2 and "<script" not in dom.lower()
        if name == "single":
            assert "&lt;script&gt;alert('x')&lt;/script&gt;" in dom and "&lt;script&gt;alert(2)" in dom
        for width in (1280, 400):
            shot = tmp_path / f"{name}-{width}.png"
            result = browse(page, tmp_path / f"profile-{name}-{width}", f"--window-size={width},2000",
                            f"--screenshot={shot}")
            assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
            assert png_size(shot) == (width, 2000) and shot.stat().st_size > 10_000
