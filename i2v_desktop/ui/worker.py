"""The engine thread and the job queue that feeds it.

One long-lived worker object lives on its own QThread; jobs reach it through a queued signal and
run one at a time, in queue order. Everything the worker says comes back as signals carrying
immutable payloads, tagged with the job's id so that results of a job the user has since dropped
are ignored. Cancel goes through a thread-safe token set directly from the GUI thread: a queued
signal could not reach a worker busy denoising.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from itertools import count
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, Signal, Slot
from shiboken6 import isValid

from ..core.cancel import CancelToken
from ..core.errors import Cancelled as CancelledError
from ..core.errors import I2VError
from ..core.request import GenerationRequest
from ..core.studio import Studio

log = logging.getLogger(__name__)
_threads: weakref.WeakSet[QThread] = weakref.WeakSet()
_pools: weakref.WeakSet[QThreadPool] = weakref.WeakSet()


def running_threads() -> list[str]:
    """Threads and pools of ours still working (tests fail when one outlives its window)."""
    busy = [f"QThread {t.objectName()}" for t in list(_threads) if isValid(t) and t.isRunning()]
    return busy + [f"pool {p.objectName()}" for p in list(_pools) if isValid(p) and p.activeThreadCount()]


def failure_text(exc: BaseException, what: str) -> str:
    """One line for the user: our own errors as they are, anything else named as an internal error."""
    if isinstance(exc, I2VError):
        return str(exc)
    return f"{what}: internal error ({type(exc).__name__}: {exc})"


class EngineWorker(QObject):
    """Runs renders on the engine thread. Its slots run there; it never touches a widget."""

    event = Signal(int, object)  # job id, core.events.Event
    saved = Signal(int, object)  # job id, core.studio.Saved (history entry + frames)
    jobDone = Signal(int, str)  # job id, "" or the reason the job as a whole failed
    machineKnown = Signal(str, object)  # summary, (model choices, default model) or None

    def __init__(self, studio: Studio) -> None:
        super().__init__()
        self.studio = studio

    @Slot(int, object, object)
    def run_job(self, job_id: int, request: GenerationRequest, cancel: CancelToken) -> None:
        reason = ""
        try:
            self.studio.render(request, lambda event: self.event.emit(job_id, event), cancel,
                               lambda saved: self.saved.emit(job_id, saved))
        except CancelledError:
            pass
        except Exception as exc:
            log.exception("job %d failed", job_id)
            reason = failure_text(exc, Path(request.image).name)
        self.jobDone.emit(job_id, reason)

    @Slot()
    def probe(self) -> None:
        try:
            machine = self.studio.machine()
            summary, result = machine.summary, (list(machine.models), machine.default_model)
        except Exception as exc:
            log.exception("machine probe failed")
            summary, result = f"could not check this machine ({type(exc).__name__})", None
        self.machineKnown.emit(summary, result)

    @Slot()
    def close(self) -> None:
        self.studio.close()


@dataclass
class Job:
    id: int
    photo: str
    request: GenerationRequest
    cancel: CancelToken = field(default_factory=CancelToken)


class JobQueue(QObject):
    """Jobs waiting for the engine thread, in order; the GUI thread owns it.

    Signals: `changed` whenever the queue or the running job changes; `started(job)`,
    `event(job, event)`, `saved(job, saved)` and `finished(job, reason)` for the running job only.
    """

    changed = Signal()
    started = Signal(object)
    event = Signal(object, object)
    saved = Signal(object, object)
    finished = Signal(object, str)  # reason: "" when it ended normally (cancelled or not)
    machineKnown = Signal(str, object)
    _run = Signal(int, object, object)
    _probe = Signal()
    _close = Signal()

    def __init__(self, studio: Studio, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pending: list[Job] = []
        self.current: Job | None = None
        self._ids = count(1)
        self._thread = QThread()
        self._thread.setObjectName("engine")
        _threads.add(self._thread)
        self._worker = EngineWorker(studio)
        self._worker.moveToThread(self._thread)
        self._thread.finished.connect(self._worker.deleteLater)
        self._run.connect(self._worker.run_job)
        self._probe.connect(self._worker.probe)
        self._close.connect(self._worker.close)
        self._worker.event.connect(self._on_event)
        self._worker.saved.connect(self._on_saved)
        self._worker.jobDone.connect(self._on_done)
        self._worker.machineKnown.connect(self.machineKnown)
        self._thread.start()

    # -- queue --------------------------------------------------------------------------------

    def add(self, photo: str, request: GenerationRequest) -> Job:
        job = Job(next(self._ids), photo, request)
        self.pending.append(job)
        self.changed.emit()
        self._next()
        return job

    def move(self, job_id: int, offset: int) -> None:
        """Move a waiting job up (negative) or down the queue."""
        index = next((i for i, job in enumerate(self.pending) if job.id == job_id), None)
        if index is None:
            return
        target = min(max(index + offset, 0), len(self.pending) - 1)
        self.pending.insert(target, self.pending.pop(index))
        self.changed.emit()

    def remove(self, job_id: int) -> None:
        self.pending = [job for job in self.pending if job.id != job_id]
        self.changed.emit()

    def clear(self) -> list[Job]:
        """Drop every waiting job (the running one goes on); returns what was dropped."""
        dropped, self.pending = self.pending, []
        self.changed.emit()
        return dropped

    def cancel_current(self) -> None:
        if self.current is not None:
            self.current.cancel.cancel()

    @property
    def busy(self) -> bool:
        return self.current is not None

    def probe(self) -> None:
        self._probe.emit()

    def shutdown(self) -> None:
        """Cancel everything and wait for the engine thread to end (closing the window)."""
        self.clear()
        self.cancel_current()
        self._close.emit()
        self._thread.quit()
        self._thread.wait()

    # -- from the engine thread ---------------------------------------------------------------

    def _next(self) -> None:
        if self.current is None and self.pending:
            self.current = self.pending.pop(0)
            self.changed.emit()
            self.started.emit(self.current)
            self._run.emit(self.current.id, self.current.request, self.current.cancel)

    def _job(self, job_id: int) -> Job | None:
        return self.current if self.current is not None and self.current.id == job_id else None

    @Slot(int, object)
    def _on_event(self, job_id: int, event: object) -> None:
        if (job := self._job(job_id)) is not None:
            self.event.emit(job, event)

    @Slot(int, object)
    def _on_saved(self, job_id: int, saved: object) -> None:
        if (job := self._job(job_id)) is not None:
            self.saved.emit(job, saved)

    @Slot(int, str)
    def _on_done(self, job_id: int, reason: str) -> None:
        job = self._job(job_id)
        if job is None:
            return
        self.current = None
        self.finished.emit(job, reason)
        self.changed.emit()
        self._next()


class Task(QObject):
    """One piece of background work and how it ended: exactly one of `returned(result)`,
    `errored(one-line reason)` or `cancelled()` is emitted, on the GUI thread.

    A task whose cancel token is set by the time its work ends reports `cancelled`, whatever the
    work did: whoever cancelled no longer wants the result (as superqt's workers drop theirs).
    """

    returned = Signal(object)
    errored = Signal(str)
    cancelled = Signal()

    def __init__(self, work: Callable[[], Any], cancel: CancelToken, name: str) -> None:
        super().__init__()
        self.work, self.cancel, self.name = work, cancel, name


class Outcome(Enum):
    RETURNED = "returned"
    ERRORED = "errored"
    CANCELLED = "cancelled"


class _Run(QRunnable):
    """Runs a task's work on a pool thread; it touches no Qt object but the relay it reports to."""

    def __init__(self, task: Task, relay: _Relay) -> None:
        super().__init__()
        self.task, self.relay = task, relay
        self.work, self.cancel, self.name = task.work, task.cancel, task.name

    def run(self) -> None:
        outcome, payload = Outcome.CANCELLED, None
        try:
            if not self.cancel.cancelled:
                outcome, payload = Outcome.RETURNED, self.work()
        except CancelledError:
            outcome, payload = Outcome.CANCELLED, None
        except Exception as exc:
            log.exception("background task %s failed", self.name)
            outcome, payload = Outcome.ERRORED, " ".join(failure_text(exc, self.name).split())
        if self.cancel.cancelled:
            outcome, payload = Outcome.CANCELLED, None
        self.relay.ended.emit(self.task, outcome, payload)


class _Relay(QObject):
    # Emitted on a pool thread; the relay lives on the GUI thread, so the slot it reaches runs there.
    ended = Signal(object, object, object)  # task, Outcome, result or reason


class Background(QObject):
    """Short jobs off the GUI thread (decoding a photo, reading a clip, exporting); their outcomes
    come back as a Task's signals on the GUI thread. Not for renders, which have the engine thread."""

    def __init__(self, parent: QObject | None = None, threads: int = 2) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setObjectName("background")
        self.pool.setMaxThreadCount(threads)
        _pools.add(self.pool)
        self._relay = _Relay(self)
        self._relay.ended.connect(self._deliver)
        self._running: set[Task] = set()  # keeps each task alive until its outcome is delivered

    def submit(self, work: Callable[[], Any], on_returned: Callable[[Any], None],
               on_errored: Callable[[str], None] | None = None, on_cancelled: Callable[[], None] | None = None,
               *, cancel: CancelToken | None = None, name: str = "task") -> Task:
        """Run `work()` on a pool thread; then one of the callbacks on the GUI thread. Cancel by
        setting `cancel` (work that runs long polls it; work not started yet never starts). An
        error with no `on_errored` is logged only; `name` starts its one-line reason when the
        error is not one of ours (ours name their file already)."""
        task = Task(work, cancel if cancel is not None else CancelToken(), name)
        task.returned.connect(on_returned)
        if on_errored is not None:
            task.errored.connect(on_errored)
        if on_cancelled is not None:
            task.cancelled.connect(on_cancelled)
        self._running.add(task)
        self.pool.start(_Run(task, self._relay))
        return task

    @Slot(object, object, object)
    def _deliver(self, task: Task, outcome: Outcome, payload: Any) -> None:
        self._running.discard(task)
        match outcome:
            case Outcome.RETURNED:
                task.returned.emit(payload)
            case Outcome.ERRORED:
                task.errored.emit(payload)
            case Outcome.CANCELLED:
                task.cancelled.emit()

    def shutdown(self) -> None:
        self.pool.waitForDone()
