"""packaging/macos/build-app.sh, run here (it needs no Mac; signing does, and is not done here):
the bundle's layout and Info.plist, and its executable handing the launcher the agreed arguments."""

from __future__ import annotations

import io
import json
import os
import plistlib
import shutil
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from i2v_desktop import __version__
from i2v_desktop.app import APP_ID
from i2v_desktop.core.image import SUPPORTED_EXTENSIONS

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "packaging" / "macos" / "build-app.sh"
# Apple's type identifier for each file name ending the app accepts.
UTI_OF = {".jpg": "public.jpeg", ".jpeg": "public.jpeg", ".jfif": "public.jpeg", ".png": "public.png",
          ".webp": "org.webmproject.webp", ".tif": "public.tiff", ".tiff": "public.tiff",
          ".bmp": "com.microsoft.bmp", ".gif": "com.compuserve.gif", ".mp4": "public.mpeg-4"}
# A stand-in launcher: says what it was given.
ECHO = "import json, os, sys\nprint(json.dumps({'argv': sys.argv, 'python': sys.executable}))\n"


def build(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(BUILD), *args], capture_output=True, text=True, timeout=120,
                          env=env or dict(os.environ))


def python_shim(path: Path) -> None:
    """A bin/python3 that is this test's Python (a Mac one cannot run here)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    path.chmod(0o755)


@pytest.fixture
def inputs(tmp_path) -> dict[str, Path]:
    wheels = tmp_path / "wheelhouse"
    wheels.mkdir()
    for name in (f"i2v_desktop-{__version__}-py3-none-any.whl",
                 "pillow-11.0.0-cp311-cp311-macosx_11_0_arm64.whl"):
        (wheels / name).write_bytes(b"PK stand-in")
    archive = tmp_path / "cpython-3.11-aarch64-apple-darwin-install_only.tar.gz"
    shim = tmp_path / "shim" / "python" / "bin" / "python3"
    python_shim(shim)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(shim.parent.parent, arcname="python")
        info = tarfile.TarInfo("python/lib/python3.11/os.py")
        tar.addfile(info, io.BytesIO())
    launcher = tmp_path / "i2v_launcher.py"
    launcher.write_text(ECHO)
    return {"wheelhouse": wheels, "python": archive, "launcher": launcher, "out": tmp_path / "dist"}


def args_of(inputs: dict[str, Path], **changes) -> list[str]:
    merged = {**inputs, **changes}
    return [part for key, value in merged.items() if value is not None for part in (f"--{key}", str(value))]


def test_the_bundle_has_the_layout_and_info_plist_macos_expects(inputs) -> None:
    result = build(*args_of(inputs))
    assert result.returncode == 0, result.stderr
    app = inputs["out"] / "i2v desktop.app"
    assert sorted(p.name for p in inputs["out"].iterdir()) == ["i2v desktop.app"]  # no build folder left
    contents = app / "Contents"
    with (contents / "Info.plist").open("rb") as f:
        info = plistlib.load(f)
    assert info["CFBundleIdentifier"] == APP_ID and info["CFBundlePackageType"] == "APPL"
    assert info["CFBundleShortVersionString"] == info["CFBundleVersion"] == __version__
    assert info["CFBundleName"] == "i2v desktop" and info["NSHighResolutionCapable"] is True
    executable = contents / "MacOS" / info["CFBundleExecutable"]
    assert executable.is_file() and executable.stat().st_mode & stat.S_IXUSR
    assert (contents / "Resources" / info["CFBundleIconFile"]).read_bytes() == \
        (ROOT / "resources" / "icons" / "i2v-desktop.icns").read_bytes()
    assert (contents / "PkgInfo").read_text() == "APPL????"
    assert (contents / "Resources" / "i2v_launcher.py").read_text() == ECHO
    assert sorted(p.name for p in (contents / "Resources" / "wheelhouse").iterdir()) == \
        sorted(p.name for p in inputs["wheelhouse"].iterdir())
    assert os.access(contents / "Resources" / "python" / "bin" / "python3", os.X_OK)
    # What build.md signs the bundled Python with: it must load the packages installed after signing.
    with (ROOT / "packaging" / "macos" / "entitlements.plist").open("rb") as f:
        assert plistlib.load(f) == {"com.apple.security.cs.disable-library-validation": True}


def test_open_with_covers_exactly_the_files_the_app_opens_without_becoming_their_default(inputs) -> None:
    assert build(*args_of(inputs, python=None)).returncode == 0
    with (inputs["out"] / "i2v desktop.app" / "Contents" / "Info.plist").open("rb") as f:
        types = plistlib.load(f)["CFBundleDocumentTypes"]
    assert {t["LSHandlerRank"] for t in types} == {"Alternate"}
    listed = [uti for t in types for uti in t["LSItemContentTypes"]]
    unknown = [ext for ext in SUPPORTED_EXTENSIONS if ext not in UTI_OF]
    assert not unknown, f"the app opens {unknown} now: add their type ids here and to build-app.sh"
    assert len(listed) == len(set(listed))
    assert set(listed) == {UTI_OF[e] for e in (*SUPPORTED_EXTENSIONS, ".mp4")}


def test_the_bundle_runs_the_launcher_with_its_own_python_and_the_agreed_arguments(inputs, tmp_path) -> None:
    assert build(*args_of(inputs)).returncode == 0
    app = inputs["out"] / "i2v desktop.app"
    home = tmp_path / "home"
    run = subprocess.run([str(app / "Contents" / "MacOS" / "i2v-desktop"), "photo one.jpg", "-psn_0_4711"],
                         capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": str(home)})
    assert run.returncode == 0, run.stderr
    resources = app / "Contents" / "Resources"
    venv = home / "Library" / "Application Support" / "i2v_desktop" / "venv"
    assert json.loads(run.stdout)["argv"] == [
        str(resources / "i2v_launcher.py"), "--venv", str(venv),
        "--wheelhouse", str(resources / "wheelhouse"), "--", "i2v-desktop", "photo one.jpg"]


def test_without_its_own_python_the_bundle_uses_a_python3_on_path(inputs, tmp_path) -> None:
    assert build(*args_of(inputs, python=None)).returncode == 0
    app = inputs["out"] / "i2v desktop.app"
    assert not (app / "Contents" / "Resources" / "python").exists()
    python_shim(tmp_path / "bin" / "python3")
    env = {**os.environ, "HOME": str(tmp_path / "home"), "PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin"}
    run = subprocess.run([str(app / "Contents" / "MacOS" / "i2v-desktop")], capture_output=True, text=True,
                         timeout=60, env=env)
    assert run.returncode == 0, run.stderr
    assert '"i2v-desktop"]' in run.stdout


def test_a_rebuild_replaces_the_bundle_and_wrong_inputs_are_refused_in_one_line(inputs, tmp_path) -> None:
    assert build(*args_of(inputs)).returncode == 0
    assert build(*args_of(inputs, python=None)).returncode == 0  # replaced: now without a Python
    app = inputs["out"] / "i2v desktop.app"
    assert not (app / "Contents" / "Resources" / "python").exists()
    empty, no_python = tmp_path / "empty", tmp_path / "nopython"
    empty.mkdir()
    (no_python / "bin").mkdir(parents=True)
    cases = [({"wheelhouse": empty},
              f"{empty}: no i2v_desktop-{__version__}-*.whl in it (python -m build --wheel, build.md)"),
             ({"launcher": tmp_path / "none.py"}, f"{tmp_path / 'none.py'}: no such file (the launcher)"),
             ({"python": no_python}, f"{no_python}: no bin/python3 in it; expected a python-build-standalone "
                                     "install_only build for macOS"),
             ({"python": tmp_path / "missing.tar.gz"},
              f"{tmp_path / 'missing.tar.gz'}: no such file or folder")]
    for change, reason in cases:
        result = build(*args_of(inputs, **change))
        assert (result.returncode, result.stderr) == (2, f"build-app.sh: {reason}\n"), change
    assert (app / "Contents" / "Info.plist").is_file()  # the last good bundle is still whole
    assert sorted(p.name for p in inputs["out"].iterdir()) == ["i2v desktop.app"]
    foreign = tmp_path / "other"
    (foreign / "i2v desktop.app").mkdir(parents=True)
    result = build(*args_of(inputs, out=foreign))
    reason = f"{foreign / 'i2v desktop.app'}: exists and is not an i2v desktop bundle; move it away first"
    assert (result.returncode, result.stderr) == (2, f"build-app.sh: {reason}\n")


@pytest.mark.skipif(any(Path(p).exists() for p in ("/opt/homebrew/bin/python3", "/usr/local/bin/python3",
                                                    "/Library/Frameworks/Python.framework")),
                    reason="a Python the bundle would use is installed where it looks")
def test_without_any_python_the_bundle_says_what_to_install(inputs, tmp_path) -> None:
    assert build(*args_of(inputs, python=None)).returncode == 0
    empty = tmp_path / "bin"
    empty.mkdir()
    for tool in ("dirname", "mkdir"):
        (empty / tool).symlink_to(shutil.which(tool))
    run = subprocess.run([str(inputs["out"] / "i2v desktop.app" / "Contents" / "MacOS" / "i2v-desktop")],
                         capture_output=True, text=True, timeout=60,
                         env={**os.environ, "HOME": str(tmp_path / "home"), "PATH": str(empty)})
    assert run.returncode == 1
    assert run.stderr == ("i2v-desktop: i2v desktop needs Python 3.10 or newer. Install it from python.org "
                          "(or Homebrew), then open i2v desktop again.\n")
