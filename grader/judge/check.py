"""``grader judge check``: is this server and model fit to judge? Reach it, list its models, and see whether it
tells a question's reference answer from a planted wrong one (``check.json``).

A judge that grades the reference no higher than an answer built from the rubric's pitfalls adds noise, not
signal; this says so before a cohort is graded with it. The caller supplies the question as plain data.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from grader.judge.judge import Judge
from grader.judge.verdict import JudgeVerdict

CHECK_FILE = Path(__file__).with_name("check.json")


@dataclass(frozen=True)
class Planted:
    question_id: str
    wrong_answer: str
    margin: int  # the reference must be graded at least this much above the wrong answer


@dataclass(frozen=True)
class CheckResult:
    url: str
    model: str
    models: tuple[str, ...]
    server_model_id: str
    question_id: str
    margin: int
    reference: JudgeVerdict
    wrong: JudgeVerdict
    seconds: float

    @property
    def tells_apart(self) -> bool:
        return self.reference.ok and self.wrong.ok and self.reference.grade - self.wrong.grade >= self.margin


def planted() -> Planted:
    data = json.loads(CHECK_FILE.read_text(encoding="utf-8"))
    return Planted(question_id=data["question"], wrong_answer=data["wrong_answer"], margin=int(data["margin"]))


def run_check(judge: Judge, *, question_id: str, question: str, reference: str, concepts=(), facts=(),
              pitfalls=(), wrong_answer: str, margin: int = 2) -> CheckResult:
    """Grade the reference and the wrong answer. Raises JudgeServerError when the server cannot be used."""
    import time

    models = judge.models()
    server_id = judge.connect()
    started = time.perf_counter()
    rubric = dict(question=question, reference=reference, concepts=concepts, facts=facts, pitfalls=pitfalls)
    good = judge.grade(**rubric, answer=reference)
    bad = judge.grade(**rubric, answer=wrong_answer)
    return CheckResult(url=judge.url, model=judge.model, models=models, server_model_id=server_id,
                       question_id=question_id, margin=margin, reference=good, wrong=bad,
                       seconds=time.perf_counter() - started)


def format_check(result: CheckResult) -> str:
    """The check as lines for a terminal (the CLI prints it; exit 0 only when the judge tells them apart)."""
    def line(label: str, verdict: JudgeVerdict) -> str:
        if not verdict.ok:
            return f"  {label}: judge: failed: {verdict.failed}"
        cached = " (cached)" if verdict.cached else ""
        return f"  {label}: {verdict.grade}/5{cached} - {verdict.rationale}"

    lines = [
        f"judge server: {result.url}",
        f"models served: {', '.join(result.models) or 'none'}",
        f"model: {result.model} (server id {result.server_model_id})",
        f"question {result.question_id}: reference answer vs a planted wrong answer ({result.seconds:.1f} s)",
        line("reference", result.reference),
        line("wrong    ", result.wrong),
    ]
    if result.tells_apart:
        lines.append(f"OK: the judge tells them apart (reference {result.reference.grade} vs wrong "
                     f"{result.wrong.grade}, margin needed {result.margin})")
    elif not (result.reference.ok and result.wrong.ok):
        lines.append("NOT OK: the judge failed on at least one answer (see above)")
    else:
        lines.append(f"NOT OK: the judge does not tell them apart (reference {result.reference.grade} vs wrong "
                     f"{result.wrong.grade}, margin needed {result.margin})")
    return "\n".join(lines)
