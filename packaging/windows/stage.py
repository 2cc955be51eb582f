"""Gather what packaging/windows/i2v_desktop.iss packs into the installer, in packaging/windows/stage/.

    python packaging/windows/stage.py --wheelhouse wheelhouse \\
        --python cpython-3.11.<x>+<date>-x86_64-pc-windows-msvc-install_only.tar.gz
    iscc packaging\\windows\\i2v_desktop.iss

stage/ then holds: python/ (a complete, relocatable CPython for Windows), wheelhouse/ (the app's
wheel and its dependencies), i2v_launcher.py (packaging/launcher/), i2v-desktop.ico
(resources/icons/) and version.iss (`#define AppVersion` from i2v_desktop.__version__). build.md
says how to get the Python archive and make the wheelhouse. Standard library only; it runs on any
OS, so the staging is tested on Linux too.

Why not python.org's "embeddable package": it cannot make a virtual environment (it has no
venv launcher, and its ._pth file fixes sys.path), and the launcher keeps the app's packages in
one, so that a repair can throw it away and start again.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STAGE = Path(__file__).resolve().parent / "stage"
LAUNCHER = ROOT / "packaging" / "launcher" / "i2v_launcher.py"
ICON = ROOT / "resources" / "icons" / "i2v-desktop.ico"
MARK = ".i2v-stage"  # marks a folder made here, the only kind this script will replace


class StageError(Exception):
    """One line saying which input is wrong and why."""


def app_version() -> str:
    text = (ROOT / "i2v_desktop" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__ = "([^"]+)"$', text, re.M)
    if not found:
        raise StageError(f"{ROOT / 'i2v_desktop' / '__init__.py'}: no __version__ line")
    return found.group(1)


def unpack_python(source: Path, dest: Path) -> None:
    """A python-build-standalone install_only archive (or its unpacked python/ folder) into dest."""
    if source.is_dir():
        shutil.copytree(source, dest)
    elif zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            if any(re.fullmatch(r"python\d+\._pth", name) for name in archive.namelist()):
                raise StageError(f"{source}: python.org's embeddable package cannot make the virtual "
                                 "environment the launcher needs; use a python-build-standalone "
                                 "install_only archive (build.md)")
        raise StageError(f"{source}: a zip file; expected a python-build-standalone install_only .tar.gz")
    elif tarfile.is_tarfile(source):
        with tempfile.TemporaryDirectory(dir=dest.parent) as tmp, tarfile.open(source) as archive:
            # The "data" filter refuses links and paths that leave the folder (Python 3.10.12+, 3.11.4+).
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            archive.extractall(tmp, **safe)
            top = Path(tmp) / "python"
            if not top.is_dir():
                raise StageError(f"{source}: no python/ folder at the top of the archive")
            top.rename(dest)
    else:
        raise StageError(f"{source}: neither a folder nor a .tar.gz archive")
    for needed in ("python.exe", "pythonw.exe", "Lib/venv/__init__.py", "Lib/venv/scripts/nt"):
        if not (dest / needed).exists():
            raise StageError(f"{source}: no {needed} in it; expected CPython for Windows "
                             "(x86_64-pc-windows-msvc install_only)")


def copy_wheelhouse(source: Path, dest: Path, version: str) -> list[Path]:
    if not source.is_dir():
        raise StageError(f"{source}: no such folder")
    wheels = sorted(source.glob("*.whl"))
    for wheel in wheels:
        if not zipfile.is_zipfile(wheel):
            raise StageError(f"{wheel}: not a wheel (not a zip file)")
    own = [w for w in wheels if w.name.startswith(f"i2v_desktop-{version}-")]
    if not own:
        raise StageError(f"{source}: no i2v_desktop-{version}-*.whl in it "
                         "(python -m build --wheel, build.md)")
    dest.mkdir()
    for wheel in wheels:
        shutil.copy2(wheel, dest / wheel.name)
    return wheels


def stage(python: Path, wheelhouse: Path, out: Path = STAGE, launcher: Path = LAUNCHER,
          icon: Path = ICON) -> str:
    """Fill `out` (replacing an earlier stage) and return the app version it was made for."""
    version = app_version()
    for path, what in ((python, "--python"), (launcher, "the launcher"), (icon, "the icon")):
        if not path.exists():
            raise StageError(f"{path}: no such file ({what})")
    if out.exists() and not (out / MARK).exists() and any(out.iterdir()):
        raise StageError(f"{out}: a folder this script did not make; choose an empty or new --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    # Built beside the target and swapped in at the end: a failed run leaves the last stage whole.
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        unpack_python(python, work / "python")
        copy_wheelhouse(wheelhouse, work / "wheelhouse", version)
        shutil.copy2(launcher, work / "i2v_launcher.py")
        shutil.copy2(icon, work / "i2v-desktop.ico")
        (work / "version.iss").write_text(f'#define AppVersion "{version}"\n', encoding="utf-8")
        (work / MARK).write_text("made by packaging/windows/stage.py\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        work.rename(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", type=Path, required=True,
                        help="python-build-standalone install_only .tar.gz for x86_64-pc-windows-msvc, "
                             "or its python/ folder")
    parser.add_argument("--wheelhouse", type=Path, required=True,
                        help="folder of wheels, the app's own among them")
    parser.add_argument("--launcher", type=Path, default=LAUNCHER, help="default: %(default)s")
    parser.add_argument("--out", type=Path, default=STAGE,
                        help="default: %(default)s, where i2v_desktop.iss looks "
                             "(another folder is for checks)")
    args = parser.parse_args(argv)
    try:
        version = stage(args.python, args.wheelhouse, args.out, args.launcher)
    except (StageError, OSError, tarfile.TarError) as exc:
        print(f"stage.py: {exc}", file=sys.stderr)
        return 1
    print(f"staged i2v desktop {version} in {args.out}; now: iscc packaging\\windows\\i2v_desktop.iss")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
