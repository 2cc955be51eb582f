"""Export presets: the data files (resources/export_presets/*.json, and the user's own with the same
format in the config folder) that fix a target's frame size, frame rate, codec and the platform's
limits, validated into ExportPreset."""

from __future__ import annotations

import functools
import math
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..core.errors import PresetError
from ..core.presets import Library, load_data_file, load_data_files
from ..core.resources import resource_path
from .mp4 import X264_PRESETS

USER_FOLDER = "export_presets"  # under the config folder: storage.paths.config_dir() / USER_FOLDER
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
_BITRATE = re.compile(r"^(\d+(?:\.\d+)?)([kKmM]?)$")


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
    return resource_path("export_presets")


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


def output_fps(preset: ExportPreset, source_fps: float) -> float:
    """The frame rate `preset` gives a clip made at `source_fps`: the clip's own where the preset
    leaves it open or keeps it (23.976 and 29.97 count as 24 and 30), else the preset's."""
    kept = any(abs(source_fps - rate) < 0.01 or abs(source_fps - rate * 1000 / 1001) < 0.01
               for rate in preset.keep_rates)
    return source_fps if preset.fps is None or kept else preset.fps
