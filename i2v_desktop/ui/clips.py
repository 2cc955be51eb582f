"""Clips held in memory for the viewer: whole clips for instant playback, the newest within a
budget, and the thumbnail strips of the cells. What is missing is read on the background pool;
the GUI thread never waits on the disk."""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from ..core.errors import I2VError
from ..core.record import ClipEntry
from ..core.studio import Studio
from .background import Background

log = logging.getLogger(__name__)
CLIP_CACHE_BYTES = 1_500_000_000  # full clips kept in memory for instant playback


class ClipCache(QObject):
    clipLoaded = Signal(str, object, float)  # entry id, frames, fps
    thumbsLoaded = Signal(dict)  # entry id → thumbnail frames
    failed = Signal(str)  # one line naming the clip

    def __init__(self, studio: Studio, background: Background, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.studio, self.background = studio, background
        self.full: OrderedDict[str, tuple[np.ndarray, float]] = OrderedDict()  # oldest first
        self.thumbs: dict[str, np.ndarray] = {}

    def clip(self, entry_id: str) -> tuple[np.ndarray, float] | None:
        if entry_id not in self.full:
            return None
        self.full.move_to_end(entry_id)
        return self.full[entry_id]

    def remember(self, entry_id: str, frames: np.ndarray, fps: float) -> None:
        self.full[entry_id] = (frames, fps)
        while sum(f.nbytes for f, _ in self.full.values()) > CLIP_CACHE_BYTES and len(self.full) > 1:
            self.full.popitem(last=False)

    def forget(self, entry_id: str) -> None:
        self.full.pop(entry_id, None)
        self.thumbs.pop(entry_id, None)

    def load(self, entry: ClipEntry) -> None:
        """Read a clip off the GUI thread; `clipLoaded` or `failed` follows."""
        self.background.submit(lambda: self.studio.load_clip(entry),
                               lambda clip: self._on_clip_loaded(entry.id, clip), self.failed.emit,
                               name=entry.mp4.name)

    def _on_clip_loaded(self, entry_id: str, clip: tuple[np.ndarray, float]) -> None:
        self.remember(entry_id, *clip)
        self.clipLoaded.emit(entry_id, *clip)

    def strip_items(self, entries: list[ClipEntry], with_photo: bool) -> list[tuple[ClipEntry, np.ndarray | None, str]]:
        """Items for a VariantStrip; thumbnails not in memory yet are read off the GUI thread and
        announced by `thumbsLoaded`."""
        items, missing = [], []
        for entry in entries:
            thumbs = self.thumbs.get(entry.id)
            if thumbs is None:
                missing.append(entry)
            items.append((entry, thumbs, cell_label(entry, with_photo)))
        if missing:
            studio = self.studio
            self.background.submit(lambda: {e.id: _thumbnails_or_blank(studio, e) for e in missing},
                                   self._on_thumbs_loaded, name="thumbnails")
        return items

    def _on_thumbs_loaded(self, thumbs: dict[str, np.ndarray]) -> None:
        self.thumbs.update(thumbs)
        self.thumbsLoaded.emit(thumbs)


def cell_label(entry: ClipEntry, with_photo: bool) -> str:
    """A clip's caption under its thumbnail: its score first (what a pick is made on), then its seed."""
    parts = [Path(entry.photo).stem] if with_photo else []
    if entry.score is not None:
        parts.append(f"{entry.score:.2f}")
    if entry.seed is not None:
        parts.append(f"seed {entry.seed}")
    return " · ".join(parts) or entry.mp4.stem


def _thumbnails_or_blank(studio: Studio, entry: ClipEntry) -> np.ndarray:
    try:
        return studio.thumbnails(entry)
    except I2VError as exc:  # a damaged strip costs its picture, not the clip
        log.warning("%s", exc)
        return np.zeros((1, 9, 16, 3), np.uint8)
