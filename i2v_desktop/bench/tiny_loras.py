"""Tiny LoRA files in the key layouts published for the video models, at a tiny pipeline's shapes.

- diffusers (PEFT), as `save_lora_weights` writes it: `transformer.blocks.0.attn1.to_q.lora_A.weight`;
- Kohya / musubi-tuner (Wan), as diffusers' `_convert_musubi_wan_lora_to_diffusers` reads it:
  `lora_unet_blocks_0_self_attn_q.lora_down.weight`, `.lora_up.weight` and an `.alpha`, for every
  block's self- and cross-attention q, k, v, o and the feed-forward's two layers (ffn_0, ffn_2),
  plus the image branch's k_img and v_img on Wan2.1 I2V;
- LTX-2 as Lightricks publishes its camera-control LoRAs (the original repo's names):
  `diffusion_model.transformer_blocks.0.attn1.to_q.lora_A.weight`, for every projection of every
  block, the audio stream's (`audio_attn1`, `audio_ff`, the audio-video cross attention) included.

Random weights, large enough to change a tiny model's frames visibly; a pure function of the seed.
torch and safetensors are imported by the functions that use them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

RANK = 4
SCALE = 0.2

# Wan's original module names (musubi's, with "_" for ".") and the diffusers modules they are.
WAN_MODULES = {
    "self_attn_q": "attn1.to_q", "self_attn_k": "attn1.to_k", "self_attn_v": "attn1.to_v",
    "self_attn_o": "attn1.to_out.0", "cross_attn_q": "attn2.to_q", "cross_attn_k": "attn2.to_k",
    "cross_attn_v": "attn2.to_v", "cross_attn_o": "attn2.to_out.0", "ffn_0": "ffn.net.0.proj", "ffn_2": "ffn.net.2",
}
WAN_I2V_MODULES = {"cross_attn_k_img": "attn2.add_k_proj", "cross_attn_v_img": "attn2.add_v_proj"}


def _random(generator: torch.Generator, *shape: int) -> torch.Tensor:
    import torch

    return SCALE * torch.randn(*shape, generator=generator)


def _linears(module: torch.nn.Module) -> dict[str, tuple[int, int]]:
    """Every linear layer's (out, in) shape by its name in `module`."""
    import torch

    return {name: tuple(m.weight.shape) for name, m in module.named_modules() if isinstance(m, torch.nn.Linear)}


def peft_lora(transformer: torch.nn.Module, seed: int, rank: int = RANK) -> dict[str, torch.Tensor]:
    """A diffusers (PEFT) LoRA on every linear layer of every block of `transformer` (Wan's
    `blocks`, the LTX family's `transformer_blocks`)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    blocks = "blocks" if hasattr(transformer, "blocks") else "transformer_blocks"
    out = {}
    for i, block in enumerate(getattr(transformer, blocks)):
        for name, (rows, cols) in _linears(block).items():
            out[f"transformer.{blocks}.{i}.{name}.lora_A.weight"] = _random(generator, rank, cols)
            out[f"transformer.{blocks}.{i}.{name}.lora_B.weight"] = _random(generator, rows, rank)
    return out


def musubi_wan_lora(transformer: torch.nn.Module, seed: int, rank: int = RANK,
                    alpha: float = 2.0) -> dict[str, torch.Tensor]:
    """A Kohya / musubi-tuner LoRA for a Wan transformer; `alpha` scales it by alpha / rank, as the
    trainers' forward pass does."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    modules = {**WAN_MODULES, **(WAN_I2V_MODULES if transformer.config.image_dim is not None else {})}
    out = {}
    for i, block in enumerate(transformer.blocks):
        shapes = _linears(block)
        for original, ours in modules.items():
            rows, cols = shapes[ours]
            key = f"lora_unet_blocks_{i}_{original}"
            out[f"{key}.lora_down.weight"] = _random(generator, rank, cols)
            out[f"{key}.lora_up.weight"] = _random(generator, rows, rank)
            out[f"{key}.alpha"] = torch.tensor(float(alpha))
    return out


def ltx2_camera_lora(transformer: torch.nn.Module, seed: int, rank: int = RANK) -> dict[str, torch.Tensor]:
    """An LTX-2 LoRA in the layout of Lightricks' camera-control LoRAs: every projection of every
    transformer block, video and audio streams alike, under the original `diffusion_model.` names
    (inside a block they are the same as diffusers')."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    out = {}
    for i, block in enumerate(transformer.transformer_blocks):
        for name, (rows, cols) in _linears(block).items():
            key = f"diffusion_model.transformer_blocks.{i}.{name}"
            out[f"{key}.lora_A.weight"] = _random(generator, rank, cols)
            out[f"{key}.lora_B.weight"] = _random(generator, rows, rank)
    return out


def save_lora(state: dict[str, torch.Tensor], path: Path) -> Path:
    """Write a LoRA file (bf16, as published ones are; scalars as they are) via a temporary file."""
    import torch
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file({k: (v.to(torch.bfloat16) if v.ndim else v).contiguous() for k, v in state.items()}, str(tmp))
    os.replace(tmp, path)
    return path
