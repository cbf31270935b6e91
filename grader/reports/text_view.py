"""A saved report as plain text for the terminal (``grader report X.json``): score and band first, then why.

No colour and no markup, so it reads the same on screen, in a pager and in a file. Built from the flat view
(:mod:`grader.reports.views`) like every other renderer; time stamps are shown in local time.
"""
from __future__ import annotations

import textwrap

from grader.clock import local_time
from grader.reports.views import answer_rows, orphan_rows, transcript_overview

WIDTH = 100
_METRICS = (("keyword_coverage", "keywords"), ("rouge1_f1", "ROUGE-1 F1"), ("rougeL_f1", "ROUGE-L F1"),
            ("bertscore_recall", "BERTScore R"), ("semantic", "semantic"))


def _num(value, spec: str = ".1f") -> str:
    return "–" if value is None else format(value, spec)


def _wrap(text: str, indent: str = "  ", hang: str = "") -> list[str]:
    """``text`` wrapped to WIDTH, each paragraph kept; continuation lines indented by ``hang`` more."""
    out = []
    for paragraph in (text or "").strip().split("\n"):
        out += textwrap.wrap(paragraph, WIDTH, initial_indent=indent, subsequent_indent=indent + hang) or [""]
    return out


def _mentor_lines(row: dict) -> list[str]:
    lines = []
    for review in row["reviews"]:
        note = f': "{review["note"]}"' if review.get("note") else ""
        lines.append(f"  mentor {review['grade']:g} by {review['reviewer']}, {local_time(review['reviewed_at'])}"
                     f"{note}")
    if row["difference"] is not None:
        lines.append(f"  mentor minus automatic: {row['difference']:+.1f}")
    return lines


def _answer_block(row: dict, full: bool) -> list[str]:
    """One answer: its headline, then (``full``) the question asked, metrics, flags, feedback and the answer."""
    number = "earlier answer" if row["number"] is None else f"{row['number']}."
    if not row["question_id"]:
        return [f"{number} small talk (not graded)", *_wrap(f"Asked: {row['asked']}")]
    flags = f"  [{', '.join(row['flags'])}]" if row["flags"] else ""
    lines = [f"{number} {row['question_id']}: {row['question']}",
             f"  score {_num(row['score'])} / 100  {row['band'] or ''}{flags}"]
    lines += _mentor_lines(row)
    if not full:
        return lines
    if row["asked"] and row["asked"] != row["question"]:
        lines += _wrap(f"Asked: {row['asked']}")
    for follow_up in row["follow_ups"]:
        lines += _wrap(f"Follow-up: {follow_up}")
    metrics = [f"{label} {row[key]:.2f}" for key, label in _METRICS if row.get(key) is not None]
    if metrics:
        lines.append("  " + ", ".join(metrics))
    lines += [line for item in row["feedback"] for line in _wrap(f"• {item}", "  ", "  ")]
    lines += [line for item in row["judge_notes"] for line in _wrap(f"• {item}", "  ", "  ")]
    lines.append("  Answer:")
    lines += _wrap(row["answer"] or "(empty answer)", "    ")
    return lines


def _question(data: dict, topics: dict) -> str:
    rows = answer_rows("question", data, topics) + orphan_rows(data, topics)
    blocks = [_answer_block(row, full=True) for row in rows]
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"


def _transcript(data: dict, topics: dict) -> str:
    rows = answer_rows("transcript", data, topics)
    o = transcript_overview(data, rows)
    head = [f"{o['candidate']} ({o['source']})",
            f"overall {_num(o['overall_score'])} over {o['graded']} graded answer(s); "
            f"{len(rows) - o['graded']} exchange(s) of small talk (not graded)"]
    if o["reviewed"]:
        head.append(f"mentor mean {_num(o['mentor_mean'])} over {o['reviewed']} reviewed answer(s) "
                    f"(automatic mean of those {_num(o['automatic_mean_reviewed'])})")
    blocks = [head] + [_answer_block(row, full=True) for row in rows if row["question_id"]]
    blocks += [_answer_block(row, full=True) for row in orphan_rows(data, topics)]
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"


def _summary(data: dict) -> str:
    lines = [f"{data['transcripts']} transcript(s) graded"
             + (f"; {len(data['failed'])} failed" if data.get("failed") else "")]
    lines += [f"  failed: {failure}" for failure in data.get("failed") or ()]
    lines += ["", f"{'candidate':<28} {'overall':>8} {'graded':>7}  source"]
    for c in data["per_candidate"]:
        lines.append(f"{(c['candidate'] or '?')[:28]:<28} {_num(c['overall_score']):>8} {c['answers_graded']:>7}  "
                     f"{c['source']}")
    lines += ["", f"{'question':<10} {'n':>4} {'mean':>7} {'min':>7} {'max':>7}"]
    for qid, q in data["per_question"].items():
        lines.append(f"{qid:<10} {q['n']:>4} {_num(q['mean']):>7} {_num(q['min']):>7} {_num(q['max']):>7}")
    return "\n".join(lines) + "\n"


def render_text(kind: str, data: dict, topics: dict[str, tuple[str, ...]] | None = None) -> str:
    """A question, transcript or summary report as plain text."""
    topics = topics or {}
    if kind == "question":
        return _question(data, topics)
    if kind == "transcript":
        return _transcript(data, topics)
    return _summary(data)
