"""Short jobs off the GUI thread (reading a clip, exporting, thumbnails), each ending in one typed
outcome on the GUI thread: returned, errored (one line) or cancelled. Renders have the engine
thread instead (worker.py)."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from enum import Enum
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, Signal, Slot
from shiboken6 import isValid

from ..core.cancel import CancelToken
from ..core.errors import Cancelled as CancelledError
from ..core.errors import I2VError

log = logging.getLogger(__name__)
_threads: weakref.WeakSet[QThread] = weakref.WeakSet()
_pools: weakref.WeakSet[QThreadPool] = weakref.WeakSet()


def track(item: QThread | QThreadPool) -> None:
    """Count a thread or pool of ours, so that `running_threads` can tell when one outlives its window."""
    (_threads if isinstance(item, QThread) else _pools).add(item)


def running_threads() -> list[str]:
    """Threads and pools of ours still working (tests fail when one outlives its window)."""
    busy = [f"QThread {t.objectName()}" for t in list(_threads) if isValid(t) and t.isRunning()]
    return busy + [f"pool {p.objectName()}" for p in list(_pools) if isValid(p) and p.activeThreadCount()]


def failure_text(exc: BaseException, what: str) -> str:
    """One line for the user: our own errors as they are, anything else named as an internal error."""
    if isinstance(exc, I2VError):
        return str(exc)
    return f"{what}: internal error ({type(exc).__name__}: {exc})"


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
        track(self.pool)
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
