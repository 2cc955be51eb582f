"""Thumbnail strips: a small looping strip of frames per clip, for the history panel.

A strip is one uncompressed `.npz` (no pickle) holding every frame JPEG-encoded back to back plus
the offsets between them: a 48-frame strip at 192 px is a few hundred kilobytes instead of several
megabytes raw, and reads back in milliseconds, which matters when the history panel opens with
hundreds of clips.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import cv2
import numpy as np

from ..core.errors import os_reason
from ..core.record import is_real
from ..core.shrink import area_shrink
from .historydb import HistoryError

THUMBS_SUFFIX = ".thumbs.npz"
THUMBS_FORMAT = 1
JPEG_QUALITY = 85


def thumbnail_frames(frames: np.ndarray, fps: float, width: int = 192, max_frames: int = 48) -> np.ndarray:
    """A small strip for the history panel from a full (T, H, W, 3) uint8 RGB clip.

    Takes at most `max_frames` frames spread evenly over the clip's whole duration (each is the
    frame showing at the middle of its share of time, so the strip loops like the clip), area-
    averaged to `width` with the aspect kept and an even height (by exact halvings first: 24
    thumbnails of a 1080×1920 clip in 35 ms instead of 190, which the window waits for after
    every render). Played back over the clip's duration (T / fps seconds) it moves at the clip's
    pace.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise ValueError(f"frames must be a non-empty (T, H, W, 3) uint8 array, got {frames.dtype} "
                         f"{frames.shape}")
    if not _positive_number(fps):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    if isinstance(width, bool) or not isinstance(width, int) or width < 2:
        raise ValueError(f"width must be a whole number of at least 2, got {width!r}")
    if isinstance(max_frames, bool) or not isinstance(max_frames, int) or max_frames < 1:
        raise ValueError(f"max_frames must be a whole number of at least 1, got {max_frames!r}")

    total = len(frames)
    count = min(total, max_frames)
    duration = total / fps
    times = (np.arange(count) + 0.5) * (duration / count)  # the middle of each share of the clip
    picks = np.minimum((times * fps).astype(np.int64), total - 1)

    source_height, source_width = frames.shape[1:3]
    height = max(2, round(source_height * width / source_width / 2) * 2)
    out = np.empty((count, height, width, 3), np.uint8)
    for i, pick in enumerate(picks):
        out[i] = area_shrink(np.ascontiguousarray(frames[pick]), (width, height))
    return out


def encode_thumbnails(thumbs: np.ndarray) -> bytes:
    """A thumbnail strip as the bytes of its .npz file: each frame a JPEG, back to back."""
    thumbs = np.asarray(thumbs)
    if thumbs.ndim != 4 or thumbs.shape[-1] != 3 or thumbs.dtype != np.uint8 or 0 in thumbs.shape:
        raise ValueError(f"thumbs must be a non-empty (T, h, w, 3) uint8 array, got {thumbs.dtype} "
                         f"{thumbs.shape}")
    encoded = []
    for frame in thumbs:
        bgr = np.ascontiguousarray(frame[..., ::-1])  # cv2 encodes BGR
        ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise ValueError(f"a {frame.shape[1]}x{frame.shape[0]} thumbnail frame cannot be encoded as JPEG")
        encoded.append(jpeg.reshape(-1))
    offsets = np.zeros(len(encoded) + 1, np.int64)
    offsets[1:] = np.cumsum([len(jpeg) for jpeg in encoded])
    buffer = io.BytesIO()
    np.savez(buffer, format=np.array(THUMBS_FORMAT), jpeg=np.concatenate(encoded), offsets=offsets)
    return buffer.getvalue()


def read_thumbnails(path: Path) -> np.ndarray:
    """The (T, h, w, 3) uint8 RGB frames of a thumbnail strip file; HistoryError when it is missing
    or damaged (one line naming the file)."""
    path = Path(path)

    def damaged(reason: str) -> HistoryError:
        return HistoryError(f"{path}: the thumbnail strip is damaged ({reason})")

    try:
        # Opened here, not by np.load, so the file is closed even when the archive is unreadable.
        with open(path, "rb") as file:
            archive = np.load(file, allow_pickle=False)
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise damaged("not a thumbnail file")
            with archive:
                version, data, offsets = archive["format"], archive["jpeg"], archive["offsets"]
    except FileNotFoundError:
        raise HistoryError(f"{path}: no such file (the clip's thumbnail strip is missing)") from None
    except KeyError as exc:
        raise damaged(f"no {exc.args[0]!r} in it") from None
    except OSError as exc:
        if exc.errno is not None:
            raise HistoryError(f"{path}: cannot be read ({os_reason(exc)})") from None
        raise damaged("not a thumbnail file") from None
    except (ValueError, EOFError, zipfile.BadZipFile, RuntimeError):
        raise damaged("not a thumbnail file") from None

    if version.shape != () or not np.issubdtype(version.dtype, np.integer):
        raise damaged("no format number")
    if int(version) > THUMBS_FORMAT:
        raise HistoryError(
            f"{path}: written by a newer version of i2v_desktop (thumbnail format {int(version)})"
        )
    if data.ndim != 1 or data.dtype != np.uint8:
        raise damaged("the image data has the wrong type")
    if offsets.ndim != 1 or not np.issubdtype(offsets.dtype, np.integer) or len(offsets) < 2:
        raise damaged("the frame offsets have the wrong type")
    if offsets[0] != 0 or offsets[-1] != len(data) or np.any(np.diff(offsets) <= 0):
        raise damaged("the frame offsets do not match the image data")

    frames = []
    for i in range(len(offsets) - 1):
        image = cv2.imdecode(data[offsets[i] : offsets[i + 1]], cv2.IMREAD_COLOR)
        if image is None or image.ndim != 3 or image.shape[2] != 3:
            raise damaged(f"frame {i + 1} does not decode")
        if frames and image.shape != frames[0].shape:
            raise damaged(f"frame {i + 1} is not the size of the others")
        frames.append(image)
    return np.ascontiguousarray(np.stack(frames)[..., ::-1])


def _positive_number(value: object) -> bool:
    return is_real(value) and value > 0  # type: ignore[operator]


def strip_from_clip(mp4: Path, width: int = 160, max_frames: int = 24) -> np.ndarray:
    """The strip of a clip made from its MP4, for a clip the history found on disk without one
    (re-indexed from its sidecar). Frames are decoded one at a time and only the picked ones kept,
    so a long clip never sits whole in memory. HistoryError (one line) when the MP4 does not decode."""
    capture = cv2.VideoCapture(str(mp4))
    try:
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
        if total <= 0:
            raise HistoryError(f"{mp4}: no frames to make a thumbnail strip from")
        count = min(total, max_frames)
        # The same picks as thumbnail_frames: the frame in the middle of each share of the clip.
        picks = {min(int((i + 0.5) * total / count), total - 1) for i in range(count)}
        kept, index = [], 0
        while len(kept) < len(picks):
            ok, bgr = capture.read()
            if not ok:
                break
            if index in picks:
                height = max(2, round(bgr.shape[0] * width / bgr.shape[1] / 2) * 2)
                kept.append(cv2.resize(bgr, (width, height), interpolation=cv2.INTER_AREA)[..., ::-1])
            index += 1
    finally:
        capture.release()
    if not kept:
        raise HistoryError(f"{mp4}: no frames to make a thumbnail strip from")
    return np.ascontiguousarray(np.stack(kept))
