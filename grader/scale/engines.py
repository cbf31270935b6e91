"""Choosing an engine by name: ``local`` (this process) or ``ray`` (imported only when asked for)."""
from __future__ import annotations

from grader.scale.extras import OptionError
from grader.scale.stream import LocalEngine


def open_engine(grader, name: str = "local", *, address: str | None = None, workers: int | None = None,
                chunk_size: int | None = None):
    """The engine called ``name`` ("local" or "ray") around ``grader``; Ray only when asked (``grader[ray]``)."""
    if chunk_size is not None and chunk_size < 1:
        raise OptionError("must be 1 or more", field="--chunk-size")
    if name == "local":
        if address is not None or workers is not None:
            raise OptionError("--address and --workers are for --engine ray", field="--address" if address else
                             "--workers")
        return LocalEngine(grader, chunk_size)
    if name == "ray":
        from grader.scale.ray_engine import RayEngine

        return RayEngine(grader, address=address, workers=workers, chunk_size=chunk_size)
    raise OptionError(f"unknown engine {name!r}; choose local or ray", field="--engine")
