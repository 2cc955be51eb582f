"""`i2v bench --real`: every family at its published architecture on a GPU (random weights).

Seconds per step for plain diffusers and for each speed switch alone and all together, MFU
against a matrix-multiply peak measured in the same run, peak memory, VAE decode time, the time
to the first preview, and the seed job (12 photos to 12 clips with the fast tier). A row that
runs out of memory says so and the run goes on.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable

from ..engine.preview import LatentPreviewer
from ..engine.registry import load_latent_rgb, load_registry
from ..engine.speed import SpeedPlan
from .architectures import (architectures, build_vae, count_flops, small_slice, vae_decode, vae_encode,
                            vae_tensors)
from .guard import guarded, memory_limit_gb
from .measure import (COMPILE_ALLOWANCE_S, GB, VAE_ALLOWANCE_S, Budget, PeakMemory, device_name,
                      matmul_peak)
from .seed import SEED_PHOTOS, seed_job
from .switches import chosen_speed, denoiser_row, speed_variants

if TYPE_CHECKING:
    import torch


def bench_real(family: str = "all", steps: int = 3, seed_clips: int = SEED_PHOTOS, memory_gb: float | None = None,
               budget_s: float | None = None, device: torch.device | None = None,
               specs: Mapping[str, Any] | None = None, speed: bool = True) -> dict[str, Any]:
    """Every family's denoiser at its published size (random bf16 weights) under each speed plan,
    its VAE, the first preview and the seed job. Rows that run out of memory say so; the run goes on.

    `specs` replaces architectures.json's (tests); `speed=False` times plain diffusers only;
    `seed_clips=0` leaves the seed job out.
    """
    import torch

    device = device or torch.device("cuda")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("i2v bench --real needs a CUDA GPU (try --dry-run for the plan on this machine)")
    fraction = 1.0
    if memory_gb is not None and device.type == "cuda":
        total = torch.cuda.get_device_properties(device).total_memory / GB
        fraction = min(memory_gb / total, 1.0)
        torch.cuda.set_per_process_memory_fraction(fraction, device)
    limit = memory_limit_gb(device, fraction)
    budget = Budget(budget_s)
    specs = dict(specs) if specs is not None else architectures(family)
    peak = matmul_peak() if device.type == "cuda" else float("nan")
    report: dict[str, Any] = dict(device=device_name(device), memory_gb=limit, matmul_tflops=peak, steps=steps,
                                  family=family, denoisers=[], vae=[], first_preview=[])
    registry = load_registry()
    flops = {name: count_flops(spec) for name, spec in specs.items()}
    # Under a time budget the cheapest denoisers go first, so the budget runs out on the big ones.
    order = list(specs) if budget_s is None else sorted(specs, key=lambda n: flops[n] * specs[n]["calls_per_step"])
    plans: dict[str, SpeedPlan | None] = {}
    for name in order:
        try:
            plans[name] = chosen_speed(registry.get(specs[name]["model"]), device)
        except NotImplementedError:
            plans[name] = None
    variants = {name: speed_variants(plans[name])[: None if speed else 1] for name in order}
    rows_by_name = {name: [dict(name=name, model=specs[name]["model"], variant=label,
                                speed=None if plan is None else plan.as_metadata(), status="skipped: " + why)
                           for label, plan, why in variants[name]] for name in order}

    def run_variants(wanted: Callable[[str], bool]) -> None:
        for name in order:
            spec = specs[name]
            for (label, plan, why), row in zip(variants[name], rows_by_name[name]):
                if why or not wanted(label):
                    continue
                plain = rows_by_name[name][0]
                call_s = plain["call_ms"] / 1000 if plain["status"] == "ok" else \
                    flops[name] / (peak * 1e12 * 0.3) if peak == peak else 0.0
                estimate = (steps + 1) * call_s * 1.5 + (COMPILE_ALLOWANCE_S if plan and plan.compile else 0.0)
                if not budget.allows(estimate):
                    row["status"] = budget.skip(estimate)
                    continue
                guarded(row, lambda: denoiser_row(spec, plan, steps, peak, flops[name], device), device, limit)

    def run_vaes() -> None:
        for name in order:
            spec = specs[name]
            full: dict[str, Any] = dict(name=name, model=spec["model"], decoder="full")
            if budget.allows(VAE_ALLOWANCE_S):
                guarded(full, lambda: vae_row(spec, device), device, limit)
            else:
                full["status"] = budget.skip(VAE_ALLOWANCE_S)
            tiny: dict[str, Any] = dict(name=name, model=spec["model"], decoder="tiny")
            guarded(tiny, lambda: tiny_decoder_row(spec, device), device, limit)
            report["vae"].extend([full, tiny])

    # In order of what matters when time is short (gpu-check): the plain baseline of every family
    # (and each later estimate uses its measured seconds per call), the VAEs, every switch
    # together, the seed job, and last each switch alone.
    together = ("all together", "ours (planned for this GPU)")
    run_variants(lambda label: label == "plain diffusers")
    run_vaes()
    run_variants(lambda label: label in together)
    if seed_clips > 0 and family in ("all", "wan"):
        report["seed_job"] = seed_job(device, peak, seed_clips, budget, limit)
    run_variants(lambda label: label != "plain diffusers" and label not in together)

    full_vae = {r["name"]: r for r in report["vae"] if r["decoder"] == "full"}
    for name in order:
        rows = rows_by_name[name]
        for row in rows:
            if row["status"] == "ok" and rows[0]["status"] == "ok":
                row["vs_plain"] = rows[0]["step_ms"] / row["step_ms"]
        report["denoisers"].extend(rows)
        _, preview_s = engine_overhead(specs[name], device)
        report["first_preview"].append(dict(name=name, model=specs[name]["model"],
                                            **first_preview(rows, full_vae[name], preview_s)))
    if fraction < 1.0:
        torch.cuda.set_per_process_memory_fraction(1.0, device)
    return report


def vae_row(spec: Mapping[str, Any], device: torch.device) -> dict[str, Any]:
    """The full VAE at its published config: decode of the real clip size, encode of the photo."""
    import torch

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    vae = build_vae(spec, device)
    pixels, latents = vae_tensors(spec, device)
    vae_decode(vae, spec, {k: small_slice(v) if k == "z" else v for k, v in latents.items()})
    vae_encode(vae, small_slice(pixels, 32, 1))
    sync()
    with PeakMemory(device.type) as decode_mem:
        start = time.perf_counter()
        vae_decode(vae, spec, latents)
        sync()
        decode_s = time.perf_counter() - start
    with PeakMemory(device.type) as encode_mem:
        start = time.perf_counter()
        vae_encode(vae, pixels)
        sync()
        encode_s = time.perf_counter() - start
    return dict(decode_s=decode_s, decode_peak_gb=decode_mem.peak / GB, encode_s=encode_s,
                encode_peak_gb=encode_mem.peak / GB)


def tiny_decoder_row(spec: Mapping[str, Any], device: torch.device) -> dict[str, Any]:
    """The model's tiny video decoder (engine/taehv.py, random weights) on the same latents as the VAE row."""
    import torch

    from ..engine.taehv import ARCHS, CHUNK, TinyVideoAutoencoder, tiny_dtype

    entry = load_registry().get(spec["model"])
    if entry.tiny_decoder is None:
        raise NotImplementedError(f"no tiny decoder is published for {entry.name}'s latents")
    decoder = TinyVideoAutoencoder(ARCHS[entry.tiny_decoder.arch]).to(device, tiny_dtype(device)).eval()
    z = torch.randn(*spec["vae"]["decode"]["z"], device=device, dtype=tiny_dtype(device))
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    with torch.no_grad():
        decoder.decode(small_slice(z), chunk=CHUNK)
        sync()
        with PeakMemory(device.type) as mem:
            start = time.perf_counter()
            decoder.decode(z, chunk=CHUNK)
            sync()
            decode_s = time.perf_counter() - start
    return dict(decode_s=decode_s, decode_peak_gb=mem.peak / GB)


def first_preview(rows: list[dict[str, Any]], vae: Mapping[str, Any], preview_s: float) -> dict[str, Any]:
    """Time from Generate to the first animated preview, warm (pipeline loaded, prompt encoded).

    The photo is new, so the pipeline first encodes it (Wan2.1 and A14B encode it followed by
    num_frames - 1 black frames), then runs one step, then our callback makes the preview.
    """
    done = {r["variant"]: r for r in rows if r["status"] == "ok"}
    best = next((done[v] for v in ("ours (planned for this GPU)", "all together", "plain diffusers") if v in done), None)
    if best is None or vae.get("status") != "ok":
        return dict(status="skipped: needs a measured step and a measured VAE encode")
    step_s = best["step_ms"] / 1000
    total = vae["encode_s"] + step_s + preview_s
    return dict(status="ok", step_from=best["variant"], encode_s=vae["encode_s"], step_s=step_s,
                preview_s=preview_s, first_preview_s=total, target_s=step_s + 0.1,
                meets_target=total <= step_s + 0.1)


def engine_overhead(spec: Mapping[str, Any], device: torch.device) -> tuple[float, float]:
    """Seconds our step callback and one preview take on `device` at the spec's real latent size."""
    import torch

    entry = load_registry().get(spec["model"])
    width, height = spec["size"]
    previewer = LatentPreviewer(entry.preview, entry.fps / entry.temporal_ratio)
    channels = len(load_latent_rgb(entry.preview)[0])
    frames = (int(spec["frames"]) - 1) // entry.temporal_ratio + 1
    shape = (channels, frames, height // entry.spatial_ratio, width // entry.spatial_ratio)
    latents = torch.randn(1, *shape, device=device, dtype=torch.float32)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def callback() -> None:  # what runs every step: keep the latents for the next x0 estimate
        previous = latents.clone()
        (latents - previous).mul_(0.5)

    def preview() -> None:
        previewer(latents[0])

    result = []
    for work in (callback, preview):
        work()
        sync()
        start = time.perf_counter()
        for _ in range(10):
            work()
        sync()
        result.append((time.perf_counter() - start) / 10)
    return result[0], result[1]
