"""The time stamped on mentor reviews and history records: UTC, ISO 8601, overridable for tests.

``GRADER_NOW`` (or a command's hidden ``--now``) fixes the clock so reviews and history are reproducible.
"""
from __future__ import annotations

import os
import re
from datetime import datetime, timezone

from grader.errors import InputError

NOW_ENV = "GRADER_NOW"
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def utc_now(override: str | None = None) -> str:
    """Now (or ``override``, else $GRADER_NOW) as UTC ISO 8601 with a Z, e.g. 2025-03-01T09:30:00Z."""
    chosen = override or os.environ.get(NOW_ENV) or None
    if chosen is None:
        return datetime.now(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    if not _ISO.match(chosen):
        raise InputError(f"{chosen!r} is not an ISO 8601 time like 2025-03-01T09:30:00Z", field="--now")
    when = datetime.fromisoformat(chosen.replace("Z", "+00:00")).astimezone(timezone.utc)
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{when.microsecond:06d}" if when.microsecond else "") + "Z"


def local_time(stamp: str | None) -> str:
    """A stored UTC time stamp as the local time a person reads in a terminal: '2025-03-04 10:30 CET'.

    Files keep UTC (they travel between machines); only what is shown on screen is local. Text that is not a
    time stamp is shown as it is.
    """
    if not stamp:
        return "–"
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()
