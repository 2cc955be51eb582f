"""Sound made with the picture: checked, fitted to the video, laid along an export's timeline,
handed to ffmpeg as raw samples, and read back from a file.

The samples reach ffmpeg through a temporary raw float file (32-bit little-endian, interleaved),
a second input beside the frames on stdin: a second pipe would not work on Windows, and a few
seconds of sound are a few megabytes.

AAC starts every track with one frame of encoder priming (1024 samples at 48 kHz, 21 ms). Our MP4s
have no edit list to skip it (see mp4.MOV_MUXER), so the priming plays from time 0 and everything
after it 21 ms late: the first 21 ms of the sound are left out instead, and the sound stays in step
with the picture and ends with it. A file we read back has its priming at its start, in step with
the picture as every player shows it, so a round trip keeps the sync.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.clip import Audio
from ..core.errors import ExportError, InputError, os_reason
from .ffmpeg import ffmpeg_exe, ffmpeg_url, known_cause, read_with_ffmpeg

if TYPE_CHECKING:
    from .plan import Timeline

AAC_RATE = 48000  # what every file we write carries: the rate of video production and of uploads
AAC_PRIMING = 1024  # samples at AAC_RATE
BITS_PER_CHANNEL = {"aac": 96_000, "libopus": 64_000}  # 192k / 128k stereo
# A jump in the sound (a loop's seam, where the clip starts again) is a cross-fade this long: the
# sound before it fades out, carried on by its own last samples in reverse, while the new sound
# fades in. Short enough that nothing is heard backwards, long enough that there is no click.
SEAM_FADE_S = 0.03
_POSITION_TOLERANCE = 1e-3  # source frames: two timeline positions this close are the same


@dataclass(frozen=True)
class SoundInput:
    """Raw samples waiting in a temporary file for ffmpeg to read as its second input."""

    path: Path
    rate: int
    channels: int

    def input_args(self) -> list[str]:
        return ["-f", "f32le", "-ar", str(self.rate), "-ac", str(self.channels), "-i", ffmpeg_url(self.path)]


@dataclass(frozen=True)
class AudioStream:
    """A file's first audio stream, as ffmpeg describes it."""

    codec: str
    rate: int
    channels: int

    def describe(self) -> str:
        """e.g. "AAC, 48 kHz, stereo"."""
        layout = {1: "mono", 2: "stereo"}.get(self.channels, f"{self.channels} channels")
        return f"{self.codec.upper() if self.codec == 'aac' else self.codec}, {self.rate / 1000:g} kHz, {layout}"


def checked_audio(audio: Any, path: Path) -> Audio:
    """`audio` as it may be written into `path`, or ExportError in one line naming the file.

    Samples a little outside [-1, 1] (a vocoder overshoots) are clipped there, as any player would."""
    samples = getattr(audio, "samples", None)
    rate = getattr(audio, "rate", None)
    if not isinstance(audio, Audio) or not isinstance(samples, np.ndarray):
        raise ExportError(f"{path}: the clip's sound must be an Audio, got {type(audio).__name__}")
    if samples.dtype != np.float32 or samples.ndim != 2 or not 1 <= samples.shape[1] <= 2 or not len(samples):
        raise ExportError(f"{path}: the clip's sound must be (n, 1 or 2) float32 samples, "
                          f"got {samples.dtype} {samples.shape}")
    if isinstance(rate, bool) or not isinstance(rate, int) or not 8000 <= rate <= 192000:
        raise ExportError(f"{path}: the clip's sound has an unusable sample rate ({rate!r})")
    finite = np.isfinite(samples)
    if not finite.all():
        bad = int(np.argmin(finite.all(axis=1)))
        raise ExportError(f"{path}: the clip's sound has NaN or infinite samples (the first at {bad / rate:.3f} s)")
    if float(np.abs(samples).max()) > 1.0:
        return Audio(np.clip(samples, -1.0, 1.0), rate)
    return audio


def fitted(samples: np.ndarray, length: int) -> np.ndarray:
    """`samples` cut to `length`, or made that long with silence."""
    if len(samples) >= length:
        return samples[:length]
    return np.concatenate([samples, np.zeros((length - len(samples), samples.shape[1]), np.float32)])


def encoder_samples(samples: np.ndarray, rate: int, duration: float, codec: str) -> np.ndarray:
    """What goes to the encoder so that the track, as played, lasts `duration` in step with the
    picture: fitted to it, less the AAC priming (see the module's note)."""
    length = max(1, round(duration * rate))
    if codec == "aac":
        priming = round(AAC_PRIMING * rate / AAC_RATE)
        return fitted(samples, length)[priming:] if length > priming else samples[:1] * 0
    return fitted(samples, length)


@contextlib.contextmanager
def sound_input(samples: np.ndarray, rate: int, path: Path) -> Iterator[SoundInput]:
    """The samples in a temporary raw file for ffmpeg, removed when the block ends; `path` is the
    file being made, for the one-line error."""
    try:
        fd, name = tempfile.mkstemp(prefix="i2v-sound-", suffix=".f32")
    except OSError as exc:
        raise ExportError(f"{path}: no temporary file for the sound ({os_reason(exc)})") from None
    raw = Path(name)
    try:
        try:
            with os.fdopen(fd, "wb") as file:  # closed before ffmpeg opens it (Windows)
                file.write(np.ascontiguousarray(samples, dtype="<f4").tobytes())
        except OSError as exc:
            raise ExportError(f"{path}: the sound cannot be written to a temporary file ({os_reason(exc)})") from None
        yield SoundInput(raw, rate, int(samples.shape[1]))
    finally:
        with contextlib.suppress(OSError):
            os.unlink(raw)


def codec_args(codec: str, channels: int) -> list[str]:
    """ffmpeg's options for the sound track of a file: 48 kHz, the channels as they come."""
    args = ["-c:a", codec]
    if codec in BITS_PER_CHANNEL:
        args += ["-b:a", f"{BITS_PER_CHANNEL[codec] * channels // 1000}k"]
    return args + ["-ar", str(AAC_RATE)]


# -- an export's sound ---------------------------------------------------------------------------


@dataclass
class _Piece:
    """A stretch of output in which the sound plays on without a jump, from `source` (a sample)."""

    first: int  # its first output frame
    source: int
    position: float  # where in the clip (in frames) its last frame's sound came from, unclamped
    weights: list[float]


def timeline_samples(samples: np.ndarray, rate: int, count: int, source_fps: float, timeline: Timeline) -> np.ndarray:
    """The sound of a `count`-frame clip at `source_fps`, laid along an export's `timeline`.

    Each output frame plays the sound of the moment its picture comes from, so a new frame rate
    keeps the sound's speed and pitch (it is never resampled to fit), a trim trims it, and a clip
    repeated for length repeats its sound: a loop with a SEAM_FADE_S cross-fade where it starts
    again, a repeat with the picture's own cross-fade at each seam (equal-power: the two sounds are
    unrelated, and a linear fade would dip in the middle). Frames that show the clip
    backwards (a boomerang's way back) are silent: sound played backwards is not the sound the
    picture was made with, and the forward sound under a backward picture would put every sound
    at the wrong moment; it returns with the next forward pass. Returns
    round(timeline.duration * rate) samples.
    """
    samples = fitted(samples, round(count / source_fps * rate))
    channels = samples.shape[1]
    steps = timeline.steps
    out_rate = float(timeline.fps)
    bounds = [round(i * rate / out_rate) for i in range(len(steps) + 1)]
    out = np.zeros((bounds[-1], channels), np.float32)
    advance = source_fps / out_rate  # source frames per output frame
    fade = max(1, round(SEAM_FADE_S * rate))
    # Past the clip's end, a piece is carried on by its own last samples in reverse (for the fade-out).
    source = np.concatenate([samples, samples[::-1][:fade], np.zeros((fade + 2, channels), np.float32)])

    pieces: list[_Piece] = []
    open_pieces: list[_Piece] = []
    for index, step in enumerate(steps):
        heard = [] if _backwards(steps, index) else [(step.position, math.cos(step.blend * math.pi / 2))]
        if step.blend_position is not None:
            heard.append((step.blend_position, math.sin(step.blend * math.pi / 2)))
        now: list[_Piece] = []
        for position, weight in heard:
            piece = next((p for p in open_pieces if p not in now and _goes_on(p.position + advance, position, count)),
                         None)
            if piece is None:
                piece = _Piece(index, round(position / source_fps * rate), position - advance, [])
                pieces.append(piece)
            piece.position += advance
            piece.weights.append(weight)
            now.append(piece)
        open_pieces = now

    for piece in pieces:
        start, end = bounds[piece.first], bounds[piece.first + len(piece.weights)]
        if end <= start:
            continue
        centres = [(bounds[f] + bounds[f + 1]) / 2 for f in range(piece.first, piece.first + len(piece.weights))]
        gain = np.interp(np.arange(start, end) + 0.5, centres, piece.weights).astype(np.float32)
        if start > 0:  # a piece that starts after the beginning fades in: the other side of a seam
            ramp = min(fade, end - start)
            gain[:ramp] *= np.arange(1, ramp + 1, dtype=np.float32) / (fade + 1)
        begin = min(piece.source, len(source) - 1)
        chunk = source[begin : begin + (end - start)]
        out[start : start + len(chunk)] += chunk * gain[: len(chunk), None]
        if end < len(out):  # and one that stops before the end fades out past its last frame
            tail = min(fade, len(out) - end)
            fall = piece.weights[-1] * np.arange(fade, fade - tail, -1, dtype=np.float32) / (fade + 1)
            after = source[begin + (end - start) : begin + (end - start) + tail]
            out[end : end + len(after)] += after * fall[: len(after), None]
    return np.clip(out, -1.0, 1.0)


def _goes_on(expected: float, position: float, count: int) -> bool:
    """Whether a frame at `position` continues a piece whose sound has reached `expected`: the
    next moment, or the clip's last frame held past its end (a new frame rate's last frames)."""
    held = position >= count - 1 - _POSITION_TOLERANCE and expected >= position - _POSITION_TOLERANCE
    return held or abs(expected - position) < _POSITION_TOLERANCE


def _backwards(steps: Any, index: int) -> bool:
    """Whether output frame `index` shows the clip going backwards (it comes from an earlier
    moment than the frame before it, and the frame after it from an earlier one still)."""
    here = steps[index].position
    came_down = index > 0 and steps[index - 1].position > here + _POSITION_TOLERANCE
    goes_down = index + 1 == len(steps) or steps[index + 1].position < here - _POSITION_TOLERANCE
    return came_down and goes_down


# -- reading -------------------------------------------------------------------------------------

_STREAM = re.compile(r"Stream #\d+:\d+.*?: Audio: (\w+)[^,]*, (\d+) Hz, ([^,]+)")
_LAYOUTS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "7.1": 8}


def audio_stream(path: Path) -> AudioStream | None:
    """The first audio stream of a video file, or None when it has none (ffmpeg reads the header
    only: milliseconds). InputError, naming the file, when it is not a readable video."""
    path = _existing(path)
    header = _ffmpeg_header(path)
    if not any(line.lstrip().startswith("Input #") for line in header):
        raise InputError(f"{path}: {known_cause(header) or 'not a readable video file'}")
    for line in header:
        match = _STREAM.search(line)
        if match:
            layout = match.group(3).strip()
            channels = _LAYOUTS.get(layout.split("(")[0])
            if channels is None:
                number = re.match(r"(\d+) channels", layout)
                channels = int(number.group(1)) if number else 2
            return AudioStream(match.group(1), int(match.group(2)), channels)
    return None


def read_audio(path: Path) -> Audio | None:
    """The sound of a video file as played (from time 0, AAC priming included), at its own rate,
    mono or stereo (more channels are mixed down to two); None when it has none."""
    stream = audio_stream(path)
    if stream is None:
        return None
    channels = min(stream.channels, 2)
    command = [
        ffmpeg_exe(path), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", ffmpeg_url(path),
        "-map", "0:a:0", "-ac", str(channels), "-ar", str(stream.rate), "-f", "f32le", "-c:a", "pcm_f32le", "pipe:1",
    ]  # fmt: skip
    result = read_with_ffmpeg(command, path)
    lines = result.stderr.decode("utf-8", errors="replace").splitlines()
    usable = len(result.stdout) // (4 * channels)
    if result.returncode != 0 or usable == 0:
        raise InputError(f"{path}: {known_cause(lines) or 'its sound cannot be read'}")
    samples = np.frombuffer(result.stdout, np.float32, usable * channels).reshape(usable, channels).copy()
    if not np.isfinite(samples).all():
        raise InputError(f"{path}: its sound has NaN or infinite samples")
    return Audio(samples, stream.rate)


def _existing(path: Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a video file")
    return path


def _ffmpeg_header(path: Path) -> list[str]:
    """What ffmpeg says about a file it is given no output for (it exits 1 after the header)."""
    command = [ffmpeg_exe(path), "-hide_banner", "-nostdin", "-i", ffmpeg_url(path)]
    result = read_with_ffmpeg(command, path)
    return result.stderr.decode("utf-8", errors="replace").splitlines()

