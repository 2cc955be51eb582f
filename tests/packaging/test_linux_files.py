"""packaging/linux's desktop entry and AppStream metainfo: valid for the freedesktop tools, and
saying what the app really is (its id, its commands, the files it opens, its window class)."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import struct
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from i2v_desktop import __version__
from i2v_desktop.app import APP_ID
from i2v_desktop.core.image import SUPPORTED_EXTENSIONS

ROOT = Path(__file__).resolve().parents[2]
LINUX = ROOT / "packaging" / "linux"
DESKTOP = LINUX / f"{APP_ID}.desktop"
METAINFO = LINUX / f"{APP_ID}.metainfo.xml"
SCREENSHOTS = "https://github.com/i2v-desktop/i2v_desktop/raw/main/docs/screenshots/"
# shared-mime-info's type for each file name ending the app accepts.
MIME_OF = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".jfif": "image/jpeg", ".png": "image/png",
           ".webp": "image/webp", ".tif": "image/tiff", ".tiff": "image/tiff", ".bmp": "image/bmp",
           ".gif": "image/gif", ".mp4": "video/mp4"}


def read_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",), comment_prefixes=("#",))
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


def needs(tool: str, package: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (Debian package {package})")


def test_the_desktop_entry_passes_desktop_file_validate_without_a_remark() -> None:
    needs("desktop-file-validate", "desktop-file-utils")
    result = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_metainfo_passes_appstreamcli_validate_with_no_warning() -> None:
    needs("appstreamcli", "appstream")
    result = subprocess.run(["appstreamcli", "validate", "--no-net", "--no-color", str(METAINFO)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    # Infos may differ between AppStream versions (a tag newer than the validator); warnings may not.
    assert not re.findall(r"^[WE]: .*$", result.stdout, re.M)


def test_the_entry_and_the_metainfo_name_the_app_by_its_id_and_commands() -> None:
    entry = read_entry(DESKTOP)
    component = ET.parse(METAINFO).getroot()
    assert entry["Icon"] == component.findtext("id") == APP_ID
    assert component.findtext("launchable[@type='desktop-id']") == DESKTOP.name
    assert entry["Name"] == component.findtext("name")
    assert entry["Exec"] == "i2v-desktop %F" and entry["TryExec"] == "i2v-desktop"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    commands = {*project["scripts"], *project["gui-scripts"]}
    assert {b.text for b in component.iterfind("provides/binary")} == commands
    assert "i2v-desktop" in project["gui-scripts"]
    releases = component.findall("releases/release")
    assert releases[0].get("version") == __version__  # the newest release comes first
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", releases[0].get("date", ""))
    assert component.find("content_rating").get("type") == "oars-1.1"


def test_open_with_covers_exactly_what_the_app_opens() -> None:
    from i2v_desktop.ui.drop import VIDEO_EXTENSIONS

    unknown = [ext for ext in SUPPORTED_EXTENSIONS if ext not in MIME_OF]
    assert not unknown, f"the app opens {unknown} now: add their MIME types here and to the entry"
    # Its own clips are MP4 (the .mov/.m4v it also takes are not what it writes).
    assert ".mp4" in VIDEO_EXTENSIONS
    expected = {MIME_OF[ext] for ext in (*SUPPORTED_EXTENSIONS, ".mp4")}
    listed = read_entry(DESKTOP)["MimeType"].rstrip(";").split(";")
    assert len(listed) == len(set(listed)) and set(listed) == expected
    component = ET.parse(METAINFO).getroot()
    assert {m.text for m in component.iterfind("provides/mediatype")} == expected


def test_each_screenshot_is_one_of_the_repositorys_at_its_real_size() -> None:
    images = ET.parse(METAINFO).getroot().findall("screenshots/screenshot/image")
    assert len(images) >= 3
    for image in images:
        url = image.text.strip()
        assert url.startswith(SCREENSHOTS), url
        png = ROOT / "docs" / "screenshots" / url.removeprefix(SCREENSHOTS)
        assert png.is_file(), f"{url}: no {png.relative_to(ROOT)} in the repository"
        width, height = struct.unpack(">II", png.read_bytes()[16:24])
        assert (image.get("width"), image.get("height")) == (str(width), str(height)), url


def test_startup_wm_class_is_the_window_class_qt_gives_the_app() -> None:
    """On X11 a dock matches the running window to its entry by WM_CLASS; Qt's class is the
    application name app.main sets. Seen on a real X server (Xvfb) where one is installed."""
    name = re.search(r'app\.setApplicationName\("([^"]+)"\)', (ROOT / "i2v_desktop" / "app.py").read_text())
    assert name and read_entry(DESKTOP)["StartupWMClass"] == name.group(1)
    if shutil.which("Xvfb") is None or shutil.which("xprop") is None:
        pytest.skip("Xvfb and xprop are not installed (Debian packages xvfb, x11-utils)")
    probe = (
        "import subprocess, sys\n"
        "from PySide6.QtWidgets import QApplication, QWidget\n"
        "app = QApplication(['i2v-desktop'])\n"
        f"app.setApplicationName({name.group(1)!r}); app.setDesktopFileName({APP_ID!r})\n"
        "w = QWidget(); w.show(); app.processEvents()\n"
        "print(subprocess.run(['xprop', '-id', str(int(w.winId())), 'WM_CLASS', '_GTK_APPLICATION_ID'],"
        " capture_output=True, text=True, check=True).stdout)\n")
    with subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "640x480x24", "-nolisten", "tcp"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as server:
        try:
            display = server.stdout.readline().strip()
            assert display.isdigit(), "Xvfb did not start"
            env = {**os.environ, "DISPLAY": f":{display}", "QT_QPA_PLATFORM": "xcb"}
            result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env,
                                    timeout=60)
        finally:
            server.terminate()
    assert result.returncode == 0, result.stderr[-800:]
    assert f'WM_CLASS(STRING) = "i2v-desktop", "{name.group(1)}"' in result.stdout
    assert f'_GTK_APPLICATION_ID(UTF8_STRING) = "{APP_ID}"' in result.stdout
