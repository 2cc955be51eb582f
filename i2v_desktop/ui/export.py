"""The export dialog: which picked clips, in which formats, where, under which names."""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
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
from .panel import plural


# What creators export most, first; the other formats follow in the studio's order.
FIRST_FORMATS = ("reels", "tiktok", "shorts")
FORMAT_COLUMNS = 2


@dataclass(frozen=True)
class ExportPlan:
    """Each of `entries` in each of `presets` (export preset ids): one file per pair."""

    entries: tuple[ClipEntry, ...]
    presets: tuple[str, ...]
    folder: Path
    template: str
    open_folder: bool


def ordered(choices: Sequence[ExportChoice]) -> list[ExportChoice]:
    def rank(choice: ExportChoice) -> int:
        return FIRST_FORMATS.index(choice.id) if choice.id in FIRST_FORMATS else len(FIRST_FORMATS)

    return sorted(choices, key=rank)  # stable: the rest keep their order


def name_fields(entry: ClipEntry, preset_id: str) -> dict[str, object]:
    """The values a file name template can use, for one history entry."""
    record = entry.record
    return {"photo": Path(entry.photo).stem, "motion": record.preset or "", "format": preset_id,
            "seed": "" if record.seed is None else record.seed, "model": record.model or "",
            "date": time.strftime("%Y-%m-%d", time.localtime(entry.created))}


class ExportDialog(QDialog):
    def __init__(self, entries: Sequence[ClipEntry], labels: Sequence[str], presets: Sequence[ExportChoice], *,
                 picked: set[str], formats: Sequence[str], folder: str, template: str, open_folder: bool,
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

        self.choices = ordered(presets)
        self.formats: dict[str, QCheckBox] = {}
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        rows = -(-len(self.choices) // FORMAT_COLUMNS)  # filled down each column: Reels, TikTok, Shorts first
        for index, choice in enumerate(self.choices):
            box = QCheckBox(choice.name)
            box.setToolTip(choice.description)
            box.setAccessibleName(f"Export as {choice.name}")
            box.setChecked(choice.id in formats)
            box.toggled.connect(self._validate)
            self.formats[choice.id] = box
            grid.addWidget(box, index % rows, index // rows)

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
        self.example.setTextFormat(Qt.TextFormat.RichText)  # names are escaped: a "&" shows as itself
        self.example.setWordWrap(True)
        self.open_folder = QCheckBox("Open the folder when done")
        self.open_folder.setChecked(open_folder)

        form = QFormLayout()
        form.addRow("Formats", grid)
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

    def chosen_formats(self) -> list[str]:
        return [choice.id for choice in self.choices if self.formats[choice.id].isChecked()]

    def plan(self) -> ExportPlan:
        return ExportPlan(tuple(self.checked()), tuple(self.chosen_formats()),
                          Path(self.folder.text()).expanduser(), self.template.text(), self.open_folder.isChecked())

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Export to", self.folder.text())
        if chosen:
            self.folder.setText(chosen)

    def _validate(self) -> None:
        ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        checked, formats = self.checked(), self.chosen_formats()
        problem = ""
        if not checked:
            problem = "Check at least one clip."
        elif not formats:
            problem = "Check at least one format."
        elif not self.folder.text().strip():
            problem = "Choose a destination folder."
        else:
            # The first checked clip's own fields (its motion preset, seed, photo) in each format.
            extensions = {choice.id: choice.extension for choice in self.choices}
            try:
                examples = [file_stem(self.template.text(), name_fields(checked[0], preset))
                            + extensions[preset] for preset in formats]
            except I2VError as exc:
                problem = str(exc)
        if problem:
            self.example.setText(f"<span style='color:#d9534f'>{html.escape(problem)}</span>")
        else:
            shown = examples[:3] + (["…"] if len(examples) > 3 else [])
            self.example.setText(html.escape("e.g. " + ", ".join(shown)))
        ok_button.setEnabled(not problem)
        files = len(checked) * len(formats)
        ok_button.setText(f"Export {plural(files, 'file') if len(formats) > 1 else plural(files, 'clip')}")
