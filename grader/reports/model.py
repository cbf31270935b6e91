"""The report data model: one frozen object per graded answer, and its JSON form (the public contract).

Renderers (grader/reports/) read these objects; no metric logic lives there.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from grader.metrics.bertscore import BertScoreResult
from grader.metrics.keywords import KeywordResult
from grader.metrics.rouge import RougeResult

REPORT_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class KeyPoint:
    """One point a strong answer makes (a rubric concept), as a learner reads it after answering."""

    concept: str
    point: str
    required: bool = False


@dataclass(frozen=True)
class QuestionReport:
    question_id: str
    question: str
    answer: str
    score: float
    band: str
    keywords: KeywordResult | None
    rouge: RougeResult | None
    bertscore: BertScoreResult | None
    semantic: float | None
    flags: tuple[str, ...]
    feedback: tuple[str, ...]
    signature: dict
    demoted: dict[str, float] = field(default_factory=dict)  # features on question-demoted texts
    contradictions: tuple = ()  # grader.metrics.claims.Contradiction: clauses that contradict a fact
    #: The bank's reference answer and the rubric's key points: shown only after the learner has answered.
    model_answer: str = ""
    key_points: tuple[KeyPoint, ...] = ()
    #: The LLM judge's grade, share of the score, findings and flags with their evidence (``--judge`` only).
    judge: dict | None = None

    def metrics_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.keywords is not None:
            k = self.keywords
            out["keywords"] = {
                "coverage": k.coverage,
                "raw_coverage": k.raw_coverage,
                "matched": [asdict(m) for m in k.matched],
                "missing": [asdict(m) for m in k.missing],
                "pitfalls": [asdict(p) for p in k.pitfalls],
            }
        if self.rouge is not None:
            out["rouge"] = {kind: asdict(getattr(self.rouge, kind)) for kind in ("rouge1", "rouge2", "rougeL")}
        if self.bertscore is not None:
            b = self.bertscore  # the demoted variants are reported under "question_demoted"
            out["bertscore"] = {"precision": b.precision, "recall": b.recall, "f1": b.f1}
        if self.demoted:
            out["question_demoted"] = dict(self.demoted)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": REPORT_SCHEMA_VERSION,
            "question_id": self.question_id,
            "question": self.question,
            "score": self.score,
            "band": self.band,
            "metrics": self.metrics_dict(),
            "semantic": self.semantic,
            "flags": list(self.flags),
            "contradictions": [{**asdict(c), "explanation": c.explanation} for c in self.contradictions],
            "feedback": list(self.feedback),
            "answer": self.answer,
            "signature": self.signature,
            **({"model_answer": model_answer_dict(self.model_answer, self.key_points)} if self.model_answer else {}),
            **({"judge": self.judge} if self.judge is not None else {}),
        }


def model_answer_dict(text: str, key_points) -> dict[str, Any]:
    """The JSON form of the model answer: the reference text and the rubric's key points."""
    return {"text": text, "key_points": [asdict(k) for k in key_points]}


def dumps(data: Any) -> str:
    """Deterministic JSON: the same input gives byte-identical output."""
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def to_json(report: QuestionReport) -> str:
    return dumps(report.to_dict())
