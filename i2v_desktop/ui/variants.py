"""A strip of looping thumbnails, one card per clip: the variants of a photo, or the whole history.

The strip is a view over a model of clip entries: a photo with 500 clips costs 500 rows, not 500
widgets, and pixels only for the cards on screen. The delegate asks the thumbnail source for the
frames of each card it paints; the source reads what it lacks off the GUI thread and the strip is
told with `thumbs_arrived`. One timer repaints the visible cards while the strip is on screen.

Rows never move under the user: new clips join at one end and deletions only close the gap; the
order is chosen when the whole strip is filled (`set_entries`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QElapsedTimer, QPoint, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QContextMenuEvent, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QAbstractItemView, QApplication, QListView, QMenu, QVBoxLayout, QWidget

from .cards import CELL, CardDelegate, EntryRole, StripModel, card_parts, to_qimage
from .drag import start_clip_drag

SPACING = 4  # around each card: 8 px between two
MAX_SELECTED = 4  # clips compared at once
TICK_MS = 80  # thumbnails loop at 12.5 fps: smooth enough, cheap for the cards on screen
Thumbs = Callable[[Any], Any]  # an entry's frames if in memory, else None (and fetch them)


class _StripView(QListView):
    """The list view under the strip: clicks, the star, a drag out, keys and the context menu go to the strip."""

    def __init__(self, strip: VariantStrip) -> None:
        super().__init__(strip)
        self.strip = strip
        self._press: tuple[QPoint, str] | None = None
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setUniformItemSizes(True)
        self.setSpacing(SPACING)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setFrameShape(QListView.Shape.NoFrame)
        self.setMouseTracking(True)  # hover outlines
        self.horizontalScrollBar().setSingleStep(CELL.width() // 2)

    def _entry_at(self, pos: QPoint) -> Any | None:
        index = self.indexAt(pos)
        return index.data(EntryRole) if index.isValid() else None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        entry = self._entry_at(pos)
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if entry is None:
            return
        self.setCurrentIndex(self.indexAt(pos))
        if event.button() == Qt.MouseButton.LeftButton:
            if card_parts(self.visualRect(self.indexAt(pos)))[2].contains(pos):
                self.strip.set_starred(entry.id, not entry.starred, announce=True)
                return
            self._press = (pos, entry.id)
            extend = bool(event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier))
            self.strip.select(entry.id, extend)
        elif event.button() == Qt.MouseButton.RightButton and entry.id not in self.strip.selection:
            self.strip.select(entry.id)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._press is None or not event.buttons() & Qt.MouseButton.LeftButton:
            super().mouseMoveEvent(event)
            return
        start, entry_id = self._press
        if (event.position().toPoint() - start).manhattanLength() >= QApplication.startDragDistance():
            self._press = None
            entry = self.strip.entry(entry_id)
            frames = self.strip.thumbs(entry) if entry is not None else None
            if entry is not None:
                start_clip_drag(self, [Path(entry.mp4)], None if frames is None else to_qimage(frames[0]))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._press = None

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        entry = self._entry_at(event.position().toPoint())
        if entry is not None and event.button() == Qt.MouseButton.LeftButton:
            self.strip.activated.emit(entry.id)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, ctrl = event.key(), bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        rows = self.model().rowCount()
        current = self.currentIndex().row() if self.currentIndex().isValid() else -1
        target = None
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and current >= 0:
            self.strip.activated.emit(self.strip.model.entries[current].id)
            return
        if key == Qt.Key.Key_Home:
            target = 0
        elif key == Qt.Key.Key_End:
            target = rows - 1
        elif ctrl and key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            target = current + (1 if key == Qt.Key.Key_Right else -1) if current >= 0 else 0
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down):
            event.ignore()  # plain arrows are the player's (they step frames)
            return
        if target is None:
            super().keyPressEvent(event)
            return
        if 0 <= target < rows:
            self.setCurrentIndex(self.model().index(target))
            self.strip.select(self.strip.model.entries[target].id)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        if (menu := self.strip.context_menu(event.pos())) is not None:
            menu.exec(event.globalPos())
            menu.deleteLater()

    def paintEvent(self, event: QPaintEvent) -> None:
        if self.model().rowCount():
            super().paintEvent(event)
            return
        painter = QPainter(self.viewport())
        painter.setPen(self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text))
        painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter, self.strip.empty_text)


class VariantStrip(QWidget):
    """Cards side by side; a selection of up to four (play one, compare two to four).

    `label(entry)` and `tip(entry)` give a card's caption and tooltip; `thumbs(entry)` its frames
    when they are in memory (else None, and they are fetched: see `thumbs_arrived`); `is_final(entry)`
    whether it wears the "final" badge.
    """

    selectionChanged = Signal(list)  # entry ids, most recent last
    activated = Signal(str)  # double-click or Return: play it
    starToggled = Signal(str, bool)

    def __init__(self, empty_text: str, *, label: Callable[[Any], str], tip: Callable[[Any], str] = lambda e: "",
                 thumbs: Thumbs = lambda e: None, is_final: Callable[[Any], bool] = lambda e: False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.empty_text = empty_text
        self.thumbs, self.is_final = thumbs, is_final
        self.selection: list[str] = []
        self.context_actions: list[Any] = []  # QActions shown on a right-click, for the selected clips
        self.model = StripModel(label, tip, self)
        self.view = _StripView(self)
        self.view.setModel(self.model)
        self.view.setItemDelegate(CardDelegate(self))
        self.setFocusProxy(self.view)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.setMinimumHeight(CELL.height() + 2 * SPACING + self.view.horizontalScrollBar().sizeHint().height() + 4)
        self._clock = QElapsedTimer()
        self._clock.start()
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self.view.viewport().update)

    # -- what it shows ------------------------------------------------------------------------

    def set_entries(self, entries: Sequence[Any]) -> None:
        """Every clip, in display order. Keeps the selection where it can."""
        self.model.reset(entries)
        kept = [entry_id for entry_id in self.selection if self.model.row(entry_id) is not None]
        self._set_selection(kept, force=kept != self.selection)
        self._sync_timer()

    def prepend(self, entry: Any) -> None:
        """A new clip at the front (the history: newest first); the cards on screen stay put."""
        self.insert(0, entry)

    def insert(self, position: int, entry: Any) -> None:
        """A clip back where it was (a delete undone); the cards on screen stay put."""
        self._keeping_view(lambda: self.model.insert(min(position, len(self.model.entries)), entry))
        self._sync_timer()

    def append(self, entry: Any) -> None:
        """A new clip at the end: nothing moves under the user."""
        self.model.insert(len(self.model.entries), entry)
        self._sync_timer()

    def remove(self, entry_ids: Sequence[str]) -> None:
        """Take clips out; the cards on screen stay put, the gap closes."""
        self._keeping_view(lambda: [self.model.remove(entry_id) for entry_id in entry_ids])
        kept = [entry_id for entry_id in self.selection if self.model.row(entry_id) is not None]
        if kept != self.selection:
            self._set_selection(kept)
        self._sync_timer()

    def _keeping_view(self, change: Callable[[], None]) -> None:
        """Make a change without sliding the cards on screen: the first card in view stays where it
        is (unless scrolled to the very start, where the newest clip is what the user looks for)."""
        bar = self.view.horizontalScrollBar()
        anchor = self._first_in_view() if bar.value() else None
        x = self.card_rect(anchor).left() if anchor else 0
        change()
        self.view.doItemsLayout()
        if anchor and self.model.row(anchor) is not None:
            bar.setValue(bar.value() + self.card_rect(anchor).left() - x)
        self._sync_timer()

    def _first_in_view(self) -> str | None:
        middle = self.view.viewport().height() // 2
        for x in range(0, self.view.viewport().width(), SPACING):
            if (index := self.view.indexAt(QPoint(x, middle))).isValid():
                return index.data(EntryRole).id
        return None

    def thumbs_arrived(self, entry_ids: Sequence[str]) -> None:
        if any(self.model.row(entry_id) is not None for entry_id in entry_ids):
            self.view.viewport().update()

    def set_starred(self, entry_id: str, on: bool, *, announce: bool = False) -> None:
        """Show a star; `announce` when the user set it here (then `starToggled` follows)."""
        entry = self.entry(entry_id)
        if entry is None or entry.starred == on:
            return
        self.model.replace(replace(entry, starred=on))
        if announce:
            self.starToggled.emit(entry_id, on)

    def is_starred(self, entry_id: str) -> bool:
        return (entry := self.entry(entry_id)) is not None and entry.starred

    def entry(self, entry_id: str) -> Any | None:
        row = self.model.row(entry_id)
        return None if row is None else self.model.entries[row]

    def entries(self) -> list[Any]:
        """Every clip shown, in display order."""
        return list(self.model.entries)

    # -- selection ----------------------------------------------------------------------------

    def select(self, entry_id: str, extend: bool = False) -> None:
        """What a click does; `extend` (Ctrl/Shift) adds the clip to the selection, to compare up to
        four (the oldest drops out past four), or takes it out when it was in."""
        if extend and entry_id in self.selection and len(self.selection) > 1:
            selection = [e for e in self.selection if e != entry_id]
        elif extend and self.selection and entry_id not in self.selection:
            selection = [*self.selection, entry_id][-MAX_SELECTED:]
        else:
            selection = [entry_id]
        self._set_selection(selection)

    def selected_entries(self) -> list[Any]:
        return [entry for entry_id in self.selection if (entry := self.entry(entry_id)) is not None]

    def _set_selection(self, selection: list[str], force: bool = False) -> None:
        if selection == self.selection and not force:
            return
        self.selection = selection
        if selection and (row := self.model.row(selection[-1])) is not None:
            self.view.scrollTo(self.model.index(row), QAbstractItemView.ScrollHint.EnsureVisible)
        self.view.viewport().update()
        self.selectionChanged.emit(list(selection))

    def context_menu(self, pos: QPoint) -> QMenu | None:
        """The menu a right-click at `pos` (in the viewport) opens: it picks the card under it first,
        unless that card is selected already."""
        entry = self.view._entry_at(pos)
        if entry is not None and entry.id not in self.selection:
            self.select(entry.id)
        if not self.selection or not self.context_actions:
            return None
        menu = QMenu(self.view)
        menu.addActions(self.context_actions)
        return menu

    # -- for tests and scripts: where a card is, what it shows --------------------------------

    def viewport(self) -> QWidget:
        return self.view.viewport()

    def card_rect(self, entry_id: str) -> QRect:
        """The card's rectangle in the viewport (empty when it is not in the strip)."""
        row = self.model.row(entry_id)
        return QRect() if row is None else self.view.visualRect(self.model.index(row))

    def star_rect(self, entry_id: str) -> QRect:
        return card_parts(self.card_rect(entry_id))[2]

    def frame_at(self, entry: Any, count: int) -> int:
        """Which of `count` thumbnail frames the card shows now: the strip loops over the clip's duration."""
        duration = max(entry.duration or 1.0, 0.1)
        return int((self._clock.elapsed() / 1000 % duration) / duration * count)

    # -- the clock ----------------------------------------------------------------------------

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._sync_timer()

    def hideEvent(self, event: Any) -> None:
        super().hideEvent(event)
        self._sync_timer()

    def _sync_timer(self) -> None:
        if self.model.entries and self.isVisible():
            self._timer.start()
        else:
            self._timer.stop()
