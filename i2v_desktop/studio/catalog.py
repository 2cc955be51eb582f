"""What the user has to choose from, read from the user's folders (models, motion presets, export
formats) and the model files on this disk: what the command line reaches behind the seam besides a Studio."""

from __future__ import annotations

from pathlib import Path

from ..core.presets import PresetLibrary, load_presets
from ..engine.device import OFFLOAD_MODES
from ..engine.registry import FAMILIES, ModelEntry, Registry, load_registry
from ..engine.speed import SPEED_MODES
from ..storage.paths import config_dir, user_models_file, user_presets_dir

__all__ = ["FAMILIES", "OFFLOAD_MODES", "SPEED_MODES", "camera_files", "downloaded", "on_disk", "user_exports",
           "user_presets", "user_registry"]


def user_registry() -> Registry:
    """The built-in models and the user's models.json (entries it could not use are in `problems`)."""
    return load_registry(user_file=user_models_file())


def user_presets() -> PresetLibrary:
    return load_presets(user_presets_dir())


def user_exports():  # -> export.social.ExportLibrary
    from ..export.social import USER_FOLDER, load_export_presets  # OpenCV comes with it: only when asked

    return load_export_presets(config_dir() / USER_FOLDER)


def downloaded(entry: ModelEntry) -> tuple[bool, bool]:
    """Whether the model's weights, and its fast tier's LoRAs, are in the download cache."""
    from ..engine.weights import is_downloaded, loras_downloaded

    return is_downloaded(entry), loras_downloaded(entry)


def on_disk(entry: ModelEntry):
    """Where the model's weights, its fast tier's LoRAs and its tiny decoder are on this disk:
    (Weights or None, LoRA files, tiny decoder file or None); no network."""
    from ..engine.weights import on_disk

    return on_disk(entry)


def camera_files(entry: ModelEntry) -> tuple[Path, ...]:
    """The model's camera LoRA files that are on this disk, in the registry's order; no network."""
    from ..engine.weights import camera_lora_path

    return tuple(path for path in (camera_lora_path(lora) for lora in entry.camera_loras) if path is not None)
