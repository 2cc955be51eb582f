"""The tiny pipelines save to safetensors-only folders that diffusers loads back and runs offline."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

from i2v_desktop.bench.tiny import TINY_KINDS, build_tiny_pipeline, save_tiny_pipeline  # noqa: E402

EXPECTED_CLASS = {
    "wan2.1-i2v": "WanImageToVideoPipeline",
    "wan2.2-ti2v": "WanImageToVideoPipeline",
    "wan2.2-i2v-a14b": "WanImageToVideoPipeline",
    "ltx": "LTXConditionPipeline",
    "svd": "StableVideoDiffusionPipeline",
    "hunyuan15": "HunyuanVideo15ImageToVideoPipeline",
    "ltx2": "LTX2ImageToVideoPipeline",
}

# The smallest geometry each layout accepts: Wan 2.1 and A14B need multiples of 16 (8x VAE x 2x2
# patches) and 4k + 1 frames, Wan 2.2 TI2V multiples of 32 (16x VAE), LTX 0.9.5+ and LTX-2
# multiples of 32 and 8k + 1 frames; SVD takes any frame count.
CALLS: dict[str, dict[str, Any]] = {
    "wan2.1-i2v": {"prompt": "a cat turns its head", "height": 32, "width": 32, "num_frames": 5},
    "wan2.2-ti2v": {"prompt": "a cat turns its head", "height": 32, "width": 32, "num_frames": 5},
    "wan2.2-i2v-a14b": {"prompt": "a cat turns its head", "height": 32, "width": 32, "num_frames": 5},
    "ltx": {"prompt": "a cat turns its head", "height": 32, "width": 32, "num_frames": 9},
    "svd": {"height": 32, "width": 32, "num_frames": 5, "decode_chunk_size": 5},
    # HunyuanVideo-1.5 takes no size: it crops the photo to the bucket of its transformer's
    # target_size (64 here) nearest the photo's aspect, a square for this 40 x 48 photo.
    "hunyuan15": {"prompt": "a cat turns its head", "num_frames": 5},
    # LTX-2's decoder pads by reflection, which needs a latent of at least 2 x 2: 64 pixels.
    "ltx2": {"prompt": "a cat turns its head", "height": 64, "width": 64, "num_frames": 9, "frame_rate": 24.0},
}
PICKED_SIZE = {"hunyuan15": (64, 64)}

WEIGHT_SUFFIXES = {".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".msgpack", ".h5", ".gguf"}


@pytest.fixture(scope="module")
def image():
    from PIL import Image

    # Deliberately not the output size or aspect: the pipelines resize.
    pixels = np.random.default_rng(7).integers(0, 256, size=(48, 40, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


@pytest.fixture(scope="module", params=TINY_KINDS)
def saved(request, tmp_path_factory) -> tuple[str, pathlib.Path]:
    kind = request.param
    folder = save_tiny_pipeline(kind, tmp_path_factory.mktemp(kind.replace(".", "_")) / "model")
    return kind, folder


def _load(folder: pathlib.Path, class_name: str | None = None):
    if class_name is None:
        class_name = json.loads((folder / "model_index.json").read_text())["_class_name"]
    pipe = getattr(diffusers, class_name).from_pretrained(folder, use_safetensors=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="module")
def loaded(saved):
    kind, folder = saved
    return kind, _load(folder)


def _run(pipe, kind: str, image, seed: int, **overrides: Any) -> np.ndarray:
    args = {**CALLS[kind], "num_inference_steps": 2, "output_type": "np", **overrides}
    if "conditions" not in overrides:
        args["image"] = image
    return pipe(**args, generator=torch.Generator("cpu").manual_seed(seed)).frames


def test_saved_folder_holds_safetensors_weights_only(saved):
    kind, folder = saved
    index = json.loads((folder / "model_index.json").read_text())
    assert index["_class_name"] == EXPECTED_CLASS[kind]

    weights = [p for p in folder.rglob("*") if p.suffix in WEIGHT_SUFFIXES]
    assert weights and all(p.suffix == ".safetensors" for p in weights), weights
    # Every model component has its weights; tokenizers, processors and schedulers have none.
    for name, entry in index.items():
        # Components are [library, class]; [null, null] for one left out; other entries are config.
        if isinstance(entry, list) and entry[1] and ("Model" in entry[1] or "Autoencoder" in entry[1]):
            assert list((folder / name).glob("*.safetensors")), name


def test_loaded_pipeline_makes_the_requested_clip(loaded, image):
    kind, pipe = loaded
    frames = _run(pipe, kind, image, seed=0)
    call = CALLS[kind]
    height, width = PICKED_SIZE.get(kind) or (call["height"], call["width"])
    assert frames.shape == (1, call["num_frames"], height, width, 3)
    assert frames.dtype == np.float32
    assert np.isfinite(frames).all()
    assert frames.min() >= 0.0 and frames.max() <= 1.0


def test_same_seed_same_frames_other_seed_other_frames(loaded, image):
    kind, pipe = loaded
    first = _run(pipe, kind, image, seed=0)
    again = _run(pipe, kind, image, seed=0)
    other = _run(pipe, kind, image, seed=1)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other, atol=1e-4)


@pytest.mark.parametrize("kind", TINY_KINDS)
def test_weights_are_a_function_of_the_seed(kind):
    def weights(seed: int) -> dict[str, Any]:
        pipe = build_tiny_pipeline(kind, seed=seed)
        return {
            f"{name}.{key}": tensor
            for name, component in pipe.components.items()
            if isinstance(component, torch.nn.Module)
            for key, tensor in component.state_dict().items()
        }

    state = torch.random.get_rng_state()
    zero = weights(0)
    assert torch.equal(torch.random.get_rng_state(), state), "building must not move the global RNG"
    assert all(t.dtype == torch.float32 and t.device.type == "cpu" for t in zero.values())
    assert all(torch.equal(t, u) for t, u in zip(zero.values(), weights(0).values(), strict=True))
    one = weights(1)
    assert any(not torch.equal(t, one[k]) for k, t in zero.items() if t.is_floating_point())


def test_ltx_folder_runs_through_both_ltx_image_pipelines(tmp_path, image):
    from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

    folder = save_tiny_pipeline("ltx", tmp_path / "ltx")
    condition = _load(folder)
    by_image = _run(condition, "ltx", image, seed=3)
    by_condition = _run(
        condition, "ltx", image, seed=3, conditions=[LTXVideoCondition(image=image, frame_index=0)]
    )
    np.testing.assert_allclose(by_image, by_condition, atol=1e-6)

    i2v = _load(folder, "LTXImageToVideoPipeline")
    frames = _run(i2v, "ltx", image, seed=3)
    assert frames.shape == (1, 9, 32, 32, 3) and np.isfinite(frames).all()


def test_wan_a14b_hands_over_from_high_to_low_noise_expert(tmp_path, image):
    pipe = _load(save_tiny_pipeline("wan2.2-i2v-a14b", tmp_path / "a14b"))
    assert pipe.config.boundary_ratio == pytest.approx(0.9)
    timesteps: dict[str, list[float]] = {"transformer": [], "transformer_2": []}
    for name in timesteps:
        getattr(pipe, name).register_forward_hook(
            lambda module, args, kwargs, out, name=name: timesteps[name].append(float(kwargs["timestep"][0])),
            with_kwargs=True,
        )
    _run(pipe, "wan2.2-i2v-a14b", image, seed=0)
    # Two steps with classifier-free guidance: one step (two calls) per expert, high noise first.
    assert len(timesteps["transformer"]) == 2 and len(timesteps["transformer_2"]) == 2
    assert min(timesteps["transformer"]) >= 900 > max(timesteps["transformer_2"])


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown tiny pipeline kind"):
        build_tiny_pipeline("wan9")
