"""Shared test set-up: no network, no real user folders, warnings are errors (pyproject)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# huggingface_hub reads HF_HOME once, at import: give the whole session an empty cache of its own
# before anything imports it, so no test sees (or writes to) the user's real cache.
_HF_HOME = tempfile.mkdtemp(prefix="i2v-test-hf-")
atexit.register(shutil.rmtree, _HF_HOME, ignore_errors=True)
os.environ["HF_HOME"] = _HF_HOME
os.environ.pop("HF_HUB_CACHE", None)

# Imported once the environment above is set: nothing of the app may see the real one first.
from i2v_desktop.core.resources import resource_path  # noqa: E402

SAMPLES = resource_path("samples")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """Every test gets its own config and data folders."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    return home


@pytest.fixture
def hub_cache() -> Path:
    """The session's Hugging Face cache folder (empty unless a test puts a snapshot there)."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


@pytest.fixture
def samples() -> Path:
    return SAMPLES
