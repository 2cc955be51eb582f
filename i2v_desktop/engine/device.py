"""Where a pipeline runs and how it fits: device, dtype, offload and VAE tiling.

CUDA first, then Apple's MPS, then the CPU. The offload mode is chosen from the device's free
memory against the model's measured needs, and can be overridden.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..core.errors import ModelError
from .registry import ModelEntry

OFFLOAD_MODES = ("auto", "none", "model", "group", "sequential")
GB = 1024**3


@dataclass(frozen=True)
class DevicePlan:
    device: str  # "cuda", "mps" or "cpu"
    dtype: str  # torch dtype name for the denoiser and text encoder
    offload: str  # "none", "model", "group" or "sequential"
    vae_tiling: bool
    free_gb: float | None

    def describe(self) -> str:
        free = f", {self.free_gb:.0f} GB free" if self.free_gb is not None else ""
        return f"{self.device} {self.dtype}, offload {self.offload}, VAE tiling {'on' if self.vae_tiling else 'off'}{free}"


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
        import torch

        free, _total = torch.cuda.mem_get_info()
        return free / GB
    if device == "mps":
        import torch

        recommended = getattr(torch.mps, "recommended_max_memory", None)
        return recommended() / GB if recommended else None
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / GB
    except (ValueError, OSError, AttributeError):
        return None


def choose_offload(entry: ModelEntry, free_gb: float | None) -> str:
    """The fastest mode whose memory need fits, with a 10% margin for activations and fragmentation."""
    if free_gb is None:
        return "model"
    for mode, need in (("none", "full"), ("model", "model_offload"), ("group", "group_offload")):
        if entry.vram_gb[need] * 1.1 <= free_gb:
            return mode
    return "sequential"


def plan_device(
    entry: ModelEntry, device: str | None = None, offload: str = "auto", vae_tiling: bool | None = None
) -> DevicePlan:
    import torch

    if offload not in OFFLOAD_MODES:
        raise ModelError(f"--offload {offload}: choose {', '.join(OFFLOAD_MODES)}")
    dev = pick_device(device)
    free = free_memory_gb(dev)
    if dev == "cuda":
        dtype = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        mode = choose_offload(entry, free) if offload == "auto" else offload
    elif dev == "mps":
        dtype = "bfloat16"
        # Apple silicon shares memory between CPU and GPU: moving weights back and forth gains nothing.
        mode = "none" if offload == "auto" else offload
    else:
        dtype = "float32"
        mode = "none"  # offloading to the CPU from the CPU is meaningless
    tiling = (mode != "none" or dev != "cuda") if vae_tiling is None else vae_tiling
    return DevicePlan(dev, dtype, mode, tiling, free)


def glance(prefer: str | None = None) -> tuple[str, float | None]:
    """(device, free GB) without importing torch, for the window's model picker.

    Importing torch takes seconds and holds the interpreter while it loads, which a window at
    start-up cannot afford; so unless torch is already loaded, ask the driver's own tool
    (nvidia-smi) or the platform. The render itself still decides with `plan_device`.
    """
    import platform
    import shutil
    import subprocess
    import sys

    if "torch" in sys.modules or prefer:
        device = pick_device(prefer)
        return device, free_memory_gb(device)
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = subprocess.run([smi, "--query-gpu=memory.free", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True, timeout=10, check=True).stdout
            free_mib = max(float(line) for line in out.split() if line.strip())
            return "cuda", free_mib * 1024**2 / GB
        except (OSError, subprocess.SubprocessError, ValueError):
            pass
    if sys.platform == "darwin" and platform.machine() == "arm64":
        return "mps", None
    return "cpu", free_memory_gb("cpu")
