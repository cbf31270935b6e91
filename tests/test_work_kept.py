"""Nothing a person typed is ever lost: mentor reviews survive a regrade, interactive review saves as it goes
(Ctrl-C keeps what was entered), concurrent reviews queue, and files holding a person's work are not replaced
without --force. Real components throughout: the CLI, real transcripts, real processes and a real terminal."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.errors import EXIT_INTERRUPTED, EXIT_OUTPUT, EXIT_USAGE
from grader.reports.schemas import load_schema

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
LEX = ["--metrics", "keywords,rouge"]
NOW = "2026-02-01T10:00:00Z"
runner = CliRunner()


def run(*args: str | Path, code: int = 0):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def reviews_in(folder: Path) -> list[tuple[str, str | None, str, float]]:
    """Every review of every JSON transcript report in ``folder``: (file, question, answer text, grade)."""
    out = []
    for path in sorted(folder.glob("*.json")):
        data = load(path)
        if "answers" not in data:
            continue
        for a in data["answers"]:
            out += [(path.name, a["question_id"], a["answer"], r["grade"]) for r in a.get("reviews", [])]
        for o in data.get("orphaned_reviews", []):
            out += [(path.name, o["question_id"], o["answer"], r["grade"]) for r in o["reviews"]]
    return sorted(out)


@pytest.fixture()
def cohort(tmp_path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("alex-chen.txt", "priya-nair.md", "cohort-pairs.csv"):
        shutil.copy(SAMPLES / name, folder / name)
    return folder


@pytest.fixture()
def reviewed(cohort, tmp_path) -> Path:
    """A batch into out/ with a review on every graded answer of every report (grades 10, 11, 12, ...)."""
    out = tmp_path / "out"
    run("batch", *LEX, cohort, "-o", out)
    grade = 10
    for path in sorted(out.glob("*.json")):
        data = load(path)
        if "answers" not in data:
            continue
        for n, a in enumerate(data["answers"], 1):
            if a["score"] is not None:
                run("review", path, "-n", n, "-g", grade, "-r", "Ana", "--note", f"note {grade}", "--now", NOW)
                grade += 1
    assert grade > 14
    return out


@pytest.mark.parametrize("rerun", [
    [*LEX],
    ["--metrics", "keywords"],
    [*LEX, "--resume"],
    ["--metrics", "keywords", "--resume"],
    [*LEX, "--format", "md"],
    [*LEX, "--format", "csv"],
], ids=["same-settings", "other-metrics", "resume", "resume-other-metrics", "other-format-md", "other-format-csv"])
def test_a_rerun_of_batch_keeps_every_review(cohort, reviewed, rerun):
    before = reviews_in(reviewed)
    result = run("batch", cohort, "-o", reviewed, *rerun)
    assert reviews_in(reviewed) == before
    if "--resume" not in rerun or "keywords" in rerun[1:2] and "rouge" not in rerun[1]:
        assert f"carried over {len(before)} mentor review(s)" in result.output
    for path in reviewed.glob("*.json"):
        data = load(path)
        if "answers" in data:
            jsonschema.validate(data, load_schema("transcript"))
    if "md" in rerun:
        md = (reviewed / "alex-chen.md").read_text(encoding="utf-8")
        assert "Mentor's grade" in md
    if "csv" in rerun:
        assert "Ana" in (reviewed / "answers.csv").read_text(encoding="utf-8-sig")


def test_a_changed_answer_keeps_its_review_with_the_old_text(cohort, reviewed, tmp_path):
    before = reviews_in(reviewed)
    data = load(reviewed / "alex-chen.json")
    first = next(a for a in data["answers"] if a["score"] is not None)
    text = (cohort / "alex-chen.txt").read_text(encoding="utf-8")
    words = first["answer"].split()[:6]
    start = text.index(words[0])
    assert start >= 0
    changed = text.replace(" ".join(words), "Honestly I am not sure, " + " ".join(words), 1)
    assert changed != text
    (cohort / "alex-chen.txt").write_text(changed, encoding="utf-8")
    result = run("batch", *LEX, cohort, "-o", reviewed)
    assert "orphaned_reviews" in result.output
    after = load(reviewed / "alex-chen.json")
    jsonschema.validate(after, load_schema("transcript"))
    orphan = after["orphaned_reviews"][0]
    assert orphan["answer"] == first["answer"] and orphan["question_id"] == first["question_id"]
    assert orphan["reviews"] == first["reviews"]
    assert len(reviews_in(reviewed)) == len(before)  # nothing dropped: the rest carried, this one kept aside
    md = run("report", reviewed / "alex-chen.json", "-f", "md").stdout
    html = run("report", reviewed / "alex-chen.json", "-f", "html").stdout
    csv = run("report", reviewed / "alex-chen.json", "-f", "csv").stdout
    for rendered in (md, html, csv):
        assert "earlier answer" in rendered and first["reviews"][0]["note"] in rendered
    # and once the old text is back, the review goes back onto its answer
    (cohort / "alex-chen.txt").write_text(text, encoding="utf-8")
    run("batch", *LEX, cohort, "-o", reviewed)
    assert "orphaned_reviews" not in load(reviewed / "alex-chen.json")
    assert reviews_in(reviewed) == before


def test_grade_over_a_reviewed_report_keeps_the_reviews(tmp_path):
    path = tmp_path / "r.json"
    answer = "LoRA learns a low-rank update BA and merges it into W after training."
    run("grade", "-q", "q09", *LEX, "--answer", answer, "-f", "json", "-o", path)
    run("review", path, "-g", "70", "-r", "Ana", "--now", NOW)
    run("grade", "-q", "q09", *LEX, "--answer", answer, "-f", "json", "-o", path)
    assert [r["grade"] for r in load(path)["reviews"]] == [70.0]
    run("grade", "-q", "q09", *LEX, "--answer", answer + " Also r << d.", "-f", "json", "-o", path)
    data = load(path)
    assert "reviews" not in data and data["orphaned_reviews"][0]["answer"] == answer
    assert data["orphaned_reviews"][0]["reviews"][0]["grade"] == 70.0
    # another format over the reviewed report: refused, the file unchanged; --force replaces it. (Markdown into
    # a .json name is a usage error in itself, so the reviewed report is kept under a name without a format.)
    kept = path.read_text(encoding="utf-8")
    run("grade", "-q", "q09", *LEX, "--answer", answer, "-f", "md", "-o", path, code=EXIT_USAGE)
    path = tmp_path / "r.saved"
    path.write_text(kept, encoding="utf-8")
    result = run("grade", "-q", "q09", *LEX, "--answer", answer, "-f", "md", "-o", path, code=EXIT_OUTPUT)
    assert "--force" in result.output and "1 mentor review" in result.output
    assert path.read_text(encoding="utf-8") == kept
    run("report", tmp_path / "r.json", "-f", "html", "-o", path, code=EXIT_OUTPUT)
    run("grade", "-q", "q09", *LEX, "--answer", answer, "-f", "md", "-o", path, "--force")
    assert path.read_text(encoding="utf-8").startswith("## q09")


def _calibration_file(path: Path) -> None:
    from grader.scoring.calibration import dump_calibration

    path.write_text(dump_calibration(["rouge1_recall"], [50.0], 10.0, 5.0, 6, {"pearson": 0.5},
                                     {"file": "x.csv"}), encoding="utf-8")


def test_files_holding_a_persons_work_are_not_replaced_without_force(tmp_path):
    from grader.mentor.history import History

    calibration = tmp_path / "calibration.json"
    _calibration_file(calibration)
    history = tmp_path / "history.sqlite3"
    with History(history):
        pass
    saved = {p: p.read_bytes() for p in (calibration, history)}
    data = str(REPO / "tests" / "data" / "graded-small.csv")
    report = tmp_path / "r.json"
    run("grade", "-q", "q09", *LEX, "--answer", "low rank", "-f", "json", "-o", report)
    cases = [
        (["calibrate", "--dataset", data, "--out", calibration], "a calibration file"),
        (["evaluate", *LEX, "--dataset", data, "--predictions", calibration], "a calibration file"),
        (["grade", "-q", "q09", *LEX, "--answer", "x", "-o", history], "SQLite database"),
        (["report", report, "-o", history], "SQLite database"),
        (["history", "--history-db", history, "-o", calibration], "a calibration file"),
    ]
    for args, what in cases:
        result = run(*args, code=EXIT_OUTPUT)
        errors = [line for line in result.output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and what in errors[0] and "--force" in errors[0], result.output
    assert {p: p.read_bytes() for p in saved} == saved
    run("report", report, "-f", "html", "-o", history, "--force")
    assert history.read_text(encoding="utf-8").lower().startswith("<!doctype html>")


# --------------------------------------------------------------------------- review: saved as it goes


def _pty_session(argv: list[str], cwd: Path, script: list[tuple[str, bytes]], timeout: float = 60) -> tuple[int, str]:
    """Run ``argv`` on a real pseudo-terminal; for each (prompt, keys) wait for the prompt, then type the keys
    (b"\\x03" is Ctrl-C, turned into SIGINT by the terminal). Returns the exit code and everything shown."""
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:  # the child: the command, with the pty as its controlling terminal
        os.chdir(cwd)
        os.execv(sys.executable, [sys.executable, *argv])
    shown = b""
    deadline = time.monotonic() + timeout
    steps = list(script)
    start = 0  # a prompt is looked for after the one answered before it (the same prompt may come again)
    try:
        while True:
            pos = shown.find(steps[0][0].encode(), start) if steps else -1
            if pos >= 0:
                prompt, keys = steps.pop(0)
                shown = shown[:pos] + b"<" + prompt.encode() + b">" + shown[pos + len(prompt.encode()):]
                start = pos + len(prompt.encode()) + 2
                time.sleep(0.1)
                os.write(fd, keys)
            assert time.monotonic() < deadline, f"timed out; shown so far:\n{shown.decode(errors='replace')}"
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
    finally:
        ended, status = os.waitpid(pid, os.WNOHANG)
        if not ended:  # still running after a failed step (waiting for keys that will not come): end it
            time.sleep(0.5)
            ended, status = os.waitpid(pid, os.WNOHANG)
            if not ended:
                os.kill(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


def test_ctrl_c_in_interactive_review_keeps_the_reviews_entered(cohort, tmp_path):
    out = tmp_path / "out"
    run("batch", *LEX, cohort / "alex-chen.txt", "-o", out)
    path = out / "alex-chen.json"
    graded = [a for a in load(path)["answers"] if a["score"] is not None]
    assert len(graded) >= 3
    before = path.read_text(encoding="utf-8")
    code, shown = _pty_session(
        ["-m", "grader", "review", str(path), "-r", "Ana"], tmp_path,
        [("Your grade", b"61\r"), ("Note", b"first\r"), ("Your grade", b"62\r"), ("Note", b"second\r"),
         ("Your grade", b"\x03")])
    assert code == EXIT_INTERRUPTED, shown
    assert "Traceback" not in shown and "2 review(s) saved" in shown, shown
    after = load(path)
    reviews = [(a["question_id"], r["grade"], r["note"]) for a in after["answers"] for r in a.get("reviews", [])]
    assert reviews == [(graded[0]["question_id"], 61.0, "first"), (graded[1]["question_id"], 62.0, "second")]
    assert {k: v for k, v in after.items() if k != "answers"} == {k: v for k, v in json.loads(before).items()
                                                                  if k != "answers"}
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_concurrent_reviews_of_one_report_are_all_kept(tmp_path):
    path = tmp_path / "r.json"
    run("grade", "-q", "q09", *LEX, "--answer", "LoRA learns a low-rank update BA.", "-f", "json", "-o", path)
    procs = [subprocess.Popen([sys.executable, "-m", "grader", "review", str(path), "-g", str(50 + n), "-r",
                               f"Mentor {n}"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for n in range(6)]
    outputs = [p.communicate(timeout=120)[0].decode() for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    reviewers = sorted(r["reviewer"] for r in load(path)["reviews"])
    assert reviewers == [f"Mentor {n}" for n in range(6)]


def test_a_grade_just_over_the_limit_is_named_exactly(tmp_path):
    path = tmp_path / "r.json"
    run("grade", "-q", "q09", *LEX, "--answer", "low rank", "-f", "json", "-o", path)
    result = run("review", path, "-g", "100.0000001", "-r", "Ana", code=3)
    assert "got 100.0000001" in result.output


# --------------------------------------------------------------------------- practice: text typed ahead

TYPED_AHEAD = "LoRA freezes W and learns a low-rank update BA"


def _after(shown: str, marker: str) -> str:
    assert marker in shown, shown
    return shown.split(marker, 1)[1]


@pytest.fixture()
def plain_terminal(monkeypatch):
    """The practice loop on a plain, wide terminal (no colour codes between the words the tests look for)."""
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "160")
    monkeypatch.setenv("TERM", "dumb")


@pytest.mark.parametrize("use_it", [True, False], ids=["kept-for-the-next-answer", "set-aside-after-being-shown"])
def test_practice_shows_text_typed_while_grading_and_offers_it_for_the_next_answer(tmp_path, plain_terminal,
                                                                                     use_it):
    """The learner ends an answer (a line with only '.') and types on (a next thought) while the answer is graded:
    that text is shown after the report and offered as the start of the next answer."""
    keys = [("Your answer", b"I am not sure.\r.\r" + TYPED_AHEAD.encode() + b"\r"),
            ("start of your next answer", b"\r" if use_it else b"n\r"), ("What next", b"\r")]
    keys += [("Your answer", b".\r")] if use_it else [("Your answer", b"top-p\r.\r")]
    keys += [("What next", b"q\r")]
    code, shown = _pty_session(["-m", "grader", "practice", "--topic", "lora", "--seed", "1", *LEX], tmp_path,
                               keys)
    assert code == 0 and "Traceback" not in shown, shown
    after_report = _after(shown, "/ 100")
    offer = after_report.split("start of your next answer")[0]
    assert TYPED_AHEAD in offer, shown  # shown after the report, not only echoed while it was typed
    second = _after(after_report, "<Your answer>")
    if use_it:
        assert TYPED_AHEAD in second.split("/ 100")[0], shown  # shown as the start of the answer
        assert "Evidence" in second.split("/ 100")[1], shown  # and graded with it (quoted as evidence)
    else:
        assert "set aside" in after_report.split("What next")[0].lower(), shown
        assert TYPED_AHEAD not in second, shown


def test_practice_shows_text_typed_while_the_last_answer_was_graded(tmp_path, plain_terminal):
    """A partial line (no Enter) typed while the last answer is graded is shown, not left for the shell; kept and
    never used, it is shown again in the session summary."""
    code, shown = _pty_session(["-m", "grader", "practice", "-q", "q09", *LEX], tmp_path,
                               [("Your answer", b"I am not sure.\r.\r" + TYPED_AHEAD.encode()),
                                ("start of your next answer", b"\r"), ("What next", b"\r")])
    assert code == 0 and "Traceback" not in shown, shown
    assert TYPED_AHEAD in _after(shown, "/ 100"), shown
    assert TYPED_AHEAD in _after(shown, "Typed but not graded"), shown


def test_practice_keeps_an_answer_given_where_a_yes_or_no_was_asked():
    """Piped (or typed) answers that run on past the report: a line that is not one of the choices offered is the
    next answer's start, never dropped as a reply."""
    result = runner.invoke(app, ["practice", "--topic", "lora", "--seed", "1", *LEX],
                           input=f"I am not sure.\n.\n{TYPED_AHEAD}\n.\n")
    assert result.exit_code == 0, result.output
    second = result.output.split("/ 100", 2)
    assert len(second) == 3 and "Evidence" not in second[1] and "Evidence" in second[2], result.output
    assert TYPED_AHEAD in second[1], result.output
