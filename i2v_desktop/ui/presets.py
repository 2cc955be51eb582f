"""Choosing the camera motion: one card per preset, with a drawn icon, and how strongly to apply it.

Icons are painted with QPainter rather than loaded from files so that they take the theme's text
colour (light and dark alike), stay crisp at any device pixel ratio, and can animate on hover to
show the motion they stand for. A user's own preset gets a generic icon.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from PySide6.QtCore import (
    QElapsedTimer,
    QEvent,
    QModelIndex,
    QObject,
    QPointF,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QIcon,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPixmap,
    QPolygonF,
    QRadialGradient,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QSlider,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from ..core.presets import MotionPreset

ICON_SIZE = 36  # logical pixels
PERIOD_MS = 1400  # one cycle of the hover animation: slow enough to read as "gentle"
FRAME_MS = 33  # ~30 fps, and only while a card is hovered
_ID_ROLE = Qt.ItemDataRole.UserRole + 1
_CARD = QSize(100, 84)
_GRID = QSize(106, 90)
# Thirds, as core.presets picks its prompt words ("gently" / "clearly" / "strongly") from the
# intensity: the label names the same band the model will be told.
_LEVELS = ("Gentle", "Medium", "Strong")


def intensity_word(value: int) -> str:
    """The word for a slider value 0..100: Gentle below 34, Medium to 66, Strong from 67."""
    return _LEVELS[min(int(value / 100 * len(_LEVELS)), len(_LEVELS) - 1)]


# -- icons ---------------------------------------------------------------------------------------
# Each painter draws on a 48 x 48 grid in `color`. `phase` (0..1) is the position in the hover
# animation; phase 0 is the resting icon, so a card looks the same before and after a hover.


def _pen(color: QColor, width: float = 2.6, alpha: float = 1.0) -> QPen:
    c = QColor(color)
    c.setAlphaF(c.alphaF() * alpha)
    pen = QPen(c, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def _drift(phase: float) -> tuple[float, float]:
    """(offset -0.5..0.5, opacity) for a part that travels along its path and fades at the ends.

    Phase 0 is the middle of the path at full opacity (the resting icon); the jump back to the
    start happens while the part is nearly transparent, so the loop has no visible seam.
    """
    u = (phase + 0.5) % 1.0
    return u - 0.5, 0.15 + 0.85 * math.sin(math.pi * u)


def _arrow(p: QPainter, start: QPointF, tip: QPointF, pen: QPen, head: float = 6.0) -> None:
    p.setPen(pen)
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawLine(start, tip)
    d = tip - start
    length = math.hypot(d.x(), d.y()) or 1.0
    ux, uy = d.x() / length, d.y() / length
    for sign in (1, -1):
        angle = math.radians(35) * sign
        bx = -(ux * math.cos(angle) - uy * math.sin(angle))
        by = -(ux * math.sin(angle) + uy * math.cos(angle))
        p.drawLine(tip, QPointF(tip.x() + bx * head, tip.y() + by * head))


def _arrowhead(p: QPainter, tip: QPointF, ux: float, uy: float, color: QColor, size: float = 6.5) -> None:
    """A filled triangle pointing along (ux, uy): for arrows whose shaft is a curve."""
    nx, ny = -uy, ux
    back = QPointF(tip.x() - ux * size, tip.y() - uy * size)
    tri = QPolygonF(
        [
            tip,
            QPointF(back.x() + nx * size * 0.55, back.y() + ny * size * 0.55),
            QPointF(back.x() - nx * size * 0.55, back.y() - ny * size * 0.55),
        ]
    )
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(color)
    p.drawPolygon(tri)


def _frame(p: QPainter, rect: QRectF, color: QColor, width: float = 2.2) -> None:
    p.setPen(_pen(color, width))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawRoundedRect(rect, 2.5, 2.5)


def _zoom(p: QPainter, color: QColor, phase: float, inward: bool) -> None:
    """A small frame with four diagonal arrows: converging on it (push in) or leaving it (pull out)."""
    _frame(p, QRectF(17, 19.5, 14, 9), color)
    offset, alpha = _drift(phase)
    pen = _pen(color, alpha=alpha)
    for dx, dy in ((-1, -1), (1, -1), (-1, 1), (1, 1)):
        near = QPointF(24 + dx * 10.5, 24 + dy * 8.5)
        far = QPointF(24 + dx * 20, 24 + dy * 18)
        step = QPointF(dx * 5 * offset, dy * 5 * offset)
        if inward:
            _arrow(p, far - step, near - step, pen, head=5.5)
        else:
            _arrow(p, near + step, far + step, pen, head=5.5)


def _pan(p: QPainter, color: QColor, phase: float, direction: int) -> None:
    _frame(p, QRectF(5, 11, 38, 26), color)
    offset, alpha = _drift(phase)
    shift = direction * 8 * offset
    tail, tip = QPointF(24 - direction * 9 + shift, 24), QPointF(24 + direction * 9 + shift, 24)
    _arrow(p, tail, tip, _pen(color, alpha=alpha))


def _tilt_up(p: QPainter, color: QColor, phase: float) -> None:
    _frame(p, QRectF(11, 5, 26, 38), color)
    offset, alpha = _drift(phase)
    shift = -8 * offset
    _arrow(p, QPointF(24, 33 + shift), QPointF(24, 15 + shift), _pen(color, alpha=alpha))


def _orbit(p: QPainter, color: QColor, phase: float) -> None:
    """A ring around a ball (the subject), passing behind it, with an arrowhead travelling round."""
    cx, cy, rx, ry = 24.0, 29.0, 20.0, 9.5
    ball, radius = QPointF(cx, cy - 8.0), 7.0
    p.setPen(_pen(color, 2.2))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawEllipse(QPointF(cx, cy), rx, ry)
    # A gap in the ring's far side around the ball: the ring goes behind the subject.
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(0, 0, 0))
    p.drawEllipse(ball, radius + 2.5, radius + 2.5)
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
    p.setBrush(color)
    p.drawEllipse(ball, radius, radius)
    t = math.radians(60) + 2 * math.pi * phase  # front right at rest, moving left across the front
    x, y = cx + rx * math.cos(t), cy + ry * math.sin(t)
    dx, dy = -rx * math.sin(t), ry * math.cos(t)
    n = math.hypot(dx, dy) or 1.0
    _arrowhead(p, QPointF(x, y), dx / n, dy / n, color, size=7.5)


def _turntable(p: QPainter, color: QColor, phase: float) -> None:
    """A box on a round platform; the box turns (a quarter turn per cycle: the loop is seamless)."""
    cx, base, radius, height = 24.0, 34.0, 12.0, 16.0
    p.setPen(_pen(color, 2.0))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawEllipse(QPointF(cx, base + 1), 19.0, 7.0)
    angle = math.radians(20) + phase * math.pi / 2
    thetas = [angle + k * math.pi / 2 for k in range(4)]
    bottom = [QPointF(cx + radius * math.cos(t), base + radius * 0.35 * math.sin(t)) for t in thetas]
    top = [QPointF(pt.x(), pt.y() - height) for pt in bottom]
    # Clear the box's silhouette first: the platform's far rim must not show through the box.
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(0, 0, 0))
    for k in range(4):
        p.drawPolygon(QPolygonF([bottom[k], bottom[(k + 1) % 4], top[(k + 1) % 4], top[k]]))
    p.drawPolygon(QPolygonF(top))
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
    hidden = min(range(4), key=lambda k: math.sin(thetas[k]))  # the far corner's edges
    p.setPen(_pen(color, 2.2))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawPolygon(QPolygonF(top))
    for k in range(4):
        if k != hidden:
            p.drawLine(bottom[k], top[k])
            if (k + 1) % 4 != hidden:
                p.drawLine(bottom[k], bottom[(k + 1) % 4])
    _arrowhead(p, QPointF(cx - 10, base + 7.0), -1.0, -0.25, color, size=6.0)


def _wind(p: QPainter, color: QColor, phase: float) -> None:
    """Three wavy lines whose waves travel with the phase."""
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.setPen(_pen(color, 2.4))
    for y, x0, x1 in ((14.0, 8.0, 38.0), (24.0, 12.0, 42.0), (34.0, 6.0, 32.0)):
        path = QPainterPath()
        steps = 24
        for i in range(steps + 1):
            x = x0 + (x1 - x0) * i / steps
            yy = y + 2.6 * math.sin(2 * math.pi * (x / 15.0 - phase))
            if i == 0:
                path.moveTo(x, yy)
            else:
                path.lineTo(x, yy)
        p.drawPath(path)


def _static(p: QPainter, color: QColor, phase: float) -> None:
    """A camera on a tripod; its record light blinks slowly on hover (the scene moves, not it)."""
    p.setPen(_pen(color, 2.2))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawRoundedRect(QRectF(10, 8, 22, 14), 2.5, 2.5)
    p.drawPolygon(QPolygonF([QPointF(32, 13), QPointF(39, 9.5), QPointF(39, 20.5), QPointF(32, 17)]))
    head = QPointF(21, 25)
    p.drawLine(QPointF(21, 22), head)
    for foot in (QPointF(9, 42), QPointF(21, 42), QPointF(33, 42)):
        p.drawLine(head, foot)
    light = QColor(color)
    light.setAlphaF(light.alphaF() * (0.55 + 0.45 * math.cos(2 * math.pi * phase)))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(light)
    p.drawEllipse(QPointF(15.5, 15), 2.4, 2.4)


def _subtle(p: QPainter, color: QColor, phase: float) -> None:
    """A small soft circle that breathes on hover."""
    radius = 11.0 * (1.0 + 0.14 * math.sin(2 * math.pi * phase))
    gradient = QRadialGradient(QPointF(24, 24), radius)
    for stop, alpha in ((0.0, 0.95), (0.55, 0.6), (1.0, 0.0)):
        c = QColor(color)
        c.setAlphaF(c.alphaF() * alpha)
        gradient.setColorAt(stop, c)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(gradient)
    p.drawEllipse(QPointF(24, 24), radius, radius)
    p.setPen(_pen(color, 1.6, alpha=0.45))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawEllipse(QPointF(24, 24), 16.5, 16.5)


def _generic(p: QPainter, color: QColor, phase: float) -> None:
    """A frame with a four-pointed sparkle: "some motion" for a preset we know nothing about."""
    _frame(p, QRectF(6, 10, 36, 28), color)
    scale = 1.0 + 0.18 * math.sin(2 * math.pi * phase)
    r, w = 9.0 * scale, 2.4 * scale
    star = QPolygonF()
    for k in range(8):
        t = k * math.pi / 4 - math.pi / 2
        d = r if k % 2 == 0 else w
        star.append(QPointF(24 + d * math.cos(t), 24 + d * math.sin(t)))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(color)
    p.drawPolygon(star)


_PAINTERS: dict[str, Callable[[QPainter, QColor, float], None]] = {
    "push-in": lambda p, c, t: _zoom(p, c, t, inward=True),
    "pull-out": lambda p, c, t: _zoom(p, c, t, inward=False),
    "pan-left": lambda p, c, t: _pan(p, c, t, -1),
    "pan-right": lambda p, c, t: _pan(p, c, t, 1),
    "tilt-up": _tilt_up,
    "orbit": _orbit,
    "turntable": _turntable,
    "wind": _wind,
    "static": _static,
    "subtle": _subtle,
}


def motion_icon(preset_id: str, size: int, color: QColor, dpr: float = 1.0, phase: float = 0.0) -> QPixmap:
    """The icon for `preset_id`, `size` logical pixels square, drawn in `color` at `dpr`.

    `phase` (0..1) is the moment in the hover animation; 0 is the resting icon.
    """
    pixmap = QPixmap(max(1, round(size * dpr)), max(1, round(size * dpr)))
    pixmap.setDevicePixelRatio(dpr)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(size / 48.0, size / 48.0)
    _PAINTERS.get(preset_id, _generic)(painter, color, phase % 1.0)
    painter.end()
    return pixmap


# -- cards ---------------------------------------------------------------------------------------


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    return QColor.fromRgbF(
        a.redF() + (b.redF() - a.redF()) * t,
        a.greenF() + (b.greenF() - a.greenF()) * t,
        a.blueF() + (b.blueF() - a.blueF()) * t,
    )


class _CardDelegate(QStyledItemDelegate):
    """Paints a preset as a rounded card: icon over name, outlined in the highlight when chosen."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return _CARD

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = option.palette
        state = option.state
        base = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.Text)
        highlight = palette.color(QPalette.ColorRole.Highlight)
        selected = bool(state & QStyle.StateFlag.State_Selected)
        hovered = bool(state & QStyle.StateFlag.State_MouseOver)
        fill = _mix(base, highlight, 0.16) if selected else _mix(base, text, 0.06) if hovered else base
        border = highlight if selected else _mix(base, text, 0.22)
        rect = QRectF(option.rect).adjusted(2, 2, -2, -2)
        painter.setPen(QPen(border, 2.0 if selected else 1.0))
        painter.setBrush(fill)
        painter.drawRoundedRect(rect, 8, 8)
        if selected and state & QStyle.StateFlag.State_HasFocus:
            # Keyboard focus: a second, inner ring, so arrow-key users can see where they are.
            painter.setPen(QPen(highlight, 1.0, Qt.PenStyle.DotLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect.adjusted(3.5, 3.5, -3.5, -3.5), 5, 5)
        icon = index.data(Qt.ItemDataRole.DecorationRole)
        top = rect.top() + 9
        if isinstance(icon, QIcon):
            icon_rect = QRectF(rect.center().x() - ICON_SIZE / 2, top, ICON_SIZE, ICON_SIZE)
            icon.paint(painter, icon_rect.toRect())
        font = painter.font()
        font.setBold(selected)
        painter.setFont(font)
        painter.setPen(text)
        text_top = top + ICON_SIZE + 5
        text_rect = QRectF(rect.left() + 4, text_top, rect.width() - 8, rect.bottom() - text_top - 2)
        name = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        flags = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap
        painter.drawText(text_rect, int(flags), name)
        painter.restore()


class PresetPicker(QWidget):
    """Motion preset cards plus an intensity slider.

    `presetChanged(str)` and `intensityChanged(float)` are emitted once per change made in the
    widget (a click, an arrow key, the slider), never by the setters: a window that mirrors its
    state into the picker cannot start a signal loop.
    """

    presetChanged = Signal(str)
    intensityChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._presets: dict[str, MotionPreset] = {}
        self._items: dict[str, QListWidgetItem] = {}
        self._icons: dict[str, QPixmap] = {}  # the pixmap each card shows right now
        self._current = ""
        self._updating = False  # set while the setters change the list: its signals are not the user's
        self._hover: str | None = None
        self._clock = QElapsedTimer()
        self._timer = QTimer(self)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self._animate)

        cards = QListWidget(self)
        cards.setViewMode(QListView.ViewMode.IconMode)
        cards.setMovement(QListView.Movement.Static)
        cards.setResizeMode(QListView.ResizeMode.Adjust)
        cards.setWrapping(True)
        cards.setUniformItemSizes(True)
        cards.setGridSize(_GRID)
        cards.setIconSize(QSize(ICON_SIZE, ICON_SIZE))
        cards.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        cards.setDragEnabled(False)
        cards.setMouseTracking(True)
        cards.setFrameShape(QFrame.Shape.NoFrame)
        cards.viewport().setBackgroundRole(QPalette.ColorRole.Window)
        cards.setItemDelegate(_CardDelegate(cards))
        cards.setAccessibleName("Camera motion")
        cards.setAccessibleDescription("Choose how the camera moves; arrow keys move between presets.")
        cards.currentItemChanged.connect(self._on_current_item)
        cards.viewport().installEventFilter(self)
        cards.installEventFilter(self)
        self._cards = cards

        slider = QSlider(Qt.Orientation.Horizontal, self)
        slider.setRange(0, 100)
        slider.setSingleStep(1)
        slider.setPageStep(10)
        slider.setValue(50)
        slider.setToolTip(
            "How strongly the motion is applied: gentle (0–33), medium (34–66) or strong (67–100)"
        )
        slider.setAccessibleName("Motion intensity")
        slider.valueChanged.connect(self._on_slider)
        self._slider = slider
        caption = QLabel("&Intensity", self)
        caption.setBuddy(slider)
        self._value_label = QLabel(self)
        self._value_label.setMinimumWidth(self._value_label.fontMetrics().horizontalAdvance("Strong 100") + 4)
        self._value_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._value_label.setToolTip(slider.toolTip())

        row = QHBoxLayout()
        row.setContentsMargins(6, 0, 6, 4)
        row.addWidget(caption)
        row.addWidget(slider, 1)
        row.addWidget(self._value_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(cards, 1)
        layout.addLayout(row)
        self._show_intensity()

    # -- presets -------------------------------------------------------------------------------

    def set_presets(self, presets: Sequence[MotionPreset]) -> None:
        """Show these presets, in this order. Does not emit.

        The current preset stays if it is still there; otherwise the first becomes current (read
        it back with `current()`).
        """
        self._set_hover(None)
        self._updating = True
        try:
            self._cards.clear()
            self._presets = {p.id: p for p in presets}
            self._items = {}
            for preset in presets:
                item = QListWidgetItem(preset.name)
                item.setData(_ID_ROLE, preset.id)
                item.setToolTip(preset.description)
                item.setData(Qt.ItemDataRole.AccessibleTextRole, preset.name)
                item.setData(Qt.ItemDataRole.AccessibleDescriptionRole, preset.description)
                item.setSizeHint(_CARD)
                self._cards.addItem(item)
                self._items[preset.id] = item
            self._draw_icons()
            if self._current not in self._items:
                self._current = next(iter(self._items), "")
            if self._current:
                self._cards.setCurrentItem(self._items[self._current])
        finally:
            self._updating = False

    def set_current(self, preset_id: str) -> None:
        """Make `preset_id` the chosen preset. Does not emit."""
        if preset_id not in self._items:
            raise ValueError(f"unknown motion preset {preset_id!r} (shown: {', '.join(self._items)})")
        self._current = preset_id
        self._updating = True
        try:
            self._cards.setCurrentItem(self._items[preset_id])
            self._cards.scrollToItem(self._items[preset_id])
        finally:
            self._updating = False

    def current(self) -> str:
        """The chosen preset's id ("" while there are no presets)."""
        return self._current

    def _on_current_item(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if self._updating or item is None:
            return
        preset_id = str(item.data(_ID_ROLE))
        if preset_id == self._current:
            return
        self._current = preset_id
        self.presetChanged.emit(preset_id)

    # -- intensity -----------------------------------------------------------------------------

    def intensity(self) -> float:
        """0..1, in steps of 0.01."""
        return self._slider.value() / 100.0

    def set_intensity(self, value: float) -> None:
        """Set the slider (0..1, rounded to a hundredth). Does not emit."""
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"intensity must be between 0 and 1, got {value!r}")
        self._updating = True
        try:
            self._slider.setValue(round(value * 100))
        finally:
            self._updating = False
        self._show_intensity()

    def _on_slider(self, value: int) -> None:
        self._show_intensity()
        if not self._updating:
            self.intensityChanged.emit(value / 100.0)

    def _show_intensity(self) -> None:
        value = self._slider.value()
        text = f"{intensity_word(value)} {value}"
        self._value_label.setText(text)
        self._slider.setAccessibleDescription(text)

    # -- icons ---------------------------------------------------------------------------------

    def card_icon(self, preset_id: str) -> QPixmap:
        """The icon `preset_id`'s card shows right now (an animation frame while it is hovered)."""
        return self._icons[preset_id]

    def hovered(self) -> str | None:
        """The preset whose card is under the mouse (and animating), if any."""
        return self._hover

    def is_animating(self) -> bool:
        """Whether the hover timer runs: it must not while nothing is hovered (idle CPU)."""
        return self._timer.isActive()

    def _icon(self, preset_id: str, phase: float = 0.0) -> QPixmap:
        # Our own palette: a PaletteChange reaches this widget before its children are updated.
        color = self.palette().color(QPalette.ColorRole.Text)
        return motion_icon(preset_id, ICON_SIZE, color, self.devicePixelRatioF(), phase)

    def _show_icon(self, preset_id: str, pixmap: QPixmap) -> None:
        self._icons[preset_id] = pixmap
        self._items[preset_id].setIcon(QIcon(pixmap))

    def _draw_icons(self) -> None:
        for preset_id in self._items:
            self._show_icon(preset_id, self._icon(preset_id))

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        # Icons are drawn in the theme's text colour at the screen's pixel ratio: redraw when
        # either changes (a light/dark switch, a window moved to another monitor).
        redraw = {QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange, QEvent.Type.StyleChange}
        if hasattr(QEvent.Type, "DevicePixelRatioChange"):
            redraw.add(QEvent.Type.DevicePixelRatioChange)
        if event.type() in redraw and self._items:
            self._draw_icons()

    # -- hover animation -----------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and watched is self._cards:
            self._fit_grid()
        if watched is self._cards.viewport():
            kind = event.type()
            if kind in (QEvent.Type.MouseMove, QEvent.Type.HoverMove, QEvent.Type.Enter):
                pos = getattr(event, "position", None)
                item = self._cards.itemAt(pos().toPoint()) if pos is not None else None
                self._set_hover(None if item is None else str(item.data(_ID_ROLE)))
            elif kind in (QEvent.Type.Leave, QEvent.Type.HoverLeave, QEvent.Type.Hide):
                self._set_hover(None)
        return super().eventFilter(watched, event)

    def _fit_grid(self) -> None:
        """Widen the grid cells so the columns fill the width: the cards sit spread, not bunched left.

        Measured as if the scroll bar were always there: then its coming and going cannot change
        the cells, the rows and, through them, the need for a scroll bar (a layout loop).
        """
        scrollbar = self._cards.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        width = self._cards.contentsRect().width() - scrollbar - 1
        columns = max(1, width // _GRID.width())
        cell = QSize(max(_GRID.width(), width // columns), _GRID.height())
        if cell != self._cards.gridSize():
            self._cards.setGridSize(cell)

    def hideEvent(self, event: QEvent) -> None:
        self._set_hover(None)
        super().hideEvent(event)

    def _set_hover(self, preset_id: str | None) -> None:
        if preset_id == self._hover:
            return
        if self._hover is not None and self._hover in self._items:
            self._show_icon(self._hover, self._icon(self._hover))  # back to the resting icon
        self._hover = preset_id
        if preset_id is None:
            self._timer.stop()
        else:
            self._clock.start()
            self._timer.start()

    def _animate(self) -> None:
        if self._hover is None or self._hover not in self._items:
            self._timer.stop()
            return
        # From the clock, not a frame count: a late timer slows nothing down.
        phase = (self._clock.elapsed() % PERIOD_MS) / PERIOD_MS
        self._show_icon(self._hover, self._icon(self._hover, phase))
