"""Typed errors. Library code raises these; only the CLI turns them into exit codes.

Every error renders as one line that names the thing at fault (file, line, question id, field).
"""
from __future__ import annotations

from pathlib import Path

#: Exit codes, documented in the README. 1 is reserved for "ran fine, but found problems"
#: (lint findings, some batch inputs failed); 2 is typer's own usage error.
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_BANK = 4
EXIT_CONFIG = 5
EXIT_OUTPUT = 6
EXIT_INTERRUPTED = 130
#: An error message is cut to this many characters (it may quote a hostile file or option).
MAX_MESSAGE_CHARS = 600


class GraderError(Exception):
    """Base of every error grader reports to a user."""

    exit_code = EXIT_INPUT

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None,
                 field: str | None = None):
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = ""
        if self.path:
            where = self.path + (f":{self.line}" if self.line else "")
        if self.field:
            where = f"{where} [{self.field}]" if where else f"[{self.field}]"
        text = " ".join(self.message.split())
        if len(text) > MAX_MESSAGE_CHARS:  # a message quoting hostile input stays one readable line
            text = text[: MAX_MESSAGE_CHARS - 1] + "…"
        if len(where) > MAX_MESSAGE_CHARS // 2:
            where = where[: MAX_MESSAGE_CHARS // 2 - 1] + "…"
        return f"{where}: {text}" if where else text


class InputError(GraderError):
    """An answer, transcript or dataset that cannot be read or makes no sense."""

    exit_code = EXIT_INPUT


class TranscriptParseError(InputError):
    """A transcript whose format is broken; names file and line."""


class UnknownQuestionError(InputError):
    """A question reference that matches nothing (or more than one thing) in the bank."""


class BankError(GraderError):
    """A question bank or rubric file that fails validation."""

    exit_code = EXIT_BANK


class ConfigError(GraderError):
    """Weights, bands, calibration or other configuration that is invalid."""

    exit_code = EXIT_CONFIG


class OutputError(GraderError):
    """A report that cannot be written."""

    exit_code = EXIT_OUTPUT
    #: The OS error number behind it, when there is one (ENOSPC: the disk is full for every file, not just this).
    errno: int | None = None
