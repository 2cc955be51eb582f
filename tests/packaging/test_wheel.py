"""The app as a user installs it: an sdist built from the checkout, a wheel built from that sdist
(what `python -m build` does), installed into a fresh virtual environment outside the clone, whose
commands then print the version and render a bundled sample with the instant engine.

The fresh environment sees this interpreter's installed dependencies through a .pth file (torch and
the rest cannot be downloaded here) but neither the checkout nor this environment's editable install
of it: a .pth line only appends a folder to sys.path, so the editable finder's own .pth in that
folder is never run, and no PYTHONPATH is passed on."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import av
import pytest

import i2v_desktop

REPO = Path(__file__).resolve().parents[2]
VERSION = i2v_desktop.__version__
# What a checkout may hold that is no part of its source: build outputs, caches, clips tried out.
LOCAL_ONLY = {".git", ".venv", ".pytest_cache", "build", "dist", "out", ".whl", ".screens"}
BUILD_TIMEOUT_S = 120


def _ignore(folder: str, names: list[str]) -> set[str]:
    skipped = {name for name in names if name == "__pycache__" or name.endswith(".egg-info")}
    if Path(folder) == REPO:
        skipped |= {name for name in names if name in LOCAL_ONLY or name.endswith((".mp4", ".mov", ".webm"))}
    return skipped


def _env(tmp: Path) -> dict[str, str]:
    """The caller's environment without anything that points Python at the checkout."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", XDG_CONFIG_HOME=str(tmp / "config"),
               XDG_DATA_HOME=str(tmp / "data"), XDG_CACHE_HOME=str(tmp / "cache"))
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result


def _backend(hook: str, source: Path, out: Path, env: dict[str, str]) -> Path:
    """Runs the project's build backend (setuptools, as pyproject names it) the way a PEP 517 front
    end does, with this interpreter's setuptools rather than a download."""
    out.mkdir(parents=True, exist_ok=True)
    code = f"import setuptools.build_meta as backend; print(backend.{hook}({str(out)!r}))"
    name = _run([sys.executable, "-c", code], source, env).stdout.strip().splitlines()[-1]
    return out / name


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("packaging")


@pytest.fixture(scope="module")
def checkout(work) -> Path:
    """A copy of the checkout: building writes egg-info and build folders into its source."""
    source = work / "checkout"
    shutil.copytree(REPO, source, ignore=_ignore, symlinks=True)
    return source


@pytest.fixture(scope="module")
def sdist(work, checkout) -> Path:
    return _backend("build_sdist", checkout, work / "sdist", _env(work))


@pytest.fixture(scope="module")
def wheel(work, sdist) -> Path:
    unpacked = work / "unpacked"
    with tarfile.open(sdist) as archive:
        archive.extractall(unpacked, filter="data")
    return _backend("build_wheel", unpacked / f"i2v_desktop-{VERSION}", work / "wheel", _env(work))


def _fresh_venv(work: Path, folder: Path) -> Path:
    """A new environment whose dependencies are this interpreter's; returns its python."""
    env = _env(work)
    _run([sys.executable, "-m", "venv", "--without-pip", str(folder)], work, env)
    python = folder / "bin" / "python"
    purelib = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        work, env).stdout.strip())
    ours = sysconfig.get_paths()
    folders = sorted({ours["purelib"], ours["platlib"]})
    (purelib / "dependencies.pth").write_text("".join(f"{path}\n" for path in folders))
    return python


def _install(work: Path, python: Path, *target: str) -> None:
    # --ignore-installed: the dependencies' folder holds this checkout's editable install under the same
    # name and version, which pip must neither take for the one installed here nor try to uninstall.
    _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", "--no-compile",
          "--no-build-isolation", "--disable-pip-version-check", "--quiet", *target], work, _env(work))


@pytest.fixture(scope="module")
def venv(work, wheel) -> Path:
    """A fresh environment with the wheel installed."""
    folder = work / "venv"
    _install(work, _fresh_venv(work, folder), str(wheel))
    return folder


def _resource_files() -> set[str]:
    return {path.relative_to(REPO).as_posix() for path in (REPO / "resources").rglob("*")
            if path.is_file() and "__pycache__" not in path.parts}


def test_the_sdist_carries_the_resources_the_readme_and_the_licence(sdist):
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"pyproject.toml", "README.md", "LICENSE", "resources/models.json"} <= names
    assert _resource_files() - names == set()


def test_the_wheel_installs_every_resource_inside_the_package_and_carries_the_version(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(f"i2v_desktop-{VERSION}.dist-info/METADATA").decode()
    assert {f"i2v_desktop/{name}" for name in _resource_files()} - names == set()
    assert f"\nVersion: {VERSION}\n" in metadata and "\nLicense-Expression: Apache-2.0\n" in metadata
    assert f"i2v_desktop-{VERSION}.dist-info/licenses/LICENSE" in names
    assert not any(name.startswith(("resources/", "tests/")) for name in names)


def test_the_installed_package_is_the_wheels_not_the_checkout(venv, work):
    code = ("import i2v_desktop, importlib.metadata as m; from i2v_desktop.core.resources import resource_root; "
            "print(i2v_desktop.__file__); print(resource_root()); print(m.version('i2v_desktop'))")
    lines = _run([str(venv / "bin" / "python"), "-c", code], work, _env(work)).stdout.split("\n")
    package, resources, version = lines[:3]
    assert Path(package).is_relative_to(venv) and Path(resources).is_relative_to(venv)
    assert Path(resources) == Path(package).parent / "resources"
    assert version == VERSION


def test_both_installed_commands_print_the_one_version(venv, work):
    for command in ("i2v", "i2v-desktop"):
        result = _run([str(venv / "bin" / command), "--version"], work, _env(work))
        assert result.stdout.strip() == f"i2v_desktop {VERSION}", command


def test_the_installed_command_renders_a_bundled_sample_with_the_instant_engine(venv, work):
    env, out = _env(work), work / "clips"
    code = "from i2v_desktop.core.resources import resource_path; print(resource_path('samples', 'coffee.jpg'))"
    where = _run([str(venv / "bin" / "python"), "-c", code], work, env).stdout.strip()
    sample = Path(where)
    assert sample.is_relative_to(venv) and sample.is_file()
    result = _run([str(venv / "bin" / "i2v"), "render", str(sample), "--model", "instant", "--preset", "orbit",
                   "--duration", "1", "--fps", "12", "--aspect", "1:1", "--quality", "draft", "--seed", "1",
                   "--out", str(out)], work, env)
    assert "Instant (2.5D, no AI model)" in result.stderr
    with av.open(str(out / "coffee.mp4")) as container:
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        frames = sum(1 for _ in container.decode(stream))
    assert frames == 12 and width == height and width >= 256


def test_an_editable_install_reads_the_clones_own_resources(work, checkout):
    """`pip install -e`, as the project's own .venv is made: the package is the clone's, and so is
    the data folder beside it, which the editable finder does not put inside the package."""
    python = _fresh_venv(work, work / "editable")
    _install(work, python, "-e", str(checkout))
    code = ("import i2v_desktop; from i2v_desktop.core.resources import resource_path; "
            "print(i2v_desktop.__file__); print(resource_path('models.json'))")
    package, models = _run([str(python), "-c", code], work, _env(work)).stdout.split("\n")[:2]
    assert Path(package) == checkout / "i2v_desktop" / "__init__.py"
    assert Path(models) == checkout / "resources" / "models.json"
    result = _run([str(work / "editable" / "bin" / "i2v"), "presets"], work, _env(work))
    assert "orbit" in result.stdout
