"""The Ray engine: the same chunks as the local engine, graded by Ray actors that each hold one ``Grader``.

Why Ray core actors rather than Ray Data's ``map_batches``: the work is already cut into chunks by the driver
(the streaming reader, or ``batch``'s transcripts), results must come back in input order to one writer, and a
worker must build its ``Grader`` (bank, model, reference encodings) once and keep it. Actors give exactly that:
a worker per actor, a bounded number of chunks in flight (memory stays flat on the driver), results taken in
submission order. Ray Data would add pyarrow and pandas to the extra, re-batch rows by its own block sizes
(the chunk a text is graded in changes its BERTScore in the sixth decimal, so reports would no longer be
byte-identical to the local engine's) and reorder blocks unless told not to.

Each actor builds its ``Grader`` from the driver's bank and configuration shipped by value (worker nodes need
grader installed, not the driver's files) and runs the same ``grade_lines`` as the local engine, so a report is
byte-identical whichever engine made it. Ray is imported only here, when ``--engine ray`` is asked for.
"""
from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from grader.errors import EXIT_CONFIG, GraderError
from grader.scale.extras import OptionError, require
from grader.scale.stream import CPU_CHUNK, GPU_CHUNK, Item, grade_lines

#: Chunks queued per actor: one grading, one waiting, so an actor never idles while the driver writes.
DEPTH = 2


class EngineError(GraderError):
    """The engine could not start or lost its workers (Ray unreachable, a worker died): exit 5."""

    exit_code = EXIT_CONFIG


@dataclass(frozen=True)
class GraderRecipe:
    """What a worker needs to build the driver's ``Grader``: shipped by value to every actor."""

    bank: object
    metrics: tuple[str, ...]
    config: object
    device: str | None = None

    @classmethod
    def of(cls, grader) -> "GraderRecipe":
        return cls(grader.bank, tuple(grader.metrics), grader.config, grader.device_request)

    def build(self):
        from grader.scoring.engine import Grader

        return Grader(self.bank, metrics=self.metrics, config=self.config, device=self.device or "cpu")


@dataclass(frozen=True)
class GraderView:
    """The driver's stand-in for the workers' ``Grader``: its bank (to match questions) and signature (for the
    reports), never the model."""

    bank: object
    metrics: tuple[str, ...]
    signature: dict


class _Worker:
    """One Ray actor: one ``Grader``, built once, grading chunk after chunk."""

    def __init__(self, recipe: GraderRecipe):
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        self.grader = recipe.build()

    def ready(self) -> dict:
        """Build what grading needs now (model, reference encodings), so a broken worker fails at start."""
        self.grader.prepare()
        return self.grader.signature

    def grade_lines(self, items: list[Item], digest: str) -> tuple[list[str], int]:
        return grade_lines(self.grader, items, digest)

    def grade_groups(self, groups: list[list[tuple[str, str]]]) -> list:
        from grader.scoring.isolation import grade_groups

        return grade_groups(self.grader, groups)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(getattr(exc, "cause", None) or exc).split())
    return text[:300]


class RayEngine:
    """Grades chunks on Ray actors, ``workers`` of them (default: one per GPU, or one per min(4, CPUs) cores)."""

    name = "ray"

    def __init__(self, grader, *, address: str | None = None, workers: int | None = None,
                 chunk_size: int | None = None):

        self._ray = ray = require("ray", field="--engine ray")
        self.grader = grader  # the driver's: question look-ups only, it never loads the model
        if workers is not None and workers < 1:
            raise OptionError("must be 1 or more", field="--workers")
        self._started = False
        if not ray.is_initialized():
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False,
                         logging_level=logging.ERROR, configure_logging=True)
            except Exception as exc:  # ConnectionError, ValueError, RuntimeError: Ray's own, by cause
                raise EngineError(f"cannot start or reach Ray ({_one_line(exc)})",
                                  field=f"--address {address}" if address else "--engine ray") from None
            self._started = True
        resources = ray.cluster_resources()
        cpus, gpus = int(resources.get("CPU", 1)), int(resources.get("GPU", 0))
        request = grader.device_request
        if request == "cuda" and not gpus:
            self.close()
            raise EngineError("--device cuda, but the Ray cluster has no GPU", field="--device")
        # A worker sees a GPU only if it reserves one (Ray hides the others): one GPU per worker, as many as there
        # are. On CPUs a worker runs torch on as many threads as the local engine would (min(4, the node's CPUs):
        # the thread count changes float sums, so it must match for identical reports); by default there are as
        # many workers as those threads fit in the cluster's CPUs, so the cores are not oversubscribed.
        per_worker = {"num_gpus": 1} if request != "cpu" and gpus else {"num_cpus": 1}
        threads = max(1, min(4, os.cpu_count() or 1))
        count = workers or max(1, gpus if "num_gpus" in per_worker else cpus // threads)
        actor = ray.remote(max_restarts=0, **per_worker)(_Worker)
        recipe = ray.put(GraderRecipe.of(grader))
        self.actors = [actor.remote(recipe) for _ in range(count)]
        try:
            signatures = ray.get([a.ready.remote() for a in self.actors])
        except Exception as exc:
            self.close()
            raise EngineError(f"a Ray worker could not build its grader ({_one_line(exc)}); grader must be "
                              "installed on every node", field="--engine ray") from None
        except BaseException:
            self.close()
            raise
        self.signature = signatures[0]
        if any(s != self.signature for s in signatures):
            self.close()
            raise EngineError("the Ray workers grade with different signatures (other grader or library versions "
                              "on some nodes, or GPUs on some only); install the same everywhere",
                              field="--engine ray")
        # The workers' device, not the driver's, sets the chunk size (the driver never loads the model).
        on_gpu = self.signature.get("bertscore", {}).get("device") == "cuda"
        self.chunk_size = chunk_size or (GPU_CHUNK if on_gpu else CPU_CHUNK)

    @property
    def workers(self) -> int:
        return len(self.actors)

    def _ordered(self, calls: Iterable[tuple[str, tuple]]) -> Iterator:
        """Results of actor method calls, in submission order; at most DEPTH calls queued per actor."""
        ray = self._ray
        queue: deque = deque()  # (ref or ready value, actor or None)
        load = {id(a): 0 for a in self.actors}

        def take():
            ref, owner = queue.popleft()
            if owner is None:
                return ref
            load[id(owner)] -= 1
            try:
                return ray.get(ref)
            except ray.exceptions.RayError as exc:
                raise EngineError(f"a Ray worker failed ({_one_line(exc)})", field="--engine ray") from None

        calls = iter(calls)
        while True:
            try:
                method, args = next(calls)
            except StopIteration:
                break
            except GraderError:  # the input breaks off (a table unreadable from here): first what was graded
                while queue:
                    yield take()
                raise
            if method is None:
                queue.append((args, None))
                continue
            while min(load.values()) >= DEPTH:
                yield take()
            owner = min(self.actors, key=lambda a: load[id(a)])
            load[id(owner)] += 1
            queue.append((getattr(owner, method).remote(*args), owner))
            while queue and queue[0][1] is None:
                yield take()
        while queue:
            yield take()

    def map(self, chunks: Iterable[list[Item]], digest: str) -> Iterator[tuple[list[str], int]]:
        """(lines, errors among them) per chunk, in order, as the local engine's ``map``."""
        return self._ordered(("grade_lines", (items, digest)) if items else (None, ([], 0)) for items in chunks)

    def grade_chunks(self, chunks: Iterable[list[list[tuple[str, str]]]]) -> Iterator[list]:
        """``batch`` on Ray: per chunk of groups (a transcript's answers each), each group's reports or its
        ``GroupFailure``, in order (``grade_files(grade_chunks=...)``)."""
        return self._ordered(("grade_groups", (groups,)) if groups else (None, []) for groups in chunks)

    def view(self) -> "GraderView":
        """What the driver's batch needs of a grader (bank, signature) when the workers do the grading."""
        return GraderView(self.grader.bank, self.grader.metrics, self.signature)

    def close(self) -> None:
        ray = self._ray
        for a in getattr(self, "actors", []):
            try:
                ray.kill(a)
            except Exception:
                pass
        self.actors = []
        if self._started and ray.is_initialized():
            ray.shutdown()
        self._started = False
