"""Fixtures of the command-line tests: a tiny local Wan in the user's models.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from i2v_desktop.bench.tiny import save_tiny_pipeline


@pytest.fixture(scope="module")
def tiny_wan(tmp_path_factory) -> Path:
    return save_tiny_pipeline("wan2.2-ti2v", tmp_path_factory.mktemp("models") / "tiny-wan")


@pytest.fixture
def user_models(tiny_wan, isolated_home) -> Path:
    """A user models.json (in the isolated config folder) with a tiny local model."""
    folder = isolated_home / "config" / "i2v_desktop"
    folder.mkdir(parents=True, exist_ok=True)
    entry = {
        "id": "tiny-wan", "base": "wan2.2-ti2v-5b", "name": "Tiny Wan", "path": str(tiny_wan),
        "resolutions": {"tiny": [64, 64]}, "max_frames": 9,
        "tiers": {q: {"resolution": "tiny", "steps": 2} for q in ("draft", "standard", "final")},
    }
    path = folder / "models.json"
    path.write_text(json.dumps({"models": [entry, {"id": "broken"}]}))
    return path
