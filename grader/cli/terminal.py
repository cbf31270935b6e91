"""Text a person typed at the terminal before grader asked for it.

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
