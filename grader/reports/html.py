"""Self-contained HTML reports: one file, CSS inline, charts as inline SVG, no script, nothing fetched.

Everything from a report (answers, questions, names, notes) goes through :func:`_e` — candidate text is shown
as text, never as markup. A Content-Security-Policy that allows no script and no network is a second guard.
Charts are laid out in percent so they stay legible from a phone to a wide screen.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

from grader.reports.views import (
    answer_rows,
    highlight_spans,
    mean_metric_bars,
    metric_bars,
    row_topic_scores,
    summary_topic_scores,
    topic_coverage,
    transcript_overview,
)

BAND_COLOURS = {"Excellent": "#1a7f37", "Good": "#4c9a2a", "Partial": "#b7791f", "Weak": "#c2410c",
                "Missing": "#b91c1c"}
NEUTRAL = "#6b7280"
METRIC_COLOUR = "#2f6db5"
MENTOR_COLOUR = "#7c3aed"
ROW = 28  # px per chart row
SHORT_LABEL = 14  # characters of a bar label on a narrow screen

CSS = """
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#fff;--card:#f6f8fa;--accent:#2f6db5;--mentor:#7c3aed}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif}
main{max-width:980px;margin:0 auto;padding:24px 20px 48px}
h1{font-size:1.55rem;line-height:1.25;margin:0 0 6px}
h2{font-size:1.2rem;margin:32px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:1.05rem;margin:0 0 8px}
p{margin:6px 0}
.muted{color:var(--muted)}
.meta{color:var(--muted);font-size:.9rem;overflow-wrap:anywhere}
.head{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start;justify-content:space-between}
.head>div:first-child{flex:1 1 420px;min-width:0}
.scores{display:flex;flex-wrap:wrap;gap:10px}
.score{border:1px solid var(--line);border-radius:10px;padding:8px 14px;min-width:120px;background:var(--card)}
.score b{display:block;font-size:1.7rem;line-height:1.1}
.score span{font-size:.85rem;color:var(--muted)}
.score.mentor b{color:var(--mentor)}
.chips{display:flex;flex-wrap:wrap;gap:6px;margin:8px 0}
.chip{font-size:.8rem;padding:1px 9px;border-radius:999px;background:#e7eef8;color:#1d4f91}
.band{font-weight:600}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,420px),1fr));gap:18px;align-items:start;
margin:18px 0}
.card.wide{grid-column:1/-1}
.card{border:1px solid var(--line);border-radius:10px;padding:14px 16px;background:var(--bg);min-width:0}
.chart{width:100%;display:block;overflow:visible}
.chart text{font-size:12.5px;fill:var(--fg)}
.chart .val{font-variant-numeric:tabular-nums}
.chart .axis{stroke:var(--line);stroke-width:1}
.chart .short{display:none}
.legend{font-size:.82rem;color:var(--muted);margin:4px 0 0}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 10px;vertical-align:-1px}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--card);font-weight:600;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.answer{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--card);border-left:4px solid var(--line);
padding:10px 12px;border-radius:4px;margin:8px 0}
mark.concept{background:#d7f0dd;color:inherit;border-radius:3px;padding:0 1px}
mark.pitfall{background:#fbd9d3;color:inherit;border-radius:3px;padding:0 1px}
ul{padding-left:1.25em;margin:6px 0}
li{margin:2px 0;overflow-wrap:anywhere}
.ok b{color:#1a7f37}.miss b{color:#b7791f}.bad,.bad b{color:#b91c1c}.req{color:#b91c1c;font-weight:600}
.review{border-left:4px solid var(--mentor);background:#f4f0fd;padding:8px 12px;border-radius:4px;margin:10px 0}
.review .note{white-space:pre-wrap;overflow-wrap:anywhere;margin-top:4px}
details{margin:12px 0}
summary{cursor:pointer;font-weight:600}
section.item{border:1px solid var(--line);border-radius:10px;padding:14px 16px;margin:16px 0}
section.item h3{overflow-wrap:anywhere}
.asked{font-style:italic;color:var(--muted);overflow-wrap:anywhere}
footer{margin-top:40px;font-size:.78rem;color:var(--muted);overflow-wrap:anywhere}
@media (max-width:560px){main{padding:16px 12px 32px}h1{font-size:1.3rem}.score{min-width:0;flex:1 1 40%}
.chart text{font-size:11.5px}.chart .long{display:none}.chart .short{display:inline}th,td{padding:5px 6px}
.opt{display:none}}
@media print{.card,section.item{break-inside:avoid}}
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def _e(value) -> str:
    """Escape anything from a report for HTML text or attribute values."""
    return escape("" if value is None else str(value), quote=True)


def _num(value, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _signed(value) -> str:
    return "–" if value is None else f"{value:+.1f}"


def _band_colour(band) -> str:
    return BAND_COLOURS.get(band or "", NEUTRAL)


def page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<meta name=\"generator\" content=\"grader\">\n"
            f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n"
            "</body>\n</html>\n")


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


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def bar_chart(bars: list[Bar], *, title: str, top: float = 100.0, label_chars: int = 22) -> str:
    """Horizontal bars in percent coordinates: label column, bar area, value column."""
    if not bars:
        return f"<p class=\"muted\">No data for {_e(title.lower())}.</p>"
    left, width = 32.0, 46.0  # bar area, % of the chart width; the value column gets the last 22 %
    height = ROW * len(bars) + 18
    parts = [f"<svg class=\"chart\" role=\"img\" aria-label=\"{_e(title)}\" height=\"{height}\" "
             f"xmlns=\"http://www.w3.org/2000/svg\"><title>{_e(title)}</title>"]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        x = _pct(tick * top, top, left, width)
        parts.append(f"<line class=\"axis\" x1=\"{x}%\" x2=\"{x}%\" y1=\"0\" y2=\"{height - 16}\"/>"
                     f"<text x=\"{x}%\" y=\"{height - 3}\" text-anchor=\"middle\" class=\"muted\" "
                     f"style=\"font-size:10px;fill:#59636e\">{tick * top:g}</text>")
    for i, bar in enumerate(bars):
        y = i * ROW
        mid = y + ROW / 2
        tip = bar.tooltip or f"{bar.label}: {bar.text or _num(bar.value, 2)}"
        parts.append(f"<g><title>{_e(tip)}</title>")
        long, short = _truncate(bar.label, label_chars), _truncate(bar.short_label or bar.label, SHORT_LABEL)
        if long == short:
            parts.append(f"<text x=\"0\" y=\"{mid + 4}\">{_e(long)}</text>")
        else:  # CSS shows the short label on narrow screens
            parts.append(f"<text class=\"long\" x=\"0\" y=\"{mid + 4}\">{_e(long)}</text>"
                         f"<text class=\"short\" x=\"0\" y=\"{mid + 4}\">{_e(short)}</text>")
        if bar.value is not None:
            end = _pct(bar.value, top, left, width)
            parts.append(f"<rect x=\"{left}%\" y=\"{y + 6}\" width=\"{round(max(end - left, 0.0), 3)}%\" "
                         f"height=\"{ROW - 12}\" rx=\"3\" fill=\"{bar.colour}\"/>")
        if bar.low is not None and bar.high is not None:
            lo, hi = _pct(bar.low, top, left, width), _pct(bar.high, top, left, width)
            parts.append(f"<line x1=\"{lo}%\" x2=\"{hi}%\" y1=\"{mid}\" y2=\"{mid}\" stroke=\"#1f2328\" "
                         f"stroke-width=\"1.5\"/><line x1=\"{lo}%\" x2=\"{lo}%\" y1=\"{mid - 5}\" y2=\"{mid + 5}\" "
                         f"stroke=\"#1f2328\" stroke-width=\"1.5\"/><line x1=\"{hi}%\" x2=\"{hi}%\" "
                         f"y1=\"{mid - 5}\" y2=\"{mid + 5}\" stroke=\"#1f2328\" stroke-width=\"1.5\"/>")
        if bar.marker is not None:
            x = _pct(bar.marker, top, left, width)
            parts.append(f"<line x1=\"{x}%\" x2=\"{x}%\" y1=\"{y + 2}\" y2=\"{y + ROW - 2}\" "
                         f"stroke=\"{MENTOR_COLOUR}\" stroke-width=\"4\" stroke-linecap=\"round\"/>")
        text = bar.text or _num(bar.value, 2 if top <= 1 else 1)
        parts.append(f"<text class=\"val\" x=\"100%\" y=\"{mid + 4}\" text-anchor=\"end\">{_e(text)}</text></g>")
    parts.append("</svg>")
    return "".join(parts)


def line_chart(points: list[float], *, title: str, top: float = 100.0, height: int = 150) -> str:
    """Scores over attempts: a polyline of segments in percent coordinates, with the 0/50/100 grid."""
    if not points:
        return ""
    left, width, pad = 6.0, 91.0, 14
    inner = height - 2 * pad

    def xy(i: int, value: float) -> tuple[float, float]:
        x = left + (width * i / (len(points) - 1) if len(points) > 1 else width / 2)
        y = pad + inner * (1 - min(max(value / top, 0.0), 1.0))
        return round(x, 3), round(y, 2)

    parts = [f"<svg class=\"chart\" role=\"img\" aria-label=\"{_e(title)}\" height=\"{height}\" "
             f"xmlns=\"http://www.w3.org/2000/svg\"><title>{_e(title)}</title>"]
    for tick in (0, 50, 100):
        y = pad + inner * (1 - tick / top)
        parts.append(f"<line class=\"axis\" x1=\"{left}%\" x2=\"{left + width}%\" y1=\"{y}\" y2=\"{y}\"/>"
                     f"<text x=\"0\" y=\"{y + 4}\" style=\"font-size:10px;fill:#59636e\">{tick}</text>")
    coords = [xy(i, v) for i, v in enumerate(points)]
    for (x1, y1), (x2, y2) in zip(coords, coords[1:]):
        parts.append(f"<line x1=\"{x1}%\" y1=\"{y1}\" x2=\"{x2}%\" y2=\"{y2}\" stroke=\"{METRIC_COLOUR}\" "
                     f"stroke-width=\"2\"/>")
    for i, ((x, y), value) in enumerate(zip(coords, points), 1):
        parts.append(f"<circle cx=\"{x}%\" cy=\"{y}\" r=\"4\" fill=\"{METRIC_COLOUR}\"><title>attempt {i}: "
                     f"{value:.1f}</title></circle>")
        if len(points) <= 24:
            parts.append(f"<text x=\"{x}%\" y=\"{height - 2}\" text-anchor=\"middle\" "
                         f"style=\"font-size:10px;fill:#59636e\">{i}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _card(title: str, inner: str, legend: str = "", wide: bool = False) -> str:
    return f"<div class=\"card{' wide' if wide else ''}\"><h3>{_e(title)}</h3>{inner}{legend}</div>"


MENTOR_LEGEND = (f"<p class=\"legend\"><i style=\"background:{METRIC_COLOUR}\"></i>automatic score"
                 f"<i style=\"background:{MENTOR_COLOUR}\"></i>mentor's grade (values: automatic / mentor)</p>")
TOPIC_LEGEND = "<p class=\"legend\">Mean score per topic; (questions answered / questions in the bank).</p>"


# --------------------------------------------------------------------------- building blocks


def _chips(topics) -> str:
    if not topics:
        return ""
    return "<div class=\"chips\">" + "".join(f"<span class=\"chip\">{_e(t)}</span>" for t in topics) + "</div>"


def _score_boxes(score, band, mentor=None, difference=None, reviewer=None) -> str:
    colour = _band_colour(band)
    out = [f"<div class=\"score\"><span>Automatic score</span><b style=\"color:{colour}\">{_num(score)}</b>"
           f"<span class=\"band\" style=\"color:{colour}\">{_e(band or 'not graded')}</span></div>"]
    if mentor is not None:
        out.append(f"<div class=\"score mentor\"><span>Mentor's grade</span><b>{_num(mentor)}</b>"
                   f"<span>{_e(reviewer)} · difference {_signed(difference)}</span></div>")
    return "<div class=\"scores\">" + "".join(out) + "</div>"


def _answer_html(row: dict) -> str:
    answer = row["answer"]
    if not answer.strip():
        return "<div class=\"answer muted\">(empty answer)</div>"
    out, pos = [], 0
    for start, end, kind, label in highlight_spans(row):
        out.append(_e(answer[pos:start]))
        out.append(f"<mark class=\"{kind}\" title=\"{_e(label)}\">{_e(answer[start:end])}</mark>")
        pos = end
    out.append(_e(answer[pos:]))
    return "<div class=\"answer\">" + "".join(out) + "</div>"


def _concepts_html(row: dict) -> str:
    if row["keyword_coverage"] is None:
        return ""
    items = [f"<li class=\"ok\">✓ <b>{_e(m['concept'])}</b> — “{_e(m['text'])}”</li>" for m in row["matched"]]
    for m in row["missing"]:
        kind = ("<span class=\"muted\">(bonus, not required)</span>" if m.get("bonus") else
                "<span class=\"req\">(required)</span>" if m["required"] else "<span class=\"muted\">(missing)</span>")
        items.append(f"<li class=\"miss\">✗ <b>{_e(m['concept'])}</b> {kind}"
                     f"{': ' + _e(m['hint']) if m.get('hint') else ''}</li>")
    items += [f"<li class=\"bad\">⚠ misconception <b>{_e(p['pitfall'])}</b> — “{_e(p['text'])}”"
              f"{': ' + _e(p['explanation']) if p.get('explanation') else ''}</li>" for p in row["pitfall_hits"]]
    return f"<h3>Rubric concepts ({row['concepts_matched']}/{row['concepts_total']})</h3><ul>{''.join(items)}</ul>"


def _feedback_html(row: dict) -> str:
    if not row["feedback"]:
        return ""
    bad = ("Misconception", "Essential")
    items = "".join(("<li class=\"bad\">" if line.startswith(bad) else "<li>") + _e(line) + "</li>"
                    for line in row["feedback"])
    return f"<h3>Feedback</h3><ul>{items}</ul>"


def _reviews_html(row: dict) -> str:
    if not row["reviews"]:
        return ""
    latest = row["reviews"][-1]
    out = [f"<div class=\"review\"><b>Mentor review</b> by {_e(latest['reviewer'])}, {_e(latest['reviewed_at'])}: "
           f"grade <b>{_num(latest['grade'])}</b> · automatic {_num(row['score'])} · difference "
           f"<b>{_signed(row['difference'])}</b>"]
    if latest["note"]:
        out.append(f"<div class=\"note\">{_e(latest['note'])}</div>")
    if len(row["reviews"]) > 1:
        earlier = "".join(f"<li>{_e(r['reviewed_at'])} {_e(r['reviewer'])}: {_num(r['grade'])}"
                          f"{' — ' + _e(r['note']) if r['note'] else ''}</li>" for r in row["reviews"][:-1])
        out.append(f"<details><summary>Earlier reviews ({len(row['reviews']) - 1})</summary><ul>{earlier}</ul>"
                   "</details>")
    out.append("</div>")
    return "".join(out)


def _orphans_html(data: dict, topics: dict) -> str:
    """Mentor reviews kept from answers that a regrade changed or dropped (``orphaned_reviews``)."""
    from grader.reports.views import orphan_rows

    rows = orphan_rows(data, topics)
    if not rows:
        return ""
    items = "".join(f"<section class=\"item\"><h3>{_e(r['question_id'] or 'unmatched')} (earlier answer, "
                    f"automatic {_num(r['score'])})</h3>{_reviews_html(r)}<div class=\"answer\">{_e(r['answer'])}"
                    "</div></section>" for r in rows)
    return ("<h2>Mentor reviews of earlier answers</h2><p class=\"meta\">These answers changed or are gone since "
            "they were reviewed; the reviews are kept with the old text.</p>" + items)


def _signature_html(signature: dict) -> str:
    from grader.reports.signature import format_signature

    try:
        line = format_signature(signature)
    except (KeyError, TypeError):
        line = "signature incomplete"
    return f"<footer>Reproduce with: <code>{_e(line)}</code></footer>"


def _topic_bars(coverage: list[dict]) -> list[Bar]:
    return [Bar(t["topic"] + (f" ({t['answered']}/{t['in_bank']})" if t["in_bank"] else ""), t["mean_score"],
                METRIC_COLOUR, text=f"{t['mean_score']:.1f}",
                short_label=_truncate(t["topic"], 9) + (f" {t['answered']}/{t['in_bank']}" if t["in_bank"] else ""),
                tooltip=f"{t['topic']}: mean score {t['mean_score']:.1f} over {t['answered']} question(s) answered"
                        + (f" of {t['in_bank']} in the bank" if t["in_bank"] else ""))
            for t in coverage]


def _metric_chart(pairs: list[tuple[str, float]], title: str) -> str:
    return bar_chart([Bar(label, value, METRIC_COLOUR, text=f"{value:.2f}") for label, value in pairs],
                     title=title, top=1.0)


# --------------------------------------------------------------------------- pages


def question_html(data: dict, topics: dict) -> str:
    row = answer_rows("question", data, topics)[0]
    coverage = topic_coverage(row_topic_scores([row]), topics)
    head = (f"<div class=\"head\"><div><p class=\"meta\">grader · answer report</p>"
            f"<h1>{_e(row['question_id'])}: {_e(row['question'])}</h1>{_chips(row['topics'])}</div>"
            f"{_score_boxes(row['score'], row['band'], row['mentor_grade'], row['difference'], row['reviewer'])}"
            "</div>")
    charts = [_card("Metric breakdown", _metric_chart(metric_bars(row), "Metric breakdown"))]
    charts.append(_card("Coverage by topic", bar_chart(_topic_bars(coverage), title="Coverage by topic"),
                        TOPIC_LEGEND))
    body = [head, _reviews_html(row), "<div class=\"grid\">" + "".join(charts) + "</div>",
            "<h2>Why this score</h2>", _feedback_html(row), _concepts_html(row),
            "<h2>Answer</h2>", _answer_html(row), _orphans_html(data, topics), _signature_html(data["signature"])]
    return page(f"{row['question_id']}: {row['question']} — {_num(row['score'])}/100", "\n".join(body))


def _answer_section(row: dict) -> str:
    colour = _band_colour(row["band"])
    follow = "".join(f"<p class=\"asked\">Follow-up: {_e(f)}</p>" for f in row["follow_ups"])
    bars = metric_bars(row)
    return (f"<section class=\"item\" id=\"a{row['number']}\"><h3>{row['number']}. {_e(row['question_id'])}: "
            f"{_e(row['question'])}</h3>{_chips(row['topics'])}<p class=\"asked\">Asked (line {_e(row['line'])}): "
            f"{_e(row['asked'])}</p>{follow}"
            f"<p>Score <b style=\"color:{colour}\">{_num(row['score'])}</b> <span class=\"band\" "
            f"style=\"color:{colour}\">{_e(row['band'])}</span></p>{_reviews_html(row)}"
            f"<div class=\"grid\"><div>{_feedback_html(row)}</div><div>"
            f"{_metric_chart(bars, 'Metric breakdown') if bars else ''}</div></div>"
            f"{_concepts_html(row)}{_answer_html(row)}</section>")


def transcript_html(data: dict, topics: dict) -> str:
    rows = answer_rows("transcript", data, topics)
    graded = [r for r in rows if r["score"] is not None]
    info = transcript_overview(data, rows)
    head = (f"<div class=\"head\"><div><p class=\"meta\">grader · mock interview</p>"
            f"<h1>{_e(info['candidate'])}</h1><p class=\"meta\">{_e(info['source'])} · {info['graded']} answers "
            f"graded · {info['unmatched']} turns not matched to the bank"
            f"{' · ' + str(info['reviewed']) + ' reviewed by a mentor' if info['reviewed'] else ''}</p></div>"
            f"<div class=\"scores\"><div class=\"score\"><span>Overall (automatic)</span>"
            f"<b>{_num(info['overall_score'])}</b><span>mean of {info['graded']} answers</span></div>"
            + (f"<div class=\"score mentor\"><span>Mentor's mean</span><b>{_num(info['mentor_mean'])}</b>"
               f"<span>automatic {_num(info['automatic_mean_reviewed'])} on the same answers</span></div>"
               if info["mentor_mean"] is not None else "")
            + "</div></div>")
    score_bars = [Bar(f"{r['number']}. {r['question_id']}", r["score"], _band_colour(r["band"]),
                      text=_num(r["score"]) + (f" / {_num(r['mentor_grade'])}" if r["mentor_grade"] is not None
                                               else ""),
                      marker=r["mentor_grade"], tooltip=f"{r['question_id']}: {r['question']}") for r in graded]
    legend = MENTOR_LEGEND if any(r["mentor_grade"] is not None for r in graded) else ""
    charts = [_card("Score per question", bar_chart(score_bars, title="Score per question"), legend),
              _card("Metric breakdown (mean over answers)",
                    _metric_chart(mean_metric_bars(graded), "Metric breakdown")),
              _card("Coverage by topic", bar_chart(_topic_bars(topic_coverage(row_topic_scores(graded), topics)),
                                                   title="Coverage by topic", label_chars=36), TOPIC_LEGEND,
                    wide=True)]
    table = ["<div class=\"table-wrap\"><table><thead><tr><th class=\"num\">#</th><th>Question</th><th>Asked</th>"
             "<th class=\"num opt\">Match</th><th class=\"num\">Score</th><th class=\"opt\">Band</th>"
             "<th class=\"num\">Mentor</th><th class=\"num\">Diff.</th></tr></thead><tbody>"]
    for r in rows:
        qid = (f"<a href=\"#a{r['number']}\">{_e(r['question_id'])}</a>" if r["question_id"]
               else "<span class=\"muted\">unmatched</span>")
        table.append(f"<tr><td class=\"num\">{r['number']}</td><td>{qid}</td><td>{_e(_truncate(r['asked'], 90))}</td>"
                     f"<td class=\"num opt\">{_num(r['match_confidence'], 2)}</td>"
                     f"<td class=\"num\">{_num(r['score'])}</td><td class=\"opt\">{_e(r['band'] or '–')}</td>"
                     f"<td class=\"num\">{_num(r['mentor_grade'])}</td>"
                     f"<td class=\"num\">{_signed(r['difference'])}</td></tr>")
    table.append("</tbody></table></div>")
    unmatched = ""
    if data.get("unmatched"):
        items = "".join(f"<li>line {_e(u.get('line'))} ({_e(u.get('speaker') or u.get('role') or '?')}): "
                        f"{_e(_truncate(u['text'], 240))}</li>" for u in data["unmatched"])
        unmatched = f"<details><summary>Not matched to the bank ({len(data['unmatched'])})</summary><ul>{items}</ul>" \
                    "</details>"
    body = [head, "<div class=\"grid\">" + "".join(charts) + "</div>", "<h2>Answers</h2>", "".join(table),
            "".join(_answer_section(r) for r in graded), unmatched, _orphans_html(data, topics),
            _signature_html(data["signature"])]
    return page(f"Mock interview: {info['candidate']} — {_num(info['overall_score'])}/100", "\n".join(body))


def summary_html(data: dict, topics: dict) -> str:
    candidates = data["per_candidate"]
    questions = data["per_question"]
    failed = ""
    if data["failed"]:
        failed = "<div class=\"review\" style=\"border-color:#b91c1c;background:#fdecec\"><b>Inputs that could not " \
                 "be read</b><ul>" + "".join(f"<li>{_e(f)}</li>" for f in data["failed"]) + "</ul></div>"
    scored = [c["overall_score"] for c in candidates if c["overall_score"] is not None]
    head = (f"<div class=\"head\"><div><p class=\"meta\">grader · cohort</p><h1>Cohort summary</h1>"
            f"<p class=\"meta\">{data['transcripts']} transcripts · {len(questions)} bank questions asked · "
            f"{sum(q['n'] for q in questions.values())} answers graded</p></div><div class=\"scores\">"
            f"<div class=\"score\"><span>Cohort mean</span><b>{_num(sum(scored) / len(scored) if scored else None)}"
            f"</b><span>of {len(scored)} candidates</span></div></div></div>")
    cand_bars = [Bar(c["candidate"] or Path(c["source"]).name, c["overall_score"], METRIC_COLOUR,
                     tooltip=f"{c['candidate'] or '?'} ({c['source']}): {c['answers_graded']} answers")
                 for c in candidates]
    q_bars = [Bar(f"{qid} (n={q['n']})", q["mean"], METRIC_COLOUR, low=q["min"], high=q["max"],
                  text=f"{q['mean']:.1f}", tooltip=f"{qid}: mean {q['mean']:.1f}, min {q['min']:.1f}, "
                                                                f"max {q['max']:.1f}, {q['n']} answers")
              for qid, q in questions.items()]
    charts = [_card("Candidates: overall score", bar_chart(cand_bars, title="Candidates: overall score")),
              _card("Questions: mean score, min–max", bar_chart(q_bars, title="Questions: mean score"),
                    "<p class=\"legend\">Bar: mean over the cohort; whisker: lowest to highest answer.</p>"),
              _card("Coverage by topic (cohort)",
                    bar_chart(_topic_bars(topic_coverage(summary_topic_scores(data), topics)),
                              title="Coverage by topic", label_chars=36),
                    TOPIC_LEGEND, wide=True)]
    cand_table = ["<div class=\"table-wrap\"><table><thead><tr><th>Candidate</th><th>Source</th>"
                  "<th class=\"num\">Overall</th><th class=\"num\">Answers</th><th class=\"num\">Unmatched turns</th>"
                  "</tr></thead><tbody>"]
    cand_table += [f"<tr><td>{_e(c['candidate'] or '?')}</td><td>{_e(c['source'])}</td>"
                   f"<td class=\"num\">{_num(c['overall_score'])}</td><td class=\"num\">{c['answers_graded']}</td>"
                   f"<td class=\"num\">{c['unmatched_turns']}</td></tr>" for c in candidates]
    cand_table.append("</tbody></table></div>")
    q_table = ["<div class=\"table-wrap\"><table><thead><tr><th>Question</th><th>Topics</th><th class=\"num\">n</th>"
               "<th class=\"num\">Mean</th><th class=\"num\">Min</th><th class=\"num\">Max</th></tr></thead><tbody>"]
    q_table += [f"<tr><td>{_e(qid)}</td><td>{_e(', '.join(topics.get(qid, ())))}</td><td class=\"num\">{q['n']}</td>"
                f"<td class=\"num\">{_num(q['mean'])}</td><td class=\"num\">{_num(q['min'])}</td>"
                f"<td class=\"num\">{_num(q['max'])}</td></tr>" for qid, q in questions.items()]
    q_table.append("</tbody></table></div>")
    body = [head, failed, "<div class=\"grid\">" + "".join(charts) + "</div>", "<h2>Candidates</h2>",
            "".join(cand_table), "<h2>Questions</h2>", "".join(q_table), _signature_html(data["signature"])]
    return page("Cohort summary", "\n".join(body))


def history_html(data: dict) -> str:
    """The progress history (grader history --format json data) as a page with one chart per series."""
    filters = data["filters"]
    scope = ", ".join(f"{k.replace('_id', '')} {v}" for k, v in filters.items() if v) or "all attempts"
    head = (f"<div class=\"head\"><div><p class=\"meta\">grader · progress history</p><h1>Progress over time</h1>"
            f"<p class=\"meta\">{_e(scope)} · {len(data['attempts'])} attempts · {_e(data['database'])}</p></div>"
            "</div>")
    cards = []
    for s in data["series"]:
        trend = "–" if s["slope"] is None else f"{s['slope']:+.2f} points per attempt"
        cards.append(_card(f"{s['candidate']} · {s['question_id']}",
                           line_chart(s["scores"], title=f"{s['candidate']} {s['question_id']} scores")
                           + f"<p class=\"legend\">{s['n']} attempts · first {_num(s['first'])} · last "
                             f"{_num(s['last'])} · best {_num(s['best'])} · trend {_e(trend)}</p>"))
    table = ["<div class=\"table-wrap\"><table><thead><tr><th>When (UTC)</th><th>Candidate</th><th>Question</th>"
             "<th class=\"num\">Score</th><th>Band</th><th>Via</th></tr></thead><tbody>"]
    table += [f"<tr><td>{_e(a['recorded_at'])}</td><td>{_e(a['candidate'])}</td><td>{_e(a['question_id'])}</td>"
              f"<td class=\"num\">{_num(a['score'])}</td><td>{_e(a['band'])}</td><td>{_e(a['command'])}</td></tr>"
              for a in data["attempts"]]
    table.append("</tbody></table></div>")
    body = [head, "<div class=\"grid\">" + "".join(cards) + "</div>" if cards else "<p>No attempts recorded.</p>",
            "<h2>Attempts</h2>", "".join(table)]
    return page("Progress history", "\n".join(body))


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
