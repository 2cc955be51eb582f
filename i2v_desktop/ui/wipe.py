"""Before/after: the clip's photo, framed as the clip was, wiped over the playing clip.

The wipe lies over the player's picture: left of a divider the photo, right of it the clip, both in
the rectangle where the player draws its frame, so the two line up pixel for pixel. Drag the divider
(or click where it should go); with the keyboard, ←/→ move it a tenth, Shift+←/→ a hundredth,
Home/End to the edges.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from ..core.record import ClipEntry
from ..core.studio import Studio
from .background import Background
from .canvas import FrameCanvas

LABEL = QColor(255, 255, 255, 235)
PILL = QColor(0, 0, 0, 150)


class Wipe(QWidget):
    """A divider over a FrameCanvas; shows the framed photo of `entry` on its left."""

    def __init__(self, canvas: FrameCanvas, studio: Studio, background: Background) -> None:
        super().__init__(canvas)
        self.canvas, self.studio, self.background = canvas, studio, background
        self.position = 0.5  # the divider, as a share of the frame's width
        self.photo: QImage | None = None
        self._buffer: np.ndarray | None = None  # the memory self.photo reads
        self._entry: ClipEntry | None = None
        self.message = ""
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.SplitHCursor)
        self.setAccessibleName("Before and after divider")
        self.setToolTip("Drag to compare the clip with its photo (←/→ move the divider)")
        canvas.installEventFilter(self)
        self.setGeometry(canvas.rect())
        self.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.canvas and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.canvas.rect())
        return False

    def set_entry(self, entry: ClipEntry | None) -> None:
        """Compare with this clip's photo (None: the player shows no saved clip)."""
        if entry == self._entry:
            return
        self._entry, self.photo, self._buffer = entry, None, None
        self.message = "Select a saved clip to compare it with its photo" if entry is None else "Loading the photo…"
        if entry is not None and self.isVisible():
            self._load()
        self.update()

    def set_shown(self, on: bool) -> None:
        self.setVisible(on)
        if on:
            self.raise_()
            self.setFocus()
            if self.photo is None and self._entry is not None:
                self._load()

    def _load(self) -> None:
        entry = self._entry
        assert entry is not None
        width, height = entry.record.render.get("width"), entry.record.render.get("height")
        image = self.canvas.image
        if image is not None:  # the frames on show are the truth; the record may predate a resize
            width, height = image.width(), image.height()
        if not (isinstance(width, int) and isinstance(height, int)):
            self.message = f"{entry.mp4.name}: its size is not known, so its photo cannot be framed"
            return

        def loaded(photo: np.ndarray) -> None:
            if entry != self._entry:
                return  # another clip was selected meanwhile
            self._buffer = np.ascontiguousarray(photo)
            h, w = self._buffer.shape[:2]
            self.photo = QImage(self._buffer, w, h, 3 * w, QImage.Format.Format_RGB888)
            self.message = ""
            self.update()

        def failed(line: str) -> None:
            if entry == self._entry:
                self.message = line
                self.update()

        self.background.submit(lambda: self.studio.framed_photo(entry, (width, height)), loaded, failed,
                               name="Framed photo")

    # -- drawing and moving the divider --------------------------------------------------------

    def frame_rect(self) -> QRectF | None:
        return self.canvas.target_rect() if self.canvas.image is not None else None

    def divider_x(self) -> float | None:
        rect = self.frame_rect()
        return None if rect is None else rect.left() + self.position * rect.width()

    def paintEvent(self, event: QPaintEvent) -> None:
        rect = self.frame_rect()
        if rect is None:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.canvas.fit)
        x = rect.left() + self.position * rect.width()
        if self.photo is not None:
            share = QRectF(rect.left(), rect.top(), x - rect.left(), rect.height())
            painter.drawImage(share, self.photo, QRectF(0, 0, self.position * self.photo.width(), self.photo.height()))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(0, 0, 0, 120), 3))
        painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
        painter.setPen(QPen(QColor(255, 255, 255), 1.5))
        painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
        handle = QRectF(x - 9, rect.center().y() - 18, 18, 36)
        painter.setBrush(QColor(255, 255, 255))
        painter.drawRoundedRect(handle, 6, 6)
        painter.setPen(QColor(0x2B, 0x2B, 0x2B))
        painter.drawText(handle, Qt.AlignmentFlag.AlignCenter, "⇔")
        self._label(painter, QRectF(rect.left() + 6, rect.top() + 6, x - rect.left() - 12, rect.height() / 2),
                    self.message or "Photo", Qt.AlignmentFlag.AlignLeft)
        self._label(painter, QRectF(x + 6, rect.top() + 6, rect.right() - x - 12, rect.height() / 2), "Clip",
                    Qt.AlignmentFlag.AlignRight)

    def _label(self, painter: QPainter, room: QRectF, text: str, side: Qt.AlignmentFlag) -> None:
        """A label on a dark pill, readable over any picture; left out where there is no room."""
        flags = side | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap
        if room.width() < 30:
            return
        box = painter.boundingRect(room.adjusted(6, 3, -6, -3), flags, text).adjusted(-6, -3, 6, 3)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(PILL)
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(LABEL)
        painter.drawText(box.adjusted(6, 3, -6, -3), flags, text)

    def set_position(self, position: float) -> None:
        self.position = min(max(position, 0.0), 1.0)
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._follow(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._follow(event)

    def _follow(self, event: QMouseEvent) -> None:
        rect = self.frame_rect()
        if rect is not None and rect.width() > 0:
            self.set_position((event.position().x() - rect.left()) / rect.width())
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        step = 0.01 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 0.1
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            self.set_position(self.position + (step if key == Qt.Key.Key_Right else -step))
        elif key in (Qt.Key.Key_Home, Qt.Key.Key_End):
            self.set_position(0.0 if key == Qt.Key.Key_Home else 1.0)
        else:
            super().keyPressEvent(event)
            return
        event.accept()
