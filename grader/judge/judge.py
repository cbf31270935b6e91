"""``Judge``: one OpenAI-compatible server and model, asked to grade answers against a rubric.

Deterministic as far as the server allows (temperature 0, a fixed seed, both in ``prompt.txt``) and cached on
disk, so the same answer is asked once. ``grade`` never raises for what the server does: a timeout, an HTTP
error, a reply that is not the JSON asked for (after one corrective retry) all come back as a verdict with
``failed`` set. Only a setting that cannot work (a bad URL) raises, when the Judge is built; ``connect`` raises
JudgeServerError for a server that cannot be used, so a command can stop with one line before it starts.
"""
from __future__ import annotations

import queue
import threading
from dataclasses import replace

from grader.judge.cache import ReplyCache, cache_key, default_cache_dir
from grader.judge.client import HttpClient, HttpFailure, JudgeConfigError, JudgeServerError
from grader.judge.guard import guard, load_patterns
from grader.judge.prompt import load_prompt
from grader.judge.verdict import JudgeVerdict, VerdictError, parse_reply, verdict_schema

#: How the reply's shape is asked for, best first; a server that rejects one (HTTP 400/422) gets the next.
#: OpenAI, vLLM, llama.cpp's llama-server and Ollama take "json_schema"; llama-cpp-python takes a schema
#: inside "json_object"; the last resort asks in words only, and the reply is parsed just as strictly.
RESPONSE_FORMATS = ("json_schema", "json_object", "none")
_DEFAULT = object()


class JudgeInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``grade_many``; ``finished`` maps item index to the verdicts already made (and cached)."""

    def __init__(self, finished: dict[int, JudgeVerdict]):
        super().__init__(f"interrupted after {len(finished)} judged answers")
        self.finished = finished


class Judge:
    """An LLM judge at ``url`` (the API base, e.g. ``http://127.0.0.1:8080/v1``) using ``model``."""

    def __init__(self, url: str, model: str, *, api_key: str | None = None, timeout: float = 120.0,
                 retries: int = 3, backoff: float = 1.0, cache_dir=_DEFAULT, prompt_path: str | None = None):
        if not isinstance(model, str) or not model.strip():
            raise JudgeConfigError("the judge model name is empty", field="--judge-model")
        self.model = model.strip()
        self.client = HttpClient(url, api_key=api_key, timeout=timeout, retries=retries, backoff=backoff)
        self.url = self.client.url
        self.prompt = load_prompt(prompt_path)
        self.guard_sha256 = load_patterns()[1]
        self.cache = ReplyCache(default_cache_dir() if cache_dir is _DEFAULT else cache_dir)
        self._lock = threading.Lock()
        self._models: tuple[str, ...] | None = None
        self._server_model_id: str | None = None
        self._format = 0
        self._format_known = False
        self._reported: set[str] = set()

    def __repr__(self) -> str:
        return f"Judge({self.url!r}, {self.model!r})"

    # -- the server -----------------------------------------------------------------------------------------
    def models(self) -> tuple[str, ...]:
        """The model ids the server lists at ``GET /models``; raises JudgeServerError if it cannot say."""
        if self._models is None:
            try:
                body = self.client.get_json("/models")
            except HttpFailure as failure:
                raise JudgeServerError(f"judge server: {failure.reason}", field="--judge") from None
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(data, list):
                raise JudgeServerError(f"judge server: {self.url}/models did not list models (no 'data' list)",
                                       field="--judge")
            self._models = tuple(str(m.get("id")) for m in data if isinstance(m, dict) and m.get("id"))
        return self._models

    def connect(self) -> str:
        """Check that the server is up and serves the model; return the server's id for it (cached)."""
        with self._lock:
            if self._server_model_id is None:
                models = self.models()
                match = next((m for m in models if m == self.model or m == f"{self.model}:latest"), None)
                if match is None:
                    served = ", ".join(models) if models else "nothing"
                    raise JudgeServerError(f"the judge server at {self.url} does not serve model "
                                           f"{self.model!r}; it serves: {served}", field="--judge-model")
                self._server_model_id = match
            return self._server_model_id

    def server_model_id(self) -> str:
        return self.connect()

    def signature(self) -> dict:
        """What a judged score depends on: model, the server's id for it, prompt and guard hashes, settings."""
        return {
            "url": self.url,
            "model": self.model,
            "server_model_id": self._server_model_id,
            "reported_model_ids": sorted(self._reported),
            "prompt_sha256": self.prompt.sha256,
            "guard_sha256": self.guard_sha256,
            "temperature": self.prompt.temperature,
            "seed": self.prompt.seed,
            "max_tokens": self.prompt.max_tokens,
            "response_format": RESPONSE_FORMATS[self._format] if self._format_known else None,
        }

    # -- grading -----------------------------------------------------------------------------------------
    def grade(self, *, question: str, reference: str, concepts=(), facts=(), pitfalls=(),
              answer: str) -> JudgeVerdict:
        """Judge one answer; rubric parts are plain dicts (concepts: name, statement, required; facts: claim;
        pitfalls: name, explanation). Never raises for what the server does: see ``JudgeVerdict.failed``."""
        concepts, facts, pitfalls = list(concepts), list(facts), list(pitfalls)
        guarded = guard(answer)
        messages = self.prompt.render(question=question, reference=reference, concepts=concepts, facts=facts,
                                      pitfalls=pitfalls, answer=guarded.text)
        names = _names(concepts)
        base = JudgeVerdict(grade=None, failed=None, model=self.model, prompt_hash=self.prompt.sha256,
                            injection=guarded.removed)
        try:
            server_id = self.connect()
        except JudgeServerError as error:
            return replace(base, failed=error.message)
        key = cache_key({"server_model_id": server_id, "model": self.model, "prompt_sha256": self.prompt.sha256,
                         "guard_sha256": self.guard_sha256,
                         "inputs": {"question": question, "reference": reference, "concepts": concepts,
                                    "facts": facts, "pitfalls": pitfalls, "answer": answer}})
        stored = self.cache.get(key)
        if stored is not None:
            try:
                fields = parse_reply(stored.get("content"), names, guarded.text)
            except VerdictError:
                stored = None  # a reply the parser no longer accepts is asked again
            else:
                return replace(base, **fields, server_model_id=stored.get("model") or server_id, cached=True,
                               usage=dict(stored.get("usage") or {}))
        try:
            reply, fields = self._ask(messages, names, guarded.text)
        except HttpFailure as failure:
            return replace(base, failed=failure.reason, server_model_id=server_id)
        except VerdictError as error:
            return replace(base, failed=f"invalid reply twice: {error}", server_model_id=server_id)
        self.cache.put(key, reply)
        return replace(base, **fields, server_model_id=reply.get("model") or server_id,
                       usage=dict(reply.get("usage") or {}))

    def grade_many(self, items, *, concurrency: int = 1, on_done=None) -> list[JudgeVerdict]:
        """Judge many answers (dicts of ``grade``'s keyword arguments) on ``concurrency`` threads, in order.

        ``on_done(index, verdict)`` is called in this thread as each finishes (a progress bar). On Ctrl-C no
        new request starts and JudgeInterrupted carries the finished verdicts (also in the cache already).
        """
        items = list(items)
        if not isinstance(concurrency, int) or concurrency < 1:
            raise JudgeConfigError(f"judge concurrency must be a whole number >= 1, got {concurrency!r}",
                                   field="--judge-concurrency")
        todo: queue.Queue = queue.Queue()
        for index in range(len(items)):
            todo.put(index)
        done: queue.Queue = queue.Queue()
        stop = threading.Event()

        def work() -> None:
            while not stop.is_set():
                try:
                    index = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    verdict = self.grade(**items[index])
                except Exception as error:  # noqa: BLE001 - one broken item must not lose the batch
                    verdict = JudgeVerdict(grade=None, failed=f"internal error: {type(error).__name__}: {error}",
                                           model=self.model, prompt_hash=self.prompt.sha256)
                done.put((index, verdict))

        # Daemon threads: after Ctrl-C the process may exit while a request is still on the wire.
        workers = [threading.Thread(target=work, name=f"judge-{n}", daemon=True)
                   for n in range(min(concurrency, max(len(items), 1)))]
        for worker in workers:
            worker.start()
        finished: dict[int, JudgeVerdict] = {}
        try:
            while len(finished) < len(items):
                try:
                    index, verdict = done.get(timeout=0.2)
                except queue.Empty:
                    continue
                finished[index] = verdict
                if on_done is not None:
                    on_done(index, verdict)
        except KeyboardInterrupt:
            stop.set()
            while True:  # keep what finished while we were interrupted
                try:
                    index, verdict = done.get_nowait()
                except queue.Empty:
                    break
                finished[index] = verdict
            raise JudgeInterrupted(finished) from None
        return [finished[i] for i in range(len(items))]

    # -- one exchange ------------------------------------------------------------------------------------
    def _ask(self, messages: list[dict], names: list[str], answer: str) -> tuple[dict, dict]:
        reply = self._complete(messages, names)
        try:
            return reply, parse_reply(reply["content"], names, answer)
        except VerdictError as error:
            first = _with_cut_hint(error, reply)
        # One corrective retry: show the model its reply and what was wrong with it.
        retry = messages + [
            {"role": "assistant", "content": reply["content"] or ""},
            {"role": "user", "content": f"That reply is not valid: {first}. Reply again with only the JSON "
                                        "object, exactly in the form asked, and nothing else."},
        ]
        reply = self._complete(retry, names)
        try:
            return reply, parse_reply(reply["content"], names, answer)
        except VerdictError as error:
            raise _with_cut_hint(error, reply) from None

    def _complete(self, messages: list[dict], names: list[str]) -> dict:
        """POST /chat/completions; returns {content, model, usage, finish_reason}. Raises HttpFailure."""
        schema = verdict_schema(names)
        while True:
            with self._lock:
                mode = self._format
            body = {"model": self.model, "messages": messages, "temperature": self.prompt.temperature,
                    "seed": self.prompt.seed, "max_tokens": self.prompt.max_tokens, "stream": False}
            if RESPONSE_FORMATS[mode] == "json_schema":
                body["response_format"] = {"type": "json_schema",
                                           "json_schema": {"name": "judge_verdict", "strict": True, "schema": schema}}
            elif RESPONSE_FORMATS[mode] == "json_object":
                body["response_format"] = {"type": "json_object", "schema": schema}
            probing = "response_format" in body and not self._format_known
            try:
                data = self.client.post_json("/chat/completions", body,
                                             final=_format_rejected if probing else None)
            except HttpFailure as failure:
                if not (probing and failure.status is not None and _format_rejected(failure.status, failure.body)):
                    raise
                with self._lock:
                    if self._format == mode and mode + 1 < len(RESPONSE_FORMATS):
                        self._format = mode + 1  # this server does not take that response_format: try the next
                    elif self._format == mode:
                        raise  # nothing left to try
                continue  # with the next form (or the one another thread has meanwhile found)
            with self._lock:
                if self._format == mode:
                    self._format_known = True
            return self._reply(data)

    def _reply(self, data) -> dict:
        try:
            choice = data["choices"][0]
            content = choice["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise HttpFailure(f"malformed reply from {self.url}/chat/completions: no choices[0].message.content")\
                from None
        if not isinstance(content, str):
            raise HttpFailure(f"malformed reply from {self.url}/chat/completions: the content is not text")
        finish = choice.get("finish_reason") if isinstance(choice, dict) else None
        model = data.get("model") if isinstance(data.get("model"), str) else None
        if model:
            with self._lock:
                self._reported.add(model)
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        usage = {k: usage[k] for k in ("prompt_tokens", "completion_tokens") if isinstance(usage.get(k), int)}
        return {"content": content, "model": model, "usage": usage, "finish_reason": finish}


def _names(concepts) -> list[str]:
    names = []
    for concept in concepts:
        name = concept.get("name") if isinstance(concept, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"a rubric concept needs a non-empty 'name': {concept!r}")
        names.append(" ".join(name.split()))
    if len(set(names)) != len(names):
        raise ValueError(f"rubric concept names must be distinct: {names}")
    return names


def _format_rejected(status: int, text: str) -> bool:
    """An error answer that is about response_format: the server does not take that form (some answer 500)."""
    return status in (400, 422) or (400 <= status < 600 and ("response_format" in text or "json_schema" in text))


def _with_cut_hint(error: VerdictError, reply: dict) -> VerdictError:
    if reply.get("finish_reason") == "length":
        return VerdictError(f"{error} (the reply was cut off at max_tokens)")
    return error
