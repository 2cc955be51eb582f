"""A message strip across the top of the window: errors and warnings the user should act on."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

Action = tuple[str, Callable[[], None]]
COLOURS = {"error": ("#f8d7da", "#58151c"), "warning": ("#fff3cd", "#664d03"), "info": ("#cfe2ff", "#052c65")}


class Banner(QFrame):
    """Shows the latest message; more than one at once are listed, newest first (up to five)."""

    MAX_LINES = 5

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setAccessibleName("Message")
        self.lines: list[str] = []
        self.kind = "info"
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Up to two choices for the latest message (Resume / Discard); each dismisses the banner.
        self.buttons = [QPushButton(), QPushButton()]
        self._actions: list[Callable[[], None]] = []
        for number, button in enumerate(self.buttons):
            button.hide()
            button.clicked.connect(lambda _=False, number=number: self._run_action(number))
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.setAccessibleName("Dismiss message")
        close.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 6, 6)
        layout.addWidget(self.text, 1)
        for button in self.buttons:
            layout.addWidget(button)
        layout.addWidget(close)
        self.hide()

    def show_message(self, text: str, kind: str = "error",
                     action: Action | list[Action] | None = None) -> None:
        """`action`: a (label, call) button for this message, or a list of two."""
        rank = list(COLOURS)
        if self.isHidden() or rank.index(kind) < rank.index(self.kind):
            self.kind = kind  # the banner takes the colour of the most serious message it shows
        self.lines = [text] + [line for line in self.lines if line != text][: self.MAX_LINES - 1]
        self.text.setText("\n".join(self.lines))
        background, foreground = COLOURS[self.kind]
        self.setStyleSheet(f"#banner {{ background: {background}; border-radius: 6px; }} "
                           f"#banner QLabel, #banner QToolButton {{ color: {foreground}; }}")
        actions = action if isinstance(action, list) else [action] if action else []
        self._actions = [call for _, call in actions]
        for number, button in enumerate(self.buttons):
            button.setVisible(number < len(actions))
            if number < len(actions):
                button.setText(actions[number][0])
        self.show()

    def dismiss(self) -> None:
        self.lines, self.kind, self._actions = [], "info", []
        self.hide()

    def _run_action(self, number: int) -> None:
        call = self._actions[number]
        self.dismiss()
        call()
