"""Batch…: a folder of photos or a manifest rendered row by row into an output folder, by the same
code as `i2v batch` (`Studio.read_batch`, then `Studio.run_batch`), with the window's clip settings
as every row's defaults.

The plan is read, and the batch run, on the pool of its `BatchRun` (batchrun.py), whose signals
bring each row's result to the GUI thread as it ends. The rows as the plan has them and as they end
are the table's (batchtable.py); what is worked out with no Qt is in batchplan.py.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QModelIndex, QRect, QSettings, QSize, QStandardPaths, Qt, QTimer, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..core.batch import FAILED, INVALID, BatchPlan, BatchReport, RowResult
from ..core.errors import I2VError, ModelError
from ..core.request import GenerationRequest
from ..core.studio import Studio
from .batchplan import default_output, defaults_text, ended_text, is_manifest, plan_text
from .batchrun import BatchRun
from .batchsource import BatchSource
from .batchtable import DONE_EARLIER, TO_RENDER, BatchTable, Line, plan_lines
from .drop import DropOverlay
from .state import AppState, Photo

# The request's image is each row's photo; the defaults need one to be a request at all.
PLACEHOLDER_PHOTO = "photo"
TICK_MS = 1000  # how often the time left is worked out again while a batch runs
SETTLE_MS = 300  # the clip settings this long unchanged are read into the rows


def fitting_size(room: QRect) -> QSize:
    """Wide enough for the table's columns with room for the reasons, and never larger than the
    screen it opens on (a 720-pixel laptop screen also has a title bar and a panel to fit)."""
    return QSize(min(980, room.width() - 40), min(620, room.height() - 80))


class BatchDialog(QDialog):
    """Non-modal: the window stays usable while a batch runs. Kept by the main window (one dialog,
    so reopening it shows the batch that runs)."""

    def __init__(self, studio: Studio, state: AppState, settings: QSettings, parent: QWidget | None = None,
                 *, remember: bool = True) -> None:
        super().__init__(parent)
        self.studio, self.state, self.settings, self.remember = studio, state, settings, remember
        self.setWindowTitle("Batch")
        self.setAcceptDrops(True)
        self.resize(fitting_size((parent.screen() if parent is not None else self.screen()).availableGeometry()))
        self.work = BatchRun(studio, self)
        self.work.rowEnded.connect(self._on_row_ended)
        self.work.finished.connect(self._run_ended)
        self.source, self.out = "", ""
        self.plan: BatchPlan | None = None
        self._reading = 0  # the number of the latest plan read: older ones are dropped
        self._stale = False  # the source, folder or settings changed during a run: read again after it
        self._changed_during_run = False  # the plan on show was read again after a run for that
        self._closing = False
        self.confirm: QMessageBox | None = None
        self._build()
        state.choicesChanged.connect(self._choices_changed)
        last = str(settings.value("batch/source", "") or "")
        if last and Path(last).exists():
            self.set_source(last, str(settings.value("batch/out", "") or "") or None)
        else:
            self._say("Choose a folder of photos or a manifest (.csv or .jsonl), or drop one here")
            self._show_defaults()

    def _build(self) -> None:
        self.paths = BatchSource()
        self.paths.sourceChosen.connect(self.set_source)
        self.paths.outputChosen.connect(self.set_output)
        self.defaults = self.paths.defaults
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = BatchTable()
        self.work.rowStarted.connect(self.table.rows.started)
        self.table.doubleClicked.connect(self._double_clicked)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setFixedWidth(220)
        self.progress_text = QLabel()
        self.progress_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_button = QPushButton("Open output folder")
        self.open_button.clicked.connect(self.open_output)
        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the batch: the rows made are kept, and Start goes on with the rest")
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button = QPushButton("Close")
        self.close_button.setAutoDefault(False)
        self.close_button.clicked.connect(self.reject)
        self.drop_overlay = DropOverlay(self)
        self._ticker = QTimer(self)
        self._ticker.setInterval(TICK_MS)
        self._ticker.timeout.connect(self._show_progress)
        self._settled = QTimer(self)
        self._settled.setSingleShot(True)
        self._settled.setInterval(SETTLE_MS)
        self._settled.timeout.connect(lambda: self.read_plan() if self.source else self._show_defaults())

        progress = QHBoxLayout()
        progress.addWidget(self.progress)
        progress.addWidget(self.progress_text, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        for button in (self.start_button, self.cancel_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.paths)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addLayout(progress)
        layout.addLayout(buttons)
        self._update_controls()

    # -- what the batch reads -------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.work.running

    @property
    def cancelling(self) -> bool:
        return self.work.cancelling

    def set_source(self, source: str | Path, out: str | None = None) -> bool:
        """Read a folder or a manifest; its clips go to `out` (default: a "batch" folder next to it).
        False, with the reason said, when it is neither."""
        if self.running:
            self._say("A batch is running: cancel it first to choose other photos")
            return False
        path = Path(source).expanduser()
        if not path.exists():
            self._say(f"{path}: no such file or folder")
            return False
        if not path.is_dir() and not is_manifest(path):
            self._say(f"{path.name}: not a folder of photos or a manifest (.csv, .jsonl)")
            return False
        self.source = str(path.resolve())
        videos = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.MoviesLocation)
        self.out = out or default_output(self.source, videos)
        self.paths.show_paths(self.source, self.out)
        self._remember()
        self.read_plan()
        return True

    def set_output(self, folder: str | Path) -> None:
        if self.running:
            return
        self.out = str(Path(folder).expanduser().resolve())
        self.paths.show_paths(self.source, self.out)
        self._remember()
        if self.source:
            self.read_plan()  # what an earlier run into this folder made is skipped

    def _remember(self) -> None:
        if self.remember:
            self.settings.setValue("batch/source", self.source)
            self.settings.setValue("batch/out", self.out)
            self.settings.sync()

    def batch_defaults(self) -> GenerationRequest:
        """The window's clip settings as a request: each row's photo, and its own columns, go over it.
        (Each row's seed comes from its photo, unless the manifest gives one.)"""
        choices = self.state.choices
        if not choices.model:
            raise I2VError("no model is chosen yet: this machine is still being looked at")
        seed = choices.seed if choices.seed is not None else 0
        return choices.request_for(Photo(PLACEHOLDER_PHOTO), seed)

    def _show_defaults(self) -> GenerationRequest | None:
        try:
            request = self.batch_defaults()
        except I2VError as exc:
            self.defaults.setText(str(exc))
            return None
        preset = next((p.name for p in self.studio.presets() if p.id == request.preset), request.preset)
        try:
            model = self.studio.model(request.model).name
        except ModelError:
            model = request.model
        self.defaults.setText(f"{defaults_text(request, preset, model)}, as the clip settings say, "
                              "unless the manifest's row says otherwise")
        return request

    @Slot(object)
    def _choices_changed(self, _choices: object) -> None:
        # A slider dragged changes the settings many times a second: the rows are read once it rests.
        self._settled.start()

    def read_plan(self) -> None:
        """Read the source with the window's settings, and what an earlier run into the output
        folder finished, off the GUI thread."""
        if self.running:
            self._stale = True
            return
        request = self._show_defaults()
        self._reading += 1
        number, source, out = self._reading, self.source, self.out
        self.plan = None
        self.table.rows.show([])
        if not self._changed_during_run:  # else how the run went stays said
            self.progress.reset()
            self.progress_text.clear()
        self._update_controls()
        if request is None:
            self._say("The rows are read once a model is chosen")
            return
        self._say(f"Reading {Path(source).name}…")
        studio = self.studio
        def read() -> tuple[BatchPlan, dict[int, RowResult]]:
            plan = studio.read_batch(source, request)
            return plan, studio.earlier_results(plan, out)

        self.work.background.submit(read,
                                    lambda read: self._planned(number, *read),
                                    lambda line: self._plan_failed(number, line), name=f"reading {source}")

    def _planned(self, number: int, plan: BatchPlan, earlier: dict[int, RowResult]) -> None:
        if number != self._reading:
            return  # the source, the folder or the settings changed while it was read
        self.plan = plan
        self.table.rows.show(plan_lines(plan, earlier))
        rows = self.table.rows
        text = plan_text(len(rows.lines), rows.count(TO_RENDER), rows.count(DONE_EARLIER), rows.count(INVALID))
        if self._changed_during_run:
            text += " (read again: the clip settings changed during the run)"
            self._changed_during_run = False
        self._say(text)
        self._update_controls()

    def _plan_failed(self, number: int, line: str) -> None:
        if number == self._reading:
            self._say(line)

    # -- the run ----------------------------------------------------------------------------------

    def to_render(self) -> int:
        """The rows a run would render now: not made yet, or failed (a run tries them again)."""
        return self.table.rows.count(TO_RENDER, FAILED)

    def start(self) -> None:
        if self.running or self.plan is None or not self.to_render():
            return
        rows = self.to_render()
        self.work.start(self.plan, self.out, rows)
        self.progress.setRange(0, rows)
        self.progress.setValue(0)
        self._ticker.start()
        self._show_progress()
        self._update_controls()

    def cancel(self) -> None:
        """Stop the batch: no row starts, the running ones end unfinished (nothing of them is kept)."""
        if not self.running or self.cancelling:
            return
        self.work.cancel()
        self.progress_text.setText("Cancelling…")
        self._update_controls()

    @Slot(object)
    def _on_row_ended(self, result: RowResult) -> None:
        self.table.rows.ended(result)
        self._show_progress()

    def _show_progress(self) -> None:
        tally = self.work.tally
        if tally is None or not self.running or self.cancelling:
            return
        self.progress.setValue(tally.count)
        self.progress_text.setText(tally.line(time.monotonic()))

    @Slot(object, str)
    def _run_ended(self, report: BatchReport | None, error: str) -> None:
        tally = self.work.tally
        self._ticker.stop()
        self.table.rows.stopped()
        if tally is not None:
            self.progress.setValue(tally.count)
            seconds = time.monotonic() - tally.started
            text = ended_text(report, tally.done, tally.failed, tally.total, seconds)
            self.progress_text.setText(f"Stopped: {error}" if error else text)
        self._update_controls()
        if self._stale and not self._closing:
            # The rows are read again with the settings as they are now: a row whose settings
            # changed is another row (its key), made again by the next Start.
            self._stale = False
            self._changed_during_run = True
            self.read_plan()

    def _update_controls(self) -> None:
        running = self.running
        self.paths.set_busy(running)
        count = self.to_render() if self.plan is not None else 0
        self.start_button.setText(f"Start: {count} row{'s' if count != 1 else ''}" if count and not running
                                  else "Start")
        self.start_button.setEnabled(not running and count > 0)
        self.cancel_button.setEnabled(running and not self.cancelling)
        self.open_button.setEnabled(bool(self.out))
        self.progress.setVisible(running or self.progress.value() > 0)

    # -- the clips --------------------------------------------------------------------------------

    def open_output(self) -> None:
        folder = Path(self.out)
        if not folder.is_dir():
            self._say(f"{folder}: nothing is made yet (Start makes the folder)")
            return
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self._say(f"{folder}: cannot be opened, no file manager is set up to show folders")

    def _double_clicked(self, index: QModelIndex) -> None:
        self.open_line(self.table.line_at(index.row()))

    def open_line(self, line: Line) -> None:
        """Play a done row's best clip in the system's player."""
        if not line.clips:
            return
        clip = line.clips[0]
        if not QDesktopServices.openUrl(QUrl(clip) if "://" in clip else QUrl.fromLocalFile(clip)):
            self._say(f"{clip}: cannot be opened, no video player is set up")

    def _say(self, line: str) -> None:
        self.summary.setText(line)

    # -- drag and drop ------------------------------------------------------------------------------

    def _dropped(self, event: QDragEnterEvent | QDropEvent) -> Path | None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if len(urls) != 1 or not urls[0].isLocalFile() or self.running:
            return None
        path = Path(urls[0].toLocalFile())
        return path if path.is_dir() or is_manifest(path) else None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        path = self._dropped(event)
        if path is not None:
            event.acceptProposedAction()
            what = "folder" if path.is_dir() else "manifest"
            self.drop_overlay.show_over(self.table, f"Drop to batch this {what}")

    def dragLeaveEvent(self, event: object) -> None:  # noqa: N802
        self.drop_overlay.hide()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        self.drop_overlay.hide()
        path = self._dropped(event)
        if path is not None:
            self.set_source(path)
            event.acceptProposedAction()

    # -- closing ----------------------------------------------------------------------------------

    def reject(self) -> None:
        """Esc, Close and the title bar's close come here: a batch running is stopped, once asked."""
        if not self.running or self.cancelling:
            super().reject()
            return
        self.confirm = QMessageBox(QMessageBox.Icon.Question, "Batch running",
                                   "Stop the batch and close? The rows made are kept: Start goes on with the "
                                   "rest later.", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                   self)
        self.confirm.button(QMessageBox.StandardButton.Yes).setText("Stop and close")
        self.confirm.button(QMessageBox.StandardButton.No).setText("Keep running")
        self.confirm.accepted.connect(self._stop_and_close)
        self.confirm.open()

    def _stop_and_close(self) -> None:
        self.cancel()
        super().reject()  # the run ends by itself on its thread; shutdown() waits for it

    def shutdown(self) -> None:
        """The main window closes: stop the batch and wait for its thread (the rows made are kept)."""
        self._closing = True
        if self.confirm is not None:
            self.confirm.close()
        self._ticker.stop()
        self._settled.stop()
        self.work.shutdown()
