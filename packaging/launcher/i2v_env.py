"""The environment the launcher provisions: where the app comes from (a checkout or a wheel), the
virtual environment's files, its health probe, the stamp that makes a current environment a no-op,
and pip runs with numbered progress. Standard library only."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

APP = "i2v_desktop"
WINDOWS = os.name == "nt"


# ---- where the app comes from ------------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    """A checkout (installed editable) or a wheel (installed as is)."""
    version: str
    checkout: Path | None = None
    wheel: Path | None = None
    build_requires: tuple[str, ...] = ()

    def describe(self) -> str:
        where = f"editable, {self.checkout}" if self.checkout else self.wheel.name
        return f"{APP} {self.version} ({where})"


def read_pyproject(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as error:
        raise LauncherError(f"{path} cannot be read ({error})", "restore it from the repository") from None
    try:
        import tomllib
    except ImportError:      # Python 3.10
        return _read_by_pattern(text)
    try:
        return tomllib.loads(text)
    except ValueError as error:
        raise LauncherError(f"{path} is not valid TOML ({error})",
                            "fix it, or restore it from the repository") from None


def _read_by_pattern(text: str) -> dict:
    """The few keys the launcher needs, where the standard library has no TOML reader."""
    def section(name: str) -> str:
        match = re.search(rf"^\[{re.escape(name)}\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
        return match.group(1) if match else ""
    project, build = section("project"), section("build-system")
    name = re.search(r'^name\s*=\s*"([^"]+)"', project, re.M)
    version = re.search(r'^version\s*=\s*"([^"]+)"', project, re.M)
    dynamic = re.search(r"^dynamic\s*=\s*\[(.*?)\]", project, re.M | re.S)
    attr = re.search(r'^version\s*=\s*\{\s*attr\s*=\s*"([^"]+)"', section("tool.setuptools.dynamic"), re.M)
    requires = re.search(r"^requires\s*=\s*\[(.*?)\]", build, re.M | re.S)
    return {"project": {"name": name and name.group(1), "version": version and version.group(1),
                        "dynamic": re.findall(r'"([^"]+)"', dynamic.group(1)) if dynamic else []},
            "tool": {"setuptools": {"dynamic": {"version": {"attr": attr.group(1)} if attr else {}}}},
            "build-system": {"requires": re.findall(r'"([^"]+)"', requires.group(1)) if requires else []}}


_WHEEL = re.compile(rf"^{APP}-(?P<version>[^-]+)-.+\.whl$")


def _dynamic_version(data: dict, root: Path) -> str | None:
    """The version a checkout's pyproject leaves to setuptools (`dynamic = ["version"]` with
    `version = {attr = "package.__version__"}`), read from that module's text without importing it."""
    attr = data.get("tool", {}).get("setuptools", {}).get("dynamic", {}).get("version", {}).get("attr", "")
    module, _, name = attr.rpartition(".")
    if "version" not in data.get("project", {}).get("dynamic", []) or not module:
        return None
    base = root.joinpath(*module.split("."))
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            found = re.search(rf"^{re.escape(name)}\s*=\s*[\"']([^\"']+)[\"']", path.read_text(encoding="utf-8"), re.M)
            return found.group(1) if found else None
    return None


def find_source(launcher_dir: Path, wheelhouse: Path | None) -> Source:
    """The checkout the launcher sits in (packaging/launcher/ of a clone), else the newest app wheel
    beside the launcher or in the wheelhouse (how the installers ship it)."""
    pyproject = launcher_dir.parent.parent / "pyproject.toml"
    if pyproject.is_file():
        data = read_pyproject(pyproject)
        project = data.get("project", {})
        version = project.get("version") or _dynamic_version(data, pyproject.parent)
        if project.get("name") == APP and version:
            return Source(version, checkout=pyproject.parent,
                          build_requires=tuple(data.get("build-system", {}).get("requires", [])))
    found = [(path, _WHEEL.match(path.name)) for folder in (launcher_dir, wheelhouse)
             if folder and folder.is_dir() for path in folder.glob(f"{APP}-*.whl")]
    wheels = [(_version_key(match["version"]), path, match["version"]) for path, match in found if match]
    if not wheels:
        raise LauncherError(f"no {APP} checkout around {launcher_dir} and no {APP}-*.whl beside it"
                            + (f" or in {wheelhouse}" if wheelhouse else ""),
                            "run the launcher from a clone, or put the app's wheel beside it "
                            "(python -m build makes one)")
    _, path, version = max(wheels)
    return Source(version, wheel=path)


def _version_key(version: str) -> tuple:
    return tuple(int(part) if part.isdigit() else -1 for part in re.split(r"[.+-]", version))


# ---- the stamp: a current environment starts without pip ---------------------------------------

def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        crc = i << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
        table.append(crc)
    return table


_CRC = _crc_table()


def cksum(data: bytes) -> int:
    """POSIX `cksum`'s CRC, so scripts/bootstrap.sh finds the same stamp with no Python at all."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC[(crc >> 24) ^ byte]
    length = len(data)
    while length:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC[(crc >> 24) ^ (length & 0xFF)]
        length >>= 8
    return ~crc & 0xFFFFFFFF


def stamp_path(venv: Path, source: Source) -> Path:
    """`.installed-<cksum of pyproject.toml>` for a checkout (the name bootstrap.sh has always
    used), of the wheel's file name for a wheel (it carries the version)."""
    if source.checkout:
        data = (source.checkout / "pyproject.toml").read_bytes()
    else:
        data = source.wheel.name.encode()
    return venv / f".installed-{cksum(data)}"


def stamped_extras(stamp: Path) -> set[str] | None:
    """The extras a current stamp records; None without one. An empty stamp was written by the
    shell bootstrap before the launcher, which always installed test and cluster."""
    try:
        text = stamp.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    try:
        return set(json.loads(text).get("extras", [])) if text else {"test", "cluster"}
    except (ValueError, AttributeError):
        return None


def write_stamp(venv: Path, stamp: Path, extras: set[str], torch_tag: str) -> None:
    for old in venv.glob(".installed-*"):
        old.unlink()
    atomic_write(stamp, json.dumps({"extras": sorted(extras), "torch": torch_tag}) + "\n")


def clear_stamp(venv: Path) -> None:
    for old in venv.glob(".installed-*"):
        old.unlink()


def atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


# ---- the virtual environment -------------------------------------------------------------------

def venv_bin(venv: Path) -> Path:
    return venv / ("Scripts" if WINDOWS else "bin")


def venv_python(venv: Path) -> Path:
    return venv_bin(venv) / ("python.exe" if WINDOWS else "python")


def remove_venv(venv: Path) -> None:
    """Deletes a broken environment, but only what is plainly one: never a link or another folder
    (an empty folder is kept: the new environment goes into it)."""
    if venv.is_dir() and not venv.is_symlink() and not any(venv.iterdir()):
        return
    if venv.is_symlink():
        raise LauncherError(f"{venv} is a link to another environment; not deleting it",
                            "repair the environment it points to, or pass --venv with a folder of its own")
    if not (venv / "pyvenv.cfg").is_file():
        raise LauncherError(f"{venv} exists but is no virtual environment (no pyvenv.cfg); not deleting it",
                            "move it away, or pass --venv with another folder")
    shutil.rmtree(venv)


_PROBE = r"""
import json, sys
out = {"python": sys.version.split()[0]}
try:
    import importlib.metadata as metadata
    out["app_version"] = metadata.version("i2v_desktop")
except Exception:
    out["app_version"] = None
try:
    import i2v_desktop
    out["app_path"] = i2v_desktop.__file__
except Exception as error:
    out["app_error"] = f"{type(error).__name__}: {error}"
try:
    import torch
    out["torch"] = [torch.__version__, torch.version.cuda, getattr(torch.version, "hip", None)]
except Exception as error:
    out["torch_error"] = f"{type(error).__name__}: {error}"
print("\n" + json.dumps(out))
"""


def probe(venv: Path) -> dict:
    """What the environment holds, asked of its own python (which may be broken: the interpreter it
    points to uninstalled or upgraded away)."""
    python = venv_python(venv)
    if not (venv / "pyvenv.cfg").is_file() and not python.exists():
        return {"missing": True}
    try:
        run = subprocess.run([str(python), "-I", "-c", _PROBE], capture_output=True, text=True, timeout=300,
                             cwd=tempfile.gettempdir(), env=clean_env())
    except (OSError, subprocess.TimeoutExpired) as error:
        return {"broken": f"{python} does not run ({error.__class__.__name__}: {error})"}
    lines = run.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        tail = (run.stderr.strip().splitlines() or ["no output"])[-1]
        return {"broken": f"{python} does not run (exit status {run.returncode}: {tail})"}


def clean_env() -> dict[str, str]:
    """The environment for the venv's own python: no PYTHONPATH or PYTHONHOME from the caller, which
    would make a checkout on the path look installed (or hide what is)."""
    return {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}


# ---- steps and pip -----------------------------------------------------------------------------

class LauncherError(Exception):
    def __init__(self, what: str, hint: str) -> None:
        super().__init__(what)
        self.hint = hint


@dataclass
class Progress:
    """Numbered steps on stderr; pip's own output shown on a terminal, kept back otherwise (and its
    last lines shown if it fails)."""
    total: int
    done: int = 0
    verbose: bool = sys.stderr.isatty()
    current: str = ""

    def step(self, title: str) -> None:
        self.done += 1
        self.current = f"step {self.done}/{self.total} ({title})"
        print(f"[{self.done}/{self.total}] {title}…", file=sys.stderr, flush=True)

    def run(self, args: list[str], hint: str) -> None:
        if self.verbose:
            status, tail = subprocess.call(args, env=clean_env()), ""
        else:
            run = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 env=clean_env())
            status, tail = run.returncode, "\n".join(run.stdout.rstrip().splitlines()[-25:])
        if status != 0:
            if tail:
                print(tail, file=sys.stderr)
            raise LauncherError(f"{self.current}: {Path(args[0]).name} {' '.join(args[1:4])} … exited with "
                                f"status {status}", hint)

    def attempt(self, args: list[str]) -> bool:
        """A quiet try whose failure is expected (a pin a mirror may or may not hold)."""
        run = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=clean_env())
        return run.returncode == 0


def pip(venv: Path, verb: str, *args: str, wheelhouse: Path | None = None) -> list[str]:
    offline = ["--no-index", "--find-links", str(wheelhouse)] if wheelhouse else []
    quiet = [] if sys.stderr.isatty() else ["--quiet"]
    return [str(venv_python(venv)), "-m", "pip", verb, "--disable-pip-version-check", *quiet, *offline, *args]
