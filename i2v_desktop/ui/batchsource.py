"""The top of the batch dialog: the photos (a folder or a manifest), where the clips go, and the
settings every row starts from. It only shows them and asks for them; the dialog decides."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths, Signal
from PySide6.QtWidgets import QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from ..core.batch import COLUMNS
from ..core.batch import MANIFEST_SUFFIXES


class BatchSource(QWidget):
    sourceChosen = Signal(str)  # a folder or a manifest the user picked
    outputChosen = Signal(str)  # the folder the user picked for the clips

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = QLineEdit()
        self.source.setReadOnly(True)
        self.source.setPlaceholderText("A folder of photos, or a manifest with a row per clip")
        self.source.setAccessibleName("Photos or manifest")
        self.folder_button = QPushButton("Folder…")
        self.folder_button.setToolTip("A clip for each photo in the folder (not in the folders inside it)")
        self.folder_button.clicked.connect(self.choose_folder)
        self.manifest_button = QPushButton("Manifest…")
        self.manifest_button.setToolTip("A .csv or .jsonl file with a row per clip: a photo column, and any of "
                                        + ", ".join(column for column in COLUMNS if column != "photo"))
        self.manifest_button.clicked.connect(self.choose_manifest)
        self.out = QLineEdit()
        self.out.setReadOnly(True)
        self.out.setAccessibleName("Output folder")
        self.out_button = QPushButton("Change…")
        self.out_button.clicked.connect(self.choose_output)
        self.defaults = QLabel()
        self.defaults.setWordWrap(True)

        source = QHBoxLayout()
        source.addWidget(self.source, 1)
        source.addWidget(self.folder_button)
        source.addWidget(self.manifest_button)
        out = QHBoxLayout()
        out.addWidget(self.out, 1)
        out.addWidget(self.out_button)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Photos:", source)
        form.addRow("Clips to:", out)
        form.addRow("Each row:", self.defaults)

    def show_paths(self, source: str, out: str) -> None:
        self.source.setText(source)
        self.out.setText(out)

    def set_busy(self, busy: bool) -> None:
        """While a batch runs, its photos and folder stay as they are."""
        for button in (self.folder_button, self.manifest_button, self.out_button):
            button.setEnabled(not busy)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A folder of photos", self._start_folder())
        if folder:
            self.sourceChosen.emit(folder)

    def choose_manifest(self) -> None:
        patterns = " ".join(f"*{suffix}" for suffix in MANIFEST_SUFFIXES)
        path, _ = QFileDialog.getOpenFileName(self, "A manifest", self._start_folder(), f"Manifests ({patterns})")
        if path:
            self.sourceChosen.emit(path)

    def choose_output(self) -> None:
        start = self.out.text() or self._start_folder()
        folder = QFileDialog.getExistingDirectory(self, "Where the clips go", start)
        if folder:
            self.outputChosen.emit(folder)

    def _start_folder(self) -> str:
        if self.source.text():
            path = Path(self.source.text())
            return str(path if path.is_dir() else path.parent)
        return QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
