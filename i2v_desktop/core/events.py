"""The closed set of events an engine emits while it works.

Every event is immutable and picklable, so the stream can cross a thread (or later a process)
unchanged. A consumer handles them in one place with `match event:`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable, Union

import numpy as np

from .clip import Clip, frozen_frames


class Stage(str, Enum):
    DOWNLOADING = "downloading"
    LOADING = "loading"
    ENCODING_PROMPT = "encoding prompt"
    DENOISING = "denoising"
    RENDERING = "rendering"  # the instant engine draws frames instead of denoising
    DECODING = "decoding"
    ENCODING_VIDEO = "encoding video"


@dataclass(frozen=True)
class Preview:
    """A cheap, low-resolution look at the whole clip as it is now."""

    frames: np.ndarray  # (T, h, w, 3) uint8, read-only
    fps: float
    # How many first frames are the previous preview's, unchanged: an engine whose previews grow
    # frame by frame (the instant engine) says so, and only the frames after them need to travel
    # to a window in another process. 0: a new look at the whole clip (a model's, each step).
    extends: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "frames", frozen_frames(self.frames))
        extends = self.extends
        if isinstance(extends, bool) or not isinstance(extends, int) or not 0 <= extends <= len(self.frames):
            raise ValueError(f"a preview of {len(self.frames)} frames cannot extend {extends!r} earlier ones")


@dataclass(frozen=True)
class StageChanged:
    stage: Stage
    detail: str = ""


@dataclass(frozen=True)
class DownloadProgress:
    done_bytes: int
    total_bytes: int
    what: str


@dataclass(frozen=True)
class StepProgress:
    step: int  # 1-based: step `step` of `total` is done
    total: int
    elapsed_s: float
    eta_s: float
    preview: Preview | None = None


@dataclass(frozen=True)
class Warned:
    """A take going wrong while it renders (almost static, drifting): worth cancelling early."""

    reason: str


@dataclass(frozen=True)
class Finished:
    clip: Clip


@dataclass(frozen=True)
class Failed:
    reason: str  # one line for the user


@dataclass(frozen=True)
class Cancelled:
    pass


Event = Union[StageChanged, DownloadProgress, StepProgress, Warned, Finished, Failed, Cancelled]
EventSink = Callable[[Event], None]
