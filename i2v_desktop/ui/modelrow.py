"""One model on the models page: what it is, its licence, sizes, memory against this machine, its
state on disk, and the buttons that act on its files. It shows; the page acts."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from ..core.studio import (
    BUILT_IN,
    LOCAL_FOLDER,
    NOT_DOWNLOADED,
    PARTLY_DOWNLOADED,
    READY,
    TOO_BIG,
    UPDATE_AVAILABLE,
    ModelInfo,
    Transfer,
)
from . import modeltext

GATED = "Gated: accept the terms on its Hugging Face page, then log in (huggingface-cli login, or HF_TOKEN)"
DOWNLOAD_WORDS = {NOT_DOWNLOADED: "Download", PARTLY_DOWNLOADED: "Resume", UPDATE_AVAILABLE: "Update"}


def alarm_colour() -> QColor:
    """Red that reads on the palette in use: darker on a light window, lighter on a dark one."""
    dark = QApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128
    return QColor("#ff8a80" if dark else "#b03a2e")


def _label(text: str = "", note: bool = False) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if note:
        label.setProperty("note", True)  # secondary, yet legible (theme.py)
    return label


class ModelRow(QFrame):
    """A card for one ModelInfo; its buttons ask the page (download, pause, cancel, delete)."""

    downloadRequested = Signal(str)
    pauseRequested = Signal(str)
    cancelRequested = Signal(str)
    deleteRequested = Signal(str)

    def __init__(self, info: ModelInfo) -> None:
        super().__init__()
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.info = info
        self.downloading = False
        self.title = QLabel()
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.summary = _label()
        self.licence = _label(note=True)
        self.terms = _label()
        self.sizes = _label(note=True)
        self.includes = _label(note=True)  # what the download brings besides the weights, a line each
        self.includes.setAccessibleName("Includes")
        self.memory = _label(note=True)
        self.verdict = _label()
        self.state = QLabel()
        self.state.setAccessibleName("State")
        self.gated = _label(GATED, note=True)
        self.error = _label()
        self.error.setAccessibleName("Error")
        self.error.setStyleSheet(f"color: {alarm_colour().name()};")
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)
        self.transfer = QLabel()
        self.download = QPushButton("Download")
        self.pause = QPushButton("Pause")
        self.pause.setToolTip("Stop for now; what arrived is kept and Resume goes on from it")
        self.cancel = QPushButton("Cancel")
        self.cancel.setToolTip("Stop and delete what arrived")
        self.delete = QPushButton("Delete…")
        for button, signal in ((self.download, self.downloadRequested), (self.pause, self.pauseRequested),
                               (self.cancel, self.cancelRequested), (self.delete, self.deleteRequested)):
            button.clicked.connect(lambda _=False, signal=signal: signal.emit(self.info.id))
            button.setAccessibleName(f"{button.text().rstrip('…')} {info.name}")

        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.state)
        facts = QGridLayout()
        facts.setColumnStretch(1, 1)
        self._includes_name = QLabel("Includes")  # shown with its lines only
        for row, (name, widget) in enumerate(((QLabel("Licence"), self.licence), (QLabel("Size"), self.sizes),
                                              (self._includes_name, self.includes),
                                              (QLabel("Memory"), self.memory),
                                              (QLabel("This machine"), self.verdict))):
            facts.addWidget(name, row, 0, Qt.AlignmentFlag.AlignTop)
            facts.addWidget(widget, row, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.transfer, 1)
        buttons.addStretch(0)  # the buttons keep their size while the transfer line is hidden
        for button in (self.download, self.pause, self.cancel, self.delete):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.summary)
        layout.addLayout(facts)
        for widget in (self.terms, self.gated, self.error, self.progress):
            layout.addWidget(widget)
        layout.addLayout(buttons)
        self.show_error("")
        self.show_info(info)

    def show_info(self, info: ModelInfo) -> None:
        self.info = info
        self.title.setText(f"{info.name}  ·  {info.family}" + ("  ·  default here" if info.default else ""))
        self.summary.setText(info.summary)
        self.licence.setText(f"{info.licence}: {info.commercial}" if info.commercial else info.licence)
        self.terms.setText(f"Licence terms: {info.terms}")
        self.terms.setVisible(bool(info.terms))
        on_disk = modeltext.size(info.disk_bytes) if info.disk_bytes else "nothing"
        where = f" · {info.path}" if info.path else ""
        self.sizes.setText("built in, nothing to download" if info.state == BUILT_IN else
                           f"{info.download_gb:g} GB download · {on_disk} on disk{where}")
        # The camera LoRAs, the fast tier's LoRA, the tiny decoder: fetched with the model, so said here.
        self.includes.setText("\n".join(info.addons))
        self.includes.setVisible(bool(info.addons))
        self._includes_name.setVisible(bool(info.addons))
        self.memory.setText(modeltext.needs(info.fit) or "no GPU needed")
        self.verdict.setText(modeltext.verdict(info.fit))
        self.verdict.setStyleSheet(f"color: {alarm_colour().name()};" if info.fit.verdict == TOO_BIG else "")
        self.gated.setVisible(info.gated and info.state not in (READY, BUILT_IN, LOCAL_FOLDER))
        self._show_buttons()

    def _show_buttons(self) -> None:
        state = self.info.state
        self.state.setText("downloading" if self.downloading else state)
        self.download.setText(DOWNLOAD_WORDS.get(state, "Download"))
        self.download.setVisible(not self.downloading and state in DOWNLOAD_WORDS)
        self.pause.setVisible(self.downloading)
        self.cancel.setVisible(self.downloading)
        self.pause.setEnabled(True)
        self.cancel.setEnabled(True)
        self.delete.setVisible(state not in (BUILT_IN, LOCAL_FOLDER))
        self.delete.setEnabled(not self.downloading and self.info.disk_bytes > 0)
        self.progress.setVisible(self.downloading)
        self.transfer.setVisible(self.downloading)

    def set_downloading(self, on: bool) -> None:
        self.downloading = on
        if on:
            self.error.hide()
            self.progress.setRange(0, 0)  # busy until the first figures come
            self.transfer.setText("starting…")
        self._show_buttons()

    def show_transfer(self, progress: Transfer) -> None:
        if progress.total_bytes > 0:
            # In kB: a 34 GB model's bytes overflow the bar's int.
            self.progress.setRange(0, max(1, progress.total_bytes // 1000))
            self.progress.setValue(min(progress.done_bytes, progress.total_bytes) // 1000)
        self.transfer.setText(modeltext.transfer(progress))

    def stopping(self, words: str) -> None:
        """A pause or cancel asked for: shown until the download notices it."""
        self.transfer.setText(words)
        self.pause.setEnabled(False)
        self.cancel.setEnabled(False)

    def show_error(self, line: str) -> None:
        self.error.setText(line)
        self.error.setVisible(bool(line))
