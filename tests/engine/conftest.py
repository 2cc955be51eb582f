"""Tiny pipelines for the engine tests: built once per session, saved as diffusers folders and
reached through a registry whose entries point at them (the route users' local folders take)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from i2v_desktop.bench.tiny import END_FRAME_KINDS, TINY_KINDS, save_tiny_pipeline
from i2v_desktop.bench.tiny_registry import tiny_registry
from i2v_desktop.engine.registry import Registry


@pytest.fixture(scope="session")
def tiny_folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    return {kind: save_tiny_pipeline(kind, root / kind) for kind in (*TINY_KINDS, *END_FRAME_KINDS)}


@pytest.fixture(scope="session")
def registry(tiny_folders) -> Registry:
    return tiny_registry(tiny_folders)


@pytest.fixture(scope="session")
def photo(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("photo") / "photo.png"
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (72, 96, 3), dtype=np.uint8)).save(path)
    return str(path)
