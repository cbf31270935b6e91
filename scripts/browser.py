"""Load HTML pages in headless Chromium over the DevTools pipe: layout width, requests, console, screenshots.

Used by tests/test_html_browser.py and scripts/screenshots.sh. For each page and window width it reports
whether the page scrolls sideways (``document.scrollingElement.scrollWidth`` against ``innerWidth``), every
request the page made other than loading its own file, anything the browser logged (a blocked request, a
Content-Security-Policy violation, a console message), and can save a PNG screenshot.

    python scripts/browser.py [--shots DIR] [--height PX] PAGE.html ...   (exit 1 when a page fails a check)

Chromium is driven through ``--remote-debugging-pipe`` (file descriptors 3 and 4, NUL-separated JSON), so
nothing listens on a port; ``--host-resolver-rules`` resolves no host name, so a request that slipped through
could not reach the network either.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--hide-scrollbars",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--host-resolver-rules=MAP * ~NOTFOUND",
         "--remote-debugging-pipe"]


def find_chromium() -> str | None:
    found = os.environ.get("CHROMIUM") or next(
        (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    return found


@dataclass
class PageCheck:
    page: Path
    width: int
    scroll_width: int = 0
    inner_width: int = 0
    requests: list[str] = field(default_factory=list)  # URLs other than the page itself
    messages: list[str] = field(default_factory=list)  # console and browser log entries
    screenshot: Path | None = None

    @property
    def overflows(self) -> bool:
        return self.scroll_width > self.inner_width

    def problems(self) -> list[str]:
        out = []
        if self.overflows:
            out.append(f"scrolls sideways at {self.width} px: content {self.scroll_width} px wide")
        out += [f"request: {url}" for url in self.requests]
        out += [f"logged: {message}" for message in self.messages]
        return [f"{self.page.name} @ {self.width}px: {p}" for p in out]


class Browser:
    """One headless Chromium, one tab at a time, spoken to over the DevTools pipe."""

    def __init__(self, chromium: str | None = None, timeout: float = 60.0):
        self.chromium = chromium or find_chromium()
        if not self.chromium:
            raise RuntimeError("chromium not found: install it (Debian: apt-get install -y chromium) or set CHROMIUM")
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="grader-browser-")
        to_browser, self._send = os.pipe()
        self._recv, from_browser = os.pipe()

        def wire():  # the browser reads commands on fd 3 and writes replies on fd 4
            os.dup2(to_browser, 3)
            os.dup2(from_browser, 4)

        self.proc = subprocess.Popen([self.chromium, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, pass_fds=(3, 4), preexec_fn=wire)
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    # -- the protocol

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("no reply from chromium")
            chunk = os.read(self._recv, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, session: str | None = None, **params) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._send, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, session: str) -> dict:
        deadline = time.monotonic() + self.timeout
        for i, event in enumerate(self.events):
            if event.get("method") == method and event.get("sessionId") == session:
                return self.events.pop(i)
        while True:
            event = self._read_message(deadline)
            if event.get("method") == method and event.get("sessionId") == session:
                return event
            self.events.append(event)

    # -- a page

    def check(self, page: str | Path, width: int, height: int = 1600, screenshot: Path | None = None) -> PageCheck:
        """Open ``page`` in a fresh tab ``width`` x ``height`` px wide and report on it."""
        page = Path(page).resolve()
        url = page.as_uri()
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        try:
            for domain in ("Page", "Network", "Log", "Runtime"):
                self.call(f"{domain}.enable", session)
            self.call("Emulation.setDeviceMetricsOverride", session, width=width, height=height,
                      deviceScaleFactor=1, mobile=False)
            self.events.clear()
            self.call("Page.navigate", session, url=url)
            self.wait_for("Page.loadEventFired", session)
            sizes = json.loads(self.call("Runtime.evaluate", session, returnByValue=True, expression=(
                "JSON.stringify({scroll: document.scrollingElement.scrollWidth, inner: innerWidth})"))
                ["result"]["value"])
            result = PageCheck(page, width, sizes["scroll"], sizes["inner"])
            if screenshot is not None:
                shot = self.call("Page.captureScreenshot", session, format="png")
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                screenshot.write_bytes(base64.b64decode(shot["data"]))
                result.screenshot = screenshot
            self._collect(result, session, url)
            return result
        finally:
            self.call("Target.closeTarget", targetId=target)

    def _collect(self, result: PageCheck, session: str, url: str) -> None:
        for event in self.events:
            if event.get("sessionId") != session:
                continue
            params = event.get("params", {})
            if event["method"] == "Network.requestWillBeSent" and params["request"]["url"] != url:
                result.requests.append(params["request"]["url"])
            elif event["method"] == "Network.loadingFailed" and params.get("blockedReason"):
                result.requests.append(f"(blocked: {params['blockedReason']})")
            elif event["method"] == "Log.entryAdded":
                entry = params["entry"]
                result.messages.append(f"{entry.get('source')}: {entry.get('text')}")
            elif event["method"] == "Runtime.consoleAPICalled":
                result.messages.append(f"console.{params.get('type')}")
        self.events.clear()

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except Exception:  # noqa: BLE001 - the browser may already be gone
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._send)
        os.close(self._recv)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def shrink(png: Path, colours: int = 128) -> None:
    """Rewrite a screenshot with a palette of ``colours`` (a third of the size; text stays sharp), if Pillow is
    installed; otherwise leave it as it is."""
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(png) as image:
        small = image.convert("RGB").quantize(colors=colours, method=Image.Quantize.MEDIANCUT,
                                              dither=Image.Dither.NONE)
    small.save(png, optimize=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="+", type=Path)
    parser.add_argument("--shots", type=Path, help="save PAGE-WIDTH.png screenshots here")
    parser.add_argument("--widths", default="1280,400")
    parser.add_argument("--height", type=int, default=1600)
    parser.add_argument("--small", action="store_true", help="save screenshots with 128 colours (needs Pillow)")
    args = parser.parse_args(argv)
    failed = []
    with Browser() as browser:
        for page in args.pages:
            for width in (int(w) for w in args.widths.split(",")):
                shot = args.shots / f"{page.stem}-{width}.png" if args.shots else None
                result = browser.check(page, width, args.height, shot)
                if shot and args.small:
                    shrink(shot)
                failed += result.problems()
                print(f"{shot or page} ({width} px): {'ok' if not result.problems() else 'FAILED'}")
    for line in failed:
        print(line, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
