"""Generate (the selected photos) and Generate all (the batch), each saying how many clips it
will queue, from the state: photos already on their way are not counted, as Generate skips them."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from .panel import plural
from .state import BUSY, AppState, Photo


class GenerateButtons(QWidget):
    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.generate = QPushButton("Generate")
        self.generate.setObjectName("generate")
        self.generate_all = QPushButton("Generate all")
        self.generate_all.setObjectName("generate_all")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for button, stretch in ((self.generate, 3), (self.generate_all, 2)):
            button.setMinimumHeight(40)
            row.addWidget(button, stretch)
        for signal in (state.photosChanged, state.photoChanged, state.selectionChanged, state.markedChanged,
                       state.choicesChanged):
            signal.connect(self._update)
        self._update()

    def _update(self, *_: Any) -> None:
        variants = self.state.choices.variants
        targets = self.state.targets()
        chosen = [photo for photo in targets if photo.status not in BUSY]
        every = [photo for photo in self.state.photos if photo.status not in BUSY]
        self.generate.setText(f"Generate {plural(len(chosen) * variants, 'clip')}" if chosen else "Generate")
        self.generate.setToolTip(_tip("Render the selected photos (Ctrl+Enter)", chosen, targets, variants))
        self.generate_all.setText(f"Generate all: {plural(len(every) * variants, 'clip')}")
        self.generate_all.setToolTip(_tip("Render every photo of the batch (Ctrl+Shift+Enter)", every,
                                          self.state.photos, variants))
        self.generate_all.setVisible(len(self.state.photos) > 1)
        self.generate_all.setEnabled(len(every) > len(chosen))  # else it would queue what Generate does


def _tip(what: str, chosen: list[Photo], asked: list[Photo], variants: int) -> str:
    if not asked:
        return f"{what}: add photos first"
    tip = f"{what}: {plural(len(chosen), 'photo')} × {plural(variants, 'variant')}"
    if skipped := len(asked) - len(chosen):
        tip += f"; {plural(skipped, 'photo')} skipped (loading, queued, rendering or held)"
    return tip
