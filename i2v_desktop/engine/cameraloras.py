"""Camera-control LoRAs as registry data (resources/loras.json): what makes a preset's move on a model.

A motion preset's family section may name one of these by id (core.presets.PresetLora); the Registry
says which models each is for, and a download of such a model fetches them with it. Like the
models, every fact names its source, and loading validates the file into frozen entries; a bad
field is one line naming the file, the LoRA and the field. No torch, no network.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from ..core.errors import ModelError
from ..core.presets import MOVES
from ..core.resources import resource_path

FIELDS = ("id", "name", "family", "move", "repo", "revision", "file", "download_gb", "licence", "commercial",
          "base", "trigger", "sources")
_ID = re.compile(r"^[a-z0-9][a-z0-9.\-]*$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_REPO = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")


@dataclass(frozen=True)
class CameraLoraEntry:
    """One published camera-control LoRA: where it comes from, what it may be used for, which models take it."""

    id: str  # the id a preset names; its diffusers adapter is "camera-<id>"
    name: str  # as shown: "LTX-2 Dolly In"
    family: str  # the model family it was trained on (engine.registry.FAMILIES)
    move: str  # the camera move it makes, in core.presets.MOVES terms
    repo: str
    revision: str | None  # pinned commit (None only where the hub's commit could not be read)
    file: str  # the .safetensors file in the repo
    download_gb: float
    licence: str
    commercial: str  # one line on commercial use
    base: tuple[str, ...]  # the registry model ids it was made for
    trigger: str = ""  # words it was trained to answer; "" when it needs none
    sources: tuple[str, ...] = ()

    @property
    def adapter(self) -> str:
        """The adapter name it is loaded under (one convention for every front end and the engine)."""
        return f"camera-{self.id}"


def parse_camera_lora(data: Any, source: str, families: tuple[str, ...]) -> CameraLoraEntry:
    """One loras.json item, validated; ModelError in one line naming the file, the LoRA and the field."""
    lora_id = data.get("id", "?") if isinstance(data, dict) else "?"

    def fail(field: str, why: str) -> ModelError:
        return ModelError(f"{source}: camera LoRA {lora_id!r}: {field} {why}")

    if not isinstance(data, dict):
        raise ModelError(f"{source}: every camera LoRA must be a JSON object")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise fail(unknown[0], "is not a field of a camera LoRA")
    missing = [name for name in FIELDS if name not in data and name != "trigger"]
    if missing:
        raise fail(missing[0], "is missing")
    if not isinstance(data["id"], str) or not _ID.match(data["id"]):
        raise fail("id", "must be lowercase letters, digits, dots and dashes")
    for name in ("name", "licence", "commercial"):
        if not isinstance(data[name], str) or not data[name].strip():
            raise fail(name, "must be non-empty text")
    if data["family"] not in families:
        raise fail("family", f"must be one of {', '.join(families)}")
    if data["move"] not in MOVES:
        raise fail("move", f"must be a camera move ({', '.join(MOVES)})")
    if not isinstance(data["repo"], str) or not _REPO.match(data["repo"]):
        raise fail("repo", "must be a Hugging Face repository (owner/name)")
    revision = data["revision"]
    if revision is not None and (not isinstance(revision, str) or not _COMMIT.match(revision)):
        raise fail("revision", "must be a full 40-character commit hash, or null where none could be read")
    if not isinstance(data["file"], str) or not data["file"].endswith(".safetensors"):
        raise fail("file", "must name a .safetensors file (pickled weights are never loaded)")
    size = data["download_gb"]
    if isinstance(size, bool) or not isinstance(size, (int, float)) or not 0 < size < 100:
        raise fail("download_gb", "must be the file's size in GB, above 0")
    base = data["base"]
    if not isinstance(base, list) or not base or not all(isinstance(b, str) and b for b in base):
        raise fail("base", "must list the model ids it is for")
    trigger = data.get("trigger", "")
    if not isinstance(trigger, str):
        raise fail("trigger", "must be text (\"\" when it needs none)")
    sources = data["sources"]
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) and s for s in sources):
        raise fail("sources", "must list where each fact comes from")
    return CameraLoraEntry(
        id=data["id"], name=data["name"].strip(), family=data["family"], move=data["move"], repo=data["repo"],
        revision=revision, file=data["file"], download_gb=float(size), licence=data["licence"].strip(),
        commercial=data["commercial"].strip(), base=tuple(base), trigger=trigger.strip(), sources=tuple(sources),
    )


def load_camera_loras(path: Path, families: tuple[str, ...]) -> Mapping[str, CameraLoraEntry]:
    """Every camera LoRA in `path` by id; ModelError in one line naming the file when it is not usable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModelError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: not valid JSON ({exc})") from None
    items = data.get("loras") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ModelError(f"{path}: not a camera LoRA file (it needs a \"loras\" list)")
    found: dict[str, CameraLoraEntry] = {}
    for item in items:
        lora = parse_camera_lora(item, str(path), families)
        if lora.id in found:
            raise ModelError(f"{path}: camera LoRA {lora.id!r}: id appears twice")
        found[lora.id] = lora
    return MappingProxyType(found)


def loras_file() -> Path:
    return resource_path("loras.json")


@functools.lru_cache(maxsize=1)
def built_in_camera_loras() -> Mapping[str, CameraLoraEntry]:
    """resources/loras.json (a broken built-in file is a bug: it raises)."""
    from .registry import FAMILIES

    return load_camera_loras(loras_file(), FAMILIES)
