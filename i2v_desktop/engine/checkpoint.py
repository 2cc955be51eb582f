"""A single-file checkpoint the user already has: which model family's denoiser it holds.

Only the safetensors header is read (the tensor names and shapes, a few kB at the start of the
file): no torch, no weights loaded. The names that identify a family are diffusers' own
(diffusers/loaders/single_file_utils.py, CHECKPOINT_KEY_NAMES and infer_diffusers_model_type);
diffusers converts the file when the model loads (`from_single_file`), so only the families whose
denoiser diffusers can load from one file, and that this app has a built-in model of, are taken.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import ModelError

PICKLED = (".ckpt", ".pt", ".pth", ".bin", ".pkl")
MAX_HEADER = 100_000_000  # bytes; a real header is a few MB at most
PREFIX = "model.diffusion_model."  # how ComfyUI-style and original checkpoints nest the denoiser


@dataclass(frozen=True)
class Checkpoint:
    """What a checkpoint holds, as a registry entry needs it."""

    path: Path
    family: str  # a registry family ("wan", "ltx")
    base: str  # the built-in model whose repo provides everything else (configs, text encoder, ...)
    components: tuple[str, ...]  # the pipeline components whose weights come from this file
    what: str  # one line: "Wan2.1 image-to-video 14B transformer"


def read_header(path: Path) -> dict[str, dict]:
    """The tensors a safetensors file declares (name -> dtype, shape, offsets); one line when it is none."""
    if path.suffix.lower() in PICKLED:
        raise ModelError(f"{path}: a pickled checkpoint, which is not loaded for safety; "
                         f"use a .safetensors file of the same model")
    if path.suffix.lower() != ".safetensors":
        raise ModelError(f"{path}: not a .safetensors checkpoint or a diffusers model folder")
    try:
        with path.open("rb") as f:
            raw = f.read(8)
            size = path.stat().st_size
            if len(raw) < 8:
                raise ModelError(f"{path}: not a safetensors file (too short)")
            (length,) = struct.unpack("<Q", raw)
            if not 2 <= length <= min(MAX_HEADER, size - 8):
                raise ModelError(f"{path}: not a safetensors file (its header length is wrong)")
            header = json.loads(f.read(length).decode("utf-8"))
    except OSError as exc:
        raise ModelError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, ValueError):
        raise ModelError(f"{path}: not a safetensors file (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise ModelError(f"{path}: not a safetensors file (its header is not a table of tensors)")
    tensors = {name: spec for name, spec in header.items() if name != "__metadata__" and isinstance(spec, dict)}
    if not tensors:
        raise ModelError(f"{path}: the file holds no tensors")
    return tensors


def identify(path: Path) -> Checkpoint:
    """Which family's denoiser the checkpoint holds; one line naming the file when none we drive."""
    tensors = read_header(path)

    def shape(name: str) -> list[int]:
        return list(tensors.get(PREFIX + name, tensors.get(name, {})).get("shape", ()))

    def has(name: str) -> bool:
        return name in tensors or PREFIX + name in tensors

    if has("head.modulation"):  # Wan
        embed = shape("patch_embedding.weight")
        if has("vace_blocks.0.after_proj.bias") or has("motion_encoder.dec.direction.weight"):
            raise ModelError(f"{path}: a Wan VACE or Animate checkpoint, not an image-to-video model")
        if len(embed) < 2:
            raise ModelError(f"{path}: a Wan checkpoint without its patch embedding")
        dim, channels = embed[0], embed[1]
        if dim == 3072 and channels == 48:
            return Checkpoint(path, "wan", "wan2.2-ti2v-5b", ("transformer",), "Wan2.2 TI2V 5B transformer")
        if dim == 5120 and channels == 36:
            return Checkpoint(path, "wan", "wan2.1-i2v-14b-480p", ("transformer",),
                              "Wan image-to-video 14B transformer")
        raise ModelError(f"{path}: a Wan text-to-video checkpoint ({dim} wide, {channels} input channels), "
                         f"not an image-to-video model")
    if has("patchify_proj.weight") or "vae.decoder.last_scale_shift_table" in tensors:  # LTX-Video
        if any(name.endswith("transformer_blocks.47.scale_shift_table") for name in tensors):
            raise ModelError(f"{path}: an LTX-Video 13B checkpoint; only the 2B model is driven here")
        if not has("patchify_proj.weight"):
            raise ModelError(f"{path}: an LTX-Video VAE without its transformer")
        with_vae = "vae.decoder.last_scale_shift_table" in tensors
        components = ("transformer", "vae") if with_vae else ("transformer",)
        return Checkpoint(path, "ltx", "ltx-video-2b-distilled", components,
                          "LTX-Video 2B transformer" + (" and VAE" if with_vae else ""))
    if has("input_blocks.0.0.weight") and any(".time_stack." in name for name in tensors):
        raise ModelError(f"{path}: a Stable Video Diffusion checkpoint, which diffusers loads only as a "
                         f"diffusers folder (use the folder instead)")
    if any(name.startswith(("audio_vae.", PREFIX + "av_ca_")) for name in tensors):
        raise ModelError(f"{path}: an LTX-2 checkpoint; use its diffusers folder instead")
    raise ModelError(f"{path}: its tensors are no image-to-video model this app drives (Wan, LTX-Video)")
