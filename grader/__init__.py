"""grader: offline grading of answers to technical interview questions.

The library first (``Grader``), a thin CLI on top (``grader --help``). Heavy dependencies (torch,
tokenizers) are imported only when BERTScore actually runs; transformers and bert-score never are.
"""
from grader._version import __version__

__all__ = ["Grader", "QuestionReport", "__version__"]


def __getattr__(name):  # lazy: `import grader` stays cheap for the CLI's help and listings
    if name == "Grader":
        from grader.scoring.engine import Grader

        return Grader
    if name == "QuestionReport":
        from grader.reports.model import QuestionReport

        return QuestionReport
    raise AttributeError(name)
