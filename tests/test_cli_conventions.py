"""What users of Python command lines expect: --version, -h, help without Python types, usage errors for bad
formats, formats from the output's extension, the user's umask, no folder trees made from typos; and the
coach's and mentor's commands built on them (batch, review, report)."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
import time
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from grader._version import __version__
from grader.cli import app
from grader.errors import EXIT_OUTPUT, EXIT_USAGE

from .conftest import REPO

runner = CliRunner()
LEX = ["--metrics", "keywords,rouge"]
SAMPLES = REPO / "samples"
ANSWER = "LoRA freezes W and learns a low-rank update BA; after training BA is merged into W, so no latency."


def invoke(*args, input=None, env=None):
    base = {"GRADER_HISTORY": "", "GRADER_NOW": "", "COLUMNS": "160"}
    return runner.invoke(app, [str(a) for a in args], input=input, env={**base, **(env or {})})


def ok(result):
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


def errors_of(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def commands(group=None, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group ``grader --help`` lists, as argv prefixes (("bank", "check"), ...)."""
    group = group or typer.main.get_command(app)
    out = []
    for name, command in group.commands.items():
        if getattr(command, "hidden", False):
            continue
        out.append((*prefix, name))
        if hasattr(command, "commands"):
            out += commands(command, (*prefix, name))
    return out


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    """Dana Lee's interview graded into a batch folder (JSON)."""
    out = tmp_path_factory.mktemp("cohort") / "out"
    ok(invoke("batch", SAMPLES / "dana-lee.vtt", SAMPLES / "alex-chen.txt", "-o", out, *LEX))
    return out


# --------------------------------------------------------------------------- --version, -h, bare grader, help


def test_version_help_and_bare_grader_exit_0():
    version = ok(invoke("--version"))
    assert version.stdout.strip() == f"grader {__version__}"
    short, long = ok(invoke("-h")), ok(invoke("--help"))
    assert short.stdout == long.stdout and "Usage: grader" in short.stdout
    for args in ([], ["bank"], ["rubric"]):  # a bare group prints its help and succeeds
        result = ok(invoke(*args))
        assert "Usage: grader" in result.output and "Commands" in result.output
    assert ok(invoke("grade", "-h")).stdout == ok(invoke("grade", "--help")).stdout


def test_help_of_every_command_shows_no_python_types():
    """typer's rich help prints ``--record <bool>`` and ``paths... <list[str]>``: none of that, anywhere."""
    python_type = re.compile(r"<(bool|str|int|float|path|list\[[^\]]*\]|[a-z]+\|[a-z|]+)>")
    listed = commands()
    assert ("batch",) in listed and ("bank", "check") in listed and len(listed) >= 14
    for argv in [(), *listed]:
        result = ok(invoke(*argv, "--help"))
        assert not python_type.search(result.output), f"grader {' '.join(argv)} --help:\n{result.output}"
    batch = ok(invoke("batch", "--help")).output
    assert "PATHS..." in batch and re.search(r"--record\s+Record", batch)  # a flag shows no metavar
    assert re.search(r"--output-dir\s+-o\s+PATH", batch) and re.search(r"--format\s+-f\s+TEXT", batch)


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize("argv", [
    ["grade", "-q", "q09", "--answer", ANSWER, *LEX],
    ["questions"],
    ["batch", str(SAMPLES / "dana-lee.vtt"), *LEX],
    ["report", "{single}"],
    ["agreement", "{folder}"],
    ["evaluate", "--dataset", str(REPO / "tests" / "data" / "graded-small.csv"), *LEX],
    ["calibrate", "--dataset", str(REPO / "tests" / "data" / "graded-small.csv")],
])
def test_an_unknown_format_is_a_usage_error(tmp_path, argv):
    single = tmp_path / "r.json"
    ok(invoke("grade", "-q", "q09", "--answer", ANSWER, *LEX, "-o", single))
    argv = [a.replace("{single}", str(single)).replace("{folder}", str(tmp_path)) for a in argv]
    result = invoke(*argv, "--format", "pdf", *(["-o", tmp_path / "out"] if argv[0] == "batch" else []))
    assert result.exit_code == EXIT_USAGE, result.output
    [error] = errors_of(result.output)
    assert "[--format]" in error and "'pdf'" in error and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_format_and_metrics_names_are_both_case_insensitive():
    report = json.loads(ok(invoke("grade", "-q", "q09", "--answer", ANSWER, "-f", "JSON",
                                  "--metrics", "Keywords,ROUGE")).stdout)
    assert report["signature"]["metrics"] == ["keywords", "rouge"]
    assert json.loads(ok(invoke("questions", "-f", "Json")).stdout)[0]["id"] == "q01"


@pytest.mark.parametrize("name,start", [("r.html", "<!DOCTYPE html>"), ("r.HTM", "<!DOCTYPE html>"),
                                        ("r.json", "{"), ("r.md", "## q09"), ("r.csv", "\ufeffsource,")])
def test_the_format_follows_the_output_extension(tmp_path, name, start):
    path = tmp_path / name
    ok(invoke("grade", "-q", "q09", "--answer", ANSWER, *LEX, "-o", path))
    assert path.read_text(encoding="utf-8").startswith(start)


def test_a_format_that_contradicts_the_extension_is_refused(tmp_path):
    path = tmp_path / "r.html"
    result = invoke("grade", "-q", "q09", "--answer", ANSWER, *LEX, "-f", "md", "-o", path)
    assert result.exit_code == EXIT_USAGE and not path.exists()
    [error] = errors_of(result.output)
    assert "--format md" in error and "r.html" in error
    ok(invoke("grade", "-q", "q09", "--answer", ANSWER, *LEX, "-f", "HTML", "-o", path))  # agreeing: fine
    report = tmp_path / "r.json"
    ok(invoke("grade", "-q", "q09", "--answer", ANSWER, *LEX, "-o", report))
    assert invoke("report", report, "-f", "csv", "-o", tmp_path / "x.md").exit_code == EXIT_USAGE
    ok(invoke("report", report, "-o", tmp_path / "x.html"))
    assert (tmp_path / "x.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


# --------------------------------------------------------------------------- files: umask, no trees


@pytest.fixture()
def umask():
    """Set the process umask for one test and put the old one back."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("mask,mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_reports_are_created_with_the_users_umask(tmp_path, umask, mask, mode):
    umask(mask)
    path = tmp_path / "r.json"
    ok(invoke("grade", "-q", "q09", "--answer", ANSWER, *LEX, "-o", path))
    assert stat.S_IMODE(path.stat().st_mode) == mode
    ok(invoke("batch", SAMPLES / "dana-lee.vtt", "-o", tmp_path / "out", "-f", "html", *LEX))
    files = sorted((tmp_path / "out").iterdir())
    assert files and {stat.S_IMODE(p.stat().st_mode) for p in files} == {mode}
    os.chmod(path, 0o600)  # a file the user made private stays private when it is rewritten (a review)
    ok(invoke("review", path, "-g", "60", "-r", "Ana"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("argv", [
    ["grade", "-q", "q09", "--answer", ANSWER, *LEX, "-o", "{T}/missing/deeper/r.json"],
    ["report", "{T}/r.json", "-o", "{T}/missing/r.html"],
    ["batch", str(SAMPLES / "dana-lee.vtt"), *LEX, "-o", "{T}/missing/deeper/out"],
    ["agreement", "{T}", "-o", "{T}/missing/a.txt"],
])
def test_output_into_a_missing_folder_is_an_error_not_a_new_tree(tmp_path, argv):
    ok(invoke("grade", "-q", "q09", "--answer", ANSWER, *LEX, "-o", tmp_path / "r.json"))
    ok(invoke("review", tmp_path / "r.json", "-g", "60", "-r", "Ana"))
    result = invoke(*[a.replace("{T}", str(tmp_path)) for a in argv])
    assert result.exit_code == EXIT_OUTPUT, result.output
    [error] = errors_of(result.output)
    assert "does not exist" in error and "missing" in error
    assert not (tmp_path / "missing").exists()


def test_batch_still_creates_its_own_output_folder(tmp_path):
    ok(invoke("batch", SAMPLES / "dana-lee.vtt", *LEX, "-o", tmp_path / "new"))
    assert (tmp_path / "new" / "dana-lee.json").is_file()


# --------------------------------------------------------------------------- batch: JSON beside any format


@pytest.mark.parametrize("fmt", ["html", "md", "csv"])
def test_batch_writes_the_json_beside_every_format_so_it_can_be_reviewed_and_resumed(tmp_path, fmt):
    out = tmp_path / "out"
    inputs = [SAMPLES / "dana-lee.vtt", SAMPLES / "alex-chen.txt"]
    ok(invoke("batch", *inputs, "-o", out, "-f", fmt, *LEX))
    for stem in ("dana-lee", "alex-chen"):
        assert (out / f"{stem}.{fmt}").is_file() and json.loads((out / f"{stem}.json").read_text())["answers"]
    ok(invoke("review", out / "dana-lee.json", "-q", "q09", "-g", "55", "-r", "Ana"))
    (out / "alex-chen.json").unlink()  # as if the batch had been interrupted before this one
    again = ok(invoke("batch", *inputs, "-o", out, "-f", fmt, "--resume", *LEX))
    assert "dana-lee.vtt: report current, kept (--resume)" in again.output
    assert "alex-chen.txt: Alex Chen" in again.output and (out / "alex-chen.json").is_file()
    reviewed = json.loads((out / "dana-lee.json").read_text())
    assert [r["grade"] for a in reviewed["answers"] for r in a.get("reviews", [])] == [55.0]


def test_answers_csv_marks_small_talk_in_an_appended_column(tmp_path):
    out = tmp_path / "out"
    ok(invoke("batch", SAMPLES / "dana-lee.vtt", SAMPLES / "alex-chen.txt", "-o", out, "-f", "csv", *LEX))
    text = (out / "answers.csv").read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text[1:], newline=""))
    rows = list(reader)
    assert reader.fieldnames.index("kind") == reader.fieldnames.index("errors") + 1  # appended, never moved
    talk = [r for r in rows if r["kind"] == "small_talk"]
    graded = [r for r in rows if r["kind"] == "answer"]
    assert talk and graded and len(talk) + len(graded) == len(rows)
    assert all(not r["question_id"] and not r["score"] for r in talk)
    assert all(r["question_id"] and r["score"] for r in graded)
    assert any("weekend" in r["asked"] for r in talk)


# --------------------------------------------------------------------------- review and report


def _local(stamp: str) -> str:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone().strftime("%Y-%m-%d %H:%M %Z")


@pytest.fixture()
def paris(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_interactive_review_shows_band_flags_feedback_and_follow_ups(cohort, tmp_path, paris):
    path = tmp_path / "dana.json"
    path.write_bytes((cohort / "dana-lee.json").read_bytes())
    ok(invoke("review", path, "-q", "q09", "-g", "40", "-r", "Ana", "--note", "missed the merge",
              "--now", "2025-03-04T09:30:00Z"))
    data = json.loads(path.read_text())
    entry = next(a for a in data["answers"] if a["question_id"] == "q09")
    result = ok(invoke("review", path, "-q", "q09", input="Ben\n55\nbetter on reflection\n"))
    shown = result.stdout
    assert f"Automatic score: {entry['score']:.1f} {entry['band']}" in shown
    assert entry["flags"] and all(flag in shown for flag in entry["flags"])
    assert entry["feedback"][0][:60] in " ".join(shown.split())
    assert entry["follow_ups"] and f"Interviewer follow-up: {entry['follow_ups'][0][:40]}" in shown
    assert "Earlier review: 40 by Ana, 2025-03-04 10:30 CET: missed the merge" in shown  # local time
    assert shown.index("Interviewer follow-up") < shown.index("Automatic score") < shown.index("Your grade")
    assert [r["grade"] for r in json.loads(path.read_text())["answers"][1]["reviews"]] == [40.0, 55.0]


@pytest.mark.parametrize("name", ["single", "dana-lee", "summary"])
def test_report_prints_a_readable_text_view_by_default(cohort, tmp_path, paris, name):
    if name == "single":
        path = tmp_path / "r.json"
        ok(invoke("grade", "-q", "q09", "--answer", ANSWER, *LEX, "-o", path))
        ok(invoke("review", path, "-g", "70", "-r", "Ana", "--now", "2025-03-04T09:30:00Z"))
    else:
        path = cohort / f"{name}.json"
    data = json.loads(path.read_text())
    text = ok(invoke("report", path)).stdout
    assert not text.lstrip().startswith(("<", "{", "#", "\ufeff")) and "<div" not in text
    if name == "single":
        assert f"q09: {data['question']}" in text and f"score {data['score']:.1f} / 100  {data['band']}" in text
        assert "mentor 70 by Ana, 2025-03-04 10:30 CET" in text and ANSWER[:40] in text
    elif name == "dana-lee":
        assert "Dana Lee" in text and f"overall {data['overall_score']:.1f}" in text
        assert all(f"{a['question_id']}: " in text for a in data["answers"] if a["question_id"])
        assert "Follow-up: Does it have to, though?" in text and "small talk" in text
    else:
        assert all(c["candidate"] in text for c in data["per_candidate"]) and "q09" in text
    assert ok(invoke("report", path, "-f", "TEXT")).stdout == text


def test_history_takes_its_format_from_the_output_and_shows_local_times(tmp_path, monkeypatch):
    from grader.cli import app

    db = tmp_path / "h.sqlite3"
    monkeypatch.setenv("GRADER_HISTORY_DB", str(db))
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    run = CliRunner().invoke
    assert run(app, ["grade", "-q", "q09", "--answer", "LoRA learns a low-rank update BA", "--metrics",
                     "keywords,rouge", "--record"]).exit_code == 0
    page = tmp_path / "progress.html"
    assert run(app, ["history", "-o", str(page)]).exit_code == 0
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    clash = run(app, ["history", "-f", "HTML", "-o", str(tmp_path / "p.json")])
    assert clash.exit_code == 2 and not (tmp_path / "p.json").exists()
    text = run(app, ["history", "-f", "TEXT"])
    assert text.exit_code == 0 and "UTC" not in text.output and re.search(r"CES?T", text.output), text.output
    monkeypatch.delenv("TZ")
    time.tzset()
