"""A tiny video autoencoder (the TAEHV design) for quick previews and draft decodes.

Ollin Boer Bohan's TAEHV family (MIT) pairs a small 2D-convolutional encoder and decoder with the
latent space of a large video VAE: Wan 2.1 (`taew2_1`, also right for Wan 2.2 A14B, which kept the
2.1 VAE), Wan 2.2 TI2V-5B (`taew2_2`), HunyuanVideo (`taehv`) and LTX-2 (`taeltx_2`). It decodes a
clip in a small fraction of the full VAE's time and memory, at some cost in detail.

This is our own implementation of the published architecture. What must match the published
checkpoints exactly is the parameter layout (module indices inside `encoder` and `decoder`), so the
real weights load with strict=True:

- every convolution is 3×3 with padding 1, except the 1×1 time pooling/growing ones;
- a "memory" block sees its own input and its input one time step earlier (zeros at the start);
- the decoder grows time by 2 at the stages its `time_up` marks, so T latent frames become
  T·k frames, of which the first k − 1 are warm-up and dropped: T·k − (k − 1) = k(T − 1) + 1, the
  full VAE's own count (4(T − 1) + 1 for Wan, 8(T − 1) + 1 for LTX);
- pixels are packed `patch`×`patch` into channels around the convolution stack (Wan 2.2: 2, LTX-2: 4).

Conventions, which differ from diffusers' VAEs: the latent it decodes is the one the denoiser works
in (for diffusers' Wan pipelines, the latents already normalised by the VAE's latents_mean/std, so
no conversion is needed), and frames come out in [0, 1], not [−1, 1].
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..core.errors import ModelError

WIDTHS = (256, 128, 64, 64)  # decoder channels per stage, as published
ENCODER_WIDTH = 64
# Latent frames decoded at once. All at once is fastest, but its activations grow with the clip
# (by our count several GB in float16 for 121 frames at 1280×704); 8 at a time bounds them.
CHUNK = 8


@dataclass(frozen=True)
class Arch:
    """One published configuration: which latent space it decodes and how."""

    latent_channels: int
    patch: int  # pixels packed per side into channels around the convolutions
    time_up: tuple[bool, bool, bool]  # decoder stages that double the frame count
    time_down: tuple[bool, bool, bool]  # encoder stages that halve it

    @property
    def temporal(self) -> int:
        return 2 ** sum(self.time_up)

    @property
    def spatial(self) -> int:
        return 8 * self.patch  # three 2× stages, then the pixel packing


ARCHS: dict[str, Arch] = {
    "taehv": Arch(16, 1, (False, True, True), (True, True, False)),  # HunyuanVideo
    "taew2_1": Arch(16, 1, (False, True, True), (True, True, False)),  # Wan 2.1, Wan 2.2 A14B
    "taew2_2": Arch(48, 2, (False, True, True), (True, True, False)),  # Wan 2.2 TI2V-5B
    "taeltx_2": Arch(128, 4, (True, True, True), (True, True, True)),  # LTX-2 (not LTX-Video 0.9)
}


def _conv(n_in: int, n_out: int, **kwargs: Any) -> nn.Conv2d:
    return nn.Conv2d(n_in, n_out, 3, padding=1, **kwargs)


class _SoftClamp(nn.Module):
    """Squashes latents smoothly into (−3, 3): the decoder was trained on that range."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x / 3) * 3


class _Memory(nn.Module):
    """A residual block that also sees the previous time step's input."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            _conv(2 * channels, channels), nn.ReLU(inplace=True),
            _conv(channels, channels), nn.ReLU(inplace=True),
            _conv(channels, channels),
        )

    def forward(self, x: torch.Tensor, past: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv(torch.cat([x, past], 1)) + x)


class _TimePool(nn.Module):
    """Merges `stride` consecutive frames into one (a 1×1 convolution over their stacked channels)."""

    def __init__(self, channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.conv = nn.Conv2d(channels * stride, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames, channels, h, w = x.shape
        return self.conv(x.reshape(frames // self.stride, self.stride * channels, h, w))


class _TimeGrow(nn.Module):
    """Splits each frame into `stride` consecutive frames (the inverse of _TimePool)."""

    def __init__(self, channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.conv = nn.Conv2d(channels, channels * stride, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames, channels, h, w = x.shape
        return self.conv(x).reshape(frames * self.stride, channels, h, w)


class _Upscale(nn.Module):
    """Nearest-neighbour 2× in space (no weights)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode="nearest")


class TinyVideoAutoencoder(nn.Module):
    """Encoder and decoder with the published parameter names (`encoder.N.…`, `decoder.N.…`)."""

    def __init__(self, arch: Arch) -> None:
        super().__init__()
        self.arch = arch
        c, p, e = arch.latent_channels, arch.patch, ENCODER_WIDTH
        down = [_TimePool(e, 2 if d else 1) for d in arch.time_down]
        self.encoder = nn.Sequential(
            _conv(3 * p * p, e), nn.ReLU(inplace=True),
            down[0], _conv(e, e, stride=2, bias=False), _Memory(e), _Memory(e), _Memory(e),
            down[1], _conv(e, e, stride=2, bias=False), _Memory(e), _Memory(e), _Memory(e),
            down[2], _conv(e, e, stride=2, bias=False), _Memory(e), _Memory(e), _Memory(e),
            _conv(e, c),
        )
        w = WIDTHS
        up = [_TimeGrow(w[i], 2 if u else 1) for i, u in enumerate(arch.time_up)]
        self.decoder = nn.Sequential(
            _SoftClamp(), _conv(c, w[0]), nn.ReLU(inplace=True),
            _Memory(w[0]), _Memory(w[0]), _Memory(w[0]), _Upscale(), up[0], _conv(w[0], w[1], bias=False),
            _Memory(w[1]), _Memory(w[1]), _Memory(w[1]), _Upscale(), up[1], _conv(w[1], w[2], bias=False),
            _Memory(w[2]), _Memory(w[2]), _Memory(w[2]), _Upscale(), up[2], _conv(w[2], w[3], bias=False),
            nn.ReLU(inplace=True), _conv(w[3], 3 * p * p),
        )
        # The last spatial upscale, skipped for a half-size (cheaper) preview.
        self._last_upscale = max(i for i, b in enumerate(self.decoder) if isinstance(b, _Upscale))

    def output_frames(self, latent_frames: int) -> int:
        return self.arch.temporal * (latent_frames - 1) + 1

    def decode(self, latents: torch.Tensor, *, full_size: bool = True,
               chunk: int | None = CHUNK) -> torch.Tensor:
        """(N, C, T, h, w) denoiser-space latents → (N, 3, k(T−1)+1, H, W) frames in [0, 1].

        `full_size=False` skips the last 2× upscale (half the width and height, for previews).
        `chunk` decodes that many latent frames at a time (None: all), carrying each memory block's
        last input across chunks, so memory stays bounded at any clip length with the same result.
        """
        n, c, t, h, w = latents.shape
        if c != self.arch.latent_channels:
            raise ValueError(f"this tiny decoder takes {self.arch.latent_channels} latent channels, got {c}")
        x = latents.permute(0, 2, 1, 3, 4).to(self._dtype())
        skip = () if full_size else (self._last_upscale,)
        carry: dict[int, torch.Tensor] = {}
        step = chunk or t
        parts = [self._run(self.decoder, x[:, s:s + step], carry, skip) for s in range(0, t, step)]
        y = torch.cat(parts, 1)
        if self.arch.patch > 1:
            frames = y.shape[1]
            y = F.pixel_shuffle(y.flatten(0, 1), self.arch.patch).unflatten(0, (n, frames))
        y = y[:, self.arch.temporal - 1:].clamp(0, 1)
        return y.permute(0, 2, 1, 3, 4)

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """(N, 3, F, H, W) frames in [0, 1] → (N, C, ⌈F/k⌉, h, w) latents (the last frame repeated
        to fill the final group)."""
        x = frames.permute(0, 2, 1, 3, 4).to(self._dtype())
        if self.arch.patch > 1:
            n, f = x.shape[:2]
            x = F.pixel_unshuffle(x.flatten(0, 1), self.arch.patch).unflatten(0, (n, f))
        group = 2 ** sum(self.arch.time_down)
        missing = -x.shape[1] % group
        if missing:
            x = torch.cat([x, x[:, -1:].expand(-1, missing, -1, -1, -1)], 1)
        return self._run(self.encoder, x, {}, ()).permute(0, 2, 1, 3, 4)

    def _dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    @staticmethod
    def _run(blocks: nn.Sequential, x: torch.Tensor, carry: dict[int, torch.Tensor],
             skip: tuple[int, ...]) -> torch.Tensor:
        """Apply the blocks to (N, T, C, H, W), all time steps at once."""
        n = x.shape[0]
        x = x.flatten(0, 1)
        for i, block in enumerate(blocks):
            if i in skip:
                continue
            if isinstance(block, _Memory):
                seq = x.unflatten(0, (n, -1))
                before = carry.get(i)
                before = torch.zeros_like(seq[:, :1]) if before is None else before
                carry[i] = seq[:, -1:]
                x = block(x, torch.cat([before, seq[:, :-1]], 1).flatten(0, 1))
            else:
                x = block(x)
        return x.unflatten(0, (n, -1))


def load_tiny_autoencoder(path: Path, arch: str, device: Any = "cpu",
                          dtype: Any = None) -> TinyVideoAutoencoder:
    """Read a published safetensors checkpoint (strictly: every key, every shape) onto `device`."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(str(path))
    except (OSError, SafetensorError) as exc:
        raise ModelError(f"{path}: cannot read the tiny decoder ({exc})") from None
    model = TinyVideoAutoencoder(ARCHS[arch])
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[:2]
        raise ModelError(f"{path}: not a {arch} tiny autoencoder ({' '.join(first)})") from None
    return model.to(device=device, dtype=dtype or tiny_dtype(device)).eval().requires_grad_(False)


def tiny_dtype(device: Any) -> torch.dtype:
    """Half precision where it is fast (the published weights are float16), float32 on a CPU."""
    return torch.float32 if torch.device(device).type == "cpu" else torch.float16


# -- timing, for the benchmark ------------------------------------------------------------------


@dataclass(frozen=True)
class DecodeTiming:
    """One latent clip decoded by the full VAE and by the tiny decoder."""

    latent_shape: tuple[int, ...]
    frames: int
    size: tuple[int, int]  # (width, height) of the decoded frames (both decoders agree)
    full_s: float
    tiny_s: float
    full_peak_gb: float | None  # peak allocated GPU memory during the decode; None off CUDA
    tiny_peak_gb: float | None

    @property
    def speedup(self) -> float:
        return self.full_s / max(self.tiny_s, 1e-9)


def time_decoders(vae: Any, tiny: TinyVideoAutoencoder, latent_shape: tuple[int, int, int, int, int], *,
                  repeats: int = 3, seed: int = 0, chunk: int | None = CHUNK) -> DecodeTiming:
    """Median seconds and peak memory of decoding one random latent clip with each decoder.

    `vae` is a diffusers video VAE (AutoencoderKLWan, AutoencoderKLLTXVideo) on its device and in
    its dtype; `latent_shape` is (N, C, T, h, w), e.g. (1, 48, 31, 44, 80) for Wan 2.2 at 1280×704
    and 121 frames. One untimed warm-up run each first (kernel selection, allocator growth).
    """
    device = next(vae.parameters()).device
    generator = torch.Generator(device="cpu").manual_seed(seed)
    latents = torch.randn(latent_shape, generator=generator)
    kwargs: dict[str, Any] = {}
    if getattr(vae.config, "timestep_conditioning", False):
        kwargs["temb"] = torch.full((latent_shape[0],), 0.05, device=device)  # LTX decode timestep

    def full() -> torch.Tensor:
        return vae.decode(latents.to(device, vae.dtype), return_dict=False, **kwargs)[0]

    def small() -> torch.Tensor:
        return tiny.decode(latents.to(device), chunk=chunk)

    full_s, full_peak, full_out = _timed(full, device, repeats)
    tiny_s, tiny_peak, tiny_out = _timed(small, device, repeats)
    if full_out.shape[2:] != tiny_out.shape[2:]:
        raise ValueError(
            f"decoders disagree on the clip: full VAE {tuple(full_out.shape)}, tiny {tuple(tiny_out.shape)}"
        )
    frames, height, width = (int(n) for n in tiny_out.shape[2:])
    return DecodeTiming(tuple(latent_shape), frames, (width, height), full_s, tiny_s, full_peak, tiny_peak)


def _timed(decode: Any, device: torch.device, repeats: int) -> tuple[float, float | None, torch.Tensor]:
    cuda = device.type == "cuda"
    with torch.no_grad():
        out = decode()  # warm-up
        del out
        if cuda:
            torch.cuda.synchronize(device)
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
        times = []
        for _ in range(max(1, repeats)):
            start = time.perf_counter()
            out = decode()
            if cuda:
                torch.cuda.synchronize(device)
            times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated(device) / 1e9 if cuda else None
    times.sort()
    return times[len(times) // 2], peak, out
