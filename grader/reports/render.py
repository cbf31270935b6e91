"""The one dispatcher from a report to a format: it imports the renderers, never the other way round.

Each renderer module loads only when its format is asked for, so ``grader report x.json`` does not import
the HTML templates to print Markdown.
"""
from __future__ import annotations

#: Formats of a freshly graded question report (``grader grade``); ``html`` and ``csv`` come on top.
FORMATS = ("text", "json", "md")

#: Formats any saved report re-renders to (``grader report``); text is the terminal view.
RENDER_FORMATS = ("text", "html", "md", "csv", "json")


def render(kind: str, data: dict, fmt: str, topics: dict[str, tuple[str, ...]] | None = None) -> str:
    """A report dict in one of RENDER_FORMATS; the renderer modules load only when asked for."""
    topics = topics or {}
    if fmt == "text":
        from grader.reports.text_view import render_text

        return render_text(kind, data, topics)
    if fmt == "html":
        from grader.reports.html import render_html

        return render_html(kind, data, topics)
    if fmt == "csv":
        from grader.reports.csv_report import render_csv

        return render_csv(kind, data, topics)
    if fmt == "json":
        from grader.reports.model import dumps

        return dumps(data)
    if fmt == "md":
        from grader.reports import markdown as md

        if kind == "question":
            return md.question_markdown(data, tuple(data.get("topics") or topics.get(data["question_id"], ())))
        if kind == "transcript":
            return md.transcript_markdown(data)
        if kind == "summary":
            return md.summary_markdown(data)
    raise ValueError(f"cannot render a {kind} report as {fmt!r}; formats: {', '.join(RENDER_FORMATS)}")
