"""The export dialog: which picked clips, which format, where, under which names."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..core.errors import I2VError
from ..core.record import ClipEntry
from ..core.studio import ExportChoice
from ..core.naming import DEFAULT_TEMPLATE, FIELDS, file_stem


@dataclass(frozen=True)
class ExportPlan:
    entries: tuple[ClipEntry, ...]
    preset: str  # export preset id
    folder: Path
    template: str
    open_folder: bool


def name_fields(entry: ClipEntry, preset_id: str) -> dict[str, object]:
    """The values a file name template can use, for one history entry."""
    record = entry.record
    return {"photo": Path(entry.photo).stem, "motion": record.preset or "", "format": preset_id,
            "seed": "" if record.seed is None else record.seed, "model": record.model or "",
            "date": time.strftime("%Y-%m-%d", time.localtime(entry.created))}


class ExportDialog(QDialog):
    def __init__(self, entries: Sequence[ClipEntry], labels: Sequence[str], presets: Sequence[ExportChoice], *,
                 picked: set[str], preset: str, folder: str, template: str, open_folder: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export clips")
        self.setMinimumWidth(520)
        self.entries = list(entries)

        self.clips = QListWidget()
        self.clips.setAccessibleName("Clips to export")
        for entry, label in zip(self.entries, labels):
            item = QListWidgetItem(label)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if entry.id in picked else Qt.CheckState.Unchecked)
            self.clips.addItem(item)
        self.clips.itemChanged.connect(self._validate)

        self.format = QComboBox()
        self.format.setAccessibleName("Export format")
        for item in presets:
            self.format.addItem(item.name, item.id)
            self.format.setItemData(self.format.count() - 1, item.description, Qt.ItemDataRole.ToolTipRole)
        self.format.setCurrentIndex(max(0, self.format.findData(preset)))
        self.format.currentIndexChanged.connect(self._validate)

        self.folder = QLineEdit(folder)
        self.folder.setAccessibleName("Destination folder")
        self.folder.textChanged.connect(self._validate)
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        where = QHBoxLayout()
        where.addWidget(self.folder, 1)
        where.addWidget(browse)

        self.template = QLineEdit(template or DEFAULT_TEMPLATE)
        self.template.setAccessibleName("File name template")
        self.template.setToolTip("Fields: " + ", ".join("{" + f + "}" for f in FIELDS))
        self.template.textChanged.connect(self._validate)
        self.example = QLabel()
        self.example.setWordWrap(True)
        self.open_folder = QCheckBox("Open the folder when done")
        self.open_folder.setChecked(open_folder)

        form = QFormLayout()
        form.addRow("Format", self.format)
        form.addRow("Folder", where)
        form.addRow("File names", self.template)
        form.addRow("", self.example)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Clips (★ picked ones are checked)"))
        layout.addWidget(self.clips, 1)
        layout.addLayout(form)
        layout.addWidget(self.open_folder)
        layout.addWidget(self.buttons)
        self._validate()

    def checked(self) -> list[ClipEntry]:
        return [entry for i, entry in enumerate(self.entries)
                if self.clips.item(i).checkState() == Qt.CheckState.Checked]

    def plan(self) -> ExportPlan:
        return ExportPlan(tuple(self.checked()), self.format.currentData(), Path(self.folder.text()).expanduser(),
                          self.template.text(), self.open_folder.isChecked())

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Export to", self.folder.text())
        if chosen:
            self.folder.setText(chosen)

    def _validate(self) -> None:
        ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        checked = self.checked()
        problem = ""
        if not checked:
            problem = "Check at least one clip."
        elif not self.folder.text().strip():
            problem = "Choose a destination folder."
        else:
            try:
                example = file_stem(self.template.text(), name_fields(checked[0], self.format.currentData()))
            except I2VError as exc:
                problem = str(exc)
        if problem:
            self.example.setText(f"<span style='color:#d9534f'>{problem}</span>")
        else:
            self.example.setText(f"e.g. {example}")
        ok_button.setEnabled(not problem)
        ok_button.setText(f"Export {len(checked)} clip{'s' if len(checked) != 1 else ''}")
