"""The command line: parse options, call the library, render. Nothing else lives here.

Lives here: the typer app and shared options (``app``), then the commands grouped by who uses them:
``learner`` (questions, grade, practice), ``coach`` (batch, serve) with ``evaluation`` (evaluate, calibrate),
``mentor`` (review, report, agreement, history), ``data`` (bank check, rubric suggest) and ``judge`` (judge
check); ``terminal`` reads text typed ahead.

May import: everything below it. Nothing imports the CLI. Exit codes are listed in ``grader.cli.app``.
"""
# Each module registers its commands on ``app``; the import order is the order of ``grader --help``.
from grader.cli import learner  # noqa: F401,I001
from grader.cli import coach  # noqa: F401
from grader.cli import scale  # noqa: F401
from grader.cli import evaluation  # noqa: F401
from grader.cli import mentor  # noqa: F401
from grader.cli import data  # noqa: F401
from grader.cli import judge  # noqa: F401
from grader.cli.app import _install_signal_handlers, app
from grader.cli.coach import serve

__all__ = ["app", "main", "serve"]


def main() -> None:
    """Console-script entry point."""
    _install_signal_handlers()
    app()


if __name__ == "__main__":
    main()
