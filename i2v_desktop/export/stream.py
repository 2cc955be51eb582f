"""Encoding while the engine renders: a FrameSink that feeds ffmpeg frame by frame.

A render used to make every frame, then score the clip, then encode it: on two cores the encoder
waited for the engine and the engine for nothing. Here ffmpeg encodes each frame as soon as the
engine hands it over, on the other core, through a writer thread (a full pipe blocks the writer,
never the engine), which converts it to the encoder's YUV 4:2:0 first (export/yuv.py). The picture goes to a hidden temporary file; `finish` then writes the file the
user gets by copying that stream (no second encode) with what is known only at the end: the clip's
record and score as container tags, and its sound.
"""

from __future__ import annotations

import queue
import threading
from fractions import Fraction
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..core.clip import Audio
from ..core.errors import ExportError
from .audio import checked_audio, codec_args, encoder_samples, sound_input
from .ffmpeg import ffmpeg_exe, ffmpeg_url, run_ffmpeg
from ..core.durable import hold, release
from .files import check_destination, commit, create_temp, remove
from .mp4 import MOV_MUXER, check_encoder, checked_tags, encode_command, frame_rate
from .yuv import I420

_END = None  # the frame queue's last item
# Frames waiting for the encoder: enough to ride out a slow frame, few enough that a stalled
# encoder stops the engine soon (they are views of the memory the engine renders into, the clip's
# or a ring's, so waiting costs no memory).
_BACKLOG = 8


class _Stop(Exception):
    """Ends the frame stream early (a cancel, a failed render): ffmpeg is killed, nothing kept."""


class Mp4Stream:
    """Encode a clip's frames as they are made, for the MP4 that will be written at `path`.

    begin / frame (the FrameSink the engines speak), then `finish` once the clip is complete, or
    `close` to throw everything away. `close` is always safe to call, also after `finish`.
    """

    def __init__(self, path: Path, crf: int = 18, encoder_preset: str = "medium",
                 on_read: Callable[[int], object] | None = None) -> None:
        """`on_read(index)`: called on the writer's thread once frame `index` has been read (the
        memory it was in may then be used again)."""
        check_encoder(crf, encoder_preset, path)
        self.path = Path(path)
        self._crf, self._preset = crf, encoder_preset
        self._on_read = on_read
        self._frames: queue.Queue[np.ndarray | None | _Stop] = queue.Queue(_BACKLOG)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._video: Path | None = None  # the picture alone, encoded as it comes
        self._held: int | None = None  # our lock on it: a part no live writer holds is cleared away
        self._size: tuple[int, int] = (0, 0)
        self._count = 0
        self._rate = Fraction(0)

    # -- FrameSink ------------------------------------------------------------------------------

    def begin(self, width: int, height: int, fps: float, count: int) -> None:
        if self._thread is not None:
            raise RuntimeError("Mp4Stream.begin called twice")
        if width % 2 or height % 2:
            raise ExportError(f"{self.path}: width and height must be even for H.264 video, got {width}x{height}")
        rate = frame_rate(fps, self.path)
        check_destination(self.path)
        self._size, self._rate = (width, height), rate
        self._video = create_temp(self.path)
        self._held = hold(self._video)
        # The picture only, no tags and no index in front: the final write puts those in.
        command = encode_command(ffmpeg_exe(self.path), width, height, rate, self._crf, self._preset, {}, self._video)
        self._thread = threading.Thread(target=self._encode, args=(command, I420(width, height)), name="mp4-stream",
                                        daemon=True)
        self._thread.start()

    def frame(self, index: int, frame: np.ndarray) -> None:
        self.check()
        if index != self._count:
            raise ValueError(f"{self.path}: frame {index} came when frame {self._count} was due")
        if frame.dtype != np.uint8 or frame.shape != (self._size[1], self._size[0], 3):
            raise ValueError(f"{self.path}: frame {index} must be {self._size[0]}x{self._size[1]} RGB uint8, "
                             f"got {frame.dtype} {frame.shape}")
        self._put(np.ascontiguousarray(frame))
        self._count += 1

    def check(self) -> None:
        """Raise what stopped the encoder (a full disk), if it stopped: the render stops now."""
        if self._error is not None:
            raise self._error
        if self._thread is not None and not self._thread.is_alive():
            raise ExportError(f"{self.path}: the encoder stopped")

    # -- the end --------------------------------------------------------------------------------

    def finish(self, metadata: Mapping[str, str] | None = None, audio: Audio | None = None) -> Path:
        """Wait for the encoder, then write the complete MP4 (tags, sound) and put it in place as
        `path`, or as the next free name when another process took it meanwhile (with its ".json"
        kept free for the sidecar, as write_mp4 does); the name used. ExportError, naming `path`,
        when the encoder or the final write failed."""
        if self._thread is None or self._video is None:
            raise RuntimeError("Mp4Stream.finish before any frame")
        tags = checked_tags(metadata or {}, self.path)
        self._put(_END)
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._count == 0:
            raise ValueError(f"{self.path}: there are no frames to write")
        target = create_temp(self.path)
        held = hold(target)
        try:
            if audio is None:
                self._mux(target, tags)
            else:
                audio = checked_audio(audio, self.path)
                samples = encoder_samples(audio.samples, audio.rate, float(self._count / self._rate), "aac")
                with sound_input(samples, audio.rate, self.path) as sound:
                    self._mux(target, tags, sound.input_args(), codec_args("aac", sound.channels))
            return commit(target, self.path, companions=(".json",))
        except BaseException:
            remove(target)
            raise
        finally:
            release(held)
            self.close()

    def close(self) -> None:
        """Stop the encoder if it still runs and remove what it wrote (a cancelled or failed render)."""
        if self._thread is not None and self._thread.is_alive():
            self._put(_Stop())
            self._thread.join()
        if self._video is not None:
            remove(self._video)
            release(self._held)
            self._video = self._held = None

    # -- inside ---------------------------------------------------------------------------------

    def _put(self, item: np.ndarray | None | _Stop) -> None:
        # Never block on a queue nobody reads any more: a writer that died has left its error.
        assert self._thread is not None
        while self._thread.is_alive():
            try:
                self._frames.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def _encode(self, command: list[str], convert: I420) -> None:
        # ffmpeg starts with the first frame, not at `begin`: an engine may begin as soon as it
        # knows the clip's size and then build its scene, and starting ffmpeg forks this process,
        # which would make every page the scene then writes fault once more (see core.clip).
        first = self._frames.get()
        if first is _END or isinstance(first, _Stop):
            return
        try:
            run_ffmpeg(command, self._converted(self._stream(first), convert), self.path)
        except _Stop:
            pass
        except BaseException as exc:  # handed to the engine's thread at its next frame, or to finish
            self._error = exc

    def _converted(self, frames: Iterator[np.ndarray], convert: I420) -> Iterator[np.ndarray]:
        for index, frame in enumerate(frames):
            converted = convert(frame)
            if self._on_read is not None:
                self._on_read(index)
            yield converted

    def _stream(self, first: np.ndarray) -> Iterator[np.ndarray]:
        yield first
        while True:
            item = self._frames.get()
            if item is _END:
                return
            if isinstance(item, _Stop):
                raise item
            yield item

    def _mux(self, target: Path, tags: Mapping[str, str], sound_args: Sequence[str] = (),
             sound_codec: Sequence[str] = ()) -> None:
        assert self._video is not None
        command = [
            ffmpeg_exe(self.path), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-i", ffmpeg_url(self._video), *sound_args,
            "-map", "0:v:0", *(["-map", "1:a:0"] if sound_args else []), "-map_metadata", "-1",
            "-c:v", "copy", *sound_codec, *MOV_MUXER,
        ]  # fmt: skip
        for key, value in tags.items():
            command += ["-metadata", f"{key}={value}"]
        command += ["-f", "mp4", ffmpeg_url(target)]
        run_ffmpeg(command, (), self.path)
