"""The window's state in one observable object: the batch of photos and the user's choices.

Widgets write to it and redraw from its signals; none of them calls the engine. A request for a
photo is built here and nowhere else, so what the user sees is what gets rendered.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from enum import Enum
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QImage

from ..core.framing import Box
from ..core.keyframes import Framing
from ..core.settings import DEFAULTS
from ..core.request import MAX_LORAS, GenerationRequest, LoraUse, random_seed
from ..core.studio import CameraLora, LoraChoice
from .stored import Known, choice, lora_files


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
    # The photo this photo's clip ends on (models that can condition a last frame), or None.
    end_image: str | None = None
    # The instant engine's camera as framings of this photo: start, optional middle, end; () : the preset's.
    keyframes: tuple[Framing, ...] = ()

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
    # The user's own LoRAs in the render: the checked rows, and any that a restored clip names and
    # no listed file holds any more (kept, so that the render is refused with the reason rather than
    # made without it).
    loras: tuple[LoraUse, ...] = ()
    camera_lora: float | None = None  # None: the preset's camera LoRA at its own strength; 0: off

    def request_for(self, photo: Photo, seed: int, keyframes: bool = True) -> GenerationRequest:
        """`keyframes` False: the chosen model cannot follow the photo's keyframes; they stay with
        the photo and are not sent (the model would refuse the whole request)."""
        return GenerationRequest(
            image=photo.path, preset=self.preset, intensity=self.intensity, prompt=self.prompt,
            motion_prompt=self.motion_prompt, duration=self.duration, fps=self.fps, aspect=self.aspect,
            quality=self.quality, seed=seed, variants=self.variants, model=self.model, loop=self.loop,
            crop_center=photo.crop_center, sound=self.sound, try_anyway=self.try_anyway,
            loras=self.loras, camera_lora=self.camera_lora, end_image=photo.end_image,
            keyframes=photo.keyframes if keyframes else (),
        )

    @staticmethod
    def from_request(request: GenerationRequest) -> Choices:
        return Choices(preset=request.preset, intensity=request.intensity, prompt=request.prompt,
                       motion_prompt=request.motion_prompt,
                       duration=request.duration, fps=request.fps, aspect=request.aspect,
                       quality=request.quality, variants=request.variants, seed=request.seed,
                       model=request.model, loop=request.loop, sound=request.sound,
                       try_anyway=request.try_anyway, loras=request.loras, camera_lora=request.camera_lora)


@dataclass(frozen=True)
class LoraRow:
    """One row of the LoRA list as the window shows it: a file listed for the chosen model, or one
    the choices name that no listed file holds (`missing`)."""

    key: str  # the file's sha256; its path when it could not be read
    name: str
    path: str
    strength: float
    checked: bool  # in the next render
    usable: bool  # listed, and fits the chosen model
    reason: str = ""  # why it is not usable, one line
    expert: str = "both"
    size_bytes: int = 0
    base: str = ""
    missing: bool = False


class AppState(QObject):
    photosChanged = Signal()  # photos added, removed or reordered
    photoChanged = Signal(str)  # one photo's status, thumbnail or framing changed
    selectionChanged = Signal(str)  # "" when nothing is selected
    markedChanged = Signal()  # the photos selected in the list (Generate's) changed
    choicesChanged = Signal(object)  # the new Choices
    lorasChanged = Signal()  # the LoRA rows: listed again, checked, a strength moved
    loraFilesChanged = Signal()  # files to list besides the LoRA folder's were added or removed
    cameraChanged = Signal()  # what the preset's camera move uses on the chosen model

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.photos: list[Photo] = []
        self.selected = ""
        self.marked: set[str] = set()  # the photos selected in the list; Generate renders these
        self.choices = Choices()
        # The LoRA list, as the Studio last listed it for the chosen model, and what the user wants
        # of it by content (sha256): kept across lists, so a file that does not fit one model comes
        # back checked, at its strength, on the next model it fits.
        self.lora_files: tuple[str, ...] = ()  # picked with "Add LoRA files…", kept where they are
        self.lora_found: tuple[str, ...] = ()  # files restored choices named, listed for this session
        self.lora_listing: tuple[LoraChoice, ...] = ()
        self.lora_checking = ""  # the model a list is being made for; "" once the listing is current
        self.lora_error = ""  # why the last list could not be made
        self.lora_wanted: set[str] = set()
        self.lora_strengths: dict[str, float] = {}
        self.camera: CameraLora | None = None
        self.camera_error = ""  # why the camera LoRA could not be read
        self.follows_keyframes = True  # the chosen model follows keyframed framings (the instant engine)

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
        if "loras" in changes:  # a restored clip or the stored settings: these, and only these, wanted
            loras = tuple(changes["loras"])
            self.lora_wanted = {use.sha256 for use in loras}
            self.lora_strengths.update({use.sha256: use.strength for use in loras})
            found = tuple(use.path for use in loras if use.path not in self.lora_files + self.lora_found)
            if found:
                self.lora_found += found
                self.loraFilesChanged.emit()
        choices = replace(self.choices, **changes)
        if choices != self.choices:
            self.choices = choices
            self.choicesChanged.emit(choices)
        if "loras" in changes:
            self.lorasChanged.emit()

    def requests(self, photos: list[Photo]) -> list[GenerationRequest]:
        """One request per photo, all with the same seed (fixed, or drawn now)."""
        seed = random_seed() if self.choices.seed is None else self.choices.seed
        return [self.choices.request_for(photo, seed, self.follows_keyframes) for photo in photos]

    # -- LoRAs ---------------------------------------------------------------------------------

    def add_lora_files(self, paths: list[str]) -> list[str]:
        """Files picked elsewhere, listed from now on (and next start); returns those new to the list."""
        new = [path for path in dict.fromkeys(paths) if path not in self.lora_files]
        if new:
            self.lora_files += tuple(new)
            self.loraFilesChanged.emit()
        return new

    def remove_lora_file(self, path: str) -> None:
        """A picked file off the list: out of the render too (not left behind as missing)."""
        if path in self.lora_files or path in self.lora_found:
            self.lora_wanted -= {item.sha256 for item in self.lora_listing if item.path == path}
            self.lora_wanted -= {use.sha256 for use in self.choices.loras if use.path == path}
            self._apply_loras()
            self.lora_files = tuple(p for p in self.lora_files if p != path)
            self.lora_found = tuple(p for p in self.lora_found if p != path)
            self.loraFilesChanged.emit()

    def begin_lora_listing(self, model: str) -> None:
        """A list for `model` is on its way: the rows wait for it (what fits depends on the model)."""
        self.lora_checking = model
        self.lorasChanged.emit()

    def set_lora_listing(self, listing: list[LoraChoice], error: str = "") -> None:
        """The Studio's list for the chosen model: the choices keep what is wanted and fits it."""
        self.lora_listing, self.lora_checking, self.lora_error = tuple(listing), "", error
        self._apply_loras()

    def use_lora(self, key: str, on: bool) -> str:
        """Check or uncheck a row; the reason it cannot be checked, or ""."""
        if on and key not in self.lora_wanted and len(self.choices.loras) >= MAX_LORAS:
            return f"At most {MAX_LORAS} LoRAs go into one render: uncheck one first"
        (self.lora_wanted.add if on else self.lora_wanted.discard)(key)
        self._apply_loras()
        return ""

    def set_lora_strength(self, key: str, strength: float) -> None:
        self.lora_strengths[key] = strength
        self._apply_loras()

    def lora_strength(self, key: str) -> float:
        return self.lora_strengths.get(key, 1.0)

    def _apply_loras(self) -> None:
        if not self.lora_checking:  # while a list is on its way, what fits is not known
            loras = self._wanted_loras()
            if loras != self.choices.loras:
                self.choices = replace(self.choices, loras=loras)
                self.choicesChanged.emit(self.choices)
        self.lorasChanged.emit()

    def _wanted_loras(self) -> tuple[LoraUse, ...]:
        """The listed files wanted that fit the model, at their strengths, then the wanted files of
        the choices that no listed file holds (missing: the engine refuses them with the reason)."""
        listed = {item.sha256 for item in self.lora_listing if item.sha256}
        used: dict[str, LoraUse] = {}
        for item in self.lora_listing:
            if item.fits and item.sha256 in self.lora_wanted and item.sha256 not in used:
                used[item.sha256] = item.use(self.lora_strength(item.sha256))
        for use in self.choices.loras:
            if use.sha256 not in listed and use.sha256 in self.lora_wanted:
                used.setdefault(use.sha256, replace(use, strength=self.lora_strength(use.sha256)))
        return tuple(used.values())[:MAX_LORAS]

    def lora_rows(self) -> list[LoraRow]:
        """The rows as shown: each listed file once, then the missing ones of the choices."""
        used = {use.sha256: use for use in self.choices.loras}
        named = {use.path for use in self.choices.loras}
        found_only = set(self.lora_found) - set(self.lora_files)
        rows: list[LoraRow] = []
        unreadable: dict[str, str] = {}
        for item in self.lora_listing:
            key = item.sha256 or item.path
            if any(row.key == key for row in rows):
                continue  # the same file twice (in the folder and picked): one row
            if not item.sha256 and (item.path in named or item.path in found_only):
                # A file only a restored clip named, now unreadable: said on its missing row, if any.
                unreadable[item.path] = item.reason
                continue
            use = used.get(item.sha256) if item.sha256 else None
            strength = use.strength if use else self.lora_strength(key)
            rows.append(LoraRow(key, item.name, item.path, strength, use is not None, item.fits, item.reason,
                                item.expert, item.size_bytes, item.base))
        listed = {row.key for row in rows}
        for use in self.choices.loras:
            if use.sha256 in listed:
                continue
            if use.path in unreadable:
                why = f"missing: {unreadable[use.path]}"
            elif any(row.path == use.path for row in rows):
                why = f"missing: {use.path} has changed since (its content is not the one chosen)"
            else:
                why = f"missing: no LoRA listed here holds it (it was {use.path})"
            rows.append(LoraRow(use.sha256, use.name, use.path, use.strength, True, False, why, use.expert,
                                missing=True))
        return rows

    def set_camera(self, camera: CameraLora | None, error: str = "") -> None:
        self.camera, self.camera_error = camera, error
        self.cameraChanged.emit()

    # -- persistence --------------------------------------------------------------------------

    def save(self, settings: QSettings) -> None:
        settings.beginGroup("choices")
        for item in fields(Choices):
            value = getattr(self.choices, item.name)
            if item.name == "loras":  # text: Qt's own lists read back as one string when they hold one
                value = json.dumps([asdict(use) for use in value])
            settings.setValue(item.name, "" if value is None else value)
        settings.endGroup()
        settings.setValue("loras/extra", json.dumps(list(self.lora_files)))

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
        try:
            self.lora_files = tuple(lora_files(settings.value("loras/extra", "[]")))
        except ValueError:
            pass
        self.choices = replace(defaults, **values)
        self.lora_wanted = {use.sha256 for use in self.choices.loras}
        self.lora_strengths = {use.sha256: use.strength for use in self.choices.loras}
        self.lora_found = tuple(use.path for use in self.choices.loras if use.path not in self.lora_files)
        self.choicesChanged.emit(self.choices)
        self.loraFilesChanged.emit()
