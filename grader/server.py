"""``grader serve``: a local HTTP JSON API that keeps the model warm.

Why FastAPI on uvicorn: both are widely used and actively maintained; FastAPI validates request bodies
against typed models (a malformed request gets a clear 422 naming the field, not a stack trace) and documents
the API itself (``/openapi.json``; ``/docs`` is our own page made from it, since FastAPI's Swagger UI loads
its scripts from a CDN and is blank offline); uvicorn is
a small, fast ASGI server with keep-alive, which the warm-latency target needs. Both are optional
(``pip install grader[serve]``): nothing else in grader imports them.

Every error has one shape, ``{"error": {"code", "message", "field"}}``, validation errors included; unknown
fields are refused (422); ``/batch`` grades every item it can and names each one it cannot.

Safety: binds 127.0.0.1 unless told otherwise; request bodies over ``max_request_bytes`` are refused with 413
before they are read whole; a batch holds at most ``MAX_BATCH_ITEMS`` answers; grading is serialised with a
lock (the model and its caches are shared).
"""
import socket
import threading
from typing import Any

from grader._version import __version__
from grader.errors import ConfigError, GraderError, UnknownQuestionError

MAX_BATCH_ITEMS = 200
DEFAULT_MAX_REQUEST_BYTES = 1_000_000
_NEEDS_EXTRA = "grader serve needs FastAPI and uvicorn: pip install 'grader[serve]'"


def error_body(code: str, message: str, field: str | None = None) -> dict:
    """The one shape of every error the API returns: ``{"error": {"code", "message", "field"}}``."""
    return {"error": {"code": code, "message": message, "field": field}}


def _grader_error(exc: GraderError, field: str | None = None) -> tuple[int, dict]:
    """(HTTP status, error body) of one of grader's own errors; ``field`` names the request field at fault."""
    unknown = isinstance(exc, UnknownQuestionError)
    message = exc.message if len(exc.message) < 600 else exc.message[:599] + "…"
    return (404 if unknown else 400), error_body("unknown_question" if unknown else "invalid_input", message,
                                                 field or exc.field)


def _field(location) -> str | None:
    """A pydantic error location ("body", "items", 0, "answer") as the request field: ``items[0].answer``."""
    out = ""
    for part in location:
        if part == "body" and not out:
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or None


def _install_error_handlers(app) -> None:
    """Every error -- grader's, validation (422), unknown route or method, an unexpected one (500) -- in the
    shape of :func:`error_body`."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    @app.exception_handler(GraderError)
    async def grader_error(_request, exc: GraderError):
        status, body = _grader_error(exc)
        return JSONResponse(body, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request, exc: RequestValidationError):
        errors = exc.errors() or [{}]
        # An unknown field first: a misspelt one ("answr") also makes the right one missing.
        first = next((e for e in errors if e.get("type") == "extra_forbidden"), errors[0])
        kind = first.get("type", "")
        field = _field(first.get("loc", ()))
        if kind == "extra_forbidden":
            missing = [_field(e.get("loc", ())) for e in errors if e.get("type") == "missing"]
            message = (f"unknown field {field!r}; this endpoint takes only the documented fields (see /docs)"
                       + (f"; missing: {', '.join(repr(m) for m in missing)}" if missing else ""))
        elif kind == "json_invalid":
            message, field = "the body is not valid JSON", None
        elif kind == "missing":
            message = f"missing field {field!r}"
        else:
            message = str(first.get("msg", "invalid request"))
        return JSONResponse(error_body("unknown_field" if kind == "extra_forbidden" else "invalid_request",
                                       message, field), status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(_request, exc: HTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(_request, exc: Exception):  # pragma: no cover - a bug: still our shape, no traceback
        return JSONResponse(error_body("internal_error", f"{type(exc).__name__}: the request could not be "
                                       "graded"), status_code=500)


def _install_body_limit(app, max_request_bytes: int) -> None:
    """Refuse a request body over ``max_request_bytes`` (413) before it is read whole."""
    from fastapi import Request
    from fastapi.responses import JSONResponse

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        too_large = JSONResponse(error_body("too_large", f"request body over {max_request_bytes} bytes"),
                                 status_code=413)
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_request_bytes):
            return too_large
        if declared is None and request.method in ("POST", "PUT", "PATCH"):
            body = b""
            async for chunk in request.stream():
                body += chunk
                if len(body) > max_request_bytes:
                    return too_large
            request._body = body  # already read: hand it on
        return await call_next(request)


def create_app(grader, max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES):
    """The ASGI application around one warm ``Grader``."""
    try:
        from fastapi import FastAPI
        from fastapi.responses import HTMLResponse
        from pydantic import BaseModel, ConfigDict, Field
    except ImportError:  # pragma: no cover - depends on the installation
        raise ConfigError(_NEEDS_EXTRA) from None

    from grader.bank.resolve import resolve_question
    from grader.io import refuse_nul

    lock = threading.Lock()
    # FastAPI's own /docs and /redoc load their scripts from a CDN: offline they are blank pages. /docs is ours.
    app = FastAPI(title="grader", version=__version__, description="Grade answers to interview questions offline.",
                  docs_url=None, redoc_url=None)
    _install_error_handlers(app)

    class GradeRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        question: str = Field(..., min_length=1, description="Question id (q09), number or text")
        answer: str = Field(..., description="The candidate's answer")

    class BatchRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        items: list[GradeRequest] = Field(..., min_length=1, max_length=MAX_BATCH_ITEMS)

    _install_body_limit(app, max_request_bytes)

    def check(item: GradeRequest, prefix: str = "") -> tuple[str, str]:
        """(question id, answer) of one request item, or grader's error naming the item's field."""
        refuse_nul(item.answer, field=f"{prefix}answer")  # NUL is not text: no report may carry it
        try:
            return resolve_question(grader.bank, item.question), item.answer
        except GraderError as exc:
            exc.field = f"{prefix}question"
            raise

    def grade_pairs(pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
        with lock:
            return [r.to_dict() for r in grader.grade_many(pairs)]

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "version": __version__, "metrics": list(grader.metrics),
                "questions": len(grader.bank)}

    @app.get("/questions")
    def questions() -> list[dict]:
        return [{"id": q.id, "difficulty": q.difficulty, "topics": list(q.topics), "question": q.question}
                for q in grader.bank]

    @app.post("/grade")
    def grade(request: GradeRequest) -> dict:
        return grade_pairs([check(request)])[0]

    @app.post("/batch")
    def batch(request: BatchRequest) -> dict:
        """Every item that can be graded is; each one that cannot is named in ``errors`` (its index and the
        error), with ``null`` in its place in ``reports``."""
        pairs: dict[int, tuple[str, str]] = {}
        errors = []
        for n, item in enumerate(request.items):
            try:
                pairs[n] = check(item, f"items[{n}].")
            except GraderError as exc:
                errors.append({"index": n, **_grader_error(exc)[1]})
        graded = dict(zip(pairs, grade_pairs(list(pairs.values())))) if pairs else {}
        return {"reports": [graded.get(n) for n in range(len(request.items))], "errors": errors}

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(docs_page(app.openapi()))

    return app


def _fields(schema: dict, components: dict) -> list[tuple[str, str, bool, str]]:
    """(name, type, required, description) of a request body's fields, following ``$ref``s one level."""
    if "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema.get("properties", {}).items():
        kind = prop.get("type") or prop.get("$ref", "").rsplit("/", 1)[-1] or "any"
        if kind == "array" and "$ref" in prop.get("items", {}):
            kind = f"list of {prop['items']['$ref'].rsplit('/', 1)[-1]}"
        out.append((name, kind, name in required, prop.get("description", "")))
    return out


def docs_page(spec: dict) -> str:
    """A self-contained HTML page of the API, made from its OpenAPI document: no script, no CDN, so it works
    offline (FastAPI's Swagger UI loads its code from the network). The machine-readable schema stays at
    /openapi.json."""
    from html import escape

    components = spec.get("components", {}).get("schemas", {})
    parts = [f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{escape(spec['info']['title'])} API"
             "</title><style>body{font-family:sans-serif;max-width:50rem;margin:2rem auto;line-height:1.4}"
             "code{background:#f3f3f3;padding:0 .2em}td,th{text-align:left;padding:.2em .6em}</style></head><body>",
             f"<h1>{escape(spec['info']['title'])} {escape(spec['info']['version'])}</h1>",
             f"<p>{escape(spec['info'].get('description', ''))} Send JSON; every error is "
             "<code>{\"error\": {\"code\", \"message\", \"field\"}}</code>; unknown fields are refused (422). "
             "The OpenAPI schema: <a href=/openapi.json>/openapi.json</a>.</p>"]
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            parts.append(f"<h2><code>{escape(method.upper())} {escape(path)}</code></h2>")
            text = op.get("description") or op.get("summary") or ""
            parts.append(f"<p>{escape(text)}</p>")
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                rows = "".join(f"<tr><td><code>{escape(n)}</code></td><td>{escape(k)}</td>"
                               f"<td>{'required' if r else 'optional'}</td><td>{escape(d)}</td></tr>"
                               for n, k, r, d in _fields(body, components))
                parts.append(f"<table><tr><th>field</th><th>type</th><th></th><th></th></tr>{rows}</table>")
    return "".join(parts) + "</body></html>\n"


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or one ConfigError naming --port (in use, not allowed) or --host."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(f"cannot resolve {host!r}: {getattr(exc, 'strerror', None) or exc}", field="--host") \
            from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        import errno

        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"port {port} on {host} is already in use; choose another with --port",
                              field="--port") from None
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", field="--port") from None
    return sock


def serve(grader, host: str = "127.0.0.1", port: int = 8765, max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
          warm: bool = True, sock: socket.socket | None = None) -> None:
    """Run the API until interrupted (on ``sock`` when already bound); the model is loaded before the first
    request when ``warm``."""
    try:
        import uvicorn
    except ImportError:
        raise ConfigError(_NEEDS_EXTRA) from None
    app = create_app(grader, max_request_bytes)
    if warm and grader.bank.questions:
        grader.grade(grader.bank.questions[0].id, "warm up")
    sock = sock if sock is not None else bind(host, port)
    config = uvicorn.Config(app, log_level="warning", h11_max_incomplete_event_size=64 * 1024)
    uvicorn.Server(config).run(sockets=[sock])
