"""A render job as the command line and the Studio run it: request in, MP4 files (with their
records) out; and the engines a session keeps."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .. import __version__
from ..core.cancel import CancelToken
from ..core.clip import Clip, FrameLender, FrameRing, RenderInfo
from ..core.durable import MAX_STEM_BYTES, fit_stem, numbered
from ..core.errors import ExportError, I2VError, InputError, ModelError, first_line
from ..core.events import EventSink, Stage, StageChanged
from ..core.framing import fit_image
from ..core.image import load_image
from ..core.presets import PresetLibrary, load_presets
from ..core.record import ClipRecord, photo_name
from ..core.request import GenerationRequest
from ..engine.base import Engine
from ..engine.instant import InstantEngine
from ..engine.registry import Registry
from ..export.container import read_video
from ..core.durable import clear_stale_parts
from ..export.files import remove
from ..export.mp4 import write_mp4, write_sidecar
from ..export.stream import Mp4Stream
from ..quality.scorecard import ClipScorer, Scorecard, build_colour_tables, score_clip, working_size
from .records import METADATA_KEY, make_record, read_record, record_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Output:
    mp4: Path
    sidecar: Path
    clip: Clip
    score: Scorecard | None = None


def score_against_photo(clip: Clip, still: bool = False, move: str | None = None) -> Scorecard | None:
    """The clip's scorecard against its photo, framed as the clip frames it (see photo_reference).

    A scoring failure must not cost the user a finished render: it is logged and the clip goes
    out without a score. `still`: the preset is meant to barely move; `move`: the camera move it
    asks for (scored as motion adherence).
    """
    return _scored(clip.request, lambda: _score(clip, still, move))


def _scored(request: GenerationRequest, score: Callable[[], Scorecard]) -> Scorecard | None:
    """`score()`, or None where it failed: logged in one line when the photo moved or broke since
    the render, with a traceback when it is a bug."""
    try:
        return score()
    except I2VError as exc:
        log.warning("could not score the clip: %s", exc)
        return None
    except Exception:
        log.exception("could not score %s", request.image)
        return None


def _score(clip: Clip, still: bool, move: str | None = None) -> Scorecard:
    framed, mask = photo_reference(clip.request, clip.size)
    return as_still(score_clip(clip.frames, clip.fps, framed, mask, loop=clip.request.loop, move=move), still)


def photo_reference(request: GenerationRequest, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray | None]:
    """The photo framed as a clip of `size` frames it, and its alpha as a matte (or None): what
    the scorecard compares the clip with.

    A JPEG larger than the clip is decoded and framed at twice the scores' working size (a 12 MP
    photo at 1/2 scale for a 1080×1920 clip), not at the clip's: a full-size decode and resize
    cost more than the scoring itself, and the scorer shrinks the reference by area averaging to
    its working size either way (the scores of the samples and of a 12 MP photo agree within
    0.01 with those against a full-size reference). A photo that could not be decoded smaller is
    framed at the clip's size as before: what a smaller frame saves is in the decode.
    """
    reduced = tuple(2 * side for side in working_size(*size))
    source = load_image(request.image, need=reduced)
    framed, alpha, _ = fit_image(source, size if source.size == source.original_size else reduced,
                                 request.crop_center)
    return framed, None if alpha is None else alpha.astype("float32") / 255.0


def as_still(score: Scorecard, still: bool) -> Scorecard:
    """A static-camera or breathing preset is meant to barely move: say so, don't warn."""
    if still and score.motion.flagged:
        return replace(score, motion=replace(score.motion, flagged=False,
                                             reason=f"{score.motion.reason} (as a still preset should)"))
    return score


# Frames in flight in a render whose frames are not kept: the encoder's backlog (export/stream.py)
# and the frame it converts, and as many again for the scorer to fall behind by on a busy core.
RING_SLOTS = 12


class TakeSink:
    """Where a render's frames go as the engine makes them: to the encoder, and to the
    scorecard's working copies on a thread of their own, while the photo it is compared with is
    decoded and framed on that thread too. Once the clip is complete, what is left is the
    scorecard's passes over the small copies and the final write of the file.

    `keep_frames` False: the caller needs only the file, so the engine renders into a ring of a
    few frames that this sink lends it (core.clip.FrameRing) instead of the whole clip's memory,
    and a frame's slot is used again once the encoder and the scorer have both read it."""

    def __init__(self, path: Path, crf: int, encoder_preset: str, request: GenerationRequest,
                 keep_frames: bool = True) -> None:
        self._keep = keep_frames
        self._ring: FrameRing | None = None
        self.video = Mp4Stream(path, crf, encoder_preset, on_read=self._read)
        self._request = request
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="take-score")
        # The engine's first steps (decoding the photo) leave the other core free: the colour
        # tables the scorer and the engine's subject finder both need are built there meanwhile.
        self._jobs: list[Future[None]] = [self._worker.submit(build_colour_tables)]
        self._scorer: ClipScorer | None = None
        self._shape = (0, 0, 0)  # the ring's slots, height and width

    def begin(self, width: int, height: int, fps: float, count: int) -> FrameLender | None:
        self.video.begin(width, height, fps, count)
        scorer = self._scorer = ClipScorer(width, height, count, fps)
        self._jobs.append(self._worker.submit(lambda: scorer.set_reference(*photo_reference(self._request,
                                                                                           (width, height)))))
        self._shape = (min(RING_SLOTS, count), height, width)
        return None if self._keep else self

    def lend(self, index: int) -> np.ndarray:
        # The ring is made when the engine first asks: an engine that has every frame already (a
        # diffusion model's) borrows nothing, and its frames are not the ring's to release.
        if self._ring is None:
            self._ring = FrameRing(*self._shape, readers=2)
        # An encoder that stopped (a full disk) will never read the frame a slot holds: its error
        # ends the wait. A scorer that failed still lets go of every frame (see _add).
        return self._ring.lend(index, self.video.check)

    def frame(self, index: int, frame: np.ndarray) -> None:
        self.video.frame(index, frame)
        self._jobs.append(self._worker.submit(self._add, index, frame))

    def _add(self, index: int, frame: np.ndarray) -> None:
        assert self._scorer is not None
        try:
            self._scorer.add(frame)
        finally:
            self._read(index)

    def _read(self, index: int) -> None:
        if self._ring is not None:
            self._ring.release(index)

    def score(self, clip: Clip, still: bool, move: str | None = None) -> Scorecard | None:
        """The clip's scorecard (None, logged, where scoring failed: the clip still goes out)."""

        def score() -> Scorecard:
            for job in self._jobs:
                job.result()
            assert self._scorer is not None
            return as_still(self._scorer.scorecard(clip.request.loop, move), still)

        return _scored(clip.request, score)

    def close(self) -> None:
        self._worker.shutdown(cancel_futures=True)
        self.video.close()


def score_file(path: Path, source: Path | None = None, loop: bool = False,
               on_note: Callable[[str], object] | None = None) -> Scorecard:
    """Score a video file against its photo: `source`, else the photo its record names.
    I2VError, naming the file, when it cannot be read or scored.

    A truncated clip is scored on the frames that play, with a note (`on_note`) saying how many of
    how many: motion, flicker and likeness are still true of what a viewer sees, but its loop seam
    would be measured at a frame that is not the clip's end, so it is left out."""
    video = read_video(path)
    try:
        record = photo_beside(read_record(path), path)
        request: GenerationRequest | None = record.request()
    except I2VError:
        record, request = None, None  # not one of ours: `source` says which photo
    declared = video.declared
    if declared is None and record is not None:  # a container without an index: our metadata says
        declared = record.render.get("num_frames") if isinstance(record.render.get("num_frames"), int) else None
    frames, fps = video.frames, video.fps
    truncated = declared is not None and len(frames) < declared
    if truncated and on_note is not None:
        on_note(f"{path}: truncated: {len(frames)} of {declared} frames; scored on those, without the loop seam")
    if request is None:
        if source is None:
            raise InputError(f"{path}: no --source given and the clip does not name its photo")
        request = GenerationRequest(image=str(source))
    elif source is None and not Path(request.image).is_file():
        raise InputError(f"{path}: its photo {request.image} is not next to it; name it with --source")
    if source is not None:
        request = replace(request, image=str(source.resolve()))
    if loop or truncated:
        request = replace(request, loop=loop and not truncated)
    height, width = frames.shape[1:3]
    info = RenderInfo("file", request.model, width, height, len(frames), fps or 24.0, 0, None, request.seed, "", "")
    try:
        # A clip of ours names its preset: a built-in one says which camera move to check for.
        move = None if record is None else getattr(load_presets().presets.get(request.preset), "move", None)
        return _score(Clip(frames, fps or 24.0, replace(request, variants=1), info), still=False, move=move)
    except I2VError as exc:  # the photo is missing or broken: its own one line says which and why
        raise InputError(f"{path}: cannot be scored: {exc}") from None


def output_stem(image: str, variant: int, variants: int, named: bool = False) -> str:
    """The file stem of a variant: the photo's stem (or `image` itself when `named`), with _vN;
    cut to fit a file name (core.durable.fit_stem) however long the photo's name."""
    stem = image if named else Path(image).stem
    suffix = f"_v{variant + 1}" if variants > 1 else ""
    return fit_stem(stem, MAX_STEM_BYTES - len(suffix)) + suffix


def free_path(folder: Path, stem: str, extension: str = ".mp4") -> Path:
    """NAME.mp4, or NAME-2.mp4, NAME-3.mp4… as free now: the name a file is meant to get. Only the
    commit (export.files.commit) takes a name, and it moves on to the next when another process
    took this one meanwhile, so the name to tell the user is the one the writer returns."""
    extension = extension if extension.startswith(".") else f".{extension}"
    stem = fit_stem(stem)
    n = 1
    while True:
        candidate = numbered(folder / f"{stem}{extension}", n)
        if not (candidate.exists() or candidate.with_suffix(".json").exists()):
            return candidate
        n += 1


def photo_name_only(clip: Clip) -> Clip:
    """The clip as its exported files describe it: the photo by its file name, not by where it
    lives on this machine (files travel; the full path stays in the private history)."""
    name = photo_name(clip.request.image)
    return clip if name == clip.request.image else replace(clip, request=replace(clip.request, image=name))


def photo_beside(record: ClipRecord, clip: Path) -> ClipRecord:
    """The record with its photo found: a clip's files name the photo by its file name only, and a
    photo of that name next to the clip is the one (a folder of photos and their clips). The
    record unchanged when its photo exists where it says, or cannot be found there."""
    photo = record.photo
    if photo is None or Path(photo).is_absolute() and Path(photo).is_file():
        return record
    beside = Path(clip).resolve().parent / photo_name(photo)
    return record.with_photo(str(beside)) if beside.is_file() else record


def save_clip(
    clip: Clip, path: Path, crf: int = 18, encoder_preset: str = "medium", score: Scorecard | None = None,
    encoded: Mp4Stream | None = None,
) -> Output:
    """Write the clip and its sidecar, as one: the clip takes `path` or the next free name
    (NAME-2.mp4…), the sidecar follows it, and a sidecar that cannot be written takes the clip
    with it (ExportError saying so): no clip is left without its record. `encoded`: the clip's
    picture, already encoded while it was rendered; then only the final file is written."""
    record = make_record(clip, score)
    summary = (
        f"i2v_desktop {__version__}: {clip.request.preset} ({clip.request.intensity:g}), "
        f"model {clip.info.model}, seed {clip.info.seed}"
    )
    metadata = {METADATA_KEY: record_text(record), "comment": summary}
    if encoded is None:
        assert clip.frames is not None, "a clip without its frames was encoded as it was rendered"
        saved = write_mp4(clip.frames, clip.fps, path, crf=crf, encoder_preset=encoder_preset, metadata=metadata,
                          audio=clip.audio)
    else:
        saved = encoded.finish(metadata, clip.audio)
    try:
        sidecar = write_sidecar(saved.with_suffix(".json"), record.to_dict())
    except BaseException as exc:
        remove(saved)
        if isinstance(exc, ExportError):
            raise ExportError(f"{saved}: not kept, its sidecar could not be written ({first_line(exc)})") from None
        raise
    return Output(saved, sidecar, clip, score)


def render_to_files(
    engine: Engine,
    request: GenerationRequest,
    out_dir: Path,
    on_event: EventSink,
    cancel: CancelToken,
    crf: int = 18,
    on_saved: Callable[[Output], object] | None = None,
    name: str | None = None,
    photo: str | None = None,
    private: bool = False,
    keep_frames: bool = True,
) -> list[Output]:
    """Render every variant of `request` into out_dir, best-scoring first. Each variant ends with
    one terminal event; `on_saved` hears of each file as soon as it is written (under the name it
    got: another process may have taken the one first chosen).

    `name`: the clips' file stem (default: the photo's). `photo`: where the clips' records say the
    photo is, when the engine reads a local copy of it (a batch's photo on object storage).
    `private`: out_dir is the history's, so the files may name the photo by its full path; files
    for the user's own folder name it by its file name only. `keep_frames` False: the outputs'
    clips come without their frames where the engine makes them one by one (a caller that needs
    only the files saves the memory of the whole clip; see TakeSink)."""
    clear_stale_parts(out_dir)  # what a render killed here earlier left behind
    outputs: list[Output] = []
    preset = engine.presets.get(request.preset)
    for index, single in enumerate(request.variant_requests()):
        if cancel.cancelled:
            break
        path = free_path(out_dir, output_stem(name or request.image, index, request.variants, named=name is not None))
        # Encoded and scored while the engine renders (for an engine that makes frames one by one).
        take = TakeSink(path, crf, engine.encoder_preset, single, keep_frames)

        def deliver(clip: Clip, path: Path = path, take: TakeSink = take) -> None:
            score = take.score(clip, preset.still, preset.move)
            if photo is not None:
                clip = replace(clip, request=replace(clip.request, image=photo))
            if not private:
                clip = photo_name_only(clip)
            on_event(StageChanged(Stage.ENCODING_VIDEO, path.name))
            outputs.append(save_clip(clip, path, crf, engine.encoder_preset, score, encoded=take.video))
            if on_saved is not None:
                on_saved(outputs[-1])

        try:
            engine.run(single, on_event, cancel, deliver, sink=take)
        finally:
            take.close()
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
                from ..engine.diffusion import DiffusionEngine  # torch comes with it: only when needed

                self._made[kind] = DiffusionEngine(self.registry, self.presets, device=self.device,
                                                   offload=self.offload, speed=self.speed)
        return self._made[kind]

    def enhance_prompt(self, model: str, image: str, prompt: str, cancel: CancelToken) -> str:
        """The model's prompt enhancer's rewrite of `prompt` for `image`, on the engine that renders
        the model (its loaded pipeline is reused); one line when the model ships none."""
        entry = self.registry.resolve(model)
        if not entry.enhancer:
            raise ModelError(f"{entry.name} ships no prompt enhancer")
        return self.for_model(model).enhance_prompt(model, image, prompt, lambda event: None, cancel)

    def close(self) -> None:
        for engine in self._made.values():
            engine.close()
