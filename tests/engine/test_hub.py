"""A model's state and size on disk, read from a download cache laid out as huggingface_hub lays it out."""

from __future__ import annotations

import json

import pytest

from i2v_desktop.core.studio import BUILT_IN, NOT_DOWNLOADED, PARTLY_DOWNLOADED, READY, UPDATE_AVAILABLE
from i2v_desktop.engine.hub import local_state, repo_folder
from i2v_desktop.engine.registry import load_registry


@pytest.fixture
def cache(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    return tmp_path / "hub"


@pytest.fixture
def svd():
    return load_registry().get("svd-xt")


def _blob(folder, name, size):
    (folder / "blobs").mkdir(parents=True, exist_ok=True)
    (folder / "blobs" / name).write_bytes(b"x" * size)


def test_nothing_in_the_cache_is_not_downloaded(cache, svd):
    assert local_state(svd) == (NOT_DOWNLOADED, 0)
    assert local_state(load_registry().get("instant")).state == BUILT_IN


def test_an_interrupted_download_is_partly_downloaded_and_counts_its_bytes(cache, svd):
    _blob(repo_folder(svd.repo), "abc123.incomplete", 1000)
    assert local_state(svd) == (PARTLY_DOWNLOADED, 1000)


def test_another_revision_than_the_pinned_one_is_an_update(cache, svd):
    folder = repo_folder(svd.repo)
    (folder / "snapshots" / ("0" * 40)).mkdir(parents=True)
    _blob(folder, "def456", 500)
    assert local_state(svd) == (UPDATE_AVAILABLE, 500)


def test_the_pinned_revision_complete_is_ready(cache, svd):
    folder = repo_folder(svd.repo)
    snapshot = folder / "snapshots" / svd.revision
    snapshot.mkdir(parents=True)
    (snapshot / "model_index.json").write_text(json.dumps({"_class_name": "StableVideoDiffusionPipeline"}))
    _blob(folder, "0123", 2048)
    assert local_state(svd) == (READY, 2048)


def test_a_tiny_decoder_another_model_fetched_counts_in_its_size_but_leaves_it_not_downloaded(cache):
    wan = load_registry().get("wan2.1-i2v-14b-480p")
    tiny = wan.tiny_decoder
    folder = repo_folder(tiny.repo)
    _blob(folder, "cafe", 4096)
    snapshot = folder / "snapshots" / tiny.revision
    snapshot.mkdir(parents=True)
    (snapshot / tiny.file).symlink_to(folder / "blobs" / "cafe")
    assert local_state(wan) == (NOT_DOWNLOADED, 4096)
    _blob(repo_folder(wan.repo), "feed.incomplete", 100)  # now a download of its own began
    assert local_state(wan) == (PARTLY_DOWNLOADED, 4196)
