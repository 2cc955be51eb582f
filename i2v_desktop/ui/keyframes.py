"""Keyframed framing in the framing view: a start crop (A), an end crop (B) and optionally a middle one
(M), each moved by dragging and resized by a corner or the mouse wheel, with the camera's path between
them drawn faintly.

The framings are `core.keyframes.Framing` values, the instant engine's own: centre as 0..1 of the
photo, width as a share of the widest crop at the clip's aspect. Boxes are drawn the way the engine
cuts them (a crop past the photo's edge slid back inside it), so the outlines are the frames' crops.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen, QWheelEvent
from PySide6.QtWidgets import QWidget

from ..core.framing import Box
from ..core.keyframes import MIN_WIDTH, Framing, framing_path
from .framing import ARROWS, CropView

LABELS = ("A", "M", "B")  # start, middle, end, in the order a path of three holds them
COLOURS = {"A": QColor(255, 255, 255), "M": QColor(255, 196, 64), "B": QColor(96, 200, 255)}
PATH_STEPS = 4  # intermediate outlines drawn between the framings: enough to read the move, few enough to stay faint
HANDLE_PX = 12.0  # how near a corner a press grabs it, in widget pixels
WHEEL_STEP = 1.1  # one notch of the wheel widens or narrows a framing by 10 %
END_WIDTH = 0.6  # the end framing first offered: a push in to 60 % on the subject
KEY_HINT = "Drag a framing to move it, a corner or the wheel to resize it; faint: the camera's path"


def names(count: int) -> tuple[str, ...]:
    """The labels of `count` framings: A, B or A, M, B."""
    return ("A", "B") if count == 2 else LABELS


def full_width(source: tuple[int, int], ratio: float) -> float:
    """The widest crop of `ratio` (w/h) in the photo, in pixels: what a framing of width 1 means."""
    return min(float(source[0]), source[1] * ratio)


def framing_box(x: float, y: float, width: float, source: tuple[int, int], ratio: float) -> Box:
    """The crop a framing (or a point of the path) cuts, in source pixels, slid inside the photo the
    way the instant engine slides it."""
    sw, sh = source
    w = min(width * full_width(source, ratio), float(sw), sh * ratio)
    h = w / ratio
    return Box(min(max(x * sw - w / 2, 0.0), sw - w), min(max(y * sh - h / 2, 0.0), sh - h), w, h)


def fitted(x: float, y: float, width: float, source: tuple[int, int], ratio: float) -> Framing:
    """The framing nearest to (x, y, width) that stays inside the photo and is no narrower than MIN_WIDTH."""
    width = min(max(width, MIN_WIDTH), 1.0)
    box = framing_box(x, y, width, source, ratio)
    cx, cy = box.center
    return Framing(min(max(cx / source[0], 0.0), 1.0), min(max(cy / source[1], 0.0), 1.0), width)


class KeyframeView(CropView):
    """The crop view, which with keyframes set shows and edits them instead of the single crop.

    `keyframesChanged(keys, continuous)` carries the new framings (a tuple of two or three, or ()
    for the preset's own move) after a user action; `continuous` is True for a step of a drag, a
    wheel or a nudge (one undo step merges them) and False for adding, removing or clearing."""

    keyframesChanged = Signal(object, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._keys: tuple[Framing, ...] = ()
        self._allowed = True  # the chosen model follows keyframes (the instant engine)
        self._loop = False
        self._active = 0  # index into _keys of the framing the arrows and the wheel act on (the selected one)
        self._grab: tuple[int, str, QPointF, Framing] | None = None  # (index, "move" | corner, press, framing then)

    # -- state ---------------------------------------------------------------------------------

    def set_keyframes(self, keys: tuple[Framing, ...]) -> None:
        """The photo's framings (() : none). Does not emit. The same framings again (the state
        echoing a drag's step back) leave a drag in progress alone."""
        if tuple(keys) == self._keys:
            self._refresh()
            return
        if len(keys) != len(self._keys):  # another photo's, or a framing added or taken back: B is selected
            self._active = max(0, len(keys) - 1)
        self._keys = tuple(keys)
        self._grab = None
        self._refresh()

    def set_allowed(self, allowed: bool) -> None:
        """Whether the chosen model follows keyframes; where it does not they are kept but not shown."""
        self._allowed = allowed
        self._grab = None
        self._refresh()

    def set_loop(self, loop: bool) -> None:
        """A looping clip's path returns to A: drawn that way."""
        self._loop = loop
        self.update()

    @property
    def keyframes(self) -> tuple[Framing, ...]:
        return self._keys

    def editing(self) -> bool:
        """Keyframes are on show and editable (there are some, the model follows them, a photo is shown)."""
        return bool(self._keys) and self._allowed and self.crop_box() is not None

    def ratio(self) -> float:
        """The clip's width / height; the photo's own when the clip keeps it."""
        assert self._source_size is not None
        return self._ratio if self._ratio is not None else self._source_size[0] / self._source_size[1]

    def box_of(self, index: int) -> Box:
        """Framing `index` as the crop it cuts, in source pixels."""
        assert self._source_size is not None
        key = self._keys[index]
        return framing_box(key.x, key.y, key.width, self._source_size, self.ratio())

    def path_boxes(self, steps: int = PATH_STEPS) -> list[Box]:
        """Crops along the camera's path strictly between the framings, as `core.keyframes` plans it."""
        assert self._source_size is not None
        count = len(self._keys)
        segments = count if self._loop else count - 1  # a loop has its way back to A as well
        times = np.array([(s + j / (steps + 1)) / segments for s in range(segments) for j in range(1, steps + 1)])
        path = framing_path(self._keys, times, self._loop)
        return [framing_box(x, y, w, self._source_size, self.ratio()) for x, y, w in path]

    # -- actions (each emits keyframesChanged) ---------------------------------------------------

    def start_keyframes(self) -> None:
        """A = the crop as it is now; B = a push in on the subject, so the move is visible at once."""
        box = self.crop_box()
        if box is None or self._source_size is None or self._subject is None:
            return
        source, ratio = self._source_size, self.ratio()
        cx, cy = box.center
        start = fitted(cx / source[0], cy / source[1], box.w / full_width(source, ratio), source, ratio)
        sx, sy = self._subject.center
        end = fitted(sx / source[0], sy / source[1], END_WIDTH * start.width, source, ratio)
        self._active = 1
        self._emit((start, end), False)

    def add_middle(self) -> None:
        """M halfway along the path between A and B (so adding it changes nothing until it is moved)."""
        if len(self._keys) != 2:
            return
        x, y, w = framing_path(self._keys, np.array([0.5]), False)[0]
        assert self._source_size is not None
        middle = fitted(x, y, w, self._source_size, self.ratio())
        self._active = 1
        self._emit((self._keys[0], middle, self._keys[1]), False)

    def remove_middle(self) -> None:
        if len(self._keys) == 3:
            self._active = 1
            self._emit((self._keys[0], self._keys[2]), False)

    def clear_keyframes(self) -> None:
        if self._keys:
            self._emit((), False)

    def _emit(self, keys: tuple[Framing, ...], continuous: bool) -> None:
        if keys == self._keys:
            return
        self._keys = keys
        self._refresh()
        self.keyframesChanged.emit(keys, continuous)

    def _replace(self, index: int, key: Framing) -> None:
        self._emit(self._keys[:index] + (key,) + self._keys[index + 1:], True)

    # -- interaction ---------------------------------------------------------------------------

    def _to_source(self, point: QPointF) -> tuple[float, float]:
        assert self._source_size is not None
        photo = self.photo_rect()
        return ((point.x() - photo.x()) / photo.width() * self._source_size[0],
                (point.y() - photo.y()) / photo.height() * self._source_size[1])

    def _rect(self, box: Box) -> QRectF:
        assert self._source_size is not None
        photo = self.photo_rect()
        sx, sy = photo.width() / self._source_size[0], photo.height() / self._source_size[1]
        return QRectF(photo.x() + box.x * sx, photo.y() + box.y * sy, box.w * sx, box.h * sy)

    def hit(self, point: QPointF) -> tuple[int, str] | None:
        """The framing under `point` and what a press there does: "move", or a corner to resize by.
        Corners first, then the active framing, then the others from the top (the end) down."""
        order = [self._active] + [i for i in reversed(range(len(self._keys))) if i != self._active]
        for index in order:
            rect = self._rect(self.box_of(index))
            for corner, at in (("tl", rect.topLeft()), ("tr", rect.topRight()),
                               ("bl", rect.bottomLeft()), ("br", rect.bottomRight())):
                if abs(point.x() - at.x()) <= HANDLE_PX and abs(point.y() - at.y()) <= HANDLE_PX:
                    return index, corner
        for index in order:
            if self._rect(self.box_of(index)).contains(point):
                return index, "move"
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if not self.editing():
            super().mousePressEvent(event)
            return
        found = self.hit(event.position()) if event.button() == Qt.MouseButton.LeftButton else None
        if found is None:
            event.ignore()
            return
        index, what = found
        self._active = index
        self._grab = (index, what, event.position(), self._keys[index])
        self.setCursor(Qt.CursorShape.ClosedHandCursor if what == "move" else Qt.CursorShape.SizeFDiagCursor)
        self.update()
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if not self.editing() or self._grab is None:
            super().mouseMoveEvent(event)
            return
        index, what, press, then = self._grab
        assert self._source_size is not None
        source, ratio = self._source_size, self.ratio()
        if what == "move":
            photo = self.photo_rect()
            delta = event.position() - press
            key = fitted(then.x + delta.x() / photo.width(), then.y + delta.y() / photo.height(), then.width,
                         source, ratio)
        else:
            key = self._resized(then, what, self._to_source(event.position()))
        self._replace(index, key)
        event.accept()

    def _resized(self, then: Framing, corner: str, mouse: tuple[float, float]) -> Framing:
        """The framing `then` resized by dragging `corner` to `mouse` (source pixels): the opposite
        corner stays where it was, the aspect is kept, and the box stays inside the photo."""
        assert self._source_size is not None
        source, ratio = self._source_size, self.ratio()
        box = framing_box(then.x, then.y, then.width, source, ratio)
        dx = 1.0 if corner[1] == "r" else -1.0
        dy = 1.0 if corner[0] == "b" else -1.0
        ax = box.x if dx > 0 else box.x + box.w  # the anchored corner
        ay = box.y if dy > 0 else box.y + box.h
        # Room from the anchor to the photo's edge, in the direction the corner pulls.
        room = min(source[0] - ax if dx > 0 else ax, (source[1] - ay if dy > 0 else ay) * ratio)
        wanted = max((mouse[0] - ax) * dx, (mouse[1] - ay) * dy * ratio)
        full = full_width(source, ratio)
        w = min(max(wanted, MIN_WIDTH * full), room, full)
        if w < MIN_WIDTH * full:  # the anchor is too near the edge for the smallest box: keep the size
            return then
        h = w / ratio
        return fitted((ax + dx * w / 2) / source[0], (ay + dy * h / 2) / source[1], w / full, source, ratio)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self.editing() and self._grab is not None and event.button() == Qt.MouseButton.LeftButton:
            self._grab = None
            self._refresh()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self.editing():
            event.accept()  # not "back to automatic": that is the single crop's gesture
            return
        super().mouseDoubleClickEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        """The wheel over a framing (else the active one) resizes it about its centre."""
        if not self.editing() or self._source_size is None or event.angleDelta().y() == 0:
            super().wheelEvent(event)
            return
        found = self.hit(event.position())
        index = found[0] if found is not None else self._active
        self._active = index
        key = self._keys[index]
        notches = event.angleDelta().y() / 120.0
        self._replace(index, fitted(key.x, key.y, key.width * WHEEL_STEP ** -notches, self._source_size,
                                    self.ratio()))
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Arrows nudge the selected framing; 1, 2 (and 3) select A, B (or A, M, B)."""
        if not self.editing() or self._source_size is None:
            super().keyPressEvent(event)
            return
        digit = int(event.key()) - int(Qt.Key.Key_1.value)
        if 0 <= digit < len(self._keys):
            self._active = digit
            self.update()
            event.accept()
            return
        step = ARROWS.get(event.key())
        if step is None:
            super().keyPressEvent(event)
            return
        amount = self.BIG_NUDGE if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else self.NUDGE
        key = self._keys[self._active]
        self._replace(self._active, fitted(key.x + step[0] * amount, key.y + step[1] * amount, key.width,
                                           self._source_size, self.ratio()))
        event.accept()

    # -- drawing -------------------------------------------------------------------------------

    def _refresh(self) -> None:
        super()._refresh()
        if getattr(self, "_keys", ()) and self._allowed and self.crop_box() is not None:
            self._auto.hide()  # "back to the subject" is the single crop's
            if self._grab is None:
                self.setCursor(Qt.CursorShape.OpenHandCursor)
            self.setToolTip(f"{KEY_HINT}.\nArrow keys nudge the selected one (Shift: ten times further); "
                            "1, 2, 3 select them in order.")

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self.editing():
            super().paintEvent(event)
            return
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Window))
        pixmap = self._scaled_pixmap(self.photo_rect())
        if pixmap is not None:
            photo = self.photo_rect()
            painter.drawPixmap(photo.topLeft(), pixmap)
            painter.fillRect(photo, QColor(0, 0, 0, 90))  # dimmed: the outlines are what matter here
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            faint = QPen(QColor(255, 255, 255, 80), 1)
            faint.setCosmetic(True)
            painter.setPen(faint)
            for box in self.path_boxes():
                painter.drawRect(self._rect(box))
            labels = names(len(self._keys))
            # The active framing last, so it lies on top of the others.
            for index in [i for i in range(len(self._keys)) if i != self._active] + [self._active]:
                self._paint_key(painter, self._rect(self.box_of(index)).adjusted(0.75, 0.75, -0.75, -0.75),
                                labels[index], index == self._active)
        if self.hasFocus():
            painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Highlight), 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(self.rect()).adjusted(1, 1, -1, -1))
        painter.end()

    def _paint_key(self, painter: QPainter, frame: QRectF, label: str, active: bool) -> None:
        colour = COLOURS[label]
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor(0, 0, 0, 110), 3.5))
        painter.drawRect(frame)
        painter.setPen(QPen(colour, 2.0 if active else 1.25))
        painter.drawRect(frame)
        if active:
            self._paint_handles(painter, frame)
        tag = QRectF(frame.left(), frame.top(), 18, 18)
        painter.fillRect(tag, colour)
        painter.setPen(QColor(0, 0, 0))
        painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, label)
