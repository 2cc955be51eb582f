"""This machine as a model needs it: the GPU, its memory and compute capability, RAM, free disk
where downloads go, and the torch build (`core.studio.Hardware`).

Read without importing torch unless it is loaded already: the window asks on a worker thread at
start-up, and importing torch would hold the interpreter for seconds while the window should
appear. So the driver's own tool (nvidia-smi), /proc/meminfo and sysctl answer instead. The
parsing is apart from the reading, so recorded outputs of those tools test it.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import ModelError
from ..core.studio import Hardware
from .device import GB

# What nvidia-smi is asked, in this order; drivers before 510 do not know compute_cap.
SMI_FIELDS = ("name", "memory.total", "memory.free", "compute_cap")
MIB = 1024**2


@dataclass(frozen=True)
class Gpu:
    """One NVIDIA GPU as nvidia-smi lists it."""

    name: str
    total_gb: float | None
    free_gb: float | None
    compute_capability: str  # "9.0", "" when the driver does not say


def parse_smi(text: str) -> list[Gpu]:
    """GPUs from `nvidia-smi --query-gpu=name,memory.total,memory.free[,compute_cap]
    --format=csv,noheader,nounits`: one line each; "[N/A]" and "[Not Supported]" read as unknown."""

    def number(cell: str) -> float | None:
        try:
            return float(cell) * MIB / GB
        except ValueError:
            return None

    gpus = []
    for line in text.splitlines():
        if not line.strip():
            continue
        cells = [cell.strip() for cell in line.rsplit(",", len(SMI_FIELDS) - 1)]
        if len(cells) == len(SMI_FIELDS) - 1:  # asked without compute_cap
            cells.append("")
        if len(cells) != len(SMI_FIELDS):
            continue
        name, total, free, capability = cells
        capability = capability if capability[:1].isdigit() else ""
        gpus.append(Gpu(name, number(total), number(free), capability))
    return gpus


def parse_meminfo(text: str) -> tuple[float | None, float | None]:
    """(total, available) GB from /proc/meminfo (MemAvailable: free plus reclaimable cache)."""
    values = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[key.strip()] = int(parts[0]) * 1024 / GB
    return values.get("MemTotal"), values.get("MemAvailable", values.get("MemFree"))


def apple_gpu_gb(ram_gb: float | None) -> float | None:
    """How much of a Mac's unified memory its GPU may use when torch cannot be asked: Metal's
    recommendedMaxWorkingSetSize is about two thirds of RAM on small Macs and three quarters on
    those with more than 36 GB (as torch.mps.recommended_max_memory reports it there)."""
    if ram_gb is None:
        return None
    return ram_gb * (0.75 if ram_gb > 36 else 2 / 3)


def visible_gpu(gpus: list[Gpu], visible: str | None) -> Gpu | None:
    """The GPU a render uses: the first that CUDA_VISIBLE_DEVICES leaves visible (None: all are)."""
    if visible is None:
        return gpus[0] if gpus else None
    first = visible.split(",")[0].strip()
    if not first or first == "-1":
        return None  # CUDA sees no GPU at all
    if first.isdigit():
        index = int(first)
        return gpus[index] if index < len(gpus) else None
    return gpus[0] if gpus else None  # a UUID or MIG name: nvidia-smi lists by index, take the first


def read_smi() -> list[Gpu]:
    """The NVIDIA GPUs nvidia-smi lists; none where it is missing or fails."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    for fields in (SMI_FIELDS, SMI_FIELDS[:-1]):  # an older driver refuses compute_cap: ask without it
        try:
            out = subprocess.run([smi, f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True, timeout=10, check=True).stdout
        except subprocess.CalledProcessError:
            continue
        except (OSError, subprocess.SubprocessError):
            return []
        return parse_smi(out)
    return []


def read_ram() -> tuple[float | None, float | None]:
    """(total, available) GB of host RAM: /proc/meminfo, else sysconf, else (macOS) sysctl."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            total, free = parse_meminfo(meminfo.read())
        if total is not None:
            return total, free
    except OSError:
        pass
    total = free = None
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / GB
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / GB
    except (ValueError, OSError, AttributeError):
        pass
    if total is None and sys.platform == "darwin":
        memsize = _sysctl("hw.memsize")
        total = int(memsize) / GB if memsize.isdigit() else None
    return total, free


def _sysctl(name: str) -> str:
    try:
        return subprocess.run(["sysctl", "-n", name], capture_output=True, text=True, timeout=5,
                              check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def disk_free(folder: Path) -> tuple[float | None, Path]:
    """Free GB where `folder` is or will be made: its nearest existing parent's file system."""
    place = folder
    while not place.exists() and place.parent != place:
        place = place.parent
    try:
        return shutil.disk_usage(place).free / GB, place
    except OSError:
        return None, place


def torch_build() -> str:
    """The installed torch's version with its build ("2.13.0+cu130"), without importing it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("torch")
    except PackageNotFoundError:
        return "not installed"


def is_apple_silicon() -> bool:
    return sys.platform == "darwin" and platform.machine() == "arm64"


def read_hardware(prefer: str | None = None) -> Hardware:
    """This machine's profile (slow: it runs nvidia-smi). `prefer`: the device the user asked
    renders to run on ("cuda", "mps", "cpu"), None for the best there is."""
    from .hub import cache_root

    if prefer not in (None, "cuda", "mps", "cpu"):
        raise ModelError(f"--device {prefer}: choose cuda, mps or cpu")
    ram, ram_free = read_ram()
    cache = cache_root()
    disk, _ = disk_free(cache)
    common = dict(ram_gb=ram, ram_free_gb=ram_free, disk_free_gb=disk, cache_dir=str(cache), torch=torch_build())
    if "torch" in sys.modules:  # already paid for: ask it, it sees what a render will see
        return _from_torch(prefer, common)
    gpu = visible_gpu(read_smi(), os.environ.get("CUDA_VISIBLE_DEVICES"))
    if prefer == "cuda" and gpu is None:
        raise ModelError("--device cuda: no CUDA GPU is available on this machine")
    if prefer == "mps" and not is_apple_silicon():
        raise ModelError("--device mps: Apple MPS is not available on this machine")
    if gpu is not None and prefer in (None, "cuda"):
        capability = gpu.compute_capability
        return Hardware("cuda", gpu.name, gpu.total_gb, gpu.free_gb, capability, bf16=_bf16(capability),
                        **common)
    if is_apple_silicon() and prefer in (None, "mps"):
        chip = _sysctl("machdep.cpu.brand_string") or "Apple silicon"
        usable = apple_gpu_gb(ram)
        return Hardware("mps", f"{chip} GPU", usable, usable, "", bf16=True, **common)
    return Hardware("cpu", "", None, None, "", **common)


def _bf16(capability: str) -> bool:
    """bfloat16 in hardware: Ampere (8.0) and later."""
    try:
        return int(capability.split(".")[0]) >= 8
    except ValueError:
        return False


def _from_torch(prefer: str | None, common: dict) -> Hardware:
    import torch

    from .device import _cuda_memory, pick_device

    device = pick_device(prefer)
    if device == "cuda":
        props = torch.cuda.get_device_properties(torch.cuda.current_device())
        total, free = _cuda_memory()
        return Hardware("cuda", props.name, total, free, f"{props.major}.{props.minor}",
                        bf16=torch.cuda.is_bf16_supported(including_emulation=False), **common)
    if device == "mps":
        recommended = getattr(torch.mps, "recommended_max_memory", None)
        usable = recommended() / GB if recommended else apple_gpu_gb(common["ram_gb"])
        chip = _sysctl("machdep.cpu.brand_string") or "Apple silicon"
        return Hardware("mps", f"{chip} GPU", usable, usable, "", bf16=True, **common)
    return Hardware("cpu", "", None, None, "", **common)
