"""What the window's panels share: a way to tell the user something, and the small widgets they
are made of.

A panel holds one part of the window, binds to the AppState and speaks to the other panels only
through it or through signals; the window composes the panels and routes their messages to the
banner.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QToolButton, QWidget


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
