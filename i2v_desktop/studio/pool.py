"""`LocalPool`: a batch's workers as processes on this machine (see `batch.Pool`).

One process per GPU, each seeing only its own (CUDA_VISIBLE_DEVICES), for the diffusion models; one
per core for the instant engine, each then held to one thread so that the processes do not fight
over the cores. Processes are spawned, never forked: the window holds Qt and threads. Each keeps
its worker, and so its loaded model, from row to row, and takes one row at a time.

A process that dies is reported with its row (the scheduler tries the row again elsewhere) and a
fresh one takes its place. On Linux a worker dies with the process that started it, so a killed
batch leaves no render running.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any

from ..core.batch import RowResult
from .batch import Task, Worker

log = logging.getLogger(__name__)

STOP_S = 5.0  # how long an idle worker gets to end by itself at the close


def cores() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def gpu_slots() -> list[str]:
    """The CUDA devices a worker each can have, as CUDA_VISIBLE_DEVICES names them (none without an
    NVIDIA GPU: the diffusion rows then share one worker)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [name.strip() for name in visible.split(",") if name.strip() and name.strip() != "-1"]
    from ..engine.hardware import read_smi

    return [str(index) for index in range(len(read_smi()[0]))]


@dataclass
class _Process:
    process: Any  # multiprocessing.Process
    conn: Any  # our end of its pipe
    device: str | None
    task: Task | None = None


class LocalPool:
    def __init__(self) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._procs: list[_Process] = []
        self._make: Callable[[], Worker] | None = None
        self._threads: int | None = None

    def open(self, make_worker: Callable[[], Worker], gpu: bool, workers: int | None, rows: int) -> int:
        self._make = make_worker
        devices: list[str | None]
        if gpu:
            devices = list(gpu_slots()) or [None]
            count = len(devices) if workers is None else min(workers, len(devices))
        else:
            count = workers or cores()
            devices = [None] * count
        count = max(1, min(count, rows))
        # Instant-engine workers share the cores: a thread each (no more than the cores between them).
        self._threads = None if gpu else max(1, cores() // count)
        for device in devices[:count]:
            self._procs.append(self._start(device))
        return count

    def room(self) -> bool:
        return any(proc.task is None for proc in self._procs)

    def submit(self, task: Task) -> None:
        proc = next(proc for proc in self._procs if proc.task is None)
        proc.task = task
        try:
            proc.conn.send(task)
        except (BrokenPipeError, OSError):
            pass  # it died: the next collect reports it with its task

    def busy(self) -> int:
        return sum(proc.task is not None for proc in self._procs)

    def collect(self, timeout: float) -> list[tuple[Task, RowResult | str]]:
        waiting = [proc.conn for proc in self._procs if proc.task is not None]
        waiting += [proc.process.sentinel for proc in self._procs]
        ready = set(wait(waiting, timeout))
        ended: list[tuple[Task, RowResult | str]] = []
        for index, proc in enumerate(self._procs):
            if proc.task is not None and proc.conn in ready:
                try:
                    ended.append((proc.task, proc.conn.recv()))
                    proc.task = None
                    continue
                except (EOFError, OSError):
                    pass  # it died while answering
            if proc.process.sentinel in ready or not proc.process.is_alive():
                proc.process.join(1.0)
                why = f"worker process {proc.process.pid} {_ending(proc.process.exitcode)}"
                log.warning("%s", why)
                if proc.task is not None:
                    ended.append((proc.task, why))
                proc.conn.close()
                self._procs[index] = self._start(proc.device)
        return ended

    def close(self) -> None:
        for proc in self._procs:
            if proc.task is None:
                try:
                    proc.conn.send(None)
                except (BrokenPipeError, OSError):
                    pass
            else:
                proc.process.kill()  # a cancel: its row ends unfinished (nothing of it is published)
        for proc in self._procs:
            proc.process.join(STOP_S)
            if proc.process.is_alive():
                proc.process.kill()
                proc.process.join(STOP_S)
            proc.conn.close()
        self._procs = []

    def pids(self) -> list[int]:
        """The worker processes' ids (for a test that kills one)."""
        return [proc.process.pid for proc in self._procs]

    def _start(self, device: str | None) -> _Process:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(target=serve, args=(theirs, self._make, device, self._threads,
                                                             logging.getLogger().level),
                                        name="i2v-batch-worker", daemon=True)
        process.start()
        theirs.close()
        return _Process(process, ours, device)


def _ending(code: int | None) -> str:
    if code is None:
        return "stopped answering"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def serve(conn: Any, make_worker: Callable[[], Worker], device: str | None, threads: int | None, level: int) -> None:
    """A worker process's main: tasks in, results out, until told to stop or the parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the group; the batch decides what stops
    _die_with_parent()
    if device is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = device  # before anything imports torch
    if threads is not None:
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[name] = str(threads)
        import cv2

        cv2.setNumThreads(threads)
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s (batch worker %(process)d): %(message)s")
    worker = make_worker()
    try:
        while (task := conn.recv()) is not None:
            conn.send(worker.do(task))
    except (EOFError, BrokenPipeError):
        pass  # the parent is gone
    finally:
        close = getattr(worker, "close", None)
        if close is not None:
            close()


def _die_with_parent() -> None:
    """Linux: end this process when the one that started it ends (even by SIGKILL).

    Lifetime hazard: Linux sends the signal when the *thread* that started the process ends, not
    only the process. A pool is therefore opened, refilled and closed on one thread (run_batch's),
    which outlives every worker it starts."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
