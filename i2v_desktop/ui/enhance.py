"""Improve prompt: the chosen model's prompt enhancer rewrites the user's words and the preset's
motion words for the selected photo, off the GUI thread; the result lands in the prompt box as one
undoable edit, for the user to read and change before rendering (Ctrl+Z brings their own words back).

The rewrite carries the motion too (as `i2v render --enhance-prompt` does), so the render adds no
motion words of its own while it stands; undoing it back to the user's words brings theirs back."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QPushButton

from ..core.cancel import CancelToken
from ..core.studio import ModelChoice, Studio
from .background import Background
from .state import AppState

IDLE, BUSY = "Improve prompt", "Stop improving"


class PromptImprover(QObject):
    message = Signal(str, str, object)  # as Panel.message

    def __init__(self, prompt: QPlainTextEdit, state: AppState, studio: Studio, background: Background,
                 chosen_model: Callable[[str], ModelChoice]) -> None:
        super().__init__(prompt)
        self.prompt, self.state, self.studio, self.background = prompt, state, studio, background
        self.chosen_model = chosen_model
        self._cancel: CancelToken | None = None  # set while the enhancer runs
        self._asked: tuple[str, str | None] = ("", None)  # the words and motion words the enhancer was given
        self._undo_to: tuple[str, str | None] | None = None  # the same, while the rewrite stands
        prompt.textChanged.connect(self._text_changed)
        self.button = QPushButton(IDLE)
        self.button.setAccessibleName("Improve prompt")
        self.button.clicked.connect(self._clicked)
        for signal in (state.choicesChanged, state.selectionChanged, state.photosChanged):
            signal.connect(self.update)
        self.update()

    @property
    def busy(self) -> bool:
        return self._cancel is not None

    def update(self, *_: object) -> None:
        if self.busy:
            self.button.setText(BUSY)
            self.button.setToolTip("Stop the prompt enhancer; your words stay as they are")
            self.button.setEnabled(True)
            return
        model = self.chosen_model(self.state.choices.model)
        photo = self.state.selected_photo()
        self.button.setText(IDLE)
        if not model.enhancer:
            tip = f"{model.name} ships no prompt enhancer"
        elif photo is None:
            tip = "Add a photo first: the enhancer writes for what it shows"
        else:
            tip = (f"{model.name}'s prompt enhancer rewrites your words for this photo; edit the result "
                   "before you render, Ctrl+Z brings your words back")
        self.button.setToolTip(tip)
        self.button.setEnabled(model.enhancer and photo is not None)

    def _clicked(self) -> None:
        if self._cancel is not None:
            self._cancel.cancel()
            return
        photo = self.state.selected_photo()
        if photo is None:
            return
        choices = self.state.choices
        model, image, words = choices.model, photo.path, self.prompt.toPlainText()
        motion = (self.studio.motion_words(model, choices.preset, choices.intensity)
                  if choices.motion_prompt is None else choices.motion_prompt)
        raw = ". ".join(part.strip().rstrip(".") for part in (words, motion) if part.strip())
        self._asked = (words, choices.motion_prompt)
        token = self._cancel = CancelToken()
        self.prompt.setReadOnly(True)  # the result replaces the words: none typed meanwhile may be lost
        self.update()
        self.background.submit(lambda: self.studio.enhance_prompt(model, image, raw, token),
                               self._improved, self._failed, self._ended, cancel=token, name="improving the prompt")

    def _improved(self, text: str) -> None:
        self._ended()
        cursor = self.prompt.textCursor()
        cursor.beginEditBlock()  # one step on the box's undo stack
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.insertText(text.strip())
        cursor.endEditBlock()
        self.prompt.setTextCursor(cursor)
        self.prompt.setFocus()
        self.state.choose(motion_prompt="")  # the rewrite carries the motion
        self._undo_to = self._asked

    def _text_changed(self) -> None:
        """Back to the words the enhancer was given (Ctrl+Z): the motion words as they were then."""
        if self._undo_to is not None and self.prompt.toPlainText() == self._undo_to[0]:
            motion, self._undo_to = self._undo_to[1], None
            # The words too, in the same change: the panel would otherwise put the state's (the
            # rewrite's) back in the box as it shows the motion words.
            self.state.choose(prompt=self.prompt.toPlainText().strip(), motion_prompt=motion)

    def _failed(self, line: str) -> None:
        self._ended()
        self.message.emit(line, "warning", None)

    def _ended(self) -> None:
        self._cancel = None
        self.prompt.setReadOnly(False)
        self.update()

    def shutdown(self) -> None:
        """The window closes: stop the enhancer, so that the pool it runs on ends soon."""
        if self._cancel is not None:
            self._cancel.cancel()
