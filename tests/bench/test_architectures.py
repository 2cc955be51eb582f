"""The denoisers `i2v bench --real` times, checked on torch's meta device: shapes only, no memory.

Each entry of resources/architectures.json must build at its published config, take the inputs it
lists and give back its render size's latent, have the published parameter count, and its FLOPs
as counted by torch must agree with a back-of-the-envelope estimate.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from i2v_desktop.bench.architectures import MetaCall, architectures, count_flops, meta_call
from i2v_desktop.core.framing import snap_frames
from i2v_desktop.engine.registry import load_registry

ARCHITECTURES = architectures()
NAMES = list(ARCHITECTURES)
META = torch.device("meta")

# Published sizes, each cross-checked against the Hub's file sizes quoted in models.json.
PUBLISHED_PARAMS = {
    "wan2.2-ti2v-5b transformer": 5.0e9,  # "5B"; the fp32 transformer is 20 GB
    # "14B" names the family; the I2V transformer adds per-block key/value projections for the
    # CLIP tokens (2.1B) and an image embedder: its fp32 files (720P repo, same architecture) come
    # to 65.6 GB, 16.4B parameters.
    "wan2.1-i2v-14b transformer": 16.4e9,
    "wan2.2-i2v-a14b transformer": 14.0e9,  # each of the two experts ("A14B": 14B active per step)
    "ltx-video-2b transformer": 1.9e9,
    "svd-xt unet": 1.5e9,  # the fp16 UNet is 3.05 GB
}


@functools.cache
def called(name: str) -> MetaCall:
    """One counted call of an entry's denoiser on meta, shared by the tests (each takes ~1 s)."""
    return meta_call(ARCHITECTURES[name])


def param_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# Families without a published-architecture spec, and why. HunyuanVideo-1.5's transformer branches
# on tensor values (`torch.all(image_embeds == 0)`) and reorders its text tokens with boolean masks:
# data that meta tensors do not have. LTX-2.3's diffusers transformer config was not found in a
# public source this project could read (its entries' sizes are estimates, said in their sources).
NO_SPEC = {"hunyuan15": "its forward reads tensor values",
           "ltx2": "LTX-2.3's transformer config.json is not at hand"}


def test_every_registry_model_family_has_a_denoiser():
    registry = load_registry()
    families = {registry.get(spec["model"]).family for spec in ARCHITECTURES.values()}
    assert families == {entry.family for entry in registry.entries.values()} - set(NO_SPEC)
    assert set(NO_SPEC) <= {entry.family for entry in registry.entries.values()}
    assert set(PUBLISHED_PARAMS) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_inputs_are_the_registry_models_render_size_and_guidance(name):
    spec = ARCHITECTURES[name]
    entry = load_registry().get(spec["model"])
    width, height = spec["size"]
    assert (width, height) in entry.resolutions.values()
    frames = spec["frames"]
    assert snap_frames(entry.frame_rule, frames, entry.max_frames) == frames

    t = (frames - 1) // entry.temporal_ratio + 1
    h, w = height // entry.spatial_ratio, width // entry.spatial_ratio
    channels = spec["config"]["out_channels"]
    batch = spec["output"][0]
    expected = {
        "WanTransformer3DModel": [batch, channels, t, h, w],
        "LTXVideoTransformer3DModel": [batch, t * h * w, channels],  # packed tokens (patch size 1)
        "UNetSpatioTemporalConditionModel": [batch, t, channels, h, w],
    }[spec["class"]]
    assert spec["output"] == expected

    # Classifier-free guidance doubles the work per step, as a second call (Wan) or a doubled batch.
    cfg = entry.guidance > 1.0
    assert batch * spec["calls_per_step"] == (2 if cfg else 1)


@pytest.mark.parametrize("name", NAMES)
def test_builds_on_meta_and_returns_the_noise_latents_shape(name):
    model, shape, _ = called(name)
    assert list(shape) == ARCHITECTURES[name]["output"]
    # Nothing was materialised: a stray CPU tensor would be real memory (and break on CUDA).
    assert all(t.is_meta for t in [*model.parameters(), *model.buffers()])


@pytest.mark.parametrize("name", NAMES)
def test_parameter_count_is_the_published_size(name):
    assert param_count(called(name).model) == pytest.approx(PUBLISHED_PARAMS[name], rel=0.10)


def test_attention_is_counted_on_meta():
    # count_flops relies on scaled_dot_product_attention being counted on meta (as its math form).
    b, heads, s, kv_len, d = 2, 4, 96, 40, 16
    q = torch.empty(b, heads, s, d, device=META)
    kv = torch.empty(b, heads, kv_len, d, device=META)
    with FlopCounterMode(display=False) as counter:
        F.scaled_dot_product_attention(q, kv, kv)
    assert counter.get_total_flops() == 4 * b * heads * s * kv_len * d


def test_count_flops_is_the_meta_calls_count():
    name = "ltx-video-2b transformer"  # the quickest to run
    assert count_flops(ARCHITECTURES[name]) == called(name).flops


def flops_estimate(spec: dict[str, Any], model: torch.nn.Module) -> float:
    """2·params·tokens + attention, for one call.

    Every weight does one multiply-add per token it is applied to, so the dense layers cost
    2·P·B·S (B batch, S video tokens; this over-counts the weights that see only the text or the
    timestep). Attention adds two matrix products per layer, scores Q·Kᵀ and the weighted sum
    A·V, of 2·S·L·D each: 4·B·S·L·D with L = S for self-attention and L = the text (+ image)
    tokens for cross-attention, D the model width.
    """
    cfg, inputs = spec["config"], spec["inputs"]
    if spec["class"] == "UNetSpatioTemporalConditionModel":
        return unet_flops_estimate(spec, model)
    if spec["class"] == "WanTransformer3DModel":
        b, _, t, h, w = inputs["hidden_states"]
        pt, ph, pw = cfg["patch_size"]
        tokens = (t // pt) * (h // ph) * (w // pw)
        context = inputs["encoder_hidden_states"][1] + inputs.get("encoder_hidden_states_image", [0, 0])[1]
    else:
        b, tokens, _ = inputs["hidden_states"]
        context = inputs["encoder_hidden_states"][1]
    dim = cfg["num_attention_heads"] * cfg["attention_head_dim"]
    attention = cfg["num_layers"] * 4 * b * tokens * (tokens + context) * dim
    return 2 * param_count(model) * b * tokens + attention


def unet_flops_estimate(spec: dict[str, Any], model: torch.nn.Module) -> float:
    """The same rule for a UNet, level by level.

    Level l works on (H/2^l)·(W/2^l) pixels per frame; down block l, up block (levels-1-l) and, at
    the bottom, the mid block run there, and a 3×3 convolution's weights are each a multiply-add
    per output pixel just like a linear layer's per token: 2·P_l·B·F·pixels_l. Each transformer
    attends spatially (F frames of pixels_l tokens) and temporally (pixels_l sequences of F), at
    4·B·C_l·(F·pixels_l² + pixels_l·F²); cross-attention to the single image token is negligible.
    """
    cfg = spec["config"]
    b, frames, _, h, w = spec["inputs"]["sample"]
    levels = len(cfg["block_out_channels"])
    level_params = [0] * levels
    for name, p in model.named_parameters():
        part, index = (name.split(".") + [""])[:2]
        if part == "down_blocks":
            level = int(index)
        elif part == "up_blocks":
            level = levels - 1 - int(index)
        elif part == "mid_block":
            level = levels - 1
        else:  # conv_in, conv_out and the embeddings (which run once, and are small)
            level = 0
        level_params[level] += p.numel()
    pixels = [(h >> level) * (w >> level) for level in range(levels)]
    dense = sum(2 * p * b * frames * n for p, n in zip(level_params, pixels))

    transformers = [0] * levels
    for level, kind in enumerate(cfg["down_block_types"]):
        if kind.startswith("CrossAttn"):
            transformers[level] += cfg["layers_per_block"]
    for index, kind in enumerate(cfg["up_block_types"]):
        if kind.startswith("CrossAttn"):
            transformers[levels - 1 - index] += cfg["layers_per_block"] + 1
    transformers[levels - 1] += 1  # the mid block's
    attention = sum(
        count * 4 * b * c * (frames * n * n + n * frames * frames)
        for count, c, n in zip(transformers, cfg["block_out_channels"], pixels)
    )
    return dense + attention


@pytest.mark.parametrize("name", NAMES)
def test_counted_flops_agree_with_the_estimate(name):
    spec = ARCHITECTURES[name]
    model, _, counted = called(name)
    estimate = flops_estimate(spec, model)
    assert counted > 0
    why = f"{counted / 1e12:.1f} TFLOP counted, {estimate / 1e12:.1f} estimated"
    assert 0.5 < counted / estimate < 2.0, why


def test_engine_overhead_is_measured_at_the_real_latent_size():
    """The GPU bench's per-step engine cost, run on the CPU at SVD-XT's real latent size."""
    import torch

    from i2v_desktop.bench.architectures import architectures
    from i2v_desktop.bench.real import engine_overhead

    callback_s, preview_s = engine_overhead(architectures()["svd-xt unet"], torch.device("cpu"))
    assert 0 < callback_s < 1 and 0 < preview_s < 5


# Each VAE's parameter count from its published weights' size: Wan2.2 VAE 2.82 GB in float32,
# Wan2.1 VAE 0.51 GB in float32, the LTX 0.9.5+ VAE 2.49 GB in bf16, SVD's 196 MB in fp16.
PUBLISHED_VAE_PARAMS = {
    "wan2.2-ti2v-5b transformer": 2.82e9 / 4,
    "wan2.1-i2v-14b transformer": 0.508e9 / 4,
    "wan2.2-i2v-a14b transformer": 0.508e9 / 4,
    "ltx-video-2b transformer": 2.49e9 / 2,
    "svd-xt unet": 0.196e9 / 2,
}


@pytest.mark.parametrize("name", NAMES)
def test_vae_has_the_published_size_and_the_renders_latent_shape(name):
    from i2v_desktop.bench.architectures import build_vae

    spec = ARCHITECTURES[name]
    entry = load_registry().get(spec["model"])
    vae = build_vae(spec, META)
    assert param_count(vae) == pytest.approx(PUBLISHED_VAE_PARAMS[name], rel=0.05)
    assert all(t.is_meta for t in [*vae.parameters(), *vae.buffers()])

    # The latents it decodes are the denoiser's output at the same render size.
    z = spec["vae"]["decode"]["z"]
    out = spec["output"]
    if spec["class"] == "WanTransformer3DModel":
        assert z == out
    elif spec["class"] == "LTXVideoTransformer3DModel":  # packed tokens, unpacked for the VAE
        channels, t, h, w = z[1:]
        assert [1, t * h * w, channels] == out
    else:  # SVD: (frames, C, h, w), one half of the guidance batch
        assert z == out[1:]
    width, height = spec["size"]
    assert spec["vae"]["encode"][-2:] == [height, width]
    assert spec["vae"]["dtype"] == ("float32" if entry.family == "wan" else "bfloat16")
