"""The Studio's LoRA calls on the real LocalStudio: the user's LoRA folder, each file checked against a
model, and the camera LoRA a preset's move uses (downloaded or not, for this model or not)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from i2v_desktop.core.errors import PresetError
from i2v_desktop.core.presets import load_presets
from i2v_desktop.core.request import LoraUse
from i2v_desktop.engine.registry import load_registry
from i2v_desktop.export.social import load_export_presets
from i2v_desktop.storage.history import History
from i2v_desktop.storage.paths import data_dir
from i2v_desktop.studio.local import LocalStudio
from i2v_desktop.studio.render import Engines

COMMIT = "c" * 40


@pytest.fixture
def studio(tmp_path) -> LocalStudio:
    made = LocalStudio(Engines(load_registry(), load_presets(), device="cpu"), History(tmp_path / "history"),
                       load_export_presets(), tmp_path / "data")
    yield made
    made.close()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    return tmp_path / "hub"


def cached(cache: Path, repo: str, file: str, data: bytes = b"lora") -> Path:
    """A file in the download cache as huggingface_hub leaves it (refs/main naming the snapshot)."""
    folder = cache / ("models--" + repo.replace("/", "--"))
    (folder / "refs").mkdir(parents=True, exist_ok=True)
    (folder / "refs" / "main").write_text(COMMIT)
    path = folder / "snapshots" / COMMIT / file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def wan_lora(path: Path, width: int, blocks: int, layout: str = "diffusers") -> Path:
    keys = {}
    for i in range(blocks):
        module = f"transformer.blocks.{i}.attn1.to_q" if layout == "diffusers" else f"diffusion_model.blocks.{i}.self_attn.q"
        keys[f"{module}.lora_A.weight"] = torch.zeros(2, width)
        keys[f"{module}.lora_B.weight"] = torch.zeros(width, 2)
    save_file(keys, path)
    return path


def ltx2_lora(path: Path) -> Path:
    save_file({"diffusion_model.transformer_blocks.0.attn1.to_q.lora_A.weight": torch.zeros(2, 8),
               "diffusion_model.transformer_blocks.0.attn1.to_q.lora_B.weight": torch.zeros(8, 2),
               "diffusion_model.transformer_blocks.0.audio_attn1.to_q.lora_A.weight": torch.zeros(2, 4),
               "diffusion_model.transformer_blocks.0.audio_attn1.to_q.lora_B.weight": torch.zeros(4, 2)}, path)
    return path


@pytest.fixture
def wan_folder(tmp_path) -> str:
    """A Wan2.2 5B-style model folder whose transformer is 8 wide with 2 blocks."""
    folder = tmp_path / "tiny-wan"
    (folder / "transformer").mkdir(parents=True)
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "WanPipeline", "expand_timesteps": True}))
    (folder / "transformer" / "config.json").write_text(json.dumps(
        {"num_attention_heads": 2, "attention_head_dim": 4, "num_layers": 2}))
    return str(folder)


def test_the_lora_folder_is_made_under_the_data_folder_when_first_asked_for(studio):
    folder = data_dir() / "loras"
    assert not folder.exists()
    assert studio.lora_folder() == folder and folder.is_dir()
    assert studio.loras("wan2.2-ti2v-5b") == []


def test_each_file_is_read_hashed_and_checked_against_the_model_with_one_line_when_it_does_not_fit(
        studio, wan_folder, tmp_path):
    folder = studio.lora_folder()
    fits = wan_lora(folder / "b-style.safetensors", width=8, blocks=2)
    expert = wan_lora(folder / "A-orbit_high_noise.safetensors", width=8, blocks=1, layout="comfy")
    wide = wan_lora(folder / "c-wide.safetensors", width=16, blocks=2)
    ltx2_lora(folder / "d-dolly.safetensors")
    (folder / "e-broken.safetensors").write_bytes(b"\x01")
    (folder / "notes.txt").write_text("not a LoRA")
    outside = wan_lora(tmp_path / "picked.safetensors", width=8, blocks=2)

    choices = studio.loras(wan_folder, extra=[str(outside), str(fits), str(tmp_path / "gone.safetensors")])
    assert [c.name for c in choices] == ["A-orbit_high_noise.safetensors", "b-style.safetensors", "c-wide.safetensors",
                                         "d-dolly.safetensors", "e-broken.safetensors", "picked.safetensors",
                                         "gone.safetensors"]  # the folder by name, then the picked files, once each
    by = {c.name: c for c in choices}
    assert [c.name for c in choices if c.fits] == ["A-orbit_high_noise.safetensors", "b-style.safetensors",
                                                   "picked.safetensors"]
    style = by["b-style.safetensors"]
    assert style.sha256 == hashlib.sha256(fits.read_bytes()).hexdigest() and style.size_bytes == fits.stat().st_size
    assert (style.layout, style.base, style.reason, style.expert) == ("diffusers", "Wan, 8-wide, 2 blocks", "", "both")
    assert style.path == str(fits.resolve()) and style.use(0.5) == LoraUse(str(fits.resolve()), style.sha256, 0.5, "both")
    assert by["A-orbit_high_noise.safetensors"].expert == "high"
    assert by["A-orbit_high_noise.safetensors"].layout == "ComfyUI/original"
    assert by["A-orbit_high_noise.safetensors"].use().expert == "high" and expert.exists()
    reasons = {name: by[name].reason for name in ("c-wide.safetensors", "d-dolly.safetensors",
                                                  "e-broken.safetensors", "gone.safetensors")}
    assert reasons == {
        "c-wide.safetensors": "c-wide.safetensors: made for Wan, 16-wide, 2 blocks; tiny-wan (local WAN model) is "
                              "8-wide with 2 blocks",
        "d-dolly.safetensors": "d-dolly.safetensors: made for LTX-2, 8-wide, 1 block; tiny-wan (local WAN model) is a "
                               "Wan model",
        "e-broken.safetensors": "e-broken.safetensors: not a .safetensors file (too short)",
        "gone.safetensors": "gone.safetensors: no such file",
    }
    assert all("\n" not in line for line in reasons.values()) and wide.exists()
    assert by["e-broken.safetensors"].sha256 == "" and by["gone.safetensors"].size_bytes == 0
    # The same files against an LTX-2 model: only the LTX-2 LoRA fits (no files here: the family alone is checked).
    assert [c.name for c in studio.loras("ltx-2-19b") if c.fits] == ["d-dolly.safetensors"]
    # The instant engine takes none, in one line naming the file.
    assert studio.loras("instant")[1].reason == ("b-style.safetensors: Instant (2.5D, no AI model) takes no LoRAs "
                                                 "(it is not a diffusion model)")


def test_a_presets_camera_lora_is_ready_only_once_downloaded_with_its_model(studio, cache):
    lora = load_registry().camera_lora("ltx-2-19b-dolly-in")
    waiting = studio.camera_lora("ltx-2-19b", "push-in")
    assert (waiting.id, waiting.name, waiting.strength, waiting.ready) == (lora.id, "LTX-2 Dolly In", 1.0, False)
    assert (waiting.download_gb, waiting.licence) == (0.33, "LTX-2.x Community License Agreement")
    assert waiting.note == ("LTX-2 Dolly In (0.33 GB) is not downloaded: prompt words only; it comes with the model "
                            "(the Models page, or `i2v download ltx-2-19b`)")
    cached(cache, lora.repo, lora.file)
    ready = studio.camera_lora("ltx-2-19b", "push-in")
    assert ready.ready and ready.note == "LTX-2 Dolly In at strength 1 makes the move, with the prompt words"


def test_a_move_without_a_camera_lora_for_the_model_says_it_is_prompt_words_only(studio, cache):
    cached(cache, "Lightricks/LTX-2-19b-LoRA-Camera-Control-Dolly-In", "ltx-2-19b-lora-camera-control-dolly-in.safetensors")
    other = studio.camera_lora("ltx-2.3-22b", "push-in")  # the ltx2 section names it, but not for this model
    assert (other.id, other.ready) == ("ltx-2-19b-dolly-in", False)
    assert other.note == "LTX-2 Dolly In is made for LTX-2 19B (sound, camera LoRAs), not LTX-2.3 22B (sound): " \
                         "prompt words only"
    for model, preset in (("wan2.2-ti2v-5b", "push-in"), ("ltx-2-19b", "orbit"), ("instant", "static")):
        none = studio.camera_lora(model, preset)
        assert (none.id, none.ready, none.download_gb) == ("", False, 0.0)
        assert none.note.endswith("prompt words only (no camera LoRA for this move on it)")
    with pytest.raises(PresetError, match="unknown motion preset 'nope'"):
        studio.camera_lora("ltx-2-19b", "nope")


def test_a_user_preset_naming_an_unknown_camera_lora_is_prompt_words_with_the_reason(tmp_path, isolated_home):
    folder = isolated_home / "config" / "i2v_desktop" / "presets"
    folder.mkdir(parents=True)
    (folder / "swoop.json").write_text(json.dumps({
        "id": "swoop", "name": "Swoop", "description": "A swooping move.", "move": "zoom-in",
        "families": {"ltx2": {"prompt": "The camera swoops in.", "lora": {"id": "ltx-2-19b-swoop", "strength": 0.7}}}}))
    made = LocalStudio(Engines(load_registry(), load_presets(folder), device="cpu"), History(tmp_path / "history"),
                       load_export_presets(), tmp_path / "data")
    try:
        swoop = made.camera_lora("ltx-2-19b", "swoop")
    finally:
        made.close()
    assert (swoop.id, swoop.strength, swoop.ready) == ("ltx-2-19b-swoop", 0.7, False)
    assert swoop.note == "Swoop names camera LoRA 'ltx-2-19b-swoop', which this app does not know: prompt words only"


def test_weights_without_their_camera_loras_are_partly_downloaded_and_the_row_names_what_is_missing(studio, cache):
    registry = load_registry()
    entry = registry.get("ltx-2-19b")
    # The model's diffusers folder, complete as far as the app checks it (an index, a component, its weights).
    index = cached(cache, entry.repo, "model_index.json",
                   json.dumps({"_class_name": "LTX2Pipeline", "transformer": ["diffusers", "LTX2VideoTransformer3DModel"]})
                   .encode())
    (index.parent / "transformer").mkdir()
    (index.parent / "transformer" / "config.json").write_text("{}")
    (index.parent / "transformer" / "diffusion_pytorch_model.safetensors").write_bytes(b"w" * 1000)

    def row():
        return next(info for info in studio.model_infos() if info.id == "ltx-2-19b")

    waiting = row()
    assert waiting.state == "partly downloaded" and waiting.download_gb == 76.4
    assert waiting.addons == ("camera LoRAs: Dolly In, Dolly Out, Dolly Left, Dolly Right, Jib Up, Jib Down, Static "
                              "(7.95 GB, LTX-2.x Community License Agreement), not downloaded",)
    for lora in entry.camera_loras:
        cached(cache, lora.repo, lora.file, b"l" * 100)
    ready = row()
    assert ready.state == "ready" and ready.addons[0].endswith(", downloaded")
    assert ready.disk_bytes >= waiting.disk_bytes + 7 * 100
    assert studio.camera_lora("ltx-2-19b", "static").ready
