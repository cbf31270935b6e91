"""The cohort page a mentor works from (issue 14, points 6 and 7): summary.json carries every answer with the
mentor's latest grade, a review keeps summary.json and summary.html in step, and the page is a candidate x
question grid with links, question texts on hover, topics only where there are enough answers, in the order a
mentor should look at them."""
from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.reports.schemas import check, load_schema

from .conftest import REPO

runner = CliRunner()
LEX = ["--metrics", "keywords,rouge"]
NOW = "2025-03-01T09:30:00Z"


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args], env={"GRADER_HISTORY": "", "GRADER_NOW": ""})
    assert result.exit_code == 0, result.output
    return result


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cohort") / "reports"
    invoke("batch", REPO / "samples", "-o", out, "-f", "html", *LEX)
    return out


@pytest.fixture
def folder(cohort, tmp_path) -> Path:
    """A copy of the batch's folder to review in."""
    return Path(shutil.copytree(cohort, tmp_path / "reports"))


def graded(report: dict) -> list[tuple[int, dict]]:
    return [(n, a) for n, a in enumerate(report["answers"], 1) if a.get("question_id") and a["score"] is not None]


def test_the_summary_carries_every_answer_and_where_its_report_is(cohort, bank):
    summary = load(cohort / "summary.json")
    jsonschema.Draft202012Validator(load_schema("summary")).validate(summary)
    check(summary, "summary")
    assert summary["report_format"] == "html"
    texts = {q.id: q.question for q in bank}
    for entry in summary["per_candidate"]:
        report = load(cohort / entry["report"])
        assert (report["source"], report["candidate"]) == (entry["source"], entry["candidate"])
        assert [(c["number"], c["question_id"], c["score"], c["band"]) for c in entry["answers"]] == [
            (n, a["question_id"], a["score"], a["band"]) for n, a in graded(report)]
        for cell, (_, answer) in zip(entry["answers"], graded(report)):
            pitfalls = {p["pitfall"] for p in answer["metrics"]["keywords"]["pitfalls"]}
            assert set(cell["misconceptions"]) == pitfalls and cell["mentor_grade"] is None
            assert set(cell["contradictions"]) == {c["fact"] for c in answer.get("contradictions") or ()}
        assert entry["reviewed"] == 0 and entry["mentor_mean"] is None
    for qid, q in summary["per_question"].items():
        assert q["question"] == texts[qid] and tuple(q["topics"]) == tuple(bank.get(qid).topics)
        assert q["n"] == sum(c["question_id"] == qid for e in summary["per_candidate"] for c in e["answers"])
    assert any(c["misconceptions"] or c["contradictions"] for e in summary["per_candidate"] for c in e["answers"])


def test_a_review_updates_the_summary_and_the_cohort_page(folder):
    before = load(folder / "summary.json")
    dana = load(folder / "dana-lee.json")
    number, answer = next((n, a) for n, a in graded(dana) if a["question_id"] == "q13")
    invoke("review", folder / "dana-lee.json", "-q", "q13", "--grade", "35", "--reviewer", "Ana Ruiz",
           "--note", "top-p is a mass", "--now", NOW)
    after = load(folder / "summary.json")
    check(after, "summary")
    entry = next(e for e in after["per_candidate"] if e["report"] == "dana-lee.json")
    cell = next(c for c in entry["answers"] if c["number"] == number)
    assert (cell["mentor_grade"], cell["reviewer"], cell["reviewed_at"]) == (35.0, "Ana Ruiz", NOW)
    assert entry["reviewed"] == 1 and entry["mentor_mean"] == 35.0
    q13 = after["per_question"]["q13"]
    assert q13["reviewed"] == 1 and q13["mentor_mean"] == 35.0
    assert q13["mean_difference"] == pytest.approx(35.0 - answer["score"], abs=0.01)
    others = [e for e in after["per_candidate"] if e["report"] != "dana-lee.json"]
    assert others == [e for e in before["per_candidate"] if e["report"] != "dana-lee.json"]
    assert {k: v for k, v in q13.items() if k not in ("reviewed", "mentor_mean", "mean_difference")} == {
        k: v for k, v in before["per_question"]["q13"].items() if k not in ("reviewed", "mentor_mean",
                                                                          "mean_difference")}
    page = (folder / "summary.html").read_text(encoding="utf-8")
    assert "<span class=\"m\">M 35.0</span>" in page and "Ana Ruiz" in page


def test_a_summary_that_does_not_list_the_report_is_left_alone(folder):
    def files():
        return (folder / "summary.json").read_bytes(), (folder / "summary.html").read_bytes()

    before = files()
    invoke("review", folder / "dana-lee.json", "-q", "q13", "--grade", "35", "-r", "Ana", "--now", NOW,
           "-o", folder / "dana-lee-copy.json")  # another report than the one the summary lists
    invoke("grade", "-q", "q09", "--answer", "LoRA learns BA.", "-f", "json", "-o", folder / "one.json", *LEX)
    invoke("review", folder / "one.json", "--grade", "50", "-r", "Ana", "--now", NOW)  # not a transcript
    assert files() == before
    old = load(folder / "summary.json")
    for entry in old["per_candidate"]:  # as an earlier grader wrote it: no answers, no report names
        for key in ("report", "answers", "reviewed", "mentor_mean"):
            entry.pop(key)
    (folder / "summary.json").write_text(json.dumps(old), encoding="utf-8")
    before = files()
    invoke("review", folder / "dana-lee.json", "-q", "q13", "--grade", "35", "-r", "Ana", "--now", NOW)
    assert files() == before


class Page(HTMLParser):
    """What the cohort page shows: rows of the grid, the column headers' hover texts, links, cells, the worklist
    and the topic chart's labels."""

    def __init__(self, html: str):
        super().__init__()
        self.rows: list[str] = []
        self.headers: dict[str, str] = {}
        self.links: list[str] = []
        self.cells: list[dict] = []
        self.worklist: list[str] = []
        self.topics: list[str] = []
        self._open: list[tuple[str, str]] = []  # (tag, class) of the elements we are in
        self._attrs: dict = {}
        self._chart = ""
        self.feed(html)

    def _inside(self, tag: str, cls: str = "") -> bool:
        return any(t == tag and (not cls or cls in c.split()) for t, c in self._open)

    def handle_starttag(self, tag, attrs):
        self._attrs = dict(attrs)
        if tag not in ("br", "meta", "line", "rect"):
            self._open.append((tag, self._attrs.get("class") or ""))
        if tag == "a":
            self.links.append(self._attrs["href"])
            if self._attrs.get("class") == "cell":
                self.cells.append({"href": self._attrs["href"], "title": self._attrs["title"], "text": ""})
        if tag == "svg":
            self._chart = self._attrs.get("aria-label", "")

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data):
        tag, _ = self._open[-1] if self._open else ("", "")
        if tag == "abbr":
            self.headers[data] = self._attrs["title"]
        elif tag == "a" and self._inside("th", "who"):
            self.rows.append(data)
        elif tag == "a" and self._inside("ol", "worklist"):
            self.worklist.append(data)
        elif tag == "text" and self._chart == "Coverage by topic" and self._inside("g") \
                and self._open[-1][1] in ("", "long"):
            self.topics.append(data)
        if self._inside("a", "cell"):
            self.cells[-1]["text"] += data


def test_the_cohort_page_is_the_mentors_worklist(folder, bank):
    invoke("review", folder / "priya-nair.json", "-n", "2", "--grade", "5", "-r", "Ana", "--now", NOW)
    summary = load(folder / "summary.json")
    page = Page((folder / "summary.html").read_text(encoding="utf-8"))
    # rows: the candidate with the largest disagreement first; every candidate links to their report
    names = {e["candidate"]: e for e in summary["per_candidate"]}
    assert page.rows[0] == "Priya Nair" and sorted(page.rows) == sorted(names)
    for entry in summary["per_candidate"]:
        assert (folder / entry["report"].replace(".json", ".html")).is_file()
        assert entry["report"].replace(".json", ".html") in page.links
    # a column per question asked, its text on hover
    assert page.headers == {qid: q["question"] for qid, q in summary["per_question"].items()}
    # a cell per answer, linked to the answer in the report, flagged answers marked
    cells = [(e, c) for e in summary["per_candidate"] for c in e["answers"]]
    assert len(page.cells) == len(cells)
    for entry, cell in cells:
        href = f"{entry['report'].replace('.json', '.html')}#a{cell['number']}"
        shown = next(c for c in page.cells if c["href"] == href)
        assert ("⚠" in shown["text"]) == bool(cell["misconceptions"] or cell["contradictions"])
        assert ("M " in shown["text"]) == (cell["mentor_grade"] is not None)
        if cell["mentor_grade"] is not None:
            assert f"M {cell['mentor_grade']:.1f}" in shown["text"]
        question = summary["per_question"][cell["question_id"]]["question"]
        assert shown["title"].startswith(f"{cell['question_id']}: {question}")
        assert f"{cell['score']:.1f}" in shown["text"]
    # the worklist starts with the disagreement, then flagged answers nobody reviewed
    assert page.worklist[0] == f"Priya Nair · {names['Priya Nair']['answers'][0]['question_id']}"
    # topics: only those with at least 3 answers in the cohort
    answers: dict[str, int] = {}
    for q in summary["per_question"].values():
        for tag in q["topics"]:
            answers[tag] = answers.get(tag, 0) + q["n"]
    shown_topics = {re.sub(r" \(\d+/\d+\)$", "", t) for t in page.topics}
    assert shown_topics == {t for t, n in answers.items() if n >= 3} and min(answers.values()) < 3


@pytest.mark.parametrize("report,linked", [
    ("dana-lee.json", True),
    ("javascript:alert(1).json", False),
    ("../../etc/passwd.json", False),
    ("https://example.com/x.json", False),
    ("notes.txt", False),
])
def test_only_a_report_beside_the_summary_is_linked(cohort, report, linked):
    from grader.reports.html import render_html

    summary = load(cohort / "summary.json")
    summary["per_candidate"][0]["report"] = report
    page = Page(render_html("summary", summary))
    stem = report.rsplit(".", 1)[0]
    assert any(link.startswith(f"{stem}.html") for link in page.links) == linked
    assert not any(":" in link or link.startswith(("/", ".")) for link in page.links)


@pytest.mark.parametrize("cell,tier", [
    ({"mentor_grade": 80.0, "score": 20.0}, 0),  # the mentor disagrees: first
    ({"mentor_grade": 25.0, "score": 20.0}, 3),  # reviewed and agreeing: last
    ({"mentor_grade": None, "score": 90.0, "misconceptions": ["x"]}, 1),  # flagged, not reviewed
    ({"mentor_grade": None, "score": 90.0, "contradictions": ["a fact"]}, 1),
    ({"mentor_grade": None, "score": 10.0}, 2),  # not reviewed
])
def test_what_needs_a_mentor_comes_first(cell, tier):
    from grader.reports.cohort import attention

    assert attention({"number": 1, **cell})[0] == tier


def test_larger_disagreements_and_more_flags_come_first():
    from grader.reports.cohort import attention

    cells = [{"number": 1, "score": 50.0, "mentor_grade": 62.0}, {"number": 2, "score": 50.0, "mentor_grade": 10.0},
             {"number": 3, "score": 40.0, "mentor_grade": None, "misconceptions": ["a"]},
             {"number": 4, "score": 40.0, "mentor_grade": None, "misconceptions": ["a", "b"]},
             {"number": 5, "score": 30.0, "mentor_grade": None}, {"number": 6, "score": 5.0, "mentor_grade": None}]
    assert [c["number"] for c in sorted(cells, key=attention)] == [2, 1, 4, 3, 6, 5]
