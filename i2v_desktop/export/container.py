"""Reading a clip back: every frame that decodes, and what an MP4 or MOV file says about its video
track: how many frames it holds, and how many of them are really in the file.

A copy cut short (a download that stopped, a full disk, a card pulled out) keeps its index, the
`moov` box, when the index comes first as in every file we write (faststart): a decoder then
plays the frames that arrived and stops without an error. The index lists every frame's size and
where its chunk starts, so comparing those with the file's length tells, without decoding
anything, how many frames are there. Only the boxes on the way to the index are read.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..core.errors import InputError
from .ffmpeg import ffmpeg_exe, ffmpeg_url, known_cause, read_with_ffmpeg

# Boxes that hold other boxes on the way from `moov` to a track's sample table.
_PATH = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}
_MAX_TABLE = 50_000_000  # entries: a damaged count must not make us allocate gigabytes


_VIDEO_SIZE = re.compile(r", (\d{2,5})x(\d{2,5})[ ,\[]")
_VIDEO_FPS = re.compile(r", (\d+(?:\.\d+)?) fps")
_INPUT_FORMAT = re.compile(r"^Input #0, (\S+), from ")
# ffmpeg reads a photo as a one-frame video: its image demuxers (image2, jpeg_pipe, png_pipe…) and
# the animated-picture formats are no clip, and a clip command given one must say so, not exit 0.
_PICTURE_FORMATS = frozenset({"image2", "gif", "apng"})


@dataclass(frozen=True, eq=False)  # eq=False: comparing numpy arrays with == has no single answer
class DecodedVideo:
    """The frames of a video that decode, and how many its container declares (None: not known,
    a container without an index we read)."""

    path: Path
    frames: np.ndarray  # (T, H, W, 3) RGB uint8
    fps: float  # 0.0 when the file does not say
    declared: int | None

    @property
    def truncated(self) -> bool:
        return self.declared is not None and len(self.frames) < self.declared

    def truncation(self) -> str:
        """One line: 'CLIP: truncated: 41 of 72 frames'."""
        return f"{self.path}: truncated: {len(self.frames)} of {self.declared} frames"


def read_video(path: Path) -> DecodedVideo:
    """Every frame of a video that decodes, and what its container declares. A copy cut short
    decodes without an error, only fewer frames: compare with `declared` (see `truncated`)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file" if not path.is_dir() else f"{path}: is a folder, not a video file")
    command = [
        ffmpeg_exe(path), "-hide_banner", "-nostdin", "-i", ffmpeg_url(path),
        # Each decoded frame once: without passthrough, ffmpeg's rawvideo output evens the frames
        # out to a constant rate and repeats one where two timestamps sit closer than a frame apart.
        "-map", "0:v:0", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1",
    ]  # fmt: skip
    result = read_with_ffmpeg(command, path)
    header = result.stderr.decode("utf-8", errors="replace").splitlines()
    video = next((line for line in header if "Video:" in line), "")
    size, rate = _VIDEO_SIZE.search(video), _VIDEO_FPS.search(video)
    if result.returncode != 0 or size is None:
        raise InputError(f"{path}: {known_cause(header) or 'not a readable video file'}")
    container = next((m.group(1) for line in header if (m := _INPUT_FORMAT.match(line))), "")
    if container in _PICTURE_FORMATS or container.endswith("_pipe"):
        raise InputError(f"{path}: is a picture, not a video clip")
    width, height = int(size.group(1)), int(size.group(2))
    frame_bytes = width * height * 3
    count = len(result.stdout) // frame_bytes
    index = video_frames(path)
    declared = None if index is None else index.declared
    if count == 0:
        raise InputError(f"{path}: the video has no frames" + (f" of the {declared} it declares: truncated"
                                                                 if declared else ""))
    frames = np.frombuffer(result.stdout, np.uint8, count * frame_bytes).reshape(count, height, width, 3)
    return DecodedVideo(path, frames.copy(), float(rate.group(1)) if rate else 0.0, declared)


@dataclass(frozen=True)
class TrackFrames:
    declared: int  # frames the index lists
    present: int  # of them, those whose bytes are all in the file


def video_frames(path: Path) -> TrackFrames | None:
    """The first video track's frame counts, or None when the file is no MP4/MOV with an index we
    can read (another container, a fragmented MP4, a damaged index): the caller then has only what
    the decoder gives and checks nothing."""
    try:
        with open(path, "rb") as stream:
            size = stream.seek(0, 2)
            moov = _find(stream, 0, size, b"moov")
            if moov is None:
                return None
            for trak in _children(stream, *moov, b"trak"):
                table = _video_table(stream, trak)
                if table is not None:
                    return _count(stream, table, size)
    except (OSError, struct.error, ValueError):
        return None
    return None


def _boxes(stream: BinaryIO, start: int, end: int):
    """(type, payload start, box end) of each box between start and end."""
    at = start
    while at + 8 <= end:
        stream.seek(at)
        head = stream.read(8)
        if len(head) < 8:
            return
        length, kind = struct.unpack(">I4s", head)
        body = at + 8
        if length == 1:
            length = struct.unpack(">Q", stream.read(8))[0]
            body = at + 16
        elif length == 0:
            length = end - at
        if length < body - at:
            raise ValueError("box shorter than its header")
        yield kind, body, min(at + length, end)
        at += length


def _find(stream: BinaryIO, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    for found, body, box_end in _boxes(stream, start, end):
        if found == kind:
            return body, box_end
    return None


def _children(stream: BinaryIO, start: int, end: int, kind: bytes):
    return [(body, box_end) for found, body, box_end in _boxes(stream, start, end) if found == kind]


def _video_table(stream: BinaryIO, trak: tuple[int, int]) -> tuple[int, int] | None:
    """The sample table (`stbl`) of a track whose handler is video, else None."""
    mdia = _find(stream, *trak, b"mdia")
    if mdia is None:
        return None
    hdlr = _find(stream, *mdia, b"hdlr")
    if hdlr is None:
        return None
    stream.seek(hdlr[0] + 8)  # version and flags, pre_defined
    if stream.read(4) != b"vide":
        return None
    minf = _find(stream, *mdia, b"minf")
    return None if minf is None else _find(stream, *minf, b"stbl")


def _count(stream: BinaryIO, stbl: tuple[int, int], file_size: int) -> TrackFrames | None:
    tables = {kind: (body, end) for kind, body, end in _boxes(stream, *stbl)}
    if b"stsz" not in tables or b"stsc" not in tables or not ({b"stco", b"co64"} & tables.keys()):
        return None
    stream.seek(tables[b"stsz"][0] + 4)
    fixed, count = struct.unpack(">II", stream.read(8))
    if count == 0 or count > _MAX_TABLE:
        return None
    sizes = [fixed] * count if fixed else list(struct.unpack(f">{count}I", stream.read(4 * count)))
    wide = b"co64" in tables
    stream.seek(tables[b"co64" if wide else b"stco"][0] + 4)
    (chunks,) = struct.unpack(">I", stream.read(4))
    if chunks > _MAX_TABLE:
        return None
    offsets = struct.unpack(f">{chunks}{'Q' if wide else 'I'}", stream.read((8 if wide else 4) * chunks))
    stream.seek(tables[b"stsc"][0] + 4)
    (runs,) = struct.unpack(">I", stream.read(4))
    if runs == 0 or runs > _MAX_TABLE:
        return None
    stsc = [struct.unpack(">III", stream.read(12)) for _ in range(runs)]  # first chunk (1-based), samples, desc
    present, sample = 0, 0
    for run, (first, per_chunk, _) in enumerate(stsc):
        last = stsc[run + 1][0] - 1 if run + 1 < runs else chunks
        for chunk in range(first, last + 1):
            if chunk < 1 or chunk > chunks:
                return None
            at = offsets[chunk - 1]
            for _ in range(per_chunk):
                if sample >= count:
                    break
                at += sizes[sample]
                if at <= file_size:
                    present += 1
                sample += 1
    return TrackFrames(declared=count, present=present)
