"""Development figures for "grade correctness, not vocabulary" (issue 12).

    .venv/bin/python tools/correctness.py tiers ../shared/datasets/genai-dev-tiers.jsonl
    .venv/bin/python tools/correctness.py semeval ../shared/datasets/semeval2013-beetle-train.csv
    .venv/bin/python tools/correctness.py unseen tools/data/unseen-answers.jsonl
    .venv/bin/python tools/correctness.py blind tools/data/blind-tiers.jsonl
    .venv/bin/python tools/correctness.py unseen tools/data/fresh-misconceptions.jsonl
    .venv/bin/python tools/correctness.py unseen tools/data/fresh-set-2.jsonl   # written blind, never read

tiers: each answer graded under its qid with the bundled bank; Spearman with the expert grades; how often each
wrong-tier answer scores below the same question's partial answer; excellent/spoken reaching Good; flags on good
answers. semeval: pooled AUC of the default score, contradictory vs correct (and vs partially correct), graded
against all of a question's references (no rubric), exactly as ``grader evaluate --references-col`` does.
Reads the data path given; nothing here runs at grading time.
"""
from __future__ import annotations

import json
import sys
from collections import defaultdict


def auc(neg: list[float], pos: list[float]) -> float:
    """P(score of a pos item > score of a neg item), ties half (Mann-Whitney)."""
    from scipy.stats import mannwhitneyu

    if not neg or not pos:
        return float("nan")
    return mannwhitneyu(pos, neg).statistic / (len(pos) * len(neg))


BAD_TIERS = ("misconception_a", "misconception_b", "keyword_stuffed", "off_topic", "empty_ish")
GOOD_TIERS = ("excellent", "spoken_excellent", "good")


def tiers(path: str, verbose: bool = False) -> dict:
    from scipy.stats import spearmanr

    from grader import Grader

    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    reports = Grader().grade_many([(r["qid"], r["answer"]) for r in rows])
    by_q: dict[str, dict[str, tuple[float, object]]] = defaultdict(dict)
    for r, rep in zip(rows, reports):
        by_q[r["qid"]][r["tier"]] = (rep.score, rep)
    rho = spearmanr([r["grade"] for r in rows], [rep.score for rep in reports]).statistic
    below = sum(1 for q in by_q.values() for t in BAD_TIERS if t in q and q[t][0] < q["partial"][0])
    total_bad = sum(1 for q in by_q.values() for t in BAD_TIERS if t in q)
    good = {t: sum(1 for q in by_q.values() if q[t][0] >= 70) for t in ("excellent", "spoken_excellent")}
    flagged = [(qid, t, rep.flags) for qid, q in by_q.items() for t in GOOD_TIERS
               for rep in [q[t][1]] if {"misconception", "contradiction"} & set(rep.flags)]
    per_tier = defaultdict(list)
    for r, rep in zip(rows, reports):
        per_tier[r["tier"]].append(rep.score)
    out = {"spearman": round(rho, 3), "below_partial": f"{below}/{total_bad}", "reach_good": good,
           "false_flags": f"{len(flagged)}/60", "tier_means": {t: round(sum(v) / len(v), 1) for t, v in per_tier.items()}}
    if verbose:
        for qid, q in sorted(by_q.items()):
            cells = " ".join(f"{t[:6]}={q[t][0]:5.1f}{'*' if {'misconception', 'contradiction'} & set(q[t][1].flags) else ''}"
                             for t in q)
            print(qid, cells)
        for f in flagged:
            print("FALSE FLAG", f)
    return out


def semeval(path: str) -> dict:
    import csv

    from grader import Grader
    from grader.bank import Bank, Question

    rows = list(csv.DictReader(open(path, encoding="utf-8", newline="")))
    questions = {}
    for r in rows:
        if r["id"] not in questions:
            refs = [x.strip() for x in r["all_references"].split("||") if x.strip()]
            questions[r["id"]] = Question(r["id"], r["question"], "Medium", ("dataset",), refs[0],
                                          exemplars=tuple(refs[1:]))
    grader = Grader(Bank("<dataset>", tuple(questions.values()), {}))
    reports = grader.grade_many([(r["id"], r["student_answer"]) for r in rows])
    by_label = defaultdict(list)
    for r, rep in zip(rows, reports):
        by_label[r["label"]].append(rep.score)
    out = {"n": {k: len(v) for k, v in by_label.items()},
           "auc_correct_vs_contradictory": round(auc(by_label["contradictory"], by_label["correct"]), 3)}
    if by_label.get("partially_correct_incomplete"):
        out["auc_partial_vs_contradictory"] = round(
            auc(by_label["contradictory"], by_label["partially_correct_incomplete"]), 3)
    return out


def unseen(path: str, verbose: bool = False) -> dict:
    """tools/data/unseen-answers.jsonl: answers written blind to the rubrics and the dev data (never tuned to).
    How many misconceptions are flagged and kept below Good, and how many correct answers reach Good unflagged."""
    from grader import Grader

    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    reports = Grader().grade_many([(r["qid"], r["answer"]) for r in rows])
    wrong = [(r, rep) for r, rep in zip(rows, reports) if r["kind"] == "misconception"]
    right = [(r, rep) for r, rep in zip(rows, reports) if r["kind"] == "correct"]
    flagged = lambda rep: bool({"misconception", "contradiction"} & set(rep.flags))  # noqa: E731
    if verbose:
        for r, rep in wrong + right:
            print(f"{r['qid']} {r['kind'][:5]} {rep.score:5.1f} {'FLAG' if flagged(rep) else '    '} {(r.get('error') or r.get('wrong_claim') or '')[:90]}")
    mean = lambda pairs: round(sum(rep.score for _, rep in pairs) / len(pairs), 1) if pairs else None  # noqa: E731
    out = {"misconceptions_flagged": f"{sum(flagged(rep) for _, rep in wrong)}/{len(wrong)}",
           "misconceptions_below_good": f"{sum(rep.score < 70 for _, rep in wrong)}/{len(wrong)}",
           "misconception_mean": mean(wrong),
           "correct_reaching_good": f"{sum(rep.score >= 70 for _, rep in right)}/{len(right)}",
           "correct_flagged": f"{sum(flagged(rep) for _, rep in right)}/{len(right)}",
           "correct_mean": mean(right)}
    partial = [(r, rep) for r, rep in zip(rows, reports) if r["kind"] == "partial"]  # fresh-set-12: vague answers
    if partial:
        out.update({"partial_reaching_good": f"{sum(rep.score >= 70 for _, rep in partial)}/{len(partial)}",
                    "partial_flagged": f"{sum(flagged(rep) for _, rep in partial)}/{len(partial)}",
                    "partial_mean": mean(partial)})
    return out


def blind(path: str, verbose: bool = False) -> dict:
    """tools/data/blind-tiers.jsonl: six answers per question written blind (from the seed only) after this
    session's changes, never tuned to: partial, misconception, off_topic, empty_ish, spoken, keyword_list. How
    often each wrong tier scores below the question's partial answer, and what the partial and spoken get."""
    from grader import Grader

    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    reports = Grader().grade_many([(r["qid"], r["answer"]) for r in rows])
    by_q: dict[str, dict[str, object]] = defaultdict(dict)
    for r, rep in zip(rows, reports):
        by_q[r["qid"]][r["tier"]] = rep
    if verbose:
        for qid, q in sorted(by_q.items()):
            print(qid, " ".join(f"{t[:6]}={rep.score:5.1f}{'*' if {'misconception', 'contradiction'} & set(rep.flags) else ''}"
                                f"{'o' if 'off-question' in rep.flags else ''}{'g' if 'gist' in rep.flags else ''}"
                                for t, rep in q.items()))
    wrong = ("misconception", "off_topic", "empty_ish", "keyword_list")
    flagged = lambda rep: bool({"misconception", "contradiction"} & set(rep.flags))  # noqa: E731
    out = {f"{t}_below_partial": f"{sum(q[t].score < q['partial'].score for q in by_q.values())}/{len(by_q)}"
           for t in wrong}
    out.update({"partial_at_gist_floor_or_above": f"{sum(q['partial'].score >= 40 for q in by_q.values())}/{len(by_q)}",
                "misconception_flagged": f"{sum(flagged(q['misconception']) for q in by_q.values())}/{len(by_q)}",
                "off_topic_flagged_off_question": f"{sum('off-question' in q['off_topic'].flags for q in by_q.values())}/{len(by_q)}",
                "spoken_reaching_good": f"{sum(q['spoken'].score >= 70 for q in by_q.values())}/{len(by_q)}",
                "spoken_or_partial_flagged": f"{sum(flagged(q[t]) for q in by_q.values() for t in ('spoken', 'partial'))}/{2 * len(by_q)}",
                "tier_means": {t: round(sum(q[t].score for q in by_q.values()) / len(by_q), 1)
                               for t in ("spoken", "partial", *wrong)}})
    return out


if __name__ == "__main__":
    kind, path = sys.argv[1], sys.argv[2]
    runs = {"tiers": tiers, "unseen": unseen, "blind": blind}
    result = runs[kind](path, verbose="-v" in sys.argv) if kind in runs else semeval(path)
    print(json.dumps(result, indent=1))
