"""Choosing the camera motion: a compact grid of cards, each a drawn icon beside the preset's
name, all on show at once, and how strongly to apply the motion. The icons are painted in
motion_icons.py; they animate while a card is hovered."""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6.QtCore import QElapsedTimer, QEvent, QModelIndex, QObject, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontMetrics, QIcon, QPainter, QPalette, QPen, QPixmap
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
from .motion_icons import motion_icon
from .theme import mix

ICON_SIZE = 24  # logical pixels
PERIOD_MS = 1400  # one cycle of the hover animation: slow enough to read as "gentle"
FRAME_MS = 33  # ~30 fps, and only while a card is hovered
_ID_ROLE = Qt.ItemDataRole.UserRole + 1
_CARD_HEIGHT = 36
_PAD = 7  # inside a card: left of the icon, between icon and name, right of the name
# The moves creators reach for most, first; the others follow in the library's order.
FIRST = ("orbit", "push-in", "wind")
# Thirds, as core.presets picks its prompt words ("gently" / "clearly" / "strongly") from the
# intensity: the label names the same band the model will be told.
_LEVELS = ("Gentle", "Medium", "Strong")

def intensity_word(value: int) -> str:
    """The word for a slider value 0..100: Gentle below 34, Medium to 66, Strong from 67."""
    return _LEVELS[min(int(value / 100 * len(_LEVELS)), len(_LEVELS) - 1)]


def ordered(presets: Sequence[MotionPreset]) -> list[MotionPreset]:
    """FIRST's presets first, in that order; the rest as given."""
    rank = {preset_id: n for n, preset_id in enumerate(FIRST)}
    return sorted(presets, key=lambda p: rank.get(p.id, len(FIRST)))


# -- cards ---------------------------------------------------------------------------------------


def _bold(font: QFont) -> QFont:
    bold = QFont(font)
    bold.setBold(True)
    return bold


class _CardDelegate(QStyledItemDelegate):
    """Paints a preset as a small rounded card, icon left of the name, outlined in the highlight and
    named in bold when chosen."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        view = self.parent()
        if isinstance(view, QListView) and view.gridSize().isValid():
            return view.gridSize()  # a card fills its cell: the columns sit edge to edge
        name = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        return QSize(card_width(option.font, [name]), _CARD_HEIGHT)

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
        fill = mix(base, highlight, 0.18) if selected else mix(base, text, 0.06) if hovered else base
        border = highlight if selected else mix(base, text, 0.25)
        rect = QRectF(option.rect).adjusted(2, 2, -2, -2)
        painter.setPen(QPen(border, 2.0 if selected else 1.0))
        painter.setBrush(fill)
        painter.drawRoundedRect(rect, 6, 6)
        if selected and state & QStyle.StateFlag.State_HasFocus:
            # Keyboard focus: a second, inner ring, so arrow-key users can see where they are.
            painter.setPen(QPen(highlight, 1.0, Qt.PenStyle.DotLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect.adjusted(3, 3, -3, -3), 4, 4)
        icon = index.data(Qt.ItemDataRole.DecorationRole)
        left = rect.left() + _PAD
        if isinstance(icon, QIcon):
            top = rect.center().y() - ICON_SIZE / 2
            icon.paint(painter, QRectF(left, top, ICON_SIZE, ICON_SIZE).toRect())
        font = _bold(option.font) if selected else QFont(option.font)
        painter.setFont(font)
        painter.setPen(text)
        text_rect = QRectF(left + ICON_SIZE + _PAD, rect.top(), rect.right() - _PAD - left - ICON_SIZE - _PAD,
                           rect.height())
        name = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        # Cards are sized for the widest name in bold: eliding only guards against a font change.
        shown = QFontMetrics(font).elidedText(name, Qt.TextElideMode.ElideRight, int(text_rect.width()))
        painter.drawText(text_rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), shown)
        painter.restore()


def card_width(font: QFont, names: Sequence[str]) -> int:
    """The narrowest card that shows each of `names` whole, in bold (as the chosen card shows it)."""
    metrics = QFontMetrics(_bold(font))
    widest = max((metrics.horizontalAdvance(name) for name in names), default=0)
    return 4 + _PAD + ICON_SIZE + _PAD + widest + _PAD + 2


class PresetPicker(QWidget):
    """Motion preset cards plus an intensity slider. The grid is as tall as its rows: every card
    is on show, whatever the width (the panel around it scrolls when the screen is short).

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
        cards.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        cards.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
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
        """Show these presets: FIRST's first, then the others in this order. Does not emit.

        The current preset stays if it is still there; otherwise the first becomes current (read
        it back with `current()`).
        """
        self._set_hover(None)
        self._updating = True
        try:
            self._cards.clear()
            self._presets = {p.id: p for p in presets}
            self._items = {}
            for preset in ordered(presets):
                item = QListWidgetItem(preset.name)
                item.setData(_ID_ROLE, preset.id)
                item.setToolTip(preset.description)
                item.setData(Qt.ItemDataRole.AccessibleTextRole, preset.name)
                item.setData(Qt.ItemDataRole.AccessibleDescriptionRole, preset.description)
                self._cards.addItem(item)
                self._items[preset.id] = item
            self._draw_icons()
            if self._current not in self._items:
                self._current = next(iter(self._items), "")
            if self._current:
                self._cards.setCurrentItem(self._items[self._current])
        finally:
            self._updating = False
        self._fit_grid()
        self.updateGeometry()

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

    def _card_width(self) -> int:
        return card_width(self._cards.font(), [preset.name for preset in self._presets.values()])

    def minimumSizeHint(self) -> QSize:
        """Two columns of cards at the least: ten presets in five rows."""
        hint = super().minimumSizeHint()
        two = 2 * self._card_width() + 2 * self._cards.frameWidth() + 1
        return QSize(max(hint.width(), two), hint.height())

    def _fit_grid(self) -> None:
        """As many columns as whole cards fit, widened to fill the width; as many rows as they need."""
        width = self._cards.contentsRect().width() - 1  # a row exactly as wide as the view wraps
        card = self._card_width()
        columns = max(1, width // card)
        cell = QSize(max(card, width // columns), _CARD_HEIGHT)
        if cell != self._cards.gridSize():
            self._cards.setGridSize(cell)
        rows = math.ceil(len(self._items) / columns)
        self._cards.setFixedHeight(rows * _CARD_HEIGHT + 2 * self._cards.frameWidth())

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
