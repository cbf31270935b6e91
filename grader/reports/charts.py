"""Chart geometry for the HTML reports: bars and dated lines, in percent of the chart's width and pixels down.

The SVG itself is drawn by ``templates/charts.html.j2`` from what these functions return, so a designer can
change the look without touching the arithmetic. Colours for scores come from :func:`score_colour`: a hue from
red (0) to green (100), the same whatever the bands are called.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

METRIC_COLOUR = "#2f6db5"
MENTOR_COLOUR = "#7c3aed"
#: One colour per question in a history chart (colour-blind safe, Okabe-Ito order), then repeated.
SERIES_COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#7c3aed", "#6b7280")
ROW = 28  # px per bar
SHORT_LABEL = 14  # characters of a bar label on a narrow screen
TICKS = (0, 0.25, 0.5, 0.75, 1.0)


def score_colour(score: float | None, light: bool = False) -> str:
    """A score's colour: red at 0 through amber to green at 100 (``light``: a background tint); grey for none."""
    if score is None:
        return "#f6f8fa" if light else "#6b7280"
    hue = round(1.2 * min(max(score, 0.0), 100.0))
    return f"hsl({hue}, 70%, 90%)" if light else f"hsl({hue}, 75%, 30%)"


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _num(value, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


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
    """Horizontal bars (label column, bar area, value column), for the ``bar_chart`` macro."""
    left, width = 32.0, 46.0  # bar area, % of the chart width; the value column gets the last 22 %
    height = ROW * len(bars) + 18
    rows = []
    for i, bar in enumerate(bars):
        y = i * ROW
        mid = y + ROW / 2
        long, short = truncate(bar.label, label_chars), truncate(bar.short_label or bar.label, SHORT_LABEL)
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


def parse_time(stamp: str) -> datetime:
    """A stored ISO 8601 time stamp (UTC with a Z, or with an offset) as an aware datetime."""
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _time_ticks(first: datetime, last: datetime) -> list[tuple[datetime, str]]:
    """Round local dates (midnights) across a span of two days or more, else round hours; at most six."""
    start, end = first.astimezone(), last.astimezone()
    span = (end - start).total_seconds()
    if span <= 0:
        return [(first, f"{start.day} {start:%b} {start:%H:%M}")]
    if span >= 2 * 86400:
        days = (end.date() - start.date()).days
        step = timedelta(days=-(-days // 5) if days > 5 else 1)
        moment = datetime.combine(start.date(), time(), start.tzinfo)
        label = "{d.day} {d:%b}"
    else:
        hours = next(h for h in (1, 2, 3, 6, 12, 24) if span / 3600 / h <= 5)
        step = timedelta(hours=hours)
        moment = start.replace(minute=0, second=0, microsecond=0, hour=start.hour - start.hour % hours)
        label = "{d:%H:%M}"
    ticks = []
    while moment <= end:
        if moment >= start:
            ticks.append((moment, label.format(d=moment)))
        moment += step
    if ticks and span < 2 * 86400:  # hours: say which day the first tick is on
        ticks[0] = (ticks[0][0], f"{ticks[0][0].day} {ticks[0][0]:%b} {ticks[0][1]}")
    return ticks or [(first, f"{start.day} {start:%b}")]


def time_chart(series: list[dict], *, title: str, height: int = 190) -> dict:
    """Scores over time, one line per series (``{"label", "points": [(ISO time, score, tooltip)]}``), on a dated
    x-axis shared by all of them: local dates, or hours when the attempts span less than two days."""
    left, right, top_pad, bottom_pad = 7.0, 97.0, 10, 34
    inner = height - top_pad - bottom_pad
    moments = [parse_time(when) for s in series for when, _, _ in s["points"]]
    if not moments:
        return {"title": title, "height": height, "lines": [], "grid": [], "ticks": []}
    first, last = min(moments), max(moments)
    span = (last - first).total_seconds()

    def x(moment: datetime) -> float:
        share = (moment - first).total_seconds() / span if span else 0.5
        return round(left + share * (right - left), 3)

    def y(score: float) -> float:
        return round(top_pad + inner * (1 - min(max(score / 100.0, 0.0), 1.0)), 2)

    lines = []
    for i, s in enumerate(series):
        points = [{"x": x(parse_time(when)), "y": y(score), "tip": tip} for when, score, tip in s["points"]]
        lines.append({"label": s["label"], "colour": SERIES_COLOURS[i % len(SERIES_COLOURS)], "points": points,
                      "segments": list(zip(points, points[1:]))})
    ticks = []
    for moment, label in _time_ticks(first, last):
        at = x(moment)
        anchor = "start" if at < left + 6 else "end" if at > right - 6 else "middle"
        ticks.append({"x": at, "label": label, "anchor": anchor})
    return {"title": title, "height": height, "left": left, "right": right, "lines": lines, "ticks": ticks,
            "axis_y": height - bottom_pad, "tick_y": height - bottom_pad + 14,
            "grid": [{"y": y(v), "label": v} for v in (0, 50, 100)]}
