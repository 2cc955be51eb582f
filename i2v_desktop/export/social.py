"""Export for social platforms and editors: presets, frame rate, length, framing, encoding.

A platform preset (resources/export_presets/*.json, or the user's own in the config folder with the
same format) fixes the frame size, frame rate, codec and the platform's limits. `export_clip` turns
a clip into a file that meets it:

* frame rate by motion-compensated interpolation (export/interpolate.py), never by repeating frames;
* a clip shorter than the platform's minimum is extended: repeated whole if it loops by itself,
  else repeated with a cross-fade at the seam (or played forward and back, "boomerang");
* a clip of another shape is cropped around its subject, or shown whole over a blurred copy of
  itself: never stretched, never letterboxed with black;
* the request and scorecard travel in the container's metadata and in a JSON sidecar.

Python does the work that needs the whole clip (flow, timing, subject); ffmpeg does the per-pixel
work at output size (scaling, blur, colour conversion) and the encoding, streaming: frames go to
ffmpeg one at a time, so a 90 s Reel never sits in memory at 1080×1920.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
import re
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import cv2
import numpy as np

from ..core.errors import ExportError, PresetError
from ..core.framing import Box, crop_box, subject_box
from ..core.image import SourceImage
from ..core.presets import Library, load_data_file, load_data_files
from .interpolate import Interpolator, frame_positions
from .mp4 import (
    COLOUR_TAGS,
    MOV_MUXER,
    X264_PRESETS,
    atomic_output,
    checked_tags,
    ffmpeg_exe,
    ffmpeg_url,
    frame_rate,
    run_ffmpeg,
    write_sidecar,
)

USER_FOLDER = "export_presets"  # under the config folder: storage.paths.config_dir() / USER_FOLDER
EXPORT_SCHEMA = "i2v_desktop.export"
FILLS = ("frame", "blur")
EXTENDS = ("repeat", "boomerang")
MAX_SIZE = 8192
MAX_FPS = 240
# Codecs each container may carry, and the pixel formats, profiles and quality range each codec takes.
CONTAINERS: Mapping[str, tuple[str, ...]] = {
    "mp4": ("libx264",),
    "mov": ("prores_ks", "libx264"),
    "webm": ("libvpx-vp9",),
    "gif": ("gif",),
}
PIX_FMTS: Mapping[str, tuple[str, ...]] = {
    "libx264": ("yuv420p",),  # 4:2:0 8-bit: what every phone and platform decodes
    "prores_ks": ("yuv422p10le",),
    "libvpx-vp9": ("yuv420p",),
    "gif": (),
}
PROFILES: Mapping[str, tuple[str, ...]] = {
    "libx264": ("main", "high"),
    "prores_ks": ("0", "1", "2", "3"),  # proxy, LT, 422, HQ (4444 would need 4:4:4 input)
    "libvpx-vp9": (),
    "gif": (),
}
CRF_RANGES: Mapping[str, tuple[int, int]] = {"libx264": (1, 51), "libvpx-vp9": (0, 63)}
VP9_SPEEDS = tuple(str(n) for n in range(9))  # libvpx's -cpu-used: 0 slowest/best .. 8 fastest
# ProRes data rates per pixel per frame, from Apple's ProRes white paper (1920×1080 at 29.97 fps:
# proxy 45, LT 102, 422 147, HQ 220 Mbit/s): ProRes has no rate control, so this is the estimate.
PRORES_BITS_PER_PIXEL = {"0": 0.72, "1": 1.64, "2": 2.37, "3": 3.54}
# Encoders that builds of ffmpeg may lack (libx264, prores_ks and gif are in every build we ship).
OPTIONAL_ENCODERS = frozenset({"libvpx-vp9"})
CROSSFADE_S = 0.5  # the seam of a repeated clip that does not loop by itself
AAC_BITRATE = "128k"
AAC_RATE = 48000
# ffmpeg's AAC encoder starts every track with one frame of priming (1024 samples, 21 ms at 48 kHz).
# Without an edit list to skip it, the priming plays from time 0; the silence is made that much
# shorter, so priming and silence together last exactly as long as the video.
AAC_PRIMING = 1024
# A platform's minimum length is met with this to spare: a file that lasts exactly 3.000 s is one
# rounding (of a frame, of the audio's last packet, of a remux) away from being refused.
MIN_DURATION_MARGIN = 0.1  # seconds
# A GIF over its preset's size cap is made again smaller (its frame rate and length are kept):
# at most this many times, each aiming a little under the cap, never below MIN_GIF_WIDTH.
GIF_SHRINKS = 3
GIF_SHRINK_AIM = 0.92
MIN_GIF_WIDTH = 160
# The blurred backdrop is made at 1/8 of the output size: the blur hides the difference, at a
# fraction of the cost.
BACKDROP_SCALE = 8
BACKDROP_SIGMA = 6.0  # at backdrop scale: about 50 px at full size
BACKDROP_SHADE = 0.55  # darkened, so the sharp clip stands out in front of it
_BITRATE = re.compile(r"^(\d+(?:\.\d+)?)([kKmM]?)$")


# -- presets -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportPreset:
    """One export target. None for width/height/fps means "the clip's own"; a preset with only a
    width keeps the clip's shape at that width."""

    id: str
    name: str
    description: str
    container: str  # mp4 | mov | webm | gif
    codec: str  # libx264 | prores_ks | libvpx-vp9 | gif
    width: int | None
    height: int | None
    fps: float | None
    pix_fmt: str | None
    profile: str | None
    crf: int | None
    speed: str | None  # x264's -preset, or libvpx's -cpu-used
    maxrate: int | None  # bits/s: the encoder's VBV cap
    bufsize: int | None  # bits
    gop_seconds: float | None  # a closed GOP (keyframe interval) of this length
    audio: bool  # a silent AAC 48 kHz stereo track (platforms treat a video without one oddly)
    min_duration: float  # seconds
    max_duration: float
    max_bitrate: int | None  # bits/s, the platform's limit; None: no limit
    source: str = ""  # the file it came from
    b_frames: int | None = None  # the most consecutive B-frames (x264's -bf); None: the encoder's own
    # Clip frame rates kept as they are; a clip at any other rate is interpolated to `fps`.
    keep_rates: tuple[float, ...] = ()
    max_bytes: int | None = None  # the file's size cap (GIF): over it, the GIF is made smaller
    reference: str = ""  # where the platform's limits and recommendations come from

    @property
    def extension(self) -> str:
        return "." + self.container


def parse_export_preset(data: Any, source: str) -> ExportPreset:
    """Validate one preset's JSON into an ExportPreset; a PresetError names `source` and the reason."""

    def fail(why: str) -> PresetError:
        return PresetError(f"{source}: {why}")

    def section(value: Any, name: str, keys: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise fail(f"{name} must be a JSON object")
        unknown = sorted(set(value) - keys)
        if unknown:
            raise fail(f"unknown key(s) {', '.join(f'{name}.{key}' for key in unknown)}")
        return value

    def number(value: Any, name: str, low: float, high: float, *, whole: bool = False) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise fail(f"{name} must be a number")
        if whole and value != int(value):
            raise fail(f"{name} must be a whole number")
        if not low <= value <= high:
            raise fail(f"{name} must be from {low:g} to {high:g}, got {value:g}")
        return value

    def text(value: Any, name: str, allowed: Sequence[str]) -> str | None:
        if value is None:
            return None
        if value not in allowed:
            raise fail(f"{name} must be one of {', '.join(allowed)}" if allowed else f"{name} must be null")
        return str(value)

    def bitrate(value: Any, name: str, unit: str = "bits per second") -> int | None:
        if value is None:
            return None
        match = _BITRATE.match(value) if isinstance(value, str) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            bits = float(value)
        elif match:
            bits = float(match[1]) * {"": 1, "k": 1e3, "m": 1e6}[match[2].lower()]
        else:
            raise fail(f'{name} must be {unit}, as a number or text like "25M" or "128k"')
        if bits < 1000:
            raise fail(f"{name} must be at least 1k {unit}")
        return int(bits)

    top = section(data, "preset", {"id", "name", "description", "container", "video", "audio", "limits",
                                   "reference"})
    pid = top.get("id")
    if (
        not isinstance(pid, str)
        or not pid
        or not all(c.isalnum() or c == "-" for c in pid)
        or pid != pid.lower()
    ):
        raise fail("id must be lowercase letters, digits and dashes")
    for key in ("name", "description"):
        if not isinstance(top.get(key), str) or not top[key].strip():
            raise fail(f"{key} must be non-empty text")
    container = top.get("container")
    if not isinstance(container, str) or container not in CONTAINERS:
        raise fail(f"container must be one of {', '.join(CONTAINERS)}")
    video_keys = {
        "codec",
        "width",
        "height",
        "fps",
        "pix_fmt",
        "profile",
        "crf",
        "speed",
        "maxrate",
        "bufsize",
    }
    video = section(top.get("video"), "video", video_keys | {"gop_seconds", "b_frames", "keep_rates"})
    codec = video.get("codec")
    if not isinstance(codec, str) or codec not in CONTAINERS[container]:
        raise fail(f"video.codec must be one of {', '.join(CONTAINERS[container])} in {container}")
    width = number(video.get("width"), "video.width", 16, MAX_SIZE, whole=True)
    height = number(video.get("height"), "video.height", 16, MAX_SIZE, whole=True)
    if codec != "gif" and any(side is not None and side % 2 for side in (width, height)):
        raise fail("video.width and video.height must be even (4:2:0 and 4:2:2 video)")
    fps = number(video.get("fps"), "video.fps", 1, MAX_FPS)
    pix_fmt = text(video.get("pix_fmt"), "video.pix_fmt", PIX_FMTS[codec])
    if PIX_FMTS[codec] and pix_fmt is None:
        raise fail(f"video.pix_fmt must be one of {', '.join(PIX_FMTS[codec])}")
    profile = text(video.get("profile"), "video.profile", PROFILES[codec])
    if codec == "prores_ks" and profile is None:
        raise fail(f"video.profile must be one of {', '.join(PROFILES[codec])}")
    crf_range = CRF_RANGES.get(codec)
    if crf_range is None:
        if video.get("crf") is not None:
            raise fail(f"video.crf must be null: {codec} has no constant-quality mode")
        crf = None
    else:
        crf = number(video.get("crf"), "video.crf", *crf_range, whole=True)
        if crf is None:
            raise fail(f"video.crf must be a whole number from {crf_range[0]} to {crf_range[1]}")
    speeds = {"libx264": X264_PRESETS, "libvpx-vp9": VP9_SPEEDS}.get(codec, ())
    speed = text(video.get("speed"), "video.speed", speeds)
    maxrate = bitrate(video.get("maxrate"), "video.maxrate")
    bufsize = bitrate(video.get("bufsize"), "video.bufsize")
    if codec != "libx264" and (maxrate or bufsize):
        raise fail("video.maxrate and video.bufsize apply to libx264 only")
    if (maxrate is None) != (bufsize is None):
        raise fail("video.maxrate and video.bufsize go together")
    gop = number(video.get("gop_seconds"), "video.gop_seconds", 0.1, 60)
    if codec in ("gif", "prores_ks") and gop is not None:
        raise fail(f"video.gop_seconds must be null: every {codec} frame stands alone")
    b_frames = number(video.get("b_frames"), "video.b_frames", 0, 16, whole=True)
    if codec != "libx264" and b_frames is not None:
        raise fail("video.b_frames applies to libx264 only")
    keep = video.get("keep_rates", [])
    if not isinstance(keep, list):
        raise fail("video.keep_rates must be a list of frame rates")
    keep_rates = tuple(float(number(rate, "video.keep_rates", 1, MAX_FPS) or 0) for rate in keep)
    if keep_rates and fps is None:
        raise fail("video.keep_rates needs video.fps, the rate for clips at any other rate")
    reference = top.get("reference", "")
    if not isinstance(reference, str):
        raise fail("reference must be text")
    audio = top.get("audio", False)
    if not isinstance(audio, bool):
        raise fail("audio must be true or false")
    if audio and container not in ("mp4", "mov"):
        raise fail("audio (a silent AAC track) is only for mp4 and mov")
    limits = section(top.get("limits"), "limits", {"min_duration", "max_duration", "max_bitrate", "max_size"})
    min_duration = number(limits.get("min_duration"), "limits.min_duration", 0, 86400)
    max_duration = number(limits.get("max_duration"), "limits.max_duration", 0.1, 86400)
    if min_duration is None or max_duration is None:
        raise fail("limits.min_duration and limits.max_duration are required (seconds)")
    if max_duration < min_duration:
        raise fail("limits.max_duration must not be below limits.min_duration")
    max_bitrate = bitrate(limits.get("max_bitrate"), "limits.max_bitrate")
    max_bytes = bitrate(limits.get("max_size"), "limits.max_size", "bytes")
    if max_bytes is not None and codec != "gif":
        raise fail("limits.max_size applies to gif only (the other codecs have max_bitrate)")
    if maxrate is not None and max_bitrate is not None and maxrate > max_bitrate:
        raise fail("video.maxrate must not exceed limits.max_bitrate")
    return ExportPreset(
        id=pid,
        name=top["name"].strip(),
        description=top["description"].strip(),
        container=container,
        codec=codec,
        width=None if width is None else int(width),
        height=None if height is None else int(height),
        fps=None if fps is None else float(fps),
        pix_fmt=pix_fmt,
        profile=profile,
        crf=None if crf is None else int(crf),
        speed=speed,
        maxrate=maxrate,
        bufsize=bufsize,
        gop_seconds=None if gop is None else float(gop),
        audio=audio,
        min_duration=float(min_duration),
        max_duration=float(max_duration),
        max_bitrate=max_bitrate,
        source=source,
        b_frames=None if b_frames is None else int(b_frames),
        keep_rates=keep_rates,
        max_bytes=max_bytes,
        reference=reference.strip(),
    )


def load_export_preset_file(path: Path) -> ExportPreset:
    return load_data_file(path, parse_export_preset)


def builtin_export_preset_dir() -> Path:
    return Path(str(resources.files("i2v_desktop") / "resources" / "export_presets"))


ExportLibrary = Library[ExportPreset]


def load_export_presets(user_dir: Path | None = None) -> ExportLibrary:
    """Built-in export presets, then the user's from `user_dir` (normally
    storage.paths.config_dir() / USER_FOLDER)."""
    presets, problems = load_data_files(builtin_export_preset_dir(), user_dir, parse_export_preset)
    return Library("export preset", MappingProxyType(presets), problems)


@functools.lru_cache(maxsize=4)
def available_encoders(ffmpeg: str) -> frozenset[str]:
    """The video and audio encoders this ffmpeg binary has (`ffmpeg -encoders`)."""
    try:
        result = subprocess.run(
            [ffmpeg, "-hide_banner", "-nostdin", "-encoders"],
            stdin=subprocess.DEVNULL, capture_output=True, check=False, timeout=30,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return frozenset()
    names = set()
    for line in result.stdout.decode("utf-8", errors="replace").splitlines():
        parts = line.split()
        # Lines look like " V....D libx264   libx264 H.264 / AVC ...": six capability flags, a name.
        if len(parts) >= 2 and len(parts[0]) == 6 and parts[0][0] in "VAS":
            names.add(parts[1])
    return frozenset(names)


# -- the plan: timing and framing ----------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One output frame: the source frame at `position` (fractional: interpolated), cross-faded
    toward the one at `blend_position` by `blend` (0..1) at a repeat's seam."""

    position: float
    blend_position: float | None = None
    blend: float = 0.0


@dataclass(frozen=True)
class Timeline:
    steps: tuple[Step, ...]
    fps: Fraction
    extension: str  # none | loop | repeat | boomerang | trim
    interpolated: bool  # some step falls between source frames

    @property
    def duration(self) -> float:
        return len(self.steps) / float(self.fps)


def plan_timeline(
    count: int,
    src_fps: float,
    dst_fps: Fraction,
    *,
    loop: bool,
    extend: str = "repeat",
    min_duration: float = 0.0,
    duration: float | None = None,
) -> Timeline:
    """The output frames of a `count`-frame clip at `dst_fps`, made at least `min_duration` long,
    or exactly `duration` long when given (trimmed or extended).

    The clip is first converted to the new rate (same length, frames at fractional source
    positions), then extended: a clip that loops by itself is repeated; otherwise it is repeated
    with a cross-fade at each seam ("repeat") or played forward then backward ("boomerang", with
    neither end frame shown twice in a row). Without `duration` an extension ends on a natural
    boundary: the end of a pass, not mid-motion.
    """
    rate = float(dst_fps)
    base = [float(p) for p in frame_positions(count, src_fps, rate, loop)]
    total = len(base)
    interpolated = any(abs(p - round(p)) >= 1e-3 for p in base)
    if duration is not None:
        wanted = max(1, round(duration * rate))
    else:
        wanted = max(total, math.ceil(min_duration * rate - 1e-6))
    if wanted <= total:
        steps = [Step(p) for p in base[:wanted]]
        return Timeline(tuple(steps), dst_fps, "none" if wanted == total else "trim", interpolated)

    if loop:
        kind, cycle = "loop", [Step(p) for p in base]
        natural = total * math.ceil(wanted / total)
        steps = [cycle[i % total] for i in range(natural if duration is None else wanted)]
    elif extend == "boomerang" and total >= 2:
        # 0 1 … n-1 n-2 … 1 | 0 1 …: a period of 2n-2, so neither turning point repeats.
        kind, period = "boomerang", 2 * total - 2
        natural = total + (total - 1) * math.ceil((wanted - total) / (total - 1))
        count_out = natural if duration is None else wanted
        steps = [
            Step(base[i % period if i % period < total else period - i % period]) for i in range(count_out)
        ]
    else:
        kind = "repeat"
        steps = _crossfaded_repeats(base, round(CROSSFADE_S * rate), wanted, exact=duration is not None)
    return Timeline(tuple(steps), dst_fps, kind, interpolated)


def _crossfaded_repeats(base: list[float], fade: int, wanted: int, exact: bool) -> list[Step]:
    """The clip over and over, each seam a `fade`-frame cross-fade from its end into its start.

    A pass plays frames fade .. n-fade-1 between seams, so each repeat adds n - fade frames and
    the motion never jumps. Ends after a whole pass (the clip's true last frame) unless `exact`.
    """
    total = len(base)
    fade = max(0, min(fade, (total - 1) // 3))  # the plain middle of a pass must not vanish
    per_repeat = total - fade
    repeats = math.ceil((wanted - total) / per_repeat)
    steps = [Step(p) for p in base[: total - fade]]
    for _ in range(repeats):
        for s in range(fade):
            steps.append(Step(base[total - fade + s], base[s], (s + 1) / (fade + 1)))
        steps.extend(Step(p) for p in base[fade : total - fade])
    steps.extend(Step(p) for p in base[total - fade :])
    return steps[:wanted] if exact else steps


@dataclass(frozen=True)
class Layout:
    """How the clip's pixels reach the output frame.

    `crop` (x, y, w, h) is the part of each source frame used; it is resized to `work` in Python
    when that makes it smaller (so flow and the pipe carry fewer pixels) and ffmpeg scales it to
    `size`. With mode "blur" the whole clip is fitted at `fit` in front of a blurred, darkened copy
    of itself that fills the frame.
    """

    size: tuple[int, int]
    crop: tuple[int, int, int, int]
    work: tuple[int, int]
    mode: str  # scale | blur
    fit: tuple[int, int] | None = None


def output_size(preset: ExportPreset, source_size: tuple[int, int]) -> tuple[int, int]:
    """The preset's frame size, the clip's own where the preset leaves it open."""
    sw, sh = source_size
    even = preset.codec != "gif"  # 4:2:0 and 4:2:2 need even sides

    def side(value: float) -> int:
        return max(2, 2 * round(value / 2)) if even else max(1, round(value))

    if preset.width and preset.height:
        return preset.width, preset.height
    if preset.width:
        return preset.width, side(preset.width * sh / sw)
    if preset.height:
        return side(preset.height * sw / sh), preset.height
    # The clip's own size; an odd side loses its last row or column (cropped, not scaled).
    return (sw - sw % 2, sh - sh % 2) if even else (sw, sh)


def plan_layout(
    first_frame: np.ndarray,
    preset: ExportPreset,
    fill: str = "frame",
    subject: tuple[float, float] | None = None,
) -> Layout:
    """Where the output's pixels come from: `first_frame` stands for the clip (its size, and its
    subject when the clip must be cropped to another shape)."""
    sh, sw = first_frame.shape[:2]
    width, height = size = output_size(preset, (sw, sh))
    same_shape = abs((width / height) / (sw / sh) - 1.0) < 0.01
    if same_shape or fill == "frame":
        if (width, height) == (sw - sw % 2, sh - sh % 2):
            crop = (0, 0, width, height)  # the clip's own size: at most an odd row or column goes
        elif same_shape:
            crop = (0, 0, sw, sh)
        else:
            # The largest box of the target's shape, framed on the user's centre if given, else on
            # the subject of the first frame.
            focus = (
                Box(0, 0, sw, sh)
                if subject is not None
                else subject_box(SourceImage("", first_frame, None, (sw, sh)))
            )
            box = crop_box((sw, sh), width / height, focus, subject)
            x, y = min(max(round(box.x), 0), sw - 1), min(max(round(box.y), 0), sh - 1)
            crop = (x, y, max(1, min(round(box.w), sw - x)), max(1, min(round(box.h), sh - y)))
        work = (width, height) if crop[2] * crop[3] > width * height else (crop[2], crop[3])
        return Layout(size, crop, work, "scale")
    scale = min(width / sw, height / sh)
    fit = (min(width, max(2, 2 * round(sw * scale / 2))), min(height, max(2, 2 * round(sh * scale / 2))))
    work = fit if scale < 1 else (sw, sh)
    return Layout(size, (0, 0, sw, sh), work, "blur", fit)


# -- ffmpeg ----------------------------------------------------------------------------------------


def export_command(
    preset: ExportPreset,
    ffmpeg: str,
    layout: Layout,
    rate: Fraction,
    duration: float,
    tags: Mapping[str, str],
    target: Path,
) -> list[str]:
    """The ffmpeg command that reads raw RGB frames of `layout.work` size on stdin and writes
    `target` as `preset` asks."""
    work_w, work_h = layout.work
    command = [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
        "-y",  # the (empty) temporary file already exists: it is created first to claim its name
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-video_size", f"{work_w}x{work_h}",
        "-framerate", f"{rate.numerator}/{rate.denominator}", "-i", "pipe:0",
    ]  # fmt: skip
    if preset.audio:
        # Silence exactly as long as the video: platforms treat a video without sound as a GIF or
        # refuse it, and some editors drop a track that ends early.
        silent = max(duration - AAC_PRIMING / AAC_RATE, 1 / AAC_RATE)
        silence = f"anullsrc=channel_layout=stereo:sample_rate={AAC_RATE}:duration={silent:.6f}"
        command += ["-f", "lavfi", "-i", silence]
    command += ["-filter_complex", _filter_graph(preset, layout), "-map", "[v]"]
    if preset.audio:
        command += ["-map", "1:a", "-c:a", "aac", "-b:a", AAC_BITRATE, "-ar", str(AAC_RATE), "-ac", "2"]
    command += ["-sn", "-dn"] + _video_codec_args(preset, rate)
    if preset.container in ("mp4", "mov"):
        command += list(MOV_MUXER)
    if preset.container != "gif":  # GIF has no place for tags: the sidecar carries them
        for key, value in tags.items():
            command += ["-metadata", f"{key}={value}"]
    if preset.container == "gif":
        command += ["-loop", "0"]  # 0: forever
    # The muxer named outright: the temporary file's name does not end in the container's suffix.
    return command + ["-f", preset.container, ffmpeg_url(target)]


def _filter_graph(preset: ExportPreset, layout: Layout) -> str:
    """ffmpeg's filter graph from the piped frames ([0:v]) to the encoder's input ([v])."""
    width, height = layout.size
    if layout.mode == "blur":
        picture = _backdrop_graph(layout) + ","
        resize = ""  # the composite is already at the output size
    else:
        picture = "[0:v]"
        resize = "" if layout.work == layout.size else f"{width}:{height}:"
    if preset.codec == "gif":
        scaled = f"scale={resize}flags=lanczos," if resize else ""
        # One palette for the whole clip (a palette per frame would flicker), all 256 entries
        # for colours (a GIF of a video never needs a transparent one).
        return (
            f"{picture}{scaled}split=2[pal_in][gif_in];"
            "[pal_in]palettegen=max_colors=256:reserve_transparent=0[palette];"
            "[gif_in][palette]paletteuse=dither=sierra2_4a[v]"
        )
    # Resize and RGB → YUV in one pass: the BT.709 matrix into limited range, the frames
    # themselves tagged (as in export/mp4.py: recent ffmpeg takes the stream's colour tags from
    # the frames).
    return (
        f"{picture}scale={resize}flags=lanczos+accurate_rnd+full_chroma_int"
        f":out_color_matrix=bt709:out_range=tv,format={preset.pix_fmt},"
        "setparams=range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709[v]"
    )


def _backdrop_graph(layout: Layout) -> str:
    """The whole clip fitted in the frame, over a blurred and darkened copy that covers it."""
    assert layout.fit is not None
    width, height = layout.size
    fit_w, fit_h = layout.fit
    work_w, work_h = layout.work
    small_w, small_h = max(2, width // BACKDROP_SCALE), max(2, height // BACKDROP_SCALE)
    cover = max(small_w / work_w, small_h / work_h)
    cover_w, cover_h = max(small_w, math.ceil(work_w * cover)), max(small_h, math.ceil(work_h * cover))
    shade = f"{BACKDROP_SHADE:g}"
    return (
        "[0:v]split=2[back][front];"
        f"[back]scale={cover_w}:{cover_h}:flags=area,crop={small_w}:{small_h},"
        f"gblur=sigma={BACKDROP_SIGMA:g},colorchannelmixer=rr={shade}:gg={shade}:bb={shade},"
        f"scale={width}:{height}:flags=bicubic,format=gbrp[backdrop];"
        f"[front]scale={fit_w}:{fit_h}:flags=lanczos,format=gbrp[clip];"
        f"[backdrop][clip]overlay=x={(width - fit_w) // 2}:y={(height - fit_h) // 2}:format=gbrp"
    )


def _video_codec_args(preset: ExportPreset, rate: Fraction) -> list[str]:
    gop = None if preset.gop_seconds is None else max(1, round(preset.gop_seconds * float(rate)))
    if preset.codec == "libx264":
        args = ["-c:v", "libx264", "-preset", preset.speed or "medium", "-crf", str(preset.crf)]
        if preset.profile:
            args += ["-profile:v", preset.profile]
        if preset.profile == "high":
            # -profile only caps the profile: x264's fastest presets switch CABAC and 8×8
            # transforms off and the stream would come out Constrained Baseline (see mp4.py).
            args += ["-x264-params", "cabac=1:8x8dct=1"]
        if preset.maxrate:
            args += ["-maxrate", str(preset.maxrate), "-bufsize", str(preset.bufsize)]
        if preset.b_frames is not None:
            args += ["-bf", str(preset.b_frames)]
        if gop:
            # A keyframe every gop frames exactly, never early at a scene cut, and closed GOPs:
            # platforms cut and re-segment uploads at keyframes.
            args += ["-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0", "-flags", "+cgop"]
        return args + ["-pix_fmt", str(preset.pix_fmt)] + list(COLOUR_TAGS)
    if preset.codec == "prores_ks":
        # vendor apl0: some Apple software trusts ProRes only from an encoder that says it is Apple's.
        return ["-c:v", "prores_ks", "-profile:v", str(preset.profile), "-vendor", "apl0",
                "-pix_fmt", str(preset.pix_fmt)] + list(COLOUR_TAGS)  # fmt: skip
    if preset.codec == "libvpx-vp9":
        # -b:v 0 with -crf: constant quality (with a bitrate, -crf would only be a floor).
        args = ["-c:v", "libvpx-vp9", "-crf", str(preset.crf), "-b:v", "0",
                "-deadline", "good", "-cpu-used", preset.speed or "4", "-row-mt", "1"]  # fmt: skip
        if gop:
            args += ["-g", str(gop)]
        return args + ["-pix_fmt", str(preset.pix_fmt)] + list(COLOUR_TAGS)
    return ["-c:v", "gif"]


def estimated_bitrate(preset: ExportPreset, size: tuple[int, int], fps: float) -> float | None:
    """The most the file's video may need, in bits/s, where it can be known before encoding:
    the VBV cap of a rate-controlled codec, or ProRes's published data rate. None otherwise."""
    if preset.maxrate is not None:
        return float(preset.maxrate)
    if preset.codec == "prores_ks" and preset.profile in PRORES_BITS_PER_PIXEL:
        return PRORES_BITS_PER_PIXEL[preset.profile] * size[0] * size[1] * fps
    return None


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
) -> Path:
    """Write `frames` ((T, H, W, 3) uint8 RGB at `fps`) to `path` as `preset` asks; return `path`.

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

    A JSON sidecar (path with .json) always goes beside the file. Raises ExportError with one line
    naming the file and the reason for anything the user can fix (limits, folder, disk), and
    ValueError for arguments no user could have chosen.
    """
    path = Path(path)
    source_fps = _checked_arguments(frames, fps, preset, path, fill, extend, subject, duration)
    if path.suffix.lower() != preset.extension:
        raise ExportError(f"{path}: a {preset.name} export must be a {preset.extension} file")
    tags = checked_tags(metadata or {}, path)
    rate = frame_rate(fps_override if fps_override is not None else output_fps(preset, source_fps), path)
    ffmpeg = ffmpeg_exe(path)
    if preset.codec in OPTIONAL_ENCODERS and preset.codec not in available_encoders(ffmpeg):
        raise ExportError(
            f"{path}: this ffmpeg has no {preset.codec} encoder, so {preset.name} cannot be made"
        )

    timeline = plan_timeline(
        len(frames),
        source_fps,
        rate,
        loop=loop,
        extend=extend,
        min_duration=preset.min_duration + MIN_DURATION_MARGIN if preset.min_duration else 0.0,
        duration=duration,
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
    sidecar = path.with_suffix(".json")
    sidecar_written = False
    try:
        with atomic_output(path) as tmp:
            first, tries = layout.size, []
            for attempt in range(GIF_SHRINKS + 1):
                command = export_command(preset, ffmpeg, layout, rate, timeline.duration, tags, tmp)
                run_ffmpeg(command, _render(_work_frames(frames, layout), timeline, loop, report), path)
                size = os.path.getsize(tmp)
                tries.append((layout.size[0], size))
                if preset.max_bytes is None or size <= preset.max_bytes:
                    break
                if attempt == GIF_SHRINKS or layout.size[0] <= MIN_GIF_WIDTH:
                    raise ExportError(f"{path}: {preset.name} is capped at {_bytes(preset.max_bytes)}, and even "
                                      f"{layout.size[0]} px wide it came out at {_bytes(size)}; shorten the clip")
                layout = _smaller(layout, frames[0], preset, fill, subject, preset.max_bytes / size, tries)
                report = _held(report, 0.97)  # the new pass is not new progress
            if layout.size != first and on_note is not None:
                on_note(f"{path}: made {layout.size[0]}×{layout.size[1]} instead of {first[0]}×{first[1]} "
                        f"to stay under {preset.name}'s {_bytes(preset.max_bytes or 0)} cap")
            bitrate = size * 8 / timeline.duration
            if preset.max_bitrate is not None and bitrate > preset.max_bitrate:
                raise ExportError(
                    f"{path}: {preset.name} allows {_mbps(preset.max_bitrate)}, "
                    f"the file came out at {_mbps(bitrate)}"
                )
            record = _sidecar_record(path, preset, frames, source_fps, layout, timeline, fill, bitrate, tags)
            if layout.size != first:
                record["processing"]["size_cap"] = {"max_bytes": preset.max_bytes, "first_size": list(first)}
            write_sidecar(sidecar, record)
            sidecar_written = True
    except BaseException:
        if sidecar_written:  # the video did not make it: its sidecar must not stay alone
            with contextlib.suppress(OSError):
                os.unlink(sidecar)
        raise
    report(1.0)
    return path


def output_fps(preset: ExportPreset, source_fps: float) -> float:
    """The frame rate `preset` gives a clip made at `source_fps`: the clip's own where the preset
    leaves it open or keeps it (23.976 and 29.97 count as 24 and 30), else the preset's."""
    kept = any(abs(source_fps - rate) < 0.01 or abs(source_fps - rate * 1000 / 1001) < 0.01
               for rate in preset.keep_rates)
    return source_fps if preset.fps is None or kept else preset.fps


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


def _bytes(size: float) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"


def _mbps(bits: float) -> str:
    return f"{bits / 1e6:.1f} Mbit/s" if bits >= 1e6 else f"{bits / 1e3:.0f} kbit/s"
