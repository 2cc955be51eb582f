"""Device and memory plans, the weights folder checks and download progress, without a network."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from i2v_desktop.core.errors import ModelError
from i2v_desktop.engine import weights
from i2v_desktop.engine.device import choose_offload, plan_device
from i2v_desktop.engine.registry import load_registry


@pytest.fixture(scope="module")
def wan5b():
    return load_registry().get("wan2.2-ti2v-5b")


@pytest.mark.parametrize(
    "free, mode", [(None, "model"), (200.0, "none"), (40.0, "model"), (20.0, "group"), (8.0, "sequential")]
)
def test_offload_is_the_fastest_mode_that_fits(wan5b, free, mode):
    assert choose_offload(wan5b, free) == mode


def test_cpu_plan_is_float32_without_offload(wan5b):
    plan = plan_device(wan5b, device="cpu")
    assert (plan.device, plan.dtype, plan.offload) == ("cpu", "float32", "none")
    assert "cpu" in plan.describe()
    assert plan_device(wan5b, device="cpu", vae_tiling=False).vae_tiling is False


def test_bad_overrides_are_one_line_errors(wan5b):
    with pytest.raises(ModelError, match="--offload"):
        plan_device(wan5b, device="cpu", offload="turbo")
    with pytest.raises(ModelError, match="--device"):
        plan_device(wan5b, device="tpu")


def test_download_patterns_skip_root_checkpoints_pickles_and_other_variants():
    registry = load_registry()
    svd = weights._snapshot_kwargs(registry.get("svd-xt"))
    assert "*/*.fp16.safetensors" in svd["allow_patterns"]
    assert not any(p.endswith(".bin") or p == "*.safetensors" for p in svd["allow_patterns"])
    wan = weights._snapshot_kwargs(registry.get("wan2.2-ti2v-5b"))
    assert "*/*.fp16.safetensors" in wan["ignore_patterns"]
    assert wan["revision"] == "b8fff7315c768468a5333511427288870b2e9635"
    ltx = weights._snapshot_kwargs(registry.get("ltx-video-2b-distilled"))
    assert {"transformer/*.safetensors", "vae/*.safetensors"} <= set(ltx["ignore_patterns"])


def _folder(tmp_path, unet_files):
    tmp_path.mkdir(parents=True)
    (tmp_path / "model_index.json").write_text(
        json.dumps({"_class_name": "StableVideoDiffusionPipeline", "unet": ["diffusers", "X"],
                    "scheduler": ["diffusers", "S"], "image_encoder": [None, None]})
    )
    (tmp_path / "unet").mkdir()
    (tmp_path / "unet" / "config.json").write_text("{}")
    for name in unet_files:
        (tmp_path / "unet" / name).write_bytes(b"")
    (tmp_path / "scheduler").mkdir()
    (tmp_path / "scheduler" / "scheduler_config.json").write_text("{}")
    return tmp_path


def test_folder_check_accepts_safetensors_and_refuses_pickles_and_gaps(tmp_path):
    assert weights.check_folder(_folder(tmp_path / "ok", ["a.safetensors"])) == tmp_path / "ok"
    with pytest.raises(ModelError, match="unet/ has only pickled weights"):
        weights.check_folder(_folder(tmp_path / "pickle", ["diffusion_pytorch_model.bin"]))
    with pytest.raises(ModelError, match="unet/ has no weights"):
        weights.check_folder(_folder(tmp_path / "empty", []))
    # A component given by a single-file checkpoint needs no weights of its own.
    assert weights.check_folder(_folder(tmp_path / "single", []), provided=("unet",))
    with pytest.raises(ModelError, match="no model_index.json"):
        weights.check_folder(tmp_path / "ok" / "unet")


def test_nothing_cached_means_not_downloaded(wan5b):
    assert weights.is_downloaded(wan5b) is False
    assert weights.is_downloaded(replace(wan5b, local_path="/anywhere")) is True
