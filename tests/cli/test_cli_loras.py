"""The command line's LoRAs end to end: `i2v loras`, `i2v render --lora FILE[:STRENGTH]` and
`--camera-lora` on a tiny local Wan, `i2v models` naming a model's camera LoRAs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from i2v_desktop.cli import main
from i2v_desktop.storage.paths import data_dir


def run(args, capsys):
    """(status, stdout, stderr without the line naming the fixture's broken user model)."""
    try:
        code = main(args)
    except SystemExit as exc:  # refused while the command line is read (argparse)
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, "".join(line for line in err.splitlines(keepends=True) if "skipped model" not in line)


def wan_lora(path: Path, model_folder: Path, blocks: int = 1, wider: int = 0) -> Path:
    """A diffusers-layout LoRA made for the tiny Wan's transformer (or a wider one)."""
    config = json.loads((model_folder / "transformer" / "config.json").read_text())
    width = config["num_attention_heads"] * config["attention_head_dim"] + wider
    keys = {}
    for i in range(blocks):
        keys[f"transformer.blocks.{i}.attn1.to_q.lora_A.weight"] = torch.zeros(2, width)
        keys[f"transformer.blocks.{i}.attn1.to_q.lora_B.weight"] = torch.zeros(width, 2)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(keys, path)
    return path


def test_loras_lists_the_folder_against_the_model_and_each_presets_camera_lora(user_models, tiny_wan, capsys):
    folder = data_dir() / "loras"
    wan_lora(folder / "fits.safetensors", tiny_wan)
    wan_lora(folder / "wide.safetensors", tiny_wan, wider=8)
    code, out, err = run(["loras", "--model", "tiny-wan"], capsys)
    assert code == 0, err
    assert f"Your LoRAs, in {folder}, against Tiny Wan (tiny-wan):" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.endswith(".safetensors") is False
            and line.split() and line.split()[0].endswith(".safetensors")}
    assert rows["fits.safetensors"][1] == "yes" and rows["wide.safetensors"][1] == "no"
    assert "  wide.safetensors: made for Wan, " in out and "Tiny Wan is " in out
    assert "  push-in: Push in on Tiny Wan: prompt words only (no camera LoRA for this move on it)" in out

    code, out, err = run(["loras", "--model", "ltx-2-19b"], capsys)
    assert code == 0, err
    assert ("  push-in: LTX-2 Dolly In (0.33 GB) is not downloaded: prompt words only; it comes with the model "
            "(the Models page, or `i2v download ltx-2-19b`) (LTX-2.x Community License Agreement)") in out
    assert "  static: LTX-2 Static (2.21 GB) is not downloaded" in out
    assert "  orbit: Orbit on LTX-2 19B (sound, camera LoRAs): prompt words only" in out
    assert "fits.safetensors  no" in out  # a Wan LoRA on an LTX-2 model


def test_render_records_each_lora_by_hash_and_strength_and_the_camera_choice(user_models, tiny_wan, samples,
                                                                            tmp_path, capsys):
    lora = wan_lora(tmp_path / "picked" / "style.safetensors", tiny_wan)
    out_dir = tmp_path / "out"
    code, out, err = run(["render", str(samples / "coffee.jpg"), "--model", "tiny-wan", "--seed", "3",
                          "--duration", "0.2", "--lora", f"{lora}:0.7", "--camera-lora", "off",
                          "--out", str(out_dir)], capsys)
    assert code == 0, err
    assert "i2v: LoRA style.safetensors at 0.7" in err and "i2v: camera: off: the preset's prompt words alone" in err
    request = json.loads((out_dir / "coffee.json").read_text())["request"]
    assert request["loras"] == [{"path": str(lora.resolve()), "sha256": hashlib.sha256(lora.read_bytes()).hexdigest(),
                                 "strength": 0.7, "expert": "both"}]
    assert request["camera_lora"] == 0.0
    # A file in the LoRA folder may be named by its name alone; no --camera-lora: the preset's own.
    kept = wan_lora(data_dir() / "loras" / "kept.safetensors", tiny_wan)
    code, out, err = run(["render", str(samples / "coffee.jpg"), "--model", "tiny-wan", "--seed", "3",
                          "--duration", "0.2", "--lora", "kept.safetensors", "--out", str(out_dir)], capsys)
    assert code == 0, err
    request = json.loads((out_dir / "coffee-2.json").read_text())["request"]
    assert [(u["path"], u["strength"]) for u in request["loras"]] == [(str(kept.resolve()), 1.0)]
    assert request["camera_lora"] is None and "i2v: camera:" not in err  # no camera LoRA for this preset on Wan


def test_a_lora_that_does_not_fit_or_a_bad_strength_is_refused_in_one_line_before_anything_renders(
        user_models, tiny_wan, samples, tmp_path, capsys):
    wide = wan_lora(tmp_path / "wide.safetensors", tiny_wan, wider=8)
    out_dir = tmp_path / "out"
    code, out, err = run(["render", str(samples / "coffee.jpg"), "--model", "tiny-wan", "--lora", str(wide),
                          "--out", str(out_dir)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("i2v: wide.safetensors: made for Wan, ") and "Tiny Wan is " in err
    code, out, err = run(["render", str(samples / "coffee.jpg"), "--model", "tiny-wan", "--lora",
                          str(tmp_path / "gone.safetensors"), "--out", str(out_dir)], capsys)
    assert code == 2 and err.strip() == "i2v: gone.safetensors: no such file"
    code, out, err = run(["render", str(samples / "coffee.jpg"), "--lora", f"{wide}:5"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "strength must be between -2 and 2" in err
    code, out, err = run(["render", str(samples / "coffee.jpg"), "--camera-lora", "loud"], capsys)
    assert code == 2 and "camera LoRA strength must be a number" in err
    assert not out_dir.exists() or not list(out_dir.glob("*.mp4"))


def test_models_names_what_a_download_brings_with_the_weights(capsys):
    code, out, err = run(["models"], capsys)
    assert code == 0, err
    assert ("  with it: camera LoRAs: Dolly In, Dolly Out, Dolly Left, Dolly Right, Jib Up, Jib Down, Static "
            "(7.95 GB, LTX-2.x Community License Agreement), not downloaded") in out
    assert "  with it: fast tier: lightx2v-wan2.1-i2v-4step LoRA (0.74 GB, Apache-2.0), not downloaded" in out
    row = next(line for line in out.splitlines() if line.startswith("ltx-2-19b "))
    assert "76.4 GB" in row and "not downloaded" in row
