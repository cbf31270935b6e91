"""Renderers over the report data model: terminal text (rich), JSON and Markdown. No metric logic here."""
from __future__ import annotations

from grader.report import QuestionReport, dumps
from grader.signature import format_signature

FORMATS = ("text", "json", "md")


def to_json(report: QuestionReport) -> str:
    return dumps(report.to_dict())


def _metric_rows(report: QuestionReport) -> list[tuple[str, str]]:
    rows = []
    if report.keywords is not None:
        k = report.keywords
        rows.append(("Keyword coverage", f"{k.coverage:.2f}  ({len(k.matched)}/{len(k.matched) + len(k.missing)}"
                     f" concepts{', ' + str(len(k.pitfalls)) + ' misconception(s)' if k.pitfalls else ''})"))
    if report.rouge is not None:
        r = report.rouge
        rows.append(("ROUGE-1 / 2 / L  F1", f"{r.rouge1.f1:.2f} / {r.rouge2.f1:.2f} / {r.rougeL.f1:.2f}"))
    if report.bertscore is not None:
        b = report.bertscore
        rows.append(("BERTScore P / R / F1", f"{b.precision:.2f} / {b.recall:.2f} / {b.f1:.2f}  (rescaled)"))
    if report.semantic is not None:
        rows.append(("Semantic similarity", f"{report.semantic:.2f}"))
    return rows


def to_markdown(report: QuestionReport) -> str:
    lines = [f"## {report.question_id}: {report.question}", "",
             f"**Score: {report.score:.1f} / 100 ({report.band})**", "", "| Metric | Value |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in _metric_rows(report)]
    lines += ["", "### Feedback", ""] + [f"- {line}" for line in report.feedback]
    if report.keywords is not None and report.keywords.matched:
        lines += ["", "### Evidence", ""]
        lines += [f"- **{m.concept}**: “{m.text}”" for m in report.keywords.matched]
    lines += ["", "### Answer", "", "> " + report.answer.strip().replace("\n", "\n> ") if report.answer.strip()
              else "> (empty)", "", f"<sub>{format_signature(report.signature)}</sub>", ""]
    return "\n".join(lines)


def print_text(report: QuestionReport, console) -> None:
    """A terminal report: score and band first, then why."""
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    colour = {"Excellent": "green", "Good": "green", "Partial": "yellow", "Weak": "red", "Missing": "red"}.get(
        report.band, "white")
    title = Text(f"{report.question_id}: {report.question}", style="bold")
    score = Text(f"{report.score:.1f} / 100  ", style=f"bold {colour}") + Text(report.band, style=colour)
    console.print(Panel(score, title=title, title_align="left", expand=False))
    table = Table(show_header=False, box=None, pad_edge=False)
    for name, value in _metric_rows(report):
        table.add_row(Text(name, style="dim"), value)
    console.print(table)
    if report.feedback:
        console.print()
        for line in report.feedback:
            style = "red" if line.startswith(("Misconception", "Essential")) else None
            console.print(Text("• " + line, style=style))
    if report.keywords is not None and report.keywords.matched:
        console.print()
        console.print(Text("Evidence", style="bold"))
        for m in report.keywords.matched:
            console.print(Text(f"  {m.concept}: ", style="dim") + Text(f"“{m.text}”"))
    console.print(Text(format_signature(report.signature), style="dim"))
