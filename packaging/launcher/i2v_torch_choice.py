"""Which torch build suits this machine: a pure function of a few facts, so every branch is testable
without the hardware. Standard library only (it runs before any environment exists)."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from dataclasses import dataclass

TORCH_VERSION = "2.13.0"
INDEX = "https://download.pytorch.org/whl"


@dataclass(frozen=True)
class CudaBuild:
    """One CUDA build of torch and the NVIDIA drivers that can run it.

    `full_*` is the driver shipped with that CUDA toolkit (everything works); `min_*` is the floor of
    CUDA's minor-version compatibility for its major release (the wheels bundle their own runtime, so
    an older driver of the same family runs them, without PTX JIT of newer kernels). Figures from
    NVIDIA's CUDA Toolkit release notes (table 3) and its minor-version compatibility page."""
    tag: str
    cuda: str
    full_linux: str
    full_windows: str
    min_linux: str
    min_windows: str
    # Compute capabilities the build has kernels for (PyTorch's RELEASE.md CUDA support matrix).
    min_capability: float
    max_capability: float


# torch 2.13's stable CUDA builds, newest first (CUDA 13.2 is experimental for 2.13 and left out).
# 13.0 drops Maxwell, Pascal and Volta; 12.6 has no Blackwell kernels.
CUDA_BUILDS = (
    CudaBuild("cu130", "13.0", "580.65.06", "580.88", "580.65.06", "580.88", 7.5, 12.1),
    CudaBuild("cu126", "12.6", "560.35.05", "561.17", "525.60.13", "528.33", 5.0, 9.0),
)
ROCM_TAG = "rocm7.2"


@dataclass(frozen=True)
class Facts:
    """What the choice depends on; `nvidia_smi` is the output of `nvidia-smi --query-gpu=
    driver_version,compute_cap --format=csv,noheader` (None when there is no working nvidia-smi)."""
    system: str          # platform.system(): Linux, Windows, Darwin
    machine: str         # platform.machine(): x86_64, AMD64, arm64, aarch64
    nvidia_smi: str | None = None
    rocm: bool = False


@dataclass(frozen=True)
class Choice:
    flavour: str         # cpu, cuda, rocm, mps, none (no build exists)
    tag: str             # cu130, cu126, rocm7.2, cpu, "" (PyPI's default wheel)
    reason: str
    index_url: str | None = None
    # For CUDA: the tags of every build this driver and GPU run, best first (an installed one of
    # these is kept).
    runs: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        if self.flavour == "cuda":
            return "CUDA " + next(build.cuda for build in CUDA_BUILDS if build.tag == self.tag)
        return {"cpu": "CPU", "rocm": f"ROCm {self.tag[4:]}", "mps": "Apple MPS"}.get(self.flavour, "none")

    @property
    def requirement(self) -> str:
        """The exact pin: a local version (+cpu, +cu130…) where the build has one, so a wheelhouse or
        a mirror holding several flavours serves the right one."""
        return f"torch=={TORCH_VERSION}+{self.tag}" if self.tag else f"torch=={TORCH_VERSION}"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


_SMI_LINE = re.compile(r"^\s*(\d+\.\d+(?:\.\d+)?)\s*(?:,\s*(\d+\.\d+))?\s*$")


def parse_nvidia_smi(output: str) -> tuple[str, float | None] | None:
    """The driver and the lowest compute capability among the GPUs (the build must serve them
    all), or None when no line holds a driver version."""
    driver, capabilities = None, []
    for line in output.splitlines():
        match = _SMI_LINE.match(line)
        if match:
            driver = driver or match.group(1)
            if match.group(2):
                capabilities.append(float(match.group(2)))
    if driver is None:
        return None
    return driver, (min(capabilities) if capabilities else None)


def _cuda_choice(facts: Facts, output: str) -> Choice:
    parsed = parse_nvidia_smi(output)
    if parsed is None:
        return cpu_choice("nvidia-smi lists no driver version")
    driver, capability = parsed
    windows = facts.system == "Windows"
    about = f"NVIDIA driver {driver}"
    if capability is not None:
        about += f", compute capability {capability}"
    usable = [build for build in CUDA_BUILDS
              if _version(driver) >= _version(build.min_windows if windows else build.min_linux)
              and (capability is None or build.min_capability <= capability <= build.max_capability)]
    if not usable:
        floor = CUDA_BUILDS[-1].min_windows if windows else CUDA_BUILDS[-1].min_linux
        return cpu_choice(f"{about} runs no CUDA build of torch {TORCH_VERSION} (they need driver "
                          f">= {floor} and compute capability 5.0-12.1); update the driver to render "
                          "on the GPU")
    best = usable[0]
    full = best.full_windows if windows else best.full_linux
    note = "" if _version(driver) >= _version(full) else \
        f" (by CUDA minor-version compatibility; driver {full} or newer gives every feature)"
    return Choice("cuda", best.tag, f"{about} -> CUDA {best.cuda} build{note}", f"{INDEX}/{best.tag}",
                  tuple(build.tag for build in usable))


def cpu_choice(why: str) -> Choice:
    return Choice("cpu", "cpu", f"{why} -> CPU build", f"{INDEX}/cpu")


def choose(facts: Facts) -> Choice:
    """The torch build for these facts. A machine without a working NVIDIA driver never gets CUDA."""
    machine = facts.machine.lower()
    if facts.system == "Darwin":
        if machine in ("arm64", "aarch64"):
            return Choice("mps", "", "Apple silicon -> PyPI's default build (Metal, MPS)")
        return Choice("none", "", f"PyTorch publishes no torch {TORCH_VERSION} for Intel Macs "
                                  "(its last macOS x86_64 build is 2.2)")
    if facts.nvidia_smi is not None and facts.system in ("Linux", "Windows") \
            and machine in ("x86_64", "amd64", "aarch64"):
        return _cuda_choice(facts, facts.nvidia_smi)
    if facts.rocm and facts.system == "Linux" and machine == "x86_64":
        return Choice("rocm", ROCM_TAG, f"AMD ROCm found -> ROCm {ROCM_TAG[4:]} build", f"{INDEX}/{ROCM_TAG}")
    return cpu_choice("no NVIDIA GPU" + (" (ROCm builds are Linux x86_64 only)" if facts.rocm else ""))


def gather_facts() -> Facts:
    """This machine's facts. nvidia-smi counts only when it runs and lists a driver (WSL keeps it
    outside PATH)."""
    system, machine = platform.system(), platform.machine()
    smi_path = shutil.which("nvidia-smi") or next(
        (p for p in ("/usr/lib/wsl/lib/nvidia-smi",) if os.access(p, os.X_OK)), None)
    smi = None
    # Drivers older than 510 have no compute_cap field and reject the whole query: ask again without it.
    for fields in ("driver_version,compute_cap", "driver_version") if smi_path else ():
        try:
            run = subprocess.run([smi_path, f"--query-gpu={fields}", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            break
        if run.returncode == 0 and parse_nvidia_smi(run.stdout):
            smi = run.stdout
            break
    rocm = system == "Linux" and (shutil.which("rocminfo") is not None or os.path.isdir("/opt/rocm"))
    return Facts(system, machine, smi, rocm)


def installed_flavour(cuda: str | None, hip: str | None) -> str:
    """The flavour of an installed torch, from torch.version.cuda and torch.version.hip."""
    return "rocm" if hip else "cuda" if cuda else "cpu"


def misfit(choice: Choice, version: str, cuda: str | None, hip: str | None) -> str | None:
    """None when the installed torch suits the choice, else why not. Any CUDA build the driver and
    GPU run is kept (no multi-GB download because a newer one exists); a machine without an NVIDIA
    driver must hold no CUDA build at all."""
    have = installed_flavour(cuda, hip)
    if choice.flavour == "mps" and have == "cpu":
        return None      # macOS has one build; torch.backends.mps decides at run time
    if have != choice.flavour:
        return f"torch {version} is a {have.upper()} build; this machine needs the {choice.label} build"
    if have == "cuda" and "cu" + cuda.replace(".", "") not in choice.runs:
        return f"torch {version} is built for CUDA {cuda}, which this machine cannot run ({choice.reason})"
    return None
