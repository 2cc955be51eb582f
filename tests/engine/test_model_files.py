"""The Studio's download and remove against a local fake of the hub: a downloaded tiny model really
renders, and removing a model frees its files but never what another model on this disk uses."""

from __future__ import annotations

import json
from dataclasses import replace
from types import MappingProxyType

import fakehub
import numpy as np
import pytest

from i2v_desktop.bench.tiny import save_tiny_pipeline
from i2v_desktop.bench.tiny_registry import tiny_registry
from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.errors import ModelError
from i2v_desktop.core.events import DownloadProgress, Finished, Stage, StageChanged
from i2v_desktop.core.presets import load_presets
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.core.studio import NOT_DOWNLOADED, PARTLY_DOWNLOADED, READY
from i2v_desktop.engine.hub import local_state, repo_folder
from i2v_desktop.engine.registry import LoraFile, LoraSet, Registry, TinyDecoder, load_registry
from i2v_desktop.export.social import load_export_presets
from i2v_desktop.storage.history import History
from i2v_desktop.studio.local import LocalStudio
from i2v_desktop.studio.render import Engines

fake_hub = fakehub.fake_hub  # the fixture


@pytest.fixture(scope="module")
def tiny_svd(tmp_path_factory):
    return save_tiny_pipeline("svd", tmp_path_factory.mktemp("served") / "tiny-svd")


def studio_for(registry: Registry, tmp_path) -> LocalStudio:
    return LocalStudio(Engines(registry, load_presets(), device="cpu"), History(tmp_path / "history"),
                       load_export_presets(), tmp_path / "data")


def test_a_model_downloaded_from_the_hub_renders(fake_hub, tiny_svd, tmp_path, photo):
    commit = fake_hub.add("test/tiny-svd", tiny_svd)
    entry = replace(tiny_registry({"svd": tiny_svd}).get("svd-xt"), local_path=None, repo="test/tiny-svd",
                    revision=commit)
    studio = studio_for(Registry(MappingProxyType({entry.id: entry}), entry.id), tmp_path)
    try:
        assert studio.model(entry.id).installed is False
        seen = []
        studio.download(entry.id, seen.append, CancelToken())
        assert seen and seen[-1].done_bytes == seen[-1].total_bytes > 0
        assert studio.model(entry.id).installed is True and local_state(entry).state == READY
        events = []
        request = GenerationRequest(image=photo, model=entry.id, preset="orbit", duration=1.0, seed=7)
        clip = studio.engines.for_model(entry.id).run(request, events.append, CancelToken())
        assert isinstance(events[-1], Finished) and clip.frames.shape[1:] == (64, 64, 3)
        with pytest.raises(ModelError, match="built in: there is nothing to download"):
            studio.download("instant", seen.append, CancelToken())
    finally:
        studio.close()


def test_a_render_of_a_model_not_yet_here_downloads_it_first_with_progress(fake_hub, tiny_svd, tmp_path, photo):
    commit = fake_hub.add("test/tiny-svd", tiny_svd)
    entry = replace(tiny_registry({"svd": tiny_svd}).get("svd-xt"), local_path=None, repo="test/tiny-svd",
                    revision=commit)
    engine = Engines(Registry(MappingProxyType({entry.id: entry}), entry.id), load_presets(), device="cpu")
    try:
        events = []
        request = GenerationRequest(image=photo, model=entry.id, preset="orbit", duration=1.0, seed=7)
        engine.for_model(entry.id).run(request, events.append, CancelToken())
    finally:
        engine.close()
    progress = [e for e in events if isinstance(e, DownloadProgress)]
    assert any(isinstance(e, StageChanged) and e.stage == Stage.DOWNLOADING for e in events)
    assert progress and progress[-1].done_bytes == progress[-1].total_bytes > 0
    assert isinstance(events[-1], Finished) and local_state(entry).state == READY


def _repo(root, name: str, weights: int, seed: int):
    folder = root / name
    (folder / "unet").mkdir(parents=True)
    (folder / "model_index.json").write_text(json.dumps({
        "_class_name": "StableVideoDiffusionPipeline", "unet": ["diffusers", "UNetSpatioTemporalConditionModel"]}))
    (folder / "unet" / "config.json").write_text(json.dumps({"name": name}))
    (folder / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(
        np.random.default_rng(seed).integers(0, 256, weights, dtype=np.uint8).tobytes())
    return folder


@pytest.fixture
def two_models(fake_hub, tmp_path):
    """Two models of their own repos that share one tiny decoder file in a third repo."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "taew.safetensors").write_bytes(b"t" * 50_000)
    (shared / "other.safetensors").write_bytes(b"o" * 70_000)  # not any model's: never fetched
    shared_commit = fake_hub.add("test/decoders", shared)
    tiny = TinyDecoder(arch="wan2.1", repo="test/decoders", revision=shared_commit, file="taew.safetensors",
                       download_gb=0.0, licence="MIT")
    loras = tmp_path / "loras"
    loras.mkdir()
    (loras / "fast.safetensors").write_bytes(b"l" * 30_000)
    fake_hub.add("test/loras", loras)
    # Not pinned (as Wan2.2's distilled LoRAs are): the hub's main at download time.
    lora = LoraSet("fast", "Apache-2.0", (LoraFile("test/loras", None, "fast.safetensors", 0.0, "transformer"),))
    base = load_registry().get("svd-xt")
    made = {}
    for name, size, seed in (("one", 300_000, 1), ("two", 200_000, 2)):
        commit = fake_hub.add(f"test/{name}", _repo(tmp_path, name, size, seed))
        made[name] = replace(base, id=name, name=f"Model {name}", repo=f"test/{name}", revision=commit, variant=None,
                             tiny_decoder=tiny, lora=lora)
    registry = Registry(MappingProxyType(made), "one")
    studio = studio_for(registry, tmp_path)
    yield studio, made
    studio.close()


def test_removing_a_model_frees_its_own_files_and_keeps_what_another_downloaded_model_uses(two_models):
    studio, made = two_models
    for name in made:
        studio.download(name, lambda t: None, CancelToken())
    shared_blobs = repo_folder("test/decoders") / "blobs"
    assert [p.stat().st_size for p in shared_blobs.iterdir()] == [50_000]
    assert [p.stat().st_size for p in (repo_folder("test/loras") / "blobs").iterdir()] == [30_000]
    assert local_state(made["one"]).disk_bytes >= 380_000

    freed = studio.remove("one")
    assert 300_000 < freed < 350_000  # its weights and configs, not the decoder and LoRA "two" still uses
    assert not repo_folder("test/one").exists()
    assert local_state(made["one"]).state == NOT_DOWNLOADED and local_state(made["two"]).state == READY
    assert [p.stat().st_size for p in shared_blobs.iterdir()] == [50_000]
    assert [p.stat().st_size for p in (repo_folder("test/loras") / "blobs").iterdir()] == [30_000]

    freed = studio.remove("two")
    assert freed >= 280_000  # now the decoder and the LoRA go with it
    assert not repo_folder("test/two").exists() and not repo_folder("test/decoders").exists()
    assert not repo_folder("test/loras").exists()
    with pytest.raises(ModelError, match="Model two is not downloaded: there is nothing to remove"):
        studio.remove("two")


def test_removing_an_interrupted_download_deletes_its_partial_files(two_models, fake_hub):
    studio, made = two_models
    fake_hub.rate = 200_000
    cancel = CancelToken()

    def pause(transfer):
        if transfer.done_bytes > 60_000:
            cancel.cancel()

    with pytest.raises(Exception, match="cancelled"):
        studio.download("one", pause, cancel)
    assert local_state(made["one"]).state == PARTLY_DOWNLOADED
    partial = sum(p.stat().st_size for p in (repo_folder("test/one") / "blobs").glob("*.incomplete"))
    assert partial > 0
    assert studio.remove("one") >= partial
    assert not repo_folder("test/one").exists()
    assert local_state(made["one"]).state == NOT_DOWNLOADED


def test_a_users_checkpoint_downloads_everything_else_but_never_the_denoiser_it_replaces(fake_hub, tmp_path):
    from safetensors.numpy import save_file

    from i2v_desktop.engine.registry import SingleFile
    from i2v_desktop.engine.weights import is_downloaded, on_disk

    repo = tmp_path / "wan"
    for part in ("transformer", "vae"):
        (repo / part).mkdir(parents=True)
        (repo / part / "config.json").write_text("{}")
        size = 200_000 if part == "transformer" else 50_000
        (repo / part / "diffusion_pytorch_model.safetensors").write_bytes(bytes(size))
    (repo / "model_index.json").write_text(json.dumps({"_class_name": "WanPipeline", "transformer": [
        "diffusers", "WanTransformer3DModel"], "vae": ["diffusers", "AutoencoderKLWan"]}))
    commit = fake_hub.add("test/wan", repo)
    checkpoint = tmp_path / "mine.safetensors"
    save_file({"head.modulation": np.zeros(2, np.float16)}, str(checkpoint))
    entry = replace(load_registry().get("wan2.2-ti2v-5b"), id=str(checkpoint), repo="test/wan", revision=commit,
                    single_file=SingleFile("", None, str(checkpoint), ("transformer",), 0.0), tiny_decoder=None)
    studio = studio_for(Registry(MappingProxyType({entry.id: entry}), entry.id), tmp_path)
    try:
        studio.download(entry.id, lambda t: None, CancelToken())
    finally:
        studio.close()
    assert 50_000 <= fake_hub.bytes_served < 200_000  # the VAE and configs; never the repo's transformer
    weights, _, _ = on_disk(entry)
    assert is_downloaded(entry) and weights.single_file == checkpoint and local_state(entry).state == READY
    assert not (weights.folder / "transformer" / "diffusion_pytorch_model.safetensors").exists()
