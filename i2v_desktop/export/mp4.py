"""MP4 export through the ffmpeg binary that imageio-ffmpeg ships, and reading video files back.

Every file appears atomically (export/files.py): a failure never leaves a half-written file where
the user looks, and a file that was already there is never replaced (a clip whose name was taken
while it was encoding goes to NAME-2.mp4; `write_mp4` returns the name it got).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..core.clip import Audio
from ..core.errors import ExportError, InputError
from .audio import SoundInput, checked_audio, codec_args, encoder_samples, sound_input
from .container import read_video
from .ffmpeg import ffmpeg_exe, ffmpeg_url, known_cause, read_with_ffmpeg, run_ffmpeg
from ..core.durable import hold, release
from .files import check_destination, commit, create_temp, remove, write_sidecar
from .yuv import I420

# The rest of the app finds ffmpeg and the atomic files here, as before they had modules of their own.
__all__ = ["COLOUR_TAGS", "MOV_MUXER", "check_encoder", "checked_tags", "encode_command", "ffmpeg_exe",
           "ffmpeg_url", "frame_rate", "read_frames", "read_mp4_metadata", "run_ffmpeg", "write_mp4",
           "write_sidecar"]

Frames = np.ndarray | Iterable[np.ndarray]

# BT.709 limited range: what every encoder we drive writes into the stream's colour description.
COLOUR_TAGS = ("-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", "-color_range", "tv")

X264_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
)
MAX_FPS = 240

# How every MP4 and MOV we write is muxed. Meta and YouTube ask for files without edit lists (an
# uploader that ignores them starts the video late and out of sync). ffmpeg's mov muxer writes one
# per track by default: the video's skips the B-frame reordering delay, the audio's the AAC
# encoder's priming. Instead, negative composition offsets (a version 1 `ctts`) put the first
# frame on show at time 0 with no delay to skip, and -use_editlist 0 writes no `elst` at all.
# faststart: the index before the data, so a browser or phone starts playing while it downloads.
# use_metadata_tags stores each tag under its own name (mdta keys), so custom keys survive.
MOV_MUXER = ("-use_editlist", "0", "-movflags", "+faststart+use_metadata_tags+negative_cts_offsets")

# The frames come converted with the BT.709 matrix into limited ("tv") range (export/yuv.py): the
# same matrix the file is tagged with, so players convert back exactly. setparams tags the frames
# themselves: recent ffmpeg takes the stream's colour tags from the frames and ignores
# -color_primaries/-color_trc otherwise.
_COLOUR_TAGGING = "format=yuv420p,setparams=range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709"
# The encoder preset for an engine that must keep up with the clip's own length (the instant
# engine's takes, which an export for a platform re-encodes anyway).
REALTIME_PRESET = "ultrafast"


def write_mp4(
    frames: Frames,
    fps: float | Fraction,
    path: Path,
    *,
    crf: int = 18,
    metadata: Mapping[str, str] | None = None,
    encoder_preset: str = "medium",
    audio: Audio | None = None,
) -> Path:
    """Encode RGB frames as an H.264 MP4 at `path` and return the name it was saved under: `path`,
    or NAME-2.mp4, NAME-3.mp4… when `path` or its sidecar's name (NAME.json) is taken by then.

    `frames` is a (T, H, W, 3) uint8 array or any iterable of (H, W, 3) uint8 arrays; an iterable
    is streamed to the encoder one frame at a time. Width and height must be even (4:2:0 video).
    `metadata` becomes container tags (any key without "=", any text value) that
    `read_mp4_metadata` reads back unchanged. `audio`, the clip's sound, becomes an AAC track
    (48 kHz, its own channels) exactly as long as the video: cut or made up with silence (see
    export/audio.py); without it the file has no audio track.

    Raises ValueError for arguments no user could have chosen, ExportError for everything else.
    An exception raised by the frame source itself (a cancel, a bug, Ctrl+C) is re-raised as is,
    after the partial file is removed.
    """
    path = Path(path)
    rate = frame_rate(fps, path)
    check_encoder(crf, encoder_preset, path)
    tags = checked_tags(metadata or {}, path)
    if audio is not None:
        audio = checked_audio(audio, path)
        if not isinstance(frames, np.ndarray):
            raise ValueError(f"{path}: a clip with sound needs its frames as one array (they set the sound's length)")
    check_destination(path)

    (width, height), stream = _frame_stream(frames, path)
    if width % 2 or height % 2:
        raise ExportError(f"{path}: width and height must be even for H.264 video, got {width}x{height}")

    tmp = create_temp(path)
    held = hold(tmp)  # until the commit: the next start tells a killed writer's part from ours
    try:
        if audio is None:
            _encode(stream, width, height, rate, crf, encoder_preset, tags, path, tmp)
        else:
            samples = encoder_samples(audio.samples, audio.rate, float(len(frames) / rate), "aac")
            with sound_input(samples, audio.rate, path) as sound:
                _encode(stream, width, height, rate, crf, encoder_preset, tags, path, tmp, sound)
        return commit(tmp, path, companions=(".json",))
    except BaseException:
        remove(tmp)
        raise
    finally:
        release(held)


def check_encoder(crf: int, encoder_preset: str, path: Path) -> None:
    """ValueError, naming `path`, for an x264 quality or preset no user could have chosen."""
    if isinstance(crf, bool) or not isinstance(crf, int) or not 1 <= crf <= 51:
        raise ValueError(f"{path}: crf must be a whole number from 1 to 51, got {crf!r}")
    if encoder_preset not in X264_PRESETS:
        raise ValueError(f"{path}: encoder preset must be one of {', '.join(X264_PRESETS)}")


def encode_command(
    ffmpeg: str,
    width: int,
    height: int,
    rate: Fraction,
    crf: int,
    encoder_preset: str,
    tags: Mapping[str, str],
    target: Path,
    sound: SoundInput | None = None,
) -> list[str]:
    """The ffmpeg command line that reads raw frames on stdin, already in the encoder's pixel
    format (export/yuv.py), and `sound` from its file, and writes `target`."""
    command = [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-loglevel", "error",
        "-y",  # the (empty) temporary file already exists: it is created first to claim its name
        "-f", "rawvideo",
        "-pix_fmt", "yuv420p",  # BT.709, limited range: the frames are converted here (export/yuv.py)
        "-video_size", f"{width}x{height}",
        "-framerate", f"{rate.numerator}/{rate.denominator}",
        "-i", "pipe:0",
        *(["-an"] if sound is None else [*sound.input_args(), "-map", "0:v", "-map", "1:a"]),
        "-sn", "-dn",
        "-vf", _COLOUR_TAGGING,
        "-c:v", "libx264",
        "-preset", encoder_preset,
        "-crf", str(crf),
        "-profile:v", "high",
        # -profile only caps the profile: x264's fastest presets switch off CABAC and 8×8 transforms
        # and the stream comes out Constrained Baseline. The 8×8 transform makes it High profile as
        # promised. CABAC costs a third more encoder time than CAVLC at a take's bit rate (1.8
        # against 1.3 processor seconds for 72 frames of 1080×1920 at CRF 18); the quality is the
        # same and the file 17 % larger. REALTIME_PRESET keeps CAVLC; every other preset gets CABAC.
        "-x264-params", f"cabac={int(encoder_preset != REALTIME_PRESET)}:8x8dct=1",
        "-pix_fmt", "yuv420p",
        *COLOUR_TAGS,
        *([] if sound is None else codec_args("aac", sound.channels)),
        *MOV_MUXER,
    ]  # fmt: skip
    for key, value in tags.items():
        command += ["-metadata", f"{key}={value}"]
    command += ["-f", "mp4", ffmpeg_url(target)]
    return command


def read_mp4_metadata(path: Path) -> dict[str, str]:
    """The container tags of a video file, as ffmpeg reads them (keys and values unchanged)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a video file")
    command = [
        ffmpeg_exe(path), "-hide_banner", "-nostdin", "-loglevel", "error",
        "-i", ffmpeg_url(path), "-f", "ffmetadata", "pipe:1",
    ]  # fmt: skip
    result = read_with_ffmpeg(command, path)
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", errors="replace").splitlines()
        raise InputError(f"{path}: {known_cause(lines) or 'not a readable video file'}")
    return _parse_ffmetadata(result.stdout.decode("utf-8", errors="replace"))


def read_frames(path: Path) -> tuple[np.ndarray, float]:
    """All frames of a video as a (T, H, W, 3) RGB uint8 array, and its frame rate.

    A truncated file is refused in one line: what is made from it (an export, a clip to play in a
    loop) would end early or jump without a word. `read_video` reads what there is."""
    video = read_video(path)
    if video.truncated:
        raise InputError(f"{video.truncation()}; the whole clip is needed")
    return video.frames, video.fps


# -- encoding ------------------------------------------------------------------------------


def _encode(
    stream: Iterator[np.ndarray],
    width: int,
    height: int,
    rate: Fraction,
    crf: int,
    encoder_preset: str,
    tags: Mapping[str, str],
    path: Path,
    tmp: Path,
    sound: SoundInput | None = None,
) -> None:
    command = encode_command(ffmpeg_exe(path), width, height, rate, crf, encoder_preset, tags, tmp, sound)
    run_ffmpeg(command, map(I420(width, height), stream), path)


def _frame_stream(frames: Frames, path: Path) -> tuple[tuple[int, int], Iterator[np.ndarray]]:
    """((width, height), every frame validated and C-contiguous), reading the first frame now."""
    if isinstance(frames, np.ndarray) and frames.ndim != 4:
        raise ValueError(f"{path}: frames must be a (T, H, W, 3) uint8 array, got shape {frames.shape}")
    items = iter(frames)
    first = next(items, None)
    if first is None:
        raise ValueError(f"{path}: there are no frames to write")
    first = _checked_frame(first, 0, None, path)
    size = first.shape[:2]

    def stream() -> Iterator[np.ndarray]:
        yield first
        for index, frame in enumerate(items, start=1):
            yield _checked_frame(frame, index, size, path)

    return (size[1], size[0]), stream()


def _checked_frame(frame: Any, index: int, size: tuple[int, int] | None, path: Path) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(
            f"{path}: frame {index} must be an (H, W, 3) uint8 array, got {frame.dtype} {frame.shape}"
        )
    if size is not None and frame.shape[:2] != size:
        raise ValueError(
            f"{path}: frame {index} is {frame.shape[1]}x{frame.shape[0]}, the first was {size[1]}x{size[0]}"
        )
    return np.ascontiguousarray(frame)  # a no-op for frames sliced from a C-contiguous clip


def frame_rate(fps: float | Fraction, path: Path) -> Fraction:
    """fps as an exact fraction: 23.976 is 24000/1001, 12.5 is 25/2."""
    if isinstance(fps, Fraction):
        rate = fps
    elif isinstance(fps, (int, float)) and not isinstance(fps, bool) and math.isfinite(fps):
        rate = _exact_rate(float(fps))
    else:
        raise ValueError(f"{path}: fps must be a number, got {fps!r}")
    if not 0 < rate <= MAX_FPS:
        raise ValueError(f"{path}: fps must be above 0 and at most {MAX_FPS}, got {fps!r}")
    return rate


def _exact_rate(fps: float) -> Fraction:
    whole = round(fps)
    if abs(fps - whole) < 1e-6:
        return Fraction(whole)
    # NTSC rates (k * 1000/1001) are usually written rounded: 23.976, 23.98, 29.97, 59.94.
    ntsc = round(fps * 1.001)
    if ntsc > 0 and abs(fps - ntsc * 1000 / 1001) < 0.005:
        return Fraction(ntsc * 1000, 1001)
    return Fraction(fps).limit_denominator(1001)


def checked_tags(metadata: Mapping[str, str], path: Path) -> dict[str, str]:
    tags = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not key or "=" in key or not key.isprintable():
            raise ValueError(f"{path}: metadata key {key!r} must be printable text without '='")
        if not isinstance(value, str) or "\0" in value:
            raise ValueError(f"{path}: metadata {key!r} must be text without NUL characters")
        tags[key] = value
    return tags


def _parse_ffmetadata(text: str) -> dict[str, str]:
    """The global tags of ffmpeg's FFMETADATA1 text ('=', ';', '#', '\\' and newline are escaped)."""
    tags: dict[str, str] = {}
    key: str | None = None
    chars: list[str] = []
    line_start, comment = True, False
    i = 0
    while i < len(text):
        char = text[i]
        if line_start:
            line_start = False
            if char == "[":  # a [STREAM] or [CHAPTER] section: the global tags are over
                break
            comment = char in ";#"
        if char == "\\" and i + 1 < len(text):
            chars.append(text[i + 1])
            i += 2
            continue
        if char == "\n":
            if key is not None and not comment:
                tags[key] = "".join(chars)
            key, chars, line_start = None, [], True
        elif char == "=" and key is None:
            key, chars = "".join(chars), []
        else:
            chars.append(char)
        i += 1
    if key is not None and not comment:
        tags[key] = "".join(chars)
    return tags
