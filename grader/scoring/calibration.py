"""Calibration: learn from a coach's own graded answers how the metrics combine into a grade.

A calibration is plain JSON (never pickle: loading one runs no code): the feature names, a linear model's
coefficients and intercept, the human scale, the cross-validated agreement, the signature of the data it was
fitted on, and a checksum so an edited or truncated file is refused instead of silently mis-grading.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

from grader._version import __version__
from grader.scoring.combine import SEMANTIC_FEATURES
from grader.errors import ConfigError

FORMAT = "grader-calibration"
VERSION = 1
DEFAULT_FEATURES = ("bertscore_recall", "bertscore_f1", "rouge1_recall", "demoted_bertscore_recall",
                    "demoted_rouge1_recall")


@dataclass(frozen=True)
class Calibration:
    features: tuple[str, ...]
    coefficients: tuple[float, ...]
    intercept: float
    max_score: float
    layer: int
    path: str = ""
    checksum: str = ""

    def predict(self, values: dict[str, float]) -> float:
        """The grade on the human scale for one answer's feature values."""
        return self.intercept + sum(c * values.get(f, 0.0) for f, c in zip(self.features, self.coefficients))

    def semantic(self, values: dict[str, float]) -> float:
        return min(1.0, max(0.0, self.predict(values) / self.max_score))

    @property
    def signature(self) -> dict:
        return {"file": Path(self.path).name, "checksum": self.checksum, "features": list(self.features)}


def _checksum(payload: dict) -> str:
    body = {k: v for k, v in payload.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=True).encode()).hexdigest()


def dump_calibration(features, coefficients, intercept, max_score, layer, cv: dict, data: dict) -> str:
    payload = {"format": FORMAT, "version": VERSION, "grader": __version__, "model": "ridge",
               "features": list(features), "coefficients": [round(float(c), 8) for c in coefficients],
               "intercept": round(float(intercept), 8), "max_score": float(max_score),
               "bertscore_layer": int(layer), "cross_validation": cv, "data": data}
    payload["checksum"] = _checksum(payload)
    return json.dumps(payload, indent=2, sort_keys=True) + "\n"


def load_calibration(path: str | Path) -> Calibration:
    """Read and verify a calibration file; every problem is a ConfigError naming the file and field."""
    from grader.io import read_bytes_limited

    path = Path(path)
    try:
        text = read_bytes_limited(path, 16 * 1024 * 1024).decode("utf-8")
    except FileNotFoundError:
        raise ConfigError("calibration file not found", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read calibration file: {getattr(exc, 'strerror', None) or exc}",
                          path=path) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not valid JSON (truncated or edited?): {exc.msg}", path=path, line=exc.lineno) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(f"not a grader calibration file (format must be {FORMAT!r})", path=path, field="format")
    version = data.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise ConfigError(f"calibration version {version!r} is newer than this grader understands ({VERSION}); "
                          "upgrade grader or recalibrate", path=path, field="version")
    if data.get("checksum") != _checksum(data):
        raise ConfigError("checksum mismatch: the file was edited or damaged; run 'grader calibrate' again",
                          path=path, field="checksum")
    features = data.get("features")
    coefficients = data.get("coefficients")
    if not isinstance(features, list) or not features or not all(isinstance(f, str) for f in features):
        raise ConfigError("must be a non-empty list of feature names", path=path, field="features")
    unknown = [f for f in features if f not in SEMANTIC_FEATURES]
    if unknown:
        raise ConfigError(f"unknown feature(s) {', '.join(unknown)}; this grader computes "
                          f"{', '.join(SEMANTIC_FEATURES)}", path=path, field="features")
    numbers = [*(coefficients if isinstance(coefficients, list) else []), data.get("intercept"),
               data.get("max_score")]
    if (not isinstance(coefficients, list) or len(coefficients) != len(features)
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in numbers)):
        raise ConfigError("coefficients must be one finite number per feature, with a finite intercept",
                          path=path, field="coefficients")
    if data["max_score"] <= 0:
        raise ConfigError("must be positive", path=path, field="max_score")
    layer = data.get("bertscore_layer")
    if not isinstance(layer, int) or not 1 <= layer <= 6:
        raise ConfigError("must be a BERTScore layer 1..6", path=path, field="bertscore_layer")
    return Calibration(tuple(features), tuple(float(c) for c in coefficients), float(data["intercept"]),
                       float(data["max_score"]), layer, str(path), data["checksum"][:16])


def check_compatible(calibration: Calibration, config, metrics: tuple[str, ...]) -> None:
    """Refuse a calibration whose features this grader would not compute the same way, saying why."""
    needs_bert = any(f.startswith(("bertscore", "demoted_bertscore")) for f in calibration.features)
    needs_rouge = any("rouge" in f for f in calibration.features)
    if needs_bert and "bertscore" not in metrics:
        raise ConfigError("calibration uses BERTScore features but --metrics leaves bertscore out",
                          path=calibration.path, field="features")
    if needs_rouge and "rouge" not in metrics:
        raise ConfigError("calibration uses ROUGE features but --metrics leaves rouge out",
                          path=calibration.path, field="features")
    if needs_bert and calibration.layer != config.bertscore_layer:
        raise ConfigError(f"calibration was fitted on BERTScore layer {calibration.layer}, but the weights use "
                          f"layer {config.bertscore_layer}: features differ, recalibrate",
                          path=calibration.path, field="bertscore_layer")


def fit_calibration(values: list[dict[str, float]], humans: list[float], groups: list[str],
                    features: tuple[str, ...], alpha: float = 1.0, folds: int = 5):
    """Ridge regression on the features, with out-of-fold predictions from GroupKFold by question.

    Returns (coefficients, intercept, out-of-fold predictions, fold assignment).
    """
    import numpy as np
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GroupKFold

    X = np.array([[v.get(f, 0.0) for f in features] for v in values], dtype=float)
    y = np.asarray(humans, dtype=float)
    g = np.asarray(groups)
    n_groups = len(set(groups))
    if n_groups < 2:
        raise ConfigError("calibration needs answers to at least 2 different questions (folds are grouped by "
                          "question)", field="dataset")
    splitter = GroupKFold(n_splits=min(folds, n_groups))
    oof = np.zeros_like(y)
    fold_of = np.zeros(len(y), dtype=int)
    for k, (train, test) in enumerate(splitter.split(X, y, g)):
        oof[test] = Ridge(alpha=alpha).fit(X[train], y[train]).predict(X[test])
        fold_of[test] = k
    model = Ridge(alpha=alpha).fit(X, y)
    return model.coef_, float(model.intercept_), oof, fold_of


@dataclass(frozen=True)
class CalibrationRun:
    """A fitted calibration: its file's text, its cross-validated agreement with the human grades, the default
    score's agreement on the same rows, and the verdict comparing the two."""

    text: str
    cross_validated: dict
    default: dict
    verdict: str
    recommended: bool

    def summary(self) -> dict:
        from grader.scoring.evaluate import EVALUATION_SCHEMA_VERSION

        return {"schema_version": EVALUATION_SCHEMA_VERSION, "cross_validated": self.cross_validated,
                "default": self.default, "verdict": self.verdict, "recommended": self.recommended}


#: Pearson differences smaller than this are "about the same" (a few hundred answers cannot tell them apart).
SAME_PEARSON = 0.005


def verdict(cv: dict, default: dict) -> tuple[str, bool]:
    """(A plain-words comparison of the calibration with the default score, whether to use the calibration).

    A calibration always fits the human scale better, so a lower RMSE alone says little: it is recommended only
    when it also ranks answers at least as well (Pearson r) as the default.
    """
    r, r0, e, e0 = cv.get("pearson"), default.get("pearson"), cv.get("rmse"), default.get("rmse")
    if None in (r, r0, e, e0):
        return "cannot compare the calibration with the default score (a figure is missing; see notes)", False
    figures = f"Pearson {r:.3f} vs {r0:.3f} for the default score, RMSE {e:.3f} vs {e0:.3f}"
    if r < r0 - SAME_PEARSON and e < e0:
        return (f"mixed: the calibration lands nearer your scale but ranks answers worse than the default score "
                f"({figures}); the lower error comes from fitting the scale, not from better judgement. Keep the "
                "default unless grades on your own scale matter more than the order of answers."), False
    if r < r0 - SAME_PEARSON:
        return f"worse than the default score on both counts ({figures}): do not use it.", False
    if r > r0 + SAME_PEARSON and e <= e0:
        return f"better than the default score ({figures}): use it with --calibration.", True
    if e <= e0:
        return (f"ranks answers about as well as the default score and lands nearer your scale ({figures}): use "
                "it with --calibration if grades on your scale matter."), True
    return f"no better than the default score ({figures}): keep the default.", False


def calibrate_dataset(rows, digest: str, name: str, bank, config, features, alpha: float = 1.0,
                      max_score: float | None = None, progress=None) -> CalibrationRun:
    """Grade a human-graded data set, fit the calibration, and compare its cross-validated agreement with the
    default score's on the same rows."""
    import dataclasses

    from grader.scoring.combine import semantic_feature_values
    from grader.scoring.engine import Grader
    from grader.errors import InputError
    from grader.scoring.evaluate import agreement, evaluate, infer_max_score, scale_step

    chosen = tuple(f.strip() for f in features if f.strip())
    unknown = [f for f in chosen if f not in SEMANTIC_FEATURES]
    if unknown or not chosen:
        raise InputError(f"unknown feature(s) {', '.join(unknown) or '(none)'}; choose from "
                         f"{', '.join(SEMANTIC_FEATURES)}", field="--features")
    # Compute every feature, demoted ones included, whatever the weights file combines.
    config = dataclasses.replace(config, calibration=None, compute_features=SEMANTIC_FEATURES)
    result = evaluate(rows, lambda b: Grader(b, metrics="rouge,bertscore", config=config), bank, digest,
                      progress=progress)
    values = [semantic_feature_values(r.rouge, r.bertscore, r.demoted) for r in result.reports]
    humans = [r.human for r in rows]
    top = max_score if max_score is not None else infer_max_score(humans)
    coef, intercept, oof, _ = fit_calibration(values, humans, [r.id for r in rows], chosen, alpha=alpha)
    step = scale_step(humans)
    cv = agreement(humans, [100 * min(1.0, max(0.0, p / top)) for p in oof], top, step)
    default = agreement(humans, [r.score for r in result.reports], top, step)
    data = {"file": name, "sha256": digest, "rows": len(rows), "questions": len({r.id for r in rows})}
    words, recommended = verdict(cv, default)
    return CalibrationRun(dump_calibration(chosen, coef, intercept, top, config.bertscore_layer, cv, data), cv,
                          default, words, recommended)
