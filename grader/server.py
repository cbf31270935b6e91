"""``grader serve``: a local HTTP JSON API that keeps the model warm.

Why FastAPI on uvicorn: both are widely used and actively maintained; FastAPI validates request bodies
against typed models (a malformed request gets a clear 422 naming the field, not a stack trace) and documents
the API itself (``/docs`` works offline: no CDN is needed for the JSON schema at ``/openapi.json``); uvicorn is
a small, fast ASGI server with keep-alive, which the warm-latency target needs. Both are optional
(``pip install grader[serve]``): nothing else in grader imports them.

Safety: binds 127.0.0.1 unless told otherwise; request bodies over ``max_request_bytes`` are refused with 413
before they are read whole; a batch holds at most ``MAX_BATCH_ITEMS`` answers; grading is serialised with a
lock (the model and its caches are shared).
"""
import threading
from typing import Any

from grader._version import __version__
from grader.errors import ConfigError, GraderError, UnknownQuestionError

MAX_BATCH_ITEMS = 200
DEFAULT_MAX_REQUEST_BYTES = 1_000_000


def create_app(grader, max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES):
    """The ASGI application around one warm ``Grader``."""
    try:
        from fastapi import FastAPI, Request
        from fastapi.responses import JSONResponse
        from pydantic import BaseModel, Field
    except ImportError:  # pragma: no cover - depends on the installation
        raise ConfigError("grader serve needs FastAPI and uvicorn: pip install 'grader[serve]'") from None

    from grader.bank.resolve import resolve_question

    lock = threading.Lock()
    app = FastAPI(title="grader", version=__version__,
                  description="Grade answers to interview questions offline.")

    class GradeRequest(BaseModel):
        question: str = Field(..., min_length=1, description="Question id (q09), number or text")
        answer: str = Field(..., description="The candidate's answer")

    class BatchRequest(BaseModel):
        items: list[GradeRequest] = Field(..., min_length=1, max_length=MAX_BATCH_ITEMS)

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_request_bytes):
            return JSONResponse({"error": f"request body over {max_request_bytes} bytes"}, status_code=413)
        if declared is None and request.method in ("POST", "PUT", "PATCH"):
            body = b""
            async for chunk in request.stream():
                body += chunk
                if len(body) > max_request_bytes:
                    return JSONResponse({"error": f"request body over {max_request_bytes} bytes"},
                                        status_code=413)
            request._body = body  # already read: hand it on
        return await call_next(request)

    @app.exception_handler(GraderError)
    async def grader_error(_request, exc: GraderError):
        status = 404 if isinstance(exc, UnknownQuestionError) else 400
        return JSONResponse({"error": exc.one_line()}, status_code=status)

    def grade_all(items: list[GradeRequest], where: str = "") -> list[dict[str, Any]]:
        from grader.io import refuse_nul

        for n, item in enumerate(items):  # NUL is not text: no report may carry it
            refuse_nul(item.answer, field=f"items[{n}].answer" if where == "items" else "answer")
        pairs = [(resolve_question(grader.bank, item.question), item.answer) for item in items]
        with lock:
            reports = grader.grade_many(pairs)
        return [r.to_dict() for r in reports]

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
        return grade_all([request])[0]

    @app.post("/batch")
    def batch(request: BatchRequest) -> dict:
        return {"reports": grade_all(request.items, "items")}

    return app


def serve(grader, host: str = "127.0.0.1", port: int = 8765, max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
          warm: bool = True) -> None:
    """Run the API until interrupted; the model is loaded before the first request when ``warm``."""
    try:
        import uvicorn
    except ImportError:
        raise ConfigError("grader serve needs FastAPI and uvicorn: pip install 'grader[serve]'") from None
    app = create_app(grader, max_request_bytes)
    if warm and grader.bank.questions:
        grader.grade(grader.bank.questions[0].id, "warm up")
    uvicorn.run(app, host=host, port=port, log_level="warning", h11_max_incomplete_event_size=64 * 1024)
