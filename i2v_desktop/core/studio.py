"""The one seam between a front end (the window, the command line, a batch) and everything behind it.

A front end holds a `Studio` and nothing else: it never imports an engine, the exporter or the
storage. What the Studio hands back is plain, frozen data from core. Whether it renders in this
process, in a worker process or elsewhere is decided where the app is wired (`app.py`); nothing
above the seam changes.

Calls marked *slow* read the disk, load models or encode video: a window makes them off the GUI
thread. The others are cheap and may be called as a slider moves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from .cancel import CancelToken
from .events import EventSink
from .presets import MotionPreset
from .record import ClipEntry, ClipRecord
from .request import GenerationRequest


@dataclass(frozen=True)
class Limits:
    """What a model can be asked for, as a front end offers it."""

    min_duration: float
    max_duration: float
    fps_range: tuple[float, float]
    native_fps: float

    def rate(self, fps: float | None) -> float:
        """The frame rate a job asking for `fps` renders at (None: the model's own)."""
        low, high = self.fps_range
        return self.native_fps if fps is None else min(max(float(fps), low), high)


@dataclass(frozen=True)
class ModelChoice:
    """One model a front end can offer, with what it needs to shape the controls for it.

    `installed` and `fits` are None until the disk and the machine have been looked at."""

    id: str
    name: str
    engine: str  # "instant" or "diffusion"
    family: str
    installed: bool | None
    fits: bool | None
    licence: str
    note: str  # one line: size, memory need, commercial use
    limits: Limits
    aspects: tuple[str, ...]
    qualities: tuple[str, ...]
    loop_note: str = ""  # why looping is experimental on this model, or ""
    frame_rule: str = "any"  # how the frame count snaps ("any", "4k+1", "8k+1")
    max_frames: int = 0

    def timing(self, duration: float, fps: float | None) -> tuple[int, float]:
        """(frames, fps) a job of `duration` seconds really renders on this model."""
        rate = self.limits.rate(fps)
        return frame_count(self.frame_rule, duration, rate, self.max_frames), rate


def frame_count(frame_rule: str, duration: float, fps: float, max_frames: int) -> int:
    """The frame count a model really renders for `duration` seconds at `fps`: the one snapping
    rule, shared by the engines' planner and every front end's display."""
    from .framing import snap_frames  # OpenCV comes with it: not on the way to a window

    if frame_rule == "any":
        return max(2, min(round(duration * fps), max_frames))
    return snap_frames(frame_rule, duration * fps, max_frames)


@dataclass(frozen=True)
class Machine:
    """What this machine is, once looked at (slow: it may probe the GPU)."""

    summary: str  # e.g. "NVIDIA GPU, 78 GB GPU memory free" or "no GPU (CPU only)"
    models: tuple[ModelChoice, ...]
    default_model: str


@dataclass(frozen=True)
class Saved:
    """A clip the history now holds, with its frames for immediate playback."""

    entry: ClipEntry
    frames: np.ndarray  # (T, H, W, 3) uint8, read-only
    fps: float
    thumbs: np.ndarray  # the history's small looping strip


@dataclass(frozen=True)
class ExportChoice:
    """One export format a front end can offer (Reels, TikTok, ...)."""

    id: str
    name: str
    description: str
    extension: str


@dataclass(frozen=True)
class ExportJob:
    """Export one clip in one format into a folder as STEM.EXT (never over an existing file)."""

    clip: Path
    preset: str  # an ExportChoice id
    folder: Path
    stem: str | None = None  # None: CLIP_PRESET
    # How to export it; the defaults are what a front end without these options wants.
    loop: bool | None = None  # None: as the clip's record says
    fps: float | None = None  # None: the preset's
    duration: float | None = None  # None: the clip's, lengthened to the platform's minimum
    fill: str = "frame"  # another aspect: "frame" around the subject, or "blur"
    extend: str = "repeat"  # how a short clip is lengthened: "repeat" or "boomerang"
    match_colour: bool = False  # pull the clip's colours back to its photo's


@dataclass(frozen=True)
class ExportReport:
    """How an `export_many` went: what was written, and one line for each clip that was not."""

    written: tuple[Path, ...] = ()
    failed: tuple[str, ...] = ()
    cancelled: bool = False
    notes: tuple[str, ...] = ()  # one line per file changed to meet its format (a GIF made smaller)


@dataclass(frozen=True)
class PostFraming:
    """How a platform's export frames a clip (export/social.py decides it), for a preview of the post."""

    size: tuple[int, int]  # the platform's frame, e.g. (1080, 1920)
    crop: tuple[int, int, int, int]  # (x, y, w, h): the part of each clip frame that is used
    fit: tuple[int, int] | None = None  # "blur" fill: the whole clip at this size over a blurred copy


ExportProgress = Callable[[int, float], None]  # (index of the job, fraction of it done)


@runtime_checkable
class Studio(Protocol):
    """Everything a front end asks of models, renders, history and export."""

    @property
    def fallback_model(self) -> str:
        """The model that runs anywhere, with no GPU and no weights (the instant engine)."""

    def models(self, look: bool = True) -> list[ModelChoice]:
        """Every model on offer. `look=False` skips the disk, for a window that must appear at once."""

    def model(self, model: str) -> ModelChoice:
        """A registry id or a local diffusers folder; raises ModelError naming it when unknown."""

    def machine(self) -> Machine:
        """*Slow.* Look at the machine: what it is, which models are here and fit, the default."""

    def presets(self) -> list[MotionPreset]:
        """The motion presets, built-in and the user's."""

    def motion_words(self, model: str, preset: str, intensity: float) -> str:
        """The words a preset adds to the prompt on this model's family (what `motion_prompt=None` means)."""

    def check(self, request: GenerationRequest) -> None:
        """Refuse, in one line, what cannot be made at all: a preset that does not exist (PresetError),
        what the request's model cannot make (RequestError). The rest is snapped, with a note."""

    def render(self, request: GenerationRequest, on_event: EventSink, cancel: CancelToken,
               on_saved: Callable[[Saved], object]) -> None:
        """*Slow.* Render every variant of `request` into the history; each saved clip is announced at
        once, every variant ends with one terminal event. Raises Cancelled when cancelled."""

    def clips(self, photo: str | None = None) -> list[ClipEntry]:
        """The history, oldest first; only the variants of `photo` when given."""

    def clip(self, entry_id: str) -> ClipEntry:
        """One clip of the history; raises KeyError when it is gone."""

    def star(self, entry_id: str, starred: bool) -> ClipEntry: ...

    def delete(self, entry_id: str) -> None:
        """Remove a clip from the history and its files from the disk."""

    def clip_files(self, entry: ClipEntry) -> tuple[Path, ...]:
        """The files a clip is made of, its MP4 first: what goes to the trash together."""

    def forget(self, entry_id: str) -> ClipEntry:
        """Take a clip out of the history and leave its files alone (a front end moved them to the
        trash); the entry it returns is what `restore` puts back."""

    def restore(self, entry: ClipEntry) -> ClipEntry:
        """Put a forgotten clip back as it was (id, time, star) once its files are back; one line
        naming the MP4 when it is not."""

    def thumbnails(self, entry: ClipEntry) -> np.ndarray:
        """*Slow.* The clip's small looping strip."""

    def load_clip(self, entry: ClipEntry) -> tuple[np.ndarray, float]:
        """*Slow.* The clip's frames and fps."""

    def read_record(self, clip: Path) -> ClipRecord:
        """*Slow.* The record an i2v clip carries; raises InputError naming the file when it has none."""

    def export_choices(self) -> list[ExportChoice]: ...

    def post_framing(self, preset: str, frame: np.ndarray, fill: str = "frame") -> PostFraming:
        """*Slow* (it may look for the subject). How an export in `preset` frames a clip whose first
        frame is `frame`; PresetError naming the preset when there is none."""

    def framed_photo(self, entry: ClipEntry, size: tuple[int, int]) -> np.ndarray:
        """*Slow.* The clip's photo framed as the clip was (its crop centre and shape) at `size`
        (width, height): the "before" of a before/after. InputError naming the photo if unreadable."""

    def export_many(self, jobs: Sequence[ExportJob], cancel: CancelToken,
                    on_progress: ExportProgress | None = None) -> ExportReport:
        """*Slow.* Export clips one after the other; a failed clip is reported and the rest go on;
        a cancel stops the current file at once (nothing of it is left) and the rest never start."""

    def prompts(self) -> list[str]:
        """The user's saved prompt phrases, newest first."""

    def save_prompt(self, phrase: str) -> None: ...

    def forget_prompt(self, phrase: str) -> None: ...

    def pasted_folder(self) -> Path:
        """Where an image pasted from the clipboard is kept as a file."""

    def save_queue(self, requests: Sequence[GenerationRequest]) -> None:
        """Keep the jobs still to render (atomically), so a killed app can offer to resume them."""

    def load_queue(self) -> list[GenerationRequest]:
        """The jobs a previous session left; unreadable ones are dropped with a logged line."""

    def close(self) -> None:
        """Stop what runs behind the seam (a worker process, loaded models)."""


__all__ = [
    "ExportChoice", "ExportJob", "ExportProgress", "ExportReport", "Limits", "Machine", "ModelChoice",
    "PostFraming", "Saved", "Studio", "frame_count",
]
