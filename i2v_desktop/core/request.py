"""GenerationRequest: everything a render needs, and nothing else the engine may read.

Frozen so it can cross threads and processes; versioned so that a request saved in an MP4's
metadata, a sidecar or the history still loads after the schema grows.
"""

from __future__ import annotations

import functools
import json
import math
import random
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Mapping

from .errors import RequestError
from .keyframes import Framing
from .presets import LORA_STRENGTH, MotionPreset, load_presets
from .settings import DEFAULTS

SCHEMA = "i2v_desktop.request"
# 2: the user's words (`prompt`) and the motion words (`motion_prompt`) are kept apart.
# 3: `sound` (a model that makes sound with the picture) and `try_anyway` (a model too big for the
# machine, run at the cost the user was told); both default to False, so version 2 reads unchanged.
# 4: `loras` (the user's own LoRA files, by content hash, with strength and expert), `camera_lora`
# (the preset's camera-control LoRA strength, or off), `end_image` (the photo the clip ends on) and
# `keyframes` (the instant engine's start, middle and end framings); the defaults are what version 3
# rendered.
SCHEMA_VERSION = 4

ASPECTS: dict[str, float | None] = {"source": None, "9:16": 9 / 16, "4:5": 4 / 5, "1:1": 1.0, "16:9": 16 / 9}
# "fast" is offered only by models with a step-distilled tier (a distilled LoRA, or a distilled
# checkpoint): the registry says which; the others are offered by every model.
QUALITIES = ("draft", "standard", "final", "fast")
BASE_QUALITIES = tuple(q for q in QUALITIES if q != "fast")  # every model has these; "fast" only some
DEFAULT_MODEL = "wan2.2-ti2v-5b"
MAX_VARIANTS = 16
MAX_SEED = 2**32 - 1
MAX_LORAS = 8
# Which denoiser a LoRA file goes into. Wan2.2 I2V-A14B has two experts: the high-noise one lays the
# clip out (the pipeline's `transformer`), the low-noise one finishes the detail (`transformer_2`);
# LoRAs for it are published as a pair of files, one per expert. "both": every denoiser the model
# has (the only choice on a model with one).
EXPERTS = ("both", "high", "low")


def random_seed() -> int:
    return random.SystemRandom().randrange(MAX_SEED + 1)


@dataclass(frozen=True)
class LoraUse:
    """One of the user's LoRA files in a render, named by its content so a take can be reproduced
    exactly, or refused with the reason when the file is gone or has changed."""

    path: str  # where it was when the take was made
    sha256: str  # of the whole file, lowercase hex
    strength: float = 1.0
    expert: str = "both"  # one of EXPERTS

    def __post_init__(self) -> None:
        def bad(why: str) -> RequestError:
            return RequestError(f"request: lora {self.path!r} {why}")

        if not isinstance(self.path, str) or not self.path:
            raise RequestError("request: a lora must name its file")
        if not isinstance(self.sha256, str) or len(self.sha256) != 64 or set(self.sha256) - set("0123456789abcdef"):
            raise bad("needs the file's sha256 (64 lowercase hex digits)")
        low, high = LORA_STRENGTH
        if not _is_number(self.strength) or not low <= self.strength <= high:
            raise bad(f"strength must be from {low:g} to {high:g}, got {self.strength!r}")
        if self.expert not in EXPERTS:
            raise bad(f"expert must be one of {', '.join(EXPERTS)}, got {self.expert!r}")
        object.__setattr__(self, "strength", float(self.strength))

    @property
    def name(self) -> str:
        """The file's name, as messages and labels show it."""
        return self.path.replace("\\", "/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class GenerationRequest:
    """One render job. `variants` > 1 asks for that many clips seeded seed, seed+1, …"""

    image: str
    preset: str = DEFAULTS.preset
    intensity: float = DEFAULTS.intensity
    prompt: str = ""  # the user's own words: the scene, the subject
    # The motion words; None: the preset's words for the chosen model's family, so the same
    # request re-rendered on another model gets that model's words.
    motion_prompt: str | None = None
    negative_prompt: str = ""
    duration: float = DEFAULTS.duration
    fps: float | None = DEFAULTS.fps  # None: the model's native rate
    aspect: str = DEFAULTS.aspect
    quality: str = DEFAULTS.quality
    seed: int = 0
    variants: int = DEFAULTS.variants
    model: str = DEFAULT_MODEL  # registry id, or a local diffusers-format folder
    steps: int | None = None  # None: the model's default for the quality tier
    guidance: float | None = None  # None: the model's default
    loop: bool = DEFAULTS.loop
    crop_center: tuple[float, float] | None = None  # framing override, 0..1 in source coordinates
    sound: bool = False  # make sound with the picture, where the model can (muxed as AAC)
    # The model does not fit this machine and the user chose to run it anyway, at the cost they were
    # told (offload to RAM, hours on the processor): the engine runs it instead of refusing.
    try_anyway: bool = False
    loras: tuple[LoraUse, ...] = ()  # the user's own LoRAs, combined as adapters
    # The preset's camera-control LoRA (where the model has one for the move): None at the preset's
    # own strength, 0 off (the prompt words alone ask for the move), or another strength.
    camera_lora: float | None = None
    # The photo the clip ends on (a second photo, or an edited copy of the first), on the models that
    # can condition their last frame; None: the clip ends wherever the motion takes it.
    end_image: str | None = None
    # The instant engine's camera path as crops of the photo: a start and an end framing, and
    # optionally one in the middle (core.keyframes); () : the preset's own camera move.
    keyframes: tuple[Framing, ...] = ()

    def __post_init__(self) -> None:
        def bad(field: str, why: str) -> RequestError:
            return RequestError(f"request: {field} {why}")

        if not isinstance(self.image, str) or not self.image:
            raise bad("image", "must be a file path")
        if not isinstance(self.preset, str) or not self.preset:
            raise bad("preset", "must be a preset id")
        if not _is_number(self.intensity) or not 0.0 <= self.intensity <= 1.0:
            raise bad("intensity", f"must be between 0 and 1, got {self.intensity!r}")
        for name in ("prompt", "negative_prompt", "model"):
            if not isinstance(getattr(self, name), str):
                raise bad(name, "must be text")
        if self.motion_prompt is not None and not isinstance(self.motion_prompt, str):
            raise bad("motion_prompt", "must be text or null")
        if not self.model:
            raise bad("model", "must name a model id or folder")
        if not _is_number(self.duration) or not 0.2 <= self.duration <= 60.0:
            raise bad("duration", f"must be between 0.2 and 60 seconds, got {self.duration!r}")
        if self.fps is not None and (not _is_number(self.fps) or not 1.0 <= self.fps <= 120.0):
            raise bad("fps", f"must be between 1 and 120, got {self.fps!r}")
        if self.aspect not in ASPECTS:
            raise bad("aspect", f"must be one of {', '.join(ASPECTS)}, got {self.aspect!r}")
        if self.quality not in QUALITIES:
            raise bad("quality", f"must be one of {', '.join(QUALITIES)}, got {self.quality!r}")
        if not _is_int(self.seed) or not 0 <= self.seed <= MAX_SEED:
            raise bad("seed", f"must be an integer from 0 to {MAX_SEED}, got {self.seed!r}")
        if not _is_int(self.variants) or not 1 <= self.variants <= MAX_VARIANTS:
            raise bad("variants", f"must be from 1 to {MAX_VARIANTS}, got {self.variants!r}")
        if self.steps is not None and (not _is_int(self.steps) or not 1 <= self.steps <= 200):
            raise bad("steps", f"must be from 1 to 200, got {self.steps!r}")
        if self.guidance is not None and (not _is_number(self.guidance) or not 0.0 <= self.guidance <= 30.0):
            raise bad("guidance", f"must be between 0 and 30, got {self.guidance!r}")
        for name in ("loop", "sound", "try_anyway"):
            if not isinstance(getattr(self, name), bool):
                raise bad(name, "must be true or false")
        loras = tuple(LoraUse(**u) if isinstance(u, dict) else u for u in self.loras) \
            if isinstance(self.loras, (list, tuple)) else None
        if loras is None or not all(isinstance(u, LoraUse) for u in loras):
            raise bad("loras", "must be a list of LoRA files")
        if len(loras) > MAX_LORAS:
            raise bad("loras", f"may hold at most {MAX_LORAS} files, got {len(loras)}")
        if len({(u.sha256, u.expert) for u in loras}) != len(loras):
            raise bad("loras", "names the same file twice")
        object.__setattr__(self, "loras", loras)
        if self.camera_lora is not None:
            low, high = LORA_STRENGTH
            if not _is_number(self.camera_lora) or not low <= self.camera_lora <= high:
                raise bad("camera_lora", f"must be null or a strength from {low:g} to {high:g}, got {self.camera_lora!r}")
        if self.end_image is not None and (not isinstance(self.end_image, str) or not self.end_image):
            raise bad("end_image", "must be a file path or null")
        try:
            keyframes = tuple(Framing(**k) if isinstance(k, dict) else k for k in self.keyframes) \
                if isinstance(self.keyframes, (list, tuple)) else None
        except TypeError:  # a framing with other keys than x, y and width
            keyframes = None
        if keyframes is None or not all(isinstance(k, Framing) for k in keyframes):
            raise bad("keyframes", "must be a list of framings (x, y, width)")
        if len(keyframes) not in (0, 2, 3):
            raise bad("keyframes", f"must be a start and an end framing, and at most one between (got {len(keyframes)})")
        object.__setattr__(self, "keyframes", keyframes)
        if self.crop_center is not None:
            c = tuple(self.crop_center)
            if len(c) != 2 or not all(_is_number(v) and 0.0 <= v <= 1.0 for v in c):
                raise bad("crop_center", "must be two numbers between 0 and 1")
            object.__setattr__(self, "crop_center", (float(c[0]), float(c[1])))

    # -- variants ---------------------------------------------------------------------------

    def variant_requests(self) -> list[GenerationRequest]:
        """One single-clip request per variant, each with its own reproducible seed."""
        return [replace(self, seed=(self.seed + i) % (MAX_SEED + 1), variants=1) for i in range(self.variants)]

    # -- JSON -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.crop_center is not None:
            data["crop_center"] = list(self.crop_center)
        data["loras"] = [asdict(u) for u in self.loras]
        data["keyframes"] = [asdict(k) for k in self.keyframes]
        return {"schema": SCHEMA, "version": SCHEMA_VERSION, **data}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Any) -> GenerationRequest:
        if not isinstance(data, dict):
            raise RequestError("request: expected a JSON object")
        data = dict(data)
        if data.pop("schema", SCHEMA) != SCHEMA:
            raise RequestError("request: this JSON is not an i2v_desktop request")
        version = data.pop("version", None)
        if not _is_int(version):
            raise RequestError("request: missing schema version")
        if version > SCHEMA_VERSION:
            raise RequestError(
                f"request: made by a newer i2v_desktop (schema {version}, this one reads {SCHEMA_VERSION})"
            )
        if version < 2:
            data = _from_v1(data)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise RequestError(f"request: unknown field(s) {', '.join(unknown)}")
        if "image" not in data:
            raise RequestError("request: image is missing")
        if isinstance(data.get("crop_center"), list):
            data["crop_center"] = tuple(data["crop_center"])
        try:
            return cls(**data)
        except TypeError as exc:  # wrong value types that __post_init__ could not describe
            raise RequestError(f"request: {exc}") from None

    @classmethod
    def from_json(cls, text: str) -> GenerationRequest:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RequestError(f"request: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        return cls.from_dict(data)


def _from_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 had one prompt, and the window put the preset's motion words at its end (the
    planner then skipped words it found there). Keep the user's part; the motion words become the
    preset's words for whatever model renders the request next."""
    prompt = data.get("prompt", "")
    if isinstance(prompt, str) and prompt:
        data["prompt"] = _without_motion_words(prompt, data.get("preset"), data.get("intensity", DEFAULTS.intensity))
    return data


@functools.lru_cache(maxsize=1)
def _builtin_presets() -> Mapping[str, MotionPreset]:
    return load_presets().presets


def _without_motion_words(prompt: str, preset_id: Any, intensity: Any) -> str:
    preset = _builtin_presets().get(preset_id) if isinstance(preset_id, str) else None
    if preset is None or not _is_number(intensity):
        return prompt
    for motion in preset.families.values():
        words = motion.prompt_for(min(max(float(intensity), 0.0), 1.0)).strip()
        if words and prompt.rstrip().endswith(words):
            return prompt.rstrip()[: -len(words)].rstrip()
    return prompt


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)) and math.isfinite(value)
