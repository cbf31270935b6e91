"""The terminal renderer of one question report (rich): score and band first, then why, then the model answer,
a short reading guide and the signature as a folded, dim footer."""
from __future__ import annotations

from grader.reports.guide import guide_entries, guide_title, shown_metrics
from grader.reports.model import QuestionReport
from grader.reports.signature import format_signature
from grader.reports.views import judge_lines, metric_rows

#: Band colours; "Missing" is the name older reports gave the lowest band (now "Not yet").
BAND_COLOURS = {"Excellent": "green", "Good": "green", "Partial": "yellow", "Weak": "red", "Not yet": "red",
                "Missing": "red"}


def print_text(report: QuestionReport, console, *, model_answer: bool = True, guide: bool = True) -> None:
    """A terminal report: score and band first, then why; the model answer (after the learner answered) and the
    reading guide unless asked not to (``practice`` shows the model answer on request, the guide once)."""
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    colour = BAND_COLOURS.get(report.band, "white")
    title = Text(f"{report.question_id}: {report.question}", style="bold")
    score = Text(f"{report.score:.1f} / 100  ", style=f"bold {colour}") + Text(report.band, style=colour)
    console.print(Panel(score, title=title, title_align="left", expand=False))
    table = Table(show_header=False, box=None, pad_edge=False)
    for name, value in metric_rows(report.to_dict()):
        table.add_row(Text(name, style="dim"), value)
    console.print(table)
    if report.feedback:
        console.print()
        for line in report.feedback:
            style = "red" if line.startswith(("Misconception", "Essential", "Contradiction")) else None
            console.print(Text("• " + line, style=style))
    print_judge(report.judge, console)
    if report.keywords is not None and report.keywords.matched:
        console.print()
        console.print(Text("Evidence", style="bold"))
        for m in report.keywords.matched:
            console.print(Text(f"  {m.concept}: ", style="dim") + Text(f"“{m.text}”"))
    if model_answer:
        print_model_answer(report, console)
    if guide:
        print_guide(console, "question", shown_metrics(report.to_dict()))
    print_signature(report.signature, console)


def print_judge(judge: dict | None, console) -> None:
    """The LLM judge's grade and flags with their evidence (``--judge``); nothing without a judge."""
    from rich.text import Text

    lines = judge_lines(judge)
    if not lines:
        return
    console.print()
    for line in lines:
        style = "red" if line.startswith(("judge: failed", "judge: contradiction")) else \
            "yellow" if line.startswith(("judge disagrees", "judge: prompt")) else None
        console.print(Text("• " + line, style=style))


def print_model_answer(report: QuestionReport, console) -> None:
    """The bank's reference answer and the rubric's key points, each marked covered (✓) or not (·)."""
    if report.model_answer:
        covered = {m.concept for m in report.keywords.matched} if report.keywords is not None else set()
        print_reference(report.model_answer, report.key_points, console, covered)


def print_reference(text: str, key_points, console, covered: set[str] | None = None) -> None:
    """A model answer and its key points; with ``covered`` (concepts an answer made) each point is marked ✓ or ·,
    without it (``grader questions --show``) every point is a plain bullet."""
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    console.print()
    console.print(Text("Model answer", style="bold")
                  + Text("  (compare it with yours)" if covered is not None else "", style="dim"))
    console.print(Padding(Text(text.strip()), (0, 0, 0, 2), expand=False))
    if not key_points:
        return
    console.print(Text("Key points", style="bold") + Text("  (✓ in your answer)" if covered is not None else "",
                                                         style="dim"))
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column()
    for point in key_points:
        mark = "•" if covered is None else "✓" if point.concept in covered else "·"
        table.add_row(Text(f"  {mark}", style="green" if mark == "✓" else "dim"),
                      Text(point.concept, style="bold") + Text(" (essential)" if point.required else "",
                                                               style="dim") + Text(f": {point.point}"))
    console.print(table)


def print_guide(console, kind: str, shown: tuple[str, ...] | None = None) -> None:
    """The "how to read this" guide for a ``kind`` report, dim, after the report itself."""
    from rich.table import Table
    from rich.text import Text

    console.print()
    console.print(Text(guide_title(), style="dim bold"))
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column()
    for name, text in guide_entries(kind, shown):
        table.add_row(Text(f"  {name}", style="dim bold"), Text(text, style="dim"))
    console.print(table)


def signature_lines(signature: dict, width: int) -> list[str]:
    """The signature, folded at its ``|`` separators into lines of at most ``width`` characters (a part longer
    than a line is cut at the width), so it never wraps in the middle of a word."""
    parts = format_signature(signature).split("|")
    lines: list[str] = []
    line = "signature:"
    for part in parts:
        piece = " " + part
        if len(line) + len(piece) > width and line.strip():
            lines.append(line)
            line = "  "
            piece = part
        line += piece
        while len(line) > width:
            lines.append(line[:width])
            line = "  " + line[width:]
    lines.append(line)
    return lines


def print_signature(signature: dict, console) -> None:
    """The signature as a dim footer, folded to the terminal's width."""
    from rich.text import Text

    console.print()
    for line in signature_lines(signature, max(20, console.width - 1)):
        console.print(Text(line, style="dim"), no_wrap=True, overflow="ignore")


def print_session(summary: dict, console, interrupted: bool = False) -> None:
    """The end of a practice session (grader.mentor.session): each question's scores, what to review next, and
    any text typed but never graded, so nothing typed is lost."""
    from rich.table import Table
    from rich.text import Text

    from grader.reports.guide import plural

    console.print()
    head = "Practice interrupted" if interrupted else "Practice over"
    if not summary["attempts"]:
        console.print(Text(f"{head}: no answer was graded.", style="bold"))
    else:
        console.print(Text(f"{head}: {plural(summary['attempts'], 'attempt')} at "
                           f"{plural(len(summary['questions']), 'question')}.", style="bold"))
        table = Table("question", "scores", "best", "band", box=None, pad_edge=False, show_edge=False)
        for q in summary["questions"]:
            table.add_row(q["question_id"], " → ".join(f"{s:.1f}" for s in q["scores"]), f"{q['best']:.1f}",
                          Text(q["last_band"], style=BAND_COLOURS.get(q["last_band"], "")))
        console.print(table)
    if summary["review_next"]:
        console.print(Text("Review next:", style="bold"))
        for q in summary["review_next"]:
            points = ", ".join(q["points"]) or "read the model answer"
            console.print(Text(f"  {q['question_id']} (best {q['best']:.1f}): ", style="bold") + Text(points))
    elif summary["attempts"]:
        console.print("Every question answered reached Good: try a new topic next.", markup=False)
    for text in summary["unused"]:
        console.print(Text("Typed but not graded (kept here so it is not lost):", style="bold"))
        for line in text.splitlines():
            console.print(Text(f"  {line}"))
