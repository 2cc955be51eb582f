"""The running render in one row: what it is doing, a bar, its steps and the time left, Cancel.
Between renders the row says what the selected photo got."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from .panel import plural
from .state import Photo


class RenderProgress(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.stage = QLabel("Ready")
        self.stage.setAccessibleName("Render status")
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Render progress")
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)
        self.timing = QLabel()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop this render (Esc); Esc twice or Shift+Esc stops the whole queue")
        self.cancel_button.setEnabled(False)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.stage)
        row.addWidget(self.progress, 1)
        row.addWidget(self.timing)
        row.addWidget(self.cancel_button)

    def text(self) -> str:
        return self.stage.text()

    def set_text(self, text: str) -> None:
        self.stage.setText(text)

    def starting(self, name: str) -> None:
        self.busy(f"{name}: starting")
        self.timing.setText("")

    def busy(self, text: str) -> None:
        """A stage whose length is not known: the bar sweeps."""
        self.stage.setText(text)
        self.progress.setRange(0, 0)

    def downloading(self, text: str, done_bytes: int, total_bytes: int) -> None:
        self.stage.setText(text)
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(1000 * done_bytes / total_bytes) if total_bytes else 0)
        self.timing.setText(f"{done_bytes / 1e9:.1f} / {total_bytes / 1e9:.1f} GB")

    def stepped(self, step: int, total: int, elapsed_s: float, eta_s: float) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(step)
        self.timing.setText(f"step {step}/{total} · {_clock(elapsed_s)} · {_clock(eta_s)} left")

    def cancelling(self, waiting: int) -> None:
        self.stage.setText("Cancelling…" + (f" (Shift+Esc holds the {plural(waiting, 'waiting job')} too)"
                                           if waiting else ""))

    def show_photo(self, photo: Photo | None) -> None:
        """Between renders: what the selected photo got, or "Ready" when none is selected."""
        self.ended(f"{photo.name}: {photo.state_text}" if photo is not None else "Ready")

    def ended(self, text: str) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.stage.setText(text)
        self.timing.setText("")


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}:{seconds % 60:02d}"
