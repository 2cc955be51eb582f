"""What the window does about models as a whole: the models page and This machine (opened from the
menus and the picker), what it says at start-up about the chosen model, and the picker read again
once a model's files change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QSettings, Signal, Slot
from PySide6.QtWidgets import QWidget

from ..core.studio import ModelChoice, ModelInfo, Studio
from . import modeltext
from .background import Background
from .machine import MachineDialog
from .models import ModelsPage
from .settings import SettingsPanel


class ModelDesk(QObject):
    message = Signal(str, str, object)  # as Panel.message: text, kind, action(s) or None

    def __init__(self, window: QWidget, studio: Studio, background: Background, panel: SettingsPanel,
                 settings: QSettings, *, remember: bool = True) -> None:
        super().__init__(window)
        self.window, self.studio, self.background = window, studio, background
        self.panel, self.settings, self.remember = panel, settings, remember
        self.page: ModelsPage | None = None
        self.machine_dialog: MachineDialog | None = None
        self.quality = ""  # the tier this machine suggests, once it has been looked at
        self._sizes: dict[str, float] = {}  # download sizes in GB, by model, once the models were read
        panel.manageRequested.connect(self.open_models)

    def open_models(self) -> ModelsPage:
        if self.page is None:
            self.page = ModelsPage(self.studio, self.window)
            self.page.changed.connect(self.refresh_picker)
        else:
            self.page.refresh()
        self.page.show()
        self.page.raise_()
        self.page.activateWindow()
        return self.page

    def open_machine(self) -> MachineDialog:
        if self.machine_dialog is not None:
            self.machine_dialog.close()
            self.machine_dialog.deleteLater()
        self.machine_dialog = MachineDialog(self.studio, self.background, self.quality, self.window)
        self.machine_dialog.show()
        return self.machine_dialog

    def refresh_picker(self) -> None:
        """A model was downloaded, deleted or added: the picker's list and marks read again (off the GUI thread)."""
        self.background.submit(self.studio.models, self.panel.offer, name="reading the models")

    # -- start-up --------------------------------------------------------------------------------

    @Slot(str, object)
    def on_machine_known(self, summary: str, result: Any) -> None:
        """After the settings panel has offered the models (and chosen the default at first start)."""
        if result is None:
            return
        self.quality = result.default_quality
        choice = self.panel.chosen_model(self.panel.state.choices.model)
        if not self.settings.value("machine/shown", False, type=bool):
            if self.remember:
                self.settings.setValue("machine/shown", True)
                self.settings.sync()
            self._say(f"This machine: {summary}. {choice.name} is chosen to start with.", "info",
                      ("This machine…", self.open_machine))
        if modeltext.too_big(choice) and not self.panel.state.choices.try_anyway:
            reason = choice.fit.reason if choice.fit else "it needs more memory than this machine has"
            fallback = self.panel.chosen_model(self.studio.fallback_model)
            self._say(f"{choice.name} is too big for this machine: {reason}", "warning",
                      [("Try anyway…", lambda: self.panel.ask_try_anyway(choice)),
                       (f"Use {fallback.name}", lambda: self.panel.state.choose(model=fallback.id,
                                                                                try_anyway=False))])
        elif choice.installed is False:
            # Its size is on the models page's rows: read them off the GUI thread, then say it.
            self.background.submit(self.studio.model_infos, lambda infos: self._not_downloaded(choice, infos),
                                   name="reading the models")

    def _not_downloaded(self, choice: ModelChoice, infos: list[ModelInfo]) -> None:
        self._sizes.update((info.id, info.download_gb) for info in infos)
        if self.panel.state.choices.model == choice.id:  # else the user chose another meanwhile
            self._say_not_downloaded(choice)

    def _say_not_downloaded(self, choice: ModelChoice) -> None:
        if self.page is not None and choice.id in self.page.rows:  # the page read them last
            self._sizes[choice.id] = self.page.rows[choice.id].info.download_gb
        size = f" ({self._sizes[choice.id]:g} GB)" if choice.id in self._sizes else ""
        self._say(f"{choice.name} is not downloaded{size}", "warning", ("Open Models", self.open_models))

    def may_render(self) -> bool:
        """Before Generate queues anything: a model known not to be downloaded is fetched from the
        models page (with its progress, pause and disk check), not by a render that starts a
        download of tens of GB unasked."""
        choice = self.panel.chosen_model(self.panel.state.choices.model)
        if choice.installed is False:
            self._say_not_downloaded(choice)
            return False
        return True

    def _say(self, text: str, kind: str, action: tuple[str, Callable[[], object]] | list[Any] | None) -> None:
        self.message.emit(text, kind, action)

    def shutdown(self) -> None:
        if self.page is not None:
            self.page.shutdown()
