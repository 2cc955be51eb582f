"""scripts/gpu-check.sh and the real-architecture bench behind it, on the CPU.

The GPU run itself needs a GPU; here the script's dry run (meta tensors: shapes, FLOPs, the plan
of what would run) goes end to end from the shell, and the bench's own rules (only the family
asked for; a row that runs out of memory says so and the next row still runs) are checked with
small real denoisers and one too large for any machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from i2v_desktop.bench.architectures import architectures
from i2v_desktop.bench.guard import guarded, memory_limit_gb
from i2v_desktop.bench.memory import run_offloaded
from i2v_desktop.bench.real import bench_real
from i2v_desktop.engine.registry import load_registry

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gpu-check.sh"

# A 1-layer LTX transformer and the LTX 0.9.5+ VAE layout at their smallest: real diffusers
# modules, small enough for the CPU. Sizes follow the registry's LTX rules (32x, 8x, 8k+1 frames).
TINY_LTX_VAE = {
    "class": "AutoencoderKLLTXVideo",
    "dtype": "float32",
    "config": {
        "latent_channels": 8, "block_out_channels": [8, 16, 16, 32, 32],
        "down_block_types": ["LTXVideo095DownBlock3D"] * 4, "decoder_block_out_channels": [8, 16, 32],
        "layers_per_block": [1, 1, 1, 1, 1], "decoder_layers_per_block": [1, 1, 1, 1],
        "spatio_temporal_scaling": [True, True, True, True], "decoder_spatio_temporal_scaling": [True, True, True],
        "decoder_inject_noise": [False, False, False, False],
        "downsample_type": ["spatial", "temporal", "spatiotemporal", "spatiotemporal"],
        "upsample_residual": [True, True, True], "upsample_factor": [2, 2, 2], "timestep_conditioning": True,
        "patch_size": 4, "spatial_compression_ratio": 32, "temporal_compression_ratio": 8,
    },
    "encode": [1, 3, 1, 64, 64],
    "decode": {"z": [1, 8, 2, 2, 2], "temb": {"shape": [1], "fill": 0.05}},
}


def tiny_ltx(width: int = 8, channels: int = 8) -> dict:
    """An LTX denoiser spec: `width` attention heads of 8, latents of `channels` channels."""
    tokens = 2 * 2 * 2
    return {
        "model": "ltx-video-2b-distilled",
        "class": "LTXVideoTransformer3DModel",
        "config": {"in_channels": channels, "out_channels": 8, "num_attention_heads": width, "attention_head_dim": 8,
                   "cross_attention_dim": 8 * width, "num_layers": 1, "caption_channels": 16},
        "size": [64, 64],
        "frames": 9,
        "calls_per_step": 1,
        "inputs": {
            "hidden_states": [1, tokens, channels],
            "encoder_hidden_states": [1, 4, 16],
            "timestep": {"shape": [1, tokens], "fill": 1000.0},
            "encoder_attention_mask": {"shape": [1, 4], "fill": 1.0},
            "video_coords": {"shape": [1, 3, tokens], "fill": 0.5},
        },
        "output": [1, tokens, 8],
        "vae": TINY_LTX_VAE,
    }


def test_only_the_family_asked_for_is_benched():
    registry = load_registry()
    for family in ("wan", "ltx", "svd"):
        specs = architectures(family)
        assert specs, family
        assert {registry.get(s["model"]).family for s in specs.values()} == {family}
    assert len(architectures("wan")) + len(architectures("ltx")) + len(architectures("svd")) == len(architectures())


def test_a_row_that_runs_out_of_memory_says_so_and_the_bench_goes_on():
    cpu = torch.device("cpu")
    # 2**50 latent channels: the very first layer (proj_in) is 2**56 parameters, more than a 64-bit
    # machine can even address, so its allocation fails at once whatever the overcommit policy.
    # Without a time budget rows run in the order given, so one runs after it.
    specs = {"small": tiny_ltx(2), "impossible": tiny_ltx(channels=2**50), "larger": tiny_ltx(8)}
    report = bench_real("ltx", steps=1, seed_clips=0, device=cpu, specs=specs, speed=False)

    assert [r["name"] for r in report["denoisers"]] == ["small", "impossible", "larger"]
    rows = {r["name"]: r for r in report["denoisers"]}
    limit = memory_limit_gb(cpu)
    assert rows["impossible"]["status"] == f"out of memory at {limit:.0f} GB"
    for name in ("small", "larger"):
        assert rows[name]["status"] == "ok", rows[name]
        assert rows[name]["call_ms"] > 0 and rows[name]["variant"] == "plain diffusers"
        assert rows[name]["vs_plain"] == 1.0

    vae = [r for r in report["vae"] if r["decoder"] == "full"]
    assert all(r["status"] == "ok" and r["decode_s"] > 0 and r["encode_s"] > 0 for r in vae), vae
    tiny = [r for r in report["vae"] if r["decoder"] == "tiny"]
    assert all(r["status"].startswith(("ok", "skipped:")) for r in tiny), tiny
    previews = {r["name"]: r for r in report["first_preview"]}
    assert previews["small"]["status"] == "ok"
    assert previews["small"]["first_preview_s"] == pytest.approx(
        previews["small"]["encode_s"] + previews["small"]["step_s"] + previews["small"]["preview_s"])
    assert previews["impossible"]["status"].startswith("skipped:")


def test_the_dry_run_plans_the_gpu_check_from_a_shell(tmp_path):
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "I2V_PYTHON"}
    env["I2V_PYTHON"] = sys.executable  # the interpreter running these tests, as a venv user would
    done = subprocess.run(["bash", str(SCRIPT), "--dry-run", "--family", "ltx", str(out)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((out / "gpu-check.json").read_text())

    assert report["dry_run"] is True and report["family"] == "ltx"
    [ltx] = report["denoisers"]
    assert ltx["output"] == architectures()["ltx-video-2b transformer"]["output"]
    assert ltx["tflop_per_call"] > 50  # 1216x704, 121 frames: 87 TFLOP a call as counted by torch
    assert [v["variant"] for v in ltx["variants"]][0] == "plain diffusers"
    [vae] = report["vae"]
    assert vae["frames"] == [1, 3, 121, 704, 1216] and vae["decode_tflop"] > 0

    registry = load_registry()
    plans = report["memory_plans"]
    assert {p["model"] for p in plans} == set(registry.entries)
    assert {p["gpu_gb"] for p in plans} == {141.0, 24.0}
    assert all(p["offload"] in ("none", "model", "group", "sequential") for p in plans)
    assert report["oom_recovery"]["simulated_gb"] == 24.0
    assert "seed_job" in report
    assert "would run" in done.stdout or "skipped" in done.stdout


def test_the_script_refuses_without_an_outdir():
    done = subprocess.run(["bash", str(SCRIPT), "--dry-run"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "OUTDIR" in done.stderr


def test_i2v_bench_real_honours_family_and_writes_json(tmp_path, capsys):
    from i2v_desktop.cli import main

    path = tmp_path / "bench.json"
    assert main(["bench", "--real", "--dry-run", "--family", "svd", "--json", str(path)]) == 0
    report = json.loads(path.read_text())
    assert [d["name"] for d in report["denoisers"]] == ["svd-xt unet"]
    assert [v["name"] for v in report["vae"]] == ["svd-xt unet"]
    assert "svd-xt unet" in capsys.readouterr().out


@pytest.mark.parametrize("offload", ["none", "model", "group", "sequential"])
def test_each_rung_of_the_offload_ladder_places_the_denoiser_and_runs_a_call(offload):
    # The OOM-recovery check walks these rungs on a simulated 24 GB card; here each one's diffusers
    # or accelerate placement runs for real, on the CPU, and reports how far it got.
    cpu = torch.device("cpu")
    row: dict = {}
    guarded(row, lambda: run_offloaded(tiny_ltx(2), offload, cpu, row), cpu, memory_limit_gb(cpu))
    assert row["status"] == "ok", row
    assert row["stage"] == "denoising" and row["call_s"] > 0
