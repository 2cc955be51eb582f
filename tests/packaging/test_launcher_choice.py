"""The launcher's choice of torch build, from injected facts (every branch, no hardware), the real
nvidia-smi query against stand-in programs, and the stamp and pyproject reading it starts from."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "packaging" / "launcher"))

import i2v_env  # noqa: E402
from i2v_torch_choice import Facts, choose, gather_facts, misfit, parse_nvidia_smi  # noqa: E402


def linux(smi: str | None = None, rocm: bool = False, machine: str = "x86_64") -> Facts:
    return Facts("Linux", machine, smi, rocm)


def test_no_nvidia_gpu_gets_the_cpu_build_from_the_cpu_index() -> None:
    choice = choose(linux())
    assert (choice.flavour, choice.requirement) == ("cpu", "torch==2.13.0+cpu")
    assert choice.index_url == "https://download.pytorch.org/whl/cpu"
    assert choice.reason == "no NVIDIA GPU -> CPU build"


@pytest.mark.parametrize("smi, tag, note", [
    ("580.95.05, 8.9\n", "cu130", False),
    ("565.57.01, 8.6\n", "cu126", False),
    ("550.54.15, 8.6\n", "cu126", True),       # 12.6 through minor-version compatibility
    ("525.60.13\n", "cu126", True),            # the floor for CUDA 12.x; no compute_cap field
    ("580.95.05, 6.1\n", "cu126", False),      # Pascal: CUDA 13 has no kernels for it
])
def test_an_nvidia_driver_gets_the_newest_cuda_build_it_runs(smi: str, tag: str, note: bool) -> None:
    choice = choose(linux(smi))
    assert (choice.flavour, choice.tag) == ("cuda", tag)
    assert choice.index_url == f"https://download.pytorch.org/whl/{tag}"
    assert choice.requirement == f"torch==2.13.0+{tag}"
    assert choice.reason.startswith(f"NVIDIA driver {smi.split(',')[0].strip()}")
    assert f"-> CUDA {tag[2:4]}.{tag[4]} build" in choice.reason
    assert ("minor-version compatibility" in choice.reason) == note


def test_windows_uses_the_windows_driver_floors() -> None:
    assert choose(Facts("Windows", "AMD64", "528.33, 8.6")).tag == "cu126"
    assert choose(Facts("Windows", "AMD64", "581.15, 8.9")).tag == "cu130"
    old = choose(Facts("Windows", "AMD64", "528.24, 8.6"))
    assert old.flavour == "cpu" and ">= 528.33" in old.reason


@pytest.mark.parametrize("smi, why", [
    ("525.60.12, 8.6", "update the driver"),        # below CUDA 12's floor
    ("570.86.10, 12.0", "update the driver"),       # Blackwell needs CUDA 13, hence driver 580
    ("580.95.05, 3.7", "compute capability 5.0-12.1"),   # Kepler: no build has kernels for it
    ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", "lists no driver"),
])
def test_a_driver_no_build_runs_on_falls_back_to_cpu_and_says_why(smi: str, why: str) -> None:
    choice = choose(linux(smi))
    assert choice.flavour == "cpu" and choice.tag == "cpu"
    assert why in choice.reason and choice.reason.endswith("-> CPU build")


def test_several_gpus_are_served_by_a_build_that_has_kernels_for_the_oldest() -> None:
    choice = choose(linux("580.95.05, 8.9\n580.95.05, 6.1\n"))
    assert choice.tag == "cu126" and choice.runs == ("cu126",)
    assert parse_nvidia_smi("580.95.05, 8.9\n580.95.05, 6.1\n") == ("580.95.05", 6.1)


def test_rocm_amd_and_apple() -> None:
    assert choose(linux(rocm=True)).index_url == "https://download.pytorch.org/whl/rocm7.2"
    assert choose(linux(rocm=True)).requirement == "torch==2.13.0+rocm7.2"
    assert choose(linux("580.95.05, 8.9", rocm=True)).flavour == "cuda"      # an NVIDIA driver wins
    assert choose(Facts("Windows", "AMD64", None, rocm=True)).flavour == "cpu"
    mps = choose(Facts("Darwin", "arm64"))
    assert (mps.flavour, mps.requirement, mps.index_url) == ("mps", "torch==2.13.0", None)
    assert choose(Facts("Darwin", "x86_64")).flavour == "none"
    assert choose(Facts("Windows", "ARM64")).flavour == "cpu"


def test_an_installed_build_fits_only_the_machine_it_suits() -> None:
    cpu, cu130 = choose(linux()), choose(linux("580.95.05, 8.9"))
    assert misfit(cpu, "2.13.0+cpu", None, None) is None
    assert "CUDA build" in misfit(cpu, "2.13.0+cu130", "13.0", None)     # never CUDA without a GPU
    assert "CPU build" in misfit(cu130, "2.13.0+cpu", None, None)
    assert misfit(cu130, "2.13.0+cu126", "12.6", None) is None           # still runs: no re-download
    assert "CUDA 13.0" in misfit(choose(linux("560.35.05, 8.9")), "2.13.0+cu130", "13.0", None)
    assert misfit(choose(Facts("Darwin", "arm64")), "2.13.0", None, None) is None
    assert "ROCM build" in misfit(cpu, "2.13.0+rocm7.2", None, "7.2.0")


def fake_program(folder: Path, name: str, script: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


@pytest.mark.skipif(os.name == "nt", reason="stand-in programs are shell scripts")
def test_gather_facts_asks_nvidia_smi_and_retries_without_compute_cap(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert gather_facts().nvidia_smi is None
    fake_program(tmp_path, "nvidia-smi", 'case "$1" in *compute_cap*) echo "550.54.15, 8.6";; esac')
    assert parse_nvidia_smi(gather_facts().nvidia_smi) == ("550.54.15", 8.6)
    # A driver older than 510 rejects the compute_cap field: the driver alone still counts.
    fake_program(tmp_path, "nvidia-smi", 'case "$1" in *compute_cap*) echo "Field not valid" >&2; exit 2;; '
                                         '*) echo "470.82.01";; esac')
    assert gather_facts().nvidia_smi.strip() == "470.82.01"
    fake_program(tmp_path, "nvidia-smi", "echo 'No devices were found'; exit 6")    # driver, no GPU
    assert gather_facts().nvidia_smi is None


def test_the_stamp_is_named_as_posix_cksum_names_it() -> None:
    assert i2v_env.cksum(b"123456789") == 930766865
    assert i2v_env.cksum(b"") == 4294967295
    binary = shutil.which("cksum")
    if binary:    # coreutils' own figure for the real file, the one scripts/bootstrap.sh computes
        data = (REPO / "pyproject.toml").read_bytes()
        out = subprocess.run([binary], input=data, capture_output=True, check=True).stdout
        assert i2v_env.cksum(data) == int(out.split()[0])


def test_pyproject_is_read_the_same_without_tomllib(monkeypatch) -> None:
    path = REPO / "pyproject.toml"
    full = i2v_env.read_pyproject(path)
    monkeypatch.setitem(sys.modules, "tomllib", None)          # as on Python 3.10
    bare = i2v_env.read_pyproject(path)
    assert bare["project"]["name"] == full["project"]["name"] == "i2v_desktop"
    assert bare["project"]["version"] == full["project"].get("version")
    assert bare["project"]["dynamic"] == full["project"].get("dynamic", [])
    assert bare["tool"]["setuptools"]["dynamic"] == full["tool"]["setuptools"]["dynamic"]
    assert bare["build-system"]["requires"] == full["build-system"]["requires"]
    # The version the launcher reads from the checkout is the package's, read either way.
    from i2v_desktop import __version__

    assert i2v_env._dynamic_version(bare, REPO) == i2v_env._dynamic_version(full, REPO) == __version__


def test_the_checkout_is_found_from_its_launcher_and_a_wheel_otherwise(tmp_path: Path) -> None:
    from i2v_desktop import __version__

    source = i2v_env.find_source(REPO / "packaging" / "launcher", None)
    assert source.checkout == REPO and source.build_requires and source.version == __version__
    for name in ("i2v_desktop-0.9.0", "i2v_desktop-0.10.0", "other-1.0"):
        (tmp_path / f"{name}-py3-none-any.whl").write_bytes(b"")
    assert i2v_env.find_source(tmp_path, None).wheel.name == "i2v_desktop-0.10.0-py3-none-any.whl"
    with pytest.raises(i2v_env.LauncherError, match="no i2v_desktop checkout"):
        i2v_env.find_source(tmp_path / "empty", None)


def test_a_broken_pyproject_is_named_with_its_reason(tmp_path: Path) -> None:
    (tmp_path / "packaging" / "launcher").mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "i2v_desktop\n')
    with pytest.raises(i2v_env.LauncherError, match=r"pyproject.toml is not valid TOML \(.*line 2"):
        i2v_env.find_source(tmp_path / "packaging" / "launcher", None)
