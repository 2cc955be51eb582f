"""The first steps: three coach marks over the real window (drop a photo, pick a motion,
Generate), each pointing at the widget it names.

The window is dimmed but for the widget of the step, and a card beside it says what to do there,
with Next (Done on the last step) and Skip; Esc closes it. It shows the first time the window
opens and never again once done or skipped; Help brings it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QRectF, QSettings, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from .theme import ACCENT

MARGIN = 6  # around the pointed-at widget
GAP = 14  # between it and the card
CARD_WIDTH = 300
PAD = 8  # between the card and the window's edge


@dataclass(frozen=True)
class Step:
    title: str
    text: str
    target: Callable[[], QWidget]  # looked up when shown: panels can be rebuilt meanwhile


def window_steps(window: Any) -> list[Step]:
    """The main window's first steps (`window` is a MainWindow: its widgets by their names)."""
    return [
        Step("Drop a photo", "Drag photos or a folder anywhere onto the window, paste one (Ctrl+V) "
             "or use Add photos… (Ctrl+O).", lambda: window.framing),
        Step("Pick a motion", "Orbit, Push in, Wind…: how the camera or the scene moves. The slider "
             "under the cards sets how strongly.", lambda: window.presets),
        Step("Generate", "The clip forms in the middle as you watch, then plays with its score. "
             "Ctrl+Enter does the same.", lambda: window.generate_button),
    ]


class FirstSteps(QObject):
    """When the tour shows: offered once, the first time the window opens; shown again on request."""

    KEY = "first_steps/done"

    def __init__(self, window: QWidget, settings: QSettings, remember: bool = True) -> None:
        """`remember`: write down that the steps were seen (not from a read-only window)."""
        super().__init__(window)
        self.window, self.settings, self.remember = window, settings, remember
        self.tour: Tour | None = None  # while it is up

    def offer(self) -> None:
        """The tour, unless it was done or skipped before."""
        if not self.settings.value(self.KEY, False, bool):
            self.show()

    def show(self) -> None:
        if self.tour is not None:
            return
        self.tour = Tour(self.window, window_steps(self.window))
        self.tour.closed.connect(self._closed)
        self.tour.start()

    def _closed(self, done: bool) -> None:
        self.tour = None
        if self.remember:
            self.settings.setValue(self.KEY, True)  # done or skipped alike: it was seen
            self.settings.sync()


class Tour(QWidget):
    """Coach marks over `window` (its child, covering it) for `steps`, from the first."""

    closed = Signal(bool)  # True: the user went through every step; False: skipped or closed

    def __init__(self, window: QWidget, steps: list[Step]) -> None:
        super().__init__(window)
        self.setObjectName("firstSteps")
        self.setAccessibleName("First steps")
        self.steps = steps
        self.index = 0
        self._hole = QRect()

        self.card = QFrame(self)
        self.card.setObjectName("firstStepsCard")
        self.card.setFixedWidth(CARD_WIDTH)
        self.card.setAutoFillBackground(True)
        self.card.setFrameShape(QFrame.Shape.StyledPanel)
        self.count = QLabel()
        self.count.setEnabled(False)
        self.title = QLabel()
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title.setFont(font)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.skip_button = QPushButton("Skip")
        self.skip_button.setToolTip("Close the first steps (Esc); Help ▸ Show the first steps brings them back")
        self.next_button = QPushButton("Next")
        self.next_button.setDefault(True)
        self.skip_button.clicked.connect(lambda: self.finish(False))
        self.next_button.clicked.connect(self.next)
        buttons = QHBoxLayout()
        buttons.addWidget(self.count, 1)
        buttons.addWidget(self.skip_button)
        buttons.addWidget(self.next_button)
        layout = QVBoxLayout(self.card)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.addWidget(self.title)
        layout.addWidget(self.text)
        layout.addLayout(buttons)

        window.installEventFilter(self)  # follows the window's size

    # -- going through ------------------------------------------------------------------------

    def start(self) -> None:
        self.index = 0
        self.setGeometry(self.parentWidget().rect())
        self._show_step()
        self.show()
        self.raise_()
        self.next_button.setFocus()

    def next(self) -> None:
        if self.index + 1 >= len(self.steps):
            self.finish(True)
            return
        self.index += 1
        self._show_step()
        self.next_button.setFocus()

    def finish(self, done: bool) -> None:
        self.parentWidget().removeEventFilter(self)
        self.hide()
        self.closed.emit(done)
        self.deleteLater()

    def target(self) -> QWidget:
        """The widget the current step points at."""
        return self.steps[self.index].target()

    def _show_step(self) -> None:
        step = self.steps[self.index]
        last = self.index + 1 == len(self.steps)
        self.count.setText(f"{self.index + 1} of {len(self.steps)}")
        self.title.setText(step.title)
        self.text.setText(step.text)
        self.next_button.setText("Done" if last else "Next")
        self._place()

    def _place(self) -> None:
        """The hole over the target and the card beside it: right, left, below or above it,
        wherever it fits first, inside the window."""
        window, target = self.parentWidget(), self.target()
        self._hole = QRect()  # folded away: the card alone, in the middle
        if target.isVisible():
            # Only what shows of it: a scroll area or a splitter may cut it off.
            seen, widget = QRect(target.mapTo(window, QPoint(0, 0)), target.size()), target.parentWidget()
            while widget is not None and widget is not window:
                seen &= QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())
                widget = widget.parentWidget()
            if not seen.isEmpty():
                self._hole = seen.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)
        self.card.adjustSize()
        width, height = self.card.width(), self.card.height()
        right, bottom = self.width() - PAD, self.height() - PAD
        hole = self._hole
        if hole.isNull():
            x, y = (self.width() - width) // 2, (self.height() - height) // 2
        else:
            across, along = hole.center().y() - height // 2, hole.center().x() - width // 2
            sides = ((hole.right() + GAP, across), (hole.left() - GAP - width, across))
            ends = ((along, hole.bottom() + GAP), (along, hole.top() - GAP - height))
            fits = [spot for spot in sides if PAD <= spot[0] and spot[0] + width <= right]
            fits += [spot for spot in ends if PAD <= spot[1] and spot[1] + height <= bottom]
            x, y = (fits or [sides[0]])[0]
        # Slid along the target's side to stay inside the window.
        self.card.move(min(max(x, PAD), max(PAD, right - width)), min(max(y, PAD), max(PAD, bottom - height)))
        self.update()

    # -- Qt -------------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.parentWidget().rect())
            self._place()
        return False

    def event(self, event: QEvent) -> bool:
        # Esc is also the window's Cancel render shortcut: while the tour is up, Esc is the tour's.
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) \
                and event.key() == Qt.Key.Key_Escape:
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        if event.key() == Qt.Key.Key_Escape:
            self.finish(False)
            return
        super().keyPressEvent(event)

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        shade = QPainterPath()
        shade.addRect(QRectF(self.rect()))
        if not self._hole.isNull():
            hole = QPainterPath()
            hole.addRoundedRect(QRectF(self._hole), 8, 8)
            shade = shade.subtracted(hole)
        painter.fillPath(shade, QColor(0, 0, 0, 140))
        if not self._hole.isNull():
            painter.setPen(QPen(ACCENT, 2.5))
            painter.drawRoundedRect(QRectF(self._hole), 8, 8)
        outline = self.card.geometry().adjusted(-1, -1, 1, 1)
        painter.setPen(QPen(ACCENT, 1.5))
        painter.drawRoundedRect(QRectF(outline), 4, 4)
