"""End to end from a fresh copy of the checkout: the launcher's check names what is missing, then a
provisioning run from a local wheelhouse (offline: --no-index) installs the app editable and runs a
command from the environment. The environment sees the packages already installed for this test
run through a path file (as --system-site-packages would), so nothing multi-GB is downloaded or copied;
the wheelhouse holds the build backend, repacked from the installed one."""

from __future__ import annotations

import csv
import importlib.metadata
import io
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SKIP_TOP = {".git", ".venv", "docs", "tests", "build", "dist", "out"}


def clone_like(dest: Path) -> Path:
    """The checkout as a clone has it: every top-level file and folder the app is built from."""
    dest.mkdir()
    for entry in REPO.iterdir():
        if entry.name in SKIP_TOP or entry.name.startswith("."):
            continue
        if entry.is_dir():
            shutil.copytree(entry, dest / entry.name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(entry, dest / entry.name)
    return dest


def wheel_of_installed(name: str, out: Path) -> Path:
    """A wheel of a distribution installed in this interpreter, from its own file list."""
    dist = importlib.metadata.distribution(name)
    version = dist.version
    info = f"{dist.metadata['Name'].replace('-', '_')}-{version}.dist-info"
    path = out / f"{dist.metadata['Name'].replace('-', '_')}-{version}-py3-none-any.whl"
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in dist.files:
            text = file.as_posix()
            if text.startswith("..") or "__pycache__" in text \
                    or text.endswith((".pyc", "RECORD", "INSTALLER")):
                continue
            archive.write(dist.locate_file(file), text)
            writer.writerow([text, "", ""])
        writer.writerow([f"{info}/RECORD", "", ""])
        archive.writestr(f"{info}/RECORD", record.getvalue())
    return path


def layer_of_installed(dest: Path) -> Path:
    """This run's installed packages (torch and the rest), minus the app itself, as links."""
    site = Path(sysconfig.get_paths()["purelib"])
    dest.mkdir()
    for entry in site.iterdir():
        if entry.name.startswith(("i2v_desktop", "__editable__", "_i2v_desktop")) or entry.suffix == ".pth":
            continue
        (dest / entry.name).symlink_to(entry)
    return dest


@pytest.mark.skipif(os.name == "nt", reason="links and the venv layout are POSIX here")
def test_a_fresh_clone_is_checked_then_provisioned_offline_from_a_wheelhouse(tmp_path: Path) -> None:
    clone = clone_like(tmp_path / "clone")
    house = tmp_path / "wheelhouse"
    house.mkdir()
    wheel_of_installed("setuptools", house)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "installed-for-tests.pth").write_text(str(layer_of_installed(tmp_path / "layer")) + "\n")

    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "I2V_WHEELHOUSE") and not key.startswith("PIP_")}
    env.update(PATH=str(tmp_path / "nobin"), PIP_CONFIG_FILE=os.devnull,
               PIP_CACHE_DIR=str(tmp_path / "pipcache"), PIP_NO_INPUT="1")
    launcher = [sys.executable, str(clone / "packaging" / "launcher" / "i2v_launcher.py"),
                "--venv", str(venv), "--wheelhouse", str(house)]

    def launch(*args: str) -> subprocess.CompletedProcess:
        # Run from elsewhere: `python -c` puts its working folder first on the path.
        return subprocess.run([*launcher, *args], capture_output=True, text=True, env=env, cwd=tmp_path,
                              timeout=900)

    check = launch("--check")
    assert check.returncode == 1, check.stdout + check.stderr
    assert "i2v_desktop  PROBLEM: not installed" in check.stdout
    assert "torch        ok: 2.13.0" in check.stdout

    code = "import i2v_desktop, torch; print(i2v_desktop.__file__); print(torch.__version__)"
    run = launch("--", "python", "-c", code)
    assert run.returncode == 0, run.stderr
    from i2v_desktop import __version__ as version  # pyproject takes it from the package
    assert f"[1/2] i2v_desktop {version} (editable, {clone})…" in run.stderr
    assert "[2/2] Checking the environment…" in run.stderr
    app_file, torch_version = run.stdout.split()
    assert Path(app_file).resolve() == (clone / "i2v_desktop" / "__init__.py").resolve()
    assert torch_version.startswith("2.13.0")
    assert list(venv.glob(".installed-*")), "a healthy environment is stamped, so the next start is a no-op"

    again = launch("--check")
    assert again.returncode == 0, again.stdout
