"""`grader serve`: a real server on a free loopback port, spoken to over HTTP."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

pytest.importorskip("fastapi", reason="grader serve needs the 'serve' extra (fastapi, uvicorn)")
pytest.importorskip("uvicorn", reason="grader serve needs the 'serve' extra (fastapi, uvicorn)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "grader", "serve", "--port", str(port), "--metrics",
                             "keywords,rouge", "--max-request-bytes", "20000"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/health", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"server exited: {proc.stdout.read()}")
                time.sleep(0.2)
        else:
            pytest.fail("server did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def call(base: str, path: str, body=None, raw: bytes | None = None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(base + path, data=data, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_health_and_questions(server):
    status, health = call(server, "/health")
    assert status == 200 and health["status"] == "ok" and health["questions"] == 20
    status, questions = call(server, "/questions")
    assert status == 200 and [q["id"] for q in questions][:2] == ["q01", "q02"]


def test_grade_matches_the_library(server, lexical_grader):
    answer = "LoRA freezes W and learns a low-rank update BA; merged after training, so no latency."
    status, report = call(server, "/grade", {"question": "9", "answer": answer})
    assert status == 200
    assert report["question_id"] == "q09"
    assert report["score"] == lexical_grader.grade("q09", answer).score
    assert {"metrics", "feedback", "signature", "band"} <= set(report)


def test_batch(server):
    status, data = call(server, "/batch", {"items": [{"question": "q13", "answer": "top-p is nucleus sampling"},
                                                     {"question": "q01", "answer": "They learn P(X)."}]})
    assert status == 200 and [r["question_id"] for r in data["reports"]] == ["q13", "q01"]


@pytest.mark.parametrize("body,raw,status,text", [
    ({"question": "q99", "answer": "x"}, None, 404, "no question number 99"),
    ({"question": "q09"}, None, 422, "answer"),
    (None, b"{not json", 422, "JSON"),
    ({"items": []}, None, 422, "items"),
    (None, json.dumps({"question": "q09", "answer": "a" * 30000}).encode(), 413, "over 20000 bytes"),
])
def test_clear_4xx_errors(server, body, raw, status, text):
    path = "/batch" if body and "items" in body else "/grade"
    got, data = call(server, path, body, raw)
    assert got == status
    assert text in json.dumps(data)


def test_binds_loopback_by_default():
    from grader.cli import serve

    import inspect

    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
