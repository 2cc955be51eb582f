"""The rows of the LoRA section: one of the user's LoRA files (checkbox, name, strength, the expert
it is for, its size, and why it cannot be used), and the preset's camera LoRA. They show a LoraRow
or a CameraLora and emit what the user moved; the panel (loras.py) writes it to the state."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core.presets import LORA_STRENGTH
from ..core.studio import CameraLora
from . import modeltext
from .modelrow import alarm_colour
from .state import LoraRow

STEPS = 20  # slider steps per unit of strength: 0.05 apart
EXPERT_WORDS = {"high": "high-noise expert", "low": "low-noise expert"}
STRENGTH_TIP = ("How strongly the LoRA is applied: 1 as it was trained, 0 not at all, past 1 more; "
                "a negative strength pushes away from what it learned")
CAMERA_TIP = ("How strongly the preset's camera-control LoRA makes the move; 0 turns it off and the "
              "prompt words alone ask for the move")


def strength_slider(name: str, tip: str) -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal)
    low, high = LORA_STRENGTH
    slider.setRange(round(low * STEPS), round(high * STEPS))
    slider.setSingleStep(1)
    slider.setPageStep(STEPS // 4)
    slider.setAccessibleName(name)
    slider.setToolTip(tip)
    return slider


def strength_text(strength: float, zero: str = "") -> str:
    return zero if zero and abs(strength) < 1e-9 else f"{strength:.2f}"


def _note(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setProperty("note", True)  # secondary, yet legible (theme.py)
    return label


def _reason_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)  # the whole reason on show in a narrow column, not only in a tooltip
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class ElidedLabel(QLabel):
    """A file name that gives way in a narrow column: cut with "…", whole in its tooltip."""

    def minimumSizeHint(self) -> QSize:
        return QSize(40, super().minimumSizeHint().height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        shown = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideMiddle, self.width())
        painter.drawText(self.rect(), int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), shown)


class LoraRowView(QFrame):
    """One LoRA file. Greyed and unchecked where it does not fit the model, with the reason under it."""

    toggled = Signal(str, bool)  # key, on
    strengthMoved = Signal(str, float)
    removeRequested = Signal(str)  # path: a picked file off the list

    def __init__(self, row: LoraRow, removable: bool) -> None:
        super().__init__()
        self.key = row.key
        self.row = row
        self._updating = False
        self.check = QCheckBox()
        self.check.setAccessibleName(f"Use {row.name}")
        self.name = ElidedLabel(row.name)
        self.expert = _note()
        self.size = _note()
        self.remove = QToolButton()
        self.remove.setText("✕")
        self.remove.setAutoRaise(True)
        self.remove.setToolTip("Take this file off the list (the file itself stays where it is)")
        self.remove.setAccessibleName(f"Remove {row.name} from the list")
        self.remove.setVisible(removable)
        self.slider = strength_slider(f"Strength of {row.name}", STRENGTH_TIP)
        self.value = QLabel()
        self.value.setMinimumWidth(self.value.fontMetrics().horizontalAdvance("-2.00") + 4)
        self.value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.reason = _reason_label()

        head = QHBoxLayout()
        head.setSpacing(6)
        head.addWidget(self.check)
        head.addWidget(self.name, 1)
        head.addWidget(self.expert)
        head.addWidget(self.size)
        head.addWidget(self.remove)
        strength = QHBoxLayout()
        indent = self.check.sizeHint().width() + 6  # under the name, clear of the checkbox
        strength.setContentsMargins(indent, 0, 0, 0)
        self.reason.setContentsMargins(indent, 0, 0, 0)
        strength.addWidget(self.slider, 1)
        strength.addWidget(self.value)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.setSpacing(0)
        layout.addLayout(head)
        layout.addLayout(strength)
        layout.addWidget(self.reason)

        self.check.toggled.connect(lambda on: self._updating or self.toggled.emit(self.key, on))
        self.slider.valueChanged.connect(self._moved)
        self.remove.clicked.connect(lambda: self.removeRequested.emit(self.row.path))
        self.show_row(row)

    def show_row(self, row: LoraRow, enabled: bool = True) -> None:
        """Reflect `row` without echoing it back; `enabled` False while the list is being checked."""
        self._updating = True
        self.row = row
        usable = row.usable and enabled
        self.check.setChecked(row.checked)
        # A missing file stays checkable: unchecking it is how the user lets the render go without it.
        self.check.setEnabled(usable or (row.missing and enabled))
        self.name.setText(row.name)
        self.name.setEnabled(row.usable or row.missing)
        tip = row.path + (f"\nMade for: {row.base}" if row.base else "")
        self.name.setToolTip(tip + (f"\n{row.reason}" if row.reason else ""))
        self.expert.setText(EXPERT_WORDS.get(row.expert, ""))
        self.expert.setVisible(row.expert in EXPERT_WORDS)
        which = "high-noise (layout)" if row.expert == "high" else "low-noise (detail)"
        self.expert.setToolTip(f"Wan2.2 A14B has two experts: this file goes into the {which} one")
        self.size.setText(modeltext.size(row.size_bytes) if row.size_bytes else "")
        self.slider.setValue(round(row.strength * STEPS))
        self.slider.setEnabled(usable or (row.missing and enabled))
        self.value.setText(strength_text(row.strength))
        self.value.setEnabled(self.slider.isEnabled())
        self.reason.setText(row.reason)
        self.reason.setVisible(bool(row.reason))
        self.reason.setProperty("note", not row.missing)
        self.reason.setStyleSheet(f"color: {alarm_colour().name()};" if row.missing else "")
        self._updating = False

    def _moved(self, value: int) -> None:
        self.value.setText(strength_text(value / STEPS))
        if not self._updating:
            self.strengthMoved.emit(self.key, value / STEPS)


class CameraRow(QWidget):
    """The preset's camera-control LoRA on the chosen model: its name, a strength from the preset's
    own (0 off) and whether it is ready; or, where the move has none, why it is prompt words only."""

    strengthMoved = Signal(float)

    def __init__(self) -> None:
        super().__init__()
        self._updating = False
        self.name = ElidedLabel()
        self.ready = _note()
        self.slider = strength_slider("Camera LoRA strength", CAMERA_TIP)
        self.value = QLabel()
        self.value.setMinimumWidth(self.value.fontMetrics().horizontalAdvance("-2.00") + 4)
        self.value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.note = _reason_label()
        self.note.setProperty("note", True)
        self.note.setAccessibleName("Camera LoRA")
        head = QHBoxLayout()
        head.addWidget(self.name, 1)
        head.addWidget(self.ready)
        self.strength = QWidget()
        strength = QHBoxLayout(self.strength)
        strength.setContentsMargins(0, 0, 0, 0)
        strength.addWidget(self.slider, 1)
        strength.addWidget(self.value)
        # "Camera" beside what renders the move: the LoRA with its strength, or the note alone.
        what = QVBoxLayout()
        what.setSpacing(0)
        what.addLayout(head)
        what.addWidget(self.strength)
        what.addWidget(self.note)
        word = QLabel("Camera")
        word.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
        self.note.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)
        layout.addWidget(word, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(what, 1)
        self.slider.valueChanged.connect(self._moved)

    def show_camera(self, camera: CameraLora | None, chosen: float | None, error: str = "") -> None:
        """`chosen`: the choices' camera_lora (None: the preset's strength)."""
        self._updating = True
        has = camera is not None and bool(camera.id)
        self.name.setText(camera.name if has else "")
        self.name.setToolTip(f"{camera.name}\nLicence: {camera.licence}\n{camera.note}" if has else "")
        self.name.setVisible(has)
        self.ready.setText("ready" if has and camera.ready else "")
        self.ready.setVisible(has and camera.ready)
        self.strength.setVisible(has)
        if has:
            strength = camera.strength if chosen is None else chosen
            self.slider.setValue(round(strength * STEPS))
            self.value.setText(strength_text(strength, zero="off"))
            self.slider.setToolTip(f"{CAMERA_TIP}; this preset's own: {camera.strength:.2f}")
        # Ready: nothing more to say. Not on disk, or no LoRA for this move: the note says what
        # renders the move instead, in one line.
        note = error or (camera.note if camera is not None and not (has and camera.ready) else "")
        self.note.setText(note)
        self.note.setVisible(bool(note))
        self._updating = False

    def _moved(self, value: int) -> None:
        self.value.setText(strength_text(value / STEPS, zero="off"))
        if not self._updating:
            self.strengthMoved.emit(value / STEPS)
