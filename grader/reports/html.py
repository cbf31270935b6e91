"""Self-contained HTML reports: one file, CSS inline, charts as inline SVG, no script, nothing fetched.

The pages are Jinja2 templates in ``grader/reports/templates/`` (a designer changes a page there, not here);
this module only prepares what they show: the report's rows (:mod:`grader.reports.views`) and the geometry of
the charts. The template environment escapes every value (``autoescape``) and refuses a name it does not
know (``StrictUndefined``), so candidate text is shown as text, never as markup, without each place having to
remember it. A Content-Security-Policy that allows no script and no network is a second guard. Charts are laid
out in percent so they stay legible from a phone to a wide screen.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from grader.reports.views import (
    answer_rows,
    highlight_spans,
    mean_metric_bars,
    metric_bars,
    orphan_rows,
    row_topic_scores,
    summary_topic_scores,
    topic_coverage,
    transcript_overview,
)

TEMPLATES = Path(__file__).with_name("templates")
BAND_COLOURS = {"Excellent": "#1a7f37", "Good": "#4c9a2a", "Partial": "#b7791f", "Weak": "#c2410c",
                "Missing": "#b91c1c"}
NEUTRAL = "#6b7280"
METRIC_COLOUR = "#2f6db5"
MENTOR_COLOUR = "#7c3aed"
ROW = 28  # px per chart row
SHORT_LABEL = 14  # characters of a bar label on a narrow screen
TICKS = (0, 0.25, 0.5, 0.75, 1.0)


def _num(value, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _signed(value) -> str:
    return "–" if value is None else f"{value:+.1f}"


def _band_colour(band) -> str:
    return BAND_COLOURS.get(band or "", NEUTRAL)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@lru_cache(maxsize=1)
def environment():
    """The template environment: autoescaping, strict about unknown names, None shown as nothing."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                      finalize=lambda value: "" if value is None else value)
    env.filters.update(num=_num, signed=_signed, cut=_truncate, band_colour=_band_colour)
    env.globals.update(metric_colour=METRIC_COLOUR, mentor_colour=MENTOR_COLOUR)
    return env


def _render(template: str, **context) -> str:
    return environment().get_template(template).render(**context)


# --------------------------------------------------------------------------- charts


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    colour: str = METRIC_COLOUR
    text: str = ""  # shown right of the bar; default: the value
    marker: float | None = None  # the mentor's grade, drawn as a tick
    low: float | None = None  # a min-max range, drawn as a whisker
    high: float | None = None
    tooltip: str = ""
    short_label: str = ""  # for narrow screens (default: the label cut to SHORT_LABEL characters)


def _pct(value: float, top: float, left: float, width: float) -> float:
    share = min(max(value / top, 0.0), 1.0) if top else 0.0
    return round(left + share * width, 3)


def bar_chart(bars: list[Bar], *, title: str, top: float = 100.0, label_chars: int = 22) -> dict:
    """Horizontal bars in percent coordinates (label column, bar area, value column), for ``charts.bar_chart``."""
    left, width = 32.0, 46.0  # bar area, % of the chart width; the value column gets the last 22 %
    height = ROW * len(bars) + 18
    rows = []
    for i, bar in enumerate(bars):
        y = i * ROW
        mid = y + ROW / 2
        long, short = _truncate(bar.label, label_chars), _truncate(bar.short_label or bar.label, SHORT_LABEL)
        row = {"tip": bar.tooltip or f"{bar.label}: {bar.text or _num(bar.value, 2)}", "long": long,
               "short": None if short == long else short, "text_y": mid + 4, "colour": bar.colour,
               "text": bar.text or _num(bar.value, 2 if top <= 1 else 1), "rect": None, "whisker": None,
               "marker": None}
        if bar.value is not None:
            end = _pct(bar.value, top, left, width)
            row["rect"] = {"y": y + 6, "width": round(max(end - left, 0.0), 3), "height": ROW - 12}
        if bar.low is not None and bar.high is not None:
            row["whisker"] = {"lo": _pct(bar.low, top, left, width), "hi": _pct(bar.high, top, left, width),
                              "mid": mid, "top": mid - 5, "bottom": mid + 5}
        if bar.marker is not None:
            row["marker"] = {"x": _pct(bar.marker, top, left, width), "y1": y + 2, "y2": y + ROW - 2}
        rows.append(row)
    ticks = [{"x": _pct(t * top, top, left, width), "label": f"{t * top:g}"} for t in TICKS]
    return {"title": title, "height": height, "left": left, "axis_bottom": height - 16, "tick_y": height - 3,
            "ticks": ticks, "rows": rows}


def line_chart(points: list[float], *, title: str, top: float = 100.0, height: int = 150) -> dict:
    """Scores over attempts: a polyline of segments in percent coordinates, with the 0/50/100 grid."""
    left, width, pad = 6.0, 91.0, 14
    inner = height - 2 * pad

    def xy(i: int, value: float) -> tuple[float, float]:
        x = left + (width * i / (len(points) - 1) if len(points) > 1 else width / 2)
        y = pad + inner * (1 - min(max(value / top, 0.0), 1.0))
        return round(x, 3), round(y, 2)

    coords = [xy(i, v) for i, v in enumerate(points)]
    return {"title": title, "height": height, "left": left, "right": left + width,
            "grid": [{"y": pad + inner * (1 - tick / top), "label": tick} for tick in (0, 50, 100)],
            "segments": list(zip(coords, coords[1:])),
            "points": [{"x": x, "y": y, "value": v, "number": i} for i, ((x, y), v) in enumerate(zip(coords, points), 1)],
            "numbered": len(points) <= 24}


def _metric_chart(pairs: list[tuple[str, float]], title: str) -> dict:
    return bar_chart([Bar(label, value, METRIC_COLOUR, text=f"{value:.2f}") for label, value in pairs],
                     title=title, top=1.0)


def _topic_bars(coverage: list[dict]) -> list[Bar]:
    return [Bar(t["topic"] + (f" ({t['answered']}/{t['in_bank']})" if t["in_bank"] else ""), t["mean_score"],
                METRIC_COLOUR, text=f"{t['mean_score']:.1f}",
                short_label=_truncate(t["topic"], 9) + (f" {t['answered']}/{t['in_bank']}" if t["in_bank"] else ""),
                tooltip=f"{t['topic']}: mean score {t['mean_score']:.1f} over {t['answered']} question(s) answered"
                        + (f" of {t['in_bank']} in the bank" if t["in_bank"] else ""))
            for t in coverage]


def _topic_chart(scores: list[tuple[str, float, int]], topics: dict, label_chars: int = 22) -> dict:
    return bar_chart(_topic_bars(topic_coverage(scores, topics)), title="Coverage by topic", label_chars=label_chars)


# --------------------------------------------------------------------------- what the pages show


def _segments(row: dict) -> list[tuple[str, str | None, str | None]]:
    """The answer as (text, mark kind, mark label) pieces: the rubric's evidence marked, the rest plain."""
    answer, out, pos = row["answer"], [], 0
    for start, end, kind, label in highlight_spans(row):
        out += [(answer[pos:start], None, None), (answer[start:end], kind, label)]
        pos = end
    out.append((answer[pos:], None, None))
    return [piece for piece in out if piece[0]]


def _answer(row: dict) -> dict:
    return {**row, "segments": _segments(row), "empty": not row["answer"].strip()}


def _signature_line(signature: dict) -> str:
    from grader.reports.signature import format_signature

    try:
        return format_signature(signature)
    except (KeyError, TypeError):
        return "signature incomplete"


def _common(data: dict, topics: dict) -> dict:
    return {"orphans": orphan_rows(data, topics), "signature": _signature_line(data["signature"])}


# --------------------------------------------------------------------------- pages


def question_html(data: dict, topics: dict) -> str:
    row = _answer(answer_rows("question", data, topics)[0])
    return _render("question.html.j2", row=row, metrics=_metric_chart(metric_bars(row), "Metric breakdown"),
                   coverage=_topic_chart(row_topic_scores([row]), topics), **_common(data, topics))


def transcript_html(data: dict, topics: dict) -> str:
    rows = answer_rows("transcript", data, topics)
    graded = [_answer(r) for r in rows if r["score"] is not None]
    score_bars = [Bar(f"{r['number']}. {r['question_id']}", r["score"], _band_colour(r["band"]),
                      text=_num(r["score"]) + (f" / {_num(r['mentor_grade'])}" if r["mentor_grade"] is not None
                                               else ""),
                      marker=r["mentor_grade"], tooltip=f"{r['question_id']}: {r['question']}") for r in graded]
    charts = {"scores": bar_chart(score_bars, title="Score per question"),
              "metrics": _metric_chart(mean_metric_bars(graded), "Metric breakdown"),
              "coverage": _topic_chart(row_topic_scores(graded), topics, label_chars=36),
              "answers": {r["number"]: _metric_chart(metric_bars(r), "Metric breakdown") for r in graded}}
    return _render("transcript.html.j2", info=transcript_overview(data, rows), rows=rows, graded=graded,
                   charts=charts, reviewed=any(r["mentor_grade"] is not None for r in graded),
                   unmatched=data.get("unmatched") or [], **_common(data, topics))


def summary_html(data: dict, topics: dict) -> str:
    candidates = data["per_candidate"]
    questions = data["per_question"]
    scored = [c["overall_score"] for c in candidates if c["overall_score"] is not None]
    cand_bars = [Bar(c["candidate"] or Path(c["source"]).name, c["overall_score"], METRIC_COLOUR,
                     tooltip=f"{c['candidate'] or '?'} ({c['source']}): {c['answers_graded']} answers")
                 for c in candidates]
    q_bars = [Bar(f"{qid} (n={q['n']})", q["mean"], METRIC_COLOUR, low=q["min"], high=q["max"],
                  text=f"{q['mean']:.1f}", tooltip=f"{qid}: mean {q['mean']:.1f}, min {q['min']:.1f}, "
                                                                f"max {q['max']:.1f}, {q['n']} answers")
              for qid, q in questions.items()]
    charts = {"candidates": bar_chart(cand_bars, title="Candidates: overall score"),
              "questions": bar_chart(q_bars, title="Questions: mean score"),
              "coverage": _topic_chart(summary_topic_scores(data), topics, label_chars=36)}
    return _render("summary.html.j2", data=data, candidates=candidates, questions=questions, topics=topics,
                   charts=charts, answers=sum(q["n"] for q in questions.values()),
                   cohort_mean=sum(scored) / len(scored) if scored else None, scored=len(scored),
                   signature=_signature_line(data["signature"]))


def history_html(data: dict) -> str:
    """The progress history (grader history --format json data) as a page with one chart per series."""
    scope = ", ".join(f"{k.replace('_id', '')} {v}" for k, v in data["filters"].items() if v) or "all attempts"
    series = [{**s, "trend": "–" if s["slope"] is None else f"{s['slope']:+.2f} points per attempt",
               "chart": line_chart(s["scores"], title=f"{s['candidate']} {s['question_id']} scores")}
              for s in data["series"]]
    return _render("history.html.j2", data=data, scope=scope, series=series)


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
