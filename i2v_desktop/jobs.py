"""A render job as the command line and the window run it: request in, MP4 files out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .core.cancel import CancelToken
from .core.clip import Clip
from .core.events import EventSink, Stage, StageChanged
from .core.request import GenerationRequest
from .engine.base import Engine
from .engine.instant import INSTANT, InstantEngine
from .engine.registry import Registry
from .core.presets import PresetLibrary
from .export.mp4 import write_mp4, write_sidecar

METADATA_KEY = "i2v_desktop"
CLIP_SCHEMA = "i2v_desktop.clip"


@dataclass(frozen=True)
class Output:
    mp4: Path
    sidecar: Path
    clip: Clip


def clip_record(clip: Clip) -> dict:
    """What travels with a clip (MP4 metadata and sidecar): the request that reproduces it, and what was done."""
    return {
        "schema": CLIP_SCHEMA,
        "version": 1,
        "app": f"i2v_desktop {__version__}",
        "request": clip.request.to_dict(),
        "render": clip.info.to_dict(),
    }


def output_stem(image: str, variant: int, variants: int) -> str:
    stem = Path(image).stem
    return f"{stem}_v{variant + 1}" if variants > 1 else stem


def free_path(folder: Path, stem: str) -> Path:
    """NAME.mp4, or NAME-2.mp4, NAME-3.mp4… so an earlier render is never overwritten."""
    candidate, n = folder / f"{stem}.mp4", 1
    while candidate.exists() or candidate.with_suffix(".json").exists():
        n += 1
        candidate = folder / f"{stem}-{n}.mp4"
    return candidate


def save_clip(clip: Clip, path: Path, crf: int = 18, encoder_preset: str = "medium") -> Output:
    record = clip_record(clip)
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
    return Output(path, sidecar, clip)


def render_to_files(
    engine: Engine,
    request: GenerationRequest,
    out_dir: Path,
    on_event: EventSink,
    cancel: CancelToken,
    crf: int = 18,
) -> list[Output]:
    """Render every variant of `request` into out_dir. Each variant ends with one terminal event."""
    outputs: list[Output] = []
    for index, single in enumerate(request.variant_requests()):
        if cancel.cancelled:
            break
        path = free_path(out_dir, output_stem(request.image, index, request.variants))

        def deliver(clip: Clip, path: Path = path) -> None:
            on_event(StageChanged(Stage.ENCODING_VIDEO, path.name))
            outputs.append(save_clip(clip, path, crf, engine.encoder_preset))

        engine.run(single, on_event, cancel, deliver)
    return outputs


class Engines:
    """The engines a session uses, made on first use and kept: a loaded pipeline is worth keeping."""

    def __init__(self, registry: Registry, presets: PresetLibrary, device: str | None = None,
                 offload: str = "auto") -> None:
        self.registry, self.presets = registry, presets
        self.device, self.offload = device, offload
        self._made: dict[str, Engine] = {}

    def for_model(self, model: str) -> Engine:
        kind = INSTANT if model == INSTANT else "diffusion"
        if kind not in self._made:
            if kind == INSTANT:
                self._made[kind] = InstantEngine(self.presets)
            else:
                from .engine.diffusion import DiffusionEngine  # torch comes with it: only when needed

                self._made[kind] = DiffusionEngine(self.registry, self.presets, device=self.device,
                                                   offload=self.offload)
        return self._made[kind]

    def default_model(self) -> str:
        """The registry's default where it can run (weights here, and a GPU), else the instant engine."""
        from .engine.weights import is_downloaded

        entry = self.registry.get(self.registry.default)
        if not is_downloaded(entry):
            return INSTANT
        from .engine.device import pick_device

        return entry.id if pick_device(self.device) != "cpu" or self.device == "cpu" else INSTANT

    def close(self) -> None:
        for engine in self._made.values():
            engine.close()
