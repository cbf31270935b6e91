"""Optional dependencies (Ray, pyarrow): imported only where used, and a one-line error naming the extra when absent."""
from __future__ import annotations

import importlib

from grader.errors import EXIT_USAGE, GraderError

#: extra name -> the import it provides and what needs it (the message says how to get it).
EXTRAS = {"ray": ("ray", "Ray"), "parquet": ("pyarrow", "reading a Parquet table needs pyarrow")}


class OptionError(GraderError):
    """An option value the command does not take (an unknown engine, --workers 0): a usage error (exit 2)."""

    exit_code = EXIT_USAGE


class MissingExtraError(OptionError):
    """An option that needs an optional dependency which is not installed: a usage error (exit 2)."""


def require(extra: str, *, field: str | None = None, path: str | None = None):
    """The module behind ``extra``, or MissingExtraError saying how to install it (never an ImportError)."""
    module, what = EXTRAS[extra]
    try:
        return importlib.import_module(module)
    except ImportError:
        needs = what if " needs " in what else f"needs {what}"
        raise MissingExtraError(f"{needs}, which is not installed; install it with: pip install 'grader[{extra}]'",
                                field=field, path=path) from None
