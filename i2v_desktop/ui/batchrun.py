"""A catalogue batch running off the GUI thread, for the batch dialog: `Studio.run_batch` on a pool
of its own (a batch runs for hours and must not hold up the window's short tasks), and the rows'
results handed to the GUI thread as they end.

`Studio.run_batch` calls `on_result` on the thread that runs it: there the result is only emitted,
as a queued signal carrying the frozen RowResult and its run's number, so that a late row of a run
that has since ended is dropped on arrival.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Signal, Slot

from ..core.batch import INVALID, BatchPlan, BatchReport, RowResult, Tally
from ..core.cancel import CancelToken
from ..core.studio import Studio
from .background import Background


class BatchRun(QObject):
    rowStarted = Signal(int)  # the row's number, on the GUI thread: it went to a worker
    rowEnded = Signal(object)  # RowResult, on the GUI thread
    _started = Signal(int, int)  # run number, row number: emitted on the pool's thread
    finished = Signal(object, str)  # the BatchReport (None when cancelled or failed), the failure's line or ""
    _row = Signal(int, object)  # run number, RowResult: emitted on the pool's thread

    def __init__(self, studio: Studio, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.studio = studio
        # Two threads: the run, and reading a plan (the dialog's) while none runs.
        self.background = Background(self, threads=2)
        self.background.pool.setObjectName("batch")
        self.tally: Tally | None = None  # the latest run's progress
        self._number = 0
        self._token: CancelToken | None = None  # set while a run is on
        self._row.connect(self._on_row)
        self._started.connect(self._on_started)

    @property
    def running(self) -> bool:
        return self._token is not None

    @property
    def cancelling(self) -> bool:
        return self._token is not None and self._token.cancelled

    def start(self, plan: BatchPlan, out: str, rows: int) -> None:
        """Render `plan` into `out`; `rows` is how many it will render (the rest an earlier run made)."""
        if self.running:
            raise RuntimeError("a batch is running")
        token = self._token = CancelToken()
        self._number += 1
        self.tally = Tally(rows, time.monotonic())
        number, studio, row, started = self._number, self.studio, self._row, self._started
        self.background.submit(
            lambda: studio.run_batch(plan, out, lambda result: row.emit(number, result), token,
                                     on_start=lambda at: started.emit(number, at)),
            lambda report: self._ended(number, report), lambda line: self._ended(number, None, line),
            lambda: self._ended(number, None), cancel=token, name="the batch")

    def cancel(self) -> None:
        """No row starts; the running ones end unfinished (nothing of them is published)."""
        if self._token is not None:
            self._token.cancel()

    @Slot(int, object)
    def _on_row(self, number: int, result: RowResult) -> None:
        if number != self._number or self.tally is None:
            return
        if result.status != INVALID:  # a row that cannot be made costs no render: not in the rate
            self.tally.add(result, time.monotonic())
        self.rowEnded.emit(result)

    @Slot(int, int)
    def _on_started(self, number: int, row: int) -> None:
        if number == self._number and self.running:
            self.rowStarted.emit(row)

    def _ended(self, number: int, report: BatchReport | None, error: str = "") -> None:
        if number != self._number:
            return
        self._token = None
        self.finished.emit(report, error)

    def shutdown(self) -> None:
        """Stop the batch and wait for its thread (the worker processes are stopped by then)."""
        self.cancel()
        self.background.shutdown()
