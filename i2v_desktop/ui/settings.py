"""The clip settings panel: motion preset and intensity, the user's words and the motion words,
the prompt library, the clip controls and Generate. Every control writes to the AppState and
shows what the state holds."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSettings, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ..core.errors import I2VError
from ..core.studio import Machine, ModelChoice, Studio
from . import modeltext
from .background import Background
from .controls import ClipControls
from .endframe import EndFrameRow
from .enhance import PromptImprover
from .generate import GenerateButtons
from .loras import LoraPanel
from .panel import Panel, heading, tool
from .presets import PresetPicker
from .state import AppState, Choices
from .worker import JobQueue


class SettingsPanel(Panel):
    """The right column: the settings scroll on a short screen; Generate stays below them, always
    on show."""

    generateRequested = Signal()
    compareRequested = Signal()  # "Compare…": the same photo through several models, presets or tiers
    manageRequested = Signal()  # the models page, asked for from beside the picker

    def __init__(self, state: AppState, studio: Studio, queue: JobQueue, background: Background,
                 settings: QSettings) -> None:
        super().__init__()
        self.state, self.studio, self.settings = state, studio, settings
        self._models: dict[str, ModelChoice] = {}  # by id, as last offered (plus local folders once read)
        self.try_box: QMessageBox | None = None  # the "Try anyway?" question while it is on show
        self.setMinimumWidth(290)
        self.setMaximumWidth(440)

        self.presets = PresetPicker()
        self.presets.set_presets(self.studio.presets())
        self.prompt = QPlainTextEdit()
        self.prompt.setAccessibleName("Prompt")
        self.prompt.setPlaceholderText("Describe the scene and the subject (the instant engine works from the "
                                       "photo alone)")
        self.prompt.setToolTip("What the diffusion model is asked for: your words, then the motion words below")
        self.prompt.setMaximumHeight(72)
        # The motion words live apart from the user's: empty means the preset's words for the
        # chosen model (shown greyed), so a clip re-rendered on another model gets that model's.
        self.motion = QLineEdit()
        self.motion.setAccessibleName("Motion words")
        self.motion.setToolTip("How the preset asks this model to move; type your own to replace them, "
                               "clear to use the preset's again")
        self.prompt_library = QComboBox()
        self.prompt_library.setAccessibleName("Saved prompts")
        self.prompt_library.setToolTip("Prompts you saved; pick one to use it")
        self.save_prompt = tool("Save", "Save this prompt to your library")
        self.forget_prompt = tool("Forget", "Remove the chosen prompt from your library")
        prompt_row = QHBoxLayout()
        prompt_row.addWidget(self.prompt_library, 1)
        prompt_row.addWidget(self.save_prompt)
        prompt_row.addWidget(self.forget_prompt)
        self.improver = PromptImprover(self.prompt, state, studio, background, self.chosen_model)
        self.improve_prompt = self.improver.button
        self.improver.message.connect(self.message)
        improve_row = QHBoxLayout()
        improve_row.addStretch(1)
        improve_row.addWidget(self.improve_prompt)
        self.controls = ClipControls(self.studio.presets())
        self.controls.manageRequested.connect(self.manageRequested)
        self.end_row = EndFrameRow(state, self.chosen_model, self.controls.loop, settings)
        self.end_row.refused.connect(self.say)
        self.loras = LoraPanel(state, studio, background, self.chosen_model, settings)
        self.loras.message.connect(self.message)
        self.generate_bar = GenerateButtons(state)
        self.generate_button, self.generate_all_button = self.generate_bar.generate, self.generate_bar.generate_all
        self.generate_button.clicked.connect(self.generateRequested)
        self.compare_button = tool("Compare…", "Render the selected photo with 2-4 models, presets or quality "
                                   "tiers, one seed, and compare the takes side by side")
        self.compare_button.clicked.connect(self.compareRequested)
        compare_row = QHBoxLayout()
        compare_row.addStretch(1)
        compare_row.addWidget(self.compare_button)
        inner = QWidget()
        column = QVBoxLayout(inner)
        column.setContentsMargins(0, 0, 6, 0)  # room between the fields and the scroll bar
        column.addWidget(heading("Motion"))
        column.addWidget(self.presets)
        column.addWidget(heading("Prompt"))
        column.addWidget(self.prompt)
        column.addLayout(improve_row)
        column.addWidget(self.motion)
        column.addLayout(prompt_row)
        column.addWidget(heading("Clip"))
        column.addWidget(self.controls)
        column.addWidget(heading("End on"))
        column.addWidget(self.end_row)
        column.addWidget(heading("LoRAs"))
        column.addWidget(self.loras)
        column.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidget(inner)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 0, 0, 0)
        layout.addWidget(self.scroll, 1)
        layout.addLayout(compare_row)
        layout.addWidget(self.generate_bar)
        # The scroll area does not pass on what its contents need: ask for it here, so that two
        # columns of motion cards always fit beside the scroll bar.
        bar = self.scroll.verticalScrollBar().sizeHint().width()
        self.setMinimumWidth(max(290, inner.minimumSizeHint().width() + bar + 6))

        state.choicesChanged.connect(self._show_choices)
        self.presets.presetChanged.connect(self._on_preset_changed)
        self.presets.intensityChanged.connect(lambda value: state.choose(intensity=value))
        self.prompt.textChanged.connect(lambda: state.choose(prompt=self.prompt.toPlainText().strip()))
        self.motion.textEdited.connect(lambda text: state.choose(motion_prompt=text.strip() or None))
        self.prompt_library.activated.connect(self._use_saved_prompt)
        self.save_prompt.clicked.connect(self._save_prompt)
        self.forget_prompt.clicked.connect(self._forget_prompt)
        self.controls.changed.connect(self._on_controls_changed)
        queue.machineKnown.connect(self._on_machine_known)
        self._refresh_prompts()

    def show_models(self) -> None:
        """The models this machine can offer before it has been checked (the state restored first)."""
        if not self.state.choices.model:
            self.state.choose(model=self.studio.fallback_model)
        self._offer(self.studio.models(look=False))
        self._show_choices(self.state.choices)

    def _offer(self, models: list[ModelChoice]) -> None:
        self._models = {model.id: model for model in models}
        self.controls.set_models(models, self.state.choices.model)

    def offer(self, models: list[ModelChoice]) -> None:
        """The models as read again (a download, a deletion, a folder added): the picker and its marks."""
        self._offer(models)
        self._show_choices(self.state.choices)
        self.loras.read_camera()  # a camera LoRA downloaded with its model is ready now

    def chosen_model(self, model: str) -> ModelChoice:
        """The chosen model's choice: one on offer, or a local folder read once (from its
        model_index.json and the closest registry entry). A folder that cannot be read shows the
        Instant engine's limits until Generate names the problem."""
        model = model or self.studio.fallback_model  # before the app has chosen
        if model not in self._models:
            try:
                self._models[model] = self.studio.model(model)
            except I2VError:
                return self.chosen_model(self.studio.fallback_model)
        return self._models[model]

    def motion_words(self, choices: Choices) -> str:
        """The words the preset gives the chosen model ("" for one that reads none)."""
        model = self.chosen_model(choices.model).id
        return self.studio.motion_words(model, choices.preset, choices.intensity)

    @Slot(object)
    def _show_choices(self, choices: Choices) -> None:
        self.presets.set_current(choices.preset)
        self.presets.set_intensity(choices.intensity)
        if self.prompt.toPlainText().strip() != choices.prompt:
            self.prompt.setPlainText(choices.prompt)
        if (self.motion.text().strip() or None) != choices.motion_prompt:
            self.motion.setText(choices.motion_prompt or "")
        words = self.motion_words(choices)
        self.motion.setPlaceholderText(words or "This model takes no motion words")
        self.motion.setEnabled(bool(words) or choices.motion_prompt is not None)
        self.controls.show_choices(choices, self.chosen_model(choices.model))
        self.end_row.refresh()  # after the controls: the loop checkbox says what an end photo excludes

    def _on_controls_changed(self, changes: dict[str, Any]) -> None:
        model = changes.get("model")
        if model is None or model == self.state.choices.model:
            self.state.choose(**changes)
            return
        choice = self.chosen_model(model)
        if modeltext.too_big(choice):
            self.ask_try_anyway(choice)  # never picked silently: the user weighs the cost first
            return
        # Another model has its own camera LoRA (or none): the preset's strength on it.
        self.state.choose(**changes, try_anyway=False, camera_lora=None)

    def ask_try_anyway(self, choice: ModelChoice) -> None:
        """A model too big for this machine: say why and what running it costs; accepting picks it
        with `try_anyway` set, declining keeps the model chosen before."""
        reason = choice.fit.reason if choice.fit else "it needs more memory than this machine has"
        cost = choice.fit.cost if choice.fit and choice.fit.cost else "much slower than on a machine it fits"
        before = self.chosen_model(self.state.choices.model)
        self.try_box = QMessageBox(QMessageBox.Icon.Warning, "Try anyway?",
                                   f"{choice.name} is too big for this machine: {reason}.\n\n"
                                   f"Running it anyway: {cost}.",
                                   QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        self.try_box.button(QMessageBox.StandardButton.Yes).setText("Try anyway")
        self.try_box.button(QMessageBox.StandardButton.No).setText(f"Keep {before.name}")
        self.try_box.setDefaultButton(QMessageBox.StandardButton.No)
        self.try_box.accepted.connect(
            lambda: self.state.choose(model=choice.id, try_anyway=True, camera_lora=None))
        self.try_box.rejected.connect(lambda: self._show_choices(self.state.choices))  # the picker back
        self.try_box.open()

    def _on_preset_changed(self, preset_id: str) -> None:
        # A new preset brings its own words and its own camera LoRA, at its own strength.
        self.state.choose(preset=preset_id, motion_prompt=None, camera_lora=None)

    @Slot(str, object)
    def _on_machine_known(self, summary: str, result: Any) -> None:
        if result is None:
            return
        machine: Machine = result
        first_run = self.settings.value("choices/model") is None
        self._offer(list(machine.models))
        if first_run:  # what this machine suggests (the window says so, and This machine why)
            self.state.choose(model=machine.default_model, quality=machine.default_quality, try_anyway=False)
        self._show_choices(self.state.choices)

    # -- prompt library -----------------------------------------------------------------------

    def _refresh_prompts(self) -> None:
        self.prompt_library.clear()
        phrases = self.studio.prompts()
        self.prompt_library.addItem("Saved prompts…" if phrases else "No saved prompts yet", "")
        for phrase in phrases:
            self.prompt_library.addItem(phrase if len(phrase) < 60 else phrase[:57] + "…", phrase)
            self.prompt_library.setItemData(self.prompt_library.count() - 1, phrase, Qt.ItemDataRole.ToolTipRole)
        self.forget_prompt.setEnabled(bool(phrases))

    def _use_saved_prompt(self, index: int) -> None:
        phrase = self.prompt_library.itemData(index)
        if phrase:
            self.prompt.setPlainText(phrase)

    def _save_prompt(self) -> None:
        try:
            self.studio.save_prompt(self.prompt.toPlainText())
        except (I2VError, OSError) as exc:
            self.say(str(exc), "warning")
            return
        self._refresh_prompts()

    def _forget_prompt(self) -> None:
        phrase = self.prompt_library.currentData()
        if phrase:
            try:
                self.studio.forget_prompt(phrase)
            except (I2VError, OSError) as exc:
                self.say(str(exc), "warning")
            self._refresh_prompts()
