"""A clip's frame on screen: fitted or at one image pixel per screen pixel, on a neutral ground,
with a line of text when there is no frame to show."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

# Neutral dark grey: a clip reads the same whether the window theme is light or dark.
BACKGROUND = QColor(0x2B, 0x2B, 0x2B)
_MESSAGE_COLOR = QColor(0xC8, 0xC8, 0xC8)


class FrameCanvas(QWidget):
    """Paints one frame on a dark background: scaled to fit, or at 100 % (one image pixel per device
    pixel, dragged to pan when larger than the view). With no frame it paints a centred message."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._buffer: np.ndarray | None = None  # the memory self._image reads: keep it alive with it
        self._message = ""
        self._fit = True
        self._pan = QPointF()  # offset of the 100 % image from centred, in logical pixels
        self._drag_from: QPointF | None = None
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 90)
        self.setAccessibleName("Clip preview")

    @property
    def image(self) -> QImage | None:
        return self._image

    @property
    def message(self) -> str:
        return self._message

    @property
    def fit(self) -> bool:
        return self._fit

    def set_frame(self, frame: np.ndarray) -> None:
        """Show one (H, W, 3) uint8 frame without copying it (unless it is not C-contiguous)."""
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"a frame must be an (H, W, 3) uint8 array, got {frame.dtype} {frame.shape}")
        frame = np.ascontiguousarray(frame)
        h, w = frame.shape[:2]
        image = QImage(frame, w, h, 3 * w, QImage.Format.Format_RGB888)
        if self._image is None or self._image.size() != image.size():
            self._pan = QPointF()
        self._image, self._buffer, self._message = image, frame, ""
        self._update_cursor()
        self.update()

    def clear(self, message: str = "") -> None:
        self._image, self._buffer, self._message = None, None, message
        self._drag_from = None
        self._update_cursor()
        self.update()

    def set_fit(self, fit: bool) -> None:
        if fit != self._fit:
            self._fit = fit
            self._pan = QPointF()
            self._update_cursor()
            self.update()

    def sizeHint(self) -> QSize:
        return QSize(480, 270)

    def target_rect(self) -> QRectF:
        """Where the frame lands, in logical pixels, snapped to the device pixel grid."""
        assert self._image is not None
        dpr = self.devicePixelRatioF()
        w, h = self._image.width(), self._image.height()
        vw, vh = self.width(), self.height()
        if self._fit:
            scale = min(vw / w, vh / h)
            tw, th = w * scale, h * scale
            x, y = (vw - tw) / 2, (vh - th) / 2
        else:
            tw, th = w / dpr, h / dpr
            self._pan = self._clamped_pan(self._pan)
            x, y = (vw - tw) / 2 + self._pan.x(), (vh - th) / 2 + self._pan.y()

        def snap(v: float) -> float:
            return round(v * dpr) / dpr

        return QRectF(snap(x), snap(y), snap(tw), snap(th))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        if self._image is None:
            if self._message:
                painter.setPen(_MESSAGE_COLOR)
                flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
                painter.drawText(self.rect().adjusted(12, 12, -12, -12), flags, self._message)
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._fit)
        painter.drawImage(self.target_rect(), self._image)

    # -- panning at 100 % ------------------------------------------------------------------------

    def _overflow(self) -> tuple[float, float]:
        """How far the 100 % image sticks out past each side of the view (0 when it fits)."""
        if self._fit or self._image is None:
            return 0.0, 0.0
        dpr = self.devicePixelRatioF()
        return (max(0.0, (self._image.width() / dpr - self.width()) / 2),
                max(0.0, (self._image.height() / dpr - self.height()) / 2))

    def _clamped_pan(self, pan: QPointF) -> QPointF:
        ox, oy = self._overflow()
        return QPointF(min(max(pan.x(), -ox), ox), min(max(pan.y(), -oy), oy))

    def _update_cursor(self) -> None:
        if self._drag_from is not None:
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        elif any(self._overflow()):
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            self.unsetCursor()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and any(self._overflow()):
            self._drag_from = event.position()
            self._update_cursor()
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_from is None:
            super().mouseMoveEvent(event)
            return
        self._pan = self._clamped_pan(self._pan + event.position() - self._drag_from)
        self._drag_from = event.position()
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._drag_from is not None:
            self._drag_from = None
            self._update_cursor()
        else:
            super().mouseReleaseEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._update_cursor()
