"""Never crash, never lose work, never trust input.

* Property-based tests (hypothesis): any text as an answer gives a valid report or our own error; every transcript
  parser fed arbitrary text or bytes raises nothing but TranscriptParseError with file and line; every JSON
  report round-trips. Example counts are fixed by the profiles in conftest.py (derandomised when CI is set).
* A bad-input matrix over every command of ``grader --help``: one clear line naming the file or field, the
  documented exit code, no traceback; a full disk leaves neither a partial report nor a temporary file.
* Offline: grading with BERTScore in a fresh process opens no network connection.
* Safe by construction: no unsafe YAML, pickle or eval in the package; YAML tags are refused.
* Interruption: Ctrl-C during a batch keeps every finished report, says what is left; --resume grades only that.
"""
from __future__ import annotations

import ast
import errno
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import typer
from hypothesis import example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import grader.batch
import grader.io
from grader.cli import app
from grader.errors import (EXIT_BANK, EXIT_CONFIG, EXIT_FINDINGS, EXIT_INPUT, EXIT_INTERRUPTED, EXIT_OUTPUT,
                           EXIT_USAGE, GraderError, InputError, TranscriptParseError)
from grader.reports.model import dumps
from grader.reports.schemas import load_schema
from grader.transcripts import FORMATS, parse_transcript_text, read_transcript

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
TRANSCRIPTS = REPO / "tests" / "data" / "transcripts"
LEX = ["--metrics", "keywords,rouge"]
ANSWER = "LoRA freezes W and learns a low-rank update BA; after training BA is merged into W, so no latency."
runner = CliRunner()

# --------------------------------------------------------------------------- strategies

#: Characters that break naive text handling: controls, bidi overrides, zero-width joiners, emoji, combining
#: marks, line and paragraph separators, a BOM, NUL, and scripts written right to left.
NASTY = ["\x00", "\x07", "\x1b[31m", "\r", "\r\n", "\t", "\u2028", "\u2029", "\u200b", "\u200d", "\u202e",
         "\u2066", "\ufeff", "\ufffd", "\U0001F600", "\U0001F469\u200d\U0001F4BB", "e\u0301",
         "\u05e9\u05dc\u05d5\u05dd",
         "\u0645\u0631\u062d\u0628\u0627", "\u4e2d\u6587", "LoRA", "low-rank", "W' = W + BA", "r << d", "σ(x)",
         "?", "!!!", "...", "--", "\\", "<script>", "{{", "}}", "%s", " ", "\n\n"]
answers = st.one_of(
    st.text(max_size=400),
    st.lists(st.sampled_from(NASTY), max_size=60).map("".join),
    st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=12)), max_size=40).map(" ".join),
    st.text(alphabet=st.characters(categories=("P", "S", "Z")), max_size=200),  # only punctuation and symbols
)
#: Text built from the characters transcript formats care about, so examples reach past the first check.
TRANSCRIPT_CHARS = list("WEBVTT0123456789:.,->\n\n \t{}[]\"'qQaA#*_<>v=Sam\r;") + [
    "Interviewer: ", "Candidate: ", "00:00:01.000 --> 00:00:04.000", "00:00:01,000 --> 00:00:04,000",
    '{"question": "', '", "answer": "', '{"speaker": "A", "text": "', "question,answer\n", "speaker,text\n",
    "---\n", "## ", "**Q:** ", "<v Sam>", "\ufeff", "\u202e", "\U0001F600", "What is LoRA?", "\x00"]
transcript_texts = st.one_of(st.text(max_size=300),
                             st.lists(st.sampled_from(TRANSCRIPT_CHARS), max_size=80).map("".join))
transcript_bytes = st.one_of(
    st.binary(max_size=300),
    transcript_texts.map(lambda t: t.encode("utf-8", "surrogatepass")),
    transcript_texts.map(lambda t: t.encode("utf-16", "surrogatepass")),
    transcript_texts.map(lambda t: t.encode("utf-16-le", "surrogatepass")),
    transcript_texts.map(lambda t: t.encode("latin-1", "replace")),
    transcript_texts.map(lambda t: b"\xef\xbb\xbf" + t.encode("utf-8", "surrogatepass")),
)


def validate(data: dict, kind: str) -> None:
    jsonschema.validate(data, load_schema(kind))


def round_trips(data: dict) -> bool:
    return json.loads(dumps(data)) == data


# --------------------------------------------------------------------------- answers: any text


def check_report(report) -> None:
    assert isinstance(report.score, float) and math.isfinite(report.score) and 0 <= report.score <= 100
    assert report.band in ("Excellent", "Good", "Partial", "Weak", "Not yet")
    data = report.to_dict()
    assert round_trips(data)
    validate(data, "question")


@given(answer=answers, qid=st.sampled_from(["q01", "q09", "q13", "q15", "q20"]))
@example(answer="\ud800 lone surrogate", qid="q09")
def test_any_text_gets_a_valid_report_or_our_error(lexical_grader, answer, qid):
    try:
        report = lexical_grader.grade(qid, answer)
    except GraderError as exc:
        assert exc.field == qid and exc.one_line()
        return
    check_report(report)


@pytest.mark.parametrize("answer,error", [
    ("", None),
    (" \n\t\u200b\u2028", None),
    ("\x00\x01\x02\x07\x1b[2J control characters", None),
    ("\u202eLoRA \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627 low-rank update", None),
    ("\U0001F600" * 2000 + " LoRA", None),
    ("\u200b\u200c\u200d\ufeff" * 500, None),
    ("?!.,;:-—()[]{}<>/\\|@#$%^&*~`'\"" * 100, None),
    (("LoRA learns a low-rank update BA merged into W. " * 2100)[:100_000], None),  # exactly the limit
    ("x" * 100_001, "the limit is 100,000"),
    ("LoRA \udce9 latin-1 byte from a command line", "not valid Unicode"),
], ids=["empty", "blank", "controls", "rtl", "emoji", "zero-width", "punctuation", "100k", "over-limit",
        "lone-surrogate"])
def test_degenerate_answers(lexical_grader, answer, error):
    if error is None:
        check_report(lexical_grader.grade("q09", answer))
    else:
        with pytest.raises(InputError, match=error) as info:
            lexical_grader.grade("q09", answer)
        assert info.value.field == "q09"


def test_degenerate_answers_with_bertscore(full_grader):
    """The real model: one batched pass over hostile answers, a 5,000-character one among them."""
    long = ("LoRA freezes the pretrained weight W and learns a low-rank update B A with rank r much smaller than "
            "d; after training the product is merged into W \U0001F600 \u202e. ") * 40
    hostile = ["", "\u200b\u200d\ufeff", "\x00\x07 \x1b[31m red", "?!.,;:" * 50, "\U0001F469\u200d\U0001F4BB" * 40,
               "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627 \u4e2d\u6587", long[:5000]]
    assert len(hostile[-1]) == 5000
    reports = full_grader.grade_many([("q09", a) for a in hostile])
    for report in reports:
        check_report(report)
        assert report.bertscore is not None
    assert reports[0].score == 0.0 and reports[-1].score > reports[3].score


@settings(max_examples=5)
@given(answer=answers)
def test_any_short_text_with_bertscore(full_grader, answer):
    try:
        check_report(full_grader.grade("q13", answer))
    except GraderError as exc:
        assert exc.field == "q13"


# --------------------------------------------------------------------------- transcripts: any text, any bytes


@given(text=transcript_texts, fmt=st.sampled_from(FORMATS))
def test_every_parser_fails_only_with_a_located_parse_error(text, fmt):
    try:
        transcript = parse_transcript_text(text, fmt, source="fuzz.txt")
    except TranscriptParseError as exc:
        assert exc.path == "fuzz.txt" and isinstance(exc.line, int) and exc.line >= 1, exc.one_line()
        return
    assert transcript.turns and transcript.format == fmt


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@given(data=transcript_bytes, suffix=st.sampled_from(["", ".txt", ".md", ".json", ".jsonl", ".csv", ".vtt",
                                                      ".srt"]))
@example(data=b"\xff\xfe\x00\xd8", suffix=".txt")  # UTF-16 BOM, then half a surrogate pair
@example(data=b"WEBVTT\n\n00:00:01.000 --> 00:00:00.500\nSam: hi\n", suffix=".vtt")
def test_read_transcript_on_any_bytes(fuzz_dir, data, suffix):
    path = fuzz_dir / f"input{suffix}"
    path.write_bytes(data)
    try:
        transcript = read_transcript(path)
    except TranscriptParseError as exc:
        assert exc.path == str(path) and isinstance(exc.line, int) and exc.line >= 1, exc.one_line()
        return
    assert transcript.turns


# --------------------------------------------------------------------------- batch reports round-trip


@given(answers=st.lists(answers, min_size=1, max_size=3), qids=st.lists(st.sampled_from(["q09", "q13", "q15"]),
                                                                         min_size=3, max_size=3),
       candidate=st.sampled_from(["Dana Lee", "\u05e9\u05dc\u05d5\u05dd", "O'Brien \U0001F600"]))
def test_batch_transcript_reports_round_trip(lexical_grader, fuzz_dir, answers, qids, candidate):
    questions = {q.id: q.question for q in lexical_grader.bank}
    lines = [{"question": questions[q], "answer": a, "candidate": candidate} for q, a in zip(qids, answers)]
    path = fuzz_dir / "cohort.json"
    path.write_text(json.dumps(lines), encoding="utf-8")
    result = grader.batch.run_batch([str(path)], lexical_grader)
    if result.failures:  # e.g. every answer empty: a clear parse error, never a crash
        assert all(isinstance(f, GraderError) for f in result.failures)
        return
    for t in result.transcripts:
        data = t.to_dict(result.signature)
        assert round_trips(data)
        validate(data, "transcript")
    summary = result.summary()
    assert round_trips(summary)
    validate(summary, "summary")


# --------------------------------------------------------------------------- the bad-input matrix


def _calibration(**change) -> str:
    from grader.scoring.calibration import _checksum, dump_calibration

    payload = json.loads(dump_calibration(["rouge1_recall"], [50.0], 10.0, 5.0, 6, {"pearson": 0.5},
                                          {"file": "x.csv"}))
    payload.update(change)
    payload["checksum"] = _checksum(payload)
    return json.dumps(payload)


@pytest.fixture(scope="module")
def bad(tmp_path_factory, lexical_grader) -> Path:
    """Every kind of broken input, built once: D/<name>."""
    from grader.bank import bundled_bank_dir
    from grader.mentor.history import History

    d = tmp_path_factory.mktemp("bad")
    (d / "adir").mkdir()
    (d / "file.txt").write_text("a regular file", encoding="utf-8")
    files = {
        "latin1.txt": "café LoRA".encode("latin-1"),
        "binary.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "utf16.txt": ANSWER.encode("utf-16"),
        "utf16-nobom.txt": ANSWER.encode("utf-16-le"),
        "bom.txt": b"\xef\xbb\xbf" + ANSWER.encode(),
        "empty.txt": b"",
        # weights (grader/data/weights.yaml is the valid one)
        "weights-malformed.yaml": b"version: 1\nsemantic_features: [unclosed\n",
        "weights-python.yaml": f"!!python/object/apply:os.mkdir ['{d}/pwned-weights']\n".encode(),
        "weights-latin1.yaml": "version: 1 # café\n".encode("latin-1"),
        "weights-list.yaml": b"- 1\n- 2\n",
        # calibrations
        "cal-malformed.json": _calibration()[:40].encode(),
        "cal-tampered.json": _calibration().replace('"intercept": 10.0', '"intercept": 99.0').encode(),
        "cal-newer.json": _calibration(version=99).encode(),
        "cal-foreign.json": b'{"format": "something-else"}',
        # human-graded data sets
        "data-missing-column.csv": b"id,question,student_answer,score_avg\nq1,Q?,A,3\n",
        "data-bad-score.csv": b"id,question,desired_answer,student_answer,score_avg\nq1,Q?,R,A,high\n",
        "data-header-only.csv": b"id,question,desired_answer,student_answer,score_avg\n",
        "data-utf16.csv": "id,question,desired_answer,student_answer,score_avg\nq09,Q?,low rank update,low rank,4\n"
                          "q09,Q?,low rank update,nothing,1\nq13,Q?,top p nucleus,nucleus,3\n".encode("utf-16"),
        # tables for grader score
        "table-ok.csv": b"id,question_id,answer\na1,q09,LoRA learns a low-rank update BA.\n",
        "table-bad-row.csv": b"id,question_id,answer\na1,q09,LoRA learns a low-rank update BA.\na2,q99,x\n",
        "table-utf16.csv": "id,question_id,answer\na1,q09,LoRA learns a low-rank update BA.\n".encode("utf-16"),
        "table-empty.csv": b"",
        "table-header-only.csv": b"id,question_id,answer\n",
        "table-binary.csv": b"PK\x03\x04" + bytes(60) + b"xl/worksheets/sheet1.xml" + bytes(40),
        "table-unclosed.csv": b'id,question_id,answer\na1,q09,"never closed\na2,q09,x\n',
        "table-missing-key.jsonl": b'{"id": "a1", "answer": "x"}\n',
        # saved reports
        "report-malformed.json": b'{"schema_version": 1, "question_id": "q09", ',
        "report-foreign.json": b'{"name": "not a report"}',
        "report-newer.json": json.dumps({**lexical_grader.grade("q09", ANSWER).to_dict(),
                                         "schema_version": 2}).encode(),
        "report-broken-field.json": json.dumps({**lexical_grader.grade("q09", ANSWER).to_dict(),
                                                "score": "high"}).encode(),
        "report-utf16.json": dumps(lexical_grader.grade("q09", ANSWER).to_dict()).encode("utf-16"),
        # history databases
        "history-garbage.sqlite3": b"this is not a database" * 100,
    }
    for name, data in files.items():
        (d / name).write_bytes(data)
    weights = (REPO / "grader" / "data" / "weights.yaml").read_text(encoding="utf-8")
    (d / "weights-invalid.yaml").write_text(weights.replace("keyword_weight:", "keyword_weight: 2 #"),
                                            encoding="utf-8")
    (d / "weights-newer.yaml").write_text(weights.replace("version: 1", "version: 2"), encoding="utf-8")
    assert (d / "weights-invalid.yaml").read_text() != weights != (d / "weights-newer.yaml").read_text()
    with History(d / "history.sqlite3"):
        pass
    with History(d / "history-newer.sqlite3"):
        pass
    with sqlite3.connect(d / "history-newer.sqlite3") as conn:
        conn.execute("PRAGMA user_version = 99")
    shutil.copytree(TRANSCRIPTS, d / "t")
    from grader.mentor.review import add_review, select

    graded = lexical_grader.grade("q09", ANSWER).to_dict()
    reviewed = add_review("question", graded, select("question", graded)[0], grade=70.0, note="fine",
                          reviewer="Ana", reviewed_at="2026-01-01T00:00:00Z")
    for folder in ("agree", "agree-ok"):
        (d / folder).mkdir()
        (d / folder / "reviewed.json").write_text(dumps(reviewed), encoding="utf-8")
    (d / "agree" / "broken.json").write_bytes(b'{"schema_version": 1, "answers": [')
    src = bundled_bank_dir()
    breaks = {"malformed": ("references/q01.yaml", b"id: q01\nquestion: [unclosed\n"),
              "python-tag": ("rubrics/q09.yaml", f"!!python/object/apply:os.mkdir ['{d}/pwned-bank']\n".encode()),
              "latin1": ("references/q01.yaml", "id: q01\nquestion: café?\n".encode("latin-1")),
              "utf16": ("references/q01.yaml", (src / "references" / "q01.yaml").read_text().encode("utf-16")),
              "empty": ("references/q01.yaml", b""),
              "bad-field": ("rubrics/q09.yaml", b"question: q09\nconcepts:\n  - name: x\n    weight: -1\n"
                                                b"    synonyms: [x]\n")}
    for name, (rel, data) in breaks.items():
        shutil.copytree(src / "references", d / "banks" / name / "references")
        shutil.copytree(src / "rubrics", d / "banks" / name / "rubrics")
        (d / "banks" / name / rel).write_bytes(data)
    (d / "banks" / "no-references").mkdir(parents=True)
    return d


G = ["grade", "-q", "q09", *LEX]
B = ["batch", *LEX, "-o", "{O}/out"]
S = ["score", *LEX, "-o", "{O}/out.jsonl"]
E = ["evaluate", *LEX, "--dataset"]
C = ["calibrate", "--out", "{O}/cal.json", "--dataset"]
P = ["practice", *LEX]
R = ["review", "--grade", "70", "--reviewer", "Ana", "--output", "{O}/reviewed.json"]
H = ["history", "--history-db"]
CSV = str(REPO / "tests" / "data" / "graded-small.csv")
OK = 0

#: (id, command line, exit code, text the error must contain). {D}: the bad inputs, {O}: a fresh folder.
MATRIX = [
    # questions
    ("questions-bank-missing", ["questions", "--bank", "{D}/nope"], EXIT_BANK, "nope"),
    ("questions-bank-is-file", ["questions", "--bank", "{D}/file.txt"], EXIT_BANK, "file.txt"),
    ("questions-bank-malformed-yaml", ["questions", "--bank", "{D}/banks/malformed"], EXIT_BANK, "q01.yaml:3"),
    ("questions-bank-python-tag", ["questions", "--bank", "{D}/banks/python-tag"], EXIT_BANK, "q09.yaml"),
    ("questions-bank-not-utf8", ["questions", "--bank", "{D}/banks/latin1"], EXIT_BANK, "q01.yaml:2"),
    ("questions-bank-utf16", ["questions", "--bank", "{D}/banks/utf16"], EXIT_BANK, "q01.yaml"),
    ("questions-bank-empty-file", ["questions", "--bank", "{D}/banks/empty"], EXIT_BANK, "q01.yaml"),
    ("questions-bank-invalid-field", ["questions", "--bank", "{D}/banks/bad-field"], EXIT_BANK, "weight"),
    ("questions-bank-no-references", ["questions", "--bank", "{D}/banks/no-references"], EXIT_BANK, "references"),
    ("questions-bad-format", ["questions", "--format", "pdf"], EXIT_USAGE, "--format"),
    # grade
    ("grade-answer-missing", [*G, "--answer-file", "{D}/nope.txt"], EXIT_INPUT, "nope.txt"),
    ("grade-answer-is-dir", [*G, "--answer-file", "{D}/adir"], EXIT_INPUT, "adir"),
    ("grade-answer-unreadable", [*G, "--answer-file", "{D}/file.txt/answer.txt"], EXIT_INPUT, "file.txt"),
    ("grade-answer-not-utf8", [*G, "--answer-file", "{D}/latin1.txt"], EXIT_INPUT, "latin1.txt:1"),
    ("grade-answer-binary", [*G, "--answer-file", "{D}/binary.txt"], EXIT_INPUT, "binary.txt"),
    ("grade-answer-utf16-no-bom", [*G, "--answer-file", "{D}/utf16-nobom.txt"], EXIT_INPUT, "utf16-nobom.txt"),
    ("grade-answer-utf16", [*G, "--answer-file", "{D}/utf16.txt"], OK, ""),
    ("grade-answer-bom", [*G, "--answer-file", "{D}/bom.txt"], OK, ""),
    ("grade-answer-empty", [*G, "--answer-file", "{D}/empty.txt"], OK, ""),
    ("grade-answer-endless-device", [*G, "--answer-file", "/dev/zero"], EXIT_INPUT, "/dev/zero"),
    ("grade-answer-argv-not-utf8", [*G, "--answer", "caf\udce9"], EXIT_INPUT, "--answer"),
    ("grade-unknown-question", ["grade", "-q", "q99", "--answer", "x", *LEX], EXIT_INPUT, "99"),
    ("grade-unknown-metric", ["grade", "-q", "q09", "--answer", "x", "--metrics", "bleu"], EXIT_CONFIG, "metrics"),
    ("grade-bad-format", [*G, "--answer", "x", "--format", "pdf"], EXIT_USAGE, "--format"),
    ("grade-weights-missing", [*G, "--answer", "x", "--weights", "{D}/nope.yaml"], EXIT_CONFIG, "nope.yaml"),
    ("grade-weights-is-dir", [*G, "--answer", "x", "--weights", "{D}/adir"], EXIT_CONFIG, "adir"),
    ("grade-weights-malformed", [*G, "--answer", "x", "--weights", "{D}/weights-malformed.yaml"], EXIT_CONFIG,
     "weights-malformed.yaml"),
    ("grade-weights-python-tag", [*G, "--answer", "x", "--weights", "{D}/weights-python.yaml"], EXIT_CONFIG,
     "weights-python.yaml"),
    ("grade-weights-not-utf8", [*G, "--answer", "x", "--weights", "{D}/weights-latin1.yaml"], EXIT_CONFIG,
     "weights-latin1.yaml"),
    ("grade-weights-empty", [*G, "--answer", "x", "--weights", "{D}/empty.txt"], EXIT_CONFIG, "empty.txt"),
    ("grade-weights-not-mapping", [*G, "--answer", "x", "--weights", "{D}/weights-list.yaml"], EXIT_CONFIG,
     "weights-list.yaml"),
    ("grade-weights-invalid-value", [*G, "--answer", "x", "--weights", "{D}/weights-invalid.yaml"], EXIT_CONFIG,
     "[keyword_weight]"),
    ("grade-weights-newer-version", [*G, "--answer", "x", "--weights", "{D}/weights-newer.yaml"], EXIT_CONFIG,
     "[version]"),
    ("grade-weights-endless-device", [*G, "--answer", "x", "--weights", "/dev/zero"], EXIT_CONFIG, "/dev/zero"),
    ("grade-calibration-missing", [*G, "--answer", "x", "--calibration", "{D}/nope.json"], EXIT_CONFIG,
     "nope.json"),
    ("grade-calibration-is-dir", [*G, "--answer", "x", "--calibration", "{D}/adir"], EXIT_CONFIG, "adir"),
    ("grade-calibration-malformed", [*G, "--answer", "x", "--calibration", "{D}/cal-malformed.json"], EXIT_CONFIG,
     "cal-malformed.json:"),
    ("grade-calibration-tampered", [*G, "--answer", "x", "--calibration", "{D}/cal-tampered.json"], EXIT_CONFIG,
     "[checksum]"),
    ("grade-calibration-newer", [*G, "--answer", "x", "--calibration", "{D}/cal-newer.json"], EXIT_CONFIG,
     "[version]"),
    ("grade-calibration-foreign", [*G, "--answer", "x", "--calibration", "{D}/cal-foreign.json"], EXIT_CONFIG,
     "[format]"),
    ("grade-calibration-not-utf8", [*G, "--answer", "x", "--calibration", "{D}/latin1.txt"], EXIT_CONFIG,
     "latin1.txt"),
    ("grade-calibration-endless-device", [*G, "--answer", "x", "--calibration", "/dev/zero"], EXIT_CONFIG,
     "/dev/zero"),
    ("grade-bank-broken", [*G, "--answer", "x", "--bank", "{D}/banks/malformed"], EXIT_BANK, "q01.yaml"),
    ("grade-output-unwritable", [*G, "--answer", "x", "-o", "{D}/file.txt/report.md"], EXIT_OUTPUT, "file.txt"),
    ("grade-output-is-dir", [*G, "--answer", "x", "-o", "{D}/adir"], EXIT_OUTPUT, "adir"),
    # batch
    ("batch-missing", [*B, "{D}/nope.vtt"], EXIT_INPUT, "nope.vtt"),
    ("batch-empty-folder", [*B, "{D}/adir"], EXIT_INPUT, "adir"),
    ("batch-unreadable", [*B, "{D}/file.txt/x.vtt"], EXIT_INPUT, "file.txt"),
    ("batch-no-glob-match", [*B, "{D}/*.nothing"], EXIT_INPUT, "*.nothing"),
    ("batch-not-utf8", [*B, "{D}/t/latin1.txt"], EXIT_INPUT, "latin1.txt:3"),
    ("batch-binary", [*B, "{D}/t/binary.txt"], EXIT_INPUT, "binary.txt:"),
    ("batch-utf16-no-bom", [*B, "{D}/t/utf16-nobom.txt"], EXIT_INPUT, "utf16-nobom.txt:1"),
    ("batch-utf16", [*B, "{D}/t/utf16-le.txt"], OK, ""),
    ("batch-utf16-vtt", [*B, "{D}/t/utf16-be.vtt"], OK, ""),
    ("batch-bom", [*B, "{D}/t/bom-utf8.txt"], OK, ""),
    ("batch-endless-device", [*B, "--input-format", "text", "/dev/zero"], EXIT_INPUT, "/dev/zero"),
    ("batch-empty", [*B, "{D}/t/empty.txt"], EXIT_INPUT, "empty.txt:1"),
    ("batch-malformed-vtt", [*B, "{D}/t/bad-timing.vtt"], EXIT_INPUT, "bad-timing.vtt:8"),
    ("batch-vtt-no-header", [*B, "{D}/t/no-header.vtt"], EXIT_INPUT, "no-header.vtt:1"),
    ("batch-malformed-srt", [*B, "{D}/t/bad-index.srt"], EXIT_INPUT, "bad-index.srt:5"),
    ("batch-malformed-json", [*B, "{D}/t/bad.json"], EXIT_INPUT, "bad.json:"),
    ("batch-malformed-jsonl", [*B, "{D}/t/bad.jsonl"], EXIT_INPUT, "bad.jsonl:"),
    ("batch-malformed-csv", [*B, "{D}/t/unclosed-quote.csv"], EXIT_INPUT, "unclosed-quote.csv:3"),
    ("batch-csv-wrong-columns", [*B, "{D}/t/missing-columns.csv"], EXIT_INPUT, "missing-columns.csv:1"),
    ("batch-malformed-markdown", [*B, "{D}/t/unclosed-front-matter.md"], EXIT_INPUT, "unclosed-front-matter.md:1"),
    ("batch-unknown-candidate", [*B, "--candidate", "Nobody", str(SAMPLES / "alex-chen.txt")], EXIT_INPUT,
     "Nobody"),
    ("batch-unknown-input-format", [*B, "--input-format", "docx", "{D}/t/bom-utf8.txt"], EXIT_INPUT,
     "--input-format"),
    ("batch-bad-format", [*B, "--format", "pdf", "{D}/t/bom-utf8.txt"], EXIT_USAGE, "--format"),
    ("batch-weights-invalid", [*B, "--weights", "{D}/weights-invalid.yaml", "{D}/t/bom-utf8.txt"], EXIT_CONFIG,
     "[keyword_weight]"),
    ("batch-calibration-tampered", [*B, "--calibration", "{D}/cal-tampered.json", "{D}/t/bom-utf8.txt"],
     EXIT_CONFIG, "[checksum]"),
    ("batch-bank-broken", [*B, "--bank", "{D}/banks/python-tag", "{D}/t/bom-utf8.txt"], EXIT_BANK, "q09.yaml"),
    ("batch-output-unwritable", ["batch", *LEX, "-o", "{D}/file.txt/out", "{D}/t/bom-utf8.txt"], EXIT_OUTPUT,
     "file.txt"),
    ("batch-output-is-file", ["batch", *LEX, "-o", "{D}/file.txt", "{D}/t/bom-utf8.txt"], EXIT_OUTPUT, "file.txt"),
    ("batch-unknown-engine", [*B, "--engine", "spark", "{D}/t/bom-utf8.txt"], EXIT_USAGE, "--engine"),
    ("batch-address-without-ray", [*B, "--address", "auto", "{D}/t/bom-utf8.txt"], EXIT_USAGE, "--address"),
    ("batch-unknown-device", [*B, "--device", "tpu", "{D}/t/bom-utf8.txt"], EXIT_CONFIG, "[--device]"),
    # score
    ("score-missing", [*S, "{D}/nope.csv"], EXIT_INPUT, "nope.csv"),
    ("score-is-dir", [*S, "{D}/adir"], EXIT_INPUT, "adir"),
    ("score-unreadable", [*S, "{D}/file.txt/t.csv"], EXIT_INPUT, "file.txt"),
    ("score-unknown-table-type", [*S, "{D}/latin1.txt"], EXIT_INPUT, "latin1.txt"),
    ("score-endless-device", [*S, "/dev/zero"], EXIT_INPUT, "/dev/zero"),
    ("score-empty", [*S, "{D}/table-empty.csv"], EXIT_INPUT, "table-empty.csv:1"),
    ("score-header-only", [*S, "{D}/table-header-only.csv"], EXIT_INPUT, "table-header-only.csv:1"),
    ("score-missing-column", [*S, "{D}/data-missing-column.csv"], EXIT_INPUT, "--question-col"),
    ("score-binary", [*S, "{D}/table-binary.csv"], EXIT_INPUT, "table-binary.csv:1"),
    ("score-unclosed-quote", [*S, "{D}/table-unclosed.csv"], EXIT_INPUT, "table-unclosed.csv:2"),
    ("score-jsonl-missing-key", [*S, "{D}/table-missing-key.jsonl"], EXIT_INPUT, "table-missing-key.jsonl:1"),
    ("score-bad-row", [*S, "{D}/table-bad-row.csv"], EXIT_FINDINGS, "table-bad-row.csv:3"),
    ("score-utf16", [*S, "{D}/table-utf16.csv"], OK, ""),
    ("score-unknown-engine", [*S, "--engine", "spark", "{D}/table-ok.csv"], EXIT_USAGE, "--engine"),
    ("score-workers-without-ray", [*S, "--workers", "2", "{D}/table-ok.csv"], EXIT_USAGE, "--workers"),
    ("score-bad-chunk-size", [*S, "--chunk-size", "0", "{D}/table-ok.csv"], EXIT_USAGE, "--chunk-size"),
    ("score-unknown-device", [*S, "--device", "tpu", "{D}/table-ok.csv"], EXIT_CONFIG, "[--device]"),
    ("score-unknown-metric", ["score", "--metrics", "bleu", "-o", "{O}/o.jsonl", "{D}/table-ok.csv"], EXIT_CONFIG,
     "metrics"),
    ("score-weights-invalid", [*S, "--weights", "{D}/weights-invalid.yaml", "{D}/table-ok.csv"], EXIT_CONFIG,
     "[keyword_weight]"),
    ("score-bank-broken", [*S, "--bank", "{D}/banks/python-tag", "{D}/table-ok.csv"], EXIT_BANK, "q09.yaml"),
    ("score-output-unwritable", ["score", *LEX, "-o", "{D}/file.txt/o.jsonl", "{D}/table-ok.csv"], EXIT_OUTPUT,
     "file.txt"),
    ("score-output-is-dir", ["score", *LEX, "-o", "{D}/adir", "{D}/table-ok.csv"], EXIT_OUTPUT, "adir"),
    # evaluate
    ("evaluate-missing", [*E, "{D}/nope.csv"], EXIT_INPUT, "nope.csv"),
    ("evaluate-is-dir", [*E, "{D}/adir"], EXIT_INPUT, "adir"),
    ("evaluate-unreadable", [*E, "{D}/file.txt/data.csv"], EXIT_INPUT, "file.txt"),
    ("evaluate-not-utf8", [*E, "{D}/latin1.txt"], EXIT_INPUT, "latin1.txt:1"),
    ("evaluate-empty", [*E, "{D}/empty.txt"], EXIT_INPUT, "empty.txt:1"),
    ("evaluate-missing-column", [*E, "{D}/data-missing-column.csv"], EXIT_INPUT, "desired_answer"),
    ("evaluate-bad-score", [*E, "{D}/data-bad-score.csv"], EXIT_INPUT, "data-bad-score.csv:2 [score_avg]"),
    ("evaluate-no-rows", [*E, "{D}/data-header-only.csv"], EXIT_INPUT, "data-header-only.csv:1"),
    ("evaluate-utf16", [*E, "{D}/data-utf16.csv"], OK, ""),
    ("evaluate-bad-exemplars", [*E, CSV, "--exemplars", "-1"], EXIT_INPUT, "--exemplars"),
    ("evaluate-bad-max-score", [*E, CSV, "--max-score", "0"], EXIT_INPUT, "--max-score"),
    ("evaluate-weights-invalid", [*E, CSV, "--weights", "{D}/weights-invalid.yaml"], EXIT_CONFIG,
     "[keyword_weight]"),
    ("evaluate-calibration-newer", [*E, CSV, "--calibration", "{D}/cal-newer.json"], EXIT_CONFIG, "[version]"),
    ("evaluate-predictions-unwritable", [*E, CSV, "--predictions", "{D}/file.txt/p.csv"], EXIT_OUTPUT,
     "file.txt"),
    # calibrate (every case fails before the model loads)
    ("calibrate-missing", [*C, "{D}/nope.csv"], EXIT_INPUT, "nope.csv"),
    ("calibrate-is-dir", [*C, "{D}/adir"], EXIT_INPUT, "adir"),
    ("calibrate-not-utf8", [*C, "{D}/latin1.txt"], EXIT_INPUT, "latin1.txt:1"),
    ("calibrate-empty", [*C, "{D}/empty.txt"], EXIT_INPUT, "empty.txt"),
    ("calibrate-missing-column", [*C, "{D}/data-missing-column.csv"], EXIT_INPUT, "desired_answer"),
    ("calibrate-unknown-feature", [*C, CSV, "--features", "vibes"], EXIT_INPUT, "--features"),
    ("calibrate-negative-alpha", [*C, CSV, "--alpha", "-1"], EXIT_INPUT, "--alpha"),
    ("calibrate-weights-newer", [*C, CSV, "--weights", "{D}/weights-newer.yaml"], EXIT_CONFIG, "[version]"),
    ("calibrate-out-unwritable", ["calibrate", "--dataset", CSV, "--out", "{D}/file.txt/cal.json"], EXIT_OUTPUT,
     "file.txt"),
    ("calibrate-out-is-dir", ["calibrate", "--dataset", CSV, "--out", "{D}/adir"], EXIT_OUTPUT, "adir"),
    # practice
    ("practice-bank-missing", [*P, "--bank", "{D}/nope"], EXIT_BANK, "nope"),
    ("practice-bank-broken", [*P, "--bank", "{D}/banks/latin1"], EXIT_BANK, "q01.yaml"),
    ("practice-unknown-question", [*P, "-q", "q99"], EXIT_INPUT, "99"),
    ("practice-unknown-topic", [*P, "--topic", "astrology"], EXIT_INPUT, "--topic"),
    ("practice-unknown-metric", ["practice", "--metrics", "bleu"], EXIT_CONFIG, "metrics"),
    # bank check: findings are listed (exit 1); a bank that cannot be read at all is exit 4
    ("bank-check-missing", ["bank", "check", "{D}/nope"], EXIT_BANK, "nope"),
    ("bank-check-is-file", ["bank", "check", "{D}/file.txt"], EXIT_BANK, "file.txt"),
    ("bank-check-unreadable", ["bank", "check", "{D}/file.txt/bank"], EXIT_BANK, "file.txt"),
    ("bank-check-no-references", ["bank", "check", "{D}/banks/no-references"], EXIT_BANK, "references"),
    ("bank-check-malformed-yaml", ["bank", "check", "{D}/banks/malformed"], EXIT_FINDINGS, "q01.yaml:3"),
    ("bank-check-python-tag", ["bank", "check", "{D}/banks/python-tag"], EXIT_FINDINGS, "q09.yaml:1"),
    ("bank-check-not-utf8", ["bank", "check", "{D}/banks/latin1"], EXIT_FINDINGS, "q01.yaml:2"),
    ("bank-check-utf16", ["bank", "check", "{D}/banks/utf16"], EXIT_FINDINGS, "q01.yaml"),
    ("bank-check-empty-file", ["bank", "check", "{D}/banks/empty"], EXIT_FINDINGS, "q01.yaml"),
    ("bank-check-invalid-field", ["bank", "check", "{D}/banks/bad-field"], EXIT_FINDINGS, "q09.concepts[0].weight"),
    # rubric suggest
    ("rubric-reference-missing", ["rubric", "suggest", "--reference-file", "{D}/nope.txt"], EXIT_INPUT, "nope.txt"),
    ("rubric-reference-is-dir", ["rubric", "suggest", "--reference-file", "{D}/adir"], EXIT_INPUT, "adir"),
    ("rubric-reference-not-utf8", ["rubric", "suggest", "--reference-file", "{D}/latin1.txt"], EXIT_INPUT,
     "latin1.txt:1"),
    ("rubric-reference-binary", ["rubric", "suggest", "--reference-file", "{D}/binary.txt"], EXIT_INPUT,
     "binary.txt"),
    ("rubric-reference-empty", ["rubric", "suggest", "--reference-file", "{D}/empty.txt"], EXIT_INPUT,
     "empty.txt"),
    ("rubric-reference-utf16", ["rubric", "suggest", "--reference-file", "{D}/utf16.txt"], OK, ""),
    ("rubric-unknown-question", ["rubric", "suggest", "-q", "q99"], EXIT_INPUT, "99"),
    ("rubric-no-source", ["rubric", "suggest"], EXIT_INPUT, "--question"),
    ("rubric-bank-broken", ["rubric", "suggest", "-q", "q09", "--bank", "{D}/banks/empty"], EXIT_BANK, "q01.yaml"),
    # review
    ("review-missing", [*R, "{D}/nope.json"], EXIT_INPUT, "nope.json"),
    ("review-is-dir", [*R, "{D}/adir"], EXIT_INPUT, "adir"),
    ("review-unreadable", [*R, "{D}/file.txt/r.json"], EXIT_INPUT, "file.txt"),
    ("review-not-utf8", [*R, "{D}/latin1.txt"], EXIT_INPUT, "latin1.txt:1"),
    ("review-empty", [*R, "{D}/empty.txt"], EXIT_INPUT, "empty.txt:1"),
    ("review-malformed-json", [*R, "{D}/report-malformed.json"], EXIT_INPUT, "report-malformed.json:1"),
    ("review-not-a-report", [*R, "{D}/report-foreign.json"], EXIT_INPUT, "report-foreign.json"),
    ("review-newer-schema", [*R, "{D}/report-newer.json"], EXIT_INPUT, "[schema_version]"),
    ("review-tampered-field", [*R, "{D}/report-broken-field.json"], EXIT_INPUT, "score"),
    ("review-utf16", [*R, "{D}/report-utf16.json"], OK, ""),
    ("review-grade-out-of-range", ["review", "{D}/report-utf16.json", "-g", "150", "-r", "A", "-o", "{O}/r.json"],
     EXIT_INPUT, "grade"),
    ("review-unknown-question", ["review", "{D}/report-utf16.json", "-q", "q99", "-g", "50", "-r", "A"],
     EXIT_INPUT, "q99"),
    ("review-output-unwritable", ["review", "{D}/report-utf16.json", "-g", "50", "-r", "A",
                                  "-o", "{D}/file.txt/r.json"], EXIT_OUTPUT, "file.txt"),
    # report
    ("report-missing", ["report", "{D}/nope.json"], EXIT_INPUT, "nope.json"),
    ("report-is-dir", ["report", "{D}/adir"], EXIT_INPUT, "adir"),
    ("report-unreadable", ["report", "{D}/file.txt/r.json"], EXIT_INPUT, "file.txt"),
    ("report-not-utf8", ["report", "{D}/latin1.txt"], EXIT_INPUT, "latin1.txt:1"),
    ("report-endless-device", ["report", "/dev/zero"], EXIT_INPUT, "/dev/zero"),
    ("report-empty", ["report", "{D}/empty.txt"], EXIT_INPUT, "empty.txt:1"),
    ("report-malformed-json", ["report", "{D}/report-malformed.json"], EXIT_INPUT, "report-malformed.json:1"),
    ("report-not-a-report", ["report", "{D}/report-foreign.json"], EXIT_INPUT, "report-foreign.json"),
    ("report-newer-schema", ["report", "{D}/report-newer.json"], EXIT_INPUT, "[schema_version]"),
    ("report-tampered-field", ["report", "{D}/report-broken-field.json"], EXIT_INPUT, "score"),
    ("report-utf16", ["report", "{D}/report-utf16.json", "-f", "md"], OK, ""),
    ("report-bad-format", ["report", "{D}/report-utf16.json", "-f", "pdf"], EXIT_USAGE, "--format"),
    ("report-output-unwritable", ["report", "{D}/report-utf16.json", "-o", "{D}/file.txt/r.html"], EXIT_OUTPUT,
     "file.txt"),
    # agreement
    ("agreement-missing", ["agreement", "{D}/nope"], EXIT_INPUT, "nope"),
    ("agreement-is-file", ["agreement", "{D}/file.txt"], EXIT_INPUT, "file.txt"),
    ("agreement-unreadable", ["agreement", "{D}/file.txt/reports"], EXIT_INPUT, "file.txt"),
    ("agreement-malformed-report", ["agreement", "{D}/agree"], EXIT_FINDINGS, "broken.json:1"),
    ("agreement-bad-format", ["agreement", "{D}/adir", "-f", "pdf"], EXIT_USAGE, "--format"),
    ("agreement-nothing-reviewed", ["agreement", "{D}/adir"], EXIT_INPUT, "adir"),
    ("agreement-output-unwritable", ["agreement", "{D}/agree-ok", "-o", "{D}/file.txt/a.txt"], EXIT_OUTPUT,
     "file.txt"),
    # history
    ("history-missing", [*H, "{D}/nope.sqlite3"], EXIT_INPUT, "nope.sqlite3"),
    ("history-is-dir", [*H, "{D}/adir"], EXIT_INPUT, "adir"),
    ("history-unreadable", [*H, "{D}/file.txt/h.sqlite3"], EXIT_INPUT, "file.txt"),
    ("history-not-a-database", [*H, "{D}/history-garbage.sqlite3"], EXIT_INPUT, "history-garbage.sqlite3"),
    ("history-newer-schema", [*H, "{D}/history-newer.sqlite3"], EXIT_INPUT, "history-newer.sqlite3"),
    ("history-empty-database", [*H, "{D}/history.sqlite3"], OK, ""),
    ("history-bad-format", [*H, "{D}/history.sqlite3", "-f", "pdf"], EXIT_USAGE, "--format"),
    ("history-output-unwritable", [*H, "{D}/history.sqlite3", "-o", "{D}/file.txt/h.html"], EXIT_OUTPUT,
     "file.txt"),
    # serve (every case fails before a socket is opened)
    ("serve-bad-port", ["serve", *LEX, "--port", "0"], EXIT_INPUT, "--port"),
    ("serve-tiny-request-limit", ["serve", *LEX, "--max-request-bytes", "10"], EXIT_INPUT, "--max-request-bytes"),
    ("serve-bank-broken", ["serve", *LEX, "--bank", "{D}/banks/utf16"], EXIT_BANK, "q01.yaml"),
    ("serve-weights-invalid", ["serve", *LEX, "--weights", "{D}/weights-python.yaml"], EXIT_CONFIG,
     "weights-python.yaml"),
    ("serve-calibration-tampered", ["serve", *LEX, "--calibration", "{D}/cal-tampered.json"], EXIT_CONFIG,
     "[checksum]"),
    ("serve-unknown-metric", ["serve", "--metrics", "bleu"], EXIT_CONFIG, "metrics"),
    # judge check (nothing is sent: each fails before a request, or at a closed port)
    ("judge-check-plain-http-remote", ["judge", "check", "--judge", "http://example.com/v1", "--judge-model", "m"],
     EXIT_CONFIG, "--judge"),
    ("judge-check-credentials-in-url", ["judge", "check", "--judge", "https://u:secret@example.com/v1",
                                        "--judge-model", "m"], EXIT_CONFIG, "GRADER_JUDGE_API_KEY"),
    ("judge-check-no-model", ["judge", "check", "--judge", "http://127.0.0.1:9/v1"], EXIT_INPUT, "--judge-model"),
    ("judge-check-refused", ["judge", "check", "--judge", "http://127.0.0.1:9/v1", "--judge-model", "m"],
     EXIT_CONFIG, "connection refused"),
    ("judge-check-bank-broken", ["judge", "check", "--judge", "http://127.0.0.1:9/v1", "--judge-model", "m",
                                 "--bank", "{D}/banks/utf16"], EXIT_BANK, "q01.yaml"),
    # usage
    ("usage-unknown-command", ["grde"], EXIT_USAGE, "grde"),
    ("usage-missing-option", ["grade", "--answer", "x"], EXIT_USAGE, "--question"),
]


def invoke(args: list[str], bad: Path, out: Path, input: str | None = None):
    argv = [a.replace("{D}", str(bad)).replace("{O}", str(out)) for a in args]
    return runner.invoke(app, argv, input=input)


def assert_clear_failure(result, code: int, names: str) -> None:
    """The documented exit code; one error line naming the thing at fault; no traceback."""
    output = result.output
    assert result.exit_code == code, output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in output
    if code == EXIT_USAGE:
        assert names in output  # typer's own usage box
        return
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    assert names in errors[0], output


@pytest.mark.parametrize("args,code,names", [case[1:] for case in MATRIX], ids=[case[0] for case in MATRIX])
def test_bad_input_matrix(bad, tmp_path, monkeypatch, args, code, names):
    if "/dev/zero" in args and not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero (an endless device) on this system")
    if args[0] == "serve":
        import grader.server

        def refuse(*a, **k):
            raise AssertionError("the server started although the input was bad")

        monkeypatch.setattr(grader.server, "serve", refuse)
    result = invoke(args, bad, tmp_path, input="")
    if code == OK:
        assert result.exit_code == 0, result.output
    else:
        assert_clear_failure(result, code, names)
    assert not list(bad.glob("pwned*")), "a YAML tag ran code"
    assert not list(bad.rglob(".*.tmp")) and not list(tmp_path.rglob(".*.tmp"))


def _commands(group=None, prefix: str = "") -> set[str]:
    """Every command ``grader --help`` lists, sub-commands as "bank check"."""
    group = group or typer.main.get_command(app)
    out = set()
    for name, command in group.commands.items():
        if getattr(command, "hidden", False):
            continue
        if hasattr(command, "commands"):
            out |= _commands(command, f"{prefix}{name} ")
        else:
            out.add(f"{prefix}{name}")
    return out


def test_the_matrix_covers_every_command():
    covered = {" ".join(args[:2]) if args[0] in ("bank", "rubric", "judge") else args[0] for _, args, _, _ in MATRIX}
    missing = _commands() - covered
    assert not missing, f"add bad-input cases for: {', '.join(sorted(missing))}"
    listed = runner.invoke(app, ["--help"]).output
    for command in _commands():
        assert command.split()[0] in listed


PERMISSION_DENIED = [
    ("answer", [*G, "--answer-file", "{L}/secret.txt"], EXIT_INPUT, "secret.txt: permission denied"),
    ("transcript", ["batch", *LEX, "-o", "{O}/out", "{L}/secret.txt"], EXIT_INPUT, "secret.txt: permission denied"),
    ("weights", [*G, "--answer", "x", "--weights", "{L}/secret.txt"], EXIT_CONFIG, "secret.txt"),
    ("calibration", [*G, "--answer", "x", "--calibration", "{L}/secret.txt"], EXIT_CONFIG, "secret.txt"),
    ("bank", ["questions", "--bank", "{L}/bank"], EXIT_BANK, "q01.yaml"),
    ("dataset", [*E, "{L}/secret.txt"], EXIT_INPUT, "secret.txt: permission denied"),
    ("report", ["report", "{L}/secret.txt"], EXIT_INPUT, "secret.txt: permission denied"),
    ("history", [*H, "{L}/secret.txt"], EXIT_INPUT, "secret.txt"),
    ("output", [*G, "--answer", "x", "-o", "{L}/locked/report.md"], EXIT_OUTPUT, "Permission denied"),
]


@pytest.mark.parametrize("args,code,names", [c[1:] for c in PERMISSION_DENIED], ids=[c[0] for c in PERMISSION_DENIED])
def test_permission_denied(tmp_path, bank_copy, args, code, names):
    """chmod 000 denies nobody when running as root (as CI does): there the command runs without the
    capabilities that let root read and write anything (setpriv), so the check holds for root as well."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: chmod 000 would not deny anything")
        prefix = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
                  "--bounding-set=-dac_override,-dac_read_search"]
        if subprocess.run([*prefix, "true"], capture_output=True).returncode != 0:
            pytest.skip("running as root and setpriv cannot drop capabilities here: chmod 000 would deny nothing")
    locked = tmp_path / "locked"
    (locked / "locked").mkdir(parents=True)
    (locked / "secret.txt").write_text(ANSWER, encoding="utf-8")
    shutil.move(str(bank_copy), locked / "bank")
    denied = [locked / "secret.txt", locked / "bank" / "references" / "q01.yaml"]
    for path in denied:
        path.chmod(0)
    (locked / "locked").chmod(0o500)
    try:
        argv = [a.replace("{L}", str(locked)).replace("{O}", str(tmp_path)) for a in args]
        out = subprocess.run([*prefix, sys.executable, "-m", "grader", *argv], capture_output=True, text=True,
                             timeout=120, cwd=tmp_path)
    finally:
        for path in denied:
            path.chmod(0o600)
        (locked / "locked").chmod(0o700)
    assert out.returncode == code, out.stderr
    assert "Traceback" not in out.stderr and "not readable" not in out.stderr  # not click's usage box
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and names in errors[0], out.stderr


@pytest.mark.parametrize("args", [[*G, "--answer", ANSWER], [*P, "-q", "q09"], [*E, CSV]],
                         ids=["grade", "practice", "evaluate"])
def test_ctrl_c_exits_130_without_a_traceback(bad, tmp_path, monkeypatch, args):
    from grader.scoring.engine import Grader

    def interrupted(self, *a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(Grader, "grade_many", interrupted)
    result = invoke(args, bad, tmp_path, input=ANSWER + "\n\n")
    assert result.exit_code == EXIT_INTERRUPTED, result.output
    assert "interrupted" in result.output and "Traceback" not in result.output


def test_debug_shows_the_traceback(bad, tmp_path):
    result = invoke(["--debug", *G, "--answer-file", "{D}/latin1.txt"], bad, tmp_path)
    assert result.exit_code != 0 and isinstance(result.exception, InputError)


# --------------------------------------------------------------------------- a full disk


class _FullDisk:
    """A file whose writes fail half-way with ENOSPC, as on a full disk."""

    def __init__(self, fh):
        self._fh = fh

    def write(self, data):
        self._fh.write(data[: len(data) // 2])
        self._fh.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()


@pytest.fixture()
def disk_full(monkeypatch):
    real = os.fdopen

    def fdopen(fd, mode="r", *args, **kwargs):
        fh = real(fd, mode, *args, **kwargs)
        return _FullDisk(fh) if "w" in mode else fh

    monkeypatch.setattr(grader.io.os, "fdopen", fdopen)


FULL_DISK = [
    ("grade", [*G, "--answer", ANSWER, "-f", "json", "-o", "{O}/report.json"], "report.json"),
    ("batch", ["batch", *LEX, "-o", "{O}", str(SAMPLES / "alex-chen.txt")], "alex-chen.json"),
    ("evaluate", [*E, "{D}/data-utf16.csv", "--predictions", "{O}/predictions.csv"], "predictions.csv"),
    ("review", ["review", "{O}/report.json", "-g", "50", "-r", "Ana"], "report.json"),
    ("report", ["report", "{O}/report.json", "-o", "{O}/report.html"], "report.html"),
    ("agreement", ["agreement", "{D}/agree-ok", "-o", "{O}/agreement.txt"], "agreement.txt"),
    ("history", [*H, "{D}/history.sqlite3", "-o", "{O}/history.txt"], "history.txt"),
]


@pytest.mark.parametrize("args,target", [c[1:] for c in FULL_DISK], ids=[c[0] for c in FULL_DISK])
def test_full_disk_leaves_no_partial_file(bad, tmp_path, args, target, request):
    before = dumps(json.loads((bad / "report-utf16.json").read_text(encoding="utf-16")))
    (tmp_path / "report.json").write_text(before, encoding="utf-8")
    request.getfixturevalue("disk_full")
    result = invoke(args, bad, tmp_path)
    assert_clear_failure(result, EXIT_OUTPUT, target)
    assert "no space left" in result.output
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")], "a temporary file was left"
    assert (tmp_path / "report.json").read_text(encoding="utf-8") == before, "the earlier report was damaged"
    if target != "report.json":
        assert not (tmp_path / target).exists()


def test_interrupted_write_keeps_the_earlier_file(tmp_path, monkeypatch):
    from grader.io import write_atomic

    path = tmp_path / "report.json"
    write_atomic(path, "earlier\n")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(grader.io.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, "later\n")
    assert path.read_text() == "earlier\n" and [p.name for p in tmp_path.iterdir()] == ["report.json"]


# --------------------------------------------------------------------------- offline


OFFLINE_PROBE = r"""
import json, socket, sys
attempts = []

def refuse(*args, **kwargs):
    attempts.append(repr(args[:3])[:200])
    raise OSError("network access is blocked in this test")

socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse

from grader.scoring.engine import Grader
from grader.metrics import bertscore

report = Grader().grade("q09", "LoRA freezes W and learns a low-rank update BA that is merged into W after training.")
print(json.dumps({"attempts": attempts, "score": report.score, "bertscore": report.bertscore is not None,
                  "loads": bertscore.MODEL_LOADS, "torch": "torch" in sys.modules}))
"""


def test_grading_with_bertscore_never_touches_the_network(tmp_path):
    """A fresh process (the model loads inside the test) with every way to connect refused and recorded."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env["GRADER_CACHE_DIR"] = str(tmp_path / "cache")
    env["HOME"] = str(tmp_path)  # no user-level Hugging Face cache or token to lean on
    out = subprocess.run([sys.executable, "-c", OFFLINE_PROBE], capture_output=True, text=True, timeout=300,
                         env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["attempts"] == [], f"tried to connect: {data['attempts']}"
    assert data["bertscore"] and data["torch"] and data["loads"] == 1 and 0 < data["score"] <= 100


# --------------------------------------------------------------------------- safe by construction


def _unsafe_calls(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"import {n}" for n in names if n.split(".")[0] in ("pickle", "cPickle", "dill", "shelve",
                                                                          "marshal", "cloudpickle", "joblib")]
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
        keywords = {k.arg: k.value for k in node.keywords}
        if isinstance(func, ast.Name) and name in ("eval", "exec", "__import__"):
            found.append(f"{name}()")
        if owner == "yaml" and name in ("load", "load_all", "unsafe_load", "unsafe_load_all", "full_load"):
            found.append(f"yaml.{name}()")
        if owner in ("np", "numpy") and name == "load":
            flag = keywords.get("allow_pickle")
            if not (isinstance(flag, ast.Constant) and flag.value is False):
                found.append("numpy.load() without allow_pickle=False")
        if owner == "torch" and name == "load":
            flag = keywords.get("weights_only")
            if not (isinstance(flag, ast.Constant) and flag.value is True):
                found.append("torch.load() without weights_only=True")
    return found


def test_no_unsafe_loading_anywhere_in_the_package():
    """No pickle, no eval/exec, YAML only through safe_load, numpy/torch loads that run no code."""
    offenders = {}
    for path in sorted((REPO / "grader").rglob("*.py")):
        found = _unsafe_calls(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        text = path.read_text(encoding="utf-8")
        found += [s for s in ("yaml.Loader", "yaml.UnsafeLoader", "yaml.FullLoader", "yaml.unsafe_load")
                  if s in text]
        if found:
            offenders[str(path.relative_to(REPO))] = found
    assert offenders == {}
    assert _unsafe_calls(ast.parse("import pickle\nyaml.load(x)\neval('1')\nnp.load(p)")) == [
        "import pickle", "yaml.load()", "eval()", "numpy.load() without allow_pickle=False"]


def test_yaml_tags_in_a_bank_are_refused(bad):
    from grader.bank import load_bank

    with pytest.raises(GraderError, match="not allowed") as info:
        load_bank(bad / "banks" / "python-tag")
    assert "q09.yaml" in info.value.one_line() and not list(bad.glob("pwned*"))


def test_html_escapes_candidate_text():
    """Held by tests/test_reports.py::test_html_shows_candidate_text_as_text (question, transcript, summary)."""
    source = (REPO / "tests" / "test_reports.py").read_text(encoding="utf-8")
    assert "def test_html_shows_candidate_text_as_text(" in source


def test_batch_reports_keep_the_path_as_given(tmp_path, monkeypatch):
    """Reports name the transcript as the user wrote it (relative stays relative): no home folder leaks."""
    (tmp_path / "in").mkdir()
    shutil.copy(SAMPLES / "alex-chen.txt", tmp_path / "in")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["batch", "in", "-o", "out", *LEX])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "alex-chen.json").read_text(encoding="utf-8"))
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert report["source"] == os.path.join("in", "alex-chen.txt") == summary["per_candidate"][0]["source"]
    assert str(tmp_path) not in json.dumps(report) + json.dumps(summary)


def test_serve_binds_loopback_by_default():
    if "serve" not in _commands():
        pytest.skip("no 'grader serve' command")
    import inspect

    from grader import server

    command = typer.main.get_command(app).commands["serve"]
    host = next(p for p in command.params if p.name == "host")
    assert host.default == "127.0.0.1"
    assert inspect.signature(server.serve).parameters["host"].default == "127.0.0.1"


def _asgi_post(asgi, body: bytes, declared: bool = True) -> int:
    """POST /grade straight into the ASGI app (no server, no socket): the response status."""
    import asyncio

    headers = [(b"content-type", b"application/json")]
    if declared:
        headers.append((b"content-length", str(len(body)).encode()))
    pieces = [body[i:i + 4096] for i in range(0, len(body), 4096)] or [b""]
    sent = []

    async def receive():
        piece = pieces.pop(0) if pieces else b""
        return {"type": "http.request", "body": piece, "more_body": bool(pieces)}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/grade", "raw_path": b"/grade", "query_string": b"", "root_path": "",
             "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8765)}
    asyncio.run(asgi(scope, receive, send))
    return next(m["status"] for m in sent if m["type"] == "http.response.start")


@pytest.mark.parametrize("body,declared,status", [
    (json.dumps({"question": "q09", "answer": ANSWER}).encode(), True, 200),
    (json.dumps({"question": "q09", "answer": "x" * 5000}).encode(), True, 413),
    (json.dumps({"question": "q09", "answer": "x" * 5000}).encode(), False, 413),
    (b'{"question": "q09", "answer": ', True, 422),
    (b'\xff\xfe\x00garbage', True, 422),
    (b'{"question": "q09", "answer": "\\ud800 lone surrogate"}', True, 400),
    (json.dumps({"question": "q99", "answer": "x"}).encode(), True, 404),
], ids=["ok", "too-large", "too-large-chunked", "malformed-json", "not-utf8", "lone-surrogate", "unknown-question"])
def test_serve_refuses_bad_requests_clearly(lexical_grader, body, declared, status):
    pytest.importorskip("fastapi")
    from grader.server import create_app

    assert _asgi_post(create_app(lexical_grader, max_request_bytes=4096), body, declared) == status


# --------------------------------------------------------------------------- interruption and --resume


@pytest.fixture()
def cohort(tmp_path) -> Path:
    folder = tmp_path / "cohort"
    folder.mkdir()
    for name in ("alex-chen.txt", "dana-lee.vtt", "jordan-reyes.json", "priya-nair.md", "sam-okafor.srt"):
        shutil.copy(SAMPLES / name, folder)
    return folder


@pytest.fixture()
def graded_sources(monkeypatch):
    """Record which transcripts' answers reach the grader; raise KeyboardInterrupt on call number ``stop``."""
    from grader.scoring.engine import Grader

    real = Grader.grade_many
    state = {"calls": 0, "stop": None, "answers": []}

    def grade_many(self, pairs, *args, **kwargs):
        state["calls"] += 1
        if state["calls"] == state["stop"]:
            raise KeyboardInterrupt
        pairs = list(pairs)
        state["answers"] += [a for _, a in pairs]
        return real(self, pairs, *args, **kwargs)

    monkeypatch.setattr(Grader, "grade_many", grade_many)
    monkeypatch.setattr(grader.batch, "CHUNK", 1)  # one transcript per chunk
    return state


def test_ctrl_c_keeps_finished_reports_and_resume_grades_only_the_rest(cohort, tmp_path, graded_sources):
    out = tmp_path / "reports"
    graded_sources["stop"] = 3  # Ctrl-C while the third transcript is graded
    result = runner.invoke(app, ["batch", str(cohort), "-o", str(out), *LEX])
    assert result.exit_code == EXIT_INTERRUPTED, result.output
    done = sorted(p.name for p in out.glob("*.json"))
    assert done == ["alex-chen.json", "dana-lee.json"] and "Traceback" not in result.output
    for path in out.glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        validate(data, "transcript")
        assert all(a["score"] is not None for a in data["answers"] if a["question_id"])
    assert not list(out.glob(".*")), "a temporary file was left"
    line = next(line for line in result.output.splitlines() if line.startswith("interrupted"))
    assert "2 of 5" in line and "--resume" in line
    for name in ("jordan-reyes.json", "priya-nair.md", "sam-okafor.srt"):
        assert name in line
    kept = {p.name: p.read_bytes() for p in out.glob("*.json")}

    graded_sources.update(stop=None, answers=[], calls=0)
    resumed = runner.invoke(app, ["batch", str(cohort), "-o", str(out), *LEX, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert resumed.output.count("report current, kept") == 2 and graded_sources["calls"] == 3
    for name, data in kept.items():
        assert (out / name).read_bytes() == data
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["transcripts"] == 5 and len(summary["per_candidate"]) == 5

    full = tmp_path / "full"
    graded_sources.update(calls=0)
    assert runner.invoke(app, ["batch", str(cohort), "-o", str(full), *LEX]).exit_code == 0
    assert json.loads((full / "summary.json").read_text())["per_question"] == summary["per_question"]
    assert runner.invoke(app, ["batch", str(cohort), "-o", str(out), *LEX, "--resume"]).exit_code == 0
    assert graded_sources["calls"] == 5  # the full run graded five; the second --resume graded nothing


def test_resume_regrades_changed_damaged_and_outdated_reports(cohort, tmp_path, graded_sources):
    out = tmp_path / "reports"
    assert runner.invoke(app, ["batch", str(cohort), "-o", str(out), *LEX]).exit_code == 0
    (cohort / "alex-chen.txt").write_text((cohort / "alex-chen.txt").read_text() + "\nInterviewer: Thanks!\n")
    damaged = out / "dana-lee.json"
    damaged.write_text(damaged.read_text()[:200])  # as if the disk filled up outside grader
    graded_sources.update(calls=0, answers=[])
    result = runner.invoke(app, ["batch", str(cohort), "-o", str(out), *LEX, "--resume"])
    assert result.exit_code == 0 and graded_sources["calls"] == 2, result.output
    assert result.output.count("report current, kept") == 3
    json.loads(damaged.read_text())
    graded_sources.update(calls=0)
    other = runner.invoke(app, ["batch", str(cohort), "-o", str(out), "--metrics", "keywords", "--resume"])
    assert other.exit_code == 0 and graded_sources["calls"] == 5  # another signature: everything again


def test_library_hands_back_each_transcript_as_soon_as_it_is_graded(cohort, lexical_grader, monkeypatch):
    monkeypatch.setattr(grader.batch, "CHUNK", 1)
    files, failures = grader.batch.expand_inputs([str(cohort)])
    seen: list[str] = []

    def on_graded(t):
        assert all(i in t.reports for i, ex in enumerate(t.exchanges) if ex.question_id)
        seen.append(Path(t.source).name)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        grader.batch.grade_files(files, lexical_grader, failures=failures, on_graded=on_graded)
    assert seen == ["alex-chen.txt", "dana-lee.vtt"]
