"""Markdown renderers: one question, a transcript, a cohort summary; untrusted text escaped like HTML.

Markdown files are rendered by many viewers, so text from a transcript, an answer or a file name is escaped as
carefully as in HTML.
"""
from __future__ import annotations

import re

from grader.reports.guide import guide_entries, guide_title, shown_metrics
from grader.reports.model import QuestionReport
from grader.reports.signature import format_signature
from grader.reports.views import judge_lines, metric_rows

# --------------------------------------------------------------------------- Markdown escaping
# Markdown files are rendered by many viewers, so text from a transcript, an answer or a file name is escaped
# as carefully as in HTML: HTML characters become entities (no raw <script> or <img onerror>), Markdown
# punctuation is backslash-escaped (no fake heading, link, emphasis or table cell), and a line break inside an
# inline field is a space (a candidate name cannot open a line of its own).
_MD_PUNCT = re.compile(r"([\\`*_\[\]#|~!])")
_MD_LINE_START = re.compile(r"^(\s*(?:\d+(?=[.)]))?)([-+=>.)])")


def md_text(text) -> str:
    """One line of untrusted text, safe inside a Markdown paragraph, heading, list item or table cell."""
    flat = " ".join(str("" if text is None else text).replace("\x00", "").split())
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), _MD_PUNCT.sub(r"\\\1", flat))


def md_quote(text) -> str:
    """Untrusted text of several lines as a Markdown block quote (each line escaped like :func:`md_text`)."""
    lines = [md_text(line) for line in str(text or "").strip().replace("\r", "\n").split("\n")]
    return "> " + "\n> ".join(lines)


def md_code(text) -> str:
    """Untrusted text as an inline code span: a fence longer than any run of backticks inside it."""
    flat = " ".join(str(text).replace("\x00", "").split())
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {flat} {fence}" if longest or flat.startswith(" ") else f"{fence}{flat}{fence}"


def to_markdown(report: QuestionReport) -> str:
    """A freshly graded answer as Markdown (the same page ``grader report`` makes from its JSON)."""
    return question_markdown(report.to_dict())


def guide_markdown(kind: str, shown: tuple[str, ...] | None = None, level: str = "###") -> list[str]:
    """The "how to read this" guide for a ``kind`` report, as a short list."""
    return ["", f"{level} {guide_title()}", ""] + [f"- **{name}**: {md_text(text)}"
                                                    for name, text in guide_entries(kind, shown)]


def model_answer_markdown(entry: dict, level: str = "###") -> list[str]:
    """The model answer and the rubric's key points (✓ covered, ✗ not) after the learner's answer; [] for a
    report saved before reports held it."""
    model = entry.get("model_answer") or {}
    if not model.get("text"):
        return []
    keywords = (entry.get("metrics") or {}).get("keywords") or {}
    covered = {m.get("concept") for m in keywords.get("matched") or ()}
    lines = ["", f"{level} Model answer", "", md_quote(model["text"])]
    if model.get("key_points"):
        lines += ["", "Key points (✓ in the answer):", ""]
        lines += [f"- {'✓' if k['concept'] in covered else '✗'} **{md_text(k['concept'])}**"
                  + (" (essential)" if k.get("required") else "") + f": {md_text(k['point'])}"
                  for k in model["key_points"]]
    return lines


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.1f}"


def transcript_markdown(data: dict) -> str:
    """A transcript report (the JSON data model of ``grader batch``) as Markdown."""
    lines = [f"# Mock interview: {md_text(data.get('candidate') or 'unknown candidate')}", "",
             f"Source: {md_code(data['source'])}  ", f"Overall score: **{_fmt(data['overall_score'])} / 100**  ",
             f"Bank questions covered: {', '.join(data['questions_covered']) or 'none'}", "",
             "| # | Question | Asked | Match | Score | Band |", "| --- | --- | --- | --- | --- | --- |"]
    for n, a in enumerate(data["answers"], 1):
        asked = md_text(a["asked"][:80])
        lines.append(f"| {n} | {md_text(a['question_id'] or 'unmatched')} | {asked} | {a['match_confidence']:.2f} | "
                     f"{_fmt(a['score'])} | {a['band'] or '–'} |")
    for n, a in enumerate(data["answers"], 1):
        if a["question_id"] is None:
            continue
        lines += ["", f"## {n}. {md_text(a['question_id'])}: {md_text(a.get('question', ''))}", "",
                  f"*Asked:* {md_text(a['asked'])}", ""]
        for follow in a.get("follow_ups", []):
            lines.append(f"*Follow-up:* {md_text(follow)}  ")
        lines += [f"**Score: {_fmt(a['score'])} ({a['band']})**", ""]
        lines += mentor_markdown(a)
        lines += [f"- {md_text(line)}" for line in a.get("feedback", [])]
        lines += judge_markdown(a, level="####")
        lines += ["", md_quote(a["answer"]) if a["answer"].strip() else "> (no answer)"]
        lines += model_answer_markdown(a, level="####")
    if data["unmatched"]:
        lines += ["", "## Not matched to the bank", ""]
        lines += [f"- line {u['line']} ({md_text(u.get('speaker') or u.get('role') or '?')}): {md_text(u['text'][:200])}"
                  for u in data["unmatched"]]
    lines += orphans_markdown(data)
    lines += guide_markdown("transcript", level="##")
    lines += ["", f"<sub>{format_signature(data['signature'])}</sub>", ""]
    return "\n".join(lines)


def summary_markdown(data: dict) -> str:
    """The cohort summary of a batch as Markdown."""
    lines = ["# Cohort summary", "", f"Transcripts graded: {data['transcripts']}", ""]
    if data["failed"]:
        lines += ["Failed inputs:", ""] + [f"- {md_text(f)}" for f in data["failed"]] + [""]
    lines += ["## Candidates", "", "| Candidate | Source | Overall | Answers | Unmatched turns |",
              "| --- | --- | --- | --- | --- |"]
    lines += [f"| {md_text(c['candidate'] or '?')} | {md_code(c['source'])} | {_fmt(c['overall_score'])} | {c['answers_graded']} | "
              f"{c['unmatched_turns']} |" for c in data["per_candidate"]]
    lines += ["", "## Questions", "", "| Question | n | Mean | Min | Max |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {md_text(qid)} | {q['n']} | {_fmt(q['mean'])} | {_fmt(q['min'])} | {_fmt(q['max'])} |"
              for qid, q in data["per_question"].items()]
    lines += guide_markdown("summary", level="##")
    lines += ["", f"<sub>{format_signature(data['signature'])}</sub>", ""]
    return "\n".join(lines)


def judge_markdown(entry: dict, level: str = "###") -> list[str]:
    """The LLM judge's grade and flags with their quoted evidence (``--judge``); [] without a judge."""
    lines = judge_lines(entry.get("judge"))
    return ["", f"{level} LLM judge", ""] + [f"- {md_text(line)}" for line in lines] if lines else []


def mentor_markdown(entry: dict) -> list[str]:
    """The mentor's latest review of one answer (from ``grader review``), beside the automatic score."""
    reviews = entry.get("reviews") or []
    if not reviews:
        return []
    r = reviews[-1]
    diff = r["grade"] - entry["score"] if entry.get("score") is not None else None
    lines = [f"**Mentor's grade: {r['grade']:.1f}** (automatic {_fmt(entry.get('score'))}, difference "
             f"{'–' if diff is None else f'{diff:+.1f}'}) by {md_text(r['reviewer'])}, {md_text(r['reviewed_at'])}"
             + (f" — {len(reviews) - 1} earlier review(s)" if len(reviews) > 1 else ""), ""]
    if r["note"]:
        lines += ["> **Mentor's note:** " + md_quote(r["note"])[2:], ""]
    return lines


def question_markdown(data: dict, topics: tuple[str, ...] = ()) -> str:
    """A question report from its JSON data model (a saved, possibly reviewed report) as Markdown."""
    keywords = (data.get("metrics") or {}).get("keywords")
    lines = [f"## {md_text(data['question_id'])}: {md_text(data['question'])}", ""]
    if topics:
        lines += [f"Topics: {md_text(', '.join(topics))}", ""]
    lines += [f"**Score: {data['score']:.1f} / 100 ({md_text(data['band'])})**", ""] + mentor_markdown(data)
    lines += ["| Metric | Value |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in metric_rows(data)]  # our own numbers and words
    lines += ["", "### Feedback", ""] + [f"- {md_text(line)}" for line in data.get("feedback", [])]
    lines += judge_markdown(data)
    if keywords and keywords["matched"]:
        lines += ["", "### Evidence", ""] + [f"- **{md_text(m['concept'])}**: “{md_text(m['text'])}”"
                                             for m in keywords["matched"]]
    answer = data["answer"].strip()
    lines += ["", "### Answer", "", md_quote(answer) if answer else "> (empty)"]
    lines += model_answer_markdown(data)
    lines += orphans_markdown(data)
    lines += guide_markdown("question", shown_metrics(data))
    lines += ["", f"<sub>{format_signature(data['signature'])}</sub>", ""]
    return "\n".join(lines)


def orphans_markdown(data: dict) -> list[str]:
    """Mentor reviews kept from an earlier answer that a regrade changed or dropped (``orphaned_reviews``)."""
    orphans = data.get("orphaned_reviews") or []
    if not orphans:
        return []
    lines = ["", "## Mentor reviews of earlier answers", "",
             "These answers changed or are gone since they were reviewed; the reviews are kept with the old text.",
             ""]
    for o in orphans:
        lines.append(f"### {md_text(o.get('question_id') or 'unmatched')} (earlier answer, automatic "
                     f"{_fmt(o.get('score'))})")
        lines.append("")
        for r in o.get("reviews") or []:
            lines.append(f"- **Mentor's grade: {r['grade']:.1f}** by {md_text(r['reviewer'])}, "
                         f"{md_text(r['reviewed_at'])}" + (f": {md_text(r['note'])}" if r.get("note") else ""))
        lines += ["", md_quote(o.get("answer") or "") if (o.get("answer") or "").strip() else "> (no answer)", ""]
    return lines
