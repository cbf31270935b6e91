"""The HTML pages against saved renderings: every kind of page render_html makes, from saved report data.

``tests/data/html_before/inputs/KIND-NAME.json`` are saved reports (question, transcript, summary, history); each
``NAME``'s page was saved as ``KIND-NAME.html``. A page must keep the same DOM: the same tags with the same
attributes in the same order, and the same text up to whitespace. A deliberate change to a page is made by
regenerating its fixture (``GRADER_REGENERATE_HTML=1 pytest tests/test_html_pages.py``) and reviewing the diff.
"""
from __future__ import annotations

import html
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "data" / "html_before"
INPUTS = sorted((FIXTURES / "inputs").glob("*.json"))
#: Elements styled white-space:pre-wrap: an answer, a mentor's note.
PRESERVED = re.compile(r'<div class="(?:answer[^"]*|note)">(.*?)</div>', re.S)
REGENERATE = os.environ.get("GRADER_REGENERATE_HTML") == "1"


class DomSequence(HTMLParser):
    """A page as a flat list: ("start", tag, attrs), ("end", tag), ("text", whitespace-normalised text)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.items: list[tuple] = []
        self._text: list[str] = []

    def _flush(self):
        text = " ".join("".join(self._text).split())
        if text:
            self.items.append(("text", text))
        self._text = []

    def handle_starttag(self, tag, attrs):
        self._flush()
        self.items.append(("start", tag, tuple((k, " ".join((v or "").split())) for k, v in attrs)))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self.items.append(("end", tag))

    def handle_endtag(self, tag):
        self._flush()
        self.items.append(("end", tag))

    def handle_data(self, data):
        self._text.append(data)

    def handle_decl(self, decl):
        self._flush()
        self.items.append(("decl", decl.lower()))

    def close(self):
        super().close()
        self._flush()


def dom(page: str) -> list[tuple]:
    parser = DomSequence()
    parser.feed(page)
    parser.close()
    return parser.items


def render_fixture(path: Path) -> str:
    from grader.reports.html import render_html

    topics = {k: tuple(v) for k, v in json.loads((FIXTURES / "topics.json").read_text(encoding="utf-8")).items()}
    kind = path.stem.split("-", 1)[0]
    return render_html(kind, json.loads(path.read_text(encoding="utf-8")), topics)


def test_every_kind_of_page_has_fixtures():
    assert {p.stem.split("-", 1)[0] for p in INPUTS} == {"question", "transcript", "summary", "history"}


@pytest.mark.parametrize("source", INPUTS, ids=[p.stem for p in INPUTS])
def test_page_dom_is_unchanged(source, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")  # times are shown in the local zone of whoever renders
    page = render_fixture(source)
    saved = FIXTURES / f"{source.stem}.html"
    if REGENERATE:
        saved.write_text(page, encoding="utf-8")
    expected, got = dom(saved.read_text(encoding="utf-8")), dom(page)
    for i, (want, have) in enumerate(zip(expected, got)):
        assert have == want, f"{saved.name}: item {i} differs; context {expected[max(0, i - 3):i]}"
    assert len(got) == len(expected), f"{saved.name}: {len(got)} DOM items, saved {len(expected)}"
    # where whitespace is shown as it is (white-space:pre-wrap), it must be the same to the character
    def preserved(text: str) -> list[str]:
        return [html.unescape(m) for m in PRESERVED.findall(text)]

    assert preserved(page) == preserved(saved.read_text(encoding="utf-8"))


def test_dom_comparison_can_fail():
    """The comparison sees a changed attribute, tag or word, and not a change of whitespace alone."""
    base = "<div class=\"a\"><p>Score <b>70</b>\n  points</p></div>"
    assert dom(base) == dom("<div class=\"a\">\n<p>Score\n<b>70</b> points</p>\n</div>")
    for changed in ("<div class=\"b\"><p>Score <b>70</b> points</p></div>",
                    "<div class=\"a\"><p>Score <i>70</i> points</p></div>",
                    "<div class=\"a\"><p>Score <b>71</b> points</p></div>"):
        assert dom(base) != dom(changed)


def test_templates_escape_everything_and_refuse_unknown_names():
    """Escaping is the environment's default, not a call each template must remember; a misspelt name fails."""
    from jinja2 import UndefinedError

    from grader.reports.html import environment

    env = environment()
    assert env.from_string("<p>{{ x }}</p>").render(x="<script>&\"'") == "<p>&lt;script&gt;&amp;&#34;&#39;</p>"
    assert env.from_string("{{ x }}").render(x=None) == ""
    with pytest.raises(UndefinedError):
        env.from_string("{{ row.nope }}").render(row={})


def test_templates_ship_as_package_data():
    from grader.reports.html import TEMPLATES

    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    assert '"grader.reports.templates" = ["*.j2"]' in pyproject and '"grader.reports.templates",' in pyproject
    assert '"Jinja2>=3.1"' in pyproject
    files = sorted(p.name for p in TEMPLATES.iterdir() if p.is_file())
    assert files and all(name.endswith(".j2") for name in files), files
