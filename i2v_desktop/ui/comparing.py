"""Compare in one action: the selected photo rendered with 2-4 models, presets or quality tiers, the
current settings and one seed, then the takes side by side in the compare view.

`CompareDialog` asks what varies (models that cannot run here are listed greyed, with why);
`Comparing` queues one job per take and, once every one has ended, compares the saved takes (or
says in one line why there are too few)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ..core.errors import I2VError
from ..core.record import ClipEntry
from ..core.request import GenerationRequest, random_seed
from ..core.studio import ModelChoice
from . import modeltext
from .controls import QUALITY_TIPS
from .panel import plural
from .player import MAX_COMPARED
from .state import Choices, Photo
from .worker import Job

if TYPE_CHECKING:
    from .window import MainWindow

KINDS = {"model": "Models", "preset": "Presets", "quality": "Quality tiers"}
VALUE_ROLE = Qt.ItemDataRole.UserRole


def unavailable(model: ModelChoice) -> str:
    """Why a model cannot take part in a comparison here, or "" when it can."""
    if model.installed is False:
        return "not downloaded: Models… gets it"
    if modeltext.too_big(model):
        return "too big for this machine" + (f": {model.fit.reason}" if model.fit and model.fit.reason else "")
    return ""


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    why_not: str = ""  # why it cannot be chosen here; "" when it can
    tip: str = ""


class CompareDialog(QDialog):
    """Pick what varies, and 2-4 of it; `chosen()` → (kind, values) once accepted."""

    def __init__(self, options: dict[str, list[Option]], photo: str, current: dict[str, str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare takes")
        self.options, self.current = options, current
        self.kinds = QButtonGroup(self)
        kind_row = QHBoxLayout()
        for kind, text in KINDS.items():
            button = QRadioButton(text)
            button.setProperty("kind", kind)
            self.kinds.addButton(button)
            kind_row.addWidget(button)
        self.kinds.buttonClicked.connect(lambda _: self._fill())
        self.list = QListWidget()
        self.list.setAccessibleName("What to compare")
        self.list.itemChanged.connect(lambda _: self._count())
        self.count = QLabel()
        self.count.setProperty("note", True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Render {photo} once for each, with the current settings and one seed:"))
        layout.addLayout(kind_row)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.count)
        layout.addWidget(self.buttons)
        self.kinds.buttons()[0].setChecked(True)
        self._fill()
        self.resize(460, 380)

    def kind(self) -> str:
        return self.kinds.checkedButton().property("kind")

    def set_kind(self, kind: str) -> None:
        next(b for b in self.kinds.buttons() if b.property("kind") == kind).setChecked(True)
        self._fill()

    def _fill(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for option in self.options[self.kind()]:
            item = QListWidgetItem(option.label + (f" ({option.why_not})" if option.why_not else ""))
            item.setData(VALUE_ROLE, option.value)
            item.setToolTip(option.why_not or option.tip)
            if option.why_not:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled & ~Qt.ItemFlag.ItemIsUserCheckable)
            else:
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                checked = option.value == self.current.get(self.kind())
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            self.list.addItem(item)
        self.list.blockSignals(False)
        self._count()

    def check(self, values: list[str]) -> None:
        """Check exactly `values` (what a click on each does)."""
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.flags() & Qt.ItemFlag.ItemIsUserCheckable:
                on = item.data(VALUE_ROLE) in values
                item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def values(self) -> list[str]:
        return [item.data(VALUE_ROLE) for row in range(self.list.count())
                if (item := self.list.item(row)).checkState() == Qt.CheckState.Checked]

    def _count(self) -> None:
        n = len(self.values())
        fine = 2 <= n <= MAX_COMPARED
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(fine)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(f"Render {plural(n, 'take')}" if fine
                                                                        else "Render")
        self.count.setText(f"{n} chosen" + ("" if fine else f": choose 2 to {MAX_COMPARED}"))


def takes(choices: Choices, photo: Photo, kind: str, values: list[str], seed: int) -> list[GenerationRequest]:
    """One request per value: the current settings with that model, preset or tier, one clip each,
    all with `seed`. Another model (or preset) brings its own motion words and camera LoRA, as
    choosing it in the settings would."""
    requests = []
    for value in values:
        if kind == "model":
            varied = replace(choices, model=value, try_anyway=False, camera_lora=None)
        elif kind == "preset":
            varied = replace(choices, preset=value, motion_prompt=None, camera_lora=None)
        else:
            varied = replace(choices, quality=value)
        requests.append(replace(varied.request_for(photo, seed), variants=1))
    return requests


class Comparing(QObject):
    """The window's Compare… action: asks, queues the takes, and compares them once all have ended."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.dialog: CompareDialog | None = None  # while it is on show (tests drive it)
        self._jobs: dict[int, list[ClipEntry]] = {}  # the takes' job ids → what each saved
        self._ended: set[int] = set()
        window.queue.saved.connect(self._on_saved)
        window.queue.finished.connect(self._on_finished)  # after the panels': the strip holds the takes

    def options(self) -> dict[str, list[Option]]:
        studio, panel = self.window.studio, self.window.settings_panel
        choices = self.window.state.choices
        model = panel.chosen_model(choices.model)
        models = [Option(m.id, m.name, unavailable(m), m.note) for m in studio.models(look=True)]
        presets = [Option(p.id, p.name, "", getattr(p, "description", "")) for p in studio.presets()]
        tiers = [Option(q, q.capitalize(), "", QUALITY_TIPS.get(q, "")) for q in model.qualities]
        return {"model": models, "preset": presets, "quality": tiers}

    def open(self) -> None:
        photo = self.window.state.selected_photo()
        if photo is None:
            self.window.banner.show_message("Add a photo first: Compare renders the selected photo", "info")
            return
        choices = self.window.state.choices
        current = {"model": choices.model, "preset": choices.preset, "quality": choices.quality}
        self.dialog = CompareDialog(self.options(), photo.name, current, self.window)
        self.dialog.accepted.connect(lambda: self.start(self.dialog.kind(), self.dialog.values()))
        self.dialog.finished.connect(self._forget_dialog)
        self.dialog.open()

    def _forget_dialog(self, *_: Any) -> None:
        self.dialog = None

    def start(self, kind: str, values: list[str]) -> list[Job]:
        """Queue the takes of the selected photo: one per value, one seed."""
        state, say = self.window.state, self.window.banner.show_message
        photo = state.selected_photo()
        if photo is None or not 2 <= len(values) <= MAX_COMPARED:
            return []
        seed = random_seed() if state.choices.seed is None else state.choices.seed
        requests = takes(state.choices, photo, kind, values, seed)
        try:
            for request in requests:
                self.window.studio.check(request)
        except I2VError as exc:
            say(str(exc), "error")
            return []
        jobs = self.window.photos_panel.queue_takes(photo, requests)
        self._jobs.update({job.id: [] for job in jobs})
        return jobs

    @Slot(object, object)
    def _on_saved(self, job: Job, saved: Any) -> None:
        if job.id in self._jobs:
            self._jobs[job.id].append(saved.entry)

    @Slot(object, str)
    def _on_finished(self, job: Job, reason: str) -> None:
        if job.id not in self._jobs or job.held:
            return
        self._ended.add(job.id)
        # The takes of one Compare are queued together: they end together (or are dropped).
        batch = [jid for jid in self._jobs if jid not in self._ended and self._waiting(jid)]
        if batch:
            return
        entries = [entry for jid in sorted(self._jobs) for entry in self._jobs[jid]]
        wanted = len(self._jobs)
        self._jobs, self._ended = {}, set()
        if len(entries) >= 2:
            if len(entries) < wanted:
                self.window.banner.show_message(
                    f"Comparing {len(entries)} of {wanted} takes: the others failed or were cancelled", "warning")
            self.window.viewer.compare_clips(entries)
        else:
            self.window.banner.show_message(
                f"Nothing to compare: {plural(len(entries), 'take')} of {wanted} made; "
                "the others failed or were cancelled", "warning")

    def _waiting(self, job_id: int) -> bool:
        """Still to run or running (a take removed from the queue never ends: it counts as ended)."""
        queue = self.window.queue
        return (queue.current is not None and queue.current.id == job_id) or any(
            job.id == job_id for job in queue.pending)
