"""Generate and the queue as a creator uses them (issue 12): Generate renders the selected photos,
Generate all the batch; Esc cancels, a second Esc or Shift+Esc stops the queue; each photo says
what it got; the player follows the selected photo; the desktop is told when the queue is done."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget

from i2v_desktop.ui.notify import Launcher
from i2v_desktop.ui.state import Status, outcome

SLOW = dict(preset="push-in", duration=6.0, fps=24.0, aspect="1:1", quality="standard", variants=1, model="instant")
QUICK = dict(preset="push-in", duration=1.0, fps=12.0, aspect="1:1", quality="draft", variants=1, model="instant")
CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier


def add(qtbot, window, samples: Path, names: list[str]) -> list[str]:
    paths = [str((samples / name).resolve()) for name in names]
    window.add_paths([Path(path) for path in paths])
    qtbot.waitUntil(lambda: [p.path for p in window.state.photos] == paths
                    and all(p.status == Status.READY for p in window.state.photos), timeout=10_000)
    return paths


def queued(window) -> list[str]:
    """The photos of the queue's rows: the running job, then the waiting ones."""
    return [window.queue.job_at(row).photo for row in range(len(window.queue))]


def drained(window) -> bool:
    return not window.queue.busy and not window.queue.pending


def test_generate_renders_the_selected_photos_and_generate_all_the_batch(qtbot, make_window, samples):
    window = make_window()
    paths = add(qtbot, window, samples, ["astronaut.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg"])
    window.state.choose(**{**SLOW, "variants": 2})
    list_ = window.photos
    assert window.state.selected == paths[0]
    list_.clearSelection()  # nothing selected: Generate takes the current photo
    assert window.state.marked == set() and window.generate_button.text() == "Generate 2 clips"
    assert window.generate_all_button.text() == "Generate all: 8 clips" and window.generate_all_button.isEnabled()

    qtbot.mouseClick(list_.viewport(), Qt.MouseButton.LeftButton, pos=list_.visualItemRect(list_.item(0)).center())
    qtbot.mouseClick(list_.viewport(), Qt.MouseButton.LeftButton, CTRL, list_.visualItemRect(list_.item(2)).center())
    assert window.state.marked == {paths[0], paths[2]}
    assert window.generate_button.text() == "Generate 4 clips"
    assert "2 photos × 2 variants" in window.generate_button.toolTip()
    qtbot.keyClick(window, Qt.Key.Key_Return, CTRL)
    assert queued(window) == [paths[0], paths[2]]  # the selected photos, not the batch
    window.state.select(paths[0])  # as its render starting does: within the selection, it stays
    assert window.state.marked == {paths[0], paths[2]}
    # The selection outlives the list's redraw; what is queued already is not counted again.
    assert window.state.marked == {paths[0], paths[2]} and len(list_.selectedItems()) == 2
    assert window.generate_button.text() == "Generate"
    assert window.generate_all_button.text() == "Generate all: 4 clips"

    qtbot.keyClick(window, Qt.Key.Key_Return, CTRL | SHIFT)
    assert queued(window) == [paths[0], paths[2], paths[1], paths[3]]
    assert window.generate_all_button.text() == "Generate all: 0 clips"
    assert not window.generate_all_button.isEnabled()
    window.generate_all()  # nothing left to queue: said, not queued twice
    assert len(window.queue) == 4 and "Every photo is queued, rendering or held already" in window.banner.text.text()
    window.state.select(paths[3])  # a render of a photo outside the selection: it alone is selected
    assert window.state.marked == {paths[3]} and window.generate_button.text() == "Generate"

    render = next(action.menu() for action in window.menuBar().actions() if action.text() == "&Render")
    shortcuts = {action.text(): [key.toString() for key in action.shortcuts()] for action in render.actions()}
    assert shortcuts["&Generate selected photos"] == ["Ctrl+Return", "Ctrl+Enter"]
    assert shortcuts["Generate &all photos"] == ["Ctrl+Shift+Return", "Ctrl+Shift+Enter"]
    assert shortcuts["&Stop the queue (hold waiting jobs)"] == ["Shift+Esc"]


def test_esc_cancels_the_render_and_esc_again_holds_the_queue_until_resume(qtbot, make_window, samples):
    window = make_window()
    first, second, third = add(qtbot, window, samples, ["astronaut.jpg", "chelsea.jpg", "coffee.jpg"])
    window.state.choose(**{**SLOW, "duration": 3.0, "variants": 2})
    window.generate_all()
    qtbot.waitUntil(lambda: window.queue.current is not None and window.queue.current.made == 1, timeout=60_000)
    qtbot.keyClick(window, Qt.Key.Key_Escape)  # the first job, after 1 of its 2 variants
    assert window.stage.text() == "Cancelling… (Shift+Esc holds the 2 waiting jobs too)"
    qtbot.waitUntil(lambda: window.queue.current is not None and window.queue.current.photo == second, timeout=10_000)
    qtbot.keyClick(window, Qt.Key.Key_Escape)  # again, at once: the queue stops
    assert window.queue.pending == [] and [r.image for r in window.queue.held] == [second, third]
    assert window.state.marked == {second}  # the render selected its photo: Generate would mean it alone
    # The latest line, on top (below it, perhaps, the samples' framing warning that Generate gave).
    assert window.banner.lines[0] == "Queue stopped: 2 jobs held; Resume renders them, Discard forgets them"
    assert [b.text() for b in window.banner.buttons if b.isVisibleTo(window.banner)] == ["Resume", "Discard"]
    qtbot.waitUntil(lambda: not window.queue.busy, timeout=10_000)

    photo = window.state.photo
    assert (photo(first).status, photo(first).state_text) == (Status.CANCELLED, "cancelled after 1 of 2")
    assert window.photos.item(0).text().endswith("cancelled after 1 of 2")  # never "done"
    # The second had just started when the queue stopped: it is held with the third, not lost.
    assert photo(second).status == photo(third).status == Status.HELD
    assert window.queue_panel.held_row.isVisibleTo(window) and window.queue_panel.held_label.text() == "2 jobs held"
    assert not window.queue.busy and window.queue.pending == []  # held: nothing runs

    window.banner.buttons[0].click()  # Resume
    assert [photo(p).status for p in (second, third)] == [Status.RENDERING, Status.QUEUED]
    assert not window.queue_panel.held_row.isVisibleTo(window)
    qtbot.waitUntil(lambda: drained(window), timeout=120_000)
    assert [photo(p).state_text for p in (first, second, third)] == ["cancelled after 1 of 2", "done", "done"]
    assert sorted(e.photo for e in window.studio.clips()) == sorted([first, second, second, third, third])


def test_shift_esc_cancels_the_render_holds_the_waiting_and_discard_forgets_them(qtbot, make_window, samples):
    window = make_window()
    first, second = add(qtbot, window, samples, ["astronaut.jpg", "chelsea.jpg"])
    window.state.choose(**SLOW)
    window.generate_all()
    qtbot.keyClick(window, Qt.Key.Key_Escape, SHIFT)
    assert [r.image for r in window.queue.held] == [second]  # the running job is cancelled, not held
    qtbot.waitUntil(lambda: not window.queue.busy, timeout=60_000)
    assert window.state.photo(first).state_text == "cancelled" and window.state.photo(second).status == Status.HELD
    window.queue_panel.discard_button.click()
    assert window.queue.held == [] and window.state.photo(second).status == Status.READY
    assert not window.queue_panel.held_row.isVisibleTo(window)


def test_a_photo_says_what_its_render_got():
    assert outcome(2, 2, cancelled=False) == (Status.DONE, "done")
    assert outcome(2, 2, cancelled=True) == (Status.DONE, "done")  # the cancel came after the last one
    assert outcome(1, 2, cancelled=True) == (Status.CANCELLED, "cancelled after 1 of 2")
    assert outcome(0, 2, cancelled=True) == (Status.CANCELLED, "cancelled")
    assert outcome(1, 2, cancelled=False, failure="out of memory") == (Status.PARTIAL, "1 of 2 variants")
    assert outcome(0, 1, cancelled=False, failure="no such file") == (Status.FAILED, "failed: no such file")


def test_the_player_and_the_status_line_follow_the_selected_photo(qtbot, make_window, samples):
    window = make_window()
    coffee, rocket = add(qtbot, window, samples, ["coffee.jpg", "rocket.jpg"])
    window.state.choose(**QUICK)
    for _ in range(2):  # two takes of coffee: the newer one is what it shows
        window.generate()
        qtbot.waitUntil(lambda: drained(window), timeout=60_000)
    newest = max(window.studio.clips(coffee), key=lambda entry: entry.created)
    assert window.stage.text() == "coffee.jpg: done" and window.player.frame_count == 12

    window.state.select(rocket)  # no clips yet: the photo itself, nothing of coffee's
    assert window.player.frame_count == 0 and window.views.currentWidget() is window.framing
    assert window.stage.text() == "rocket.jpg: ready" and window.viewer.selected_entries() == []

    window.state.select(coffee)
    assert [entry.id for entry in window.viewer.selected_entries()] == [newest.id]
    qtbot.waitUntil(lambda: window.player.frame_count == 12, timeout=10_000)
    assert window.views.currentWidget() is window.player and window.stage.text() == "coffee.jpg: done"

    window.photos_panel.remove_selected_photos()  # the shown photo goes: rocket is shown, as it is
    assert window.state.selected == rocket and window.player.frame_count == 0
    assert window.stage.text() == "rocket.jpg: ready"
    window.state.choose(**SLOW)
    window.generate()
    qtbot.waitUntil(lambda: window.player.frame_count > 0, timeout=30_000)  # its render's preview plays
    window.photos_panel.remove_selected_photos()  # removed while rendering: its render is cancelled
    assert window.state.photos == [] and window.player.frame_count == 0
    qtbot.waitUntil(lambda: not window.queue.busy, timeout=30_000)
    assert window.stage.text() == "Ready" and window.viewer.selected_entries() == []
    assert window.player.frame_count == 0 and not window.studio.clips(rocket)


def test_the_desktop_is_told_when_the_queue_ends_in_the_background_only(qtbot, make_window, samples, monkeypatch):
    alerts, titles = [], []
    monkeypatch.setattr(QApplication, "alert", staticmethod(lambda widget, msec=0: alerts.append(widget)))
    window = make_window()
    window.windowTitleChanged.connect(titles.append)
    add(qtbot, window, samples, ["coffee.jpg", "rocket.jpg"])
    window.state.choose(**QUICK)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.generate_all()
    qtbot.waitUntil(lambda: drained(window), timeout=60_000)
    assert alerts == [] and titles == [] and window.notifier.told == ""  # active: the window shows it all

    other = QWidget()  # another window takes the focus: i2v desktop is in the background
    qtbot.addWidget(other)
    other.show()
    other.activateWindow()
    qtbot.waitUntil(lambda: not window.isActiveWindow())
    window.generate_all()
    qtbot.waitUntil(lambda: drained(window), timeout=60_000)
    assert titles[0] == "[1/2] i2v desktop" and "[2/2] i2v desktop" in titles
    assert alerts == [window]
    assert window.notifier.told == "2 clips ready from 2 photos"
    assert window.windowTitle() == "2 clips ready from 2 photos · i2v desktop"

    window.activateWindow()  # back: what was shown outside the window goes
    qtbot.waitUntil(window.isActiveWindow)
    assert window.windowTitle() == "i2v desktop" and window.notifier.told == ""


@pytest.fixture
def private_bus(tmp_path):
    """A D-Bus session bus of the test's own (the desktop's is not ours to signal on), and a
    function that returns the LauncherEntry updates heard on it, as dbus-monitor prints them."""
    if shutil.which("dbus-daemon") is None or shutil.which("dbus-monitor") is None:
        pytest.skip("dbus-daemon and dbus-monitor are not installed")
    from PySide6.QtDBus import QDBusConnection

    daemon = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    heard = tmp_path / "monitor.txt"
    with heard.open("w") as out:
        address = daemon.stdout.readline().strip()
        monitor = subprocess.Popen(["dbus-monitor", "--address", address,
                                    "interface='com.canonical.Unity.LauncherEntry'"], stdout=out, stderr=subprocess.DEVNULL)
    name = f"test-bus-{time.monotonic_ns()}"
    try:
        deadline = time.monotonic() + 10
        while "NameAcquired" not in heard.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)

        def updates() -> list[tuple[str, dict[str, str]]]:
            found = []
            for block in heard.read_text().split("signal time=")[1:]:
                if "member=Update" in block:
                    uri = re.search(r'string "(application://[^"]*)"', block).group(1)
                    found.append((uri, dict(re.findall(r'string "([\w-]+)"\s+variant\s+\w+ (\S+)', block))))
            return found

        yield QDBusConnection.connectToBus(address, name), updates
        QDBusConnection.disconnectFromBus(name)
    finally:
        for process in (monitor, daemon):
            process.terminate()
            process.wait()
        daemon.stdout.close()


def test_the_taskbar_entry_shows_the_progress_in_the_background(qtbot, make_window, samples, private_bus):
    bus, updates = private_bus
    window = make_window()
    window.notifier.launcher = Launcher(bus)
    add(qtbot, window, samples, ["coffee.jpg"])
    window.state.choose(**QUICK)
    other = QWidget()
    qtbot.addWidget(other)
    other.show()
    other.activateWindow()
    qtbot.waitUntil(lambda: not window.isActiveWindow())
    window.generate()
    qtbot.waitUntil(lambda: drained(window), timeout=60_000)
    qtbot.waitUntil(lambda: bool(updates()) and updates()[-1][1].get("urgent") == "true", timeout=5_000)
    seen = updates()
    assert {uri for uri, _ in seen} == {"application://i2v-desktop.desktop"}
    progress = [float(p["progress"]) for _, p in seen if p["progress-visible"] == "true"]
    assert len(progress) >= 2 and progress == sorted(progress) and 0 <= progress[0] < progress[-1] <= 1
    assert seen[-1][1] == {"progress": "0", "progress-visible": "false", "urgent": "true"}


def test_item17_generate_says_what_the_framing_will_do_badly(qtbot, make_window, tmp_path):
    """A 16×12 photo enlarged a hundredfold, a 15:1 banner in a square: said in the window as the
    renders start (the command line says it before rendering)."""
    import numpy as np
    from PIL import Image

    tiny, banner = tmp_path / "tiny.png", tmp_path / "banner.png"
    Image.fromarray(np.full((12, 16, 3), 90, np.uint8)).save(tiny)
    Image.fromarray(np.tile(np.linspace(0, 255, 1500, dtype=np.uint8)[None, :, None], (100, 1, 3))).save(banner)
    window = make_window()
    add(qtbot, window, tmp_path, ["tiny.png", "banner.png"])
    window.state.choose(**QUICK)
    notes = window.studio.framing_notes(window.state.requests(window.state.photos)[0])
    assert len(notes) == 1 and notes[0].startswith("tiny.png: 16x12 pixels enlarged") and "above 4x" in notes[0]
    banner_notes = window.studio.framing_notes(window.state.requests(window.state.photos)[1])
    window.generate_all()
    qtbot.waitUntil(lambda: "enlarged" in window.banner.text.text(), timeout=10_000)
    assert window.banner.lines[:3] == [*notes, *banner_notes]  # each its own line, the first on top
    assert [n.split(":")[0] for n in banner_notes] == ["banner.png", "banner.png"]  # 10x enlarged, and
    assert "the 960x960 frame keeps 7% of this 1500x100 photo" in banner_notes[1]  # a sliver of it kept
    qtbot.waitUntil(lambda: drained(window), timeout=60_000)
