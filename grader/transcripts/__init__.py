"""Transcripts: mock interviews in the shapes coaches keep them, read into one model, and matched to the bank.

Lives here: the ``Transcript``/``Turn`` model (``model``), reading and format detection (``reader``),
decoding (``decoding``), one module per format family (``plain``, ``markdown``, ``json_format``,
``csv_format``, ``captions``), speaker labels and roles (``labels``, ``roles``), and matching an asked
question to a bank question (``matching``).

May import: the foundation modules (``grader.errors``, ``grader.io``, ``grader.text``) and ``grader.bank``
(matching needs the questions). Never metrics, scoring, reports or the CLI.
"""
from grader.transcripts.model import CANDIDATE, FORMATS, INTERVIEWER, MAX_TRANSCRIPT_BYTES, Transcript, Turn
from grader.transcripts.reader import detect_format, parse_transcript_text, read_transcript
from grader.transcripts.roles import detect_roles

__all__ = [
    "CANDIDATE",
    "FORMATS",
    "INTERVIEWER",
    "MAX_TRANSCRIPT_BYTES",
    "Transcript",
    "Turn",
    "detect_format",
    "detect_roles",
    "parse_transcript_text",
    "read_transcript",
]
