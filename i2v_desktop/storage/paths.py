"""Per-user folders, from platformdirs (XDG on Linux, ~/Library on macOS, AppData on Windows)."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP = "i2v_desktop"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP, appauthor=False))


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP, appauthor=False))


def user_presets_dir() -> Path:
    """User motion presets (same JSON format as the built-ins; same id overrides a built-in)."""
    return config_dir() / "presets"


def user_models_file() -> Path:
    """User model entries (same format as the built-in registry; may point at local folders)."""
    return config_dir() / "models.json"


def history_dir() -> Path:
    """Every clip the app has rendered, with its index and thumbnails (see storage.history)."""
    return data_dir() / "history"


def user_loras_dir() -> Path:
    """The user's own LoRA files (.safetensors), listed against the chosen model (Studio.loras)."""
    return data_dir() / "loras"
