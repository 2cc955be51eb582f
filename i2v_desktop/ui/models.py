"""The models page: every model with what a user weighs before a download, and the actions on its
files (download with pause, resume and cancel; delete; use a folder the user already has).

Everything that reads or writes model files runs through the page's own `Background` pool (a
download runs for minutes and must not hold up the window's short tasks); results come back on
the GUI thread as one typed outcome, and the rows are read again after each action.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ..core.cancel import CancelToken
from ..core.studio import ModelChoice, ModelInfo, Studio, Transfer
from . import modeltext
from .background import Background
from .modelrow import ModelRow

PAUSE, CANCEL, CLOSE = "pause", "cancel", "close"  # why a download's token was set


class ModelsPage(QDialog):
    """A window of its own, kept by the main window and opened from its menu and from the picker."""

    changed = Signal()  # a model's files changed (downloaded, deleted, a folder added): re-read the picker
    _progress = Signal(str, object)  # model id, Transfer; emitted on a pool thread, delivered queued here

    def __init__(self, studio: Studio, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.studio = studio
        self.setWindowTitle("Models")
        # As tall as a few cards, but never taller than the screen it opens on (a 720-pixel laptop
        # screen also has a title bar and a panel to fit).
        room = (parent.screen() if parent is not None else self.screen()).availableGeometry()
        self.resize(min(760, room.width() - 40), min(680, room.height() - 80))
        # Its own pool: downloads run long and would starve the window's short tasks. Three threads:
        # a download, a second one, and the re-reading of the rows.
        self.background = Background(self, threads=3)
        self.background.pool.setObjectName("models")
        self.rows: dict[str, ModelRow] = {}
        self._downloads: dict[str, CancelToken] = {}
        self._stopping: dict[str, str] = {}  # model id → PAUSE, CANCEL or CLOSE
        self.confirm: QMessageBox | None = None  # the question on show (delete, close while downloading)
        self._progress.connect(self._on_progress)

        self.status = QLabel("Reading the models…")
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Models status")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.use_folder = QPushButton("Use a folder I already have…")
        self.use_folder.setToolTip("A diffusers folder (with model_index.json) or a single .safetensors checkpoint")
        menu = QMenu(self.use_folder)
        menu.addAction("A diffusers folder…", self._choose_folder)
        menu.addAction("A single-file checkpoint (.safetensors)…", self._choose_file)
        self.use_folder.setMenu(menu)
        self._list = QVBoxLayout()
        self._list.addStretch(1)
        inner = QWidget()
        inner.setLayout(self._list)
        scroll = QScrollArea()
        scroll.setWidget(inner)
        scroll.setWidgetResizable(True)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.use_folder)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addLayout(bottom)
        self.refresh()

    # -- the rows -------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read every model's state again, off the GUI thread."""
        self.background.submit(self.studio.model_infos, self._show_infos, self._say, name="reading the models")

    def _show_infos(self, infos: list[ModelInfo]) -> None:
        for info in infos:
            row = self.rows.get(info.id)
            if row is None:
                row = self.rows[info.id] = ModelRow(info)
                row.downloadRequested.connect(self.download)
                row.pauseRequested.connect(self.pause)
                row.cancelRequested.connect(self.cancel)
                row.deleteRequested.connect(self.ask_delete)
                self._list.insertWidget(self._list.count() - 1, row)
                row.show()  # now, not on the layout's next pass: a row is whole once it is listed
            else:
                row.show_info(info)
        for gone in set(self.rows) - {info.id for info in infos}:
            self.rows.pop(gone).deleteLater()
        if self.status.text() == "Reading the models…":
            self.status.setText("")

    def _say(self, line: str) -> None:
        self.status.setText(line)

    # -- downloads -------------------------------------------------------------------------------

    @property
    def downloading(self) -> list[str]:
        return list(self._downloads)

    def download(self, model: str) -> None:
        """Download (or resume) a model's files; progress shows on its row."""
        if model in self._downloads:
            return
        token = self._downloads[model] = CancelToken()
        row = self.rows[model]
        row.set_downloading(True)

        def work() -> None:  # on a pool thread: only the signal crosses back
            self.studio.download(model, lambda progress: self._progress.emit(model, progress), token)

        self.background.submit(work, lambda _: self._download_ended(model, ""),
                               lambda line: self._download_ended(model, line),
                               lambda: self._download_stopped(model),
                               cancel=token, name=f"downloading {row.info.name}")

    def pause(self, model: str) -> None:
        """Stop, keeping what arrived: Resume downloads the rest."""
        self._stop(model, PAUSE, "pausing…")

    def cancel(self, model: str) -> None:
        """Stop and delete what arrived."""
        self._stop(model, CANCEL, "cancelling…")

    def _stop(self, model: str, why: str, words: str) -> None:
        token = self._downloads.get(model)
        if token is not None:
            self._stopping[model] = why
            token.cancel()
            self.rows[model].stopping(words)

    @Slot(str, object)
    def _on_progress(self, model: str, progress: Transfer) -> None:
        row = self.rows.get(model)
        if row is not None and model in self._downloads and model not in self._stopping:
            row.show_transfer(progress)

    def _download_ended(self, model: str, error: str) -> None:
        self._downloads.pop(model, None)
        self._stopping.pop(model, None)
        row = self.rows[model]
        row.set_downloading(False)
        row.show_error(error)
        if not error:
            self.status.setText(f"{row.info.name} is downloaded")
        self._changed()

    def _download_stopped(self, model: str) -> None:
        self._downloads.pop(model, None)
        why = self._stopping.pop(model, PAUSE)
        row = self.rows[model]
        row.set_downloading(False)
        if why == CANCEL:
            self._remove(model, f"{row.info.name}: download cancelled")
        else:
            self.status.setText(f"{row.info.name}: paused; Resume goes on from what arrived")
            self._changed()
        if why == CLOSE and not self._downloads:
            self.close()

    # -- delete ----------------------------------------------------------------------------------

    def ask_delete(self, model: str) -> None:
        info = self.rows[model].info
        self.confirm = QMessageBox(QMessageBox.Icon.Question, "Delete model files",
                                   f"Delete the files of {info.name} ({modeltext.size(info.disk_bytes)})? "
                                   f"Using it again means downloading {info.download_gb:g} GB.",
                                   QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        self.confirm.button(QMessageBox.StandardButton.Yes).setText("Delete")
        self.confirm.setDefaultButton(QMessageBox.StandardButton.No)
        self.confirm.accepted.connect(lambda: self._remove(model, f"Deleted {info.name}"))
        self.confirm.open()

    def _remove(self, model: str, done: str) -> None:
        self.background.submit(lambda: self.studio.remove(model),
                               lambda freed: self._removed(done, freed), self._say, name=f"deleting {model}")

    def _removed(self, done: str, freed: int) -> None:
        self.status.setText(f"{done}: {modeltext.size(freed)} freed")
        self._changed()

    # -- a folder the user already has -----------------------------------------------------------

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A diffusers model folder")
        if folder:
            self.use_path(Path(folder))

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "A single-file checkpoint", "", "Checkpoints (*.safetensors)")
        if path:
            self.use_path(Path(path))

    def use_path(self, path: Path) -> None:
        """Check a folder or checkpoint and add it to the models; its one-line problem when it is not usable."""
        self.status.setText(f"Checking {path}…")
        self.background.submit(lambda: self.studio.use_folder(path), self._folder_added, self._say,
                               name=f"reading {path}")

    def _folder_added(self, choice: ModelChoice) -> None:
        self.status.setText(f"Added {choice.name}: it is in the model picker now")
        self._changed()

    def _changed(self) -> None:
        self.refresh()
        self.changed.emit()

    # -- closing ---------------------------------------------------------------------------------

    def reject(self) -> None:
        """Esc, the close button and Close all come here (QDialog's closeEvent calls it). A download
        running: ask first; stopping keeps what arrived (Download resumes it)."""
        if not self._downloads or set(self._stopping.values()) == {CLOSE}:
            super().reject()
            return
        self.confirm = QMessageBox(QMessageBox.Icon.Question, "Downloads running",
                                   "Stop the downloads and close? What arrived is kept: Download goes on "
                                   "from it later.",
                                   QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        self.confirm.button(QMessageBox.StandardButton.Yes).setText("Stop and close")
        self.confirm.button(QMessageBox.StandardButton.No).setText("Keep downloading")
        self.confirm.accepted.connect(self._stop_and_close)
        self.confirm.open()

    def _stop_and_close(self) -> None:
        for model in list(self._downloads):
            self._stop(model, CLOSE, "stopping…")
        # The page closes itself once the last download has noticed (_download_stopped).

    def shutdown(self) -> None:
        """The main window closes: stop every download (what arrived is kept) and wait for the threads."""
        for token in self._downloads.values():
            token.cancel()
        self.background.shutdown()
