"""One flat view of any saved report, shared by the HTML, CSV, Markdown and terminal renderers.

The JSON dicts (question, transcript, summary) are the data model; this module only selects and labels what
they hold — one row per answer with its metrics, the question's topics from the bank, and the mentor's latest
review beside the automatic score. No score is computed here, except the mentor-minus-automatic difference.
"""
from __future__ import annotations

from statistics import mean
from typing import Any

#: (row key, label) of the metric bars, in display order; every value is in [0, 1] (BERTScore rescaled may dip
#: below 0).
METRICS = (
    ("keyword_coverage", "Keywords"),
    ("rouge1_f1", "ROUGE-1 F1"),
    ("rouge2_f1", "ROUGE-2 F1"),
    ("rougeL_f1", "ROUGE-L F1"),
    ("bertscore_precision", "BERTScore P"),
    ("bertscore_recall", "BERTScore R"),
    ("bertscore_f1", "BERTScore F1"),
    ("semantic", "Semantic"),
    ("judge_score", "LLM judge"),
)
UNTAGGED = "untagged"


def bank_topics(bank) -> dict[str, tuple[str, ...]]:
    """Question id -> topic tags, for every question of a loaded bank (empty without a bank)."""
    return {} if bank is None else {q.id: tuple(q.topics) for q in bank}


def latest_review(entry: dict) -> dict | None:
    reviews = entry.get("reviews") or []
    return reviews[-1] if reviews else None


def _metric_values(metrics: dict) -> dict[str, Any]:
    keywords = metrics.get("keywords") or {}
    rouge = metrics.get("rouge") or {}
    bert = metrics.get("bertscore") or {}
    return {
        "keyword_coverage": keywords.get("coverage"),
        "concepts_matched": len(keywords["matched"]) if keywords else None,
        "concepts_total": len(keywords["matched"]) + len(keywords["missing"]) if keywords else None,
        "pitfalls": len(keywords["pitfalls"]) if keywords else None,
        "rouge1_f1": (rouge.get("rouge1") or {}).get("f1"),
        "rouge2_f1": (rouge.get("rouge2") or {}).get("f1"),
        "rougeL_f1": (rouge.get("rougeL") or {}).get("f1"),
        "bertscore_precision": bert.get("precision"),
        "bertscore_recall": bert.get("recall"),
        "bertscore_f1": bert.get("f1"),
    }


def _row(entry: dict, number: int, topics: dict[str, tuple[str, ...]], source: str | None,
         candidate: str | None) -> dict[str, Any]:
    qid = entry.get("question_id")
    review = latest_review(entry)
    score = entry.get("score")
    mentor = review["grade"] if review else None
    row = {
        "source": source, "candidate": candidate, "number": number, "question_id": qid,
        "question": entry.get("question", ""), "asked": entry.get("asked", entry.get("question", "")),
        "topics": tuple(entry.get("topics") or topics.get(qid or "", ())),
        "score": score, "band": entry.get("band"), "semantic": entry.get("semantic"),
        **_metric_values(entry.get("metrics") or {}),
        "flags": tuple(entry.get("flags") or ()), "feedback": tuple(entry.get("feedback") or ()),
        "mentor_grade": mentor,
        "difference": round(mentor - score, 2) if mentor is not None and score is not None else None,
        "reviewer": review["reviewer"] if review else None, "reviewed_at": review["reviewed_at"] if review else None,
        "mentor_note": review["note"] if review else None, "reviews": list(entry.get("reviews") or ()),
        "answer": entry.get("answer", ""), "follow_ups": tuple(entry.get("follow_ups") or ()),
        "line": entry.get("line"), "match_confidence": entry.get("match_confidence"),
        "matched": list((entry.get("metrics") or {}).get("keywords", {}).get("matched", ())),
        "missing": list((entry.get("metrics") or {}).get("keywords", {}).get("missing", ())),
        "pitfall_hits": list((entry.get("metrics") or {}).get("keywords", {}).get("pitfalls", ())),
        "contradictions": list(entry.get("contradictions") or ()),
        "judge": entry.get("judge"), "judge_notes": tuple(judge_lines(entry.get("judge"))),
        "judge_grade": (entry.get("judge") or {}).get("grade"),
        "judge_score": None if (entry.get("judge") or {}).get("score") is None else entry["judge"]["score"] / 100,
    }
    # What the answer got wrong, each as the quoted clause and the fact or explanation it runs against.
    row["errors"] = tuple([f"\"{c.get('text', '').strip()}\" contradicts: {c.get('fact', '')}" for c in row["contradictions"]]
                          + [f"\"{p.get('text', '').strip()}\" misconception: {p.get('explanation', '')}"
                             for p in row["pitfall_hits"]])
    return row


def answer_rows(kind: str, data: dict, topics: dict[str, tuple[str, ...]] | None = None) -> list[dict[str, Any]]:
    """One row per answer: a question report is one row, a transcript one per exchange (unmatched turns have
    no score), a summary none."""
    topics = topics or {}
    if kind == "question":
        return [_row(data, 1, topics, None, None)]
    if kind == "transcript":
        return [_row(entry, n, topics, data["source"], data.get("candidate"))
                for n, entry in enumerate(data["answers"], 1)]
    return []


def metric_bars(row: dict) -> list[tuple[str, float]]:
    """(label, value) of the metrics that ran for this answer."""
    return [(label, row[key]) for key, label in METRICS if row.get(key) is not None]


def mean_metric_bars(rows: list[dict]) -> list[tuple[str, float]]:
    """Mean of each metric over the graded answers (for a transcript's breakdown chart)."""
    out = []
    for key, label in METRICS:
        values = [r[key] for r in rows if r.get(key) is not None]
        if values:
            out.append((label, round(mean(values), 4)))
    return out


def topic_coverage(scores: list[tuple[str, float, int]], topics: dict[str, tuple[str, ...]]) -> list[dict]:
    """Per topic: questions answered / in the bank, and the mean score over answers.

    ``scores`` holds (question id, score, weight): one per answer, or per question with its answer count.
    """
    in_bank: dict[str, set[str]] = {}
    for qid, tags in topics.items():
        for tag in tags:
            in_bank.setdefault(tag, set()).add(qid)
    sums: dict[str, list[float]] = {}
    answered: dict[str, set[str]] = {}
    for qid, score, weight in scores:
        for tag in topics.get(qid, ()) or (UNTAGGED,):
            acc = sums.setdefault(tag, [0.0, 0])
            acc[0] += score * weight
            acc[1] += weight
            answered.setdefault(tag, set()).add(qid)
    out = [{"topic": tag, "answered": len(answered[tag]), "in_bank": len(in_bank.get(tag, ())),
            "mean_score": round(total / weight, 2)} for tag, (total, weight) in sums.items() if weight]
    return sorted(out, key=lambda t: (-t["answered"], t["topic"]))


def row_topic_scores(rows: list[dict]) -> list[tuple[str, float, int]]:
    return [(r["question_id"], r["score"], 1) for r in rows if r["question_id"] and r["score"] is not None]


def summary_topic_scores(data: dict) -> list[tuple[str, float, int]]:
    return [(qid, q["mean"], q["n"]) for qid, q in data["per_question"].items()]


def transcript_overview(data: dict, rows: list[dict]) -> dict[str, Any]:
    """Header facts of a transcript report, with the mentor's mean beside the automatic overall score."""
    reviewed = [r for r in rows if r["mentor_grade"] is not None and r["score"] is not None]
    return {
        "candidate": data.get("candidate") or "unknown candidate", "source": data["source"],
        "overall_score": data.get("overall_score"),
        "graded": sum(1 for r in rows if r["score"] is not None),
        "unmatched": len(data.get("unmatched") or ()),
        "reviewed": len(reviewed),
        "mentor_mean": round(mean(r["mentor_grade"] for r in reviewed), 2) if reviewed else None,
        "automatic_mean_reviewed": round(mean(r["score"] for r in reviewed), 2) if reviewed else None,
    }


def highlight_spans(row: dict) -> list[tuple[int, int, str, str]]:
    """Non-overlapping (start, end, kind, label) spans of the answer that the rubric matched, in order.

    A span is kept only when the answer still holds the recorded text there (a hand-edited report may not).
    """
    answer = row["answer"]
    spans = [(m["start"], m["end"], "concept", m["concept"]) for m in row["matched"]]
    spans += [(p["start"], p["end"], "pitfall", p["pitfall"]) for p in row["pitfall_hits"]]
    texts = {(m["start"], m["end"]): m["text"] for m in row["matched"] + row["pitfall_hits"]}
    out: list[tuple[int, int, str, str]] = []
    last_end = 0
    for start, end, kind, label in sorted(spans, key=lambda s: (s[0], -s[1])):
        if start < last_end or not 0 <= start < end <= len(answer) or answer[start:end] != texts[(start, end)]:
            continue
        out.append((start, end, kind, label))
        last_end = end
    return out


#: The band shown for a review kept from an earlier answer that a regrade no longer holds.
ORPHANED_BAND = "earlier answer (review kept)"


def orphan_rows(data: dict, topics: dict[str, tuple[str, ...]] | None = None) -> list[dict[str, Any]]:
    """One row per entry of ``orphaned_reviews``: the mentor's reviews of an answer that a regrade changed or
    dropped, with the old answer text and its old automatic score; ``number`` is None (no longer in the list)."""
    rows = []
    for orphan in data.get("orphaned_reviews") or ():
        entry = {"question_id": orphan.get("question_id"), "question": orphan.get("question", ""),
                 "asked": orphan.get("asked", ""), "answer": orphan.get("answer", ""), "score": orphan.get("score"),
                 "band": ORPHANED_BAND, "reviews": orphan.get("reviews") or []}
        rows.append(_row(entry, None, topics or {}, data.get("source"), data.get("candidate")))
    return rows


def judge_grade_line(judge: dict | None) -> str | None:
    """The LLM judge's grade and share of the score in a few words; None without a judge."""
    if not judge:
        return None
    if judge.get("grade") is None:
        return "failed (not counted in the score)"
    return (f"{judge['grade']}/{judge.get('out_of', 5)} ({judge.get('model') or '?'}), "
            f"{100 * judge.get('weight', 0):.0f}% of the score")


def judge_lines(judge: dict | None) -> list[str]:
    """What the LLM judge said about one answer, one line each, for every renderer: its grade and reasons, then
    each flag with its evidence (a failure, a removed prompt injection, a quoted contradiction, a disagreement
    with the other metrics)."""
    if not judge:
        return []
    lines = []
    if judge.get("grade") is not None:
        lines.append(f"LLM judge: {judge['grade']}/{judge.get('out_of', 5)}"
                     + (f": {judge['rationale']}" if judge.get("rationale") else ""))
    for flag in judge.get("flags") or ():
        kind = flag.get("flag")
        if kind == "judge-failed":
            lines.append(f"judge: failed: {flag.get('reason', '')}")
        elif kind == "prompt-injection":
            lines.append(f"judge: prompt injection taken out before judging: \"{flag.get('quote', '')}\"")
        elif kind == "judge-contradiction":
            lines.append(f"judge: contradiction: \"{flag.get('quote', '')}\": {flag.get('why', '')}")
        elif kind == "judge-disagrees":
            lines.append(f"judge disagrees: {flag.get('note', '')}")
    return lines


def metric_rows(data: dict) -> list[tuple[str, str]]:
    """(label, value) of the metrics of a question report or transcript answer (its JSON dict), in plain words
    for the text and Markdown renderers; the labels match the entries of the reading guide (reports/guide.py)."""
    from grader.reports.guide import plural

    metrics = data.get("metrics") or {}
    rows = []
    keywords = metrics.get("keywords")
    if keywords:
        total = len(keywords["matched"]) + len(keywords["missing"])
        pitfalls = len(keywords.get("pitfalls") or ())
        rows.append(("Keyword coverage", f"{keywords['coverage']:.2f}  ({len(keywords['matched'])} of "
                     f"{plural(total, 'key point')}" + (f", {plural(pitfalls, 'misconception')}" if pitfalls else "")
                     + ")"))
    rouge = metrics.get("rouge")
    if rouge:
        rows.append(("Word overlap (ROUGE-1 / 2 / L F1)",
                     " / ".join(f"{rouge[k]['f1']:.2f}" for k in ("rouge1", "rouge2", "rougeL"))))
    bert = metrics.get("bertscore")
    if bert:
        # Rescaled BERTScore dips below 0 for text less alike than unrelated text: shown as 0 (the guide's
        # "unrelated"); an empty answer has no meaning to compare, whatever the formula gives.
        value = ("– (no answer to compare)" if not str(data.get("answer", "x")).strip() else
                 " / ".join(f"{max(0.0, bert[k]):.2f}" for k in ("precision", "recall", "f1")))
        rows.append(("Meaning overlap (BERTScore P / R / F1)", value))
    if data.get("semantic") is not None:
        rows.append(("Semantic similarity", f"{data['semantic']:.2f}"))
    judged = judge_grade_line(data.get("judge"))
    if judged:
        rows.append(("LLM judge", judged))
    return rows
