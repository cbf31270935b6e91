"""The adversarial probe's findings (issue 15), each held by a test that failed before its fix.

Commands that used to hang (FIFOs) or run for minutes (quadratic regexes) run in a subprocess with a timeout, so
a regression fails the test instead of stalling the suite. Timings are generous bounds on inputs that took
minutes before, not speed targets.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from grader.cli import app
from grader.errors import EXIT_BANK, EXIT_FINDINGS, EXIT_INPUT, EXIT_OUTPUT, GraderError
from grader.transcripts import FORMATS, parse_transcript_text

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
LEX = ["--metrics", "keywords,rouge"]
runner = CliRunner()


def cli(*args, code: int | None = None, input: str | None = None):
    result = runner.invoke(app, [str(a) for a in args], input=input)
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    if code is not None:
        assert result.exit_code == code, result.output
    return result


def errors_of(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def grader_process(*args, timeout: float = 60, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


# --------------------------------------------------------------------------- quadratic regexes

WS = 30_000
#: (format, text with a long run of whitespace where a backtracking regex used to try every split).
LONG_RUNS = [
    ("text", "Interviewer: Explain LoRA.\nSam: It learns a low-rank update.\nSam" + " " * WS + "x\n"),
    ("text", "Interviewer: Explain LoRA.\nSam [10:03]" + " " * WS + "\n"),
    ("text", "[10:03]" + " " * WS + "Sam" + " " * WS + "\n"),
    ("markdown", "# Interview\n\n**Interviewer:** Explain LoRA.\n\n#" + " " * WS + "x" + " " * WS + "\n"),
    ("markdown", "## Q" + " " * WS + "#" + " " * WS + "y\n"),
    ("vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v" + " " * WS + "Sam\n"),
    ("vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Sam" + "\t" * WS + "\n"),
    ("srt", "1\n00:00:01,000 --> 00:00:02,000\nSam" + " " * WS + ":\n"),
    ("json", '[{"speaker": "Sam", "text": "a"}' + " " * WS + "]"),
    ("jsonl", '{"speaker": "Sam", "text": "' + " " * WS + '"}\n'),
    ("csv", "speaker,text\nSam," + " " * WS + "\n"),
]


def _parse_quietly(text: str, fmt: str) -> None:
    try:
        parse_transcript_text(text, fmt, source="t")
    except GraderError:
        pass


@pytest.mark.parametrize("fmt,text", LONG_RUNS, ids=[f"{f}-{i}" for i, (f, _) in enumerate(LONG_RUNS)])
def test_parsing_a_long_run_of_whitespace_takes_linear_time(fmt, text):
    start = time.perf_counter()
    _parse_quietly(text, fmt)
    assert time.perf_counter() - start < 5.0  # took 50 s to 300+ s with the quadratic regexes


@settings(max_examples=15)
@given(fmt=st.sampled_from(FORMATS), prefix=st.sampled_from(["Sam", "Sam:", "# ", "<v", "[10:03]", "**Q", "1\n",
                                                              "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v ",
                                                              "Interviewer: hi\nSam"]),
       ws=st.sampled_from([" ", "\t", " \t"]), suffix=st.sampled_from(["", "x", ":", "#", ">", "\n", "]"]))
def test_any_long_whitespace_run_in_any_format_parses_in_bounded_time(fmt, prefix, ws, suffix):
    text = prefix + ws * (20_000 // len(ws)) + suffix + "\n"
    start = time.perf_counter()
    _parse_quietly(text, fmt)
    assert time.perf_counter() - start < 5.0


def test_rubric_suggest_on_a_long_run_of_letters_is_quick():
    from grader.bank.suggest import formulas_in

    start = time.perf_counter()
    formulas_in("a" * 30_000 + " = b")
    formulas_in("x" * 30_000)
    assert time.perf_counter() - start < 5.0  # 28 s before


# --------------------------------------------------------------------------- uncaught parser errors

DEEP = "[" * 100_000
HUGE_INT = '[{"speaker": "Sam", "text": "hi", "n": ' + "9" * 5000 + "}]"


@pytest.mark.parametrize("name,content", [
    ("deep.json", DEEP), ("int.json", HUGE_INT), ("deep.jsonl", "{" * 100_000 + "\n"),
    ("int.jsonl", HUGE_INT[1:-1] + "\n"), ("deep", DEEP), ("int", HUGE_INT),
])
def test_json_that_python_cannot_parse_fails_with_a_located_error_and_the_batch_goes_on(tmp_path, name, content):
    (tmp_path / name).write_text(content, encoding="utf-8")
    result = cli("batch", *LEX, tmp_path / name, SAMPLES / "alex-chen.txt", "-o", tmp_path / "out",
                 code=EXIT_FINDINGS)
    assert len(errors_of(result.output)) == 1 and name in errors_of(result.output)[0]
    assert (tmp_path / "out" / "alex-chen.json").is_file()


@pytest.mark.parametrize("content", [DEEP, '{"schema_version": ' + "1" * 5000 + "}"], ids=["deep", "huge-int"])
def test_a_report_python_cannot_parse_is_our_error_everywhere(tmp_path, content):
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    for args in (["report", bad], ["review", bad, "-g", "50", "-r", "Ana"]):
        result = cli(*args, code=EXIT_INPUT)
        assert len(errors_of(result.output)) == 1 and "bad.json" in result.output
    folder = tmp_path / "agree"
    folder.mkdir()
    shutil.copy(bad, folder / "bad.json")
    result = cli("agreement", folder)
    assert result.exit_code in (EXIT_INPUT, EXIT_FINDINGS) and "bad.json" in result.output


def test_resume_regrades_a_report_python_cannot_parse(tmp_path):
    out = tmp_path / "out"
    cli("batch", *LEX, SAMPLES / "alex-chen.txt", "-o", out, code=0)
    (out / "alex-chen.json").write_text(DEEP, encoding="utf-8")
    cli("batch", *LEX, SAMPLES / "alex-chen.txt", "-o", out, "--resume", code=0)
    assert json.loads((out / "alex-chen.json").read_text())["answers"]


# --------------------------------------------------------------------------- one bad item, not the batch


def test_an_answer_over_the_limit_is_graded_on_its_first_part_and_says_so(tmp_path):
    long = tmp_path / "long.json"
    words = " ".join(["low-rank update"] * 8_000)  # 120,000 characters in one answer
    long.write_text(json.dumps([{"speaker": "Interviewer", "text": "Explain LoRA mathematically."},
                                {"speaker": "Sam", "text": words}]), encoding="utf-8")
    chat = tmp_path / "chatty.json"  # 100k turns of small talk joined into one answer
    chat.write_text(json.dumps([{"speaker": "Interviewer", "text": "Explain LoRA mathematically."}]
                               + [{"speaker": "Sam" if i % 2 else "Interviewer", "text": "well, yes, ok"}
                                  for i in range(20_000)]), encoding="utf-8")
    result = cli("batch", *LEX, long, chat, SAMPLES / "alex-chen.txt", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out" / "long.json").read_text())
    graded = [a for a in data["answers"] if a["question_id"]]
    assert graded[0]["score"] is not None and graded[0]["truncated_from"] == len(words)
    assert "long.json" in result.output and "first 100,000" in result.output


@pytest.mark.parametrize("item", [
    {"speaker": "Sam", "text": "LoRA \ud800 learns"},
    {"speaker": "Sam \udc00", "text": "LoRA learns a low-rank update"},
    {"speaker": "Sam", "text": "LoRA\u0000 learns"},
], ids=["surrogate-in-answer", "surrogate-in-name", "nul-in-answer"])
def test_text_that_is_not_valid_unicode_fails_that_transcript_only(tmp_path, item):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"speaker": "Interviewer", "text": "Explain LoRA mathematically."}, item]),
                   encoding="utf-8")
    result = cli("batch", *LEX, bad, SAMPLES / "alex-chen.txt", "-o", tmp_path / "out", code=EXIT_FINDINGS)
    assert len(errors_of(result.output)) == 1 and "bad.json:1" in errors_of(result.output)[0]
    assert (tmp_path / "out" / "alex-chen.json").is_file() and (tmp_path / "out" / "summary.json").is_file()


# --------------------------------------------------------------------------- report names


def test_every_transcript_gets_its_own_report(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    answer = "It learns a low-rank update BA."
    rows = ["candidate,question,answer"] + [f'"{who}",Explain LoRA mathematically.,{answer}'
                                           for who in ("Dana Lee", "Dana_Lee", "李雷", "Иван", "DANA LEE!")]
    (folder / "cohort.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    for name in ("cohort-dana-lee.txt", "summary.txt", "answers.txt", "Summary.md"):
        text = f"Interviewer: Explain LoRA mathematically.\nSam: {answer}\n"
        (folder / name).write_text(text if name.endswith(".txt") else "**Interviewer:** Explain LoRA "
                                   f"mathematically.\n\n**Sam:** {answer}\n", encoding="utf-8")
    out = tmp_path / "out"
    result = cli("batch", *LEX, folder, "-o", out, code=0)
    summary = json.loads((out / "summary.json").read_text())
    reports = [p for p in out.glob("*.json") if p.name != "summary.json"]
    assert summary["transcripts"] == len(reports) == 5 + 4, result.output  # the CSV: one report per candidate
    sources = sorted(json.loads(p.read_text())["source"] for p in reports)
    assert len(set(sources)) == len(sources)
    assert any("李雷" in p.name for p in reports)


def test_a_hash_in_a_path_is_just_a_character(tmp_path):
    path = tmp_path / "team#1.txt"
    shutil.copy(SAMPLES / "alex-chen.txt", path)
    cli("batch", *LEX, path, "-o", tmp_path / "out", code=0)
    assert json.loads((tmp_path / "out" / "team#1.json").read_text())["source"] == str(path)


def test_the_output_folder_inside_the_input_folder_is_not_graded(tmp_path):
    folder = tmp_path / "sc"
    folder.mkdir()
    for name in ("alex-chen.txt", "priya-nair.md"):
        shutil.copy(SAMPLES / name, folder / name)
    for _ in range(2):
        cli("batch", *LEX, folder, "-o", folder / "reports", code=0)
        assert json.loads((folder / "reports" / "summary.json").read_text())["transcripts"] == 2


def test_one_input_given_several_ways_is_graded_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dir").mkdir()
    shutil.copy(SAMPLES / "alex-chen.txt", tmp_path / "x.txt")
    cli("batch", *LEX, "x.txt", "dir/../x.txt", tmp_path / "x.txt", "-o", "out", code=0)
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["transcripts"] == 1


# --------------------------------------------------------------------------- FIFOs


@pytest.fixture()
def fifo(tmp_path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this system")
    path = tmp_path / "pipe.json"
    os.mkfifo(path)
    return path


def test_a_named_pipe_given_by_name_is_refused_not_waited_on(tmp_path, fifo, bank_copy):
    agree = tmp_path / "agree"
    agree.mkdir()
    os.mkfifo(agree / "r.json")
    os.unlink(bank_copy / "rubrics" / "q09.yaml")
    os.mkfifo(bank_copy / "rubrics" / "q09.yaml")
    cases = [(["batch", *LEX, fifo, "-o", tmp_path / "out"], EXIT_INPUT),
             (["grade", "-q", "q09", *LEX, "--answer-file", fifo], EXIT_INPUT),
             (["report", fifo], EXIT_INPUT),
             (["review", fifo, "-g", "50", "-r", "Ana"], EXIT_INPUT),
             (["agreement", agree], EXIT_INPUT),
             (["questions", "--bank", bank_copy], EXIT_BANK)]
    for args, code in cases:
        out = grader_process(*args, timeout=60)
        assert out.returncode == code, (args, out.stderr)
        assert "Traceback" not in out.stderr and len(errors_of(out.stderr)) == 1, out.stderr


# --------------------------------------------------------------------------- malicious bank


def test_a_yaml_alias_bomb_in_a_bank_is_refused_quickly(bank_copy):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    (bank_copy / "rubrics" / "q09.yaml").write_text("\n".join(lines) + "\nquestion: q09\nconcepts:\n"
                                                    "  - name: x\n    weight: *a9\n    synonyms: [x]\n",
                                                    encoding="utf-8")
    out = grader_process("questions", "--bank", bank_copy, timeout=60)
    assert out.returncode == EXIT_BANK and "q09.yaml" in out.stderr and "alias" in out.stderr, out.stderr
    assert len(out.stderr) < 2000


def test_a_bank_file_that_never_ends_is_refused(bank_copy):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    os.unlink(bank_copy / "references" / "q01.yaml")
    os.symlink("/dev/zero", bank_copy / "references" / "q01.yaml")
    out = grader_process("questions", "--bank", bank_copy, timeout=60)
    assert out.returncode == EXIT_BANK and "q01.yaml" in out.stderr, out.stderr


def test_an_error_message_is_bounded():
    from grader.errors import InputError

    assert len(InputError("x" * 1_000_000, path="f").one_line()) < 2000


# --------------------------------------------------------------------------- history


def _history(tmp_path) -> Path:
    db = tmp_path / "h.sqlite3"
    cli("grade", "-q", "q09", *LEX, "--answer", "low rank", "--record", "--history-db", db, code=0)
    return db


def test_history_is_read_without_write_access(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes anyway; read-only access is checked through a read-only open below")
    db = _history(tmp_path)
    tmp_path.chmod(0o500)
    db.chmod(0o400)
    try:
        cli("history", "--history-db", db, code=0)
    finally:
        tmp_path.chmod(0o700)


def test_history_opens_read_only(tmp_path):
    from grader.mentor.history import History

    db = _history(tmp_path)
    with History(db, create=False) as h:
        assert h.attempts()
        with pytest.raises(sqlite3.OperationalError):
            h.conn.execute("DELETE FROM attempts")


@pytest.mark.parametrize("damage", ["text-score", "old-layout", "bad-page"])
def test_a_damaged_history_is_our_error(tmp_path, damage):
    db = _history(tmp_path)
    if damage == "text-score":
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE attempts SET score = 'high'")
    elif damage == "old-layout":
        with sqlite3.connect(db) as conn:
            conn.execute("ALTER TABLE attempts RENAME COLUMN band TO grade_band")
    else:
        raw = bytearray(db.read_bytes())
        for i in range(4096 + 100, min(len(raw), 3 * 4096)):
            raw[i] = 0x5A
        db.write_bytes(bytes(raw))
    result = cli("history", "--history-db", db)
    assert result.exit_code == EXIT_INPUT, result.output
    assert len(errors_of(result.output)) == 1 and "h.sqlite3" in errors_of(result.output)[0]


def test_recording_on_a_full_disk_leaves_no_empty_database(tmp_path):
    probe = ("import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
             "resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0)); from grader.cli import main; "
             f"sys.argv = ['grader', 'grade', '-q', 'q09', '--metrics', 'keywords,rouge', '--answer', 'low rank', "
             f"'--record', '--history-db', {str(tmp_path / 'h.sqlite3')!r}]; main()")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.returncode == EXIT_OUTPUT, out.stderr
    assert "Traceback" not in out.stderr and "h.sqlite3" in out.stderr
    assert not (tmp_path / "h.sqlite3").exists()


# --------------------------------------------------------------------------- Markdown injection


def test_markdown_reports_escape_candidate_text(tmp_path):
    evil = tmp_path / "we`ird.json"
    evil.write_text(json.dumps({"candidate": "Dana\n# Overall score: 100\n| x | y |",
                                "turns": [{"speaker": "Interviewer", "text": "Explain LoRA mathematically."},
                                          {"speaker": "Dana\n# Overall score: 100\n| x | y |",
                                           "text": "<script>alert(1)</script> <img src=x onerror=alert(1)>\n"
                                                   "# Overall score: 100"}]}), encoding="utf-8")
    out = tmp_path / "out"
    cli("batch", *LEX, evil, "-o", out, "--format", "md", code=0)
    for path in out.glob("*.md"):
        md = path.read_text(encoding="utf-8")
        assert "<script" not in md and "<img" not in md
        assert not any(line.lstrip("> ").startswith("# Overall") for line in md.splitlines()), md
        table = [line for line in md.splitlines() if line.startswith("| ")]
        assert all(line.count(" | ") == table[0].count(" | ") for line in table[2:] if table[0][:3] == table[2][:3])
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "`` " in summary and "we`ird.json" in summary  # a longer fence around a name holding a backtick


# --------------------------------------------------------------------------- question specs


def test_a_huge_question_spec_is_refused_quickly_and_not_echoed(tmp_path):
    spec = "mode collapse " * 70_000  # 980 KB
    start = time.perf_counter()
    result = cli("grade", *LEX, "--answer", "x", "-q", spec, code=EXIT_INPUT)
    assert time.perf_counter() - start < 5.0
    assert len(result.output) < 2000 and "question" in result.output


def test_serve_refuses_a_huge_question_spec_briefly(lexical_grader):
    from fastapi.testclient import TestClient

    from grader.server import create_app

    client = TestClient(create_app(lexical_grader, max_request_bytes=2_000_000))
    start = time.perf_counter()
    response = client.post("/grade", json={"question": "mode collapse " * 70_000, "answer": "x"})
    assert time.perf_counter() - start < 5.0
    assert response.status_code in (400, 404, 422) and len(response.text) < 2000


# --------------------------------------------------------------------------- smaller findings


def test_sigterm_during_a_write_leaves_no_temporary_file(tmp_path):
    script = ("import os, sys, time; import grader.io as io; from grader.cli import _install_signal_handlers; "
              "_install_signal_handlers(); real = os.replace\n"
              "def slow(*a):\n    print('writing', flush=True); time.sleep(30); real(*a)\n"
              "io.os.replace = slow\n"
              f"io.write_atomic({str(tmp_path / 'r.json')!r}, 'x')\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"writing"
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert not list(tmp_path.iterdir())


def test_the_interrupt_message_counts_a_cohort_file_as_done(tmp_path, monkeypatch):
    import grader.batch

    real = grader.batch.grade_files

    def stop_after_first(files, grader_, **kwargs):
        on_graded = kwargs["on_graded"]

        def then_stop(t):
            on_graded(t)
            if t.path.endswith("cohort-pairs.csv") and t.candidate == "Ken Ito":
                raise KeyboardInterrupt

        kwargs["on_graded"] = then_stop
        return real(files, grader_, **kwargs)

    monkeypatch.setattr(grader.batch, "grade_files", stop_after_first)
    result = cli("batch", *LEX, SAMPLES / "cohort-pairs.csv", SAMPLES / "alex-chen.txt", "-o", tmp_path / "out",
                 code=130)
    left = result.output.split("not done:")[1]
    assert "cohort-pairs.csv" not in left and "alex-chen.txt" in left


def test_a_transcript_without_candidate_answers_says_so(tmp_path):
    path = tmp_path / "only-questions.txt"
    path.write_text("Interviewer: Explain LoRA mathematically.\nInterviewer: What is mode collapse?\n",
                    encoding="utf-8")
    result = cli("batch", *LEX, path, SAMPLES / "alex-chen.txt", "-o", tmp_path / "out", code=EXIT_FINDINGS)
    assert "only-questions.txt" in result.output and "no candidate answers" in result.output


# --------------------------------------------------------------------------- evaluate: extreme grades


def _strict_json(text: str):
    """JSON as the standard defines it: Infinity and NaN are not JSON."""
    def refuse(name):
        raise ValueError(f"{name} is not valid JSON")
    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_evaluate_with_extreme_grades_writes_valid_json_and_no_warnings(tmp_path, fmt):
    data = tmp_path / "extreme.csv"
    data.write_text("id,question,desired_answer,student_answer,score_avg\n"
                    "q09,,,LoRA learns a low-rank update,1e308\n"
                    "q09,,,I do not know,-1e308\n"
                    "q13,,,top-p samples from the nucleus,1e-308\n"
                    "q13,,,temperature,5\n", encoding="utf-8")
    preds = tmp_path / "preds.csv"
    done = grader_process("evaluate", "-d", data, *LEX, "-f", fmt, "--predictions", preds, "--max-score", "5",
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert all(value in ("", "inf", "-inf") or float(value) == float(value)
               for row in preds.read_text().splitlines()[1:] for value in row.split(",")[2:])
    assert "inf" not in preds.read_text().lower()
    if fmt == "text":
        assert "rmse" in done.stdout and "not a finite number" in done.stdout
        return
    summary = _strict_json(done.stdout)
    assert summary["rmse"] is None and summary["mae"] is not None  # its square overflows; it does not
    assert "rmse" in summary["notes"] and "finite" in summary["notes"]["rmse"]
    assert summary["per_question"]["q09"]["rmse"] is None and "rmse" in summary["per_question"]["q09"]["notes"]
    assert summary["qwk"] is None and "qwk" in summary["notes"]  # steps beyond what an integer holds
    assert all(v is None or isinstance(v, (int, float)) for v in summary["per_question"]["q09"].values()
               if not isinstance(v, dict))
    assert summary["per_question"]["q13"]["rmse"] is not None  # finite figures stay


def test_evaluate_with_ordinary_grades_has_no_notes(tmp_path):
    data = tmp_path / "plain.csv"
    data.write_text("id,question,desired_answer,student_answer,score_avg\n"
                    "q09,,,LoRA learns a low-rank update,4\nq09,,,I do not know,0\n"
                    "q13,,,top-p samples from the nucleus,3\nq13,,,temperature,1\n", encoding="utf-8")
    result = cli("evaluate", "-d", data, *LEX, "-f", "json", code=0)
    summary = _strict_json(result.stdout)
    assert "notes" not in summary and summary["rmse"] is not None and summary["qwk"] is not None


# --------------------------------------------------------------------------- NUL characters in an answer

NUL_ANSWER = "LoRA learns a low-rank update\x00 BA merged into W."


def _no_report(tmp_path: Path, result) -> None:
    errors = errors_of(result.output)
    assert len(errors) == 1 and "NUL" in errors[0], result.output
    assert not (tmp_path / "r.json").exists()


def test_a_nul_in_answer_text_is_refused(tmp_path):
    result = cli("grade", "-q", "q09", *LEX, "--answer", NUL_ANSWER, "-f", "json", "-o", tmp_path / "r.json",
                 code=EXIT_INPUT)
    _no_report(tmp_path, result)
    assert "--answer" in errors_of(result.output)[0]


@pytest.mark.parametrize("prefix", ["", "LoRA " * 3000], ids=["at-the-start", "after-8-KB"])
def test_a_nul_in_an_answer_file_or_stdin_is_refused_naming_its_line(tmp_path, prefix):
    text = prefix + "\n\n" + NUL_ANSWER + "\n"
    path = tmp_path / "answer.txt"
    path.write_text(text, encoding="utf-8")
    result = cli("grade", "-q", "q09", *LEX, "--answer-file", path, "-f", "json", "-o", tmp_path / "r.json",
                 code=EXIT_INPUT)
    _no_report(tmp_path, result)
    assert "answer.txt" in errors_of(result.output)[0]
    if prefix:
        assert "answer.txt:3" in errors_of(result.output)[0]
    for args in (["--answer-file", "-"], ["--answer", "-"], []):
        result = cli("grade", "-q", "q09", *LEX, *args, "-f", "json", "-o", tmp_path / "r.json", input=text,
                     code=EXIT_INPUT)
        _no_report(tmp_path, result)
        assert "<stdin>" in errors_of(result.output)[0]


def test_a_utf16_answer_file_with_a_nul_character_is_refused(tmp_path):
    path = tmp_path / "answer.txt"
    path.write_bytes(NUL_ANSWER.encode("utf-16"))
    result = cli("grade", "-q", "q09", *LEX, "--answer-file", path, "-f", "json", "-o", tmp_path / "r.json",
                 code=EXIT_INPUT)
    _no_report(tmp_path, result)


def test_serve_refuses_a_nul_in_an_answer(lexical_grader):
    from fastapi.testclient import TestClient

    from grader.server import create_app

    client = TestClient(create_app(lexical_grader))
    response = client.post("/grade", json={"question": "q09", "answer": NUL_ANSWER})
    assert response.status_code == 400 and "NUL" in response.json()["error"]["message"]
    response = client.post("/batch", json={"items": [{"question": "q09", "answer": "fine"},
                                                     {"question": "q09", "answer": NUL_ANSWER}]})
    [error] = response.json()["errors"]  # the item is named; the others are graded
    assert error["index"] == 1 and error["error"]["field"] == "items[1].answer" and "NUL" in error["error"]["message"]
    assert response.json()["reports"][1] is None and response.json()["reports"][0]["question_id"] == "q09"


def test_a_review_note_with_a_nul_is_refused(tmp_path):
    path = tmp_path / "r.json"
    cli("grade", "-q", "q09", *LEX, "--answer", "LoRA learns a low-rank update", "-f", "json", "-o", path, code=0)
    before = path.read_bytes()
    result = cli("review", path, "-g", "50", "-r", "Ana", "--note", "fine\x00", code=EXIT_INPUT)
    assert len(errors_of(result.output)) == 1 and "--note" in errors_of(result.output)[0]
    assert path.read_bytes() == before


# --------------------------------------------------------------------------- batch: one report cannot be written


def _blocked_directory(out: Path, name: str) -> Path:
    (out / f"{name}.json").mkdir(parents=True)
    return SAMPLES / f"{name}.txt"


def _name_too_long(out: Path, name: str) -> Path:
    path = out.parent / ("n" * 240 + ".txt")  # readable, but its report's temporary file name is over 255 bytes
    shutil.copy(SAMPLES / f"{name}.txt", path)
    return path


@pytest.mark.parametrize("block", [_blocked_directory, _name_too_long], ids=["target-is-a-folder", "name-too-long"])
def test_a_report_that_cannot_be_written_fails_alone(tmp_path, block):
    out = tmp_path / "out"
    bad = block(out, "alex-chen")
    result = cli("batch", *LEX, bad, SAMPLES / "priya-nair.md", SAMPLES / "dana-lee.vtt", "-o", out,
                 code=EXIT_FINDINGS)
    errors = errors_of(result.output)
    assert len(errors) == 1 and bad.name[:40] in errors[0], result.output
    assert (out / "priya-nair.json").is_file() and (out / "dana-lee.json").is_file()
    summary = json.loads((out / "summary.json").read_text())
    reports = [p for p in out.glob("*.json") if p.is_file() and p.name != "summary.json"]
    assert summary["transcripts"] == len(reports) == 2
    assert len(summary["failed"]) == 1 and "2 reports" in result.output
