"""HTTP to an OpenAI-compatible server, with the standard library only (no new runtime dependency).

Why so careful for a few requests: the API key is a secret and the answers are a person's work. Plain http
goes only to loopback addresses (anything else needs https), redirects are refused (a redirect could carry the
key elsewhere), and no proxy sits between grader and a loopback server. The key comes from
``GRADER_JUDGE_API_KEY`` and is sent as a bearer token; it never appears in a repr, a message or a file.
429 and 5xx answers are retried with exponential backoff (``Retry-After`` honoured, capped).
"""
from __future__ import annotations

import ipaddress
import json
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request

from grader.errors import ConfigError

API_KEY_ENV = "GRADER_JUDGE_API_KEY"
URL_ENV = "GRADER_JUDGE_URL"
#: Statuses worth retrying: the server is busy or hiccuped, the request itself was fine.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 30.0
_BODY_EXCERPT = 200


class JudgeConfigError(ConfigError):
    """A judge setting that cannot work: a malformed URL, plain http to a remote host, a bad option."""


class JudgeServerError(ConfigError):
    """The judge server cannot be used: unreachable, refusing, or not serving the model asked for."""


class HttpFailure(Exception):
    """One request that failed for good (after its retries); ``reason`` is one line for a report."""

    def __init__(self, reason: str, *, status: int | None = None, body: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.body = body


def check_url(url: str) -> str:
    """The base URL without a trailing slash; raises JudgeConfigError unless it is safe to send answers to."""
    if not isinstance(url, str) or not url.strip():
        raise JudgeConfigError("the judge URL is empty", field="--judge")
    url = url.strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise JudgeConfigError(f"the judge URL must be http(s)://HOST[:PORT]/PATH, got {url!r}", field="--judge")
    if parts.username is not None or parts.password is not None:
        raise JudgeConfigError("the judge URL must not hold credentials; put the key in "
                               f"{API_KEY_ENV}", field="--judge")
    if parts.query or parts.fragment:
        raise JudgeConfigError(f"the judge URL must not have a query or fragment: {url!r}", field="--judge")
    try:
        parts.port
    except ValueError:
        raise JudgeConfigError(f"the judge URL has an invalid port: {url!r}", field="--judge") from None
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise JudgeConfigError(f"plain http is allowed only to a loopback address (127.0.0.1, ::1, localhost); "
                               f"use https for {parts.hostname}", field="--judge")
    return url.rstrip("/")


def is_loopback(host: str) -> bool:
    """True for localhost and loopback IP literals. Names other than localhost are not resolved (DNS could lie)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102 - refuse every redirect
        raise urllib.error.HTTPError(req.full_url, code, f"redirect to {newurl} refused", headers, fp)


class HttpClient:
    """JSON over HTTP to one base URL: ``get_json('/models')``, ``post_json('/chat/completions', body)``."""

    def __init__(self, url: str, *, api_key: str | None = None, timeout: float = 120.0, retries: int = 3,
                 backoff: float = 1.0):
        self.url = check_url(url)
        if not timeout or timeout <= 0:
            raise JudgeConfigError(f"the judge timeout must be positive, got {timeout}", field="--judge-timeout")
        if retries < 0:
            raise JudgeConfigError(f"retries must be 0 or more, got {retries}", field="retries")
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self._api_key = api_key if api_key is not None else (os.environ.get(API_KEY_ENV) or None)
        handlers: list = [_NoRedirect()]
        if is_loopback(urllib.parse.urlsplit(self.url).hostname or ""):
            handlers.append(urllib.request.ProxyHandler({}))  # never through a proxy to our own machine
        self._opener = urllib.request.build_opener(*handlers)

    def __repr__(self) -> str:
        return f"HttpClient({self.url!r}, api_key={'set' if self._api_key else 'none'}, timeout={self.timeout})"

    def get_json(self, path: str):
        return self._request("GET", path, None)

    def post_json(self, path: str, body: dict, *, final=None):
        """``final(status, text)`` True: an error answer not to retry (it will not change by asking again)."""
        return self._request("POST", path, body, final)

    def _request(self, method: str, path: str, body: dict | None, final=None):
        try:
            return self._attempts(method, path, body, final)
        except HttpFailure as failure:
            if self._api_key and (self._api_key in failure.reason or self._api_key in failure.body):
                # A server that echoes the request's headers must not put the key into a report.
                raise HttpFailure(failure.reason.replace(self._api_key, "***"), status=failure.status,
                                  body=failure.body.replace(self._api_key, "***")) from None
            raise

    def _attempts(self, method: str, path: str, body: dict | None, final):
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Accept": "application/json", "User-Agent": "grader-judge"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        attempt = 0
        while True:
            request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
            try:
                with self._opener.open(request, timeout=self.timeout) as response:
                    raw = response.read()
                    status = response.status
            except urllib.error.HTTPError as error:
                text = _read_error_body(error)
                if error.code in RETRY_STATUSES and attempt < self.retries \
                        and not (final is not None and final(error.code, text)):
                    time.sleep(self._delay(attempt, error.headers.get("Retry-After") if error.headers else None))
                    attempt += 1
                    continue
                tries = f" after {attempt + 1} attempts" if attempt else ""
                raise HttpFailure(f"HTTP {error.code} from {self.url}{path}{tries}: {_excerpt(text)}",
                                  status=error.code, body=text) from None
            except (TimeoutError, socket.timeout):
                raise HttpFailure(f"no answer from {self.url}{path} within {self.timeout:g} s (timeout)") from None
            except urllib.error.URLError as error:
                reason = error.reason
                if isinstance(reason, (TimeoutError, socket.timeout)):
                    raise HttpFailure(f"no answer from {self.url}{path} within {self.timeout:g} s (timeout)") \
                        from None
                raise HttpFailure(f"cannot reach {self.url}{path}: {_reason(reason)}") from None
            except (ConnectionError, OSError) as error:  # reset mid-answer, RemoteDisconnected
                if attempt < self.retries and isinstance(error, ConnectionError):
                    time.sleep(self._delay(attempt, None))
                    attempt += 1
                    continue
                raise HttpFailure(f"connection to {self.url}{path} failed: {_reason(error)}") from None
            text = raw.decode("utf-8", errors="replace")
            try:
                return json.loads(text)
            except ValueError:
                raise HttpFailure(f"HTTP {status} from {self.url}{path} is not JSON: {_excerpt(text)}",
                                  status=status, body=text) from None

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(max(float(retry_after), 0.0), MAX_RETRY_AFTER_S)
            except ValueError:
                pass  # an HTTP date: fall back to our own backoff
        return min(self.backoff * (2 ** attempt), MAX_RETRY_AFTER_S)


def _read_error_body(error: urllib.error.HTTPError) -> str:
    try:
        return (error.read() or b"").decode("utf-8", errors="replace")
    except Exception:  # noqa: BLE001 - a body we cannot read is only missing detail
        return ""


def _excerpt(text: str) -> str:
    text = " ".join(str(text).split())
    if not text:
        return "(empty body)"
    return text if len(text) <= _BODY_EXCERPT else text[: _BODY_EXCERPT - 1] + "…"


def _reason(reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (is the server running?)"
    if isinstance(reason, socket.gaierror):
        return "unknown host"
    text = getattr(reason, "strerror", None) or str(reason)
    return " ".join(text.split()) or type(reason).__name__
