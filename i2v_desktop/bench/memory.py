"""Memory plans and out-of-memory recovery (engine/device.py) on a real or simulated card."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..engine.registry import ModelEntry, load_registry
from ..engine.speed import fp8_weights
from .architectures import architectures, build_denoiser, count_flops, denoiser_inputs, run_denoiser
from .guard import guarded, memory_limit_gb
from ..core.errors import first_line
from .measure import GB, VAE_ALLOWANCE_S, Budget, PeakMemory, matmul_peak
from .switches import denoiser_row

if TYPE_CHECKING:
    import torch


def memory_plan(entry: ModelEntry, gpu_gb: float) -> dict[str, Any]:
    """What the engine plans for `entry` on a card of `gpu_gb`."""
    from ..engine import device

    fp8 = fp8_weights("cuda", gpu_gb)
    return dict(model=entry.id, gpu_gb=round(gpu_gb, 1), offload=device.choose_offload(entry, gpu_gb, fp8),
                fp8=fp8, registry_vram_gb=dict(entry.vram_gb))


def memory_plans(card_gb: float, simulated_gb: float) -> list[dict[str, Any]]:
    registry = load_registry()
    return [memory_plan(e, gb) for e in registry.entries.values() for gb in (card_gb, simulated_gb)]


def offload_ladder(first: Any) -> list[Any]:
    """The plans the engine would try, in order, after out-of-memory errors."""
    from ..engine import device

    ladder = [first]
    while (nxt := device.lighter(ladder[-1])) is not None and len(ladder) < 8:
        ladder.append(nxt)
    return ladder


def _cpu_copy(spec: Mapping[str, Any]) -> torch.nn.Module:
    """The denoiser in host memory, zero weights: built on meta, then given real (CPU) storage.

    Random initialisation of 16B parameters on the CPU takes minutes; for placement and timing the
    values do not matter.
    """
    import torch

    model = build_denoiser(spec, torch.device("meta")).to_empty(device="cpu")
    with torch.no_grad():
        for tensor in [*model.parameters(), *model.buffers()]:
            tensor.zero_()
    return model


def run_offloaded(spec: Mapping[str, Any], offload: str, device: torch.device, row: dict[str, Any]) -> dict[str, Any]:
    """One denoiser call placed the way an offload mode places it (the modes of load_pipeline).
    row["stage"] says how far it got: "loading", then "denoising".
    """
    import torch

    row["stage"] = "loading"
    if offload == "none":
        model = build_denoiser(spec, device)  # weights straight onto the GPU: an OOM here is "loading"
    else:
        model = _cpu_copy(spec)
        if offload == "model":  # the whole component moves to the GPU for its forward
            model.to(device)
        elif offload == "group":
            model.enable_group_offload(onload_device=device, offload_type="leaf_level",
                                       use_stream=device.type == "cuda")
        else:
            from accelerate import cpu_offload

            cpu_offload(model, execution_device=device)
    row["stage"] = "denoising"
    inputs = denoiser_inputs(spec, device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    with PeakMemory(device.type) as mem:
        start = time.perf_counter()
        run_denoiser(model, inputs)
        sync()
        seconds = time.perf_counter() - start
    return dict(call_s=seconds, peak_gb=mem.peak / GB)


def oom_recovery(device: torch.device, simulated_gb: float, budget: Budget) -> dict[str, Any]:
    """On a card limited to `simulated_gb`: a bench row that runs out of memory reports it and the
    next row still runs; then a 14B denoiser walks the engine's offload ladder until one call fits.
    """
    import torch

    from ..engine.device import DevicePlan

    total = torch.cuda.get_device_properties(device).total_memory / GB
    fraction = min(simulated_gb / total, 1.0)
    torch.cuda.set_per_process_memory_fraction(fraction, device)
    limit = memory_limit_gb(device, fraction)
    specs = architectures()
    result: dict[str, Any] = dict(simulated_gb=simulated_gb, limit_gb=limit)
    try:
        peak = matmul_peak()
        rows = []
        for name in ("wan2.2-i2v-a14b transformer", "ltx-video-2b transformer"):  # 28 GB, then 4 GB
            spec = specs[name]
            row = dict(name=name, variant="plain diffusers")
            rows.append(guarded(row, lambda: denoiser_row(spec, None, 1, peak, count_flops(spec), device),
                                device, limit))
        result["bench_rows"] = rows

        spec = specs["wan2.1-i2v-14b transformer"]  # 16.4B parameters: 33 GB in bf16
        attempts: list[dict[str, Any]] = []
        try:
            first = DevicePlan(device="cuda", dtype="bfloat16", offload="none", vae_tiling=False, free_gb=limit)
            ladder = offload_ladder(first)
        except NotImplementedError as exc:
            result["ladder"] = f"skipped: {first_line(exc)}"
            return result
        for plan in ladder:
            if not budget.allows(VAE_ALLOWANCE_S):
                attempts.append(dict(offload=plan.offload, status=budget.skip(VAE_ALLOWANCE_S)))
                break
            attempt: dict[str, Any] = dict(offload=plan.offload, vae_tiling=plan.vae_tiling)
            guarded(attempt, lambda: run_offloaded(spec, plan.offload, device, attempt), device, limit)
            attempts.append(attempt)
            if attempt["status"] == "ok":
                break
        result["ladder"] = attempts
        result["recovered"] = bool(attempts) and attempts[-1]["status"] == "ok"
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0, device)
    return result
