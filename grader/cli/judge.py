"""``grader judge check``: is an OpenAI-compatible server and model fit to be grader's LLM judge?
"""
from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer

from grader.cli.app import BankOption, GraderGroup, _err_console, _handled, app
from grader.errors import EXIT_FINDINGS

judge_app = typer.Typer(cls=GraderGroup, help="The optional LLM judge on an OpenAI-compatible server you run.",
                        no_args_is_help=True)
app.add_typer(judge_app, name="judge")

JudgeUrlOption = Annotated[Optional[str], typer.Option(
    "--judge", help="The server's OpenAI API base, e.g. http://127.0.0.1:8080/v1 (also: GRADER_JUDGE_URL). Plain "
    "http only to loopback; the key, if any, from GRADER_JUDGE_API_KEY.", show_default=False)]
JudgeModelOption = Annotated[Optional[str], typer.Option(
    "--judge-model", help="A model the server lists at GET /models.", show_default=False)]
JudgeTimeoutOption = Annotated[float, typer.Option("--judge-timeout", help="Seconds to wait for one reply.")]


@judge_app.command("check")
def judge_check(judge: JudgeUrlOption = None, judge_model: JudgeModelOption = None,
                question: Annotated[Optional[str], typer.Option(
                    "--question", "-q", help="Another bank question (default: the planted one, q09).",
                    show_default=False)] = None,
                wrong_answer: Annotated[Optional[str], typer.Option(
                    "--wrong-answer", help="The wrong answer to plant (default: q09's, built from its pitfalls).",
                    show_default=False)] = None,
                judge_timeout: JudgeTimeoutOption = 300.0,
                bank: BankOption = None):
    """Reach the server, list its models, grade a reference answer and a planted wrong one.

    Exits 0 when the judge tells them apart, 1 when it does not (or fails on one), 5 when the server cannot
    be used.

    Example: grader judge check --judge http://127.0.0.1:11434/v1 --judge-model qwen2.5:7b-instruct
    """
    with _handled():
        from grader.bank import load_bank
        from grader.bank.resolve import resolve_question
        from grader.errors import InputError
        from grader.judge import URL_ENV, Judge, format_check, planted, question_inputs, run_check

        url = judge or os.environ.get(URL_ENV)
        if not url:
            raise InputError(f"give the server with --judge URL (or {URL_ENV})", field="--judge")
        if not judge_model:
            raise InputError("give the model with --judge-model NAME", field="--judge-model")
        case = planted()
        loaded = load_bank(bank)
        qid = resolve_question(loaded, question) if question else case.question_id
        if qid != case.question_id and not wrong_answer:
            raise InputError(f"give --wrong-answer for {qid} (only {case.question_id} has a planted one)",
                             field="--wrong-answer")
        client = Judge(url, judge_model, timeout=judge_timeout)
        _err_console().print(f"asking {client.url} ({judge_model}): two answers, this can take a while on a CPU")
        result = run_check(client, question_id=qid, **question_inputs(loaded.get(qid)),
                           wrong_answer=wrong_answer or case.wrong_answer, margin=case.margin)
        sys.stdout.write(format_check(result) + "\n")
        if not result.tells_apart:
            raise typer.Exit(EXIT_FINDINGS)
