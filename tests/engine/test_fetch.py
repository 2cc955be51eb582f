"""A model's download against a local fake of the hub: progress over the whole model, pause and
resume (also in a new call, as after a restart), the disk-space refusal, gated repos, offline mode
and network errors, each in one line."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from collections import namedtuple
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import fakehub

from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.errors import Cancelled, ModelError, WeightsMissingError
from i2v_desktop.core.studio import NOT_DOWNLOADED, PARTLY_DOWNLOADED, READY
from i2v_desktop.engine.fetch import TransferMeter, download, plan
from i2v_desktop.engine.hub import local_state, repo_folder
from i2v_desktop.engine.registry import load_registry
from i2v_desktop.engine.weights import is_downloaded

fake_hub = fakehub.fake_hub  # the fixture
BIG = 1_500_000  # bytes of the one weights file: long enough to interrupt when throttled


@pytest.fixture
def repo_folder_on_disk(tmp_path):
    """An SVD-shaped diffusers repo: an index, two components' configs and one weights file."""
    root = tmp_path / "served"
    (root / "unet").mkdir(parents=True)
    (root / "scheduler").mkdir()
    (root / "model_index.json").write_text(json.dumps({
        "_class_name": "StableVideoDiffusionPipeline", "unet": ["diffusers", "UNetSpatioTemporalConditionModel"],
        "scheduler": ["diffusers", "EulerDiscreteScheduler"],
    }))
    (root / "unet" / "config.json").write_text("{}")
    (root / "scheduler" / "scheduler_config.json").write_text("{}")
    (root / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(
        np.random.default_rng(0).integers(0, 256, BIG, dtype=np.uint8).tobytes())
    (root / "unet" / "diffusion_pytorch_model.bin").write_bytes(b"pickle")  # never fetched
    return root


@pytest.fixture
def entry(fake_hub, repo_folder_on_disk):
    commit = fake_hub.add("test/svd", repo_folder_on_disk)
    return replace(load_registry().get("svd-xt"), repo="test/svd", revision=commit, variant=None, tiny_decoder=None)


def test_download_fetches_the_safetensors_model_and_reports_bytes_over_the_whole_model(entry, fake_hub):
    seen = []
    assert local_state(entry).state == NOT_DOWNLOADED
    parts = download(entry, seen.append, CancelToken())
    names = sorted(part.filename for part in parts)
    assert names == ["model_index.json", "scheduler/scheduler_config.json", "unet/config.json",
                     "unet/diffusion_pytorch_model.safetensors"]
    total = sum(part.size for part in parts)
    assert seen[-1].done_bytes == seen[-1].total_bytes == total
    assert all(t.total_bytes == total for t in seen)
    assert [t.done_bytes for t in seen] == sorted(t.done_bytes for t in seen)
    assert is_downloaded(entry) and local_state(entry).state == READY
    served = fake_hub.repos["test/svd"].files["unet/diffusion_pytorch_model.safetensors"].read_bytes()
    from huggingface_hub import hf_hub_download

    got = hf_hub_download("test/svd", "unet/diffusion_pytorch_model.safetensors", revision=entry.revision,
                          local_files_only=True)
    assert Path(got).read_bytes() == served
    # Weights came from the "CDN" the hub redirected to, into a blob named by their sha256, as the
    # hub's own downloads name LFS blobs.
    assert ("GET", f"/cdn/test/svd/{entry.revision}/unet/diffusion_pytorch_model.safetensors") in fake_hub.requests
    assert Path(got).resolve().name == hashlib.sha256(served).hexdigest()
    before = fake_hub.bytes_served
    assert all(part.cached for part in plan(entry))  # a second download has nothing to fetch
    download(entry, seen.append, CancelToken())
    assert fake_hub.bytes_served == before


def test_a_cancelled_download_keeps_its_partial_file_and_the_next_call_resumes_it(entry, fake_hub):
    fake_hub.rate = 1_000_000  # bytes per second: the weights take 1.5 s
    cancel = CancelToken()

    def pause(transfer):
        if transfer.done_bytes > 300_000:
            cancel.cancel()

    with pytest.raises(Cancelled):
        download(entry, pause, cancel)
    assert not [t for t in threading.enumerate() if t.name.startswith("i2v-download")]  # all ended
    partial = [p for p in (repo_folder("test/svd") / "blobs").iterdir() if p.name.endswith(".incomplete")]
    assert len(partial) == 1 and 300_000 <= partial[0].stat().st_size < BIG
    state = local_state(entry)
    assert state.state == PARTLY_DOWNLOADED and state.disk_bytes >= partial[0].stat().st_size
    kept = partial[0].stat().st_size

    fake_hub.rate = None
    seen = []
    download(entry, seen.append, CancelToken())  # a new call, as after a restart
    assert f"bytes={kept}-" in fake_hub.ranges  # it asked for the rest only
    assert seen[0].done_bytes >= kept  # and counted what was here as done
    served = fake_hub.repos["test/svd"].files["unet/diffusion_pytorch_model.safetensors"].read_bytes()
    from huggingface_hub import hf_hub_download

    got = hf_hub_download("test/svd", "unet/diffusion_pytorch_model.safetensors", revision=entry.revision,
                          local_files_only=True)
    assert Path(got).read_bytes() == served  # byte-identical
    assert not any(p.name.endswith(".incomplete") for p in (repo_folder("test/svd") / "blobs").iterdir())
    assert local_state(entry).state == READY


def test_a_disk_without_room_is_refused_in_one_line_naming_both_figures_and_the_folder(entry, fake_hub, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**12, 10**12 - 500_000_000, 500_000_000))
    with pytest.raises(ModelError) as refused:
        download(entry, lambda t: None, CancelToken())
    line = str(refused.value)
    from huggingface_hub import constants

    assert "\n" not in line and "not enough disk space" in line and constants.HF_HUB_CACHE in line
    assert "0.5 GB is free" in line and "needs 0.0 GB more" in line and "2.0 GB to spare" in line
    assert fake_hub.bytes_served == 0


def test_a_gated_repo_says_so_and_how_to_log_in_and_a_token_opens_it(fake_hub, repo_folder_on_disk, monkeypatch):
    commit = fake_hub.add("test/gated", repo_folder_on_disk, gated=True)
    entry = replace(load_registry().get("svd-xt"), repo="test/gated", revision=commit, variant=None, tiny_decoder=None)
    with pytest.raises(ModelError) as refused:
        download(entry, lambda t: None, CancelToken())
    line = str(refused.value)
    assert "\n" not in line and "is gated" in line and "https://huggingface.co/test/gated" in line
    assert "hf auth login" in line and "HF_TOKEN" in line
    monkeypatch.setenv("HF_TOKEN", "hf_a_token_without_access")  # logged in, terms not accepted: a 403
    with pytest.raises(ModelError, match="is gated: accept its terms"):
        download(entry, lambda t: None, CancelToken())
    assert any(status == 403 for status in fake_hub.statuses)
    monkeypatch.setenv("HF_TOKEN", fakehub.TOKEN)  # huggingface_hub's own token: never our settings
    download(entry, lambda t: None, CancelToken())
    assert is_downloaded(entry)


def test_offline_and_an_unreachable_hub_are_one_line_each(entry, fake_hub, monkeypatch):
    from huggingface_hub import constants
    from huggingface_hub.utils import _http  # its retries wait 1+2+4+8+8 s first: not in a test

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(WeightsMissingError, match="HF_HUB_OFFLINE") as offline:
        download(entry, lambda t: None, CancelToken())
    assert "\n" not in str(offline.value)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    endpoint = constants.ENDPOINT
    monkeypatch.setattr(_http, "time", SimpleNamespace(sleep=lambda seconds: None))
    dead = fake_hub.endpoint.rsplit(":", 1)[0] + ":9"  # the discard port: nothing listens there
    monkeypatch.setattr(constants, "ENDPOINT", dead)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", dead + "/{repo_id}/resolve/{revision}/{filename}")
    with pytest.raises(ModelError, match="cannot reach huggingface.co") as unreachable:
        download(entry, lambda t: None, CancelToken())
    assert "\n" not in str(unreachable.value)
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}")
    download(entry, lambda t: None, CancelToken())
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert download(entry, lambda t: None, CancelToken()) == []  # complete: no network needed, no refusal


def test_the_meter_gives_speed_over_the_last_seconds_and_the_time_left():
    now = [100.0]
    meter = TransferMeter(total=1000, done=200, window_s=5.0, clock=lambda: now[0])
    assert meter.transfer().bytes_per_s == 0 and meter.transfer().eta_s is None  # nothing measured yet
    for _ in range(4):
        now[0] += 1.0
        meter.add(50, "a")
    t = meter.transfer()
    assert (t.done_bytes, t.total_bytes, t.what) == (400, 1000, "a")
    assert t.bytes_per_s == pytest.approx(50.0) and t.eta_s == pytest.approx(12.0)
    for _ in range(10):  # faster now: the old seconds drop out of the window
        now[0] += 1.0
        meter.add(20, "b")
    assert meter.transfer().bytes_per_s == pytest.approx(20.0)
    assert meter.transfer().eta_s == pytest.approx(400 / 20)


def test_no_download_threads_are_left_running(entry, fake_hub):
    download(entry, lambda t: None, CancelToken())
    assert not [t for t in threading.enumerate() if t.name.startswith(("i2v-download", "i2v-plan"))]
    assert os.path.isdir(repo_folder("test/svd") / "snapshots" / entry.revision)


def test_the_fake_hub_leaves_no_thread_behind():
    hub = fakehub.FakeHub()
    assert [t for t in threading.enumerate() if t.name.startswith("fakehub")]
    hub.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("fakehub")]


def test_a_fast_tier_lora_fetched_at_render_time_resumes_like_a_model(fake_hub, tmp_path):
    from i2v_desktop.core.events import DownloadProgress, StageChanged
    from i2v_desktop.engine.registry import LoraFile, LoraSet
    from i2v_desktop.engine.weights import ensure_loras

    served = tmp_path / "lora"
    served.mkdir()
    (served / "fast.safetensors").write_bytes(np.random.default_rng(1).integers(0, 256, BIG, dtype=np.uint8).tobytes())
    commit = fake_hub.add("test/lora", served)
    wan = load_registry().get("wan2.1-i2v-14b-480p")
    entry = replace(wan, lora=LoraSet("test", "MIT", (LoraFile("test/lora", commit, "fast.safetensors", 0.0015,
                                                                 "transformer"),)))
    fake_hub.rate = 1_000_000
    cancel, events = CancelToken(), []

    def watch(event):
        events.append(event)
        if isinstance(event, DownloadProgress) and event.done_bytes > 300_000:
            cancel.cancel()

    with pytest.raises(Cancelled):
        ensure_loras(entry, watch, cancel)
    assert isinstance(events[0], StageChanged) and "LoRA" in events[0].detail
    partial = [p for p in (repo_folder("test/lora") / "blobs").iterdir() if p.name.endswith(".incomplete")]
    assert len(partial) == 1
    kept = partial[0].stat().st_size

    fake_hub.rate = None
    (path,) = ensure_loras(entry, lambda event: None, CancelToken())
    assert f"bytes={kept}-" in fake_hub.ranges  # the rest only
    assert path.read_bytes() == (served / "fast.safetensors").read_bytes()
