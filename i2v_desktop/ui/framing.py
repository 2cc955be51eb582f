"""The framing overlay: where the clip's crop falls on the selected photo, and moving it.

The rectangle drawn here is the one the renderer cuts: both ask `core.framing.crop_box` with the
same source size, subject and centre, so what the user frames is exactly what the clip shows.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import QToolButton, QWidget

from ..core.framing import Box, crop_box

HINT = "Drag to reframe; double-click to re-centre on the subject"
_KEY_HINT = "Arrow keys nudge the crop (Shift: ten times further)."
_FIXED_HINT = "The whole photo is used at this aspect, so there is nothing to reframe."
ARROWS = {
    Qt.Key.Key_Left: (-1, 0),
    Qt.Key.Key_Right: (1, 0),
    Qt.Key.Key_Up: (0, -1),
    Qt.Key.Key_Down: (0, 1),
}


class CropView(QWidget):
    """The selected photo, scaled to fit, with the clip's crop drawn bright over a dimmed surround.

    `cropChanged(object)` carries the new centre, an (x, y) tuple in 0..1 source coordinates, or
    None for automatic framing (on the subject). It is emitted for user actions only (dragging,
    arrow keys, double-click, the Auto button, `reset()`), never by the setters, so that a window
    which mirrors its own state into the view cannot start a signal loop.
    """

    cropChanged = Signal(object)

    MARGIN = 8  # logical pixels around the photo, so the crop's outline is never cut by the edge
    NUDGE = 0.01  # an arrow key moves the crop by 1 % of the photo
    BIG_NUDGE = 0.10  # ... and by 10 % with Shift
    DIM = QColor(0, 0, 0, 150)  # over the area the clip will not show: visible but clearly "out"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._source_size: tuple[int, int] | None = None
        self._subject: Box | None = None
        self._ratio: float | None = None
        self._center: tuple[float, float] | None = None
        # The photo scaled for the screen, rebuilt only when its size in device pixels changes:
        # smooth scaling a 1024 px preview on every paint would make dragging stutter.
        self._pixmap: QPixmap | None = None
        self._pixmap_key: tuple[int, int, float] | None = None
        self._drag_from: QPointF | None = None  # where the press was, in widget coordinates
        self._drag_start: tuple[float, float] | None = None  # the crop's centre then (0..1)

        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName("Crop framing")
        self.setAccessibleDescription(f"{HINT}. {_KEY_HINT}")
        self._auto = QToolButton(self)
        self._auto.setText("Auto")
        self._auto.setToolTip("Re-centre the crop on the subject (automatic framing)")
        self._auto.setAccessibleName("Automatic framing")
        self._auto.setCursor(Qt.CursorShape.ArrowCursor)
        self._auto.clicked.connect(self.reset)
        self._auto.hide()
        self._refresh()

    # -- state ---------------------------------------------------------------------------------

    def set_photo(self, image: QImage, source_size: tuple[int, int], subject: Box) -> None:
        """Show `image` (may be a downscaled preview) of a photo `source_size` (w, h) pixels large.

        `subject` is in source pixels. The crop centre is left as it is: a caller showing a new
        photo resets it with `set_crop_center(None)`, one refreshing the preview keeps it.
        """
        width, height = int(source_size[0]), int(source_size[1])
        if width <= 0 or height <= 0:
            raise ValueError(f"source_size must be positive, got {source_size!r}")
        if image.isNull():
            raise ValueError("image is empty")
        self._image = image
        self._source_size = (width, height)
        self._subject = subject
        self._pixmap = None
        self._pixmap_key = None
        self._end_drag()
        self._refresh()

    def clear(self) -> None:
        """Show nothing (no photo selected)."""
        self._image = None
        self._source_size = None
        self._subject = None
        self._pixmap = None
        self._pixmap_key = None
        self._end_drag()
        self._refresh()

    def set_aspect(self, ratio: float | None) -> None:
        """The clip's width / height, or None for the photo's own aspect (the whole photo, fixed)."""
        if ratio is not None and not ratio > 0:
            raise ValueError(f"ratio must be positive, got {ratio!r}")
        self._ratio = None if ratio is None else float(ratio)
        self._end_drag()
        self._refresh()

    def set_crop_center(self, center: tuple[float, float] | None) -> None:
        """The framing override in 0..1 source coordinates, or None for automatic. Does not emit."""
        self._center = None if center is None else (float(center[0]), float(center[1]))
        self._end_drag()
        self._refresh()

    @property
    def crop_center(self) -> tuple[float, float] | None:
        """The user's framing (0..1 source coordinates), or None: framed on the subject."""
        return self._center

    def crop_box(self) -> Box | None:
        """The crop in source pixels, exactly as the renderer will cut it; None without a photo."""
        if self._source_size is None or self._subject is None:
            return None
        width, height = self._source_size
        if self._ratio is None:
            return Box(0.0, 0.0, float(width), float(height))
        return crop_box(self._source_size, self._ratio, self._subject, self._center)

    def is_movable(self) -> bool:
        """Whether the crop can move at all: it is smaller than the photo along some axis."""
        box = self.crop_box()
        if box is None or self._ratio is None or self._source_size is None:
            return False
        width, height = self._source_size
        return box.w < width - 1e-6 or box.h < height - 1e-6

    def photo_rect(self) -> QRectF:
        """Where the photo is drawn, in widget coordinates (empty without a photo).

        Snapped to whole device pixels so the cached pixmap lands 1:1 on the screen's pixels.
        """
        if self._source_size is None:
            return QRectF()
        width, height = self._source_size
        avail_w = max(1.0, self.width() - 2.0 * self.MARGIN)
        avail_h = max(1.0, self.height() - 2.0 * self.MARGIN)
        scale = min(avail_w / width, avail_h / height)
        dpr = self.devicePixelRatioF()
        w = max(1, round(width * scale * dpr)) / dpr
        h = max(1, round(height * scale * dpr)) / dpr
        x = round((self.width() - w) / 2.0 * dpr) / dpr
        y = round((self.height() - h) / 2.0 * dpr) / dpr
        return QRectF(x, y, w, h)

    def reset(self) -> None:
        """Back to automatic framing (on the subject); emits cropChanged(None) if it was manual."""
        self._end_drag()
        if self._center is None:
            return
        self._center = None
        self._refresh()
        self.cropChanged.emit(None)

    # -- interaction ---------------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        box = self.crop_box()
        if event.button() != Qt.MouseButton.LeftButton or box is None or not self.is_movable():
            super().mousePressEvent(event)
            return
        # The drag is relative (press anywhere, the crop follows the motion): grabbing the box
        # itself is not required, which matters when it is narrow.
        self._drag_from = event.position()
        self._drag_start = self._effective_center()
        self.setCursor(Qt.CursorShape.ClosedHandCursor)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_from is None or self._drag_start is None:
            super().mouseMoveEvent(event)
            return
        photo = self.photo_rect()
        delta = event.position() - self._drag_from
        x0, y0 = self._drag_start
        self._move_to(x0 + delta.x() / photo.width(), y0 + delta.y() / photo.height())
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._drag_from is not None:
            self._end_drag()
            self._refresh()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.is_movable():
            self.reset()
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        step = ARROWS.get(event.key())  # Qt.Key is an IntEnum: the int looks it up
        box = self.crop_box()
        if step is None or box is None or self._source_size is None or not self.is_movable():
            super().keyPressEvent(event)
            return
        amount = self.BIG_NUDGE if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else self.NUDGE
        cx, cy = self._effective_center()
        self._move_to(cx + step[0] * amount, cy + step[1] * amount)
        event.accept()

    def _clamp(self, x: float, y: float) -> tuple[float, float]:
        """The nearest centre (0..1) at which the current crop stays inside the photo."""
        box = self.crop_box()
        if box is None or self._source_size is None:
            return x, y
        width, height = self._source_size
        half_w, half_h = box.w / width / 2.0, box.h / height / 2.0
        return min(max(x, half_w), 1.0 - half_w), min(max(y, half_h), 1.0 - half_h)

    def _effective_center(self) -> tuple[float, float]:
        """Where the crop's centre is now (0..1), whether framed automatically or by hand.

        From the stored centre when there is one rather than back from the box: the round trip
        through source pixels changes the last bits, which would count as a move.
        """
        if self._center is not None:
            return self._clamp(*self._center)
        box = self.crop_box()
        if box is None or self._source_size is None:
            return 0.5, 0.5
        cx, cy = box.center
        return cx / self._source_size[0], cy / self._source_size[1]

    def _move_to(self, x: float, y: float) -> None:
        """Set the centre, clamped so the box stays inside the photo, and emit if it moved.

        The clamped value is what is stored: an unclamped one far past the edge would make the
        next drag or nudge start from a point the box never reached, so the box would sit still
        for a while and then jump.
        """
        if self.crop_box() is None:
            return
        center = self._clamp(x, y)
        now = self._effective_center()
        if abs(center[0] - now[0]) < 1e-9 and abs(center[1] - now[1]) < 1e-9:
            return  # not a move: in particular, automatic framing stays automatic
        self._center = center
        self._refresh()
        self.cropChanged.emit(center)

    def _end_drag(self) -> None:
        self._drag_from = None
        self._drag_start = None

    # -- drawing -------------------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(480, 360)

    def minimumSizeHint(self) -> QSize:
        return QSize(160, 120)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_auto()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.EnabledChange:
            self._refresh()

    def _refresh(self) -> None:
        """Bring cursor, tooltip and the Auto button in line with the state, and repaint."""
        movable = self.is_movable() and self.isEnabled()
        if not movable:
            self.unsetCursor()
        elif self._drag_from is None:
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        if self._source_size is None:
            self.setToolTip("")
        elif movable:
            self.setToolTip(f"{HINT}.\n{_KEY_HINT}")
        else:
            self.setToolTip(_FIXED_HINT)
        self._auto.setVisible(movable and self._center is not None)
        self._place_auto()
        self.update()

    def _place_auto(self) -> None:
        photo = self.photo_rect()
        size = self._auto.sizeHint()
        right = photo.right() if not photo.isEmpty() else float(self.width() - self.MARGIN)
        top = photo.top() if not photo.isEmpty() else float(self.MARGIN)
        self._auto.setGeometry(int(right) - size.width() - 6, int(top) + 6, size.width(), size.height())

    def _scaled_pixmap(self, target: QRectF) -> QPixmap | None:
        """The photo at `target`'s size in device pixels (crisp on high-DPI screens), cached."""
        if self._image is None:
            return None
        dpr = self.devicePixelRatioF()
        w, h = max(1, round(target.width() * dpr)), max(1, round(target.height() * dpr))
        if self._pixmap is None or self._pixmap_key != (w, h, dpr):
            scaled = self._image.scaled(
                w, h, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
            self._pixmap = QPixmap.fromImage(scaled)
            self._pixmap.setDevicePixelRatio(dpr)
            self._pixmap_key = (w, h, dpr)
        return self._pixmap

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Window))
        box = self.crop_box()
        pixmap = self._scaled_pixmap(self.photo_rect())
        if box is not None and pixmap is not None and self._source_size is not None:
            self._paint_photo(painter, pixmap, box)
        if self.hasFocus():
            pen = QPen(self.palette().color(QPalette.ColorRole.Highlight), 2)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(self.rect()).adjusted(1, 1, -1, -1))
        painter.end()

    def _paint_photo(self, painter: QPainter, pixmap: QPixmap, box: Box) -> None:
        assert self._source_size is not None
        photo = self.photo_rect()
        painter.drawPixmap(photo.topLeft(), pixmap)
        width, height = self._source_size
        sx, sy = photo.width() / width, photo.height() / height
        crop = QRectF(photo.x() + box.x * sx, photo.y() + box.y * sy, box.w * sx, box.h * sy)
        # Dim the four bands around the crop (not an even-odd path: no anti-aliased seam inside).
        for band in (
            QRectF(photo.left(), photo.top(), photo.width(), crop.top() - photo.top()),
            QRectF(photo.left(), crop.bottom(), photo.width(), photo.bottom() - crop.bottom()),
            QRectF(photo.left(), crop.top(), crop.left() - photo.left(), crop.height()),
            QRectF(crop.right(), crop.top(), photo.right() - crop.right(), crop.height()),
        ):
            if band.width() > 0 and band.height() > 0:
                painter.fillRect(band, self.DIM)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        frame = crop.adjusted(0.75, 0.75, -0.75, -0.75)  # keep the outline inside the crop
        thirds = QPen(QColor(255, 255, 255, 120), 1)
        thirds.setCosmetic(True)
        painter.setPen(thirds)
        for i in (1, 2):
            x = crop.left() + crop.width() * i / 3
            y = crop.top() + crop.height() * i / 3
            painter.drawLine(QPointF(x, crop.top()), QPointF(x, crop.bottom()))
            painter.drawLine(QPointF(crop.left(), y), QPointF(crop.right(), y))
        # A dark halo under the white outline keeps it visible on a bright photo.
        painter.setPen(QPen(QColor(0, 0, 0, 110), 3.5))
        painter.drawRect(frame)
        painter.setPen(QPen(QColor(255, 255, 255), 1.5))
        painter.drawRect(frame)
        if self.is_movable():
            self._paint_handles(painter, frame)

    @staticmethod
    def _paint_handles(painter: QPainter, frame: QRectF) -> None:
        """Heavier corner marks: the usual sign, in photo editors, of a crop one can move."""
        length = min(16.0, frame.width() / 4, frame.height() / 4)
        pen = QPen(QColor(255, 255, 255), 3.5)
        pen.setCapStyle(Qt.PenCapStyle.SquareCap)
        painter.setPen(pen)
        inset = 1.0
        corners = (
            (frame.topLeft(), 1, 1),
            (frame.topRight(), -1, 1),
            (frame.bottomLeft(), 1, -1),
            (frame.bottomRight(), -1, -1),
        )
        for corner, dx, dy in corners:
            c = QPointF(corner.x() + dx * inset, corner.y() + dy * inset)
            painter.drawLine(c, QPointF(c.x() + dx * length, c.y()))
            painter.drawLine(c, QPointF(c.x(), c.y() + dy * length))
