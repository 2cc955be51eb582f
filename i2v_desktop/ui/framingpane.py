"""The framing view with its keyframe controls: Keyframes on or off, a middle framing added or
removed, Clear, and the one line saying why a chosen model cannot follow keyframes."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from ..core.errors import I2VError
from ..core.keyframes import Framing
from ..core.studio import Studio
from .keyframes import KEY_HINT, KeyframeView

OFF_TIP = "Set a start (A) and an end (B) framing: the camera moves from one to the other"


class FramingPane(QWidget):
    """The framing view with its keyframe controls above it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = KeyframeView()
        self.toggle = QToolButton()
        self.toggle.setText("Keyframes")
        self.toggle.setCheckable(True)
        self.toggle.setToolTip(OFF_TIP)
        self.middle = QToolButton()
        self.middle.setText("Add middle")
        self.clear = QToolButton()
        self.clear.setText("Clear")
        self.clear.setToolTip("Back to the preset's own camera move")
        self.reason = QLabel()
        self.reason.setWordWrap(False)
        self.reason.setEnabled(False)  # greyed: a note, not a control
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 0)
        for widget in (self.toggle, self.middle, self.clear):
            bar.addWidget(widget)
        bar.addWidget(self.reason, 1)
        self.reason.setMinimumWidth(1)  # a narrow window cuts the line rather than widening the column
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self.toggle.clicked.connect(self._on_toggle)
        self.middle.clicked.connect(self._on_middle)
        self.clear.clicked.connect(self.view.clear_keyframes)
        self.view.keyframesChanged.connect(lambda *_: self.show_state())
        self._why = ""
        self._engines: dict[str, tuple[str, str]] = {}  # model -> (its name, its engine), read once
        self.show_state()

    def show_model(self, studio: Studio, model: str, loop: bool) -> bool:
        """The chosen model and whether the clip loops; returns whether the model follows keyframes
        (only the instant engine does)."""
        if model not in self._engines:
            try:
                choice = studio.model(model)
                self._engines[model] = (choice.name, choice.engine)
            except I2VError:
                self._engines[model] = (model, "")  # a folder that cannot be read: Generate names the problem
        name, engine = self._engines[model]
        follows = engine == "instant"
        self.view.set_loop(loop)
        self.set_allowed(follows, f"{name} cannot follow keyframes: only the Instant engine can")
        return follows

    def set_keyframes(self, keys: tuple[Framing, ...]) -> None:
        """The selected photo's framings (after its photo is set on the view). Does not emit."""
        self.view.set_keyframes(keys)
        self.show_state()

    def set_allowed(self, allowed: bool, why: str = "") -> None:
        """Whether the chosen model follows keyframes; `why` is the one line saying why not."""
        self._why = "" if allowed else why
        self.view.set_allowed(allowed)
        self.show_state()

    def show_state(self) -> None:
        """The buttons as the view's keyframes and the model allow."""
        keys = self.view.keyframes
        allowed = not self._why
        photo = self.view.crop_box() is not None
        self.toggle.setChecked(bool(keys))
        for button in (self.toggle, self.middle, self.clear):
            button.setEnabled(allowed and photo)
        self.middle.setEnabled(allowed and photo and bool(keys))
        self.clear.setEnabled(allowed and photo and bool(keys))
        self.middle.setText("Remove middle" if len(keys) == 3 else "Add middle")
        self.middle.setToolTip("Remove the middle framing (M)" if len(keys) == 3
                               else "Add a middle framing (M) for the camera to pass through")
        if not allowed:
            kept = " (yours stay with the photo)" if keys else ""
            self.reason.setText(self._why + kept)
            self.toggle.setToolTip(self._why)
        elif keys:
            self.reason.setText(KEY_HINT)
            self.toggle.setToolTip("Turn keyframes off: back to the preset's own camera move")
        else:
            self.reason.setText("")
            self.toggle.setToolTip(OFF_TIP)
        self.reason.setToolTip(self.reason.text())  # the whole line, where the window cuts it

    def _on_toggle(self, on: bool) -> None:
        if on:
            self.view.start_keyframes()
        else:
            self.view.clear_keyframes()
        self.show_state()

    def _on_middle(self) -> None:
        if len(self.view.keyframes) == 3:
            self.view.remove_middle()
        else:
            self.view.add_middle()
