"""`i2v bench --real --dry-run`: what a GPU run would do, planned on the CPU on meta tensors."""

from __future__ import annotations

from typing import Any

from ..engine.registry import load_registry
from .architectures import architectures, meta_call, meta_vae
from ..core.errors import first_line
from .measure import COMPILE_ALLOWANCE_S, VAE_ALLOWANCE_S
from .memory import memory_plans, offload_ladder
from .seed import SEED_PHOTOS, SEED_SECONDS

# What a dry run assumes the GPU achieves, to estimate times: a bf16 dense peak near an H100's
# measured ~750 TFLOP/s, at the 30% MFU these video models reach unoptimised.
DRY_RUN_TFLOPS = 750.0 * 0.3
DRY_RUN_CARD_GB = 141.0  # an H200
# speed_variants() as a GPU run builds them; the attention backend is plan_speed's choice there.
DRY_RUN_VARIANTS = (("plain diffusers", False), ("attention alone (plan_speed's backend)", False),
                    ("compile alone", True), ("fp8 alone", False), ("all together", True),
                    ("ours (planned for this GPU), when it differs", True))


def dry_run(family: str = "all", steps: int = 3, simulated_gb: float = 24.0, vae: bool = True) -> dict[str, Any]:
    """Shapes and FLOPs on the meta device, and the plan of what a GPU run would do, with estimates."""
    from ..engine.device import DevicePlan

    registry = load_registry()
    specs = architectures(family)
    denoisers, vaes = [], []
    for name, spec in specs.items():
        model, shape, flops = meta_call(spec)
        seconds = flops / (DRY_RUN_TFLOPS * 1e12)
        variants = [dict(variant=label, estimate_s=round((steps + 1) * seconds * spec["calls_per_step"]
                                                         + (COMPILE_ALLOWANCE_S if compiles else 0), 1))
                    for label, compiles in DRY_RUN_VARIANTS]
        denoisers.append(dict(name=name, model=spec["model"], params_b=sum(p.numel() for p in model.parameters()) / 1e9,
                              output=list(shape), tflop_per_call=flops / 1e12, calls_per_step=spec["calls_per_step"],
                              estimated_step_s=seconds * spec["calls_per_step"], variants=variants))
        if vae:
            vaes.append(dict(name=name, model=spec["model"], **meta_vae(spec)))
    try:
        ladder: Any = [p.offload for p in offload_ladder(DevicePlan(device="cuda", dtype="bfloat16", offload="none", vae_tiling=False,
                                                         free_gb=simulated_gb))]
    except NotImplementedError as exc:
        ladder = f"skipped: {first_line(exc)}"
    seed_models = [e.id for e in registry.entries.values() if "fast" in e.tiers]
    total = sum(v["estimate_s"] for d in denoisers for v in d["variants"]) + VAE_ALLOWANCE_S * len(denoisers)
    return dict(dry_run=True, device="meta", family=family, assumed_tflops=DRY_RUN_TFLOPS, estimated_total_s=total,
                denoisers=denoisers,
                vae=vaes, memory_plans=memory_plans(DRY_RUN_CARD_GB, simulated_gb),
                oom_recovery=dict(simulated_gb=simulated_gb, bench_rows=["wan2.2-i2v-a14b transformer",
                                                                         "ltx-video-2b transformer"],
                                  ladder_model="wan2.1-i2v-14b transformer", ladder=ladder),
                seed_job=dict(fast_tier_models=seed_models, photos=SEED_PHOTOS, seconds=SEED_SECONDS,
                              status="would run" if seed_models else "skipped: no model has a fast tier in this "
                              "build's registry"))
