"""A model's camera LoRAs travel with its download against the fake hub: listed, fetched, counted in its
size and state (weights without them are "partly downloaded", and Download fetches only them), and
removed with it; a render's lookup never reaches the network."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import fakehub

from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.studio import NOT_DOWNLOADED, PARTLY_DOWNLOADED, READY
from i2v_desktop.engine.cameraloras import CameraLoraEntry
from i2v_desktop.engine.fetch import download, plan
from i2v_desktop.engine.hub import local_state, remove, repo_folder
from i2v_desktop.engine.registry import load_registry
from i2v_desktop.engine.weights import camera_lora_path, camera_loras_downloaded, is_downloaded
from i2v_desktop.studio.table import addon_lines, download_gb

fake_hub = fakehub.fake_hub  # the fixture
LORA_BYTES = 200_000


def camera(move: str, repo: str) -> CameraLoraEntry:
    return CameraLoraEntry(id=f"test-{move}", name=f"Test {move.title()}", family="svd", move="zoom-in", repo=repo,
                           revision=None, file=f"camera-{move}.safetensors", download_gb=0.2,
                           licence="Test Licence", commercial="Test terms.", base=("svd-xt",))


@pytest.fixture
def entry(fake_hub, tmp_path):
    """An SVD-shaped model with two camera LoRAs in repos of their own (served at their newest revision)."""
    root = tmp_path / "model"
    (root / "unet").mkdir(parents=True)
    (root / "model_index.json").write_text(json.dumps({"_class_name": "StableVideoDiffusionPipeline",
                                                       "unet": ["diffusers", "UNetSpatioTemporalConditionModel"]}))
    (root / "unet" / "config.json").write_text("{}")
    (root / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"w" * 300_000)
    commit = fake_hub.add("test/model", root)
    loras = []
    for move in ("in", "out"):
        folder = tmp_path / f"lora-{move}"
        folder.mkdir()
        (folder / f"camera-{move}.safetensors").write_bytes(
            np.random.default_rng(len(move)).integers(0, 256, LORA_BYTES, dtype=np.uint8).tobytes())
        (folder / "README.md").write_text("not fetched: only the file the registry names")
        fake_hub.add(f"test/lora-{move}", folder)
        loras.append(camera(move, f"test/lora-{move}"))
    base = load_registry().get("svd-xt")
    return replace(base, repo="test/model", revision=commit, variant=None, tiny_decoder=None, camera_loras=tuple(loras))


def test_a_download_lists_and_fetches_the_camera_loras_with_the_weights(entry, fake_hub):
    names = sorted((part.repo, part.filename) for part in plan(entry))
    assert ("test/lora-in", "camera-in.safetensors") in names and ("test/lora-out", "camera-out.safetensors") in names
    assert not any(name == "README.md" for _, name in names)
    assert [(repo, name) for repo, name in names if repo.startswith("test/lora")] == [
        ("test/lora-in", "camera-in.safetensors"), ("test/lora-out", "camera-out.safetensors")]
    assert camera_lora_path(entry.camera_loras[0]) is None and local_state(entry).state == NOT_DOWNLOADED
    download(entry, lambda t: None, CancelToken())
    for lora in entry.camera_loras:
        path = camera_lora_path(lora)
        assert path is not None and path.read_bytes() == fake_hub.repos[lora.repo].files[lora.file].read_bytes()
    state = local_state(entry)
    assert state.state == READY and state.disk_bytes >= 300_000 + 2 * LORA_BYTES


def test_weights_without_their_camera_loras_are_partly_downloaded_and_download_fetches_only_those(entry, fake_hub):
    download(entry, lambda t: None, CancelToken(), extras=False)  # what a render fetches: never a camera LoRA
    assert is_downloaded(entry) and not camera_loras_downloaded(entry)
    assert camera_lora_path(entry.camera_loras[1]) is None
    assert local_state(entry).state == PARTLY_DOWNLOADED
    before = fake_hub.bytes_served
    parts = download(entry, lambda t: None, CancelToken())
    assert sorted(part.filename for part in parts if not part.cached) == ["camera-in.safetensors",
                                                                          "camera-out.safetensors"]
    assert fake_hub.bytes_served - before == 2 * LORA_BYTES
    assert local_state(entry).state == READY and camera_loras_downloaded(entry)


def test_removing_the_model_removes_its_camera_loras_and_counts_them(entry, fake_hub):
    download(entry, lambda t: None, CancelToken())
    freed = remove(entry, [entry])
    assert freed >= 300_000 + 2 * LORA_BYTES
    assert all(camera_lora_path(lora) is None for lora in entry.camera_loras)
    assert not repo_folder("test/lora-in").exists() and local_state(entry) == (NOT_DOWNLOADED, 0)


def test_the_size_and_the_model_row_name_the_camera_loras_with_their_licence(entry, fake_hub):
    assert download_gb(entry) == round(entry.download_gb + 0.4, 1)
    assert addon_lines(entry) == ("camera LoRAs: In, Out (0.4 GB, Test Licence), not downloaded",)
    download(entry, lambda t: None, CancelToken())
    assert addon_lines(entry) == ("camera LoRAs: In, Out (0.4 GB, Test Licence), downloaded",)
    real = load_registry()
    assert addon_lines(real.get("ltx-2-19b"), look=False) == (
        "camera LoRAs: Dolly In, Dolly Out, Dolly Left, Dolly Right, Jib Up, Jib Down, Static "
        "(7.95 GB, LTX-2.x Community License Agreement)",)
    assert addon_lines(real.get("wan2.1-i2v-14b-480p"), look=False) == (
        "fast tier: lightx2v-wan2.1-i2v-4step LoRA (0.74 GB, Apache-2.0)",
        "tiny video decoder for previews and drafts: taew2_1 (23 MB, MIT (TAEHV by Ollin Boer Bohan, "
        "github.com/madebyollin/taehv))")
    assert download_gb(real.get("ltx-2-19b")) == 76.4  # 68.4 GB of weights + 7.95 GB of camera LoRAs


def test_i2v_download_fetches_ltx_2_19b_with_its_seven_camera_loras_and_says_where(fake_hub, tmp_path, capsys):
    from i2v_desktop.cli import main

    entry = load_registry().get("ltx-2-19b")
    root = tmp_path / "ltx-2"
    (root / "transformer").mkdir(parents=True)
    (root / "model_index.json").write_text(json.dumps({"_class_name": "LTX2Pipeline",
                                                       "transformer": ["diffusers", "LTX2VideoTransformer3DModel"]}))
    (root / "transformer" / "config.json").write_text("{}")
    (root / "transformer" / "diffusion_pytorch_model.safetensors").write_bytes(b"w" * 50_000)
    (root / "ltx-2-19b-dev.safetensors").write_bytes(b"never fetched: a root single-file checkpoint")
    fake_hub.add(entry.repo, root)
    for lora in entry.camera_loras:
        folder = tmp_path / lora.id
        folder.mkdir()
        (folder / lora.file).write_bytes(lora.id.encode() * 1000)
        fake_hub.add(lora.repo, folder)
    assert main(["download", "ltx-2-19b"]) == 0
    out = capsys.readouterr().out
    assert "LTX-2 19B (sound, camera LoRAs) is ready in " in out
    assert ("its 7 camera LoRAs (LTX-2 Dolly In, LTX-2 Dolly Out, LTX-2 Dolly Left, LTX-2 Dolly Right, LTX-2 Jib Up, "
            "LTX-2 Jib Down, LTX-2 Static) are ready in ") in out
    assert all(camera_lora_path(lora).read_bytes() == lora.id.encode() * 1000 for lora in entry.camera_loras)
    assert not any("ltx-2-19b-dev" in path for _, path in fake_hub.requests)
    assert local_state(entry).state == READY
    assert main(["remove", "ltx-2-19b"]) == 0
    assert all(camera_lora_path(lora) is None for lora in entry.camera_loras)
