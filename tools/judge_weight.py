"""Choose the LLM judge's weight in the score on graded development answers (default: genai-dev-tiers.jsonl).

Grades every answer with grader's metrics and with the judge (cached, so a rerun or a larger run reuses the
replies), then tries judge weights 0, 0.05, ..., 1 for ``(1 - w) * score + w * 20 * judge_grade`` and reports
Pearson, Spearman and the mean absolute error against the gold grades (x20), overall and leave-one-question-out
(the weight chosen on 19 questions, scored on the 20th). A failed judge reply leaves that answer's score alone.

    .venv/bin/python tools/judge_weight.py --judge http://127.0.0.1:8080/v1 --judge-model qwen2.5:7b-instruct
    .venv/bin/python tools/judge_weight.py ... --per-tier 1 --metrics keywords,rouge     # a quick look

Prints a JSON summary; put the chosen weight in grader/data/judge.yaml (weight), or in a `judge:` section of
your own weights file (--weights), with the figures.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader.bank import load_bank  # noqa: E402
from grader.judge import Judge, question_inputs  # noqa: E402
from grader.scoring.engine import Grader  # noqa: E402

DEFAULT_DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "genai-dev-tiers.jsonl"
WEIGHTS = [round(0.05 * i, 2) for i in range(21)]


def read_rows(path: Path, per_tier: int | None) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if per_tier:
        seen: dict[tuple[str, str], int] = {}
        kept = []
        for row in rows:
            key = (row["qid"], row["tier"])
            if seen.get(key, 0) < per_tier:
                seen[key] = seen.get(key, 0) + 1
                kept.append(row)
        rows = kept
    return rows


def pearson(xs: list[float], ys: list[float]) -> float:
    if len(xs) < 2 or statistics.pstdev(xs) == 0 or statistics.pstdev(ys) == 0:
        return float("nan")
    return statistics.correlation(xs, ys)


def spearman(xs: list[float], ys: list[float]) -> float:
    def ranks(values):
        order = sorted(range(len(values)), key=values.__getitem__)
        out = [0.0] * len(values)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
                j += 1
            for k in range(i, j + 1):
                out[order[k]] = (i + j) / 2
            i = j + 1
        return out
    return pearson(ranks(xs), ranks(ys))


def blended(scores: list[float], judged: list[int | None], weight: float) -> list[float]:
    return [s if j is None else (1 - weight) * s + weight * 20.0 * j for s, j in zip(scores, judged)]


def figures(scores, judged, gold, weight) -> dict:
    mixed = blended(scores, judged, weight)
    return {"weight": weight, "pearson": round(pearson(mixed, gold), 4), "spearman": round(spearman(mixed, gold), 4),
            "mae": round(statistics.fmean(abs(m - g) for m, g in zip(mixed, gold)), 2)}


def leave_one_question_out(rows, scores, judged, gold) -> dict:
    """Each question's answers scored with the weight that is best (Pearson) on the other questions."""
    predictions = [0.0] * len(rows)
    chosen = {}
    for qid in sorted({r["qid"] for r in rows}):
        train = [i for i, r in enumerate(rows) if r["qid"] != qid]
        test = [i for i, r in enumerate(rows) if r["qid"] == qid]
        best = max(WEIGHTS, key=lambda w: (pearson(blended([scores[i] for i in train], [judged[i] for i in train], w),
                                                   [gold[i] for i in train]), -w))
        chosen[qid] = best
        for i, value in zip(test, blended([scores[i] for i in test], [judged[i] for i in test], best)):
            predictions[i] = value
    return {"pearson": round(pearson(predictions, gold), 4), "weights_chosen": chosen}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judge", required=True)
    parser.add_argument("--judge-model", required=True)
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--metrics", default=None, help="grader's metrics (default: all)")
    parser.add_argument("--per-tier", type=int, default=None, help="only this many answers per question and tier")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--cache-dir", default=None, help="the judge's reply cache (default: grader's)")
    args = parser.parse_args(argv)

    rows = read_rows(args.dataset, args.per_tier)
    bank = load_bank()
    started = time.perf_counter()
    reports = Grader(bank, metrics=args.metrics).grade_many([(r["qid"], r["answer"]) for r in rows])
    scores = [report.score for report in reports]
    kwargs = {} if args.cache_dir is None else {"cache_dir": args.cache_dir}
    judge = Judge(args.judge, args.judge_model, timeout=args.timeout, **kwargs)
    judge.connect()
    done = [0]

    def progress(index, verdict):
        done[0] += 1
        print(f"\rjudged {done[0]}/{len(rows)}", end="", file=sys.stderr, flush=True)
    verdicts = judge.grade_many([dict(**question_inputs(bank.get(r["qid"])), answer=r["answer"]) for r in rows],
                                concurrency=args.concurrency, on_done=progress)
    print(file=sys.stderr)
    judged = [v.grade for v in verdicts]
    gold = [20.0 * float(r["grade"]) for r in rows]
    ok = [i for i, j in enumerate(judged) if j is not None]
    grid = [figures(scores, judged, gold, w) for w in WEIGHTS]
    best = max(grid, key=lambda f: (f["pearson"], -f["weight"]))
    summary = {
        "dataset": args.dataset.name, "answers": len(rows), "judged": len(ok),
        "failed": len(rows) - len(ok), "seconds": round(time.perf_counter() - started, 1),
        "judge": judge.signature(),
        "metrics_alone": figures(scores, judged, gold, 0.0),
        "judge_alone_pearson": round(pearson([judged[i] for i in ok], [gold[i] for i in ok]), 4) if ok else None,
        "best": best,
        "leave_one_question_out": leave_one_question_out(rows, scores, judged, gold),
        "grid": grid,
    }
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
