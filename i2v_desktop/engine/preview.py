"""Cheap animated previews while a clip denoises: predicted clean latent → RGB, no full VAE.

Two ways, chosen per model: when the model's tiny video autoencoder has been downloaded
(engine/taehv.py), it decodes the denoiser's current estimate of the finished clip into
real-looking frames, one per clip frame. Otherwise a linear projection does: a latent channel maps
to colour almost linearly, so a per-family (channels × 3) matrix, fitted once against the real VAE
(the published tables, as in ComfyUI's latent formats), turns the estimate into a small moving
picture (one frame per latent frame) for a fraction of a step's cost.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..core.events import Preview
from .registry import ModelEntry, load_latent_rgb

PREVIEW_WIDTH = 320


def estimate_x0(scheduler: Any, latents: Any, previous: Any | None) -> Any | None:
    """The denoiser's current guess of the clean latent, after a scheduler step.

    Multistep solvers that predict x0 (UniPC, used by Wan) keep it in `model_outputs`. For Euler
    steps (flow matching in LTX-Video, EDM in SVD) the step is a straight line toward x0, so two
    consecutive latents and their noise levels give it exactly: x0 = x' − σ'·(x' − x)/(σ' − σ).
    """
    outputs = getattr(scheduler, "model_outputs", None)
    if outputs and outputs[-1] is not None and getattr(scheduler.config, "predict_x0", False):
        return outputs[-1]
    index = getattr(scheduler, "step_index", None)
    sigmas = getattr(scheduler, "sigmas", None)
    if previous is None or index is None or sigmas is None or index < 1 or index >= len(sigmas):
        return None
    sigma, sigma_next = float(sigmas[index - 1]), float(sigmas[index])
    if sigma == sigma_next:
        return None
    direction = (latents - previous) / (sigma_next - sigma)
    return latents - sigma_next * direction


class LatentPreviewer:
    """Projects a (C, T, h, w) latent to a (T, h', w', 3) uint8 clip."""

    def __init__(self, table: str, fps: float) -> None:
        import torch

        factors, bias = load_latent_rgb(table)
        self._factors = torch.tensor(factors, dtype=torch.float32)  # (C, 3)
        self._bias = torch.tensor(bias, dtype=torch.float32)
        self.fps = fps

    def _factors_for(self, channels: int) -> Any:
        """The published table, or for a latent it does not describe (a custom VAE), a neutral
        projection that spreads the channels over R, G and B: colours are then only indicative,
        but motion and layout still show."""
        import torch

        if channels == self._factors.shape[0]:
            return self._factors
        fallback = torch.zeros(channels, 3)
        fallback[torch.arange(channels), torch.arange(channels) % 3] = 3.0 / channels
        return fallback

    def __call__(self, latent: Any) -> Preview:
        import torch
        import torch.nn.functional as F

        with torch.no_grad():
            x = latent.detach().float()
            factors = self._factors_for(x.shape[0]).to(x.device)
            rgb = torch.einsum("cthw,cr->trhw", x, factors) + self._bias.to(x.device)[None, :, None, None]
            scale = max(1, PREVIEW_WIDTH // rgb.shape[-1])
            if scale > 1:
                rgb = F.interpolate(rgb, scale_factor=scale, mode="bilinear", align_corners=False)
            rgb = ((rgb + 1.0) * 127.5).clamp(0, 255).round().to(torch.uint8)
            frames = rgb.permute(0, 2, 3, 1).cpu().numpy()
        return Preview(np.ascontiguousarray(frames), self.fps)


class TinyPreviewer:
    """Decodes a (C, T, h, w) latent with the tiny video autoencoder to a (F, h', w', 3) uint8
    clip with the clip's own frame count F = k(T − 1) + 1, so it plays at the clip's frame rate."""

    def __init__(self, model: Any, fps: float) -> None:
        self.model = model
        self.device = next(model.parameters()).device
        self.fps = fps

    def __call__(self, latent: Any) -> Preview:
        import torch
        import torch.nn.functional as F

        with torch.no_grad():
            # Half size (the last 2× upscale skipped): a preview is shown a few hundred pixels wide.
            video = self.model.decode(latent.detach()[None].to(self.device), full_size=False)[0]
            frames = video.permute(1, 0, 2, 3).float()  # (F, 3, H, W)
            height, width = frames.shape[-2:]
            if width > PREVIEW_WIDTH:
                size = (max(1, round(height * PREVIEW_WIDTH / width)), PREVIEW_WIDTH)
                frames = F.interpolate(frames, size=size, mode="area")
            rgb = (frames * 255.0).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        return Preview(np.ascontiguousarray(rgb), self.fps)


def make_previewer(entry: ModelEntry, fps: float, tiny: Any = None) -> TinyPreviewer | LatentPreviewer | None:
    """The best preview there is for `entry`: the tiny decoder `tiny` (loaded, or None when it is not
    downloaded), else the linear projection, else none. `fps` is the clip's frame rate."""
    if tiny is not None:
        return TinyPreviewer(tiny, fps)
    if entry.preview:
        return LatentPreviewer(entry.preview, fps / entry.temporal_ratio)
    return None


def photo_latent(pipe: Any, frame: np.ndarray) -> Any:
    """The (C, 1, h, w) normalised latent of the photo, as Wan2.2 TI2V's pipeline encodes it to
    hold the clip's first frame (its denoised latents never contain that frame)."""
    import torch
    from diffusers.utils.torch_utils import get_module_execution_device
    from PIL import Image

    height, width = frame.shape[:2]
    image = pipe.video_processor.preprocess(Image.fromarray(frame), height=height, width=width)
    video = image.unsqueeze(2).to(device=get_module_execution_device(pipe.vae), dtype=pipe.vae.dtype)
    config = pipe.vae.config
    with torch.no_grad():
        latent = pipe.vae.encode(video).latent_dist.mode()[0].float()
    mean = torch.tensor(config.latents_mean, device=latent.device).view(-1, 1, 1, 1)
    std = torch.tensor(config.latents_std, device=latent.device).view(-1, 1, 1, 1)
    return (latent - mean) / std


class PreviewThrottle:
    """Decides when a preview is worth its cost: previews may take at most `share` of the time."""

    def __init__(self, share: float) -> None:
        self.share = share
        self.spent = 0.0
        self.last_cost = 0.0
        self.count = 0

    def due(self, elapsed: float) -> bool:
        return self.spent + self.last_cost <= self.share * elapsed

    def timed(self, make: Any) -> Any:
        start = time.perf_counter()
        result = make()
        self.last_cost = time.perf_counter() - start
        self.spent += self.last_cost
        self.count += 1
        return result
