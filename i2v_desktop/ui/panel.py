"""What the window's panels share: a way to tell the user something, and the small widgets they
are made of.

A panel holds one part of the window, binds to the AppState and speaks to the other panels only
through it or through signals; the window composes the panels and routes their messages to the
banner.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QIconEngine, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QApplication, QLabel, QStyle, QToolButton, QWidget


class Panel(QWidget):
    message = Signal(str, str, object)  # text, "error" | "warning" | "info", (button label, action) or None

    def say(self, text: str, kind: str = "error", action: tuple[str, Callable[[], None]] | None = None) -> None:
        self.message.emit(text, kind, action)


def heading(text: str) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label


def tool(text: str, tip: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setAccessibleName(tip.split(" (")[0])
    return button


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


class _Tinted(QIconEngine):
    """A style's standard icon in the palette's button-text colour, read when it is drawn: Fusion's
    media icons are fixed dark pixmaps, which on a dark palette look disabled."""

    def __init__(self, kind: QStyle.StandardPixmap) -> None:
        super().__init__()
        self.kind = kind

    def clone(self) -> QIconEngine:
        return _Tinted(self.kind)

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        base = QApplication.style().standardIcon(self.kind).pixmap(size)
        group = QPalette.ColorGroup.Disabled if mode == QIcon.Mode.Disabled else QPalette.ColorGroup.Active
        tinted = QPixmap(base.size())
        tinted.setDevicePixelRatio(base.devicePixelRatio())
        tinted.fill(Qt.GlobalColor.transparent)
        painter = QPainter(tinted)
        painter.drawPixmap(0, 0, base)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
        painter.fillRect(tinted.rect(), QApplication.palette().color(group, QPalette.ColorRole.ButtonText))
        painter.end()
        return tinted

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        painter.drawPixmap(rect, self.pixmap(rect.size(), mode, state))


def media_icon(kind: QStyle.StandardPixmap) -> QIcon:
    """A transport icon (play, pause, step) that reads in light and dark alike."""
    return QIcon(_Tinted(kind))
