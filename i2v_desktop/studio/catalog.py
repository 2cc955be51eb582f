"""What the user has to choose from, read from the user's folders (models, motion presets, export
formats) and where downloads go: what the command line reaches behind the seam besides a Studio."""

from __future__ import annotations

from ..core.presets import PresetLibrary, load_presets
from ..engine.device import OFFLOAD_MODES
from ..engine.registry import ModelEntry, Registry, load_registry
from ..engine.speed import SPEED_MODES
from ..storage.paths import config_dir, user_models_file, user_presets_dir

__all__ = ["OFFLOAD_MODES", "SPEED_MODES", "cache_folder", "downloaded", "user_exports", "user_presets",
           "user_registry"]


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


def cache_folder() -> str:
    """Where model downloads go: huggingface_hub's cache (HF_HOME / HF_HUB_CACHE)."""
    from ..engine.hub import cache_root

    return str(cache_root())
