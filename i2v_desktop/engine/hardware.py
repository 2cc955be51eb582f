"""This machine as a model needs it: the GPU, its memory and compute capability, RAM, free disk
where downloads go, and the torch build (`core.studio.Hardware`).

The GPU's free memory counts what our own processes hold there as free: a render frees its loaded
model before loading another, and the memory plan counts it so too (device.read_facts), so a
verdict read while a model is loaded says what the next render will see.

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
SMI_FIELDS = ("uuid", "name", "memory.total", "memory.free", "compute_cap")
# The processes using each GPU: what our own render process holds counts as free for us.
SMI_APPS = ("gpu_uuid", "pid", "used_memory")
MIB = 1024**2


@dataclass(frozen=True)
class Gpu:
    """One NVIDIA GPU as nvidia-smi lists it."""

    uuid: str
    name: str
    total_gb: float | None
    free_gb: float | None
    compute_capability: str  # "9.0", "" when the driver does not say


def _gb(cell: str) -> float | None:
    try:
        return float(cell) * MIB / GB
    except ValueError:
        return None  # "[N/A]", "[Not Supported]"


def parse_smi(text: str) -> list[Gpu]:
    """GPUs from `nvidia-smi --query-gpu=uuid,name,memory.total,memory.free[,compute_cap]
    --format=csv,noheader,nounits`: one line each; "[N/A]" and "[Not Supported]" read as unknown."""
    gpus = []
    for line in text.splitlines():
        uuid, _, rest = line.strip().partition(",")
        cells = [cell.strip() for cell in rest.rsplit(",", len(SMI_FIELDS) - 2)]
        if len(cells) == len(SMI_FIELDS) - 2:  # asked without compute_cap
            cells.append("")
        if not uuid.startswith("GPU-") or len(cells) != len(SMI_FIELDS) - 1:
            continue
        name, total, free, capability = cells
        capability = capability if capability[:1].isdigit() else ""
        gpus.append(Gpu(uuid, name, _gb(total), _gb(free), capability))
    return gpus


def parse_apps(text: str) -> list[tuple[str, int, float]]:
    """(GPU uuid, pid, GB used) from `nvidia-smi --query-compute-apps=gpu_uuid,pid,used_memory
    --format=csv,noheader,nounits`; lines it cannot read are left out."""
    apps = []
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.split(",")]
        if len(cells) != len(SMI_APPS) or not cells[1].isdigit():
            continue
        used = _gb(cells[2])
        if used is not None:
            apps.append((cells[0], int(cells[1]), used))
    return apps


def free_for_us(gpu: Gpu, apps: list[tuple[str, int, float]], ours: set[int]) -> float | None:
    """The GPU's free memory plus what our own processes hold there: a render frees its loaded
    model before it loads another (the memory plan counts it the same way, device.read_facts)."""
    if gpu.free_gb is None:
        return None
    held = sum(used for uuid, pid, used in apps if uuid == gpu.uuid and pid in ours)
    return gpu.free_gb + held if gpu.total_gb is None else min(gpu.total_gb, gpu.free_gb + held)


def own_pids() -> set[int]:
    """This process and the render processes it started (multiprocessing's children)."""
    import multiprocessing

    try:
        children = {child.pid for child in multiprocessing.active_children() if child.pid}
    except RuntimeError:  # another thread started a process meanwhile: count this one only
        children = set()
    return {os.getpid(), *children}


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


def read_smi() -> tuple[list[Gpu], list[tuple[str, int, float]]]:
    """The NVIDIA GPUs nvidia-smi lists and the processes using them; none where it is missing or fails."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return [], []

    def ask(query: str) -> str:
        return subprocess.run([smi, query, "--format=csv,noheader,nounits"], capture_output=True, text=True,
                              timeout=10, check=True).stdout

    gpus: list[Gpu] = []
    for fields in (SMI_FIELDS, SMI_FIELDS[:-1]):  # an older driver refuses compute_cap: ask without it
        try:
            gpus = parse_smi(ask(f"--query-gpu={','.join(fields)}"))
            break
        except subprocess.CalledProcessError:
            continue
        except (OSError, subprocess.SubprocessError):
            return [], []
    try:
        apps = parse_apps(ask(f"--query-compute-apps={','.join(SMI_APPS)}")) if gpus else []
    except (OSError, subprocess.SubprocessError):
        apps = []
    return gpus, apps


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
    gpus, apps = read_smi()
    gpu = visible_gpu(gpus, os.environ.get("CUDA_VISIBLE_DEVICES"))
    if prefer == "cuda" and gpu is None:
        raise ModelError("--device cuda: no CUDA GPU is available on this machine")
    if prefer == "mps" and not is_apple_silicon():
        raise ModelError("--device mps: Apple MPS is not available on this machine")
    if gpu is not None and prefer in (None, "cuda"):
        capability = gpu.compute_capability
        free = free_for_us(gpu, apps, own_pids())
        return Hardware("cuda", gpu.name, gpu.total_gb, free, capability, bf16=_bf16(capability), **common)
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
        free = min(total, free + torch.cuda.memory_reserved() / GB)  # ours: freed before another model loads
        return Hardware("cuda", props.name, total, free, f"{props.major}.{props.minor}",
                        bf16=torch.cuda.is_bf16_supported(including_emulation=False), **common)
    if device == "mps":
        recommended = getattr(torch.mps, "recommended_max_memory", None)
        usable = recommended() / GB if recommended else apple_gpu_gb(common["ram_gb"])
        chip = _sysctl("machdep.cpu.brand_string") or "Apple silicon"
        return Hardware("mps", f"{chip} GPU", usable, usable, "", bf16=True, **common)
    return Hardware("cpu", "", None, None, "", **common)
