"""The LLM judge wired into grader (issue: --judge on grade, practice, batch, evaluate and serve), against the
scripted OpenAI-compatible server on 127.0.0.1 (tests/judge_stub.py): the judge block, its share of the score,
its flags with their quoted evidence in every report format, the signature, the key never written, failures
that keep every report, batch concurrency, and nothing changed without --judge."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.reports.schemas import check
from tests.judge_stub import StubServer, answer_of, verdict_content

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
LEX = ["--metrics", "keywords,rouge"]
KEY = "sk-SENTINEL-never-in-a-file-5e1d"
WRONG = "LoRA adds inference latency"
ANSWER = (f"LoRA learns a low-rank update BA while W stays frozen. {WRONG} because every forward pass goes "
          "through the adapter.")


def invoke(*args, env=None, cache=None):
    environment = {k: "" for k in os.environ if k.startswith("GRADER_JUDGE")}
    environment.update({"GRADER_HISTORY": "", "GRADER_JUDGE_API_KEY": KEY,
                        "GRADER_JUDGE_CACHE_DIR": str(cache) if cache else ""}, **(env or {}))
    return CliRunner().invoke(app, [str(a) for a in args], env=environment)


def contradicting(body):
    """A judge that grades 5 and quotes the wrong claim when the answer holds it (else a plain 3)."""
    answer = answer_of(body)
    if WRONG in answer:
        return 200, verdict_content(body, grade=5, errors=[{"quote": WRONG, "why": "BA is merged into W"}])
    return 200, verdict_content(body, grade=3)


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "judge-cache"


def test_grade_with_judge_in_every_format(tmp_path, cache):
    """The judge's grade, share, quoted contradiction and disagreement in JSON, text, Markdown, HTML and CSV; the
    signature names model, prompt hash and server id; the API key is sent, but written nowhere."""
    out = tmp_path / "out"
    out.mkdir()
    with StubServer(reply=contradicting, models=["stub-model"]) as stub:
        judge = ["--judge", stub.url, "--judge-model", "stub-model"]
        plain = invoke("grade", "-q", "q09", "--answer", ANSWER, *LEX, "-f", "json")
        for fmt in ("json", "md", "html", "csv"):
            result = invoke("grade", "-q", "q09", "--answer", ANSWER, *LEX, *judge, "-o", out / f"r.{fmt}",
                            cache=cache)
            assert result.exit_code == 0, result.output
        text = invoke("grade", "-q", "q09", "--answer", ANSWER, *LEX, *judge, "-f", "text", cache=cache)
    assert plain.exit_code == 0 and text.exit_code == 0, text.output
    assert all(r["headers"].get("Authorization") == f"Bearer {KEY}" for r in stub.requests)
    assert len(stub.chat_requests) == 1  # one answer, asked once: the other four runs read the cache
    report = json.loads((out / "r.json").read_text(encoding="utf-8"))
    check(report, "question")
    block = report["judge"]
    assert block["grade"] == 5 and block["score"] == 100 and block["weight"] == 0.25 and block["failed"] is None
    before = json.loads(plain.stdout)
    assert "judge" not in before and "judge" not in before["signature"]
    assert block["metrics_score"] >= before["score"]  # the guards come after the judge, so capped scores differ
    assert report["score"] != before["score"]
    assert {"judge-contradiction", "judge-disagrees"} <= set(report["flags"])
    flags = {f["flag"]: f for f in block["flags"]}
    contradiction = flags["judge-contradiction"]
    assert contradiction["quote"] == WRONG and contradiction["why"] == "BA is merged into W"
    assert flags["judge-disagrees"]["judge"] == 100
    signature = report["signature"]["judge"]
    assert signature["model"] == "stub-model" and signature["server_model_id"] == "stub-model"
    assert len(signature["prompt_sha256"]) == 64 and block["server_model_id"] == "stub-model-Q4"
    rendered = {fmt: (out / f"r.{fmt}").read_text(encoding="utf-8") for fmt in ("md", "html", "csv")}
    rendered["text"] = text.stdout
    for fmt, page in rendered.items():
        flat = " ".join(page.replace("\\", "").split())
        assert f"judge: contradiction: {_quoted(fmt, WRONG)}" in flat, fmt
        assert "judge disagrees: the judge gives 5/5" in flat, fmt
        assert "LLM judge" in flat or fmt == "csv", fmt
    header, row = rendered["csv"].lstrip("\ufeff").splitlines()[:2]
    assert header.endswith(",errors,kind,judge_grade,judge_notes") and ",5," in row
    written = [p for p in list(out.rglob("*")) + list(cache.rglob("*")) if p.is_file()]
    assert len(list(cache.rglob("*.json"))) == 1
    for path in written:
        assert KEY not in path.read_text(encoding="utf-8", errors="replace"), path
    assert KEY not in text.output


def _quoted(fmt: str, text: str) -> str:
    return {"html": f"&#34;{text}&#34;", "csv": f'""{text}""'}.get(fmt, f'"{text}"')


@pytest.mark.parametrize("plan, reason", [
    ([("status", 500)], "HTTP 500"),
    ([("status", 429, {"Retry-After": "0"})], "HTTP 429"),
    ([("content", "not json at all")], "invalid reply twice"),
    ([("raw", "<html>oops</html>")], "is not JSON"),
    ([("sleep", 3)], "timeout"),
])
def test_a_failing_judge_keeps_every_report(plan, reason, tmp_path, cache):
    """Every error path of the judge is a `judge: failed` flag on the answer, with the reason; the batch writes
    every report and its summary, exit 0, no traceback; the score is the one without the judge."""
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SAMPLES / "alex-chen.txt", folder)
    out = tmp_path / "reports"
    with StubServer(plan=plan) as stub:
        result = invoke("batch", folder, "-o", out, "-f", "md", *LEX, "--judge", stub.url, "--judge-model",
                        "stub-model", "--judge-timeout", "1", "--judge-concurrency", "2", cache=cache)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and (out / "summary.json").exists()
    report = json.loads((out / "alex-chen.json").read_text(encoding="utf-8"))
    check(report, "transcript")
    graded = [a for a in report["answers"] if a["question_id"]]
    assert graded
    plain = tmp_path / "plain"
    assert invoke("batch", folder, "-o", plain, *LEX).exit_code == 0
    scores = [a["score"] for a in json.loads((plain / "alex-chen.json").read_text())["answers"] if a["question_id"]]
    assert [a["score"] for a in graded] == scores
    for answer in graded:
        assert "judge-failed" in answer["flags"] and answer["judge"]["grade"] is None
        assert reason in answer["judge"]["failed"] and "\n" not in answer["judge"]["failed"]
    page = (out / "alex-chen.md").read_text(encoding="utf-8")
    assert page.count("- judge: failed: ") == len(graded) and reason in page
    assert "|judge:stub-model|server:stub-model|prompt:" in page  # the signature footer names the judge
    assert not list(cache.rglob("*.json"))  # a failure is not cached: asked again next time


def test_batch_judges_with_concurrency_and_a_progress_bar(tmp_path, cache):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("alex-chen.txt", "dana-lee.vtt"):
        shutil.copy(SAMPLES / name, folder)
    busy, peak, lock = [0], [0], threading.Lock()

    def slow(body):
        with lock:
            busy[0] += 1
            peak[0] = max(peak[0], busy[0])
        time.sleep(0.2)
        with lock:
            busy[0] -= 1
        return 200, verdict_content(body, grade=4)

    out = tmp_path / "reports"
    with StubServer(reply=slow) as stub:
        result = invoke("batch", folder, "-o", out, *LEX, "--judge", stub.url, "--judge-model", "stub-model",
                        "--judge-concurrency", "2", cache=cache)
    assert result.exit_code == 0, result.output
    answers = [a for name in ("alex-chen", "dana-lee")
               for a in json.loads((out / f"{name}.json").read_text())["answers"] if a["question_id"]]
    assert len(stub.chat_requests) == len(answers) > 2 and peak[0] == 2
    assert all(a["judge"]["grade"] == 4 for a in answers)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["signature"]["judge"]["model"] == "stub-model"
    check(summary, "summary")


def test_the_cohort_page_puts_judge_disagreements_first(tmp_path, cache):
    """An unreviewed answer the judge disagrees with (or quotes a contradiction in) goes up the mentor's list."""
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SAMPLES / "alex-chen.txt", folder)
    out = tmp_path / "reports"
    with StubServer(reply=lambda body: (200, verdict_content(body, grade=0))) as stub:
        result = invoke("batch", folder, "-o", out, "-f", "html", *LEX, "--judge", stub.url, "--judge-model",
                        "stub-model", cache=cache)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    check(summary, "summary")
    cells = summary["per_candidate"][0]["answers"]
    disagreed = [c for c in cells if "judge-disagrees" in c["judge_flags"]]
    assert disagreed and all(c["judge_flags"] == [] for c in cells if c not in disagreed)
    from grader.reports.cohort import attention

    # Above every answer nothing is flagged on, whatever their scores (an answer with a misconception and a
    # contradiction of its own may still come first: it has more flags).
    order = sorted(cells, key=attention)
    plain = [c for c in cells if not (c.get("misconceptions") or c.get("contradictions") or c["judge_flags"])]
    assert plain and any(c["score"] < d["score"] for c in plain for d in disagreed)
    assert all(order.index(d) < order.index(c) for d in disagreed for c in plain)
    assert "the LLM judge disagrees with the other metrics" in (out / "summary.html").read_text(encoding="utf-8")


def test_batch_progress_follows_the_judge(tmp_path, cache):
    """The batch's progress callback gets a "judge" stage as each answer is judged."""
    from grader.bank import load_bank
    from grader.batch import run_batch
    from grader.cli.coach import _follow_judge
    from grader.judge import Judge
    from grader.scoring.engine import Grader

    with StubServer() as stub:
        grader = Grader(load_bank(), metrics="keywords,rouge",
                        judge=Judge(stub.url, "stub-model", cache_dir=cache), judge_concurrency=2)
        seen = []
        _follow_judge(grader, lambda stage, done, total: seen.append((stage, done, total)))
        run_batch([str(SAMPLES / "alex-chen.txt")], grader, progress=lambda *a: None)
    assert seen and seen[-1][0] == "judge" and seen[-1][1] == seen[-1][2] == len(stub.chat_requests)
    assert [s[1] for s in seen] == list(range(1, len(seen) + 1))


@pytest.mark.parametrize("command", [
    ["grade", "-q", "q09", "--answer", ANSWER, *LEX],
    ["batch", str(SAMPLES / "alex-chen.txt"), "-o", "{tmp}/reports", *LEX],
    ["evaluate", "--dataset", str(REPO / "tests" / "data" / "graded-small.csv"), *LEX],
    ["serve", "--port", "1", *LEX],
    ["practice", "-q", "q09", *LEX],
])
def test_wrong_model_is_one_line_and_exit_5_before_grading(command, tmp_path):
    with StubServer(models=["gemma-3-270m"]) as stub:
        args = [a.replace("{tmp}", str(tmp_path)) for a in command]
        result = invoke(*args, "--judge", stub.url, "--judge-model", "gpt-4o")
    assert result.exit_code == 5, result.output
    assert "does not serve model 'gpt-4o'; it serves: gemma-3-270m" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not stub.chat_requests
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("args, code, message", [
    (["--judge", "http://127.0.0.1:9/v1", "--judge-model", "m"], 5, "connection refused"),
    (["--judge", "http://example.com/v1", "--judge-model", "m"], 5, "plain http is allowed only to a loopback"),
    (["--judge", "http://127.0.0.1:9/v1"], 2, "--judge needs --judge-model"),
    (["--judge-model", "m"], 2, "--judge-model needs --judge URL"),
])
def test_judge_option_errors_are_one_line(args, code, message):
    result = invoke("grade", "-q", "q09", "--answer", ANSWER, *LEX, *args)
    assert result.exit_code == code, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_batch_judge_needs_the_local_engine(tmp_path):
    result = invoke("batch", SAMPLES / "alex-chen.txt", "-o", tmp_path / "r", *LEX, "--engine", "ray", "--judge",
                    "http://127.0.0.1:9/v1", "--judge-model", "m")
    assert result.exit_code == 2 and "--engine local only" in result.output


def test_judge_url_from_the_environment(tmp_path, cache):
    with StubServer() as stub:
        result = invoke("grade", "-q", "q09", "--answer", ANSWER, *LEX, "--judge-model", "stub-model", "-f", "json",
                        env={"GRADER_JUDGE_URL": stub.url}, cache=cache)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["judge"]["grade"] == 3 and len(stub.chat_requests) == 1


def test_a_weights_file_sets_the_judge_share(tmp_path, cache):
    """A weights file's judge: section wins over grader/data/judge.yaml (checked when read, field named); with
    weight 0 the judge is shown but the score is the one without it."""
    bundled = (REPO / "grader" / "data" / "weights.yaml").read_text(encoding="utf-8")
    zero = tmp_path / "zero.yaml"
    zero.write_text(bundled + "\njudge:\n  weight: 0\n  disagreement_margin: 10\n", encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(bundled + "\njudge:\n  weight: 2\n", encoding="utf-8")
    with StubServer(plan=[("grade", 5)]) as stub:
        judge = ["--judge", stub.url, "--judge-model", "stub-model"]
        judged = invoke("grade", "-q", "q09", "--answer", ANSWER, *LEX, *judge, "--weights", zero, "-f", "json",
                        cache=cache)
        refused = invoke("grade", "-q", "q09", "--answer", ANSWER, *LEX, *judge, "--weights", bad)
    plain = invoke("grade", "-q", "q09", "--answer", ANSWER, *LEX, "-f", "json")
    assert judged.exit_code == 0 and plain.exit_code == 0, judged.output
    report, before = json.loads(judged.stdout), json.loads(plain.stdout)
    assert report["score"] == before["score"] and report["judge"]["weight"] == 0
    assert report["signature"]["judge"]["settings"] == "zero.yaml"
    assert refused.exit_code == 5 and "judge.weight" in refused.output and "bad.yaml" in refused.output


def test_without_judge_nothing_changes():
    """No judge: no judge block, no judge in the signature, the same score as grading with combine's judge=None,
    and the weights hash of the bundled file untouched (the judge's settings are in their own file)."""
    from grader.scoring.combine import load_config
    from grader.scoring.engine import Grader

    report = Grader(metrics="keywords,rouge").grade("q09", ANSWER).to_dict()
    assert "judge" not in report and "judge" not in report["signature"]
    config = load_config()
    assert report["signature"]["weights"]["sha256"] == config.digest and config.judge is None  # no judge: section
    assert "judge_grade" not in json.dumps(report)


def test_cold_batch_and_grade_never_import_the_judge(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADER_JUDGE")}
    env.update(PYTHONPATH=str(REPO), GRADER_HISTORY="")
    for args in (["grade", "-q", "q09", "--answer", ANSWER, *LEX, "-f", "html"],
                 ["batch", str(SAMPLES / "alex-chen.txt"), "-o", str(tmp_path / "r"), "-f", "csv", *LEX]):
        out = subprocess.run([sys.executable, "-X", "importtime", "-m", "grader", *args], capture_output=True,
                             text=True, cwd=REPO, env=env, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        imported = {line.split("|")[-1].strip() for line in out.stderr.splitlines()
                    if line.startswith("import time:")}
        assert not {"grader.judge", "grader.scoring.judging", "urllib.request"} & imported, args[0]
