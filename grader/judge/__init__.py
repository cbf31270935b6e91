"""The optional LLM judge: a fourth metric from any OpenAI-compatible server the user runs (``--judge URL``).

Off unless asked for; nothing here is imported on grader's default path. What lives here: ``client`` (HTTP with
urllib: loopback-only plain http, bearer key from ``GRADER_JUDGE_API_KEY``, timeouts, retries), ``prompt``
(``prompt.txt``, the rubric-aware prompt as data, and its hash), ``guard`` (prompt-injection sentences taken out,
patterns in ``injection.txt``), ``verdict`` (strict parsing into ``JudgeVerdict``), ``cache`` (replies on disk),
``judge`` (``Judge``: grade one or many answers), ``blend`` (the verdict in a score: weight, flags,
disagreement; settings from ``weights.yaml``'s ``judge:``), ``inputs`` (a bank question as plain inputs, read by
attribute) and ``check`` (``grader judge check``).

It may import the standard library, ``grader.errors`` and its own modules, nothing else. The rubric arrives as
plain data (strings and lists of dicts), so the judge does not depend on how the bank is modelled.
"""
from grader.judge.blend import JudgeSettings, blend, judge_flags, judge_settings
from grader.judge.check import CheckResult, format_check, planted, run_check
from grader.judge.client import API_KEY_ENV, URL_ENV, JudgeConfigError, JudgeServerError, check_url
from grader.judge.inputs import question_inputs
from grader.judge.judge import Judge, JudgeInterrupted
from grader.judge.verdict import ConceptJudgement, FoundError, JudgeVerdict

__all__ = [
    "API_KEY_ENV",
    "URL_ENV",
    "CheckResult",
    "ConceptJudgement",
    "FoundError",
    "Judge",
    "JudgeConfigError",
    "JudgeInterrupted",
    "JudgeServerError",
    "JudgeSettings",
    "JudgeVerdict",
    "blend",
    "check_url",
    "format_check",
    "judge_flags",
    "judge_settings",
    "planted",
    "question_inputs",
    "run_check",
]
