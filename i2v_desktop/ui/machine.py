"""Help > This machine: the hardware profile, each model's verdict on it, and the model and quality
tier it suggests. Both reads may load torch or probe the GPU: they run off the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.studio import MEMORY_PLANS, TOO_BIG, Hardware, ModelInfo, Studio
from . import modeltext
from .background import Background
from .modelrow import alarm_colour
from .panel import heading

LABELS = ("Renders on", "GPU", "GPU memory", "Compute capability", "RAM", "Free disk", "torch")


class MachineDialog(QDialog):
    def __init__(self, studio: Studio, background: Background, quality: str = "",
                 parent: QWidget | None = None) -> None:
        """`quality`: the tier the machine suggests with its default model ("" when not known)."""
        super().__init__(parent)
        self.setWindowTitle("This machine")
        self.resize(900, 540)
        self.quality = quality
        self.values: dict[str, QLabel] = {}
        profile = QFormLayout()
        for name in LABELS:
            value = self.values[name] = QLabel("…")
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            profile.addRow(name, value)
        self.models = QTreeWidget()
        self.models.setHeaderLabels(["Model", f"GPU memory ({MEMORY_PLANS})", "On this machine"])
        self.models.setRootIsDecorated(False)
        self.models.setWordWrap(True)
        self.suggestion = QLabel("Looking at this machine…")
        self.suggestion.setWordWrap(True)
        self.suggestion.setAccessibleName("Suggestion")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(profile)
        layout.addWidget(heading("Models"))
        layout.addWidget(self.models, 1)
        layout.addWidget(self.suggestion)
        layout.addWidget(buttons)
        background.submit(lambda: (studio.hardware(), studio.model_infos()), self._show, self._failed,
                          name="looking at this machine")

    def _show(self, found: tuple[Hardware, list[ModelInfo]]) -> None:
        hardware, infos = found
        for name, value in modeltext.hardware_rows(hardware):
            self.values[name].setText(value)
        self.models.clear()
        for info in infos:
            # The column says "on this machine" already: the verdict in short, then its reason.
            here = f"{info.fit.verdict}: {info.fit.reason}" if info.fit.reason else info.fit.verdict
            item = QTreeWidgetItem([info.name, info.fit.memory if info.fit.needs else "no GPU needed", here])
            item.setToolTip(2, modeltext.verdict(info.fit))
            if info.fit.verdict == TOO_BIG:
                item.setForeground(2, alarm_colour())
            self.models.addTopLevelItem(item)
        for column in range(2):
            self.models.resizeColumnToContents(column)
        default = next((info for info in infos if info.default), None)
        tier = f" at {self.quality.capitalize()} quality" if self.quality else ""
        self.suggestion.setText(f"Suggested here: {default.name}{tier}" if default else
                                "No model is marked as the default for this machine")

    def _failed(self, line: str) -> None:
        self.suggestion.setText(line)
