"""The right-hand panel's clip settings: aspect, duration and fps (as the model will snap them),
variants, seed, model, and the folded-away advanced settings."""

from __future__ import annotations

from typing import Any, Sequence

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QStyle,
    QStyleOptionComboBox,
    QStylePainter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core.presets import MotionPreset
from ..core.request import ASPECTS, BASE_QUALITIES, MAX_SEED, MAX_VARIANTS
from ..core.studio import Limits, ModelChoice
from . import modeltext
from .state import Choices

LOOP_TIP = "End the clip where it began, for looping playback"
FPS_TIP = "Frames per second (only what the model can do)"
# The scale a fixed frame rate is shown on, so the handle sits where that rate is, not at the end.
FPS_SCALE = (8, 60)
NAME_ROLE = Qt.ItemDataRole.UserRole + 1
VARIANTS_TIP = "How many takes per photo (seeds seed, seed+1, …) to choose from"
SOUND_TIP = "Make sound with the picture (an AAC track in the MP4)"
MODEL_TIP = "Which model renders: downloaded models, what fits this machine, licences"


QUALITY_TIPS = {
    "draft": "Lower resolution or fewer steps: explore takes fast",
    "standard": "The model's usual settings",
    "final": "Full quality; Finalize re-renders a pick with it",
    "fast": "4 steps without guidance, with a step-distilled LoRA (or a distilled model): several times faster",
}
def loop_tip(model: ModelChoice) -> str:
    """The loop checkbox's tooltip for a model: what a loop will be with it."""
    return f"{LOOP_TIP}.\n{_sentence(model.loop_note)}" if model.loop_note else LOOP_TIP


def model_note(model: ModelChoice, try_anyway: bool = False) -> str:
    """The line under the model picker: the licence, after what keeps the model from rendering."""
    marks = ["Not downloaded: Models… gets it"] if model.installed is False else []
    if modeltext.too_big(model):
        marks.append("too big for this machine" + (", tried anyway" if try_anyway else ""))
    return "; ".join(marks + [model.licence])


def model_tip(choice: ModelChoice) -> str:
    """A model's tooltip in the picker: its licence, then the memory figures the models page shows."""
    tip = f"{choice.name}\nLicence: {choice.licence}\n{choice.note}"
    if memory := modeltext.memory_tip(choice):
        tip += "\n" + memory
    if choice.loop_note:
        tip += "\n" + _sentence(choice.loop_note)
    return tip


def _sentence(note: str) -> str:
    """A registry note ("looping with … is experimental: …") as a sentence for a tooltip."""
    return f"{note[0].upper()}{note[1:]}."


class ModelBox(QComboBox):
    """The model picker: the list says of each model whether it is installed and fits; the closed
    box shows the chosen model's name only (its state is spelled out on the line below it)."""

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QStylePainter(self)
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        field: QRect = self.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                                   QStyle.SubControl.SC_ComboBoxEditField, self)
        name = self.currentData(NAME_ROLE) or option.currentText
        option.currentText = self.fontMetrics().elidedText(name, Qt.TextElideMode.ElideRight, field.width())
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)

    def showPopup(self) -> None:
        # The list as wide as its longest entry: "(not installed, too big for this machine)" shows whole.
        view = self.view()
        view.setMinimumWidth(view.sizeHintForColumn(0) + view.verticalScrollBar().sizeHint().width() + 8)
        super().showPopup()


class ClipControls(QWidget):
    """Edits the clip part of Choices; emits `changed(dict)` with only the fields the user moved."""

    changed = Signal(dict)
    manageRequested = Signal()  # "Models…" beside the picker

    def __init__(self, presets: Sequence[MotionPreset] = (), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._limits: Limits | None = None  # the shown model's, once one is shown
        self._presets = {preset.id: preset for preset in presets}
        self._held_variants = 0  # the user's count while a preset that makes one clip is chosen
        self._updating = False

        self.aspects = QButtonGroup(self)
        aspect_row = QHBoxLayout()
        aspect_row.setSpacing(2)
        for name in ASPECTS:
            button = QToolButton()
            button.setText("Source" if name == "source" else name)
            button.setCheckable(True)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setToolTip("Keep the photo's own shape" if name == "source" else f"Frame the clip at {name}")
            button.setAccessibleName(f"Aspect {name}")
            button.setProperty("aspect", name)
            button.setObjectName("aspect")  # the chosen one is drawn in the accent colour (theme.py)
            self.aspects.addButton(button)
            aspect_row.addWidget(button)
        self.aspects.buttonClicked.connect(lambda button: self._emit(aspect=button.property("aspect")))

        self.duration = QSlider(Qt.Orientation.Horizontal)
        self.duration.setAccessibleName("Duration")
        self.duration.setToolTip("Clip length; the label shows what the model will really render")
        self.duration.valueChanged.connect(lambda value: self._emit(duration=value / 10))
        self.duration_label = QLabel()
        self.duration_label.setMinimumWidth(120)
        self.fps = QSlider(Qt.Orientation.Horizontal)
        self.fps.setAccessibleName("Frame rate")
        self.fps.setToolTip(FPS_TIP)
        self.fps.valueChanged.connect(self._fps_moved)
        self.fps_label = QLabel()
        self.fps_label.setMinimumWidth(120)

        self.variants = QSpinBox()
        self.variants.setRange(1, MAX_VARIANTS)
        self.variants.setAccessibleName("Variants")
        self.variants.setToolTip(VARIANTS_TIP)
        self.variants.valueChanged.connect(lambda value: self._emit(variants=value))

        self.fixed_seed = QCheckBox("Fixed seed")
        self.fixed_seed.setToolTip("Off: a new random seed each time you generate")
        self.seed = QSpinBox()
        self.seed.setRange(0, min(MAX_SEED, 2**31 - 1))
        self.seed.setAccessibleName("Seed")
        self.fixed_seed.toggled.connect(self._seed_moved)
        self.seed.valueChanged.connect(self._seed_moved)
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.fixed_seed)
        seed_row.addWidget(self.seed, 1)

        self.model = ModelBox()
        self.model.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model.setMinimumContentsLength(12)
        self.model.setAccessibleName("Model")
        self.model.setToolTip(MODEL_TIP)
        self.model.currentIndexChanged.connect(lambda _: self._emit(model=self.model.currentData()))
        self.model_note = QLabel()
        self.model_note.setWordWrap(True)
        self.model_note.setProperty("note", True)  # secondary, yet legible (theme.py)
        self.manage = QToolButton()
        self.manage.setText("Models…")
        self.manage.setToolTip("Download, delete or add models; what each needs and fits here")
        self.manage.setAccessibleName("Manage models")
        self.manage.clicked.connect(self.manageRequested)
        self.sound = QCheckBox("With sound")
        self.sound.setToolTip(SOUND_TIP)
        self.sound.toggled.connect(lambda on: self._emit(sound=on))
        # Under the picker, not beside it: the box keeps its width for a model's whole name.
        sound_row = QHBoxLayout()
        sound_row.addWidget(self.sound, 1)
        sound_row.addWidget(self.manage)

        self.advanced = QToolButton()
        self.advanced.setText("Advanced")
        self.advanced.setCheckable(True)
        self.advanced.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced.setAutoRaise(True)
        self.advanced.setAccessibleName("Show advanced settings")
        self.quality = QComboBox()
        self.quality.setAccessibleName("Quality")
        self._set_qualities(BASE_QUALITIES)
        self.quality.setToolTip("Draft explores fast; Finalize re-renders a pick at full quality; "
                                "Fast is offered by models with a step-distilled tier")
        self.quality.currentIndexChanged.connect(lambda _: self._emit(quality=self.quality.currentData()))
        self.loop = QCheckBox("Seamless loop")
        self.loop.setToolTip(LOOP_TIP)
        self.loop.toggled.connect(lambda on: self._emit(loop=on))
        self.folded = QWidget()
        folded = QFormLayout(self.folded)
        folded.setContentsMargins(0, 0, 0, 0)
        folded.addRow("Quality", self.quality)
        folded.addRow("Seed", seed_row)
        folded.addRow("", self.loop)
        self.folded.hide()
        self.advanced.toggled.connect(self._fold)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Aspect", aspect_row)
        form.addRow("Duration", self.duration)
        form.addRow("", self.duration_label)
        form.addRow("Frame rate", self.fps)
        form.addRow("", self.fps_label)
        form.addRow("Variants", self.variants)
        form.addRow("Model", self.model)
        form.addRow("", self.model_note)
        form.addRow("", sound_row)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.advanced, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.folded)

    # -- model list ---------------------------------------------------------------------------

    def set_models(self, choices: list[ModelChoice], current: str) -> None:
        """Fill the picker from the Studio's model choices."""
        self._updating = True
        self.model.clear()
        for choice in choices:
            marks = ["not downloaded"] if choice.installed is False else []
            if modeltext.too_big(choice):
                marks.append("too big for this machine")
            label = choice.name + (f" ({', '.join(marks)})" if marks else "")
            self.model.addItem(label, choice.id)
            self.model.setItemData(self.model.count() - 1, choice.name, NAME_ROLE)
            self.model.setItemData(self.model.count() - 1, model_tip(choice), Qt.ItemDataRole.ToolTipRole)
        self._choices = {choice.id: choice for choice in choices}
        self.model.setCurrentIndex(max(0, self.model.findData(current)))
        self._updating = False

    # -- from the state -----------------------------------------------------------------------

    def show_choices(self, choices: Choices, model: ModelChoice) -> None:
        """Reflect `choices` on `model` (the chosen one) without echoing changes back."""
        self._updating = True
        self._limits = lim = model.limits
        frames, fps = model.timing(choices.duration, choices.fps)
        made = model.aspects
        for button in self.aspects.buttons():
            name = button.property("aspect")
            button.setChecked(name == choices.aspect)
            button.setEnabled(name in made)
            tip = "Keep the photo's own shape" if name == "source" else f"Frame the clip at {name}"
            button.setToolTip(tip if name in made else f"{model.name} does not make {name} clips")
        self.duration.setRange(round(lim.min_duration * 10), round(lim.max_duration * 10))
        self.duration.setValue(round(min(max(choices.duration, lim.min_duration), lim.max_duration) * 10))
        self.duration_label.setText(f"{frames / fps:.2f} s · {frames} frames")
        low, high = lim.fps_range
        fixed = high <= low
        if fixed:  # disabled, with the handle at the model's rate on a common scale
            self.fps.setRange(min(FPS_SCALE[0], round(fps)), max(FPS_SCALE[1], round(fps)))
        else:
            self.fps.setRange(round(low), round(high))
        self.fps.setValue(round(fps))
        self.fps.setEnabled(not fixed)
        self.fps.setToolTip(f"{model.name} always renders at {fps:g} frames per second" if fixed else FPS_TIP)
        self.fps_label.setText(f"{fps:g} fps" + (" (fixed by this model)" if fixed else ""))
        self.fps_label.setToolTip(self.fps.toolTip())
        self.variants.setValue(choices.variants)
        self.fps.setEnabled(high > low)
        self.fps_label.setText(f"{fps:g} fps" + (" (fixed by this model)" if high <= low else ""))
        one_clip = self._show_variants(choices, model)
        self.fixed_seed.setChecked(choices.seed is not None)
        self.seed.setEnabled(choices.seed is not None)
        if choices.seed is not None:
            self.seed.setValue(min(choices.seed, self.seed.maximum()))
        self.model.setCurrentIndex(max(0, self.model.findData(choices.model)))
        choice = getattr(self, "_choices", {}).get(choices.model)
        self.model_note.setText(model_note(choice, choices.try_anyway) if choice else "")
        self.model.setToolTip(model_tip(choice) + "\n" + self.model_note.text() if choice else MODEL_TIP)
        self.sound.setEnabled(model.sound)
        self.sound.setChecked(choices.sound and model.sound)
        self.sound.setToolTip(SOUND_TIP if model.sound else
                              f"{model.name} makes pictures only; a model that makes sound (LTX-2) offers it")
        offered = model.qualities
        self._set_qualities(offered)
        self.quality.setCurrentIndex(max(0, self.quality.findData(choices.quality)))
        self.loop.setChecked(choices.loop)
        self.loop.setToolTip(loop_tip(model))
        self._updating = False
        if choices.quality not in offered:
            # The new model lacks the chosen tier (fast): fall back to its standard tier.
            self._emit(quality="standard")
        if choices.sound and not model.sound:
            self._emit(sound=False)  # a request asks only for what its model can make
        # A preset that gives the same clip for every seed makes one; the user's count comes back
        # with the next preset that has takes to choose from.
        if one_clip and choices.variants > 1:
            self._held_variants = choices.variants
            self._emit(variants=1)
        elif not one_clip and self._held_variants and choices.variants == 1:
            held, self._held_variants = self._held_variants, 0
            self._emit(variants=held)

    def _show_variants(self, choices: Choices, model: ModelChoice) -> bool:
        """The variants count, or 1 and why (in short beside it, whole in its tooltip) where the
        preset makes one clip; True in that case."""
        preset = self._presets.get(choices.preset)
        reason = preset.one_clip_reason(model.family) if preset else ""
        self.variants.setValue(1 if reason else choices.variants)
        self.variants.setEnabled(not reason)
        self.variants.setSuffix(" · the same for every seed" if reason else "")
        self.variants.setToolTip(reason or VARIANTS_TIP)
        return bool(reason)

    def _set_qualities(self, offered: tuple[str, ...]) -> None:
        if tuple(self.quality.itemData(i) for i in range(self.quality.count())) == offered:
            return
        self.quality.clear()
        for name in offered:
            self.quality.addItem(name.capitalize(), name)
            self.quality.setItemData(self.quality.count() - 1, QUALITY_TIPS[name], Qt.ItemDataRole.ToolTipRole)

    # -- to the state -------------------------------------------------------------------------

    def _emit(self, **changes: Any) -> None:
        if not self._updating:
            self.changed.emit(changes)

    def _fps_moved(self, value: int) -> None:
        if self._limits is None:
            return
        native = self._limits.native_fps
        self._emit(fps=None if abs(value - native) < 0.5 else float(value))

    def _seed_moved(self, *_: object) -> None:
        self.seed.setEnabled(self.fixed_seed.isChecked())
        self._emit(seed=self.seed.value() if self.fixed_seed.isChecked() else None)

    def _fold(self, open_: bool) -> None:
        self.advanced.setArrowType(Qt.ArrowType.DownArrow if open_ else Qt.ArrowType.RightArrow)
        self.folded.setVisible(open_)
