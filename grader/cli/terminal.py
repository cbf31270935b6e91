"""Reading what a person types at the terminal: an answer of several paragraphs, and text typed ahead.

An answer (:class:`AnswerReader`) ends with a line holding only ``.`` or with Ctrl-D, never at a blank line, so a
paragraph break does not cut it short; ``:edit`` opens $VISUAL or $EDITOR on it (:func:`edit_in_editor`).

While ``practice`` grades an answer, the learner may type on: the rest of an answer an empty line cut short, or
the next thought. The terminal holds those keys until something reads them; the next prompt would take them as
its reply (and drop them), or, after the last question, the shell would receive them. :func:`take_typed_ahead`
reads them, without waiting, so the caller can show them and offer to use them.
"""
from __future__ import annotations

import os
import sys


def take_typed_ahead(stream=None) -> tuple[str, bool]:
    """Everything typed on the terminal ``stream`` (default stdin) and not read yet, without waiting.

    Returns ``(text, ended)``: the text (a line still being typed, with no Enter yet, included where the terminal
    allows), and whether Ctrl-D ended the input. ``("", False)`` when the stream is not a terminal: piped input
    is read in order by the prompts themselves, nothing is typed ahead of them.
    """
    stream = sys.stdin if stream is None else stream
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return "", False
    if not os.isatty(fd):
        return "", False
    import select

    data, ended = b"", False
    saved = _uncooked(fd)
    try:
        while select.select([fd], [], [], 0)[0]:
            chunk = os.read(fd, 4096)
            if not chunk:  # Ctrl-D on an empty line, read as a line (no termios)
                ended = True
                break
            data += chunk
    except OSError:  # the terminal went away: nothing more to read
        pass
    finally:
        _restore(fd, saved)
    text = data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    # Ctrl-D, read uncooked from a line-editing terminal, arrives as NUL: at the start of a line it ends the
    # input; within a line it only ended that line.
    if "\x00" in text:
        head, _, _ = text.partition("\x00")
        if head == "" or head.endswith("\n"):
            return head, True
        text = text.replace("\x00", "\n")
    return text, ended


def _uncooked(fd: int):
    """Let a read see a line still being typed (line editing off, no waiting); the settings to restore."""
    try:
        import termios
    except ImportError:  # pragma: no cover - Windows
        return None
    try:
        saved = termios.tcgetattr(fd)
        raw = [*saved[:6], list(saved[6])]
        raw[3] &= ~termios.ICANON
        raw[6][termios.VMIN] = 0
        raw[6][termios.VTIME] = 0
        termios.tcsetattr(fd, termios.TCSANOW, raw)
        return saved
    except termios.error:
        return None


def _restore(fd: int, saved) -> None:
    if saved is None:
        return
    import termios

    try:
        termios.tcsetattr(fd, termios.TCSANOW, saved)
    except termios.error:  # pragma: no cover - the terminal went away
        pass


# --------------------------------------------------------------------------- an answer typed at the terminal

#: A line holding only this ends an answer (so does Ctrl-D); blank lines are paragraph breaks.
END_MARK = "."
#: A line holding only one of these opens $VISUAL / $EDITOR on the answer so far.
EDIT_COMMANDS = (":edit", ":e")
ANSWER_HELP = ("Your answer: blank lines are kept; end with a line holding only '.' or press Ctrl-D. "
               "':edit' opens your $EDITOR, Ctrl-D on an empty answer or Ctrl-C ends the practice.")
ANSWER_REMINDER = "Your answer (end with a line holding only '.' or Ctrl-D):"


class AnswerReader:
    """Reads one answer, line by line, from ``read_line`` (``input``); ``lines`` holds what was typed so far, so
    a caller interrupted by Ctrl-C still has it. ``say`` prints a short notice."""

    def __init__(self, read_line=input, say=print, edit=None):
        self.read_line, self.say = read_line, say
        self.edit = edit if edit is not None else edit_in_editor
        self.lines: list[str] = []

    def read(self, carried: list[str] = ()) -> list[str] | None:
        """The answer's lines (trailing blank lines dropped), or None when Ctrl-D comes before any text."""
        self.lines = list(carried)
        while True:
            try:
                line = self.read_line()
            except EOFError:
                return self._finished() or None
            if line.strip() == END_MARK:
                if self._finished():
                    return self.lines
                self.say("(nothing to grade yet: type your answer, then a line with only '.')")
            elif line.strip() in EDIT_COMMANDS:
                edited = self.edit("\n".join(self.lines), self.say)
                if edited is not None and edited.strip():
                    self.lines = edited.strip("\n").split("\n")
                    return self._finished()
            elif line.strip() or self.lines:  # blank lines before the first words are not part of the answer
                self.lines.append(line)

    def _finished(self) -> list[str]:
        while self.lines and not self.lines[-1].strip():
            self.lines.pop()
        return self.lines


def edit_in_editor(text: str, say=print) -> str | None:
    """``text`` edited in $VISUAL or $EDITOR; None when no editor is set or it fails (the file is then kept and
    named, so nothing written in it is lost)."""
    import shlex
    import subprocess
    import tempfile

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        say("(no editor: set $EDITOR, e.g. EDITOR=nano; go on typing here)")
        return None
    fd, path = tempfile.mkstemp(prefix="grader-answer-", suffix=".txt")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text + ("\n" if text else ""))
    try:
        code = subprocess.call([*shlex.split(editor), path])
    except OSError as exc:
        say(f"(cannot run the editor {editor!r}: {exc.strerror or exc}; go on typing here)")
        os.unlink(path)
        return None
    with open(path, encoding="utf-8", errors="replace") as handle:
        edited = handle.read()
    if code != 0:
        say(f"(the editor exited with status {code}; what you wrote is kept in {path}; go on typing here)")
        return None
    os.unlink(path)
    return edited
