"""Whether a clip file is whole: the frames it holds against those its index (or record) declares."""

from __future__ import annotations

from pathlib import Path

from ..core.errors import I2VError
from ..export.container import read_video, video_frames


def truncation(path: Path, recorded: object) -> str | None:
    """'CLIP: truncated: 41 of 72 frames' when the file holds fewer frames than its index (or, for
    a container without one, its record) says. With an index nothing is decoded: its frame sizes
    and chunk offsets against the file's length say how many frames are there."""
    index = video_frames(path)
    if index is not None:
        present, declared = index.present, index.declared
    elif isinstance(recorded, int) and not isinstance(recorded, bool):
        try:
            present, declared = len(read_video(path).frames), recorded
        except I2VError as exc:
            return str(exc)
    else:
        return None
    return f"{path}: truncated: {present} of {declared} frames" if present < declared else None
