"""packaging/windows: the Inno Setup script and the staging step that feeds it. Inno Setup itself
runs only on Windows; here the script is parsed, stage.py is run on stand-in inputs, and every file
the script packs or points at is checked to be one the stage provides."""

from __future__ import annotations

import fnmatch
import importlib.util
import io
import re
import tarfile
import zipfile
from pathlib import Path, PureWindowsPath

import pytest

from i2v_desktop import __version__
from i2v_desktop.app import APP_ID
from i2v_desktop.core.image import SUPPORTED_EXTENSIONS

ROOT = Path(__file__).resolve().parents[2]
WINDOWS = ROOT / "packaging" / "windows"
ISS = WINDOWS / "i2v_desktop.iss"


def load_stage():
    spec = importlib.util.spec_from_file_location("windows_stage", WINDOWS / "stage.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


stage = load_stage()


def split_params(line: str) -> dict[str, str]:
    """An entry line (`Name: "value"; Flags: a b`) as a dict; "" inside quotes is one quote."""
    params, at = {}, 0
    while at < len(line):
        key, _, rest = line[at:].partition(":")
        at += len(key) + 1
        while at < len(line) and line[at] == " ":
            at += 1
        if at < len(line) and line[at] == '"':
            value, at = "", at + 1
            while True:
                end = line.index('"', at)
                value += line[at:end]
                if line[end + 1:end + 2] == '"':
                    value, at = value + '"', end + 2
                else:
                    at = end + 1
                    break
        else:
            end = line.find(";", at)
            end = len(line) if end < 0 else end
            value, at = line[at:end].strip(), end
        params[key.strip()] = value
        at = line.find(";", at)
        at = len(line) if at < 0 else at + 1
    return params


def read_iss() -> tuple[list[str], dict[str, list]]:
    """The preprocessor lines, and each section's lines: [Setup] as key=value pairs, others as dicts."""
    directives, sections, current = [], {}, None
    for raw in ISS.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("#"):
            directives.append(line)
        elif re.fullmatch(r"\[\w+\]", line):
            current = line[1:-1]
            sections[current] = []
        elif current == "Setup":
            key, _, value = line.partition("=")
            sections[current].append((key.strip(), value.strip()))
        else:
            sections[current].append(split_params(line))
    return directives, sections


def windows_argv(command: str) -> list[str]:
    """A command line split as Windows' CommandLineToArgvW does for plain quoting."""
    words = re.finditer(r'"([^"]*)"|(\S+)', command)
    return [m.group(1) if m.group(1) is not None else m.group(2) for m in words]


@pytest.fixture
def inputs(tmp_path) -> dict[str, Path]:
    """Stand-ins for the downloads: a CPython-for-Windows archive's layout, a wheelhouse."""
    archive = tmp_path / "cpython-3.11-x86_64-pc-windows-msvc-install_only.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in ("python/python.exe", "python/pythonw.exe", "python/python311.dll", "python/Lib/os.py",
                     "python/Lib/venv/__init__.py", "python/Lib/venv/scripts/nt/venvlauncher.exe"):
            info = tarfile.TarInfo(name)
            info.size = len(name)
            tar.addfile(info, io.BytesIO(name.encode()))
    wheels = tmp_path / "wheelhouse"
    wheels.mkdir()
    for name in (f"i2v_desktop-{__version__}-py3-none-any.whl", "numpy-2.2.0-cp311-cp311-win_amd64.whl"):
        with zipfile.ZipFile(wheels / name, "w") as wheel:
            wheel.writestr("METADATA", "stand-in")
    launcher = stage.LAUNCHER
    if not launcher.is_file():  # packaging/launcher comes with its own change; the stage only copies it
        launcher = tmp_path / "i2v_launcher.py"
        launcher.write_text("print('launcher')\n")
    return {"python": archive, "wheelhouse": wheels, "launcher": launcher, "out": tmp_path / "out" / "stage"}


def run_stage(inputs: dict[str, Path], **changes: Path) -> int:
    args = {**inputs, **changes}
    return stage.main([f"--{key}={value}" for key, value in args.items()])


def test_the_script_has_its_sections_and_its_version_comes_from_the_stage() -> None:
    directives, sections = read_iss()
    assert {"Setup", "Tasks", "Files", "Icons", "Registry", "Run", "UninstallDelete"} <= set(sections)
    assert '#include "stage\\version.iss"' in directives
    setup = dict(sections["Setup"])
    assert setup["AppVersion"] == "{#AppVersion}" and "{#AppVersion}" in setup["OutputBaseFilename"]
    assert re.fullmatch(r"\{\{[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}\}", setup["AppId"])
    assert setup["PrivilegesRequired"] == "lowest" and setup["ChangesAssociations"] == "yes"
    # The shortcut and the running window (app.main sets it) share one id: one taskbar button.
    assert f'#define AppUserModelID "{APP_ID}"' in directives
    assert {entry["AppUserModelID"] for entry in sections["Icons"]} == {"{#AppUserModelID}"}
    uninstalled = {entry["Name"] for entry in sections["UninstallDelete"]}
    assert uninstalled == {"{app}\\venv", "{app}\\python"}


def test_stage_provides_every_file_the_script_packs_or_points_at(inputs) -> None:
    assert run_stage(inputs) == 0
    out = inputs["out"]
    assert (out / "version.iss").read_text() == f'#define AppVersion "{__version__}"\n'
    staged = [p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()]
    _, sections = read_iss()
    assert (out / PureWindowsPath(dict(sections["Setup"])["SetupIconFile"]).relative_to("stage")).is_file()
    installed = set()  # the files under {app} once installed, as Windows paths
    for entry in sections["Files"]:
        pattern = PureWindowsPath(entry["Source"]).relative_to("stage").as_posix()
        matched = [name for name in staged if fnmatch.fnmatch(name, pattern)]
        assert matched, f"[Files] {entry['Source']}: the stage has nothing for it"
        base = pattern.rsplit("/", 1)[0] + "/" if "/" in pattern else ""
        for name in matched:
            installed.add(f"{entry['DestDir']}\\" + name.removeprefix(base).replace("/", "\\"))
    assert "{app}\\wheelhouse\\" + f"i2v_desktop-{__version__}-py3-none-any.whl" in installed
    keys = ("Filename", "IconFilename", "Parameters", "ValueData")
    referenced = [entry.get(key, "") for section in ("Icons", "Registry", "Run")
                  for entry in sections[section] for key in keys]
    folders = {path.rsplit("\\", 1)[0] for path in installed}
    for value in referenced:
        for path in re.findall(r"\{app\}\\[^\"\s]+", value):
            # {app}\venv is the launcher's to make at the first start (or in [Run]).
            assert path in installed or path in folders or path == "{app}\\venv", f"{path}: not installed"


def test_every_launch_follows_the_launchers_usage() -> None:
    _, sections = read_iss()
    commands = [(e["Filename"], e["Parameters"]) for s in ("Icons", "Run") for e in sections[s]]
    commands += [tuple(e["ValueData"].split(" ", 1)) for e in sections["Registry"]
                 if e["Subkey"].endswith("command")]
    assert len(commands) == 5
    for program, parameters in commands:
        argv = windows_argv(parameters)
        assert PureWindowsPath(program.strip('"')).name in ("python.exe", "pythonw.exe")
        assert argv[:6] == ["{app}\\i2v_launcher.py", "--venv", "{app}\\venv",
                            "--wheelhouse", "{app}\\wheelhouse", "--"]
        assert argv[6] in ("i2v-desktop", "i2v")
    assert commands[-1][1].endswith('-- i2v-desktop "%1"')  # Open with hands the photo over


def test_open_with_lists_exactly_the_files_the_app_opens_and_uninstall_takes_it_back() -> None:
    _, sections = read_iss()
    progid = next(e for e in sections["Registry"] if e["Subkey"].count("\\") == 2 and "Flags" in e)
    assert progid["Flags"] == "uninsdeletekey"
    listed = []
    for entry in sections["Registry"]:
        found = re.fullmatch(r"Software\\Classes\\(\.\w+)\\OpenWithProgids", entry["Subkey"])
        if found:
            assert (entry["ValueName"], entry["ValueData"], entry["Flags"]) == \
                (progid["Subkey"].rsplit("\\", 1)[1], "", "uninsdeletevalue")
            listed.append(found.group(1))
    assert sorted(listed) == sorted((*SUPPORTED_EXTENSIONS, ".mp4"))


def test_stage_refuses_wrong_inputs_in_one_line_and_keeps_the_last_stage(inputs, tmp_path, capsys) -> None:
    assert run_stage(inputs) == 0
    capsys.readouterr()
    embeddable = tmp_path / "python-3.11.9-embed-amd64.zip"
    with zipfile.ZipFile(embeddable, "w") as archive:
        archive.writestr("python.exe", "")
        archive.writestr("python311._pth", "python311.zip\n.\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    not_windows = tmp_path / "cpython-linux.tar.gz"
    with tarfile.open(not_windows, "w:gz") as tar:
        info = tarfile.TarInfo("python/bin/python3")
        tar.addfile(info, io.BytesIO())
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    cases = [
        ({"python": embeddable}, f"{embeddable}: python.org's embeddable package cannot make the virtual "
                                 "environment the launcher needs; use a python-build-standalone install_only "
                                 "archive (build.md)"),
        ({"python": not_windows}, f"{not_windows}: no python.exe in it; expected CPython for Windows "
                                  "(x86_64-pc-windows-msvc install_only)"),
        ({"wheelhouse": empty},
         f"{empty}: no i2v_desktop-{__version__}-*.whl in it (python -m build --wheel, build.md)"),
        ({"launcher": tmp_path / "none.py"}, f"{tmp_path / 'none.py'}: no such file (the launcher)"),
        ({"out": foreign}, f"{foreign}: a folder this script did not make; choose an empty or new --out"),
    ]
    for change, reason in cases:
        assert run_stage(inputs, **change) == 1, change
        assert capsys.readouterr().err == f"stage.py: {reason}\n"
    assert (inputs["out"] / "python" / "pythonw.exe").is_file()  # the good stage is still whole
    assert (foreign / "notes.txt").read_text() == "keep"
    assert sorted(p.name for p in inputs["out"].parent.iterdir()) == ["stage"]  # no half-made folder left


def test_build_md_gives_the_steps_the_script_expects() -> None:
    text = (WINDOWS / "build.md").read_text(encoding="utf-8")
    for step in ("-m build --wheel", "packaging\\windows\\stage.py",
                 "iscc packaging\\windows\\i2v_desktop.iss",
                 "x86_64-pc-windows-msvc-install_only", "pip download"):
        assert step in text, step
