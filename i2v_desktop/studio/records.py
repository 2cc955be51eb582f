"""The clip record on disk: written into every clip's MP4 metadata and its sidecar, read back as a
`core.record.ClipRecord`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .. import __version__
from ..core.clip import Clip
from ..core.errors import InputError
from ..core.framing import fit_image
from ..core.image import load_image
from ..core.record import ClipRecord, thaw
from ..core.request import GenerationRequest
from ..export.audio import AAC_RATE, audio_stream
from ..export.mp4 import read_mp4_metadata
from ..quality.scorecard import Scorecard

METADATA_KEY = "i2v_desktop"  # the MP4 tag that carries the record


def make_record(clip: Clip, score: Scorecard | None = None) -> ClipRecord:
    """What travels with a clip: the request that reproduces it, what was done, how the take holds
    up, and its sound track (as `save_clip` writes it: the clip's channels at 48 kHz, as long as
    the video)."""
    sound = None
    if clip.audio is not None:
        sound = {"codec": "aac", "rate": AAC_RATE, "channels": int(clip.audio.samples.shape[1]),
                 "source_rate": clip.audio.rate, "duration": round(clip.duration, 4)}
    return ClipRecord.make(clip.request, clip.info.to_dict(), None if score is None else score.to_dict(),
                           f"i2v_desktop {__version__}", sound)


def record_text(record: ClipRecord) -> str:
    """The record as the metadata tag holds it."""
    return json.dumps(record.to_dict(), ensure_ascii=False, sort_keys=True)


def read_record(path: Path) -> ClipRecord:
    """The record an i2v clip carries in its metadata, or in its sidecar when the tags were lost
    (some editors and platforms strip them). InputError, naming the file, when it has none."""
    path = Path(path)
    tags = {key.lower(): value for key, value in read_mp4_metadata(path).items()}  # Matroska upper-cases keys
    text = tags.get(METADATA_KEY)
    sidecar = path.with_suffix(".json")
    if text is None and sidecar.is_file():
        try:
            text = sidecar.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{sidecar}: the clip's sidecar cannot be read ({type(exc).__name__})") from None
        try:  # an export's sidecar carries the clip's record among its tags
            exported = json.loads(text)
            if isinstance(exported, dict) and METADATA_KEY in exported.get("metadata", {}):
                text = exported["metadata"][METADATA_KEY]
        except ValueError:
            pass
    if text is None:
        raise InputError(f"{path}: not made by i2v_desktop (no settings in its metadata, no sidecar)")
    try:
        data = json.loads(text)
    except ValueError:
        raise InputError(f"{path}: its i2v_desktop metadata is damaged") from None
    return ClipRecord.from_dict(data, str(path))


def score_summary(record: ClipRecord) -> str | None:
    """The one-line scorecard a clip was saved with, or None for a clip that was not scored."""
    data = record.score_data
    return None if data is None else Scorecard.from_dict(thaw(data)).summary()


def sound_summary(path: Path) -> str:
    """The file's sound track in a few words ("AAC, 48 kHz, stereo"), or "none". Read from the
    file itself: an export carries its clip's record but has a track of its own."""
    stream = audio_stream(path)
    return "none" if stream is None else stream.describe()


def framed_photo(request: GenerationRequest, size: tuple[int, int]) -> np.ndarray:
    """The photo `request` names, framed as its clip was (its crop centre, cropped to `size`'s
    shape around the subject) and resized to `size`: (H, W, 3) uint8."""
    width, height = size
    photo = load_image(request.image, max_pixels=max(4 * width * height, 2_000_000))
    return fit_image(photo, (width, height), request.crop_center)[0]
