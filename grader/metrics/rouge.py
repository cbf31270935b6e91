"""ROUGE-1, ROUGE-2 and ROUGE-L via rouge-score, with a tokenizer that keeps formulas.

rouge-score's default tokenizer deletes every character outside [a-z0-9], so "ε", "σ" and "∏" vanish from
"predict the noise ε". Ours folds them into words first (ε -> epsilon, ∏ -> prod) and stems like rouge-score
does (Porter, words longer than 3 characters).
"""
from __future__ import annotations

from dataclasses import dataclass

from grader.text import stem, words

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
SIGNATURE = {"types": list(ROUGE_TYPES), "stemmer": "porter", "tokenizer": "formula-aware",
             "multi_reference": "max-per-measure"}


@dataclass(frozen=True)
class PRF:
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class RougeResult:
    rouge1: PRF
    rouge2: PRF
    rougeL: PRF


class FormulaAwareTokenizer:
    """rouge-score tokenizer interface (``tokenize(text) -> list[str]``) that keeps Greek letters and symbols."""

    def tokenize(self, text: str) -> list[str]:
        return [stem(w) for w in words(text)]


class RougeMetric:
    """ROUGE-1/2/L against one or more references (best of each measure), one scorer for all pairs."""

    name = "rouge"

    def __init__(self):
        from grader._lazy import rouge_scorer_module

        self._scorer = rouge_scorer_module().RougeScorer(list(ROUGE_TYPES), tokenizer=FormulaAwareTokenizer())

    signature = property(lambda self: SIGNATURE)

    def score(self, answer: str, references: list[str]) -> RougeResult:
        best = {kind: [0.0, 0.0, 0.0] for kind in ROUGE_TYPES}
        for reference in references:  # several accepted answers: each measure takes its best reference
            scores = self._scorer.score(reference, answer)
            for kind in ROUGE_TYPES:
                s = scores[kind]
                best[kind] = [max(a, b) for a, b in zip(best[kind], (s.precision, s.recall, s.fmeasure))]
        return RougeResult(**{kind: PRF(*(round(v, 6) for v in values)) for kind, values in best.items()})
