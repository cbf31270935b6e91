"""Fit the semantic part of grader's default weights on a human-graded data set (development tool).

For each BERTScore layer asked for, grades every row once with all candidate features switched on, then:
  * fits non-negative linear weights on a few feature sets, cross-validated with GroupKFold by question
    (folds never share a question), and prints the out-of-fold Pearson of each;
  * anchors the chosen mean: ``floor`` = mean over answers graded against ANOTHER question's reference
    (what an off-topic answer gets), ``ceiling`` = median over answers humans gave full marks.

Usage (the data set stays outside the repository; nothing here runs at grading time):
    python tools/fit_weights.py --dataset ../shared/datasets/mohler-dev.csv --layers 4 5 6
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from grader.scoring.combine import DEFAULT_CONFIG, SEMANTIC_FEATURES, load_config, semantic_feature_values  # noqa: E402
from grader.scoring.engine import Grader  # noqa: E402
from grader.scoring.evaluate import GradedRow, dataset_bank, read_dataset  # noqa: E402

FEATURE_SETS = {
    "demoted_bs": ["demoted_bertscore_recall"],
    "demoted_bs+reference_demoted_bs": ["demoted_bertscore_recall", "reference_demoted_bertscore_recall"],
    "bertscore_recall": ["bertscore_recall"],
    "bs_recall+f1": ["bertscore_recall", "bertscore_f1"],
    "bs_recall+rouge1_recall": ["bertscore_recall", "rouge1_recall"],
    "bs_recall+demoted_bs_recall": ["bertscore_recall", "demoted_bertscore_recall"],
    "bs_recall+demoted_bs+demoted_r1": ["bertscore_recall", "demoted_bertscore_recall", "demoted_rouge1_recall"],
    "bs_r+bs_f1+demoted_bs+demoted_r1": ["bertscore_recall", "bertscore_f1", "demoted_bertscore_recall",
                                         "demoted_rouge1_recall"],
}


def features(rows: list[GradedRow], layer: int) -> np.ndarray:
    import yaml

    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data["bertscore"]["layer"] = layer
    data["semantic_features"] = {name: 1 for name in SEMANTIC_FEATURES}
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as fh:
        yaml.safe_dump(data, fh)
    config = load_config(fh.name)
    grader = Grader(dataset_bank(rows), metrics="rouge,bertscore", config=config)
    out = []
    for start in range(0, len(rows), 128):
        part = rows[start : start + 128]
        for report in grader.grade_many([(r.id, r.answer) for r in part]):
            values = semantic_feature_values(report.rouge, report.bertscore, report.demoted)
            out.append([values[name] for name in SEMANTIC_FEATURES])
        print(f"  layer {layer}: {min(start + 128, len(rows))}/{len(rows)}", file=sys.stderr, end="\r")
    print(file=sys.stderr)
    return np.asarray(out)


def cv_pearson(X: np.ndarray, y: np.ndarray, groups: np.ndarray) -> tuple[float, np.ndarray]:
    from scipy.stats import pearsonr
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import GroupKFold

    oof = np.zeros_like(y)
    for train, test in GroupKFold(n_splits=5).split(X, y, groups):
        model = LinearRegression(positive=True).fit(X[train], y[train])
        oof[test] = model.predict(X[test])
    full = LinearRegression(positive=True).fit(X, y)
    return float(pearsonr(oof, y)[0]), full.coef_


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, type=Path)
    parser.add_argument("--layers", type=int, nargs="+", default=[4, 5, 6])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=Path("/tmp/fit_weights.json"))
    args = parser.parse_args()
    rows, digest = read_dataset(args.dataset)
    y = np.array([r.human for r in rows])
    groups = np.array([r.id for r in rows])
    top = max(y)
    # Off-topic pairs: each answer graded against a reference of a different question (fixed seed).
    rng = random.Random(args.seed)
    ids = sorted(set(groups))
    by_id = {r.id: r for r in rows}
    off_rows = []
    for r in rows:
        other = rng.choice([i for i in ids if i != r.id])
        off_rows.append(GradedRow(r.row, other, by_id[other].question, by_id[other].reference, r.answer, 0.0))
    results = {"dataset_sha256": digest, "n": len(rows), "layers": {}}
    for layer in args.layers:
        X = features(rows, layer)
        X_off = features(off_rows, layer)
        layer_result = {}
        for name, chosen in FEATURE_SETS.items():
            cols = [SEMANTIC_FEATURES.index(c) for c in chosen]
            r, coef = cv_pearson(X[:, cols], y, groups)
            weights = coef / coef.sum() if coef.sum() > 0 else coef
            mean_true = X[:, cols] @ weights
            mean_off = X_off[:, cols] @ weights
            floor = float(np.mean(mean_off))
            ceiling = float(np.median(mean_true[y == top]))
            layer_result[name] = {"cv_pearson": round(r, 4), "weights": dict(zip(chosen, np.round(weights, 3).tolist())),
                                  "floor": round(floor, 3), "ceiling": round(ceiling, 3)}
            print(f"layer {layer}  {name:36s} CV r = {r:.3f}  weights {np.round(weights, 3).tolist()}  "
                  f"floor {floor:.3f}  ceiling {ceiling:.3f}")
        results["layers"][str(layer)] = layer_result
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
