"""What the app says as it starts: notices in the window once, a fatal problem on stderr too, and
Ctrl+C in the terminal closing whatever is up (the window, or the dialog that says it cannot start)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from i2v_desktop import app
from i2v_desktop.storage.paths import config_dir
from i2v_desktop.ui.banner import Banner

ROOT = Path(__file__).resolve().parents[2]
# The app as started from a terminal, with one user file made to fail as the test needs.
START = """
import sys
from i2v_desktop import app
from i2v_desktop.core.errors import I2VError  # what the history raises for a newer version
import i2v_desktop.studio.local as local
if sys.argv[1] == "newer":
    def newer(**_):
        raise I2VError("index.json: written by a newer version of i2v_desktop (history version 99, "
                           "this app reads 2); update the app to open it")
    local.user_studio = newer
sys.exit(app.main(["i2v-desktop"]))
"""


def start(how: str, home: Path) -> subprocess.Popen:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(home / "config"),
           "XDG_DATA_HOME": str(home / "data"), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", START, how], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def wait_for(process: subprocess.Popen, text: str, timeout: float = 60) -> list[str]:
    """The stderr lines up to and including the first one holding `text`."""
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if text in line:
            return lines
    process.kill()
    process.communicate()
    raise AssertionError(f"never said {text!r}; said: {lines}")


def interrupted(process: subprocess.Popen) -> tuple[int, str]:
    """Ctrl+C in the terminal: the exit status and what the app said on stderr after it."""
    process.send_signal(signal.SIGINT)
    try:
        _, said = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError("Ctrl+C did not close the app") from None
    return process.returncode, said


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_item15_a_newer_history_is_said_on_stderr_and_ctrl_c_closes_its_dialog(tmp_path):
    process = start("newer", tmp_path)
    lines = wait_for(process, "i2v-desktop: ")
    assert lines[-1] == ("i2v-desktop: index.json: written by a newer version of i2v_desktop "
                         "(history version 99, this app reads 2); update the app to open it")
    time.sleep(0.5)  # the dialog's own event loop is running now
    assert process.poll() is None  # the dialog waits for the user...
    status, said = interrupted(process)  # ...or for Ctrl+C in the terminal
    assert status == 1 and "Traceback" not in said


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_item15_ctrl_c_closes_the_window_and_keeps_its_settings(tmp_path):
    process = start("window", tmp_path)
    wait_for(process, "window shown")
    status, said = interrupted(process)
    assert status == 0 and "Traceback" not in said
    saved = (tmp_path / "config" / "i2v_desktop" / "settings.ini").read_text()
    assert "[choices]" in saved  # closed as its close button would: the settings were saved


def test_item4_start_up_notices_show_in_the_window_once(make_window, qtbot):
    lines = ["history rebuilt from 12 sidecars",
             "prompt library damaged (not valid JSON), set aside as prompts.json.damaged-20260101-000000; "
             "starting with no saved prompts"]
    window = make_window(notices=lines)
    assert window.banner.isVisible() and window.banner.kind == "warning"
    assert window.banner.lines == lines  # the first on top
    window.banner.dismiss()
    qtbot.wait(50)
    assert not window.banner.isVisible()  # said once: nothing brings them back


def test_item4_more_notices_than_the_banner_holds_end_in_a_count(make_window):
    lines = [f"preset broken-{n}.json: not valid JSON" for n in range(8)]
    window = make_window(notices=lines)
    assert window.banner.lines == [*lines[:Banner.MAX_LINES - 1],
                                   "…and 4 more start-up notices (the log has them all)"]


def test_item3_a_damaged_prompt_library_is_said_in_the_window_and_kept(make_window, caplog):
    path = config_dir() / "prompts.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"schema": "i2v_desktop.prompts", "version": 1, "prompts": ["golden hour", "slow dolly"')
    studio, notices = app.open_studio()
    window = make_window(studio, notices=notices)
    (aside,) = path.parent.glob("prompts.json.damaged-*")
    line = (f"prompt library damaged (not valid JSON), set aside as {aside.name}; "
            "starting with no saved prompts")
    assert window.banner.lines == [line]
    assert line in caplog.text  # logged as well
    window.prompt.setPlainText("rain on the window")
    window.save_prompt.click()
    assert json.loads(path.read_text())["prompts"] == ["rain on the window"]
    assert "golden hour" in aside.read_text()  # the Save did not cost the saved phrases
