"""The terminal renderer of one question report (rich): score and band first, then why."""
from __future__ import annotations

from grader.reports.model import QuestionReport
from grader.reports.signature import format_signature
from grader.reports.views import metric_rows


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
    for name, value in metric_rows(report):
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
