"""Scoring: metric results combined into a 0-100 score, a band, feedback and guards; calibration; agreement.

Lives here: the ``Grader`` engine that runs the metrics over many answers (``engine``), the combination
and its guards (``combine``, weights in ``grader/data/weights.yaml``), learner feedback (``feedback``),
calibration on a coach's graded answers (``calibration``) and agreement with human grades (``evaluate``).

May import: ``grader.metrics``, ``grader.reports`` (the engine builds report objects), ``grader.bank`` and the
foundation modules. Never transcripts, mentor, batch, server or the CLI.
"""
__all__ = ["Grader"]


def __getattr__(name):  # lazy: importing one scoring module must not load the engine
    if name == "Grader":
        from grader.scoring.engine import Grader

        return Grader
    raise AttributeError(name)
