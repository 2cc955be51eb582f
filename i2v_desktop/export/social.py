"""Export for social platforms and editors: frame rate, length, framing, encoding.

A platform preset (export/presets.py) fixes the frame size, frame rate, codec and the platform's
limits. `export_clip` turns a clip into a file that meets it:

* frame rate by motion-compensated interpolation (export/interpolate.py), never by repeating frames;
* a clip shorter than the platform's minimum is extended: repeated whole if it loops by itself,
  else repeated with a cross-fade at the seam (or played forward and back, "boomerang");
* a clip of another shape is cropped around its subject, or shown whole over a blurred copy of
  itself: never stretched, never letterboxed with black;
* the clip's sound, where it has one, follows the picture: repeated with it, silent while a
  boomerang plays backwards, trimmed with it, never sped up or slowed down (export/audio.py);
* the request and scorecard travel in the container's metadata and in a JSON sidecar.

Python does the work that needs the whole clip (flow, timing, subject); ffmpeg does the per-pixel
work at output size (scaling, blur, colour conversion) and the encoding, streaming: frames go to
ffmpeg one at a time, so a 90 s Reel never sits in memory at 1080×1920.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..core.clip import Audio
from ..core.errors import ExportError
from .audio import AAC_RATE, checked_audio, encoder_samples, sound_input, timeline_samples
from .encode import estimated_bitrate, export_command, sound_codec
from .interpolate import Interpolator
from ..core.durable import hold, release
from .files import check_destination, commit, create_temp, remove
from .mp4 import checked_tags, ffmpeg_exe, frame_rate, run_ffmpeg, write_sidecar
from .plan import Layout, Timeline, plan_layout, plan_timeline
from .presets import (
    USER_FOLDER,
    ExportLibrary,
    ExportPreset,
    available_encoders,
    builtin_export_preset_dir,
    load_export_presets,
    output_fps,
    parse_export_preset,
)

# The rest of the app imports the presets, the plan and the command from here, as before they had
# modules of their own.
__all__ = [
    "USER_FOLDER", "ExportLibrary", "ExportPreset", "Layout", "Timeline", "available_encoders",
    "builtin_export_preset_dir", "export_clip", "export_command", "load_export_presets", "output_fps",
    "parse_export_preset", "plan_layout", "plan_timeline",
]

EXPORT_SCHEMA = "i2v_desktop.export"
FILLS = ("frame", "blur")
EXTENDS = ("repeat", "boomerang")
# Encoders that builds of ffmpeg may lack (libx264, prores_ks and gif are in every build we ship).
OPTIONAL_ENCODERS = frozenset({"libvpx-vp9", "libopus"})
# A platform's minimum length is met with this to spare: a file that lasts exactly 3.000 s is one
# rounding (of a frame, of the audio's last packet, of a remux) away from being refused.
MIN_DURATION_MARGIN = 0.1  # seconds
# A GIF over its preset's size cap is made again smaller (its frame rate and length are kept):
# at most this many times, each aiming a little under the cap, never below MIN_GIF_WIDTH.
GIF_SHRINKS = 3
GIF_SHRINK_AIM = 0.92
MIN_GIF_WIDTH = 160


# -- export ------------------------------------------------------------------------------------------


def export_clip(
    frames: np.ndarray,
    fps: float,
    preset: ExportPreset,
    path: Path,
    *,
    metadata: Mapping[str, str] | None = None,
    loop: bool = False,
    fps_override: float | None = None,
    duration: float | None = None,
    fill: str = "frame",
    extend: str = "repeat",
    subject: tuple[float, float] | None = None,
    on_progress: Callable[[float], None] | None = None,
    on_note: Callable[[str], None] | None = None,
    audio: Audio | None = None,
) -> Path:
    """Write `frames` ((T, H, W, 3) uint8 RGB at `fps`) to `path` as `preset` asks; return the name
    it was saved under: `path`, or NAME-2, NAME-3… when that name (or its sidecar's) is taken by
    then (an existing file is never replaced).

    loop: the clip loops by itself (its last frame leads into its first).
    fps_override: the output frame rate instead of the preset's.
    duration: the output's length in seconds (trimmed or extended), instead of "as long as the
        clip, extended to the preset's minimum".
    fill: "frame" crops at the preset's shape around the subject (`subject`, an (x, y) centre in
        0..1, or the first frame's subject); "blur" shows the whole clip over a blurred copy.
    extend: how a clip that does not loop by itself is lengthened: "repeat" (cross-faded seams)
        or "boomerang".
    on_progress: called with 0..1 as the export goes; an exception it raises (a cancel) stops the
        export and propagates, with nothing left behind.
    on_note: called with one line naming the file for a change the user did not ask for, made to
        meet the preset (a GIF made smaller to stay under its size cap).
    audio: the clip's sound: laid along the export's timeline and written as the preset's
        container allows (AAC; PCM beside ProRes; Opus in WebM; none in a GIF). Without it the
        file is exactly as before (a platform preset's silent track included).

    A JSON sidecar (the file's name with .json) always goes beside the file. Raises ExportError with one line
    naming the file and the reason for anything the user can fix (limits, folder, disk), and
    ValueError for arguments no user could have chosen.
    """
    path = Path(path)
    source_fps = _checked_arguments(frames, fps, preset, path, fill, extend, subject, duration)
    if path.suffix.lower() != preset.extension:
        raise ExportError(f"{path}: a {preset.name} export must be a {preset.extension} file")
    tags = checked_tags(metadata or {}, path)
    if audio is not None:
        audio = checked_audio(audio, path)
    rate = frame_rate(fps_override if fps_override is not None else output_fps(preset, source_fps), path)
    ffmpeg = ffmpeg_exe(path)
    if preset.codec in OPTIONAL_ENCODERS and preset.codec not in available_encoders(ffmpeg):
        raise ExportError(
            f"{path}: this ffmpeg has no {preset.codec} encoder, so {preset.name} cannot be made"
        )
    codec = None if audio is None else sound_codec(preset)
    if codec in OPTIONAL_ENCODERS and codec not in available_encoders(ffmpeg):
        raise ExportError(f"{path}: this ffmpeg has no {codec} encoder, so the clip's sound cannot go into {preset.name}")

    minimum = preset.min_duration + MIN_DURATION_MARGIN if preset.min_duration else 0.0
    length = duration
    if length is None and preset.min_duration and preset.min_duration <= len(frames) / source_fps < minimum:
        # A clip that already meets the minimum gets just the margin (its next frames, cross-faded
        # or looped as any extension), not a whole second pass: a 3 s clip stays about 3 s.
        length = minimum
    timeline = plan_timeline(
        len(frames), source_fps, rate, loop=loop, extend=extend, min_duration=minimum, duration=length
    )
    _check_limits(preset, timeline, path, requested=duration is not None)
    layout = plan_layout(frames[0], preset, fill, subject)
    estimate = estimated_bitrate(preset, layout.size, float(rate))
    if estimate is not None and preset.max_bitrate is not None and estimate > preset.max_bitrate:
        raise ExportError(
            f"{path}: {preset.name} allows {_mbps(preset.max_bitrate)}, "
            f"this export would need about {_mbps(estimate)}"
        )

    report = on_progress or (lambda fraction: None)
    report(0.0)
    sound = contextlib.nullcontext(None)
    if audio is not None and codec is not None:
        samples = timeline_samples(audio.samples, audio.rate, len(frames), source_fps, timeline)
        sound = sound_input(encoder_samples(samples, audio.rate, timeline.duration, codec), audio.rate, path)
    check_destination(path)
    tmp, final = create_temp(path), None
    held = hold(tmp)  # until the commit: the next start tells a killed writer's part from ours
    try:
        with sound as track:
            first, tries = layout.size, []
            for attempt in range(GIF_SHRINKS + 1):
                command = export_command(preset, ffmpeg, layout, rate, timeline.duration, tags, tmp, track)
                run_ffmpeg(command, _render(_work_frames(frames, layout), timeline, loop, report), path)
                size = os.path.getsize(tmp)
                tries.append((layout.size[0], size))
                if preset.max_bytes is None or size <= preset.max_bytes:
                    break
                if attempt == GIF_SHRINKS or layout.size[0] <= MIN_GIF_WIDTH:
                    raise ExportError(f"{path}: {preset.name} is capped at {_bytes(preset.max_bytes)}, "
                                      f"and even {layout.size[0]} px wide it came out at {_bytes(size)}; "
                                      "shorten the clip")
                layout = _smaller(layout, frames[0], preset, fill, subject, preset.max_bytes / size, tries)
                report = _held(report, 0.97)  # the new pass is not new progress
        bitrate = size * 8 / timeline.duration
        if preset.max_bitrate is not None and bitrate > preset.max_bitrate:
            raise ExportError(
                f"{path}: {preset.name} allows {_mbps(preset.max_bitrate)}, "
                f"the file came out at {_mbps(bitrate)}"
            )
        # The name is taken only now, and may be NAME-2 when another export took NAME meanwhile:
        # the sidecar follows the name the file got.
        final = commit(tmp, path, companions=(".json",))
        record = _sidecar_record(final, preset, frames, source_fps, layout, timeline, fill, bitrate, tags)
        record["audio"] = _sound_record(preset, codec, None if audio is None else audio.samples.shape[1])
        if layout.size != first:
            record["processing"]["size_cap"] = {"max_bytes": preset.max_bytes, "first_size": list(first)}
        write_sidecar(final.with_suffix(".json"), record)
    except BaseException:
        remove(tmp)
        if final is not None:  # its sidecar did not make it: the file must not stay without it
            remove(final)
        raise
    finally:
        release(held)
    if layout.size != first and on_note is not None:
        on_note(f"{final}: made {layout.size[0]}×{layout.size[1]} instead of {first[0]}×{first[1]} "
                f"to stay under {preset.name}'s {_bytes(preset.max_bytes or 0)} cap")
    report(1.0)
    return final


def _smaller(layout: Layout, first_frame: np.ndarray, preset: ExportPreset, fill: str,
             subject: tuple[float, float] | None, ratio: float, tries: list[tuple[int, int]]) -> Layout:
    """The layout of `preset` for `ratio` of the file size. A GIF's size grows as its width to a
    power from 2 (all pixels new in every frame) down toward 1 (small frames, where what each
    frame costs besides its pixels counts): 2 at first, then as the last two tries measured."""
    width, height = layout.size
    power = 2.0
    if len(tries) >= 2 and tries[-1][0] != tries[-2][0] and tries[-1][1] != tries[-2][1]:
        (w0, s0), (w1, s1) = tries[-2:]
        power = min(2.0, max(1.0, math.log(s1 / s0) / math.log(w1 / w0)))
    scale = max((ratio * GIF_SHRINK_AIM) ** (1 / power), MIN_GIF_WIDTH / width)
    smaller = dataclasses.replace(preset, width=round(width * scale), height=max(1, round(height * scale)))
    return plan_layout(first_frame, smaller, fill, subject)


def _held(report: Callable[[float], None], at: float) -> Callable[[float], None]:
    """A progress callback that stays at `at` (and still lets a cancel through)."""
    return lambda fraction: report(at)


def _checked_arguments(
    frames: Any,
    fps: Any,
    preset: Any,
    path: Path,
    fill: str,
    extend: str,
    subject: Any,
    duration: Any,
) -> float:
    if (
        not isinstance(frames, np.ndarray)
        or frames.dtype != np.uint8
        or frames.ndim != 4
        or frames.shape[-1] != 3
    ):
        shape = getattr(frames, "shape", type(frames).__name__)
        raise ValueError(f"{path}: frames must be a (T, H, W, 3) uint8 array, got {shape}")
    if len(frames) < 1:
        raise ValueError(f"{path}: there are no frames to export")
    if not isinstance(preset, ExportPreset):
        raise ValueError(f"{path}: preset must be an ExportPreset, got {type(preset).__name__}")
    if fill not in FILLS:
        raise ValueError(f"{path}: fill must be one of {', '.join(FILLS)}, got {fill!r}")
    if extend not in EXTENDS:
        raise ValueError(f"{path}: extend must be one of {', '.join(EXTENDS)}, got {extend!r}")
    if subject is not None and (
        not isinstance(subject, (tuple, list))
        or len(subject) != 2
        or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 <= v <= 1.0 for v in subject
        )
    ):
        raise ValueError(f"{path}: subject must be an (x, y) centre with both from 0 to 1, got {subject!r}")
    if duration is not None and (
        isinstance(duration, bool)
        or not isinstance(duration, (int, float))
        or not math.isfinite(duration)
        or duration <= 0
    ):
        raise ValueError(f"{path}: duration must be a positive number of seconds, got {duration!r}")
    return float(frame_rate(fps, path))


def _check_limits(preset: ExportPreset, timeline: Timeline, path: Path, requested: bool) -> None:
    seconds = timeline.duration
    half_frame = 0.5 / float(timeline.fps)  # a length is only ever a whole number of frames
    if seconds < preset.min_duration - half_frame:
        raise ExportError(
            f"{path}: {preset.name} needs at least {preset.min_duration:g} s, "
            f"the export would last {seconds:.2f} s"
        )
    if seconds > preset.max_duration + half_frame:
        hint = "" if requested else "; set a shorter duration to trim it"
        raise ExportError(
            f"{path}: {preset.name} allows at most {preset.max_duration:g} s, "
            f"the export would last {seconds:.2f} s{hint}"
        )


def _work_frames(frames: np.ndarray, layout: Layout) -> np.ndarray:
    """The part of the clip that is used, at the size the flow and the pipe work at."""
    x, y, w, h = layout.crop
    cropped = frames[:, y : y + h, x : x + w]  # a view: no copy of the clip
    if layout.work == (w, h):
        return cropped
    # Shrunk once here, with area averaging (ffmpeg would only see the frames after the flow).
    return np.stack([cv2.resize(frame, layout.work, interpolation=cv2.INTER_AREA) for frame in cropped])


def _render(
    work: np.ndarray, timeline: Timeline, loop: bool, report: Callable[[float], None]
) -> Iterator[np.ndarray]:
    interpolator = Interpolator(work, loop)
    total = len(timeline.steps)
    for index, step in enumerate(timeline.steps):
        frame = interpolator.frame_at(step.position)
        if step.blend_position is not None:
            other = interpolator.frame_at(step.blend_position)
            frame = cv2.addWeighted(frame, 1.0 - step.blend, other, step.blend, 0.0)
        yield np.ascontiguousarray(frame)
        # The last few percent are ffmpeg finishing the file after its last frame.
        report(0.97 * (index + 1) / total)


def _sidecar_record(
    path: Path,
    preset: ExportPreset,
    frames: np.ndarray,
    source_fps: float,
    layout: Layout,
    timeline: Timeline,
    fill: str,
    bitrate: float,
    tags: Mapping[str, str],
) -> dict[str, Any]:
    aspect_changed = layout.mode == "blur" or layout.crop[2:] != (frames.shape[2], frames.shape[1])
    return {
        "schema": EXPORT_SCHEMA,
        "version": 1,
        "file": path.name,
        "preset": preset.id,
        "container": preset.container,
        "codec": preset.codec,
        "width": layout.size[0],
        "height": layout.size[1],
        "fps": float(timeline.fps),
        "frames": len(timeline.steps),
        "duration": round(timeline.duration, 6),
        "bitrate": round(bitrate),
        "source": {
            "width": int(frames.shape[2]),
            "height": int(frames.shape[1]),
            "fps": source_fps,
            "frames": len(frames),
        },
        "processing": {
            "frame_rate": "interpolated" if timeline.interpolated else "unchanged",
            "extension": timeline.extension,
            "fill": fill if aspect_changed else "none",
            "crop": list(layout.crop) if layout.mode == "scale" else None,
        },
        "metadata": dict(tags),
    }


def _sound_record(preset: ExportPreset, codec: str | None, channels: int | None) -> dict[str, Any] | None:
    """The sidecar's account of the file's sound: the clip's, the platform's silence, or none."""
    if codec is not None and channels is not None:
        return {"source": "clip", "codec": codec, "rate": AAC_RATE, "channels": channels}
    if preset.audio:
        return {"source": "silence", "codec": "aac", "rate": AAC_RATE, "channels": 2}
    return None


def _bytes(size: float) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"


def _mbps(bits: float) -> str:
    return f"{bits / 1e6:.1f} Mbit/s" if bits >= 1e6 else f"{bits / 1e3:.0f} kbit/s"
