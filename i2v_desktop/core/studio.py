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

from .batch import BatchPlan, BatchReport, RowResult
from .cancel import CancelToken
from .events import EventSink
from .presets import MotionPreset
from .record import ClipEntry, ClipRecord
from .request import GenerationRequest, LoraUse


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


# How a model's memory need compares with this machine (`Fit.verdict`).
FITS = "fits"  # the fastest plan (everything on the GPU) fits
FITS_OFFLOADED = "fits with offload"  # a plan that moves weights to RAM fits: slower, still a GPU render
TOO_BIG = "too big"  # no plan fits (or no GPU): only "try anyway", at the cost it states
UNKNOWN = "unknown"  # the machine has not been looked at yet
VERDICTS = (FITS, FITS_OFFLOADED, TOO_BIG, UNKNOWN)


@dataclass(frozen=True)
class Fit:
    """A model's memory need against this machine: one verdict, said in one line, for every front end."""

    verdict: str  # one of VERDICTS
    reason: str  # one line, with the figures: "needs 24 GB with model offload; 80 GB free"
    # The GPU memory each memory plan needs, from the registry: ((plan label, GB), ...), fastest first.
    needs: tuple[tuple[str, float], ...] = ()
    # What running it anyway costs, for a "try anyway" to state ("" where it fits): e.g. "on the
    # processor, about 3 hours per 5 s clip".
    cost: str = ""

    @property
    def runs(self) -> bool | None:
        """Whether it renders here without a "try anyway" (None: not known yet)."""
        return None if self.verdict == UNKNOWN else self.verdict != TOO_BIG

    @property
    def memory(self) -> str:
        """The need per plan as every front end writes it (see `memory_text`)."""
        return memory_text(self.needs)


# The plans `memory_text` lists, in its order: the label a table column or a tooltip gives them.
MEMORY_PLANS = "full / model offload / group offload"


def memory_text(needs: tuple[tuple[str, float], ...]) -> str:
    """GPU memory per plan in one form for the window, `i2v models` and the README: "48 / 24 / 16 GB"
    (full / model offload / group offload, as MEMORY_PLANS says), "none" without a GPU need."""
    return " / ".join(f"{gb:g}" for _, gb in needs) + " GB" if needs else "none"


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
    fit: Fit | None = None  # None until the machine has been looked at; `fits` says the same in short
    sound: bool = False  # can make sound with the picture
    enhancer: bool = False  # ships a prompt enhancer ("Improve prompt")
    end_frame: bool = False  # can end on a chosen frame (a request's end_image)
    # One line: why it cannot end on a chosen frame, or that it is experimental; "" where it is a
    # published use.
    end_frame_note: str = ""
    needs_end_frame: bool = False  # renders only between two frames (or as a loop): Wan2.1 FLF2V

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
    # The model and quality tier a new user renders with: never a model that cannot run here.
    default_model: str
    default_quality: str = "standard"
    hardware: Hardware | None = None  # the profile the choice was made from


@dataclass(frozen=True)
class Hardware:
    """This machine as a model needs it (slow to read: it may load torch and probe the GPU)."""

    device: str  # "cuda", "mps" or "cpu": where a render runs
    gpu: str  # the GPU's name ("NVIDIA GeForce RTX 4090"), "" without one
    vram_gb: float | None  # the GPU's memory, None without one
    vram_free_gb: float | None
    compute_capability: str  # "8.9" on CUDA, "" elsewhere
    ram_gb: float | None  # host RAM, total
    ram_free_gb: float | None
    disk_free_gb: float | None  # free space where model downloads go
    cache_dir: str  # where model downloads go (the Hugging Face cache)
    torch: str  # the torch build: "2.13.0+cu130", "2.13.0+cpu", or "not installed"
    bf16: bool = False  # the GPU computes in bfloat16 natively


# A model's files as the disk has them (`ModelInfo.state`).
BUILT_IN = "built in"  # nothing to download (the instant engine)
NOT_DOWNLOADED = "not downloaded"
PARTLY_DOWNLOADED = "partly downloaded"  # an interrupted download: Download resumes it
READY = "ready"
UPDATE_AVAILABLE = "update available"  # an older revision is here, not the one this app pins
LOCAL_FOLDER = "local folder"  # the user's own folder or checkpoint
STATES = (BUILT_IN, NOT_DOWNLOADED, PARTLY_DOWNLOADED, READY, UPDATE_AVAILABLE, LOCAL_FOLDER)


@dataclass(frozen=True)
class ModelInfo:
    """One row of the models page and of `i2v models`: everything a user weighs before a download."""

    id: str
    name: str
    family: str
    summary: str  # what it is good at, one line
    licence: str
    commercial: str  # what the licence allows commercially, one line
    terms: str  # licence terms that depend on the user (revenue thresholds), "" where none
    download_gb: float  # everything `download` fetches (weights, fast-tier LoRA, tiny decoder)
    disk_bytes: int  # what its files take on this disk now (a partial download counts)
    state: str  # one of STATES
    fit: Fit
    gated: bool = False  # the repository asks the user to accept terms and log in first
    sound: bool = False
    enhancer: bool = False
    default: bool = False  # the model this machine renders with unless the user picks another
    path: str = ""  # the folder or checkpoint, for a LOCAL_FOLDER
    # What a download brings besides the weights, one line each, with its size, licence and whether it
    # is here: "camera LoRAs: Dolly In, Dolly Out, … (7 GB, LTX-2.x Community License Agreement), not
    # downloaded", the fast tier's LoRA, the tiny video decoder.
    addons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Transfer:
    """How a download is going (the window's progress bar and the command line's line say the same)."""

    done_bytes: int
    total_bytes: int
    bytes_per_s: float  # over the last few seconds; 0 until known
    eta_s: float | None  # None until a speed is known
    what: str  # the file or part being fetched


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


@dataclass(frozen=True)
class LoraChoice:
    """One of the user's LoRA files as a front end offers it for one model: read, hashed and checked.

    `fits` is False, with the one-line `reason`, when the file is not a LoRA this model can load: not
    a readable .safetensors file, a LoRA for another architecture ("a Wan 14B LoRA (5120-wide, 40
    blocks); Wan2.2 TI2V-5B is 3072-wide, 30 blocks"), or a model that takes no LoRAs."""

    path: str
    name: str  # the file's name
    sha256: str  # "" when the file could not be read
    size_bytes: int
    base: str  # what the file was made for, in words ("Wan 14B image-to-video", "LTX-2"); "" unknown
    layout: str  # how its keys are written: "diffusers", "Kohya/musubi", "ComfyUI/original", ""
    fits: bool
    reason: str = ""  # why it does not fit, one line; "" when it does
    expert: str = "both"  # the expert its name says it is for (a Wan2.2 A14B pair: "high", "low")

    def use(self, strength: float = 1.0) -> LoraUse:
        """The request entry that renders with this file at `strength`."""
        return LoraUse(self.path, self.sha256, strength, self.expert)


@dataclass(frozen=True)
class CameraLora:
    """What a preset's camera move uses on one model: its camera-control LoRA, or prompt words only."""

    id: str  # the LoRA's id in the registry; "" when the preset names none for this model
    name: str  # as shown: "LTX-2 Dolly In"
    strength: float  # the preset's own
    ready: bool  # downloaded: a render uses it (a render never downloads it midway)
    download_gb: float
    licence: str
    note: str  # one line for the user: what renders the move, and why when it is prompt words only


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

    def hardware(self) -> Hardware:
        """*Slow.* The hardware profile: GPU, its memory and compute capability, RAM, free disk, torch."""

    def model_infos(self) -> list[ModelInfo]:
        """*Slow.* Every model with its sizes, licence, state on disk and fit on this machine."""

    def download(self, model: str, on_progress: Callable[[Transfer], object], cancel: CancelToken) -> None:
        """*Slow.* Fetch a model's files into the download cache. Cancelling keeps what arrived, so
        pausing is a cancel and resuming is another call. Refuses, in one line naming both figures,
        when the free disk space is short of the size plus a margin; one line for a gated repo
        (how to log in), offline mode and network errors. Raises Cancelled when cancelled."""

    def remove(self, model: str) -> int:
        """Delete a model's downloaded files that no other model here uses; the bytes freed."""

    def use_folder(self, path: Path) -> ModelChoice:
        """Validate a diffusers folder or a single-file checkpoint the user already has and add it
        to their models; one line naming what is missing when it is not usable."""

    def enhance_prompt(self, model: str, image: str, prompt: str, cancel: CancelToken) -> str:
        """*Slow.* The model's prompt enhancer's rewrite of `prompt` for the photo `image`, for the
        user to read and edit before a render; ModelError when the model ships none."""

    def presets(self) -> list[MotionPreset]:
        """The motion presets, built-in and the user's."""

    def lora_folder(self) -> Path:
        """The folder the user drops their own LoRA files into (made when first asked for)."""

    def loras(self, model: str, extra: Sequence[str] = ()) -> list[LoraChoice]:
        """*Slow* (it hashes each file once). The .safetensors files in the LoRA folder, then the
        `extra` files picked elsewhere, each read and checked against `model`: a file that cannot
        be read or does not fit is listed too, with its one-line reason."""

    def camera_lora(self, model: str, preset: str) -> CameraLora:
        """The camera-control LoRA a preset's move uses on `model`, or why it is prompt words only."""

    def motion_words(self, model: str, preset: str, intensity: float) -> str:
        """The words a preset adds to the prompt on this model's family (what `motion_prompt=None` means)."""

    def check(self, request: GenerationRequest) -> None:
        """Refuse, in one line, what cannot be made at all: a preset that does not exist (PresetError),
        what the request's model cannot make (RequestError). The rest is snapped, with a note."""

    def framing_notes(self, request: GenerationRequest) -> list[str]:
        """What framing `request`'s photo into its clip will do badly, one line each: an enlargement
        past 4x (only blur), a crop that keeps less than half of the photo. Reads the photo's header
        only; InputError, naming the file, when it cannot be read as an image."""

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

    def read_batch(self, source: str, defaults: GenerationRequest, exports: Sequence[str] = (),
                   crf: int = 18) -> BatchPlan:
        """*Slow.* A catalogue to render: `source` is a manifest (.csv or .jsonl: a row per clip, the
        columns of core.batch.COLUMNS) or a folder (a row per photo in it). Each row is `defaults`
        with the row's own values over it; a row that cannot be made (a bad value, an unknown preset
        or model, a missing photo) is a BadRow with its one line. `source` may be an fsspec URL
        ("s3://bucket/catalogue.csv") where that storage's backend is installed. ManifestError
        naming the file when the manifest as a whole cannot be read."""

    def earlier_results(self, plan: BatchPlan, out: str) -> dict[int, RowResult]:
        """*Slow.* What an earlier run into `out` recorded for the rows of `plan`, by row number: a
        run skips the DONE ones (a front end says so, and shows them, before it starts). A row
        recorded done whose clips have since been deleted is FAILED, with that reason."""

    def run_batch(self, plan: BatchPlan, out: str, on_result: Callable[[RowResult], object], cancel: CancelToken,
                  workers: int | None = None, on_start: Callable[[int], object] | None = None) -> BatchReport:
        """*Slow.* Render every row of `plan` into `out` (a folder or an fsspec URL): clips, exports and
        sidecars, and results.csv written as each row ends. Rows an earlier run finished (same key)
        are skipped. A row that fails is one result and the others go on; a worker that dies has its
        row retried on another (a few times at most). `workers`: at most this many (default: one
        per GPU for diffusion models, one per core for the instant engine). `on_result` hears of
        each row as it ends, on the calling thread. A cancel stops starting rows and ends the running
        ones; the report then says `cancelled`. `on_start` hears of each row (its number) as it goes to
        a worker, on the calling thread (again when a lost worker's row is tried again)."""

    def close(self) -> None:
        """Stop what runs behind the seam (a worker process, loaded models)."""


__all__ = [
    "BatchPlan", "BatchReport", "RowResult",
    "BUILT_IN", "FITS", "FITS_OFFLOADED", "LOCAL_FOLDER", "NOT_DOWNLOADED", "PARTLY_DOWNLOADED", "READY", "STATES",
    "TOO_BIG", "UNKNOWN", "UPDATE_AVAILABLE", "VERDICTS",
    "CameraLora", "ExportChoice", "ExportJob", "LoraChoice", "ExportProgress", "ExportReport", "Fit", "Hardware", "Limits", "Machine",
    "MEMORY_PLANS", "ModelChoice", "ModelInfo", "PostFraming", "Saved", "Studio", "Transfer", "frame_count",
    "memory_text",
]
