"""The user's LoRA files, read without loading them: what each was made for, and whether it fits a model.

A .safetensors file starts with a JSON header that names every tensor and its shape, so the
window can list a folder of LoRAs, each checked against the chosen model, without torch and in
milliseconds. Three key layouts are in use for the video models here, and each names the blocks
of the denoiser it was trained on:
- diffusers (PEFT): `transformer.blocks.0.attn1.to_q.lora_A.weight`;
- ComfyUI / the original repos: `diffusion_model.blocks.0.self_attn.q.lora_A.weight` (Wan) or
  `diffusion_model.transformer_blocks.0.attn1.to_q.lora_A.weight` (LTX-Video, LTX-2), with
  `lora_down`/`lora_up` in older files;
- Kohya / musubi-tuner: `lora_unet_blocks_0_self_attn_q.lora_down.weight` with an `.alpha`.
Wan names its blocks `blocks.N`, the LTX family `transformer_blocks.N`; an LTX-2 LoRA may also
touch the audio stream (`audio_` modules), which no LTX-Video model has. The block width (the
input size of the attention and feed-forward projections) and the highest block number then say
which size of model it was made for.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import ModelError
from .registry import ModelEntry

# The families diffusers loads LoRAs into (WanLoraLoaderMixin, LTXVideoLoraLoaderMixin, LTX2LoraLoaderMixin).
LORA_FAMILIES = ("wan", "ltx", "ltx2")
FAMILY_WORDS = {"wan": "Wan", "ltx": "LTX-Video", "ltx2": "LTX-2"}
MAX_HEADER = 100 * 2**20  # a LoRA's header is kilobytes; a bigger one is a broken or hostile file

_BLOCK = re.compile(r"(?:^|[._])(transformer_blocks|blocks)[._](\d+)[._]")
_PAIR_IN = (".lora_A.weight", ".lora_down.weight")
_PAIR_OUT = (".lora_B.weight", ".lora_up.weight")
_EXPERT = re.compile(r"(?i)(?:^|[^a-z])(high|low)(?:[_\- ]?noise|$)")


@dataclass(frozen=True)
class LoraFile:
    """One LoRA file as its header describes it."""

    path: Path
    size_bytes: int
    layout: str  # "diffusers", "ComfyUI/original", "Kohya/musubi"
    family: str  # "wan", "ltx" (LTX-Video or LTX-2: the same block names), "ltx2" (touches audio)
    width: int  # the blocks' hidden size it was trained at; 0 when no projection says it
    blocks: int  # highest block number + 1
    rank: int
    expert: str  # "high" / "low" when its name says it is one expert's half of a Wan2.2 A14B pair, else "both"

    @property
    def base(self) -> str:
        """What it was made for, in words: "Wan, 5120-wide, 40 blocks"."""
        size = f", {self.width}-wide" if self.width else ""
        return f"{FAMILY_WORDS.get(self.family, self.family)}{size}, {self.blocks} block{'' if self.blocks == 1 else 's'}"


@dataclass(frozen=True)
class Shape:
    """A model's denoiser as a LoRA must match it."""

    width: int
    blocks: int


def read_header(path: Path) -> dict[str, Any]:
    """The tensors a .safetensors file holds ({name: {"dtype", "shape", "data_offsets"}}), without
    reading them; ModelError naming the file when it is not one."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            size = path.stat().st_size
            if len(head) < 8:
                raise ModelError(f"{path.name}: not a .safetensors file (too short)")
            (length,) = struct.unpack("<Q", head)
            if length > min(MAX_HEADER, size - 8):
                raise ModelError(f"{path.name}: not a .safetensors file (its header is cut off or malformed)")
            header = json.loads(f.read(length))
    except OSError as exc:
        raise ModelError(f"{path.name}: cannot read it ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelError(f"{path.name}: not a .safetensors file (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise ModelError(f"{path.name}: not a .safetensors file (its header is not a table of tensors)")
    header.pop("__metadata__", None)
    return header


def read_lora(path: Path) -> LoraFile:
    """What the LoRA file at `path` was made for; ModelError, one line naming it, when it is not a
    video-model LoRA this app can read."""
    path = Path(path)
    if path.suffix.lower() != ".safetensors":
        raise ModelError(f"{path.name}: LoRAs are read from .safetensors files only (pickled files can run code)")
    header = read_header(path)
    keys = list(header)
    pairs = [k for k in keys if k.endswith(_PAIR_IN)]
    if not pairs:
        raise ModelError(f"{path.name}: holds no LoRA weights (no lora_A / lora_down tensors): "
                         f"is it a full model checkpoint?")
    if any(k.startswith(("lora_te", "lora_unet_down_blocks", "lora_unet_up_blocks", "unet.", "text_encoder"))
           for k in keys):
        raise ModelError(f"{path.name}: a Stable Diffusion image LoRA, not one for a video model")
    if any(re.search(r"(?:^|[._])(double_blocks|single_blocks|single_transformer_blocks)[._]", k) for k in keys):
        raise ModelError(f"{path.name}: a LoRA for a Flux- or HunyuanVideo-style model, not for Wan or LTX")
    if keys[0].startswith("lora_unet_") or any(k.startswith("lora_unet_") for k in pairs):
        layout = "Kohya/musubi"
    elif any(k.startswith("diffusion_model.") for k in pairs):
        layout = "ComfyUI/original"
    else:
        layout = "diffusers"
    blocks = {m.group(1): 0 for k in pairs if (m := _BLOCK.search(k))}
    if not blocks:
        raise ModelError(f"{path.name}: its LoRA weights name no transformer blocks this app knows (Wan or LTX)")
    if "blocks" in blocks and "transformer_blocks" in blocks:
        raise ModelError(f"{path.name}: mixes Wan and LTX block names: not one model's LoRA")
    wan = "blocks" in blocks
    family = "wan" if wan else ("ltx2" if any("audio" in k for k in pairs) else "ltx")
    numbers = [int(m.group(2)) for k in pairs if (m := _BLOCK.search(k))]
    widths: Counter[int] = Counter()
    ranks: Counter[int] = Counter()
    for key in pairs:
        shape = header[key].get("shape") if isinstance(header[key], dict) else None
        if not (isinstance(shape, list) and len(shape) == 2 and all(isinstance(n, int) for n in shape)):
            continue
        ranks[shape[0]] += 1
        # The attention projections take the blocks' hidden size in (LTX-2's audio stream has its own).
        if _BLOCK.search(key) and re.search(r"(attn|self_attn|cross_attn)\d?[._]", key) and "audio" not in key:
            widths[shape[1]] += 1
    return LoraFile(
        path=path,
        size_bytes=path.stat().st_size,
        layout=layout,
        family=family,
        width=widths.most_common(1)[0][0] if widths else 0,
        blocks=max(numbers) + 1,
        rank=ranks.most_common(1)[0][0] if ranks else 0,
        expert=expert_from_name(path.stem),
    )


def expert_from_name(stem: str) -> str:
    """"high" or "low" when a file's name marks it as one half of a Wan2.2 A14B pair
    ("orbit_high_noise", "orbit-HIGH", "orbit_low"), else "both"."""
    found = _EXPERT.findall(stem)
    return found[-1].lower() if found else "both"


def model_shape(entry: ModelEntry) -> Shape | None:
    """The width and depth of the model's denoiser, from its transformer's config.json in its folder or
    the download cache; None when its files are not here (the family is then all that is checked)."""
    config = _transformer_config(entry)
    if config is None:
        return None
    try:
        return Shape(int(config["num_attention_heads"]) * int(config["attention_head_dim"]), int(config["num_layers"]))
    except (KeyError, TypeError, ValueError):
        return None


def _transformer_config(entry: ModelEntry) -> dict[str, Any] | None:
    if entry.local_path:
        path: Path | None = Path(entry.local_path) / "transformer" / "config.json"
    elif entry.repo:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import LocalEntryNotFoundError

        try:
            path = Path(hf_hub_download(entry.repo, "transformer/config.json", revision=entry.revision,
                                        local_files_only=True))
        except (LocalEntryNotFoundError, OSError, ValueError):
            return None
    else:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def mismatch(lora: LoraFile, entry: ModelEntry, shape: Shape | None) -> str:
    """Why `lora` cannot go into `entry`, in one line naming both; "" when it fits."""
    name = lora.path.name
    if entry.engine != "diffusion":
        return f"{name}: {entry.name} takes no LoRAs (it is not a diffusion model)"
    if entry.family not in LORA_FAMILIES:
        return f"{name}: {entry.name} takes no LoRAs (diffusers has no LoRA loader for its family)"
    fits_family = lora.family == entry.family or (lora.family == "ltx" and entry.family == "ltx2")
    if not fits_family:
        word = FAMILY_WORDS[entry.family]
        article = "an" if word.startswith("LTX") else "a"  # "an L-T-X": said letter by letter
        return f"{name}: made for {lora.base}; {entry.name} is {article} {word} model"
    if shape is None:
        return ""
    if lora.width and lora.width != shape.width or lora.blocks > shape.blocks:
        return f"{name}: made for {lora.base}; {entry.name} is {shape.width}-wide with {shape.blocks} blocks"
    return ""


_HASHES: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """The file's sha256, read once per version of the file (its size and modification time) in this process."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(8 * 2**20), b""):
                digest.update(block)
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]
