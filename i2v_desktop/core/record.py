"""The clip record (what travels with every clip: in its MP4 metadata, its sidecar and the history)
and the history's entry for one clip.

A record is read from files the user may have edited, synced or damaged, so reading it never
trusts a field: every accessor returns None (or a default) for a missing or ill-typed value. The
record keeps the whole JSON it was read from, so sections written by a newer version survive a
round trip.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import InputError
from .request import GenerationRequest

CLIP_SCHEMA = "i2v_desktop.clip"
CLIP_VERSION = 1


@dataclass(frozen=True)
class ClipRecord:
    """One clip's record: the request that reproduces it, what the engine did, how the take scored."""

    data: Mapping[str, Any] = field(repr=False)  # read-only plain JSON

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", freeze(self.data))

    @classmethod
    def make(cls, request: GenerationRequest, render: Mapping[str, Any], score: Mapping[str, Any] | None,
             app: str, sound: Mapping[str, Any] | None = None) -> ClipRecord:
        """`sound`: the clip's sound track as written (rate, channels, seconds), None for a silent clip."""
        data: dict[str, Any] = {"schema": CLIP_SCHEMA, "version": CLIP_VERSION, "app": app,
                                "request": request.to_dict(), "render": dict(render)}
        if score is not None:
            data["score"] = dict(score)
        if sound is not None:
            data["sound"] = dict(sound)
        return cls(data)

    @classmethod
    def from_dict(cls, data: Any, where: str) -> ClipRecord:
        """A record read from `where` (a file name, for the one-line error)."""
        if not isinstance(data, Mapping) or data.get("schema") != CLIP_SCHEMA:
            raise InputError(f"{where}: its metadata is not an i2v_desktop clip record")
        return cls(data)

    def to_dict(self) -> dict[str, Any]:
        """The record as plain, writable JSON types."""
        return thaw(self.data)

    def with_photo(self, image: str) -> ClipRecord:
        """The record with its request naming the photo as `image` (everything else unchanged)."""
        data = self.to_dict()
        request = data.get("request")
        if not isinstance(request, dict) or request.get("image") == image:
            return self
        request["image"] = image
        return ClipRecord(data)

    def public(self) -> ClipRecord:
        """The record as files that leave the history carry it: the photo by its file name only
        (where it lives on this machine is private; the history keeps it)."""
        photo = self.photo
        return self if photo is None else self.with_photo(photo_name(photo))

    def same_take(self, other: ClipRecord) -> bool:
        """Whether `other` records the same render, one of the two naming the photo by its file
        name only (a public copy of the other)."""
        mine, theirs = dict(section(self.data, "request")), dict(section(other.data, "request"))
        if not mine or not isinstance(mine.get("image"), str) or not isinstance(theirs.get("image"), str):
            return False
        if photo_name(mine.pop("image")) != photo_name(theirs.pop("image")):
            return False
        return mine == theirs and section(self.data, "render") == section(other.data, "render")

    # -- sections -----------------------------------------------------------------------------

    @property
    def app(self) -> str:
        value = self.data.get("app")
        return value if isinstance(value, str) else "i2v_desktop"

    @property
    def render(self) -> Mapping[str, Any]:
        return section(self.data, "render")

    @property
    def score_data(self) -> Mapping[str, Any] | None:
        value = self.data.get("score")
        return value if isinstance(value, Mapping) else None

    def request(self) -> GenerationRequest:
        """The request that made this clip (raises RequestError if it is unusable)."""
        return GenerationRequest.from_dict(thaw(section(self.data, "request")))

    # -- fields a front end shows -------------------------------------------------------------

    @property
    def seed(self) -> int | None:
        """The seed the clip was rendered with (what the engine used, else what was asked for)."""
        for name in ("render", "request"):
            value = section(self.data, name).get("seed")
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return None

    @property
    def preset(self) -> str | None:
        value = section(self.data, "request").get("preset")
        return value if isinstance(value, str) else None

    @property
    def model(self) -> str | None:
        for name in ("render", "request"):
            value = section(self.data, name).get("model")
            if isinstance(value, str):
                return value
        return None

    @property
    def photo(self) -> str | None:
        value = section(self.data, "request").get("image")
        return value if isinstance(value, str) else None

    @property
    def loop(self) -> bool:
        return section(self.data, "request").get("loop") is True

    @property
    def score(self) -> float | None:
        """The scorecard's overall score, or None for a clip that was not scored."""
        value = section(self.data, "score").get("overall")
        return float(value) if is_real(value) else None

    @property
    def sound(self) -> bool:
        """Whether the clip has a sound track. Records written before clips could have one lack the
        section: those clips are silent."""
        return isinstance(self.data.get("sound"), Mapping)

    @property
    def fps(self) -> float | None:
        value = self.render.get("fps")
        return float(value) if is_real(value) and value > 0 else None

    @property
    def duration(self) -> float | None:
        """Seconds of video, from the render info."""
        frames, fps = self.render.get("num_frames"), self.fps
        if is_real(frames) and frames > 0 and fps:
            return float(frames) / fps
        return None


@dataclass(frozen=True)
class ClipEntry:
    """One clip in the history. Immutable: changes go through the Studio, which returns new entries."""

    id: str
    mp4: Path
    thumbs: Path
    photo: str  # the request's image: the variants of one photo share it
    created: float  # unix time
    record: ClipRecord = field(compare=False, repr=False)
    starred: bool = False

    @property
    def seed(self) -> int | None:
        return self.record.seed

    @property
    def preset(self) -> str | None:
        return self.record.preset

    @property
    def score(self) -> float | None:
        return self.record.score

    @property
    def duration(self) -> float | None:
        return self.record.duration

    @property
    def sound(self) -> bool:
        """Whether the clip has a sound track (a speaker badge on its card)."""
        return self.record.sound

    @property
    def label(self) -> str:
        """A short caption for a history cell, e.g. "seed 7 · 0.91"."""
        parts = []
        if self.seed is not None:
            parts.append(f"seed {self.seed}")
        elif self.preset is not None:
            parts.append(self.preset)
        if self.score is not None:
            parts.append(f"{self.score:.2f}")
        return " · ".join(parts) or self.mp4.stem

    def request(self) -> GenerationRequest:
        return self.record.request()


def compare_labels(entries: Sequence[ClipEntry], names: Mapping[str, str] | None = None) -> list[str]:
    """A caption per clip for comparing them: what differs between them (model, preset, quality,
    seed: by name, "Wan2.2 TI2V-5B · push-in"), then how long each took to render, its score and
    how well it made its move. `names`: model and preset names by id (an id is shown where none is
    given)."""
    names = names or {}

    def differing(entry: ClipEntry) -> dict[str, str]:
        request = section(entry.record.data, "request")
        model = entry.record.model or "?"
        preset = entry.preset or "?"
        return {"model": names.get(model, model), "preset": names.get(preset, preset),
                "quality": str(request.get("quality", "?")), "seed": f"seed {entry.seed}"}

    shown = [differing(entry) for entry in entries]
    keys = [k for k in ("model", "preset", "quality", "seed") if len({d[k] for d in shown}) > 1] or ["seed"]
    labels = []
    for entry, words in zip(entries, shown):
        parts = [" · ".join(words[k] for k in keys)]
        elapsed = entry.record.render.get("elapsed_s")
        if is_real(elapsed):
            parts.append(f"{elapsed:.0f} s" if elapsed >= 10 else f"{elapsed:.1f} s")
        if entry.score is not None:
            parts.append(f"score {entry.score:.2f}")
        adherence = (entry.record.score_data or {}).get("motion_adherence")
        if isinstance(adherence, Mapping) and is_real(adherence.get("rating")):
            parts.append(f"move {adherence['rating']:.2f}")
        labels.append(" · ".join(parts))
    return labels


def photo_name(image: str) -> str:
    """A photo's file name from its path or URL (either slash)."""
    return image.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or image


def is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def section(record: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = record.get(key)
    return value if isinstance(value, Mapping) else {}


def freeze(value: Any) -> Any:
    """A read-only view of plain JSON data (records are shared between threads and callers)."""
    if isinstance(value, MappingProxyType):
        return value
    if isinstance(value, Mapping):
        return MappingProxyType({key: freeze(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(freeze(item) for item in value)
    return value


def thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [thaw(item) for item in value]
    return value
