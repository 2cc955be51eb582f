"""The launcher for real, offline: wheels of a stand-in torch and a stand-in app, built here with
`pip wheel`, installed from a local wheelhouse with --no-index into a fresh environment; then the
fast start, a broken interpreter recreated, a CUDA build replaced on a machine without an NVIDIA
GPU, and a wheelhouse that lacks the machine's build failing with one line that says what to try."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LAUNCHER = REPO / "packaging" / "launcher"

pytestmark = pytest.mark.skipif(os.name == "nt", reason="stand-in programs and venv layout are POSIX here")


BUILD = '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def build_wheel(project: Path, out: Path, cache: Path) -> None:
    env = {key: value for key, value in os.environ.items()
           if key != "PYTHONPATH" and not key.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_CACHE_DIR=str(cache))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-build-isolation", "--no-deps",
                    "--no-index", "-w", str(out), str(project)], check=True, env=env, capture_output=True)


def fake_torch(root: Path, tag: str, cuda: str | None) -> Path:
    return write(root / f"torch-{tag}", {
        "pyproject.toml": BUILD + f'[project]\nname = "torch"\nversion = "2.13.0+{tag}"\n'
                          '[tool.setuptools]\npackages = ["torch"]\n',
        "torch/__init__.py": f'from torch import version\n__version__ = "2.13.0+{tag}"\n',
        "torch/version.py": f"cuda = {cuda!r}\nhip = None\n"})


def fake_app(root: Path, version: str) -> Path:
    return write(root / f"app-{version}", {
        "pyproject.toml": BUILD + f'[project]\nname = "i2v_desktop"\nversion = "{version}"\n'
                          'dependencies = ["torch"]\n'
                          '[project.optional-dependencies]\ntest = []\n'
                          '[project.gui-scripts]\ni2v-desktop = "i2v_desktop.app:main"\n'
                          '[tool.setuptools]\npackages = ["i2v_desktop"]\n',
        "i2v_desktop/__init__.py": "",
        "i2v_desktop/app.py": "import sys\n\ndef main():\n    import torch\n"
                              f"    print('window', '{version}', torch.__version__, *sys.argv[1:])\n"})


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """One folder of wheels for the module: torch +cpu and +cu130 stand-ins, the app 0.1.0 and 0.2.0."""
    root = tmp_path_factory.mktemp("built")
    wheels, cache = root / "wheels", root / "cache"
    for project in (fake_torch(root, "cpu", None), fake_torch(root, "cu130", "13.0"),
                    fake_app(root, "0.1.0"), fake_app(root, "0.2.0")):
        build_wheel(project, wheels, cache)
    return wheels


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """The launcher as an installer ships it: its files in a folder of their own, no checkout around."""
    folder = tmp_path / "bundle"
    folder.mkdir()
    for path in LAUNCHER.glob("*.py"):
        shutil.copy2(path, folder)
    return folder


def wheelhouse(tmp_path: Path, built: Path, *names: str) -> Path:
    folder = tmp_path / "wheelhouse"
    folder.mkdir(exist_ok=True)
    for name in names:
        shutil.copy2(next(built.glob(name)), folder)
    return folder


def launch(bundle: Path, tmp_path: Path, *args: str, nvidia: str | None = None,
           pip_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Runs the launcher with nothing but a stand-in nvidia-smi (or none) on PATH and no pip config."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir(exist_ok=True)
    smi = bin_dir / "nvidia-smi"
    smi.unlink(missing_ok=True)
    if nvidia:
        smi.write_text(f"#!/bin/sh\necho '{nvidia}'\n")
        smi.chmod(0o755)
    # No PIP_* from the caller: a find-links or index there would be read beside the wheelhouse.
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "I2V_WHEELHOUSE") and not key.startswith("PIP_")}
    env.update(PATH=str(bin_dir), PIP_CONFIG_FILE=os.devnull, PIP_CACHE_DIR=str(tmp_path / "pipcache"),
               PIP_NO_INPUT="1", **(pip_env or {}))
    command = [sys.executable, str(bundle / "i2v_launcher.py"), "--venv", str(tmp_path / "venv"), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


def test_an_offline_install_from_a_wheelhouse_then_a_fast_start_and_a_repair(tmp_path, built, bundle) -> None:
    house = wheelhouse(tmp_path, built, "torch-2.13.0+cpu-*", "i2v_desktop-0.1.0-*")
    check = launch(bundle, tmp_path, "--wheelhouse", str(house), "--check")
    assert check.returncode == 1 and "environment  PROBLEM: missing" in check.stdout

    first = launch(bundle, tmp_path, "--wheelhouse", str(house), "--", "i2v-desktop", "photo.jpg")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "window 0.1.0 2.13.0+cpu photo.jpg"
    assert "torch: no NVIDIA GPU -> CPU build" in first.stderr
    for line in ("[1/4] Creating the environment…", "[2/4] torch 2.13.0 (CPU build)…",
                 "[3/4] i2v_desktop 0.1.0 (i2v_desktop-0.1.0-py3-none-any.whl)…",
                 "[4/4] Checking the environment…"):
        assert line in first.stderr

    # Current: straight to the command, no choice, no steps (and so no pip).
    again = launch(bundle, tmp_path, "--wheelhouse", str(house), "--", "i2v-desktop")
    assert again.returncode == 0 and again.stdout.strip() == "window 0.1.0 2.13.0+cpu"
    assert again.stderr == ""
    assert launch(bundle, tmp_path, "--wheelhouse", str(house), "--check").returncode == 0

    # The interpreter the environment points to is gone: the check says so, the next start rebuilds it.
    python = tmp_path / "venv" / "bin" / "python"
    python.unlink()
    python.symlink_to(tmp_path / "uninstalled" / "python3")
    broken = launch(bundle, tmp_path, "--wheelhouse", str(house), "--check")
    assert broken.returncode == 1 and "environment  PROBLEM: broken" in broken.stdout
    rebuilt = launch(bundle, tmp_path, "--wheelhouse", str(house))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "[1/4] Recreating the environment (its python is broken)…" in rebuilt.stderr
    assert rebuilt.stdout.strip() == "window 0.1.0 2.13.0+cpu"

    # A newer app wheel in the wheelhouse: the installed one no longer matches, and is replaced.
    shutil.copy2(next(built.glob("i2v_desktop-0.2.0-*")), house)
    # Checked through a link (another checkout sharing it), its stamp is left alone: not ours to clear.
    (tmp_path / "link").symlink_to(tmp_path / "venv")
    stamps = sorted((tmp_path / "venv").glob(".installed-*"))
    linked = launch(bundle, tmp_path, "--wheelhouse", str(house), "--venv", str(tmp_path / "link"), "--check")
    assert linked.returncode == 1 and sorted((tmp_path / "venv").glob(".installed-*")) == stamps != []
    stale = launch(bundle, tmp_path, "--wheelhouse", str(house), "--check")
    assert stale.returncode == 1 and "0.1.0 installed; this wheel is 0.2.0" in stale.stdout
    newer = launch(bundle, tmp_path, "--wheelhouse", str(house))
    assert newer.returncode == 0 and newer.stdout.strip() == "window 0.2.0 2.13.0+cpu"
    assert "[1/2] i2v_desktop 0.2.0" in newer.stderr


def test_the_torch_build_follows_the_machine_never_cuda_without_a_gpu(tmp_path, built, bundle) -> None:
    house = wheelhouse(tmp_path, built, "torch-2.13.0+cpu-*", "torch-2.13.0+cu130-*", "i2v_desktop-0.1.0-*")
    gpu = launch(bundle, tmp_path, "--wheelhouse", str(house), "--repair", nvidia="580.95.05, 8.9")
    assert gpu.returncode == 0, gpu.stderr
    assert "torch: NVIDIA driver 580.95.05, compute capability 8.9 -> CUDA 13.0 build" in gpu.stderr
    assert "[2/4] torch 2.13.0 (CUDA 13.0 build)…" in gpu.stderr

    # The GPU is gone (the disk moved to another machine): the CUDA build must go too.
    check = launch(bundle, tmp_path, "--wheelhouse", str(house), "--check")
    assert check.returncode == 1
    assert ("torch        PROBLEM: torch 2.13.0+cu130 is a CUDA build; this machine needs the CPU build"
            in check.stdout)
    cpu = launch(bundle, tmp_path, "--wheelhouse", str(house), "--", "python", "-c",
                 "import torch; print(torch.__version__, torch.version.cuda)")
    assert cpu.returncode == 0, cpu.stderr
    assert "[1/3] torch 2.13.0 (CPU build)…" in cpu.stderr and cpu.stdout.strip() == "2.13.0+cpu None"

    # A driver that runs only CUDA 12.6, and a wheelhouse without that build: one line says what to try.
    old = launch(bundle, tmp_path, "--wheelhouse", str(house), "--repair", nvidia="550.54.15, 8.6")
    last = old.stderr.strip().splitlines()[-1]
    assert old.returncode == 1
    assert last.startswith("i2v_desktop set-up failed: step 1/3 (torch 2.13.0 (CUDA 12.6 build)): ")
    assert "Try: the wheelhouse lacks a package this machine needs" in last


def test_bad_invocations_end_with_one_clear_line(tmp_path, bundle) -> None:
    missing = launch(bundle, tmp_path, "--wheelhouse", str(tmp_path / "nowhere"), "--check")
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines()[-1].startswith("i2v_desktop set-up failed: the wheelhouse ")
    nothing = launch(bundle, tmp_path, "--check")            # no checkout around it, no app wheel beside it
    assert nothing.returncode == 1 and "no i2v_desktop checkout" in nothing.stderr
    assert len(nothing.stderr.strip().splitlines()) == 1


def test_make_wheelhouse_gathers_what_an_offline_machine_of_this_kind_needs(tmp_path, built, bundle) -> None:
    # The "network" is a local folder holding both torch builds: only the machine's own may be fetched.
    shutil.copy2(next(built.glob("i2v_desktop-0.1.0-*")), bundle)          # as an installer ships it
    online = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(built)}
    house = tmp_path / "made"
    made = launch(bundle, tmp_path, "--make-wheelhouse", str(house), pip_env=online)
    assert made.returncode == 0, made.stderr
    assert "[2/4] Downloading torch 2.13.0 (CPU build)…" in made.stderr
    assert sorted(path.name for path in house.iterdir()) == [
        "i2v_desktop-0.1.0-py3-none-any.whl", "torch-2.13.0+cpu-py3-none-any.whl"]
    offline = launch(bundle, tmp_path, "--wheelhouse", str(house), "--", "i2v-desktop")
    assert offline.returncode == 0, offline.stderr
    assert offline.stdout.strip() == "window 0.1.0 2.13.0+cpu"
