"""packaging/linux/install.sh and uninstall.sh, run for real into a temporary home: the menu entry
points at a command that works, and uninstall takes away exactly what install put there."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from i2v_desktop import __version__
from i2v_desktop.app import APP_ID

from test_linux_files import read_entry

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "packaging" / "linux" / "install.sh"
UNINSTALL = ROOT / "packaging" / "linux" / "uninstall.sh"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def run(script: Path, *args: str, home: Path, data_home: Path | None = None, path: str | None = None):
    env = {key: value for key, value in os.environ.items() if key != "XDG_DATA_HOME"}
    env.update(HOME=str(home), PATH=path or os.environ["PATH"])
    if data_home is not None:
        env["XDG_DATA_HOME"] = str(data_home)
    return subprocess.run(["bash", str(script), *args], capture_output=True, text=True, env=env, timeout=60)


def tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def exec_argv(value: str) -> list[str]:
    """A desktop entry's Exec value (already read as a string) split as a launcher splits it:
    double quotes group, inside them a backslash escapes " ` $ and itself, and %% is a percent
    sign (the field code %F is kept as it is)."""
    argv, word, quoted, i, started = [], "", False, 0, False
    while i < len(value):
        char = value[i]
        if quoted and char == "\\" and i + 1 < len(value) and value[i + 1] in '"`$\\':
            word, i = word + value[i + 1], i + 2
            continue
        if char == '"':
            quoted, started = not quoted, True
        elif char == " " and not quoted:
            if started:
                argv.append(word)
            word, started = "", False
        else:
            word, started = word + char, True
        i += 1
    assert not quoted, f"unbalanced quotes in Exec={value}"
    if started:
        argv.append(word)
    return [arg if arg == "%F" else arg.replace("%%", "%") for arg in argv]


def unescape(value: str) -> str:
    """A desktop entry string value's escapes (\\s \\n \\t \\r \\\\) undone."""
    out, i = "", 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            escapes = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}
            out += escapes.get(value[i + 1], "\\" + value[i + 1])
            i += 2
        else:
            out, i = out + value[i], i + 1
    return out


@pytest.fixture
def app_command(tmp_path) -> Path:
    """This environment's i2v-desktop, reached through a folder whose name needs quoting in Exec."""
    script = Path(sys.executable).with_name("i2v-desktop")
    if not script.is_file():
        pytest.skip(f"no {script}: the test environment was installed without its scripts")
    folder = tmp_path / 'my apps $HOME "x" 100%'
    folder.mkdir()
    (folder / "i2v-desktop").symlink_to(script)
    return folder / "i2v-desktop"


def test_install_into_a_fresh_home_gives_a_working_entry_and_uninstall_leaves_nothing(tmp_path, app_command):
    home = tmp_path / "home"
    home.mkdir()
    result = run(INSTALL, "--exec", str(app_command), home=home)
    assert result.returncode == 0, result.stderr
    share = home / ".local" / "share"
    desktop = share / "applications" / f"{APP_ID}.desktop"
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True, text=True)
        assert (check.returncode, check.stdout + check.stderr) == (0, "")
    if shutil.which("appstreamcli"):
        # The installed tree as a whole: the metainfo's launchable names an entry that is there.
        check = subprocess.run(["appstreamcli", "validate-tree", "--no-net", "--no-color",
                                str(home / ".local")], capture_output=True, text=True)
        assert check.returncode == 0 and not re.findall(r"^\s*[WE]: .*$", check.stdout, re.M), check.stdout
    entry = read_entry(desktop)
    argv = exec_argv(unescape(entry["Exec"]))
    assert argv == [str(app_command), "%F"] and unescape(entry["TryExec"]) == str(app_command)
    # What a file manager runs for "Open with", less the photos: the app answers.
    ran = subprocess.run([argv[0], "--version"], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "HOME": str(home)})
    assert (ran.returncode, ran.stdout.strip()) == (0, f"i2v_desktop {__version__}"), ran.stderr
    for size in SIZES:
        installed = share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        source = ROOT / "resources" / "icons" / f"i2v-desktop-{size}.png"
        assert installed.read_bytes() == source.read_bytes()
    assert (share / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    assert (share / "metainfo" / f"{APP_ID}.metainfo.xml").read_bytes() == \
        (ROOT / "packaging" / "linux" / f"{APP_ID}.metainfo.xml").read_bytes()
    if shutil.which("update-desktop-database"):
        cache = (share / "applications" / "mimeinfo.cache").read_text()
        assert f"image/jpeg={APP_ID}.desktop;" in cache.splitlines()
    assert not [p for p in share.rglob(".install.*")]  # no temporary file left behind

    result = run(UNINSTALL, home=home)
    assert result.returncode == 0, result.stderr
    assert tree(home) == []
    again = run(UNINSTALL, home=home)
    assert again.returncode == 0 and "not installed" in again.stdout


def test_xdg_data_home_is_honoured_a_reinstall_replaces_and_other_apps_files_stay(tmp_path, app_command):
    home, data = tmp_path / "home", tmp_path / "data"
    apps = data / "applications"
    apps.mkdir(parents=True)
    home.mkdir()
    other = apps / "org.example.Viewer.desktop"
    other.write_text("[Desktop Entry]\nType=Application\nName=Viewer\nExec=true %f\nMimeType=image/png;\n")
    had_cache = shutil.which("update-desktop-database") is not None
    if had_cache:
        subprocess.run(["update-desktop-database", str(apps)], check=True)
    before = tree(tmp_path)

    assert run(INSTALL, "--exec", str(app_command), home=home, data_home=data).returncode == 0
    # Again, now naming the command as found on PATH: the first install is replaced, not doubled.
    second = run(INSTALL, "--exec", "i2v-desktop", home=home, data_home=data,
                 path=f"{app_command.parent}{os.pathsep}{os.environ['PATH']}")
    assert second.returncode == 0, second.stderr
    assert tree(home) == []
    entry = read_entry(apps / f"{APP_ID}.desktop")
    assert exec_argv(unescape(entry["Exec"]))[0] == str(app_command)
    manifest = (data / APP_ID / "install-manifest").read_text().splitlines()
    files = [line.split("\t", 1)[1] for line in manifest if line.startswith("file\t")]
    assert len(files) == len(set(files)) == 1 + len(SIZES) + 2  # entry, PNGs, SVG, metainfo
    assert not [line for line in manifest if line.startswith("cache\t")]  # the cache was there before

    assert run(UNINSTALL, home=home, data_home=data).returncode == 0
    assert tree(tmp_path) == before
    if had_cache:
        assert APP_ID not in (apps / "mimeinfo.cache").read_text()


def test_by_default_the_entry_starts_this_checkouts_i2v_desktop(tmp_path) -> None:
    # Only looked at, not run: the checkout's script sets up .venv when it is missing.
    home = tmp_path / "home"
    home.mkdir()
    assert run(INSTALL, home=home).returncode == 0
    entry = read_entry(home / ".local" / "share" / "applications" / f"{APP_ID}.desktop")
    assert exec_argv(unescape(entry["Exec"])) == [str(ROOT / "i2v-desktop"), "%F"]
    assert run(UNINSTALL, home=home).returncode == 0 and tree(home) == []


def test_a_bad_command_is_refused_in_one_line_and_nothing_is_installed(tmp_path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    plain = tmp_path / "notes.txt"
    plain.write_text("not a program")
    cases = [(["--exec", str(tmp_path / "missing")], f"{tmp_path / 'missing'}: no such file"),
             (["--exec", str(plain)], f"{plain}: not an executable file"),
             (["--exec", "no-such-command-i2v"], "--exec no-such-command-i2v: no such command on PATH"),
             (["--exec"], "--exec needs a command"),
             (["--prefix=/usr"], "unknown argument: --prefix=/usr (see --help)")]
    for args, reason in cases:
        result = run(INSTALL, *args, home=home)
        assert (result.returncode, result.stderr) == (2, f"install.sh: {reason}\n"), args
    assert tree(home) == []


def test_without_desktop_file_utils_the_install_still_works(tmp_path, app_command) -> None:
    """Where update-desktop-database is missing the MIME cache is skipped without a word."""
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("bash", "cat", "chmod", "dirname", "basename", "mkdir", "mktemp", "mv", "rm", "rmdir"):
        (tools / tool).symlink_to(shutil.which(tool))
    home = tmp_path / "home"
    home.mkdir()
    result = run(INSTALL, "--exec", str(app_command), home=home, path=str(tools))
    assert result.returncode == 0 and result.stderr == ""
    share = home / ".local" / "share"
    assert (share / "applications" / f"{APP_ID}.desktop").is_file()
    assert not (share / "applications" / "mimeinfo.cache").exists()
    assert run(UNINSTALL, home=home, path=str(tools)).returncode == 0
    assert tree(home) == []
