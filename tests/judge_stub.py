"""A scriptable OpenAI-compatible server on 127.0.0.1 for the judge's protocol and error-path tests.

A real HTTP server (stdlib ``http.server``), not a mock of grader's code: grader's client talks to it over a
socket exactly as it talks to llama.cpp or vLLM. Each test scripts its replies with ``plan`` (a list of
actions, used in order, the last one repeating) or a ``reply`` function; every request is recorded.
"""
from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verdict_content(body: dict, grade: int = 3, status: str = "missing", errors=()) -> str:
    """A valid reply for the request in ``body``: every concept the prompt names, one status, this grade."""
    names = concept_names(body)
    return json.dumps({"concepts": {n: {"status": status, "quote": ""} for n in names},
                       "errors": list(errors), "rationale": "Stub rationale. Second sentence.", "grade": grade})


def concept_names(body: dict) -> list[str]:
    """The concept names the prompt asks for, read from the prompt text (as a model would)."""
    text = body["messages"][0]["content"]
    line = re.search(r"exactly these keys, in this order: (.*)\.$", text, re.M)
    if not line or line.group(1).startswith("none"):
        return []
    return json.loads("[" + line.group(1) + "]")


def answer_of(body: dict) -> str:
    text = body["messages"][0]["content"]
    match = re.search(r"<<<ANSWER (\w+)>>>\n(.*)\n<<<END ANSWER \1>>>", text, re.S)
    return match.group(2) if match else ""


class StubServer:
    """``with StubServer(plan=[...]) as stub: stub.url`` -> ``http://127.0.0.1:PORT/v1``.

    Actions: ``"ok"`` (a valid verdict, grade 3), ``("grade", n)``, ``("status", code[, headers])``,
    ``("sleep", seconds)`` then ok, ``("content", text)`` (a 200 with this message content), ``("raw", text)``
    (a 200 whose body is this text), ``"reject_json_schema"`` (400 if response_format is json_schema, else ok).
    ``reply(body) -> (status, dict|str)`` overrides the plan for chat requests.
    """

    def __init__(self, plan=("ok",), *, models=("stub-model",), reply=None, model_id="stub-model-Q4"):
        self.plan = list(plan)
        self.models = list(models)
        self.reply = reply
        self.model_id = model_id
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._chat_count = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                stub._record(self, None)
                if self.path == "/v1/models":
                    self._json(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in stub.models]})
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8")
                body = json.loads(raw)
                stub._record(self, body)
                if self.path != "/v1/chat/completions":
                    return self._json(404, {"error": "not found"})
                status, payload, headers = stub._respond(body)
                self._json(status, payload, headers)

            def _json(self, status, payload, headers=None):
                data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    @property
    def chat_requests(self) -> list[dict]:
        return [r for r in self.requests if r["method"] == "POST"]

    def _record(self, handler, body):
        with self._lock:
            self.requests.append({"method": handler.command, "path": handler.path,
                                  "headers": dict(handler.headers.items()), "body": body})

    def _completion(self, body, content: str) -> dict:
        return {"id": "chatcmpl-stub", "object": "chat.completion", "model": self.model_id,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}}

    def _respond(self, body):
        if self.reply is not None:
            status, payload = self.reply(body)
            return status, (self._completion(body, payload) if status == 200 and isinstance(payload, str)
                            else payload), {}
        with self._lock:
            action = self.plan[min(self._chat_count, len(self.plan) - 1)]
            self._chat_count += 1
        if action == "ok":
            return 200, self._completion(body, verdict_content(body)), {}
        if action == "reject_json_schema":
            if (body.get("response_format") or {}).get("type") == "json_schema":
                return 400, {"error": {"message": "response_format type json_schema is not supported"}}, {}
            return 200, self._completion(body, verdict_content(body)), {}
        kind, *args = action
        if kind == "grade":
            return 200, self._completion(body, verdict_content(body, grade=args[0])), {}
        if kind == "status":
            return args[0], {"error": {"message": f"stub status {args[0]}"}}, (args[1] if len(args) > 1 else {})
        if kind == "sleep":
            time.sleep(args[0])
            return 200, self._completion(body, verdict_content(body)), {}
        if kind == "content":
            return 200, self._completion(body, args[0]), {}
        if kind == "raw":
            return 200, args[0], {}
        raise ValueError(action)

    def __enter__(self):
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
