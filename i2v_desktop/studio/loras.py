"""The LoRA calls of the Studio: the user's LoRA folder and files, each checked against a model, and
the camera-control LoRA a preset's move uses on a model.

Reading a LoRA is its safetensors header only (engine/lorafiles.py): no torch, milliseconds per
file. Hashing is the slow part, done once per version of a file in this process.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..core.errors import I2VError, ModelError, os_reason
from ..core.presets import PresetLibrary
from ..core.studio import CameraLora, LoraChoice
from ..engine.lorafiles import Shape, file_sha256, mismatch, model_shape, read_lora
from ..engine.registry import ModelEntry, Registry
from ..storage.paths import user_loras_dir


def lora_folder(folder: Path | None = None) -> Path:
    """The folder the user drops LoRA files into, made when first asked for; I2VError naming it when
    it cannot be made."""
    folder = folder or user_loras_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise I2VError(f"{folder}: the LoRA folder cannot be made ({os_reason(exc)})") from None
    return folder


def folder_files(folder: Path) -> list[Path]:
    """The folder's .safetensors files, sorted by name (the case of the suffix does not matter)."""
    try:
        found = [path for path in folder.iterdir() if path.suffix.lower() == ".safetensors" and path.is_file()]
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise I2VError(f"{folder}: the LoRA folder cannot be read ({os_reason(exc)})") from None
    return sorted(found, key=lambda path: (path.name.lower(), path.name))


def loras(entry: ModelEntry, folder: Path, extra: Sequence[str] = ()) -> list[LoraChoice]:
    """The folder's LoRA files, then `extra`, each read and checked against `entry` (a file listed
    twice is listed once, where it first appears)."""
    shape = model_shape(entry)  # None when the model's files are not here: then the family alone is checked
    paths = [*folder_files(folder), *(Path(p).expanduser() for p in extra)]
    seen: set[Path] = set()
    choices = []
    for path in paths:
        key = path.resolve() if path.exists() else path.absolute()
        if key in seen:
            continue
        seen.add(key)
        choices.append(choice(path, entry, shape))
    return choices


def choice(path: Path, entry: ModelEntry, shape: Shape | None) -> LoraChoice:
    """One file as a LoraChoice for `entry`: unreadable or unfit files too, with their one-line reason."""
    full = str(path.resolve()) if path.exists() else str(path.absolute())
    if not path.is_file():
        why = "no such file" if not path.exists() else "not a file"
        return LoraChoice(full, path.name, "", 0, "", "", False, f"{path.name}: {why}")
    try:
        lora = read_lora(path)
        sha = file_sha256(path)
    except ModelError as exc:
        return LoraChoice(full, path.name, "", _size(path), "", "", False, str(exc))
    except OSError as exc:
        why = f"{path.name}: cannot read it ({os_reason(exc)})"
        return LoraChoice(full, path.name, "", _size(path), "", "", False, why)
    reason = mismatch(lora, entry, shape)
    return LoraChoice(full, path.name, sha, lora.size_bytes, lora.base, lora.layout, not reason, reason, lora.expert)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def camera_lora(registry: Registry, presets: PresetLibrary, model: str, preset: str) -> CameraLora:
    """What `preset`'s move uses on `model`: its camera LoRA when the registry has one for this model
    (ready when on disk), else the prompt words, with the reason in the note."""
    from ..engine.weights import camera_lora_path, how_to_download

    entry = registry.resolve(model)
    motion = presets.get(preset)
    wanted = motion.for_family(entry.family).lora
    if wanted is None:
        return CameraLora("", "", 0.0, False, 0.0, "",
                          f"{motion.name} on {entry.name}: prompt words only (no camera LoRA for this move on it)")
    if wanted.id not in registry.camera_loras:
        return CameraLora(wanted.id, wanted.id, wanted.strength, False, 0.0, "",
                          f"{motion.name} names camera LoRA {wanted.id!r}, which this app does not know: "
                          f"prompt words only")
    lora = registry.camera_lora(wanted.id)
    if lora not in registry.camera_loras_for(entry):
        made_for = ", ".join(registry.models[b].name if b in registry.models else b for b in lora.base)
        return CameraLora(lora.id, lora.name, wanted.strength, False, lora.download_gb, lora.licence,
                          f"{lora.name} is made for {made_for}, not {entry.name}: prompt words only")
    if camera_lora_path(lora) is None:
        return CameraLora(lora.id, lora.name, wanted.strength, False, lora.download_gb, lora.licence,
                          f"{lora.name} ({lora.download_gb:g} GB) is not downloaded: prompt words only; "
                          f"it comes with the model ({how_to_download(entry)})")
    return CameraLora(lora.id, lora.name, wanted.strength, True, lora.download_gb, lora.licence,
                      f"{lora.name} at strength {wanted.strength:g} makes the move, with the prompt words")
