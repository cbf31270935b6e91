"""Choosing an engine by name: ``local`` (this process) or ``ray`` (imported only when asked for)."""
from __future__ import annotations

from grader.scale.extras import OptionError, require
from grader.scale.stream import LocalEngine

ENGINES = ("local", "ray")


def check_engine(name: str, *, address: str | None = None, workers: int | None = None,
                 chunk_size: int | None = None) -> None:
    """Refuse engine options that cannot work (an unknown name, Ray not installed, --workers 0) before anything
    slow starts."""
    if name not in ENGINES:
        raise OptionError(f"unknown engine {name!r}; choose {' or '.join(ENGINES)}", field="--engine")
    if chunk_size is not None and chunk_size < 1:
        raise OptionError("must be 1 or more", field="--chunk-size")
    if workers is not None and workers < 1:
        raise OptionError("must be 1 or more", field="--workers")
    if name == "local" and (address is not None or workers is not None):
        raise OptionError("is for --engine ray", field="--address" if address is not None else "--workers")
    if name == "ray":
        require("ray", field="--engine ray")


def open_engine(grader, name: str = "local", *, address: str | None = None, workers: int | None = None,
                chunk_size: int | None = None):
    """The engine called ``name`` around ``grader``: Ray's workers start here (``grader[ray]``)."""
    check_engine(name, address=address, workers=workers, chunk_size=chunk_size)
    if name == "ray":
        from grader.scale.ray_engine import RayEngine

        return RayEngine(grader, address=address, workers=workers, chunk_size=chunk_size)
    return LocalEngine(grader, chunk_size)
