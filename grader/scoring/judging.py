"""The LLM judge in a score: its settings, one ``grade_many`` per batch of answers, its share and its flags.

Imported only when a ``Grader`` has a judge (``--judge``), so the default path never loads ``grader.judge``.
The settings are ``grader/data/judge.yaml`` (kept out of ``weights.yaml``: that file's hash is in every report's
signature, and a judge setting must not change the runs without a judge), or the ``judge:`` section of a
weights file given with ``--weights``.
"""
from __future__ import annotations

from pathlib import Path

from grader.errors import ConfigError
from grader.judge import Judge, JudgeSettings, JudgeVerdict, blend, judge_flags, judge_settings, question_inputs

SETTINGS_FILE = Path(__file__).resolve().parent.parent / "data" / "judge.yaml"


def load_settings(config) -> tuple[JudgeSettings, str]:
    """The judge's weight and disagreement margin, and the file they came from (for the signature)."""
    section = getattr(config, "judge", None)
    if section is not None:
        return judge_settings(section, path=config.path), Path(config.path).name
    from grader.yamlio import safe_load

    try:
        data = safe_load(SETTINGS_FILE.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the judge settings: {exc.strerror or exc}", path=SETTINGS_FILE) from None
    return judge_settings(data, path=SETTINGS_FILE), SETTINGS_FILE.name


def signature(judge: Judge, settings: JudgeSettings, source: str) -> dict:
    """The signature's ``judge`` entry: model, the server's id for it, prompt and guard hashes, sampling, the
    weight. Never the key (the Judge does not hold it in anything it reports). The reply format and the ids
    the server reported with each reply are per answer, in its ``judge`` block: they are learnt while grading."""
    out = {k: v for k, v in judge.signature().items() if k not in ("reported_model_ids", "response_format")}
    return {**out, "weight": settings.weight, "disagreement_margin": settings.disagreement_margin,
            "settings": source}


def judge_answers(judge: Judge, questions, answers, *, concurrency: int = 1, on_done=None) -> list[JudgeVerdict]:
    """Every answer judged in one ``grade_many`` (``concurrency`` requests at a time); ``on_done(index,
    verdict)`` as each finishes. Ctrl-C raises JudgeInterrupted (a KeyboardInterrupt); finished replies are
    cached, so grading again asks only for the rest."""
    items = [dict(**question_inputs(q), answer=a) for q, a in zip(questions, answers)]
    return judge.grade_many(items, concurrency=concurrency, on_done=on_done)


def apply_judge(score: float, verdict: JudgeVerdict, settings: JudgeSettings,
                response_format: str | None = None) -> tuple[float, dict]:
    """``score`` (0-100, the rubric and semantic metrics, before the guards) with the judge's grade mixed in,
    and the report's ``judge`` block: the grade, its share, what the judge found and the flags with evidence."""
    flags = judge_flags(verdict, score, settings)
    data = verdict.to_dict()
    data.pop("cached", None)  # a fact about this run, not the answer: a rerun must give the same report
    block = {"grade": data.pop("grade"), "out_of": 5,
             "score": None if verdict.score is None else round(100.0 * verdict.score, 2),
             "weight": settings.weight, "metrics_score": round(score, 2), **data, "flags": flags}
    if response_format is not None:
        block["response_format"] = response_format
    return blend(score, verdict, settings), block
