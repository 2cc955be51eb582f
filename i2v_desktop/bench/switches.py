"""The speed switches (engine/speed.py), measured on one denoiser one at a time and all together."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..engine.registry import ModelEntry
from ..engine.speed import SPEED_OFF, SpeedPlan, apply_to_denoiser, plan_speed
from .architectures import build_denoiser, denoiser_inputs, run_denoiser
from .measure import GB, PeakMemory

if TYPE_CHECKING:
    import torch


def chosen_speed(entry: ModelEntry, device: torch.device, quality: str = "final") -> SpeedPlan:
    """The switches our engine picks for `entry` on this machine (engine/speed.py's plan_speed)."""
    from ..engine.device import plan_device

    return plan_speed(entry, plan_device(entry, device.type), quality)


def apply_speed(model: Any, plan: SpeedPlan, device: torch.device) -> None:
    apply_to_denoiser(model, plan, device)


def speed_variants(chosen: SpeedPlan | None) -> list[tuple[str, SpeedPlan | None, str]]:
    """(label, plan, why skipped) for: plain diffusers, each per-denoiser switch alone, all of them,
    and ours as planned for this GPU when that differs. A None plan is plain diffusers, untouched.

    The step cache, the LoRAs and the tiny decoder are not per-denoiser switches: their gains show
    in the seed job and the VAE rows, not in seconds per call of a denoiser.
    """
    no_plan = "the attention backend is chosen by plan_speed, which this build does not have"
    attention = chosen.attention if chosen is not None else None
    variants: list[tuple[str, SpeedPlan | None, str]] = [("plain diffusers", None, "")]
    if attention is None:
        variants.append(("attention alone", SPEED_OFF, no_plan))
    elif attention != SPEED_OFF.attention:
        variants.append((f"attention {attention} alone", SPEED_OFF.with_(attention=attention), ""))
    variants.append(("compile alone", SPEED_OFF.with_(compile=True), ""))
    variants.append(("fp8 alone", SPEED_OFF.with_(fp8=True), ""))
    together = SPEED_OFF.with_(attention=attention or SPEED_OFF.attention, compile=True, fp8=True)
    variants.append(("all together", together, ""))
    if chosen is not None:
        ours = SPEED_OFF.with_(attention=chosen.attention, compile=chosen.compile, fp8=chosen.fp8)
        if ours not in [plan for _, plan, _ in variants]:
            variants.append(("ours (planned for this GPU)", ours, ""))
    return variants


def denoiser_row(spec: Mapping[str, Any], plan: SpeedPlan | None, steps: int, peak_tflops: float,
                 flops: float, device: torch.device) -> dict[str, Any]:
    """Seconds per call and per step, MFU and peak memory of one denoiser under one speed plan."""
    import torch

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    model = build_denoiser(spec, device)
    if plan is not None:
        apply_speed(model, plan, device)
    inputs = denoiser_inputs(spec, device)
    start = time.perf_counter()
    run_denoiser(model, inputs)  # warm-up: kernel selection, allocator, compilation
    sync()
    warmup_s = time.perf_counter() - start
    with PeakMemory(device.type) as mem:
        start = time.perf_counter()
        for _ in range(steps):
            run_denoiser(model, inputs)
        sync()
        per_call = (time.perf_counter() - start) / steps
    calls = int(spec["calls_per_step"])
    achieved = flops / per_call / 1e12
    return dict(call_ms=per_call * 1000, step_ms=per_call * calls * 1000, tflops=achieved,
                mfu=achieved / peak_tflops, peak_gb=mem.peak / GB, warmup_s=warmup_s)
