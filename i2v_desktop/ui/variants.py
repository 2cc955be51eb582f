"""A strip of looping thumbnails, one per clip: the variants of a photo, or the whole history.

One timer drives every cell, and only while the strip is visible, so a long history costs
nothing when it is not on screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from PySide6.QtCore import QElapsedTimer, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QKeyEvent, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QToolButton, QVBoxLayout, QWidget

CELL = QSize(176, 150)
TICK_MS = 80  # thumbnails loop at 12.5 fps: smooth enough, cheap for a dozen cells


def to_qimage(frame: np.ndarray) -> QImage:
    """One RGB frame as a QImage that owns its pixels (safe after the array goes away)."""
    frame = np.ascontiguousarray(frame)
    height, width = frame.shape[:2]
    return QImage(frame.data, width, height, frame.strides[0], QImage.Format.Format_RGB888).copy()


class _Thumb(QWidget):
    """Paints one frame of a thumbnail strip, fit and centred."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.images: list[QImage] = []
        self.index = 0
        self.setMinimumSize(CELL.width() - 12, 96)

    def set_frames(self, frames: np.ndarray) -> None:
        # Views on the strip's own pixels, not copies: a long history holds hundreds of strips.
        self.frames = np.ascontiguousarray(frames)
        height, width = self.frames.shape[1:3]
        self.images = [QImage(frame.data, width, height, frame.strides[0], QImage.Format.Format_RGB888)
                       for frame in self.frames]
        self.update()

    def show_index(self, index: int) -> None:
        if index != self.index:
            self.index = index
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(32, 32, 32))
        if self.images:
            image = self.images[self.index % len(self.images)]
            scale = min(self.width() / image.width(), self.height() / image.height())
            w, h = image.width() * scale, image.height() * scale
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h), image)


class VariantCell(QFrame):
    """One clip: its looping thumbnail, a label, and a star to pick it."""

    clicked = Signal(str, bool)  # entry id, whether Ctrl/Shift was held (add to the selection)
    activated = Signal(str)  # double-click: play it
    starToggled = Signal(str, bool)

    def __init__(self, entry: Any, thumbs: np.ndarray | None, label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entry = entry
        self.duration = max(entry.duration or 1.0, 0.1)
        self.setFixedSize(CELL)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName(f"Clip {label}")
        render = entry.record.render
        details = f"{entry.mp4.name}: {render.get('width')}×{render.get('height')}, {render.get('num_frames')} frames, " \
                  f"{render.get('model', '')}"
        self.setToolTip(f"{label}\n{details}\nClick to play, Ctrl+click a second clip to compare, S to pick")
        self.thumb = _Thumb(self)
        if thumbs is not None:  # else they come later, read off the GUI thread
            self.thumb.set_frames(thumbs)
        self.label = QLabel(self)
        self.label.setText(self.label.fontMetrics().elidedText(label, Qt.TextElideMode.ElideRight, CELL.width() - 40))
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.star = QToolButton(self)
        self.star.setCheckable(True)
        self.star.setChecked(entry.starred)
        self.star.setAutoRaise(True)
        self.star.setAccessibleName("Pick this clip")
        self.star.toggled.connect(lambda on: self.starToggled.emit(self.entry.id, on))
        self.star.toggled.connect(self._show_star)
        self._show_star(entry.starred)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label, 1)
        row.addWidget(self.star)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(5, 5, 5, 3)
        layout.setSpacing(2)
        layout.addWidget(self.thumb, 1)
        layout.addLayout(row)
        self.set_selected(False)

    def set_starred(self, on: bool) -> None:
        """Show a star set elsewhere (in the other strip, by a key) without announcing it again."""
        if self.star.isChecked() != on:
            self.star.blockSignals(True)
            self.star.setChecked(on)
            self.star.blockSignals(False)
            self._show_star(on)

    def _show_star(self, on: bool) -> None:
        self.star.setText("★" if on else "☆")
        self.star.setToolTip("Picked for export (S)" if on else "Pick this clip for export (S)")

    def tick(self, seconds: float) -> None:
        count = len(self.thumb.images)
        if count:
            self.thumb.show_index(int((seconds % self.duration) / self.duration * count))

    def set_selected(self, on: bool) -> None:
        self.selected = on
        role = "highlight" if on else "window"  # palette roles: right in light and dark themes alike
        self.setStyleSheet(f"VariantCell {{ border: 2px solid palette({role}); border-radius: 6px; }}")

    def mousePressEvent(self, event: QMouseEvent) -> None:
        extend = bool(event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier))
        self.clicked.emit(self.entry.id, extend)
        self.setFocus()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.activated.emit(self.entry.id)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_S:
            self.star.toggle()
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.activated.emit(self.entry.id)
        else:
            super().keyPressEvent(event)


class VariantStrip(QScrollArea):
    """Cells side by side; a selection of up to two (play one, compare two)."""

    selectionChanged = Signal(list)  # entry ids, most recent last
    activated = Signal(str)
    starToggled = Signal(str, bool)

    def __init__(self, empty_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cells: list[VariantCell] = []
        self.selection: list[str] = []
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumHeight(CELL.height() + 22)
        inner = QWidget()
        self.row = QHBoxLayout(inner)
        self.row.setContentsMargins(4, 4, 4, 4)
        self.row.setSpacing(8)
        self.empty = QLabel(empty_text)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setEnabled(False)
        self.row.addWidget(self.empty, 1)
        self.row.addStretch(0)
        self.setWidget(inner)
        self._clock = QElapsedTimer()
        self._clock.start()
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)

    def set_entries(self, items: Sequence[tuple[Any, np.ndarray | None, str]]) -> None:
        """(entry, thumbnail frames or None, label) per clip, in display order. Keeps the selection
        where it can."""
        for cell in self.cells:
            self.row.removeWidget(cell)
            cell.hide()  # gone now, not when the event loop gets to deleting it
            cell.deleteLater()
        self.cells = []
        for item in items:
            self._insert(len(self.cells), *item)
        self.empty.setVisible(not self.cells)
        ids = {cell.entry.id for cell in self.cells}
        kept = [entry_id for entry_id in self.selection if entry_id in ids]
        self._set_selection(kept, force=kept != self.selection)
        self._sync_timer()

    def prepend(self, entry: Any, thumbs: np.ndarray | None, label: str) -> None:
        """One new clip at the front, without rebuilding the others."""
        self._insert(0, entry, thumbs, label)
        self.empty.hide()
        self._sync_timer()

    def _insert(self, index: int, entry: Any, thumbs: np.ndarray | None, label: str) -> None:
        cell = VariantCell(entry, thumbs, label)
        cell.clicked.connect(self._clicked)
        cell.activated.connect(self.activated)
        cell.starToggled.connect(self.starToggled)
        self.row.insertWidget(index, cell)
        self.cells.insert(index, cell)

    def set_thumbs(self, entry_id: str, thumbs: np.ndarray) -> None:
        if (cell := self.cell(entry_id)) is not None:
            cell.thumb.set_frames(thumbs)

    def set_starred(self, entry_id: str, on: bool) -> None:
        if (cell := self.cell(entry_id)) is not None:
            cell.set_starred(on)

    def is_starred(self, entry_id: str) -> bool:
        return (cell := self.cell(entry_id)) is not None and cell.star.isChecked()

    def cell(self, entry_id: str) -> VariantCell | None:
        return next((cell for cell in self.cells if cell.entry.id == entry_id), None)

    def select(self, entry_id: str, extend: bool = False) -> None:
        self._clicked(entry_id, extend)

    def selected_entries(self) -> list[Any]:
        return [cell.entry for entry_id in self.selection if (cell := self.cell(entry_id))]

    def _clicked(self, entry_id: str, extend: bool) -> None:
        if extend and self.selection and entry_id not in self.selection:
            selection = [self.selection[-1], entry_id]
        else:
            selection = [entry_id]
        self._set_selection(selection)

    def _set_selection(self, selection: list[str], force: bool = False) -> None:
        if selection == self.selection and not force:
            return
        self.selection = selection
        for cell in self.cells:
            cell.set_selected(cell.entry.id in selection)
        if selection and (cell := self.cell(selection[-1])):
            self.ensureWidgetVisible(cell)
        self.selectionChanged.emit(list(selection))

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._sync_timer()

    def hideEvent(self, event: Any) -> None:
        super().hideEvent(event)
        self._sync_timer()

    def _sync_timer(self) -> None:
        if self.cells and self.isVisible():
            self._timer.start()
        else:
            self._timer.stop()

    def _tick(self) -> None:
        seconds = self._clock.elapsed() / 1000
        for cell in self.cells:
            cell.tick(seconds)
