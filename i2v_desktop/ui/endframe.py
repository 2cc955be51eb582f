"""The clip settings' "End on" row: the photo the selected photo's clip ends on, chosen with the file
dialog or dropped on the row, shown as a thumbnail and a name, cleared with ✕. Each photo keeps its
own (Photo.end_image). A model that cannot end on a chosen frame greys the row and says why on it;
a loop and an end photo exclude each other, and the row and the loop checkbox say so."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal, Slot
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage, QPixmap
from PySide6.QtWidgets import QCheckBox, QFileDialog, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from ..core.image import SUPPORTED_EXTENSIONS
from ..core.studio import ModelChoice
from .controls import loop_tip
from .state import AppState

THUMB = 40  # px, the end photo's thumbnail on the row
CHOOSE_TIP = "The photo the clip ends on (drop a photo here too); models that can end on a chosen frame use it"
LOOP_EXCLUDES = "A looping clip ends where it began: turn Seamless loop off to end on another photo"
END_EXCLUDES = "This photo's clip ends on another photo: clear the end photo (✕) to loop it"


def end_note(model: ModelChoice, chosen: bool = False) -> str:
    """What the row says of a model: why it cannot end on a chosen frame, or that doing so is
    experimental on it, or that it needs an end photo (while none is `chosen`); "" where ending on
    one is its published use."""
    if not model.end_frame:
        why = f": {model.end_frame_note}" if model.end_frame_note else ""
        return f"{model.name} cannot end on a chosen frame{why}"
    if model.needs_end_frame and not chosen:
        needs = f"{model.name} needs an end photo (or Seamless loop)"
        return f"{needs}; {model.end_frame_note}" if model.end_frame_note else needs
    return model.end_frame_note


def is_photo(path: str) -> bool:
    return Path(path).suffix.lower() in SUPPORTED_EXTENSIONS and Path(path).is_file()


class EndFrameRow(QWidget):
    """Bound to the state: shows the selected photo's end photo on the chosen model, writes a
    chosen or cleared one back to that photo only."""

    refused = Signal(str)  # one line: a dropped or chosen file that is not a photo

    def __init__(self, state: AppState, chosen_model: Callable[[str], ModelChoice], loop: QCheckBox,
                 settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.chosen_model, self.loop, self.settings = state, chosen_model, loop, settings
        self.setAcceptDrops(True)
        self.choose = QToolButton()
        self.choose.setText("Choose photo…")
        self.choose.setToolTip(CHOOSE_TIP)
        self.choose.setAccessibleName("Choose the end photo")
        self.choose.clicked.connect(self.open_dialog)
        self.thumb = QLabel()
        self.thumb.setFixedSize(THUMB, THUMB)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.name = QLabel()
        # A long file name must not widen the settings column (it would no longer fit a small screen).
        self.name.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.name.setMinimumWidth(1)
        self.experimental = QLabel("experimental")
        self.experimental.setProperty("note", True)
        self.clear = QToolButton()
        self.clear.setText("✕")
        self.clear.setToolTip("Clear the end photo: the clip ends where the model takes it")
        self.clear.setAccessibleName("Clear the end photo")
        self.clear.clicked.connect(lambda: self._set(None))
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setProperty("note", True)  # secondary, yet legible (theme.py)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.choose)
        row.addWidget(self.thumb)
        row.addWidget(self.name, 1)
        row.addWidget(self.experimental)
        row.addWidget(self.clear)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.note)
        self._shown_path: str | None = ""  # the end photo whose thumbnail is on show
        state.selectionChanged.connect(self.refresh)
        state.photoChanged.connect(self._on_photo_changed)
        # Choices: refreshed by the settings panel after the clip controls (the loop's tooltip is ours last).
        self.refresh()

    # -- to the state -----------------------------------------------------------------------------

    def open_dialog(self) -> None:
        folder = str(self.settings.value("paths/photos", str(Path.home())))
        patterns = " ".join(f"*{ext}" for ext in SUPPORTED_EXTENSIONS)
        path, _ = QFileDialog.getOpenFileName(self, "The photo the clip ends on", folder, f"Photos ({patterns})")
        if path:
            self.use(path)

    def use(self, path: str) -> None:
        """End the selected photo's clip on `path` (a photo file), or say in one line why not."""
        if not is_photo(path):
            self.refused.emit(f"{Path(path).name}: not a photo the clip can end on "
                              f"({', '.join(SUPPORTED_EXTENSIONS)})")
            return
        self._set(str(Path(path).resolve()))

    def _set(self, path: str | None) -> None:
        photo = self.state.selected_photo()
        if photo is not None:
            self.state.update_photo(photo.path, end_image=path)  # photoChanged shows it

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        urls = event.mimeData().urls() if event.mimeData() is not None else []
        if self.choose.isEnabled() and len(urls) == 1 and urls[0].isLocalFile():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt's name
        # Taken here, not by the window: a photo dropped on the row is the end photo, not a new one.
        event.acceptProposedAction()
        self.use(event.mimeData().urls()[0].toLocalFile())

    # -- from the state -----------------------------------------------------------------------------

    @Slot(str)
    def _on_photo_changed(self, path: str) -> None:
        if path == self.state.selected:
            self.refresh()

    @Slot()
    def refresh(self, *_: object) -> None:
        photo = self.state.selected_photo()
        choices = self.state.choices
        model = self.chosen_model(choices.model)
        end = photo.end_image if photo is not None else None
        can = model.end_frame
        self.choose.setEnabled(photo is not None and can and not choices.loop)
        self.clear.setEnabled(end is not None)  # a chosen end photo can always be cleared
        self.thumb.setEnabled(can)
        self.name.setEnabled(can)
        self._show_photo(end)
        experimental = can and "experimental" in model.end_frame_note
        self.experimental.setVisible(experimental)
        self.experimental.setToolTip(model.end_frame_note if experimental else "")
        lines = [note] if (note := end_note(model, end is not None)) else []
        if can and choices.loop:
            lines.append(LOOP_EXCLUDES)
        elif photo is None and can:
            lines.append("Select a photo to choose the photo its clip ends on")
        self.note.setText("\n".join(lines))
        self.note.setVisible(bool(lines))
        self.setToolTip("\n".join(lines) or CHOOSE_TIP)
        # The loop checkbox says the other half: an end photo leaves no loop to make.
        ends_elsewhere = end is not None and can
        self.loop.setEnabled(not ends_elsewhere or choices.loop)
        self.loop.setToolTip(END_EXCLUDES if ends_elsewhere and not choices.loop else loop_tip(model))

    def _show_photo(self, path: str | None) -> None:
        if path == self._shown_path:
            return
        self._shown_path = path
        if path is None:
            self.thumb.clear()
            self.name.setText("None")
            self.name.setToolTip("No end photo: the model takes the clip where it goes")
            return
        image = QImage(path)
        if image.isNull():
            self.thumb.setText("?")
            self.name.setText(f"{Path(path).name} (cannot be read)")
        else:
            self.thumb.setPixmap(QPixmap.fromImage(image.scaled(
                THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)))
            self.name.setText(Path(path).name)
        self.name.setToolTip(path)
