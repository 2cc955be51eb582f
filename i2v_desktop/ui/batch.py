"""Batch…: a folder of photos or a manifest rendered row by row into an output folder, by the same
code as `i2v batch` (`Studio.read_batch`, then `Studio.run_batch`), with the window's clip settings
as every row's defaults.

The plan is read, and the batch run, on the dialog's own pool (a batch runs for hours and must not
hold up the window's short tasks). Rows end on that pool's thread: each result crosses to the GUI
thread as a signal carrying the frozen RowResult, tagged with its run's number so that a late
result of an earlier run is dropped.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QModelIndex, QSettings, QStandardPaths, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..core.batch import FAILED, INVALID, BatchPlan, BatchReport, RowResult, Tally
from ..core.cancel import CancelToken
from ..core.errors import I2VError, ModelError
from ..core.request import GenerationRequest
from ..core.studio import Studio
from .background import Background
from .batchplan import default_output, defaults_text, earlier_results, ended_text, is_manifest, plan_text
from .batchtable import DONE_EARLIER, TO_RENDER, BatchTable, Line, plan_lines
from .drop import DropOverlay
from .state import AppState, Photo

# The request's image is each row's photo; the defaults need one to be a request at all.
PLACEHOLDER_PHOTO = "photo"
TICK_MS = 1000  # how often the time left is worked out again while a batch runs


class BatchDialog(QDialog):
    """Non-modal: the window stays usable while a batch runs. Kept by the main window (one dialog,
    so reopening it shows the batch that runs)."""

    _row_ended = Signal(int, object)  # run number, RowResult: emitted on the batch's thread

    def __init__(self, studio: Studio, state: AppState, settings: QSettings, parent: QWidget | None = None,
                 *, remember: bool = True) -> None:
        super().__init__(parent)
        self.studio, self.state, self.settings, self.remember = studio, state, settings, remember
        self.setWindowTitle("Batch")
        self.setAcceptDrops(True)
        room = (parent.screen() if parent is not None else self.screen()).availableGeometry()
        self.resize(min(980, room.width() - 40), min(620, room.height() - 80))
        self.background = Background(self, threads=2)  # reading a plan, and the run
        self.background.pool.setObjectName("batch")
        self.source, self.out = "", ""
        self.plan: BatchPlan | None = None
        self._earlier: dict[str, RowResult] = {}
        self._reading = 0  # the number of the latest plan read: older ones are dropped
        self._run = 0  # the number of the latest run: results of older ones are dropped
        self._token: CancelToken | None = None  # set while a run is on
        self._tally: Tally | None = None
        self._stale = False  # the source, folder or settings changed during a run: read again after it
        self._closing = False
        self.confirm: QMessageBox | None = None
        self._row_ended.connect(self._on_row_ended)
        self._build()
        state.choicesChanged.connect(self._choices_changed)
        last = str(settings.value("batch/source", "") or "")
        if last and Path(last).exists():
            self.set_source(last, str(settings.value("batch/out", "") or "") or None)
        else:
            self._say("Choose a folder of photos or a manifest (.csv or .jsonl), or drop one here")
            self._show_defaults()

    def _build(self) -> None:
        self.source_edit = QLineEdit()
        self.source_edit.setReadOnly(True)
        self.source_edit.setPlaceholderText("A folder of photos, or a manifest with a row per clip")
        self.source_edit.setAccessibleName("Photos or manifest")
        self.folder_button = QPushButton("Folder…")
        self.folder_button.clicked.connect(self.choose_folder)
        self.manifest_button = QPushButton("Manifest…")
        self.manifest_button.setToolTip("A .csv or .jsonl file: a row per clip, with a photo column and any of "
                                        "preset, prompt, aspect, duration, fps, model, quality, variants, seed, "
                                        "loop, exports")
        self.manifest_button.clicked.connect(self.choose_manifest)
        self.out_edit = QLineEdit()
        self.out_edit.setReadOnly(True)
        self.out_edit.setAccessibleName("Output folder")
        self.out_button = QPushButton("Change…")
        self.out_button.clicked.connect(self.choose_output)
        self.defaults = QLabel()
        self.defaults.setWordWrap(True)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = BatchTable()
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

        source = QHBoxLayout()
        source.addWidget(self.source_edit, 1)
        source.addWidget(self.folder_button)
        source.addWidget(self.manifest_button)
        out = QHBoxLayout()
        out.addWidget(self.out_edit, 1)
        out.addWidget(self.out_button)
        form = QFormLayout()
        form.addRow("Photos:", source)
        form.addRow("Clips to:", out)
        form.addRow("Each row:", self.defaults)
        progress = QHBoxLayout()
        progress.addWidget(self.progress)
        progress.addWidget(self.progress_text, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        for button in (self.start_button, self.cancel_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addLayout(progress)
        layout.addLayout(buttons)
        self._update_controls()

    # -- what the batch reads -------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._token is not None

    @property
    def cancelling(self) -> bool:
        return self._token is not None and self._token.cancelled

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A folder of photos", self._start_folder())
        if folder:
            self.set_source(folder)

    def choose_manifest(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "A manifest", self._start_folder(),
                                              "Manifests (*.csv *.jsonl *.ndjson *.json)")
        if path:
            self.set_source(path)

    def choose_output(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Where the clips go", self.out or self._start_folder())
        if folder:
            self.set_output(folder)

    def _start_folder(self) -> str:
        if self.source:
            path = Path(self.source)
            return str(path if path.is_dir() else path.parent)
        return QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)

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
        self.out = out or default_output(self.source)
        self.source_edit.setText(self.source)
        self.out_edit.setText(self.out)
        self._remember()
        self.read_plan()
        return True

    def set_output(self, folder: str | Path) -> None:
        if self.running:
            return
        self.out = str(Path(folder).expanduser().resolve())
        self.out_edit.setText(self.out)
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
        self.defaults.setText(f"{defaults_text(request, preset, model)}: the window's clip settings, "
                              "under what a manifest's columns say")
        return request

    @Slot(object)
    def _choices_changed(self, _choices: object) -> None:
        if self.source:
            self.read_plan()
        else:
            self._show_defaults()

    def read_plan(self) -> None:
        """Read the source with the window's settings, and what an earlier run into the output
        folder finished, off the GUI thread."""
        if self.running:
            self._stale = True
            return
        request = self._show_defaults()
        self._reading += 1
        number, source, out = self._reading, self.source, self.out
        self.plan, self._earlier = None, {}
        self.table.rows.show([])
        self.progress.reset()
        self.progress_text.clear()
        self._update_controls()
        if request is None:
            self._say("The rows are read once a model is chosen")
            return
        self._say(f"Reading {Path(source).name}…")
        studio = self.studio
        self.background.submit(lambda: (studio.read_batch(source, request), earlier_results(out)),
                               lambda read: self._planned(number, *read),
                               lambda line: self._plan_failed(number, line), name=f"reading {source}")

    def _planned(self, number: int, plan: BatchPlan, earlier: dict[str, RowResult]) -> None:
        if number != self._reading:
            return  # the source, the folder or the settings changed while it was read
        self.plan, self._earlier = plan, earlier
        self.table.rows.show(plan_lines(plan, earlier))
        rows = self.table.rows
        self._say(plan_text(len(rows.lines), rows.count(TO_RENDER), rows.count(DONE_EARLIER), rows.count(INVALID)))
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
        token = self._token = CancelToken()
        self._run += 1
        self._tally = Tally(self.to_render(), time.monotonic())
        run, plan, out, studio, ended = self._run, self.plan, self.out, self.studio, self._row_ended
        self.background.submit(
            # Runs on the pool's thread; so does on_result, which only emits (a queued signal).
            lambda: studio.run_batch(plan, out, lambda result: ended.emit(run, result), token),
            lambda report: self._run_ended(run, report), lambda line: self._run_ended(run, None, line),
            lambda: self._run_ended(run, None), cancel=token, name="the batch")
        self.progress.setRange(0, self._tally.total)
        self.progress.setValue(0)
        self._ticker.start()
        self._show_progress()
        self._update_controls()

    def cancel(self) -> None:
        """Stop the batch: no row starts, the running ones end unfinished (nothing of them is kept)."""
        if self._token is None or self._token.cancelled:
            return
        self._token.cancel()
        self.progress_text.setText("Cancelling…")
        self._update_controls()

    @Slot(int, object)
    def _on_row_ended(self, run: int, result: RowResult) -> None:
        if run != self._run:
            return
        self.table.rows.ended(result)
        if result.status == INVALID or self._tally is None:
            return  # a row the plan already showed as one that cannot be made: no render
        self._tally.add(result, time.monotonic())
        if result.key:
            self._earlier[result.key] = result
        self._show_progress()

    def _show_progress(self) -> None:
        if self._tally is None or self._token is None or self._token.cancelled:
            return
        self.progress.setValue(self._tally.count)
        self.progress_text.setText(self._tally.line(time.monotonic()))

    def _run_ended(self, run: int, report: BatchReport | None, error: str = "") -> None:
        if run != self._run:
            return
        tally = self._tally
        self._token = None
        self._ticker.stop()
        if tally is not None:
            self.progress.setValue(tally.count)
            seconds = time.monotonic() - tally.started
            text = ended_text(report, tally.done, tally.failed, tally.total, seconds)
            self.progress_text.setText(f"Stopped: {error}" if error else text)
        self._update_controls()
        if self._stale and not self._closing:
            self._stale = False
            self.read_plan()

    def _update_controls(self) -> None:
        running = self.running
        for widget in (self.folder_button, self.manifest_button, self.out_button):
            widget.setEnabled(not running)
        count = self.to_render() if self.plan is not None else 0
        self.start_button.setText(f"Start: {count} row{'s' if count != 1 else ''}" if count else "Start")
        self.start_button.setEnabled(not running and count > 0)
        self.cancel_button.setEnabled(running and not self._token.cancelled)
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
            self.drop_overlay.show_over(self.table, f"Drop to batch this {'folder' if path.is_dir() else 'manifest'}")

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
        if not self.running or self._token.cancelled:
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
        if self._token is not None:
            self._token.cancel()
        if self.confirm is not None:
            self.confirm.close()
        self._ticker.stop()
        self.background.shutdown()
