"""`RayPool`: a batch's workers as Ray actors on a cluster (see `batch.Pool`).

One actor per GPU of the cluster (`num_gpus=1`: Ray gives each its own device) for the diffusion
models, or one per CPU for the instant engine. Each actor makes its worker once and keeps it, and
so its loaded model, from row to row. The rows and their results are small objects, and each actor
has at most PER_ACTOR of them in flight, so 10,000 rows never sit in Ray's object store at once.

A lost actor (its node gone, its process killed) is restarted by Ray, which runs its rows again,
up to RESTARTS times. When Ray gives up, the rows it had are handed back to the scheduler (which
tries them on another actor, up to `batch.MAX_ATTEMPTS` times) and a fresh actor takes its place.

Every node runs the rows itself, so every node needs this package and the extra installed
(`pip install 'i2v_desktop[cluster]'`, the same version everywhere), and the batch's photos and
output on storage that every node sees: a shared path, or an fsspec URL (s3://…, gs://…) whose
backend (s3fs, gcsfs) is installed on every node.

Ray is imported here only, and only when a RayPool is made: the window and a plain render never
load it (an import-linter contract and a test hold that).
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.batch import RowResult
from ..core.errors import I2VError, first_line
from .batch import Task, Worker, worker_name

log = logging.getLogger(__name__)

RESTARTS = 3  # how often Ray restarts a lost actor (and retries its rows) before it gives up
PER_ACTOR = 2  # rows in flight per actor: one running, one waiting so the actor never idles
STOP_S = 10.0  # how long the close waits for killed actors to be gone


class BatchActor:
    """What runs in each actor process: one worker, kept from row to row."""

    def __init__(self, make_worker: Callable[[], Worker], level: int, threads: int | None) -> None:
        if threads is not None:
            # Actors on one node share its cores: a thread each, as Ray counts them (num_cpus=1). The
            # variables reach what loads its thread pool from here on (torch); OpenCV is told directly.
            # One thread each is also what local workers get when they fill a machine.
            for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
                os.environ[name] = str(threads)
            import cv2

            cv2.setNumThreads(threads)
        # One line per message: Ray copies each actor's stderr to the driver, prefixed with the actor.
        logging.basicConfig(level=level, stream=sys.stderr, force=True,
                            format="%(levelname)s %(name)s (batch worker %(process)d): %(message)s")
        self._worker = make_worker()

    def do(self, task: Task) -> RowResult:
        return self._worker.do(task)

    def where(self) -> str:
        return worker_name()


@dataclass
class _Actor:
    handle: Any  # the Ray actor handle
    name: str
    running: dict[Any, Task] = field(default_factory=dict)  # ObjectRef -> its task, in submission order
    where: Any = None  # ObjectRef of its first call, where(): "host:pid"
    last: str = ""  # "host:pid" of its latest result (a restarted actor has a new process)


class RayPool:
    """Rows on a Ray cluster. `address`: "auto" joins the cluster this machine is part of (started
    with `ray start`), "ray://host:10001" or "host:6379" one elsewhere, "local" starts one here for
    this batch; None: Ray is already initialised by the caller. A cluster that this pool joined is
    left running at the close; one it started is shut down."""

    def __init__(self, address: str | None, restarts: int = RESTARTS, per_actor: int = PER_ACTOR) -> None:
        try:
            import ray
        except ImportError:
            raise I2VError("running on a Ray cluster needs Ray: pip install 'i2v_desktop[cluster]'") from None
        self._ray = ray
        self.address = address
        self.restarts, self.per_actor = restarts, per_actor
        self._connected = False  # whether open() called ray.init, and so close() calls ray.shutdown
        self._actors: list[_Actor] = []
        self._remote: Any = None  # BatchActor as a Ray actor class
        self._options: dict[str, Any] = {}
        self._args: tuple = ()
        self._run = uuid.uuid4().hex[:6]  # names this batch's actors apart from another batch's
        self._serial = 0

    def open(self, make_worker: Callable[[], Worker], gpu: bool, workers: int | None, rows: int) -> int:
        ray = self._ray
        if not ray.is_initialized():
            if self.address is None:
                raise I2VError("Ray is not running here: name a cluster ('auto' joins this machine's, "
                               "'local' starts one)")
            try:
                ray.init(address=self.address, logging_level=logging.WARNING)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise I2VError(f"Ray cluster {self.address}: cannot connect ({first_line(exc)})") from None
            self._connected = True
        resources = ray.cluster_resources()
        gpus, cpus = int(resources.get("GPU", 0)), max(1, int(resources.get("CPU", 1)))
        if gpu and gpus:
            count = gpus if workers is None else min(workers, gpus)
            options: dict[str, Any] = {"num_gpus": 1}
            threads = None
        else:
            if gpu:
                log.warning("the Ray cluster has no GPU: the rows run on one CPU actor")
                count = 1
            else:
                count = cpus if workers is None else min(workers, cpus)
            options = {"num_cpus": 1}
            threads = 1
        count = max(1, min(count, rows))
        self._remote = ray.remote(BatchActor)
        self._options = {**options, "max_restarts": self.restarts, "max_task_retries": self.restarts}
        self._args = (make_worker, logging.getLogger().level, threads)
        self._actors = [self._start() for _ in range(count)]
        log.info("%d Ray actor(s) for the batch (%s)", count, ", ".join(actor.name for actor in self._actors))
        return count

    def room(self) -> bool:
        return any(len(actor.running) < self.per_actor for actor in self._actors)

    def submit(self, task: Task) -> None:
        actor = min(self._actors, key=lambda actor: len(actor.running))
        actor.running[actor.handle.do.remote(task)] = task

    def busy(self) -> int:
        return sum(len(actor.running) for actor in self._actors)

    def collect(self, timeout: float) -> list[tuple[Task, RowResult | str]]:
        ray = self._ray
        refs = [ref for actor in self._actors for ref in actor.running]
        if not refs:
            return []
        ready, rest = ray.wait(refs, num_returns=1, timeout=timeout)
        if ready and rest:  # and whatever else has ended by now, without waiting again
            more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
            ready += more
        owner = {ref: actor for actor in self._actors for ref in actor.running}
        ended: list[tuple[Task, RowResult | str]] = []
        for ref in ready:
            actor = owner[ref]
            if ref not in actor.running:  # its actor died and was replaced below: handed back already
                continue
            task = actor.running.pop(ref)
            try:
                result = ray.get(ref)
            except ray.exceptions.ActorDiedError as exc:
                # Ray has given up on this actor: its other rows are lost too. A fresh one takes its place.
                why = f"Ray actor {actor.name} died: {_reason(exc)}"
                log.warning("%s", why)
                ended.append((task, why))
                ended += [(other, why) for other in actor.running.values()]
                actor.running.clear()
                self._kill(actor)
                self._actors[self._actors.index(actor)] = self._start()
                continue
            except ray.exceptions.RayError as exc:  # the task was lost (its worker crashed, Ray's retries ran out)
                why = f"Ray actor {actor.name}: {_reason(exc)}"
                log.warning("%s", why)
                ended.append((task, why))
                continue
            actor.last = result.worker
            ended.append((task, result))
        return ended

    def close(self) -> None:
        ray = self._ray
        running = [ref for actor in self._actors for ref in actor.running]
        for actor in self._actors:
            self._kill(actor)  # a row still running ends unfinished: nothing of it is published
        if running:
            # A killed actor's rows end (in errors) once its process is gone: wait for that, so that
            # no worker still writes into the output while the scheduler tidies it.
            ray.wait(running, num_returns=len(running), timeout=STOP_S)
        self._actors = []
        if self._connected:
            ray.shutdown()  # stops a cluster started here; only disconnects from one joined
            self._connected = False

    def names(self) -> list[str]:
        """The actors' names (in Ray's dashboard and `ray list actors`)."""
        return [actor.name for actor in self._actors]

    def pids(self) -> list[int]:
        """The process each actor last answered from (for a test that kills one)."""
        found = []
        for actor in self._actors:
            where = actor.last or self._ray.get(actor.where, timeout=60)
            found.append(int(where.rsplit(":", 1)[1]))
        return found

    def _start(self) -> _Actor:
        self._serial += 1
        name = f"i2v-batch-{self._run}-{self._serial}"
        handle = self._remote.options(name=name, **self._options).remote(*self._args)
        return _Actor(handle, name, where=handle.where.remote())

    def _kill(self, actor: _Actor) -> None:
        try:
            self._ray.kill(actor.handle, no_restart=True)
        except ValueError:
            pass  # already gone


def _reason(exc: BaseException) -> str:
    """One line from a Ray error: the cause raised in the actor's creation where there is one (its
    make_worker failed), else Ray's own first line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if any("creation task" in line for line in lines):
        raised = [line for line in lines if line.split(":", 1)[0].endswith(("Error", "Exception"))]
        if raised:
            return f"it could not start: {raised[-1]}"
    return lines[0] if lines else type(exc).__name__


__all__ = ["PER_ACTOR", "RESTARTS", "BatchActor", "RayPool"]
