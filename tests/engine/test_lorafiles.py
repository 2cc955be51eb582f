"""Reading the user's LoRA files by their headers: layout, family, size, expert, and the one-line mismatch."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from i2v_desktop.core.errors import ModelError
from i2v_desktop.engine.lorafiles import expert_from_name, file_sha256, mismatch, model_shape, read_lora
from i2v_desktop.engine.registry import load_registry

RANK = 2


def write(path: Path, keys: dict[str, tuple[int, int]]) -> Path:
    save_file({k: torch.zeros(shape) for k, shape in keys.items()}, path)
    return path


def wan_keys(layout: str, width: int, blocks: int, ffn: int = 64) -> dict[str, tuple[int, int]]:
    keys: dict[str, tuple[int, int]] = {}
    for i in range(blocks):
        for name, (rows, cols) in {"q": (width, width), "k": (width, width), "ffn": (ffn, width)}.items():
            if layout == "diffusers":
                module = {"q": f"transformer.blocks.{i}.attn1.to_q", "k": f"transformer.blocks.{i}.attn2.to_k",
                          "ffn": f"transformer.blocks.{i}.ffn.net.0.proj"}[name]
                keys[f"{module}.lora_A.weight"], keys[f"{module}.lora_B.weight"] = (RANK, cols), (rows, RANK)
            elif layout == "comfy":
                module = {"q": f"diffusion_model.blocks.{i}.self_attn.q", "k": f"diffusion_model.blocks.{i}.cross_attn.k",
                          "ffn": f"diffusion_model.blocks.{i}.ffn.0"}[name]
                keys[f"{module}.lora_A.weight"], keys[f"{module}.lora_B.weight"] = (RANK, cols), (rows, RANK)
            else:
                module = {"q": f"lora_unet_blocks_{i}_self_attn_q", "k": f"lora_unet_blocks_{i}_cross_attn_k",
                          "ffn": f"lora_unet_blocks_{i}_ffn_0"}[name]
                keys[f"{module}.lora_down.weight"], keys[f"{module}.lora_up.weight"] = (RANK, cols), (rows, RANK)
    return keys


def ltx2_keys(width: int, blocks: int, audio: bool = True) -> dict[str, tuple[int, int]]:
    keys = {}
    for i in range(blocks):
        for module in [f"diffusion_model.transformer_blocks.{i}.attn1.to_q"] + (
                [f"diffusion_model.transformer_blocks.{i}.audio_attn1.to_q"] if audio else []):
            w = width // 2 if "audio" in module else width
            keys[f"{module}.lora_A.weight"], keys[f"{module}.lora_B.weight"] = (RANK, w), (w, RANK)
    return keys


def folder_entry(tmp_path: Path, model: str, heads: int, head_dim: int, layers: int):
    folder = tmp_path / model
    (folder / "transformer").mkdir(parents=True)
    (folder / "transformer" / "config.json").write_text(json.dumps(
        {"num_attention_heads": heads, "attention_head_dim": head_dim, "num_layers": layers}))
    return replace(load_registry().get(model), local_path=str(folder))


@pytest.mark.parametrize("layout, expected", [("diffusers", "diffusers"), ("comfy", "ComfyUI/original"),
                                              ("kohya", "Kohya/musubi")])
def test_each_wan_layout_reads_as_wan_with_its_width_and_blocks(tmp_path, layout, expected):
    lora = read_lora(write(tmp_path / "style.safetensors", wan_keys(layout, width=48, blocks=3)))
    assert (lora.layout, lora.family, lora.width, lora.blocks, lora.rank) == (expected, "wan", 48, 3, RANK)
    assert lora.base == "Wan, 48-wide, 3 blocks"


def test_an_ltx2_lora_touching_audio_is_ltx2_and_fits_only_ltx2(tmp_path):
    lora = read_lora(write(tmp_path / "dolly.safetensors", ltx2_keys(width=64, blocks=2)))
    assert (lora.family, lora.width, lora.blocks) == ("ltx2", 64, 2)  # the audio stream's width is not counted
    ltx2 = folder_entry(tmp_path, "ltx-2.3-22b", 4, 16, 2)
    assert mismatch(lora, ltx2, model_shape(ltx2)) == ""
    wan = folder_entry(tmp_path, "wan2.2-ti2v-5b", 4, 16, 2)
    assert mismatch(lora, wan, model_shape(wan)) == (
        "dolly.safetensors: made for LTX-2, 64-wide, 2 blocks; Wan2.2 TI2V-5B is a Wan model")


def test_a_lora_for_a_wider_or_deeper_model_names_both_shapes(tmp_path):
    wan = folder_entry(tmp_path, "wan2.2-ti2v-5b", 24, 128, 30)
    assert model_shape(wan).width == 3072
    wide = read_lora(write(tmp_path / "big.safetensors", wan_keys("comfy", width=5120, blocks=2, ffn=8)))
    assert mismatch(wide, wan, model_shape(wan)) == (
        "big.safetensors: made for Wan, 5120-wide, 2 blocks; Wan2.2 TI2V-5B is 3072-wide with 30 blocks")
    deep = read_lora(write(tmp_path / "deep.safetensors", wan_keys("kohya", width=3072, blocks=31, ffn=8)))
    assert "31 blocks" in mismatch(deep, wan, model_shape(wan))
    fits = read_lora(write(tmp_path / "fits.safetensors", wan_keys("diffusers", width=3072, blocks=2, ffn=8)))
    assert mismatch(fits, wan, model_shape(wan)) == ""


def test_models_without_a_lora_loader_say_so(tmp_path):
    lora = read_lora(write(tmp_path / "s.safetensors", wan_keys("diffusers", 8, 1)))
    registry = load_registry()
    assert "takes no LoRAs (diffusers has no LoRA loader" in mismatch(lora, registry.get("svd-xt"), None)
    assert "takes no LoRAs (it is not a diffusion model)" in mismatch(lora, registry.get("instant"), None)
    assert mismatch(lora, registry.get("wan2.1-i2v-14b-480p"), None) == ""  # files not here: the family is checked


@pytest.mark.parametrize("name, content, why", [
    ("a.safetensors", b"\x01", "too short"),
    ("b.safetensors", b"\xff" * 16, "header is cut off"),
    ("c.safetensors", b"\x04\x00\x00\x00\x00\x00\x00\x00nope", "header is not JSON"),
    ("d.ckpt", b"", "from .safetensors files only"),
])
def test_a_file_that_is_not_a_lora_gives_one_line_naming_it(tmp_path, name, content, why):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ModelError, match=why) as err:
        read_lora(tmp_path / name)
    assert str(err.value).startswith(name) and "\n" not in str(err.value)


def test_checkpoints_image_loras_and_other_families_are_refused(tmp_path):
    cases = {
        "full.safetensors": ({"model.diffusion_model.blocks.0.self_attn.q.weight": (4, 4)}, "holds no LoRA weights"),
        "sd.safetensors": ({"lora_unet_down_blocks_0_attn.lora_down.weight": (2, 4)}, "Stable Diffusion image LoRA"),
        "flux.safetensors": ({"diffusion_model.double_blocks.0.img_attn.qkv.lora_A.weight": (2, 4)}, "Flux"),
    }
    for name, (keys, why) in cases.items():
        with pytest.raises(ModelError, match=why):
            read_lora(write(tmp_path / name, keys))


@pytest.mark.parametrize("stem, expert", [
    ("wan2.2_i2v_A14b_high_noise_lora_rank64", "high"), ("orbit_LOW", "low"), ("orbit-low-noise", "low"),
    ("lowlight_grade", "both"), ("portrait_high_res", "both"), ("style", "both"),
])
def test_the_expert_comes_from_the_file_name(stem, expert):
    assert expert_from_name(stem) == expert


def test_the_hash_is_the_files_sha256_and_follows_a_change(tmp_path):
    import hashlib

    path = write(tmp_path / "s.safetensors", wan_keys("diffusers", 8, 1))
    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    write(path, wan_keys("diffusers", 16, 1))
    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_mismatch_line_reads_well_for_an_ltx_model(tmp_path):
    lora = read_lora(write(tmp_path / "grain.safetensors", wan_keys("diffusers", 8, 1)))
    entry = load_registry().get("ltx-2-19b")
    assert mismatch(lora, entry, None).endswith("is an LTX-2 model")
