"""The window's state in one observable object: the batch of photos and the user's choices.

Widgets write to it and redraw from its signals; none of them calls the engine. A request for a
photo is built here and nowhere else, so what the user sees is what gets rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import Enum
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QImage

from ..core.framing import Box
from ..core.settings import DEFAULTS
from ..core.request import GenerationRequest, random_seed
from .stored import Known, choice


class Status(str, Enum):
    LOADING = "loading"
    READY = "ready"
    QUEUED = "queued"
    RENDERING = "rendering"
    DONE = "done"
    PARTIAL = "partial"  # some of its variants came, then one failed
    FAILED = "failed"
    CANCELLED = "cancelled"
    HELD = "held"  # its job waits until the stopped queue is resumed


# A photo in one of these is on its way already: Generate leaves it alone.
BUSY = (Status.LOADING, Status.QUEUED, Status.RENDERING, Status.HELD)


def outcome(made: int, wanted: int, cancelled: bool, failure: str = "") -> tuple[Status, str]:
    """What a render got, as a photo's status and its words: never "done" unless every variant
    came."""
    if made >= wanted:
        return Status.DONE, "done"
    if cancelled:
        return Status.CANCELLED, f"cancelled after {made} of {wanted}" if made else "cancelled"
    if made:
        return Status.PARTIAL, f"{made} of {wanted} variants"
    return Status.FAILED, f"failed: {failure}" if failure else "failed"


@dataclass
class Photo:
    """One photo of the batch. Lives and changes on the GUI thread only."""

    path: str
    status: Status = Status.LOADING
    reason: str = ""  # why it failed, for its tooltip
    note: str = ""  # what its last render got ("cancelled after 1 of 2"); "" to show the status
    thumbnail: QImage | None = None  # for the strip
    preview: QImage | None = None  # about 1 MP, for the framing view
    size: tuple[int, int] = (0, 0)  # the photo's own size in pixels
    subject: Box | None = None
    crop_center: tuple[float, float] | None = None  # None: framed on the subject

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def state_text(self) -> str:
        return self.note or self.status.value


@dataclass(frozen=True)
class Choices:
    """What the user chose for the next render, the same for every photo of the batch."""

    preset: str = DEFAULTS.preset
    intensity: float = DEFAULTS.intensity
    prompt: str = ""  # "" or the user's words
    motion_prompt: str | None = None  # None: the preset's words for the chosen model
    duration: float = DEFAULTS.duration
    fps: float | None = DEFAULTS.fps  # None: the model's own rate
    aspect: str = DEFAULTS.aspect
    quality: str = DEFAULTS.quality
    variants: int = DEFAULTS.variants
    seed: int | None = None  # None: a new random seed per Generate
    model: str = ""  # "" until the app knows what can run here
    loop: bool = DEFAULTS.loop
    sound: bool = False  # with sound, where the chosen model makes it
    # The chosen model is too big for this machine and the user accepted the cost it states; it goes
    # with that model only: choosing another clears it.
    try_anyway: bool = False

    def request_for(self, photo: Photo, seed: int) -> GenerationRequest:
        return GenerationRequest(
            image=photo.path, preset=self.preset, intensity=self.intensity, prompt=self.prompt,
            motion_prompt=self.motion_prompt, duration=self.duration, fps=self.fps, aspect=self.aspect,
            quality=self.quality, seed=seed, variants=self.variants, model=self.model, loop=self.loop,
            crop_center=photo.crop_center, sound=self.sound, try_anyway=self.try_anyway,
        )

    @staticmethod
    def from_request(request: GenerationRequest) -> Choices:
        return Choices(preset=request.preset, intensity=request.intensity, prompt=request.prompt,
                       motion_prompt=request.motion_prompt,
                       duration=request.duration, fps=request.fps, aspect=request.aspect,
                       quality=request.quality, variants=request.variants, seed=request.seed,
                       model=request.model, loop=request.loop, sound=request.sound,
                       try_anyway=request.try_anyway)


class AppState(QObject):
    photosChanged = Signal()  # photos added, removed or reordered
    photoChanged = Signal(str)  # one photo's status, thumbnail or framing changed
    selectionChanged = Signal(str)  # "" when nothing is selected
    markedChanged = Signal()  # the photos selected in the list (Generate's) changed
    choicesChanged = Signal(object)  # the new Choices

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.photos: list[Photo] = []
        self.selected = ""
        self.marked: set[str] = set()  # the photos selected in the list; Generate renders these
        self.choices = Choices()

    # -- photos -------------------------------------------------------------------------------

    def photo(self, path: str) -> Photo | None:
        return next((photo for photo in self.photos if photo.path == path), None)

    def add_photos(self, paths: list[str]) -> list[Photo]:
        """Add photos not already in the batch; returns the new ones."""
        known = {photo.path for photo in self.photos}
        new = [Photo(path) for path in dict.fromkeys(paths) if path not in known]
        if new:
            self.photos.extend(new)
            self.photosChanged.emit()
            if not self.selected:
                self.select(new[0].path)
        return new

    def remove_photo(self, path: str) -> None:
        self.photos = [photo for photo in self.photos if photo.path != path]
        self.marked.discard(path)
        self.photosChanged.emit()
        if self.selected == path:
            self.select(self.photos[0].path if self.photos else "")

    def update_photo(self, path: str, **changes: Any) -> None:
        photo = self.photo(path)
        if photo is None:
            return  # removed meanwhile
        for name, value in changes.items():
            setattr(photo, name, value)
        self.photoChanged.emit(path)

    def update_photos(self, paths: list[str], **changes: Any) -> None:
        """The same change to many photos (a batch queued or dropped), announced once."""
        wanted = set(paths)
        touched = [photo for photo in self.photos if photo.path in wanted]
        for photo in touched:
            for name, value in changes.items():
                setattr(photo, name, value)
        if touched:
            self.photosChanged.emit()

    def select(self, path: str) -> None:
        if path != self.selected:
            self.selected = path
            self.selectionChanged.emit(path)

    def selected_photo(self) -> Photo | None:
        return self.photo(self.selected)

    def mark(self, paths: list[str]) -> None:
        if set(paths) != self.marked:
            self.marked = set(paths)
            self.markedChanged.emit()

    def targets(self) -> list[Photo]:
        """The photos Generate acts on: those selected in the list, else the current one."""
        marked = [photo for photo in self.photos if photo.path in self.marked]
        current = self.selected_photo()
        return marked or ([current] if current is not None else [])

    # -- choices ------------------------------------------------------------------------------

    def choose(self, **changes: Any) -> None:
        choices = replace(self.choices, **changes)
        if choices != self.choices:
            self.choices = choices
            self.choicesChanged.emit(choices)

    def requests(self, photos: list[Photo]) -> list[GenerationRequest]:
        """One request per photo, all with the same seed (fixed, or drawn now)."""
        seed = random_seed() if self.choices.seed is None else self.choices.seed
        return [self.choices.request_for(photo, seed) for photo in photos]

    # -- persistence --------------------------------------------------------------------------

    def save(self, settings: QSettings) -> None:
        settings.beginGroup("choices")
        for item in fields(Choices):
            value = getattr(self.choices, item.name)
            settings.setValue(item.name, "" if value is None else value)
        settings.endGroup()

    def restore(self, settings: QSettings, known: Known | None = None) -> None:
        """Choices from the last session; a value that no longer makes sense keeps its default
        (the window has said which: stored.check_settings)."""
        defaults, values = Choices(), {}
        settings.beginGroup("choices")
        for item in fields(Choices):
            raw = settings.value(item.name)
            if raw is None:
                continue
            try:
                values[item.name] = choice(item.name, raw, getattr(defaults, item.name), known)
            except ValueError:
                pass
        settings.endGroup()
        self.choices = replace(defaults, **values)
        self.choicesChanged.emit(self.choices)
