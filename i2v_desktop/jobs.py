"""A render job as the command line and the window run it: request in, MP4 files out."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import __version__
from .core.cancel import CancelToken
from .core.clip import Clip
from .core.events import EventSink, Stage, StageChanged
from .core.framing import fit_image
from .core.image import load_image
from .core.presets import PresetLibrary
from .core.request import GenerationRequest
from .engine.base import Engine
from .engine.instant import InstantEngine
from .engine.registry import Registry
from .export.mp4 import write_mp4, write_sidecar
from .export.social import ExportLibrary, ExportPreset, export_clip
from .quality.scorecard import Scorecard, correct_colour, score_clip
from .storage.history import History, HistoryEntry, thumbnail_frames
from .storage.paths import data_dir
from .storage.queue import load_queue, save_queue

METADATA_KEY = "i2v_desktop"
CLIP_SCHEMA = "i2v_desktop.clip"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Output:
    mp4: Path
    sidecar: Path
    clip: Clip
    score: Scorecard | None = None


def clip_record(clip: Clip, score: Scorecard | None = None) -> dict:
    """What travels with a clip (MP4 metadata and sidecar): the request that reproduces it, what
    was done, and how the take holds up."""
    record = {
        "schema": CLIP_SCHEMA,
        "version": 1,
        "app": f"i2v_desktop {__version__}",
        "request": clip.request.to_dict(),
        "render": clip.info.to_dict(),
    }
    if score is not None:
        record["score"] = score.to_dict()
    return record


def score_against_photo(clip: Clip, still: bool = False) -> Scorecard | None:
    """The clip's scorecard against its photo, framed as the clip frames it.

    A scoring failure must not cost the user a finished render: it is logged and the clip goes
    out without a score. `still`: the preset is meant to barely move.
    """
    try:
        width, height = clip.size
        source = load_image(clip.request.image, max_pixels=max(4 * width * height, 2_000_000))
        framed, alpha, _ = fit_image(source, (width, height), clip.request.crop_center)
        mask = None if alpha is None else alpha.astype("float32") / 255.0
        score = score_clip(clip.frames, clip.fps, framed, mask, loop=clip.request.loop)
        if still and score.motion.flagged:
            # A static-camera or breathing preset is meant to barely move: say so, don't warn.
            score = replace(score, motion=replace(score.motion, flagged=False,
                                                  reason=f"{score.motion.reason} (as a still preset should)"))
        return score
    except Exception:
        log.exception("could not score %s", clip.request.image)
        return None


def read_record(path: Path) -> dict:
    """The record an i2v clip carries in its metadata, or its sidecar when the tags were lost
    (some editors and platforms strip them)."""
    from .core.errors import InputError
    from .export.mp4 import read_mp4_metadata

    tags = {key.lower(): value for key, value in read_mp4_metadata(path).items()}  # Matroska upper-cases keys
    text = tags.get(METADATA_KEY)
    sidecar = path.with_suffix(".json")
    if text is None and sidecar.is_file():
        text = sidecar.read_text(encoding="utf-8")
        try:  # an export's sidecar carries the clip's record among its tags
            exported = json.loads(text)
            if isinstance(exported, dict) and METADATA_KEY in exported.get("metadata", {}):
                text = exported["metadata"][METADATA_KEY]
        except ValueError:
            pass
    if text is None:
        raise InputError(f"{path}: not made by i2v_desktop (no settings in its metadata, no sidecar)")
    try:
        record = json.loads(text)
    except ValueError:
        raise InputError(f"{path}: its i2v_desktop metadata is damaged") from None
    if not isinstance(record, dict) or record.get("schema") != CLIP_SCHEMA:
        raise InputError(f"{path}: its metadata is not an i2v_desktop clip record")
    return record


def export_to(
    clip_path: Path,
    preset: ExportPreset,
    out_dir: Path,
    *,
    loop: bool | None = None,
    fps: float | None = None,
    duration: float | None = None,
    fill: str = "frame",
    extend: str = "repeat",
    match_colour: bool = False,
    on_progress: Callable[[float], None] | None = None,
    name: str | None = None,
) -> Path:
    """Export one clip for a platform into out_dir as `name`.EXT (default NAME_PRESET), carrying
    its record along; an existing file is never overwritten.

    `match_colour` pulls the clip's colours back to its photo's (for takes that drifted)."""
    from .core.errors import I2VError, InputError
    from .export.mp4 import read_frames

    frames, rate = read_frames(clip_path)
    try:
        record = read_record(clip_path)
    except I2VError:
        record = None  # not one of ours: exported all the same, without settings to carry
    if loop is None:
        loop = bool(record and record.get("request", {}).get("loop"))
    if match_colour:
        if record is None:
            raise InputError(f"{clip_path}: --match-colour needs the clip's photo, and this clip does not name it")
        request = GenerationRequest.from_dict(record["request"])
        height, width = frames.shape[1:3]
        photo = load_image(request.image, max_pixels=max(4 * width * height, 2_000_000))
        frames = correct_colour(frames, fit_image(photo, (width, height), request.crop_center)[0])
    metadata = {}
    if record is not None:
        metadata = {METADATA_KEY: json.dumps(record, ensure_ascii=False, sort_keys=True),
                    "comment": f"i2v_desktop {__version__}: exported for {preset.name}"}
    target = free_path(out_dir, name or f"{clip_path.stem}_{preset.id}", preset.extension)
    return export_clip(frames, rate or 24.0, preset, target, metadata=metadata, loop=loop, fps_override=fps,
                       duration=duration, fill=fill, extend=extend, on_progress=on_progress)


def output_stem(image: str, variant: int, variants: int) -> str:
    stem = Path(image).stem
    return f"{stem}_v{variant + 1}" if variants > 1 else stem


def free_path(folder: Path, stem: str, extension: str = ".mp4") -> Path:
    """NAME.mp4, or NAME-2.mp4, NAME-3.mp4… so an earlier file is never overwritten."""
    extension = extension if extension.startswith(".") else f".{extension}"
    candidate, n = folder / f"{stem}{extension}", 1
    while candidate.exists() or candidate.with_suffix(".json").exists():
        n += 1
        candidate = folder / f"{stem}-{n}{extension}"
    return candidate


def save_clip(
    clip: Clip, path: Path, crf: int = 18, encoder_preset: str = "medium", score: Scorecard | None = None
) -> Output:
    record = clip_record(clip, score)
    summary = (
        f"i2v_desktop {__version__}: {clip.request.preset} ({clip.request.intensity:g}), "
        f"model {clip.info.model}, seed {clip.info.seed}"
    )
    write_mp4(
        clip.frames,
        clip.fps,
        path,
        crf=crf,
        encoder_preset=encoder_preset,
        metadata={METADATA_KEY: json.dumps(record, ensure_ascii=False, sort_keys=True), "comment": summary},
    )
    sidecar = write_sidecar(path.with_suffix(".json"), record)
    return Output(path, sidecar, clip, score)


def render_to_files(
    engine: Engine,
    request: GenerationRequest,
    out_dir: Path,
    on_event: EventSink,
    cancel: CancelToken,
    crf: int = 18,
    on_saved: Callable[[Output], object] | None = None,
) -> list[Output]:
    """Render every variant of `request` into out_dir, best-scoring first. Each variant ends with
    one terminal event; `on_saved` hears of each file as soon as it is written."""
    outputs: list[Output] = []
    still = engine.presets.get(request.preset).still
    for index, single in enumerate(request.variant_requests()):
        if cancel.cancelled:
            break
        path = free_path(out_dir, output_stem(request.image, index, request.variants))

        def deliver(clip: Clip, path: Path = path) -> None:
            score = score_against_photo(clip, still=still)
            on_event(StageChanged(Stage.ENCODING_VIDEO, path.name))
            outputs.append(save_clip(clip, path, crf, engine.encoder_preset, score))
            if on_saved is not None:
                on_saved(outputs[-1])

        engine.run(single, on_event, cancel, deliver)
    # Variants best first: the take that holds up is the one the user looks at first.
    return sorted(outputs, key=lambda output: -(output.score.overall if output.score else -1.0))


class Engines:
    """The engines a session uses, made on first use and kept: a loaded pipeline is worth keeping."""

    def __init__(self, registry: Registry, presets: PresetLibrary, device: str | None = None,
                 offload: str = "auto", speed: str = "auto") -> None:
        self.registry, self.presets = registry, presets
        self.device, self.offload, self.speed = device, offload, speed
        self._made: dict[str, Engine] = {}

    def for_model(self, model: str) -> Engine:
        entry = self.registry.models.get(model)  # None: a local diffusers folder
        kind = "diffusion" if entry is None else entry.engine
        if kind not in self._made:
            if entry is not None and kind == "instant":
                self._made[kind] = InstantEngine(self.presets, entry)
            else:
                from .engine.diffusion import DiffusionEngine  # torch comes with it: only when needed

                self._made[kind] = DiffusionEngine(self.registry, self.presets, device=self.device,
                                                   offload=self.offload, speed=self.speed)
        return self._made[kind]

    def default_model(self) -> str:
        """The registry's default where it can run (weights here, and a GPU), else the one that runs anywhere."""
        from .engine.weights import is_downloaded

        entry = self.registry.get(self.registry.default)
        if not is_downloaded(entry):
            return self.registry.fallback
        from .engine.device import glance

        return entry.id if glance(self.device)[0] != "cpu" or self.device == "cpu" else self.registry.fallback

    def close(self) -> None:
        for engine in self._made.values():
            engine.close()


@dataclass(frozen=True)
class ModelChoice:
    """One line of the window's model picker: what it is, whether it is here and fits, its licence."""

    id: str
    name: str
    installed: bool | None  # None: the disk has not been looked at yet
    fits: bool | None  # None: not known yet (the machine has not been probed)
    licence: str
    note: str  # size, memory need, commercial use


@dataclass(frozen=True)
class Saved:
    """A clip the window's history now holds, with its frames for immediate playback."""

    entry: HistoryEntry
    frames: np.ndarray
    fps: float
    thumbs: np.ndarray  # the history's small looping strip


class Studio:
    """Everything the window asks of engines, history and export, behind one object.

    The window cannot import this module (it would reach torch); app.py makes a Studio and hands
    it over. `render`, `machine` and `export` run on worker threads, never the GUI thread.
    """

    def __init__(self, engines: Engines, history: History, export_presets: ExportLibrary,
                 data_folder: Path | None = None) -> None:
        self.engines, self.history, self.export_presets = engines, history, export_presets
        self.data_folder = data_folder  # None: the user's data folder (where the queue is kept)
        self.registry, self.presets = engines.registry, engines.presets
        self._device: str | None = None
        self._free_gb: float | None = None

    def render(
        self, request: GenerationRequest, on_event: EventSink, cancel: CancelToken,
        on_saved: Callable[[Saved], object],
    ) -> None:
        """Render every variant of `request` into the history; each saved clip is announced at once."""
        engine = self.engines.for_model(request.model)

        def keep(output: Output) -> None:
            clip = output.clip
            thumbs = thumbnail_frames(clip.frames, clip.fps, width=160, max_frames=24)  # about 1 MB
            entry = self.history.add(output.mp4, clip_record(clip, output.score), thumbs)
            on_saved(Saved(entry, clip.frames, clip.fps, thumbs))

        render_to_files(engine, request, self.history.new_clip_folder(), on_event, cancel, on_saved=keep)

    def machine(self) -> tuple[str, list[ModelChoice], str]:
        """Look at the machine (without loading torch): a one-line summary, the model choices with
        what fits, and the model to use by default."""
        from .engine.device import glance

        self._device, self._free_gb = glance(self.engines.device)
        free = f", {self._free_gb:.0f} GB free" if self._free_gb is not None else ""
        summary = {"cuda": "NVIDIA GPU", "mps": "Apple GPU", "cpu": "no GPU (CPU only)"}[self._device] + free
        return summary, self.model_choices(), self.default_model()

    def model_choices(self, look: bool = True) -> list[ModelChoice]:
        """Every model the picker offers. `look=False` skips the disk (the weights cache), for a
        window that must appear at once; `machine()` then fills in what is installed and fits."""
        from .engine.weights import is_downloaded

        choices = [ModelChoice(entry.id, entry.name, True, True, entry.licence, entry.summary)
                   for entry in self.registry.built_in.values()]
        for entry in self.registry.entries.values():
            need = min(entry.vram_gb.values())
            fits = None
            if self._device is not None:
                fits = self._device != "cpu" and (self._free_gb is None or need * 1.1 <= self._free_gb)
            note = f"{entry.download_gb:g} GB download, needs {need:g} GB of GPU memory. {entry.commercial}"
            installed = is_downloaded(entry) if look else None
            choices.append(ModelChoice(entry.id, entry.name, installed, fits, entry.licence, note))
        return choices

    def default_model(self) -> str:
        return self.engines.default_model()

    def load_clip(self, entry: HistoryEntry) -> tuple[np.ndarray, float]:
        from .export.mp4 import read_frames

        frames, fps = read_frames(entry.mp4)
        return frames, fps or float(entry.record.get("render", {}).get("fps", 24.0))

    def read_record(self, clip: Path) -> dict:
        return read_record(clip)

    def export(self, clip: Path, preset_id: str, out_dir: Path, name: str,
               on_progress: Callable[[float], None]) -> Path:
        return export_to(clip, self.export_presets.get(preset_id), out_dir, name=name, on_progress=on_progress)

    def save_queue(self, requests: Sequence[GenerationRequest]) -> None:
        """Keep the jobs still to render (atomically), so a killed app can offer to resume them."""
        save_queue(self._data_folder(), requests)

    def load_queue(self) -> list[GenerationRequest]:
        """The jobs a previous session left; unreadable ones are dropped with a logged line."""
        return load_queue(self._data_folder())

    def _data_folder(self) -> Path:
        return self.data_folder if self.data_folder is not None else data_dir()

    def close(self) -> None:
        self.engines.close()
