"""Self-contained HTML reports: one file, CSS inline, charts as inline SVG, no script, nothing fetched.

The pages are Jinja2 templates in ``grader/reports/templates/`` (a designer changes a page there, not here);
this module only prepares what they show: the report's rows (:mod:`grader.reports.views`), the cohort grid
(:mod:`grader.reports.cohort`) and the charts' geometry (:mod:`grader.reports.charts`). The template environment
escapes every value (``autoescape``) and refuses a name it does not know (``StrictUndefined``), so candidate text
is shown as text, never as markup, without each place having to remember it. A Content-Security-Policy that
allows no script and no network is a second guard. Times are shown in the local time of whoever renders.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from grader.clock import local_time
from grader.reports.charts import (
    MENTOR_COLOUR,
    METRIC_COLOUR,
    Bar,
    bar_chart,
    score_colour,
    time_chart,
    truncate,
)
from grader.reports.cohort import attention, candidate_attention
from grader.reports.guide import guide_entries, guide_title, plural, shown_metrics
from grader.reports.views import (
    METRICS,
    answer_rows,
    highlight_spans,
    orphan_rows,
    row_topic_scores,
    topic_coverage,
    transcript_overview,
)

TEMPLATES = Path(__file__).with_name("templates")
#: Topics of fewer answers than this are left out of the cohort's topic chart (one answer says little).
MIN_TOPIC_ANSWERS = 3
#: Answers listed under "look at these first" on the cohort page.
WORKLIST = 12
_PLAIN_FILE = re.compile(r"^[^/\\:]+\.json$")  # a report beside the summary: linked, nothing else


def _num(value, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _signed(value) -> str:
    return "–" if value is None else f"{value:+.1f}"


@lru_cache(maxsize=1)
def environment():
    """The template environment: autoescaping, strict about unknown names, None shown as nothing."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                      finalize=lambda value: "" if value is None else value)
    env.filters.update(num=_num, signed=_signed, cut=truncate, colour=score_colour, plural=plural,
                       tint=lambda score: score_colour(score, light=True), when=local_time)
    env.globals.update(metric_colour=METRIC_COLOUR, mentor_colour=MENTOR_COLOUR, guide_title=guide_title())
    return env


def _render(template: str, **context) -> str:
    return environment().get_template(template).render(**context)


# --------------------------------------------------------------------------- what the pages show


def _metric_chart(row_or_rows, title: str) -> dict:
    """The metrics that ran, for one answer (a row) or the mean over answers (a list of rows), each shown in
    [0, 1]: rescaled BERTScore dips below 0 for text less alike than unrelated text, shown as 0, and an empty
    answer has no meaning to compare at all."""
    rows = row_or_rows if isinstance(row_or_rows, list) else [row_or_rows]
    bars = []
    for key, label in METRICS:
        values = [r[key] for r in rows if r.get(key) is not None]
        if not values:
            continue
        if key.startswith("bertscore") and not any(r["answer"].strip() for r in rows):
            bars.append(Bar(label, None, text="–", tooltip=f"{label}: no answer to compare"))
            continue
        value = max(0.0, sum(values) / len(values))
        bars.append(Bar(label, value, METRIC_COLOUR, text=f"{value:.2f}"))
    return bar_chart(bars, title=title, top=1.0)


def _topic_chart(coverage: list[dict], label_chars: int = 22) -> dict:
    bars = [Bar(t["topic"] + (f" ({t['answered']}/{t['in_bank']})" if t["in_bank"] else ""), t["mean_score"],
                METRIC_COLOUR, text=f"{t['mean_score']:.1f}",
                short_label=truncate(t["topic"], 9) + (f" {t['answered']}/{t['in_bank']}" if t["in_bank"] else ""),
                tooltip=f"{t['topic']}: mean score {t['mean_score']:.1f} over {plural(t['answered'], 'question')} "
                        "answered" + (f" of {t['in_bank']} in the bank" if t["in_bank"] else ""))
            for t in coverage]
    return bar_chart(bars, title="Coverage by topic", label_chars=label_chars)


def _segments(row: dict) -> list[tuple[str, str | None, str | None]]:
    """The answer as (text, mark kind, mark label) pieces: the rubric's evidence marked, the rest plain."""
    answer, out, pos = row["answer"], [], 0
    for start, end, kind, label in highlight_spans(row):
        out += [(answer[pos:start], None, None), (answer[start:end], kind, label)]
        pos = end
    out.append((answer[pos:], None, None))
    return [piece for piece in out if piece[0]]


def _model_answer(entry: dict, row: dict) -> dict | None:
    """The bank's reference answer and the rubric's key points (``model_answer``, absent in older reports),
    each point marked when the answer made it."""
    model = entry.get("model_answer")
    if not model:
        return None
    said = {m["concept"] for m in row["matched"]}
    return {"text": model.get("text", ""),
            "key_points": [{**k, "made": k.get("concept") in said} for k in model.get("key_points") or ()]}


def _answer(row: dict, entry: dict) -> dict:
    return {**row, "segments": _segments(row), "empty": not row["answer"].strip(),
            "model": _model_answer(entry, row), "chart": _metric_chart(row, "Metric breakdown")}


def _signature_line(signature: dict) -> str:
    from grader.reports.signature import format_signature

    try:
        return format_signature(signature)
    except (KeyError, TypeError):
        return "signature incomplete"


def _common(kind: str, data: dict, topics: dict, shown: tuple[str, ...] | None = None) -> dict:
    return {"orphans": orphan_rows(data, topics), "signature": _signature_line(data["signature"]),
            "guide": guide_entries(kind, shown)}


# --------------------------------------------------------------------------- pages


def question_html(data: dict, topics: dict) -> str:
    row = _answer(answer_rows("question", data, topics)[0], data)
    coverage = _topic_chart(topic_coverage(row_topic_scores([row]), topics))
    return _render("question.html.j2", row=row, coverage=coverage, **_common("question", data, topics,
                                                                             shown_metrics(data)))


def transcript_html(data: dict, topics: dict) -> str:
    rows = answer_rows("transcript", data, topics)
    graded = [_answer(r, data["answers"][r["number"] - 1]) for r in rows if r["score"] is not None]
    score_bars = [Bar(f"{r['number']}. {r['question_id']}", r["score"], score_colour(r["score"]),
                      text=_num(r["score"]) + (f" / {_num(r['mentor_grade'])}" if r["mentor_grade"] is not None
                                               else ""),
                      marker=r["mentor_grade"], tooltip=f"{r['question_id']}: {r['question']}") for r in graded]
    charts = {"scores": bar_chart(score_bars, title="Score per question"),
              "metrics": _metric_chart(graded, "Metric breakdown") if graded else bar_chart([], title="Metrics"),
              "coverage": _topic_chart(topic_coverage(row_topic_scores(graded), topics), label_chars=36)}
    return _render("transcript.html.j2", info=transcript_overview(data, rows), rows=rows, graded=graded,
                   charts=charts, reviewed=any(r["mentor_grade"] is not None for r in graded),
                   unmatched=data.get("unmatched") or [], **_common("transcript", data, topics))


def _report_link(summary: dict, candidate: dict) -> str | None:
    """Where the cohort page links a candidate: their HTML report when the batch wrote HTML, else the JSON."""
    report = candidate.get("report")
    if not report or not _PLAIN_FILE.match(report):
        return None
    return quote(report[: -len(".json")] + ".html" if summary.get("report_format") == "html" else report)


def _reasons(cell: dict) -> list[str]:
    """Why an answer is on the mentor's list, in plain words."""
    out = []
    if cell.get("mentor_grade") is not None:
        out.append(f"mentor {_num(cell['mentor_grade'])} vs automatic {_num(cell['score'])} "
                   f"({_signed(cell['mentor_grade'] - cell['score'])})")
    out += [f"misconception: {name}" for name in cell.get("misconceptions") or ()]
    out += [f"contradicts: {fact}" for fact in cell.get("contradictions") or ()]
    out += [{"judge-contradiction": "the LLM judge quotes a contradiction",
             "judge-disagrees": "the LLM judge disagrees with the other metrics",
             "judge-failed": "the LLM judge failed"}.get(flag, flag) for flag in cell.get("judge_flags") or ()]
    if cell.get("mentor_grade") is None:
        out.append("not reviewed yet")
    return out


def _cohort_grid(data: dict) -> tuple[list[dict], list[dict]]:
    """The candidates in the order a mentor should look at them, each with their cells by question id, and the
    answers to look at first (disagreements, flagged, unreviewed)."""
    questions = data["per_question"]
    candidates, cells = [], []
    for c in sorted(data["per_candidate"], key=candidate_attention):
        link = _report_link(data, c)
        name = c["candidate"] or Path(c["source"]).name
        by_question: dict[str, list[dict]] = {}
        for cell in c.get("answers") or ():
            q = questions.get(cell["question_id"]) or {}
            item = {**cell, "candidate": name, "href": f"{link}#a{cell['number']}" if link else None,
                    "flagged": bool(cell.get("misconceptions") or cell.get("contradictions")
                                    or cell.get("judge_flags")),
                    "reasons": _reasons(cell), "question": q.get("question", ""),
                    "tip": "; ".join([f"{cell['question_id']}: {q.get('question', '')} — automatic "
                                      f"{_num(cell['score'])} ({cell.get('band') or 'no band'})",
                                      *([f"reviewed by {cell['reviewer']}, {local_time(cell['reviewed_at'])}"]
                                        if cell.get("mentor_grade") is not None else []), *_reasons(cell)]),
                    "difference": None if cell.get("mentor_grade") is None else cell["mentor_grade"] - cell["score"]}
            by_question.setdefault(cell["question_id"], []).append(item)
            cells.append(item)
        candidates.append({**c, "name": name, "href": link, "cells": by_question})
    worklist = [c for c in sorted(cells, key=attention) if attention(c)[0] < 3][:WORKLIST]
    return candidates, worklist


def _cohort_topics(data: dict, topics: dict) -> list[dict]:
    """Coverage by topic over the cohort, for topics with at least MIN_TOPIC_ANSWERS answers."""
    tags = {qid: tuple(q.get("topics") or topics.get(qid, ())) for qid, q in data["per_question"].items()}
    answers: dict[str, int] = {}
    for qid, q in data["per_question"].items():
        for tag in tags[qid] or ("untagged",):
            answers[tag] = answers.get(tag, 0) + q["n"]
    coverage = topic_coverage([(qid, q["mean"], q["n"]) for qid, q in data["per_question"].items()],
                              {**topics, **tags})
    return [{**t, "answers": answers.get(t["topic"], 0)} for t in coverage
            if answers.get(t["topic"], 0) >= MIN_TOPIC_ANSWERS]


def summary_html(data: dict, topics: dict) -> str:
    questions = data["per_question"]
    scored = [c["overall_score"] for c in data["per_candidate"] if c["overall_score"] is not None]
    q_bars = [Bar(f"{qid} (n={q['n']})", q["mean"], score_colour(q["mean"]), low=q["min"], high=q["max"],
                  marker=q.get("mentor_mean"), text=f"{q['mean']:.1f}",
                  tooltip=f"{qid}: {q.get('question') or ''} mean {q['mean']:.1f}, min {q['min']:.1f}, "
                          f"max {q['max']:.1f}, {plural(q['n'], 'answer')}"
                          + (f"; mentor mean {q['mentor_mean']:.1f}" if q.get("mentor_mean") is not None else ""))
              for qid, q in questions.items()]
    cohort_topics = _cohort_topics(data, topics)
    candidates, worklist = _cohort_grid(data)
    cells = [cell for c in candidates for group in c["cells"].values() for cell in group]
    return _render("summary.html.j2", data=data, candidates=candidates, worklist=worklist, questions=questions,
                   topics={qid: tuple(q.get("topics") or topics.get(qid, ())) for qid, q in questions.items()},
                   grid=any(c.get("answers") is not None for c in data["per_candidate"]),
                   charts={"questions": bar_chart(q_bars, title="Questions: mean score"),
                           "coverage": _topic_chart(cohort_topics, label_chars=36) if cohort_topics else None},
                   answers=sum(q["n"] for q in questions.values()), reviewed=sum(
                       1 for c in cells if c.get("mentor_grade") is not None),
                   cohort_mean=sum(scored) / len(scored) if scored else None, scored=len(scored),
                   min_topic_answers=MIN_TOPIC_ANSWERS, guide=guide_entries("summary"),
                   signature=_signature_line(data["signature"]))


def _history_cards(data: dict) -> list[dict]:
    """One card per candidate: a dated chart with a line per question (per way of scoring, where a question was
    scored several ways: those scores do not compare), and each line's figures."""
    scored = all("metrics" in s for s in data["series"])  # histories written before scorings were kept lack it

    def key(item: dict) -> tuple:
        way = (item.get("metrics") or "", item.get("weights") or "") if scored else ()
        return (item["candidate"], item["question_id"], *way)

    times: dict[tuple, list[tuple[str, float, str]]] = {}
    for a in data["attempts"]:
        tip = f"{a['question_id']} · {local_time(a['recorded_at'])}: {a['score']:.1f} ({a['band']})"
        times.setdefault(key(a), []).append((a["recorded_at"], a["score"], tip))
    ways: dict[tuple[str, str], int] = {}
    for s in data["series"]:
        ways[(s["candidate"], s["question_id"])] = ways.get((s["candidate"], s["question_id"]), 0) + 1
    cards: dict[str, dict] = {}
    for s in data["series"]:
        card = cards.setdefault(s["candidate"], {"candidate": s["candidate"], "series": []})
        label = s["question_id"] + (f" ({s['scoring']})" if ways[(s["candidate"], s["question_id"])] > 1 else "")
        trend = "–" if s["slope"] is None else f"{s['slope']:+.2f} points per attempt"
        card["series"].append({**s, "label": label, "trend": trend, "points": times.get(key(s), [])})
    for card in cards.values():
        chart = time_chart([{"label": s["label"], "points": s["points"]} for s in card["series"]],
                           title=f"{card['candidate']}: score over time, one line per question")
        for s, line in zip(card["series"], chart["lines"]):
            s["colour"] = line["colour"]
        card["chart"] = chart
    return list(cards.values())


def history_html(data: dict) -> str:
    """The progress history (grader history --format json data): a dated chart per candidate."""
    scope = ", ".join(f"{k.replace('_id', '')} {v}" for k, v in data["filters"].items() if v) or "all attempts"
    return _render("history.html.j2", data=data, scope=scope, cards=_history_cards(data))


def render_html(kind: str, data: dict, topics: dict | None = None) -> str:
    topics = topics or {}
    if kind == "question":
        return question_html(data, topics)
    if kind == "transcript":
        return transcript_html(data, topics)
    if kind == "summary":
        return summary_html(data, topics)
    if kind == "history":
        return history_html(data)
    raise ValueError(f"no HTML page for {kind!r} reports")
