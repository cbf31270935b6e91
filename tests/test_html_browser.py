"""The HTML pages in a real headless Chromium (issue 14's acceptance): the cohort page, a transcript report, the
history page and an answer report, each at 1280 and 400 px, must not scroll sideways, must not make a request
beyond loading their own file, and must log nothing (no blocked request, no policy violation, no console).

The browser is driven over the DevTools pipe by scripts/browser.py, which scripts/screenshots.sh uses too.
"""
from __future__ import annotations

import importlib.util
import re
import struct
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.cli import app

from .conftest import REPO

_spec = importlib.util.spec_from_file_location("grader_scripts_browser", REPO / "scripts" / "browser.py")
browser = sys.modules.setdefault("grader_scripts_browser", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(browser)

CHROMIUM = browser.find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (Debian: apt-get install -y "
                                                         "chromium); the HTML pages are not checked in a browser")
LEX = ["--metrics", "keywords,rouge"]
WIDTHS = (1280, 400)
HEIGHT = 1600
ATTEMPTS = [("2025-03-01T09:00:00Z", "Lee", "q09", "LoRA is a kind of fine-tuning."),
            ("2025-03-02T18:30:00Z", "Lee", "q13", "Temperature divides the logits."),
            ("2025-03-04T08:15:00Z", "Lee", "q09", "LoRA freezes W and learns a low-rank update BA with r << d."),
            ("2025-03-05T10:00:00Z", "Kim", "q13", "Temperature divides the logits before the softmax."),
            ("2025-03-09T09:00:00Z", "Lee", "q09", "LoRA freezes W and learns a low-rank update BA with r << d; "
                                                   "after training BA is merged into W, so there is no extra latency.")]


def invoke(*args, env=None):
    result = CliRunner().invoke(app, [str(a) for a in args], env={"GRADER_HISTORY": "", "GRADER_NOW": "",
                                                                   **(env or {})})
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    """The pages of the acceptance: built with the CLI as a coach, a mentor and a learner would."""
    work = tmp_path_factory.mktemp("pages")
    reports = work / "reports"
    invoke("batch", REPO / "samples", "-o", reports, "-f", "html", *LEX)
    invoke("review", reports / "dana-lee.json", "-q", "q13", "--grade", "35", "-r", "Ana Ruiz",
           "--note", "top-p is a <b>mass</b>", "--now", "2025-03-01T09:30:00Z")  # re-renders summary.html
    invoke("report", reports / "dana-lee.json", "-f", "html", "-o", reports / "dana-lee.html", "--force")
    invoke("grade", "-q", "q09", "--answer-file", REPO / "samples" / "answer-lora.txt", "-f", "html",
           "-o", work / "answer.html", *LEX)
    db = work / "history.sqlite3"
    for when, who, qid, answer in ATTEMPTS:
        invoke("grade", "-q", qid, "--answer", answer, "--record", "--history-db", db, "-f", "json", *LEX,
               env={"GRADER_NOW": when, "GRADER_CANDIDATE": who})
    invoke("history", "--history-db", db, "-f", "html", "-o", work / "history.html")
    return {"cohort": reports / "summary.html", "transcript": reports / "dana-lee.html",
            "history": work / "history.html", "answer": work / "answer.html"}


@pytest.fixture(scope="module")
def chromium():
    with browser.Browser(CHROMIUM) as b:
        yield b


def png_size(path: Path) -> tuple[int, int]:
    raw = path.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", raw[16:24])


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["cohort", "transcript", "history", "answer"])
def test_page_fits_the_window_and_stays_in_its_file(pages, chromium, tmp_path, name, width):
    page = pages[name]
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", text)
    result = chromium.check(page, width, HEIGHT, screenshot=tmp_path / f"{name}-{width}.png")
    assert result.inner_width == width
    assert result.scroll_width <= result.inner_width, f"{name} scrolls sideways at {width} px"
    assert result.requests == [] and result.messages == [], result.problems()
    assert png_size(result.screenshot) == (width, HEIGHT) and result.screenshot.stat().st_size > 10_000


def test_the_checks_see_overflow_requests_and_policy_violations(chromium, tmp_path):
    """The same checks on pages that break each rule: they must fail (nothing leaves: no host name resolves)."""
    wide = tmp_path / "wide.html"
    wide.write_text("<!DOCTYPE html><body><div style=\"width:2000px\">wide</div><img src=\"http://example.com/a.png\">"
                    "</body>", encoding="utf-8")
    result = chromium.check(wide, 400, HEIGHT)
    assert result.scroll_width > 400 and result.overflows
    assert "http://example.com/a.png" in result.requests
    policy = tmp_path / "policy.html"
    policy.write_text("<!DOCTYPE html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
                      "'none'\"></head><body><img src=\"https://example.com/b.png\"></body>", encoding="utf-8")
    result = chromium.check(policy, 1280, HEIGHT)
    assert not result.overflows and any("csp" in r for r in result.requests)
    assert any("Content Security Policy" in m for m in result.messages)
