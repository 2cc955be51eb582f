"""The seed job: 12 photos -> 12 x 3 s 720p clips with the fast tier, end to end per clip."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.framing import snap_frames
from ..engine.registry import ModelEntry, load_registry
from ..engine.speed import SPEED_OFF
from .architectures import (architectures, build_denoiser, build_vae, count_flops, denoiser_inputs,
                            run_denoiser, small_slice, vae_decode, vae_encode, vae_tensors)
from .guard import guarded
from ..core.errors import first_line
from .measure import COMPILE_ALLOWANCE_S, GB, VAE_ALLOWANCE_S, Budget, PeakMemory
from .switches import apply_speed, chosen_speed

if TYPE_CHECKING:
    import torch


SEED_PHOTOS = 12
SEED_SECONDS = 3.0


def seed_spec(spec: Mapping[str, Any], entry: ModelEntry, width: int, height: int, frames: int) -> dict[str, Any]:
    """A Wan spec resized to another clip: latent frames and pixels, token counts, one call a step.

    The fast tier runs without classifier-free guidance (CFG 1), so a step is a single call.
    """
    if spec["class"] != "WanTransformer3DModel":
        raise NotImplementedError(f"the seed job is sized for Wan models only, not {spec['class']}")
    t = (frames - 1) // entry.temporal_ratio + 1
    h, w = height // entry.spatial_ratio, width // entry.spatial_ratio
    _, ph, pw = spec["config"]["patch_size"]
    inputs = {k: (dict(v) if isinstance(v, dict) else list(v)) for k, v in spec["inputs"].items()}
    inputs["hidden_states"][2:] = [t, h, w]
    timestep = inputs["timestep"]
    if len(timestep["shape"]) == 2:  # expand_timesteps: one timestep per token
        timestep["shape"] = [1, t * (h // ph) * (w // pw)]
    vae = dict(spec["vae"])
    encode = list(vae["encode"])
    encode[2:] = [encode[2] if encode[2] == 1 else frames, height, width]
    vae["encode"] = encode
    vae["decode"] = {"z": [1, spec["config"]["out_channels"], t, h, w]}
    out = dict(spec, inputs=inputs, calls_per_step=1, size=[width, height], frames=frames, vae=vae)
    out["output"] = [1, spec["config"]["out_channels"], t, h, w]
    return out


def seed_job(device: torch.device, peak_tflops: float, clips: int, budget: Budget, limit_gb: float) -> dict[str, Any]:
    """The seed job with the fast tier, end to end per clip: encode the photo, the tier's steps
    (one call each), decode with the full VAE. `clips` of the 12 are run; all 12 cost the same.
    """
    import torch

    registry = load_registry()
    specs = architectures()
    fast = [e for e in registry.entries.values() if "fast" in e.tiers]
    candidates = [(e, s) for e in fast for s in specs.values() if s["model"] == e.id]
    if not candidates:
        why = "no model has a fast tier in this build's registry" if not fast else \
            "no fast-tier model has a published architecture in architectures.json"
        return dict(status=f"skipped: {why}")
    # 720p where a fast-tier model offers it.
    entry, spec = max(candidates, key=lambda c: c[0].area("fast"))
    tier = entry.tier("fast")
    width, height = entry.resolutions[tier.resolution]
    frames = snap_frames(entry.frame_rule, SEED_SECONDS * entry.fps + 1, entry.max_frames)
    row: dict[str, Any] = dict(model=entry.id, size=[width, height], frames=frames, steps=tier.steps,
                               photos=SEED_PHOTOS, clips_run=clips)
    try:
        sized = seed_spec(spec, entry, width, height, frames)
        plan = chosen_speed(entry, device, "fast")
    except NotImplementedError as exc:
        row["status"] = f"skipped: {first_line(exc)}"
        return row
    flops = count_flops(sized)
    # The denoiser's work alone for all 12 clips, and the time it takes at the measured matmul peak
    # (100% MFU): no speed-up short of skipping work can beat that bound.
    row["job_denoiser_pflop"] = SEED_PHOTOS * tier.steps * flops / 1e15
    row["bound_s"] = SEED_PHOTOS * tier.steps * flops / (peak_tflops * 1e12)
    estimate = clips * (tier.steps * flops / (peak_tflops * 1e12 * 0.3) + VAE_ALLOWANCE_S) + COMPILE_ALLOWANCE_S
    if not budget.allows(estimate):
        row["status"] = budget.skip(estimate)
        return row
    applied = SPEED_OFF.with_(attention=plan.attention, compile=plan.compile, fp8=plan.fp8)
    row["speed"] = plan.as_metadata()
    row["applied"] = applied.as_metadata()

    def work() -> dict[str, Any]:
        sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
        model = build_denoiser(sized, device)
        apply_speed(model, applied, device)
        vae = build_vae(sized, device)
        inputs = denoiser_inputs(sized, device)
        pixels, latents = vae_tensors(sized, device)
        # Warm-up (and compilation): once per session, not per clip.
        run_denoiser(model, inputs)
        vae_encode(vae, small_slice(pixels, 32, 1))
        vae_decode(vae, sized, {"z": small_slice(latents["z"])})
        sync()
        per_clip = []
        with PeakMemory(device.type) as mem:
            for _ in range(clips):
                start = time.perf_counter()
                vae_encode(vae, pixels)
                for _ in range(tier.steps):
                    run_denoiser(model, inputs)
                vae_decode(vae, sized, latents)
                sync()
                per_clip.append(time.perf_counter() - start)
        clip_s = float(np.median(per_clip))
        return dict(clip_s=clip_s, job_s=clip_s * SEED_PHOTOS, target_s=180.0,
                    meets_target=clip_s * SEED_PHOTOS <= 180.0, peak_gb=mem.peak / GB)

    return guarded(row, work, device, limit_gb)
