"""Each family's denoiser and VAE at their published architectures, with random weights.

resources/architectures.json holds each registry family's denoiser and VAE at their published
configs, with the inputs their pipeline passes them at a real render size. An input given as a
shape is random data in the model's dtype; {"shape", "fill"} is a constant (timesteps, masks,
coordinates): float32 for a denoiser, the VAE's dtype for a VAE. On the meta device they give
shapes and FLOP counts with no memory (the dry run, the tests).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from ..core.resources import resource_path
from ..engine.registry import load_registry

if TYPE_CHECKING:
    import torch


def architectures(family: str = "all") -> dict[str, Any]:
    """The denoiser specs of `family` ("wan", "ltx", "svd") or of every family ("all")."""
    path = resource_path("architectures.json")
    specs = json.loads(path.read_text(encoding="utf-8"))
    if family == "all":
        return specs
    registry = load_registry()
    return {name: spec for name, spec in specs.items() if registry.get(spec["model"]).family == family}


def build_module(class_name: str, config: Mapping[str, Any], device: torch.device, dtype: str = "bfloat16") -> Any:
    """A diffusers model at a published config with random weights (no memory on meta)."""
    import diffusers
    import torch

    cls = getattr(diffusers, class_name)
    # Built straight in the target dtype: built in float32 and then cast, a 16B-parameter model
    # would need 65 GB for a moment. The default dtype is process-wide, so it is put back at once.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, dtype))
    try:
        with torch.device(device):
            model = cls.from_config(dict(config))
    finally:
        torch.set_default_dtype(previous)
    # SVD's AlphaBlender makes its mix factor with the legacy torch.Tensor constructor, which
    # ignores the default device and leaves it on the CPU.
    return model.to(device).eval()


def build_denoiser(spec: Mapping[str, Any], device: torch.device) -> torch.nn.Module:
    return build_module(spec["class"], spec["config"], device)


def build_vae(spec: Mapping[str, Any], device: torch.device) -> Any:
    vae = spec["vae"]
    return build_module(vae["class"], vae["config"], device, vae["dtype"])


def _tensors(described: Mapping[str, Any], device: torch.device, dtype: Any, fill_dtype: Any) -> dict[str, Any]:
    import torch

    out = {}
    for name, value in described.items():
        if isinstance(value, dict):
            out[name] = torch.full(value["shape"], float(value["fill"]), dtype=fill_dtype, device=device)
        elif isinstance(value, list):
            out[name] = torch.randn(*value, dtype=dtype, device=device)
    return out


def denoiser_inputs(spec: Mapping[str, Any], device: torch.device) -> dict[str, torch.Tensor]:
    """The forward's keyword arguments for one call, as the spec describes them."""
    import torch

    return _tensors(spec["inputs"], device, torch.bfloat16, torch.float32)


def run_denoiser(model: torch.nn.Module, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
    import torch

    with torch.no_grad():
        return model(**inputs, return_dict=False)[0]


def vae_decode(vae: Any, spec: Mapping[str, Any], tensors: Mapping[str, Any]) -> Any:
    """Decode the way the family's pipeline does (SVD: decode_chunk_size frames at a time)."""
    import torch

    z = tensors["z"]
    chunk = spec["vae"]["decode"].get("chunk")
    with torch.no_grad():
        if chunk:
            parts = [z[i : i + chunk] for i in range(0, z.shape[0], chunk)]
            return torch.cat([vae.decode(p, num_frames=p.shape[0], return_dict=False)[0] for p in parts])
        extra = {k: v for k, v in tensors.items() if k != "z"}  # LTX: temb, the decode timestep
        return vae.decode(z, **extra, return_dict=False)[0]


def vae_encode(vae: Any, pixels: Any) -> Any:
    import torch

    with torch.no_grad():
        return vae.encode(pixels).latent_dist.mode()


def vae_tensors(spec: Mapping[str, Any], device: torch.device) -> tuple[Any, dict[str, Any]]:
    """(pixels the pipeline encodes for the photo, latents it decodes at the end) in the VAE's dtype."""
    import torch

    dtype = getattr(torch, spec["vae"]["dtype"])
    pixels = torch.randn(*spec["vae"]["encode"], dtype=dtype, device=device)
    return pixels, _tensors(spec["vae"]["decode"], device, dtype, dtype)


def small_slice(t: Any, multiple: int = 2, frames: int = 2) -> Any:
    """A quarter-size slice of a VAE input, to warm the kernels up cheaply: `frames` frames, sides
    kept multiples of `multiple` (32 for pixels, which every VAE here divides; 2 for latents).
    """
    h, w = (max(multiple, side // 4 // multiple * multiple) for side in t.shape[-2:])
    if t.dim() == 5:  # (B, C, T, H, W)
        return t[:, :, :frames, :h, :w]
    return t[:frames, ..., :h, :w]  # SVD: (frames, C, h, w) latents, or one (1, 3, H, W) photo


class MetaCall(NamedTuple):
    model: torch.nn.Module
    output_shape: torch.Size
    flops: float


def meta_call(spec: Mapping[str, Any]) -> MetaCall:
    """One denoiser call on the meta device (shapes only: no memory), its FLOPs counted by torch.

    On meta, scaled_dot_product_attention falls back to its math form, so attention is counted as
    the two batched matrix products it is. On a real CPU it would run a fused kernel that
    FlopCounterMode has no formula for and counts as zero, hence meta rather than a tiny CPU run.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    meta = torch.device("meta")
    model = build_denoiser(spec, meta)
    inputs = denoiser_inputs(spec, meta)
    with FlopCounterMode(display=False) as counter:
        output = run_denoiser(model, inputs)
    return MetaCall(model, output.shape, float(counter.get_total_flops()))


def count_flops(spec: Mapping[str, Any]) -> float:
    """FLOPs of one denoiser call at the spec's sizes, counted rather than estimated."""
    return meta_call(spec).flops


def meta_vae(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The VAE's parameters, decode and encode shapes and FLOPs, on meta."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    meta = torch.device("meta")
    vae = build_vae(spec, meta)
    pixels, latents = vae_tensors(spec, meta)
    with FlopCounterMode(display=False) as decode_count:
        frames = vae_decode(vae, spec, latents)
    with FlopCounterMode(display=False) as encode_count:
        encoded = vae_encode(vae, pixels)
    return dict(params_m=sum(p.numel() for p in vae.parameters()) / 1e6, frames=list(frames.shape),
                decode_tflop=decode_count.get_total_flops() / 1e12, encoded=list(encoded.shape),
                encode_tflop=encode_count.get_total_flops() / 1e12)
