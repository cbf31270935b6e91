"""`grader serve`'s errors: one shape for all of them, unknown fields refused, a batch that names its failing
items and grades the rest, /docs that works offline, and a port in use as one line and an exit code."""
from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

pytest.importorskip("fastapi", reason="grader serve needs the 'serve' extra (fastapi, uvicorn)")
pytest.importorskip("uvicorn", reason="grader serve needs the 'serve' extra (fastapi, uvicorn)")

from fastapi.testclient import TestClient  # noqa: E402

from grader.errors import EXIT_CONFIG  # noqa: E402
from grader.server import create_app  # noqa: E402


@pytest.fixture(scope="module")
def client(lexical_grader):
    return TestClient(create_app(lexical_grader, max_request_bytes=20_000))


def call(client, method: str, path: str, body=None, raw: bytes | None = None):
    headers = {"content-type": "application/json"}
    content = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    return client.request(method, path, content=content, headers=headers)


@pytest.mark.parametrize("method,path,body,raw,status,code,field", [
    ("POST", "/grade", {"question": "q99", "answer": "x"}, None, 404, "unknown_question", "question"),
    ("POST", "/grade", {"question": "q09", "answer": "a\x00b"}, None, 400, "invalid_input", "answer"),
    ("POST", "/grade", {"question": "q09"}, None, 422, "invalid_request", "answer"),
    ("POST", "/grade", {"question": "q09", "answer": 7}, None, 422, "invalid_request", "answer"),
    ("POST", "/grade", None, b"{not json", 422, "invalid_request", None),
    ("POST", "/grade", {"question": "q09", "answer": "x", "candidate": "Dana"}, None, 422, "unknown_field",
     "candidate"),
    ("POST", "/batch", {"items": [{"question": "q09", "answer": "x", "qid": "q01"}]}, None, 422, "unknown_field",
     "items[0].qid"),
    ("POST", "/batch", {"items": []}, None, 422, "invalid_request", "items"),
    ("POST", "/batch", {"item": [{"question": "q09", "answer": "x"}]}, None, 422, "unknown_field", "item"),
    ("POST", "/grade", None, json.dumps({"question": "q09", "answer": "a" * 30_000}).encode(), 413, "too_large",
     None),
    ("GET", "/nowhere", None, None, 404, "not_found", None),
    ("GET", "/grade", None, None, 405, "method_not_allowed", None),
    ("GET", "/redoc", None, None, 404, "not_found", None),
])
def test_every_error_has_one_shape(client, method, path, body, raw, status, code, field):
    response = call(client, method, path, body, raw)
    assert response.status_code == status, response.text
    data = response.json()
    assert set(data) == {"error"} and set(data["error"]) == {"code", "message", "field"}
    assert data["error"]["code"] == code and data["error"]["field"] == field
    assert isinstance(data["error"]["message"], str) and 0 < len(data["error"]["message"]) < 700
    assert "Traceback" not in response.text


def test_unknown_fields_are_named_in_the_message(client):
    data = call(client, "POST", "/grade", {"question": "q09", "answr": "typo"}).json()["error"]
    assert data["field"] == "answr" and "'answr'" in data["message"]  # the typo first,
    assert "missing: 'answer'" in data["message"]  # then the field it should have been


def test_batch_names_the_failing_items_and_grades_the_rest(client, lexical_grader):
    items = [{"question": "q13", "answer": "top-p samples from the smallest set over p"},
             {"question": "q99", "answer": "x"},
             {"question": "q09", "answer": "low rank\x00"},
             {"question": "lora", "answer": "LoRA learns a low-rank update BA"}]
    response = call(client, "POST", "/batch", {"items": items})
    assert response.status_code == 200
    data = response.json()
    assert [r and r["question_id"] for r in data["reports"]] == ["q13", None, None, "q09"]
    assert data["reports"][0]["score"] == lexical_grader.grade("q13", items[0]["answer"]).score
    assert [(e["index"], e["error"]["code"], e["error"]["field"]) for e in data["errors"]] == [
        (1, "unknown_question", "items[1].question"), (2, "invalid_input", "items[2].answer")]
    assert "q99" in data["errors"][0]["error"]["message"] or "99" in data["errors"][0]["error"]["message"]
    clean = call(client, "POST", "/batch", {"items": items[:1]}).json()
    assert clean["errors"] == [] and len(clean["reports"]) == 1


def test_docs_work_offline(client):
    response = client.get("/docs")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "http://" not in page and "https://" not in page and "<script" not in page.lower()
    for endpoint in ("POST /grade", "POST /batch", "GET /questions", "GET /health"):
        assert endpoint in page
    assert "<code>answer</code>" in page and "/openapi.json" in page
    assert client.get("/openapi.json").json()["paths"]["/grade"]["post"]


def test_a_port_in_use_is_one_line_and_exit_code_5():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "grader", "serve", "--port", str(port), "--metrics",
                               "keywords,rouge"], capture_output=True, text=True, timeout=120)
    assert done.returncode == EXIT_CONFIG
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1 and "serving" not in lines[0], lines
    assert lines[0].startswith("error:") and "--port" in lines[0] and f"port {port}" in lines[0]
    assert "in use" in lines[0]
