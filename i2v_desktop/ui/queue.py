"""The render queue on screen: a list model over the JobQueue and the panel that shows it.

The model follows the queue row by row (inserted, removed, moved, changed), so a view of 1,000
jobs redraws what changed, never the whole list; Clear is one removal of a block of rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListView, QVBoxLayout, QWidget

from .panel import plural, tool
from .worker import Job, JobQueue

Index = QModelIndex | QPersistentModelIndex


def job_label(job: Job, running: bool) -> str:
    request = job.request
    return (f"{'▶' if running else '•'} {Path(job.photo).name} · {request.preset} ×{request.variants}"
            + (" · final" if request.quality == "final" else ""))


class QueueModel(QAbstractListModel):
    """The queue's rows (the running job first, then the waiting ones) as a Qt list model.

    It keeps its own list of the jobs, changed between the begin/end calls Qt asks for as the
    queue announces each change; `queue` stays the one that decides what is queued."""

    JobRole = Qt.ItemDataRole.UserRole

    def __init__(self, queue: JobQueue, parent: Any = None) -> None:
        super().__init__(parent)
        self.queue = queue
        self._jobs: list[Job] = [queue.job_at(row) for row in range(len(queue))]
        queue.inserted.connect(self._on_inserted)
        queue.removed.connect(self._on_removed)
        queue.moved.connect(self._on_moved)
        queue.rowChanged.connect(self._on_row_changed)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802 - Qt's name
        return 0 if parent.isValid() else len(self._jobs)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._jobs):
            return None
        job = self._jobs[index.row()]
        running = job is self.queue.current
        if role == Qt.ItemDataRole.DisplayRole:
            return job_label(job, running)
        if role == Qt.ItemDataRole.ToolTipRole:
            return job.photo
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{Path(job.photo).name}, {'rendering' if running else 'waiting'}"
        if role == self.JobRole:
            return job
        return None

    def job(self, row: int) -> Job | None:
        return self._jobs[row] if 0 <= row < len(self._jobs) else None

    @Slot(int, object)
    def _on_inserted(self, row: int, jobs: list[Job]) -> None:
        self.beginInsertRows(QModelIndex(), row, row + len(jobs) - 1)
        self._jobs[row:row] = jobs
        self.endInsertRows()

    @Slot(int, int)
    def _on_removed(self, row: int, count: int) -> None:
        self.beginRemoveRows(QModelIndex(), row, row + count - 1)
        del self._jobs[row : row + count]
        self.endRemoveRows()

    @Slot(int, int)
    def _on_moved(self, row: int, to: int) -> None:
        # Qt's destination is the row the job goes before, counted before the move.
        self.beginMoveRows(QModelIndex(), row, row, QModelIndex(), to + 1 if to > row else to)
        self._jobs.insert(to, self._jobs.pop(row))
        self.endMoveRows()

    @Slot(int)
    def _on_row_changed(self, row: int) -> None:
        index = self.index(row)
        self.dataChanged.emit(index, index)


class QueuePanel(QWidget):
    """The queue list with move up/down, remove and clear. Only waiting jobs move or go: the
    running one is cancelled from the progress line. Held jobs (a stopped queue's, or a previous
    session's) show as one line with Resume and Discard, answered by whoever owns the photos."""

    dropped = Signal(list)  # the jobs the user took off the queue
    resumeRequested = Signal()
    discardRequested = Signal()

    def __init__(self, queue: JobQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.queue = queue
        self.model = QueueModel(queue, self)
        self.view = QListView()
        self.view.setModel(self.model)
        self.view.setUniformItemSizes(True)  # rows are laid out without asking each one its size
        self.view.setAccessibleName("Job queue")
        self.view.setToolTip("Renders waiting their turn; the top one is running")
        self.up, self.down = tool("▲", "Move the job up"), tool("▼", "Move the job down")
        self.remove, self.clear_button = tool("✕", "Remove the job"), tool("Clear", "Drop every waiting job")
        self.up.clicked.connect(lambda: self.move_current(-1))
        self.down.clicked.connect(lambda: self.move_current(1))
        self.remove.clicked.connect(self.remove_current)
        self.clear_button.clicked.connect(self.clear)
        buttons = QHBoxLayout()
        for button in (self.up, self.down, self.remove):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.clear_button)
        self.held_label = QLabel()
        self.resume_button = tool("Resume", "Render the held jobs")
        self.discard_button = tool("Discard", "Forget the held jobs")
        self.resume_button.clicked.connect(self.resumeRequested)
        self.discard_button.clicked.connect(self.discardRequested)
        self.held_row = QWidget()
        held = QHBoxLayout(self.held_row)
        held.setContentsMargins(0, 0, 0, 0)
        held.addWidget(self.held_label, 1)
        held.addWidget(self.resume_button)
        held.addWidget(self.discard_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.held_row)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)
        self.view.selectionModel().currentChanged.connect(self._update_buttons)
        queue.changed.connect(self._update_buttons)
        self._update_buttons()

    def current_job(self) -> Job | None:
        """The selected job when it is waiting (None for the running one or no selection)."""
        job = self.model.job(self.view.currentIndex().row())
        return job if job is not None and job is not self.queue.current else None

    def move_current(self, offset: int) -> None:
        if (job := self.current_job()) is not None:
            self.queue.move(job.id, offset)  # the selection moves with the row

    def remove_current(self) -> None:
        if (job := self.current_job()) is not None and self.queue.remove(job.id) is not None:
            self.dropped.emit([job])

    def clear(self) -> None:
        if dropped := self.queue.clear():
            self.dropped.emit(dropped)

    def _update_buttons(self, *_: Any) -> None:
        waiting = self.current_job() is not None
        for button in (self.up, self.down, self.remove):
            button.setEnabled(waiting)
        self.clear_button.setEnabled(bool(self.queue.pending))
        self.held_label.setText(f"{plural(len(self.queue.held), 'job')} held")
        self.held_row.setVisible(bool(self.queue.held))

