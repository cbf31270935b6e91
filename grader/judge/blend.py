"""How a judge's verdict enters a report: its weight in the score, its flags, and when it disagrees.

Kept beside the judge (pure functions over plain numbers and a ``JudgeVerdict``) so that the scoring code only
calls them. The settings are the ``judge:`` section of ``weights.yaml``; ``judge_settings`` validates it when the
file is read, naming the field, like the rest of that file.
"""
from __future__ import annotations

from dataclasses import dataclass

from grader.errors import ConfigError
from grader.judge.verdict import JudgeVerdict

DEFAULTS = {"weight": 0.25, "disagreement_margin": 30.0}


@dataclass(frozen=True)
class JudgeSettings:
    weight: float  # share of the score that is the judge's grade (on 0-100) when the judge is on
    disagreement_margin: float  # points (0-100) between the judge and the other metrics that a report notes


def judge_settings(section, *, path=None) -> JudgeSettings:
    """``weights.yaml``'s ``judge:`` mapping (absent: the defaults) as settings; ConfigError names the field."""
    if section is None:
        section = {}
    if not isinstance(section, dict):
        raise ConfigError("must be a mapping with weight and disagreement_margin", path=path, field="judge")
    unknown = sorted(set(section) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"unknown keys {unknown}; valid: {sorted(DEFAULTS)}", path=path, field="judge")
    values = {**DEFAULTS, **section}
    limits = {"weight": (0.0, 1.0), "disagreement_margin": (0.0, 100.0)}
    for name, (low, high) in limits.items():
        value = values[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise ConfigError(f"must be a number from {low:g} to {high:g}, got {value!r}", path=path,
                              field=f"judge.{name}")
    return JudgeSettings(weight=float(values["weight"]), disagreement_margin=float(values["disagreement_margin"]))


def blend(score: float, verdict: JudgeVerdict | None, settings: JudgeSettings) -> float:
    """The score with the judge's grade mixed in; unchanged when there is no verdict or it failed (the failure
    is a flag, never a default grade)."""
    if verdict is None or not verdict.ok:
        return score
    return (1.0 - settings.weight) * score + settings.weight * 100.0 * verdict.score


def judge_flags(verdict: JudgeVerdict | None, other_score: float, settings: JudgeSettings) -> list[dict]:
    """What a report shows about the judge, each with its evidence: failed, injection, contradiction, disagrees.

    ``other_score`` is what the rubric and semantic metrics gave (0-100, before the judge is blended in).
    """
    if verdict is None:
        return []
    if not verdict.ok:
        flags = [{"flag": "judge-failed", "reason": verdict.failed}]
    else:
        flags = []
    flags += [{"flag": "prompt-injection", "quote": quote} for quote in verdict.injection]
    if not verdict.ok:
        return flags
    flags += [{"flag": "judge-contradiction", "quote": c["quote"], "why": c["why"], "concept": c["concept"]}
              for c in verdict.contradictions()]
    judged = 100.0 * verdict.score
    if abs(judged - other_score) > settings.disagreement_margin:
        flags.append({"flag": "judge-disagrees", "judge": round(judged, 1), "metrics": round(other_score, 1),
                      "margin": settings.disagreement_margin,
                      "note": f"the judge gives {verdict.grade}/5 ({judged:.0f}) where the rubric and semantic "
                              f"metrics give {other_score:.0f}: look at this answer"})
    return flags
