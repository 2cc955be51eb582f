"""A model folder or a single-file checkpoint the user already has: validated in one line, added to
their models.json (everything else in it kept) and there again after a restart."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from safetensors.numpy import save_file

from i2v_desktop.core.errors import ModelError
from i2v_desktop.core.presets import load_presets
from i2v_desktop.core.studio import LOCAL_FOLDER, NOT_DOWNLOADED
from i2v_desktop.engine.hub import local_state
from i2v_desktop.engine.registry import load_registry
from i2v_desktop.export.social import load_export_presets
from i2v_desktop.storage.history import History
from i2v_desktop.storage.paths import user_models_file
from i2v_desktop.studio.catalog import user_registry
from i2v_desktop.studio.local import LocalStudio
from i2v_desktop.studio.render import Engines


def make_studio(tmp_path) -> LocalStudio:
    return LocalStudio(Engines(user_registry(), load_presets(), device="cpu"), History(tmp_path / "history"),
                       load_export_presets(), tmp_path / "data")


@pytest.fixture
def studio(tmp_path):
    made = make_studio(tmp_path)
    yield made
    made.close()


def wan_folder(root, name="my-wan"):
    """A Wan2.2 TI2V-shaped diffusers folder (what check_folder and the registry read of it)."""
    folder = root / name
    for part in ("transformer", "vae", "scheduler"):
        (folder / part).mkdir(parents=True)
    (folder / "model_index.json").write_text(json.dumps({
        "_class_name": "WanPipeline", "expand_timesteps": True, "transformer": ["diffusers", "WanTransformer3DModel"],
        "vae": ["diffusers", "AutoencoderKLWan"], "scheduler": ["diffusers", "UniPCMultistepScheduler"]}))
    for part in ("transformer", "vae"):
        (folder / part / "config.json").write_text("{}")
        save_file({"w": np.zeros(4, np.float32)}, str(folder / part / "diffusion_pytorch_model.safetensors"))
    (folder / "scheduler" / "scheduler_config.json").write_text("{}")
    return folder


def wan_checkpoint(path, width=5120, channels=36, prefix="model.diffusion_model."):
    """A Wan denoiser checkpoint as ComfyUI keeps them: the names and shapes that say what it is."""
    save_file({prefix + "head.modulation": np.zeros((1, 2, 4), np.float16),
               prefix + "patch_embedding.weight": np.zeros((width, channels, 1, 1, 1), np.float16)}, str(path))
    return path


def test_a_diffusers_folder_becomes_a_model_kept_in_models_json_next_to_the_users_own_entries(studio, tmp_path):
    file = user_models_file()
    file.parent.mkdir(parents=True, exist_ok=True)
    theirs = {"id": "their-wan", "base": "wan2.2-ti2v-5b", "name": "Their Wan", "note": "a key we do not know"}
    file.write_text(json.dumps({"models": [theirs], "comment": "kept"}))
    folder = wan_folder(tmp_path)
    choice = studio.use_folder(folder)
    assert choice.id == str(folder.resolve()) and choice.family == "wan" and choice.installed is True
    assert choice.name == "my-wan (local WAN model)"
    assert studio.model(choice.id) == choice and choice.id in [c.id for c in studio.models(look=False)]
    data = json.loads(file.read_text())
    assert data["comment"] == "kept" and data["models"][0] == theirs
    assert data["models"][1]["path"] == str(folder.resolve()) and data["models"][1]["base"] == "wan2.2-ti2v-5b"
    assert not list(file.parent.glob(".models-*"))  # written through a temporary file, renamed

    again = make_studio(tmp_path / "restarted")  # a new start reads it back
    try:
        assert again.model(choice.id).name == choice.name
        entry = again.engines.registry.get(choice.id)
        assert local_state(entry).state == LOCAL_FOLDER
        assert again.remove(choice.id) == 0  # off the list; the folder is the user's and stays
        assert folder.is_dir() and choice.id not in again.engines.registry.models
        assert [m["id"] for m in json.loads(file.read_text())["models"]] == ["their-wan"]
    finally:
        again.close()


@pytest.mark.parametrize("damage, words", [
    ("index", "not a diffusers model folder (no model_index.json)"),
    ("component", "component folder vae/ is missing"),
    ("pickled", "transformer/ has only pickled weights, which are not loaded for safety"),
])
def test_a_folder_that_cannot_be_used_says_what_is_missing_in_one_line(studio, tmp_path, damage, words):
    import shutil

    folder = wan_folder(tmp_path)
    if damage == "index":
        (folder / "model_index.json").unlink()
    elif damage == "component":
        shutil.rmtree(folder / "vae")
    else:
        (folder / "transformer" / "diffusion_pytorch_model.safetensors").unlink()
        (folder / "transformer" / "diffusion_pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(ModelError) as refused:
        studio.use_folder(folder)
    assert words in str(refused.value) and str(folder) in str(refused.value) and "\n" not in str(refused.value)
    assert not user_models_file().exists()


def test_a_single_file_checkpoint_becomes_its_familys_model_with_the_rest_from_the_built_in_repo(studio, tmp_path):
    path = wan_checkpoint(tmp_path / "wan-i2v-finetune.safetensors")
    choice = studio.use_folder(path)
    assert choice.id == str(path.resolve()) and choice.family == "wan"
    entry = studio.engines.registry.get(choice.id)
    base = load_registry().get("wan2.1-i2v-14b-480p")
    assert (entry.repo, entry.revision) == (base.repo, base.revision)  # configs, text encoder, VAE from there
    assert (entry.single_file.repo, entry.single_file.file, entry.single_file.components) == \
        ("", str(path.resolve()), ("transformer",))
    assert local_state(entry).state == NOT_DOWNLOADED and choice.installed is False  # the rest is still to fetch
    assert load_registry().resolve(str(path)).single_file.file == str(path.resolve())  # any process can name it
    item = json.loads(user_models_file().read_text())["models"][0]
    assert item["single_file"] == {"path": str(path.resolve()), "components": ["transformer"]}
    assert user_registry().get(choice.id).single_file == entry.single_file  # and after a restart


def _header_only(path, header: bytes):
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    return path


@pytest.mark.parametrize("make, words", [
    (lambda p: wan_checkpoint(p / "t2v.safetensors", channels=16), "a Wan text-to-video checkpoint"),
    (lambda p: _header_only(p / "sd.safetensors", json.dumps({"conv_in.weight": {
        "dtype": "F16", "shape": [1], "data_offsets": [0, 2]}}).encode() + b"  "),
     "its tensors are no image-to-video model this app drives"),
    (lambda p: _header_only(p / "broken.safetensors", b"{not json"), "not a safetensors file"),
    (lambda p: (p / "short.safetensors").write_bytes(b"abc") and p / "short.safetensors", "not a safetensors file"),
    (lambda p: (p / "model.ckpt").write_bytes(b"pickle") and p / "model.ckpt", "a pickled checkpoint"),
    (lambda p: (p / "notes.txt").write_text("hi") and p / "notes.txt", "not a .safetensors checkpoint"),
    (lambda p: p / "missing", "no such folder or file"),
])
def test_a_file_that_is_no_checkpoint_we_drive_is_refused_in_one_line_naming_it(studio, tmp_path, make, words):
    path = make(tmp_path)
    with pytest.raises(ModelError) as refused:
        studio.use_folder(path)
    line = str(refused.value)
    assert words in line and str(path.name) in line and "\n" not in line
    assert not user_models_file().exists()


def test_an_ltx_checkpoint_with_its_vae_gives_both_and_a_13b_one_is_refused(studio, tmp_path):
    tensors = {"model.diffusion_model.patchify_proj.weight": np.zeros((4, 4), np.float16),
               "vae.decoder.last_scale_shift_table": np.zeros((2, 4), np.float16)}
    save_file(tensors, str(tmp_path / "ltxv-2b.safetensors"))
    choice = studio.use_folder(tmp_path / "ltxv-2b.safetensors")
    entry = studio.engines.registry.get(choice.id)
    assert choice.family == "ltx" and entry.single_file.components == ("transformer", "vae")
    assert entry.repo == load_registry().get("ltx-video-2b-distilled").repo
    tensors["model.diffusion_model.transformer_blocks.47.scale_shift_table"] = np.zeros((2, 4), np.float16)
    save_file(tensors, str(tmp_path / "ltxv-13b.safetensors"))
    with pytest.raises(ModelError, match="ltxv-13b.safetensors: an LTX-Video 13B checkpoint"):
        studio.use_folder(tmp_path / "ltxv-13b.safetensors")


def test_item19_the_models_file_is_written_durably_and_a_full_disk_says_so(tmp_path, monkeypatch):
    import errno
    import os

    from i2v_desktop.core.errors import ModelError
    from i2v_desktop.storage.models import put_model

    path = tmp_path / "models.json"
    put_model(path, {"id": "mine", "path": "/somewhere"})
    before = path.read_bytes()
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    put_model(path, {"id": "other", "path": "/elsewhere"})
    assert len(synced) >= 2  # the file before its rename, and the folder after it
    assert '"other"' in path.read_text(encoding="utf-8")

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    written = path.read_bytes()
    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(ModelError, match=r"models.json: cannot be written \(no space left on device\)$"):
        put_model(path, {"id": "third", "path": "/x"})
    assert path.read_bytes() == written != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models.json"]
