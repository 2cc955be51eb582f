"""Where a pipeline runs and how it fits: device, dtype, offload and VAE tiling.

CUDA first, then Apple's MPS, then the CPU. The plan is a pure function of facts read once
(`read_facts`: total and free device memory, host RAM, what our own loaded pipeline holds) and the
model's figures, so every plan can be tested on a machine without a GPU. The offload mode is the
fastest whose needs fit, and can be overridden; `lighter` is the next plan down after an
out-of-memory error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any

from ..core.errors import ModelError
from .registry import ModelEntry

OFFLOAD_MODES = ("auto", "none", "model", "group", "sequential")
# Fastest first; an out-of-memory retry moves one step to the right.
LADDER = ("none", "model", "group", "sequential")
GB = 1024**3
# Activations and allocator fragmentation on top of the registry's needs, which are also in
# decimal GB while the driver counts GiB.
MARGIN = 1.1
_VRAM_FIGURE = {"none": "full", "model": "model_offload", "group": "group_offload"}


@dataclass(frozen=True)
class MachineFacts:
    """What the memory plan is decided from, read once (see `read_facts`); plain data, so a plan
    for any card can be worked out and tested on a machine without one."""

    device: str  # "cuda", "mps" or "cpu"
    total_gb: float | None = None  # device memory this process may use (a per-process cap counts)
    free_gb: float | None = None  # of that, free now
    held_gb: float = 0.0  # held by our own loaded pipeline: freed before another is loaded
    ram_gb: float | None = None  # host RAM available now
    ram_held_gb: float = 0.0  # host RAM held by our own loaded pipeline's weights
    bf16: bool = True  # the GPU computes in bfloat16 natively


@dataclass(frozen=True)
class DevicePlan:
    device: str  # "cuda", "mps" or "cpu"
    dtype: str  # torch dtype name for the denoiser and text encoder
    offload: str  # "none", "model", "group" or "sequential"
    vae_tiling: bool
    free_gb: float | None  # device memory available to this model (free plus what our pipeline held)
    total_gb: float | None = None
    fp8: bool = False  # the denoiser's weights are stored in float8 (engine/speed.py decides)
    pinned: bool = False  # group offload pins every weight up front (fastest, needs the RAM twice)
    warning: str = ""  # one line on what does not fit, said before loading

    def describe(self) -> str:
        free = f", {self.free_gb:.0f} GB free" if self.free_gb is not None else ""
        fp8 = ", fp8 weights" if self.fp8 else ""
        return f"{self.device} {self.dtype}, offload {self.offload}, VAE tiling {'on' if self.vae_tiling else 'off'}{fp8}{free}"


def pick_device(prefer: str | None = None) -> str:
    import torch

    if prefer:
        if prefer == "cuda" and not torch.cuda.is_available():
            raise ModelError("--device cuda: no CUDA GPU is available on this machine")
        if prefer == "mps" and not torch.backends.mps.is_available():
            raise ModelError("--device mps: Apple MPS is not available on this machine")
        if prefer not in ("cuda", "mps", "cpu"):
            raise ModelError(f"--device {prefer}: choose cuda, mps or cpu")
        return prefer
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def free_memory_gb(device: str) -> float | None:
    if device == "cuda":
        return _cuda_memory()[1]
    if device == "mps":
        import torch

        recommended = getattr(torch.mps, "recommended_max_memory", None)
        return recommended() / GB if recommended else None
    return host_ram_gb()


def _cuda_memory() -> tuple[float, float]:
    """(total, free) GB of the current CUDA device as this process may use it.

    A per-process cap (`torch.cuda.set_per_process_memory_fraction`) makes the caching allocator
    refuse anything beyond fraction × total, while the driver still reports the whole card: the
    plan must see the capped card.
    """
    import torch

    free, total = torch.cuda.mem_get_info()
    getter = getattr(torch.cuda, "get_per_process_memory_fraction", None)  # torch >= 2.7
    fraction = getter() if getter is not None else 1.0
    if fraction < 1.0:
        total = int(total * fraction)
        free = min(free, max(0, total - torch.cuda.memory_reserved()))
    return total / GB, free / GB


def host_ram_gb() -> float | None:
    """Host RAM available now (Linux's MemAvailable: free plus reclaimable cache), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 / GB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / GB
    except (ValueError, OSError, AttributeError):
        return None


def simulate_card(total_gb: float, index: int = 0) -> float:
    """Cap this process to `total_gb` of CUDA memory, as if the card were that small.

    Plans made afterwards read the capped total (see `_cuda_memory`); allocations past it raise
    torch.OutOfMemoryError as they would on the smaller card. Returns the fraction set.
    """
    import torch

    physical = torch.cuda.get_device_properties(index).total_memory
    fraction = min(1.0, total_gb * GB / physical)
    torch.cuda.set_per_process_memory_fraction(fraction, index)
    return fraction


def pipeline_bytes(pipe: Any, device: str) -> tuple[int, int]:
    """(bytes on `device`, bytes on the CPU) of a loaded pipeline's weights and buffers."""
    import torch

    seen: set[int] = set()
    on_device = on_host = 0
    for component in getattr(pipe, "components", {}).values():
        if not isinstance(component, torch.nn.Module):
            continue
        for tensor in (*component.parameters(), *component.buffers()):
            if tensor.device.type == "meta" or tensor.data_ptr() in seen:
                continue  # tied weights are stored once
            seen.add(tensor.data_ptr())
            size = tensor.numel() * tensor.element_size()
            if tensor.device.type == device and device != "cpu":
                on_device += size
            elif tensor.device.type == "cpu":
                on_host += size
    return on_device, on_host


def read_facts(device: str, loaded: Any = None) -> MachineFacts:
    """The machine as a memory plan sees it; `loaded` is our own pipeline, if one is held (its
    memory is about to be freed, so it counts as available)."""
    held, ram_held = pipeline_bytes(loaded, device) if loaded is not None else (0, 0)
    if device == "cuda":
        import torch

        total, free = _cuda_memory()
        if loaded is not None:
            held += torch.cuda.memory_reserved() - torch.cuda.memory_allocated()  # cache emptied on close
        bf16 = torch.cuda.is_bf16_supported(including_emulation=False)
        return MachineFacts(device, total, free, held / GB, host_ram_gb(), ram_held / GB, bf16)
    if device == "mps":
        free = free_memory_gb("mps")
        return MachineFacts(device, free, free, held / GB, host_ram_gb(), ram_held / GB, True)
    ram = host_ram_gb()
    return MachineFacts(device, ram, ram, 0.0, ram, ram_held / GB, False)


def vram_need_gb(entry: ModelEntry, offload: str, fp8: bool) -> float:
    """GPU memory `entry` needs with `offload`: the registry's figure, less what float8 storage
    saves on the denoiser weights the GPU holds at once (all of them, or one with model offload)."""
    if offload == "sequential":
        return 0.0  # one layer at a time: the floor, whatever fits at all
    need = entry.vram_gb[_VRAM_FIGURE[offload]]
    if fp8:
        on_gpu = {"none": entry.denoisers, "model": 1}.get(offload, 0)
        need -= on_gpu * entry.denoiser_gb / 2
    return need


def ram_need_gb(entry: ModelEntry, offload: str, pinned: bool) -> float:
    """Host RAM `entry` needs: every mode passes all weights through RAM while loading and the
    offload modes keep them there; pinning for streamed group offload copies them once more."""
    return entry.ram_gb * (2 if offload == "group" and pinned else 1)


def plan_memory(
    entry: ModelEntry, facts: MachineFacts, offload: str = "auto", vae_tiling: bool | None = None,
    fp8: bool | None = None,
) -> DevicePlan:
    """The memory plan for `entry` on the machine `facts` describes: a pure function of them.

    `fp8`: whether the denoiser's weights will be stored in float8; None follows the one rule
    (speed.fp8_weights). The speed plan then takes the plan's `fp8`, so both always agree.
    """
    from .speed import fp8_weights  # here: engine.fit imports this module where torch must not load

    if offload not in OFFLOAD_MODES:
        raise ModelError(f"--offload {offload}: choose {', '.join(OFFLOAD_MODES)}")
    dev = facts.device
    available = None if facts.free_gb is None else facts.free_gb + facts.held_gb
    ram = None if facts.ram_gb is None else facts.ram_gb + facts.ram_held_gb
    fp8 = fp8_weights(dev, facts.total_gb) if fp8 is None else fp8 and dev == "cuda"
    warnings = []
    pinned = False
    if dev == "cuda":
        dtype = "bfloat16" if facts.bf16 else "float16"
        auto = _fastest_fit(entry, available, fp8)
        mode = auto if offload == "auto" else offload
        if available is not None and vram_need_gb(entry, mode, fp8) * MARGIN > available:
            need = vram_need_gb(entry, mode, fp8)
            warnings.append(f"offload {mode} needs about {need:.0f} GB of GPU memory and {available:.0f} GB "
                            f"is free (auto would choose {auto})")
        if entry.ram_gb and ram is not None:
            pinned = ram_need_gb(entry, "group", True) * MARGIN <= ram
            need = ram_need_gb(entry, mode, pinned)
            if need * MARGIN > ram:
                warnings.append(f"needs about {need:.0f} GB of RAM to load and this machine has {ram:.0f} GB "
                                f"available: close other programs or choose a smaller model")
        else:
            pinned = True  # nothing to go by: diffusers' default
    elif dev == "mps":
        dtype = "bfloat16"
        # Apple silicon shares memory between CPU and GPU: moving weights back and forth gains nothing.
        mode = "none" if offload == "auto" else offload
    else:
        dtype = "float32"
        mode = "none"  # offloading to the CPU from the CPU is meaningless
    tiling = (mode != "none" or dev != "cuda") if vae_tiling is None else vae_tiling
    warning = f"{entry.name}: {'; '.join(warnings)}" if warnings else ""
    return DevicePlan(dev, dtype, mode, tiling, available, facts.total_gb, fp8, pinned, warning)


def _fastest_fit(entry: ModelEntry, available: float | None, fp8: bool) -> str:
    if available is None:
        return "model"
    for mode in LADDER[:-1]:
        if vram_need_gb(entry, mode, fp8) * MARGIN <= available:
            return mode
    return "sequential"


def choose_offload(entry: ModelEntry, free_gb: float | None, fp8: bool = False) -> str:
    """The fastest mode whose memory need fits, with a 10% margin for activations and fragmentation."""
    return _fastest_fit(entry, free_gb, fp8)


def lighter(plan: DevicePlan) -> DevicePlan | None:
    """The next plan down after running out of memory: one offload step further, VAE tiling on.

    None when there is nothing lighter left. Apple silicon shares one memory between CPU and
    GPU, so there only the VAE tiling can still help.
    """
    mode = plan.offload
    if plan.device != "mps" and mode != LADDER[-1]:
        mode = LADDER[LADDER.index(mode) + 1]
    if mode == plan.offload and plan.vae_tiling:
        return None
    return replace(plan, offload=mode, vae_tiling=True, pinned=plan.pinned and mode == "group", warning="")


def plan_device(
    entry: ModelEntry, device: str | None = None, offload: str = "auto", vae_tiling: bool | None = None,
    loaded: Any = None, fp8: bool | None = None,
) -> DevicePlan:
    """Read the machine (counting `loaded`, our own pipeline, as free) and plan `entry` on it."""
    if offload not in OFFLOAD_MODES:
        raise ModelError(f"--offload {offload}: choose {', '.join(OFFLOAD_MODES)}")
    return plan_memory(entry, read_facts(pick_device(device), loaded), offload, vae_tiling, fp8)


def is_out_of_memory(exc: BaseException) -> bool:
    """An out-of-memory error from torch, also as the RuntimeError that CUDA, cuDNN, cuBLAS and
    MPS failures inside kernels and libraries arrive as."""
    import torch

    if isinstance(exc, torch.OutOfMemoryError):
        return True
    if not isinstance(exc, RuntimeError):
        return False
    text = str(exc)
    return "out of memory" in text.lower() or "_ALLOC_FAILED" in text
