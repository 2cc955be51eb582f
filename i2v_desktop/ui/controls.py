"""The right-hand panel's clip settings: aspect, duration and fps (as the model will snap them),
variants, seed, model, and the folded-away advanced settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core.presets import MotionPreset
from ..core.request import ASPECTS, MAX_SEED, MAX_VARIANTS, GenerationRequest
from ..engine.instant import INSTANT, NATIVE_FPS, plan_instant
from ..engine.plan import plan_render
from ..engine.registry import BASE_QUALITIES, Registry
from .state import Choices

INSTANT_MAX_S = 15.0
INSTANT_FPS = (8.0, 60.0)
LOOP_TIP = "End the clip where it began, for looping playback"


@dataclass(frozen=True)
class Limits:
    """What the chosen model can be asked for."""

    min_duration: float
    max_duration: float
    fps_range: tuple[float, float]
    native_fps: float


def limits(registry: Registry, model: str) -> Limits:
    if model == INSTANT or model not in registry.entries:
        return Limits(0.5, INSTANT_MAX_S, INSTANT_FPS, NATIVE_FPS)
    entry = registry.get(model)
    low, high = entry.fps_range
    return Limits(min(1.0, entry.max_frames / entry.fps), entry.max_frames / low, (low, high), entry.fps)


def qualities(registry: Registry, model: str) -> tuple[str, ...]:
    """The quality tiers the chosen model offers (fast only where it has a step-distilled tier)."""
    if model == INSTANT or model not in registry.entries:
        return BASE_QUALITIES
    return registry.get(model).qualities


QUALITY_TIPS = {
    "draft": "Lower resolution or fewer steps: explore takes fast",
    "standard": "The model's usual settings",
    "final": "Full quality; Finalize re-renders a pick with it",
    "fast": "4 steps without guidance, with a step-distilled LoRA (or a distilled model): several times faster",
}
def loop_tip(registry: Registry, model: str) -> str:
    """The loop checkbox's tooltip for a model: what a loop will be with it."""
    entry = registry.entries.get(model)
    note = entry.loop_note() if entry is not None else ""
    return f"{LOOP_TIP}.\n{note[0].upper()}{note[1:]}." if note else LOOP_TIP


def timing(registry: Registry, preset: MotionPreset, choices: Choices, size: tuple[int, int]) -> tuple[int, float]:
    """(frames, fps) the engine will really render for these choices: the same planning code it runs."""
    model = choices.model or INSTANT
    # A tier the model lacks is about to be replaced by the controls; frames do not depend on it.
    quality = choices.quality if choices.quality in qualities(registry, model) else "standard"
    request = GenerationRequest(image="photo", preset=choices.preset, duration=choices.duration, fps=choices.fps,
                                aspect=choices.aspect, quality=quality, model=model)
    if request.model == INSTANT or request.model not in registry.entries:
        plan = plan_instant(request, size, {})
        return plan.num_frames, plan.fps
    rendered = plan_render(registry.get(request.model), request, size, preset)
    return rendered.num_frames, rendered.fps


class ClipControls(QWidget):
    """Edits the clip part of Choices; emits `changed(dict)` with only the fields the user moved."""

    changed = Signal(dict)

    def __init__(self, registry: Registry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self._limits = limits(registry, INSTANT)
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
        self.fps.setToolTip("Frames per second (only what the model can do)")
        self.fps.valueChanged.connect(self._fps_moved)
        self.fps_label = QLabel()
        self.fps_label.setMinimumWidth(120)

        self.variants = QSpinBox()
        self.variants.setRange(1, MAX_VARIANTS)
        self.variants.setAccessibleName("Variants")
        self.variants.setToolTip("How many takes per photo (seeds seed, seed+1, …) to choose from")
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

        self.model = QComboBox()
        self.model.setAccessibleName("Model")
        self.model.setToolTip("Which engine renders: installed models, what fits this machine, licences")
        self.model.currentIndexChanged.connect(lambda _: self._emit(model=self.model.currentData()))
        self.model_note = QLabel()
        self.model_note.setWordWrap(True)
        self.model_note.setEnabled(False)

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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.advanced, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.folded)

    # -- model list ---------------------------------------------------------------------------

    def set_models(self, choices: list[Any], current: str) -> None:
        """Fill the picker from model choices (id, name, installed, fits, licence, note)."""
        self._updating = True
        self.model.clear()
        for choice in choices:
            marks = ["not installed"] if choice.installed is False else []
            if choice.fits is False:
                marks.append("too big for this machine")
            label = choice.name + (f" ({', '.join(marks)})" if marks else "")
            self.model.addItem(label, choice.id)
            tip = f"{choice.name}\nLicence: {choice.licence}\n{choice.note}"
            entry = self.registry.entries.get(choice.id)
            if entry is not None and entry.experimental_loop:
                note = entry.loop_note()
                tip += f"\n{note[0].upper()}{note[1:]}."
            self.model.setItemData(self.model.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self._choices = {choice.id: choice for choice in choices}
        self.model.setCurrentIndex(max(0, self.model.findData(current)))
        self._updating = False

    # -- from the state -----------------------------------------------------------------------

    def show_choices(self, choices: Choices, frames: int, fps: float) -> None:
        """Reflect `choices` without echoing changes back; (frames, fps) are the snapped values."""
        self._updating = True
        self._limits = lim = limits(self.registry, choices.model)
        for button in self.aspects.buttons():
            button.setChecked(button.property("aspect") == choices.aspect)
        self.duration.setRange(round(lim.min_duration * 10), round(lim.max_duration * 10))
        self.duration.setValue(round(min(max(choices.duration, lim.min_duration), lim.max_duration) * 10))
        self.duration_label.setText(f"{frames / fps:.2f} s · {frames} frames")
        low, high = lim.fps_range
        self.fps.setRange(round(low), round(high))
        self.fps.setValue(round(fps))
        self.fps.setEnabled(high > low)
        self.fps_label.setText(f"{fps:g} fps" + (" (fixed by this model)" if high <= low else ""))
        self.variants.setValue(choices.variants)
        self.fixed_seed.setChecked(choices.seed is not None)
        self.seed.setEnabled(choices.seed is not None)
        if choices.seed is not None:
            self.seed.setValue(min(choices.seed, self.seed.maximum()))
        self.model.setCurrentIndex(max(0, self.model.findData(choices.model)))
        choice = getattr(self, "_choices", {}).get(choices.model)
        self.model_note.setText(f"{choice.licence}" if choice else "")
        offered = qualities(self.registry, choices.model)
        self._set_qualities(offered)
        self.quality.setCurrentIndex(max(0, self.quality.findData(choices.quality)))
        self.loop.setChecked(choices.loop)
        self.loop.setToolTip(loop_tip(self.registry, choices.model))
        self._updating = False
        if choices.quality not in offered:
            # The new model lacks the chosen tier (fast): fall back to its standard tier.
            self._emit(quality="standard")

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
        native = self._limits.native_fps
        self._emit(fps=None if abs(value - native) < 0.5 else float(value))

    def _seed_moved(self, *_: object) -> None:
        self.seed.setEnabled(self.fixed_seed.isChecked())
        self._emit(seed=self.seed.value() if self.fixed_seed.isChecked() else None)

    def _fold(self, open_: bool) -> None:
        self.advanced.setArrowType(Qt.ArrowType.DownArrow if open_ else Qt.ArrowType.RightArrow)
        self.folded.setVisible(open_)
