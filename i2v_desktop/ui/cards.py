"""A clip's card in a strip: the model rows (clip entries) and how a card is painted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPalette, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from .drag import clip_mime

CELL = QSize(176, 150)
STAR = QSize(22, 20)
SPEAKER = QSize(20, 18)
EntryRole = Qt.ItemDataRole.UserRole + 1


def speaker_icon() -> QIcon:
    """A small white speaker (the badge of a clip with sound), drawn rather than taken from a style or
    a font, which may lack one."""
    pixmap = QPixmap(32, 28)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("white"))
    painter.drawPolygon(QPolygonF([QPointF(3, 10), QPointF(9, 10), QPointF(16, 3), QPointF(16, 25),
                                   QPointF(9, 18), QPointF(3, 18)]))
    pen = QPen(QColor("white"), 2.4)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    for radius in (6, 11):
        painter.drawArc(QRectF(16 - radius, 14 - radius, 2 * radius, 2 * radius), -45 * 16, 90 * 16)
    painter.end()
    return QIcon(pixmap)


def to_qimage(frame: np.ndarray) -> QImage:
    """One RGB frame as a QImage that owns its pixels (safe after the array goes away)."""
    frame = np.ascontiguousarray(frame)
    height, width = frame.shape[:2]
    return QImage(frame.data, width, height, frame.strides[0], QImage.Format.Format_RGB888).copy()


class StripModel(QAbstractListModel):
    """The clips of a strip, in display order."""

    def __init__(self, label: Callable[[Any], str], tip: Callable[[Any], str], parent: Any = None) -> None:
        super().__init__(parent)
        self.label, self.tip = label, tip
        self.entries: list[Any] = []
        self._rows: dict[str, int] = {}

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.entries)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.entries):
            return None
        entry = self.entries[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.label(entry)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tip(entry)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return (f"Clip {self.label(entry)}" + (", with sound" if entry.sound else "")
                    + (", picked" if entry.starred else ""))
        if role == EntryRole:
            return entry
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        return clip_mime([Path(self.entries[i.row()].mp4) for i in indexes if i.isValid()])

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    def row(self, entry_id: str) -> int | None:
        return self._rows.get(entry_id)

    def reset(self, entries: Sequence[Any]) -> None:
        self.beginResetModel()
        self.entries = list(entries)
        self._reindex()
        self.endResetModel()

    def insert(self, position: int, entry: Any) -> None:
        if entry.id in self._rows:
            self.replace(entry)
            return
        self.beginInsertRows(QModelIndex(), position, position)
        self.entries.insert(position, entry)
        self._reindex()
        self.endInsertRows()

    def remove(self, entry_id: str) -> None:
        if (row := self._rows.get(entry_id)) is not None:
            self.beginRemoveRows(QModelIndex(), row, row)
            del self.entries[row]
            self._reindex()
            self.endRemoveRows()

    def replace(self, entry: Any) -> None:
        if (row := self._rows.get(entry.id)) is not None:
            self.entries[row] = entry
            self.dataChanged.emit(self.index(row), self.index(row))

    def _reindex(self) -> None:
        self._rows = {entry.id: row for row, entry in enumerate(self.entries)}


def speaker_rect(thumb: QRect) -> QRect:
    """Where a clip with sound has its speaker badge: the thumbnail's top right corner."""
    return QRect(thumb.right() - SPEAKER.width() - 3, thumb.top() + 4, SPEAKER.width(), SPEAKER.height())


def card_parts(rect: QRect) -> tuple[QRect, QRect, QRect]:
    """Where a card's thumbnail, caption and star go, within the card's rectangle."""
    inner = rect.adjusted(5, 5, -5, -3)
    thumb = QRect(inner.left(), inner.top(), inner.width(), inner.height() - STAR.height() - 2)
    star = QRect(inner.right() - STAR.width() + 1, inner.bottom() - STAR.height() + 1, STAR.width(), STAR.height())
    caption = QRect(inner.left(), star.top(), star.left() - inner.left() - 2, STAR.height())
    return thumb, caption, star


class CardDelegate(QStyledItemDelegate):
    """Paints one card: the looping thumbnail, a "final" badge, the caption, the star."""

    def __init__(self, strip: Any) -> None:
        super().__init__(strip)
        self.strip = strip  # the VariantStrip: its selection, thumbnails, clock
        self.speaker = speaker_icon()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return CELL

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        entry = index.data(EntryRole)
        palette: QPalette = option.palette  # type: ignore[attr-defined]
        rect: QRect = option.rect  # type: ignore[attr-defined]
        state = option.state  # type: ignore[attr-defined]
        selected = entry.id in self.strip.selection
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        border = palette.color(QPalette.ColorRole.Highlight) if selected else palette.color(QPalette.ColorRole.Mid)
        painter.setPen(border if selected or state & QStyle.StateFlag.State_MouseOver else Qt.PenStyle.NoPen)
        if selected:
            pen = painter.pen()
            pen.setWidth(2)
            painter.setPen(pen)
        painter.setBrush(palette.color(QPalette.ColorRole.Base))
        painter.drawRoundedRect(QRectF(rect).adjusted(1, 1, -1, -1), 6, 6)
        thumb, caption, star = card_parts(rect)
        painter.fillRect(thumb, QColor(32, 32, 32))
        frames = self.strip.thumbs(entry)
        if frames is not None and len(frames):
            frame = np.ascontiguousarray(frames[self.strip.frame_at(entry, len(frames))])
            height, width = frame.shape[:2]
            image = QImage(frame.data, width, height, frame.strides[0], QImage.Format.Format_RGB888)
            scale = min(thumb.width() / width, thumb.height() / height)
            w, h = width * scale, height * scale
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(QRectF(thumb.left() + (thumb.width() - w) / 2, thumb.top() + (thumb.height() - h) / 2,
                                     w, h), image)
        if self.strip.is_final(entry):
            badge = QRect(thumb.left() + 4, thumb.top() + 4, painter.fontMetrics().horizontalAdvance("final") + 10,
                          painter.fontMetrics().height() + 2)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(palette.color(QPalette.ColorRole.Highlight))
            painter.drawRoundedRect(QRectF(badge), 4, 4)
            painter.setPen(palette.color(QPalette.ColorRole.HighlightedText))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, "final")
        if entry.sound:
            badge = speaker_rect(thumb)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(0, 0, 0, 150))  # readable over any frame
            painter.drawRoundedRect(QRectF(badge), 4, 4)
            self.speaker.paint(painter, badge.adjusted(2, 1, -2, -1))
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        text = painter.fontMetrics().elidedText(index.data(Qt.ItemDataRole.DisplayRole), Qt.TextElideMode.ElideRight,
                                                caption.width())
        painter.drawText(caption, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), text)
        painter.setPen(palette.color(QPalette.ColorRole.Highlight) if entry.starred
                       else palette.color(QPalette.ColorRole.Text))
        painter.drawText(star, Qt.AlignmentFlag.AlignCenter, "★" if entry.starred else "☆")
        if state & QStyle.StateFlag.State_HasFocus and self.strip.view.hasFocus():
            painter.setPen(Qt.PenStyle.DotLine)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(QRectF(rect).adjusted(3, 3, -3, -3), 5, 5)
        painter.restore()
