"""Whether a model fits this machine, in one verdict every front end shows the same way.

One rule, from the registry's GPU memory figure per memory plan, read through the memory plan's
own `vram_need_gb` and `MARGIN` (engine/device.py): a model FITS where the render would run it
whole on the GPU, FITS_OFFLOADED where the render would pick model or group offload, and is
TOO_BIG where only sequential offload (layer by layer from RAM) or the processor is left, or where
the host RAM cannot hold its weights while they load. So the verdict says what a render will do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set

from ..core.studio import FITS, FITS_OFFLOADED, TOO_BIG, Fit, Hardware
from .device import MARGIN, vram_need_gb
from .registry import ModelEntry
from .speed import fp8_weights

# The memory plans a verdict weighs, fastest first, with their names as the user reads them; the
# registry's vram_gb keys are "full", "model_offload" and "group_offload".
PLANS = (("none", "full"), ("model", "model offload"), ("group", "group offload"))
HEADROOM = f"{round((MARGIN - 1) * 100)}%"  # activations and fragmentation, on top of the figure
# What "try anyway" costs where no plan fits.
SEQUENTIAL_COST = "layer by layer from RAM (sequential offload): expect 10x slower or more"
APPLE_COST = "it may run out of memory or swap: expect it to be much slower, or to stop with an error"


def needs(entry: ModelEntry) -> tuple[tuple[str, float], ...]:
    """The registry's GPU memory per plan (plan name, GB), fastest first: the figures every front
    end and the README show."""
    if entry.engine != "diffusion":
        return ()
    return tuple((label, vram_need_gb(entry, mode, False)) for mode, label in PLANS)


def cpu_cost(entry: ModelEntry, ram_gb: float | None) -> str:
    """What a render on the processor costs: weights in float32 take twice their bf16 size."""
    memory = entry.ram_gb * 2
    line = "on the processor: hours per clip"
    if memory:
        line += f", with about {memory:.0f} GB of RAM"
        if ram_gb is not None and memory > ram_gb:
            line += f" (this machine has {ram_gb:.0f} GB: it may not load at all)"
    return line


def fit(entry: ModelEntry, hardware: Hardware) -> Fit:
    """`entry`'s memory need against `hardware`: the verdict, one line with the figures, the need
    per plan, and what running it anyway costs when it does not fit."""
    if entry.engine != "diffusion":  # the instant engine, or an add-on to it (the depth model: a download)
        needed = "no GPU or download needed" if entry.engine == "instant" else "no GPU needed"
        return Fit(FITS, f"runs on the processor: {needed}")
    device = hardware.device
    per_plan = needs(entry)
    smallest, smallest_label = per_plan[-1][1], per_plan[-1][0]
    if device == "cpu":
        where = "this machine has none" if not hardware.gpu else "renders here run on the processor"
        return Fit(TOO_BIG, f"needs a GPU with {smallest:g} GB ({smallest_label}); {where}", per_plan,
                   cpu_cost(entry, hardware.ram_gb))
    ram = hardware.ram_gb
    available = hardware.vram_free_gb if hardware.vram_free_gb is not None else hardware.vram_gb
    if device == "mps":
        # Apple GPUs share the RAM with the processor: the plan runs the model whole (no offload).
        full = per_plan[0][1]
        if available is not None and full * MARGIN > available:
            return Fit(TOO_BIG, f"needs {full:g} GB of GPU memory (full, as Apple GPUs run it) plus {HEADROOM}; "
                                f"this Mac's GPU can use about {available:.0f} GB", per_plan, APPLE_COST)
        return Fit(FITS, f"needs {full:g} GB of GPU memory (full)" + _have(available), per_plan)
    if entry.ram_gb and ram is not None and entry.ram_gb * MARGIN > ram:
        # Every GPU plan passes all the weights through RAM while loading (device.ram_need_gb).
        return Fit(TOO_BIG, f"needs {entry.ram_gb:g} GB of RAM to load its weights plus {HEADROOM}; "
                            f"this machine has {ram:.0f} GB", per_plan,
                   "it may stop with an out-of-memory error while loading, or swap for a long time")
    if available is None:
        # The driver did not say: the render would pick model offload (see device._fastest_fit).
        need = dict(per_plan)["model offload"]
        return Fit(FITS_OFFLOADED, f"needs {need:g} GB of GPU memory with model offload; "
                                   f"this GPU's free memory is unknown", per_plan)
    # Below 32 GB the plan stores the denoiser in float8, which lowers what the first two plans need.
    fp8 = fp8_weights(device, hardware.vram_gb)
    for (mode, label), (_, figure) in zip(PLANS, per_plan):
        need = vram_need_gb(entry, mode, fp8)
        if need * MARGIN <= available:
            verdict = FITS if mode == "none" else FITS_OFFLOADED
            said = f"{figure:g} GB" if need == figure else f"{need:g} GB with fp8 weights ({figure:g} GB in bf16)"
            return Fit(verdict, f"needs {said} of GPU memory ({label})" + _have(available), per_plan)
    return Fit(TOO_BIG, f"needs a GPU with {smallest:g} GB ({smallest_label}) plus {HEADROOM}; "
                        f"this one has {available:.0f} GB free", per_plan, SEQUENTIAL_COST)


def _have(available: float | None) -> str:
    return "" if available is None else f"; {available:.0f} GB free"


def suggest(entries: Iterable[ModelEntry], verdicts: Mapping[str, Fit], downloaded: Set[str],
            fast_ready: Set[str], preferred: str, fallback: str) -> tuple[str, str]:
    """(model, quality tier) a new user renders with on this machine.

    Only a model whose weights are here and that runs without "try anyway" can be the default: a
    render never downloads, and nothing else can run (on a machine without a GPU, or with nothing
    downloaded, that leaves the instant engine, `fallback`). Among those, the registry's default
    (`preferred`, the curated choice for a machine where everything fits) comes first, then what
    fits whole before what needs offload, in registry order. The tier is "fast" where the chosen
    model only fits with offload (the GPU is small for it: a standard clip would crawl) and its
    fast tier is ready (a distilled model, or its LoRA downloaded); otherwise "standard".
    """
    runnable = [entry for entry in entries
                if entry.engine == "diffusion" and entry.id in downloaded and verdicts[entry.id].runs]
    if not runnable:
        return fallback, "standard"
    best = min(runnable, key=lambda entry: (entry.id != preferred, verdicts[entry.id].verdict != FITS))
    small = verdicts[best.id].verdict == FITS_OFFLOADED
    return best.id, "fast" if small and "fast" in best.qualities and best.id in fast_ready else "standard"
