"""The engine thread and the job queue that feeds it.

One long-lived worker object lives on its own QThread; jobs reach it through a queued signal and
run one at a time, in queue order. Everything the worker says comes back as signals carrying
immutable payloads, tagged with the job's id so that results of a job the user has since dropped
are ignored. Cancel goes through a thread-safe token set directly from the GUI thread: a queued
signal could not reach a worker busy denoising.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, QThreadPool, QTimer, Signal, Slot

from ..core.cancel import CancelToken
from ..core.errors import Cancelled as CancelledError
from ..core.errors import I2VError
from ..core.events import Failed
from ..core.request import GenerationRequest
from ..core.studio import Studio
from .background import failure_text, track

log = logging.getLogger(__name__)


class EngineWorker(QObject):
    """Runs renders on the engine thread. Its slots run there; it never touches a widget."""

    event = Signal(int, object)  # job id, core.events.Event
    saved = Signal(int, object)  # job id, core.studio.Saved (history entry + frames)
    jobDone = Signal(int, str)  # job id, "" or the reason the job as a whole failed
    machineKnown = Signal(str, object)  # summary, core.studio.Machine or None

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
            summary, result = machine.summary, machine
        except Exception as exc:
            log.exception("machine probe failed")
            summary, result = f"could not check this machine ({type(exc).__name__})", None
        self.machineKnown.emit(summary, result)

    @Slot()
    def close(self) -> None:
        self.studio.close()


@dataclass(slots=True, eq=False)
class Job:
    """One render of one photo. `made` and `failures` say what it got so far (the GUI thread
    counts them as the worker reports); `held`: stopped to be resumed, not cancelled for good."""

    id: int
    photo: str
    request: GenerationRequest
    _cancel: CancelToken | None = field(default=None, repr=False)
    made: int = 0
    failures: tuple[str, ...] = ()
    held: bool = False

    @property
    def cancel(self) -> CancelToken:
        """Made on first use (GUI thread, when the job starts): a batch of 1,000 waiting jobs
        costs no 1,000 locks, whose allocation set off full garbage collections mid-batch."""
        if self._cancel is None:
            self._cancel = CancelToken()
        return self._cancel


class JobQueue(QObject):
    """Jobs for the engine thread, in order; the GUI thread owns it.

    Its rows are the running job (if any) then the waiting ones. Every change is announced as the
    rows it touches, so a view redraws those rows only (a queue of 1,000 photos would otherwise
    rebuild the whole list 1,000 times): `inserted(row, jobs)`, `removed(row, count)`,
    `moved(row, to)` (`to`: its row once moved) and `rowChanged(row)` (the job there started).
    `changed` follows each of them once. `started(job)`, `event(job, event)`, `saved(job, saved)`
    and `finished(job, reason)` concern the running job only.

    The rows are kept through `studio.save_queue` a moment after each change (at most every
    SAVE_DELAY_MS, on a thread of their own: 1,000 requests take a while to write) and at
    `shutdown`, so jobs still waiting when the app is killed or closed can be offered again.
    Jobs a previous session left, and those waiting when the queue was stopped, wait in `held`
    (saved after the rows, not rendered) until they are resumed or discarded. `persist=False`
    (a read-only window) never writes anything.
    """

    SAVE_DELAY_MS = 200

    changed = Signal()
    inserted = Signal(int, object)  # first row, the list of jobs now there (passed as is, not converted)
    removed = Signal(int, int)  # first row, how many
    moved = Signal(int, int)  # the row a job was at, the row it is at now
    rowChanged = Signal(int)
    started = Signal(object)
    event = Signal(object, object)
    saved = Signal(object, object)
    finished = Signal(object, str)  # reason: "" when it ended normally (cancelled or not)
    machineKnown = Signal(str, object)
    saveFailed = Signal(str)  # one line: the queue file and why it could not be written
    _run = Signal(int, object, object)
    _probe = Signal()
    _close = Signal()

    def __init__(self, studio: Studio, parent: QObject | None = None, *, persist: bool = True) -> None:
        super().__init__(parent)
        self.pending: list[Job] = []
        self.current: Job | None = None
        self.held: list[GenerationRequest] = []
        self._ids = count(1)
        self._thread = QThread()
        self._thread.setObjectName("engine")
        track(self._thread)
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
        self._saver = _Saver(studio, self) if persist else None
        if self._saver is not None:
            self._saver.failed.connect(self.saveFailed)
        self._thread.start()

    # -- rows -----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.pending) + (self.current is not None)

    def job_at(self, row: int) -> Job:
        if self.current is not None:
            if row == 0:
                return self.current
            row -= 1
        return self.pending[row]

    def requests(self) -> list[GenerationRequest]:
        """What is still to render, in order (the running job counts until it finishes), then
        what is held (a running job being held is there once, as held)."""
        rows = (self.job_at(row) for row in range(len(self)))
        return [job.request for job in rows if not job.held] + self.held

    # -- held jobs: left by a previous session, or waiting when the queue was stopped -------------

    def hold(self, requests: Sequence[GenerationRequest]) -> None:
        """Keep a previous session's jobs aside (and on disk) until `resume_held` or `discard_held`."""
        self.held = list(requests)
        self._announce(None)

    def stop(self, hold_running: bool = False) -> list[Job]:
        """Stop the queue: cancel the running job and hold the waiting ones (saved, not run) in
        front of any held already, until `resume_held` or `discard_held`. `hold_running`: hold
        the running job too (it started a moment ago, as the queue was being stopped). Returns
        the jobs held now."""
        waiting, self.pending = self.pending, []
        if waiting:
            self._announce(self.removed, int(self.current is not None), len(waiting))
        if self.current is not None:
            self.cancel_current()
            if hold_running:
                self.current.held = True
                waiting.insert(0, self.current)
        self.held = [job.request for job in waiting] + self.held
        self._announce(None)
        return waiting

    def resume_held(self) -> list[Job]:
        held, self.held = self.held, []
        jobs = self.add_many([(request.image, request) for request in held])
        if not jobs:
            self._announce(None)
        return jobs

    def discard_held(self) -> None:
        if self.held:
            self.held = []
            self._announce(None)

    # -- queue --------------------------------------------------------------------------------

    def add(self, photo: str, request: GenerationRequest) -> Job:
        return self.add_many([(photo, request)])[0]

    def add_many(self, items: Sequence[tuple[str, GenerationRequest]]) -> list[Job]:
        """Queue (photo, request) pairs at the end, in one change however many there are."""
        jobs = [Job(next(self._ids), photo, request) for photo, request in items]
        if jobs:
            first = len(self)
            self.pending.extend(jobs)
            self._announce(self.inserted, first, jobs)
            self._next()
        return jobs

    def move(self, job_id: int, offset: int) -> None:
        """Move a waiting job up (negative) or down the queue."""
        index = self._index(job_id)
        if index is None:
            return
        target = min(max(index + offset, 0), len(self.pending) - 1)
        if target != index:
            self.pending.insert(target, self.pending.pop(index))
            shift = self.current is not None
            self._announce(self.moved, index + shift, target + shift)

    def remove(self, job_id: int) -> Job | None:
        """Take a waiting job off the queue; returns it (None: it is not waiting any more)."""
        index = self._index(job_id)
        if index is None:
            return None
        job = self.pending.pop(index)
        self._announce(self.removed, index + (self.current is not None), 1)
        return job

    def clear(self) -> list[Job]:
        """Drop every waiting job (the running one goes on); returns what was dropped."""
        dropped, self.pending = self.pending, []
        if dropped:
            self._announce(self.removed, int(self.current is not None), len(dropped))
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
        """Cancel the render and wait for the engine thread to end (closing the window).

        What was still to render, the cancelled job included, stays saved for the next start."""
        left = self.requests()
        saver, self._saver = self._saver, None  # from here on nothing but `left` is written
        self.clear()
        self.cancel_current()
        self._close.emit()
        self._thread.quit()
        self._thread.wait()
        if saver is not None:
            saver.close(left)

    def _index(self, job_id: int) -> int | None:
        return next((i for i, job in enumerate(self.pending) if job.id == job_id), None)

    def _announce(self, signal: Any, *args: Any) -> None:
        if signal is not None:
            signal.emit(*args)
        self.changed.emit()
        if self._saver is not None and not self._saver.timer.isActive():
            # Not restarted by later changes: a steady stream of them still gets saved every
            # SAVE_DELAY_MS, and the save takes whatever the rows are by then.
            self._saver.timer.start()

    # -- from the engine thread ---------------------------------------------------------------

    def _next(self) -> None:
        if self.current is None and self.pending:
            self.current = self.pending.pop(0)  # row 0 stays row 0: it only changes state
            self._announce(self.rowChanged, 0)
            self.started.emit(self.current)
            self._run.emit(self.current.id, self.current.request, self.current.cancel)

    def _job(self, job_id: int) -> Job | None:
        return self.current if self.current is not None and self.current.id == job_id else None

    @Slot(int, object)
    def _on_event(self, job_id: int, event: object) -> None:
        if (job := self._job(job_id)) is not None:
            if isinstance(event, Failed):
                job.failures += (event.reason,)
            self.event.emit(job, event)

    @Slot(int, object)
    def _on_saved(self, job_id: int, saved: object) -> None:
        if (job := self._job(job_id)) is not None:
            job.made += 1
            self.saved.emit(job, saved)

    @Slot(int, str)
    def _on_done(self, job_id: int, reason: str) -> None:
        job = self._job(job_id)
        if job is None:
            return
        if reason:
            job.failures += (reason,)
        self.current = None
        self._announce(self.removed, 0, 1)
        self.finished.emit(job, reason)
        self._next()


class _Saver(QObject):
    """Writes the queue's requests through `studio.save_queue` off the GUI thread, newest only.

    The timer (single shot, started by the first change after a save) takes a snapshot of the
    rows on the GUI thread; one pool thread writes it. Snapshots that pile up while a write runs are skipped for
    the newest, so a write never lags more than one behind and the order on disk is the order of
    the changes.
    """

    failed = Signal(str)  # emitted on the pool thread; reaches the GUI thread queued

    def __init__(self, studio: Studio, queue: JobQueue) -> None:
        super().__init__(queue)
        self.studio, self.queue = studio, queue
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(queue.SAVE_DELAY_MS)
        self.timer.timeout.connect(self._snapshot)
        self.pool = QThreadPool(self)
        self.pool.setObjectName("queue saver")
        self.pool.setMaxThreadCount(1)
        track(self.pool)
        self._lock = threading.Lock()
        self._latest: tuple[GenerationRequest, ...] | None = None

    @Slot()
    def _snapshot(self) -> None:
        with self._lock:
            self._latest = tuple(self.queue.requests())
        self.pool.start(self._write)

    def _write(self) -> None:  # on the pool thread
        with self._lock:
            requests, self._latest = self._latest, None
        if requests is None:
            return  # a later write took it already
        try:
            self.studio.save_queue(requests)
        except I2VError as exc:
            self.failed.emit(f"{exc}; jobs still waiting will not be offered again after a crash")
        except Exception as exc:
            log.exception("could not save the queue")
            self.failed.emit(failure_text(exc, "saving the queue"))

    def close(self, requests: list[GenerationRequest]) -> None:
        """The last write, on the calling thread, after any still running."""
        self.timer.stop()
        self.pool.waitForDone()
        with self._lock:
            self._latest = tuple(requests)
        self._write()
