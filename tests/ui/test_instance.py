"""The app as processes: one instance per data folder, and a queue that survives a SIGKILL.

Each test runs `i2v-desktop` (offscreen) in throwaway config and data folders, as a user would
start it twice, or kill it and start it again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import i2v_desktop
from i2v_desktop.storage.history import History
from i2v_desktop.storage.queue import FILE_NAME, load_queue

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals")
ROOT = Path(i2v_desktop.__file__).resolve().parent.parent
START_S = 60  # an app start on a busy test machine


class App:
    """One `i2v-desktop` process; its log (stderr) and output go to files read as it runs."""

    def __init__(self, home: Path, args: list[str], name: str, code: str | None = None) -> None:
        self.log = home / f"{name}.log"
        self.out = home / f"{name}.out"
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_DATA_HOME": str(home / "data"),
               "XDG_CONFIG_HOME": str(home / "config"), "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "i2v_desktop.app", *args]
        with open(self.log, "wb") as log, open(self.out, "wb") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=log)

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def lines(self) -> list[str]:
        return self.out.read_text(encoding="utf-8").splitlines()

    def wait_for(self, what, timeout: float = START_S) -> None:
        """Until `what` (a text in the log, or a test on the printed lines) turns up."""
        def found() -> bool:
            return what in self.text() if isinstance(what, str) else what(self.lines())

        end = time.monotonic() + timeout
        while not found():
            if self.process.poll() is not None:
                assert found(), f"the app ended (exit {self.process.returncode}):\n{self.text()[-3000:]}"
            assert time.monotonic() < end, f"no {what!r} after {timeout} s:\n{self.text()[-3000:]}"
            time.sleep(0.05)

    def stop(self) -> int:
        """A polite kill (as the desktop's log-out sends): the window closes as its close button would."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    def kill(self) -> None:
        for sig in (signal.SIGCONT, signal.SIGKILL):
            if self.process.poll() is None:
                self.process.send_signal(sig)
        self.process.wait(timeout=60)


@pytest.fixture
def apps(tmp_path):
    started: list[App] = []

    def start(*args: str, name: str = "app", code: str | None = None) -> App:
        app = App(tmp_path, list(args), f"{name}{len(started)}", code)
        started.append(app)
        return app

    yield start
    for app in started:
        app.kill()


def test_a_second_start_hands_its_photos_to_the_first_and_exits(apps, samples, tmp_path):
    first = apps()
    first.wait_for("window shown")
    second = apps(str(samples / "coffee.jpg"), name="second")
    assert second.process.wait(timeout=START_S) == 0
    assert "already open" in second.text() and "window shown" not in second.text()
    first.wait_for("a later start handed over 1 photo(s): coffee.jpg")
    assert first.process.poll() is None
    assert first.stop() == 0


def test_a_first_instance_that_does_not_answer_leaves_the_second_read_only(apps, samples, tmp_path):
    first = apps()
    first.wait_for("window shown")
    first.process.send_signal(signal.SIGSTOP)  # hung: holds the lock, answers nothing
    second = apps(str(samples / "coffee.jpg"), name="second")
    second.wait_for("window shown")
    assert "does not answer; this window is read-only" in second.text()
    assert second.stop() == 0
    assert not (tmp_path / "data" / "i2v_desktop" / FILE_NAME).exists()
    first.process.send_signal(signal.SIGCONT)
    assert first.stop() == 0

    # A lock left by a process that is gone is stale: the next start owns the folder again.
    killed = apps(name="killed")
    killed.wait_for("window shown")
    killed.kill()
    again = apps(name="again")
    again.wait_for("window shown")
    assert "read-only" not in again.text()
    assert again.stop() == 0


# Drives the real app as a user would: queue the photos given (or resume what was left), and say
# what happens, one line at a time.
DRIVER = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from i2v_desktop import app
from i2v_desktop.ui.state import Status
from i2v_desktop.ui.window import MainWindow

def say(*words):
    print(*words, flush=True)

qapp = QApplication(sys.argv[:1])
mode, done = sys.argv[1], []

def poke():
    windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
    if not windows or done:
        return
    window = windows[0]
    if not hasattr(window, "driven"):
        window.driven = True
        window.queue.saved.connect(lambda job, saved: say("saved", saved.entry.mp4))
        window.queue.finished.connect(lambda job, reason: say("finished", job.photo, reason or "ok"))
    if mode == "queue" and window.state.photos and all(p.status == Status.READY for p in window.state.photos):
        window.state.choose(preset="push-in", duration=2.0, fps=12.0, aspect="1:1", quality="standard",
                            variants=1, model="instant")
        window.generate_all()
        done.append(1)
        say("queued", len(window.queue.requests()))
    if mode == "resume" and window.banner.buttons[0].isVisibleTo(window.banner):
        say("offered", window.banner.text.text())
        window.banner.buttons[0].click()
        say("resumed", *[request.image for request in window.queue.requests()])
        done.append(1)
        window.queue.changed.connect(lambda: window.queue.requests() or QTimer.singleShot(0, window.close))

timer = QTimer()
timer.timeout.connect(poke)
timer.start(50)
sys.exit(app.main(["i2v-desktop", *sys.argv[2:]]))
"""


def test_killed_mid_queue_the_rest_resumes_and_no_clip_is_lost(apps, samples, tmp_path):
    photos = [str((samples / name).resolve()) for name in ("coffee.jpg", "chelsea.jpg", "rocket.jpg", "astronaut.jpg")]
    first = apps("queue", *photos, code=DRIVER, name="killed")
    first.wait_for(lambda lines: any(line.startswith("finished") for line in lines), timeout=240)
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(timeout=60)
    lines = first.lines()
    assert "queued 4" in lines
    finished = [line.split()[1] for line in lines if line.startswith("finished")]
    saved = [Path(line.split(maxsplit=1)[1]) for line in lines if line.startswith("saved")]
    assert len(finished) < 4, "every job finished before the kill: make the renders longer"
    data = tmp_path / "data" / "i2v_desktop"
    left = [request.image for request in load_queue(data)]
    assert set(left) >= set(photos) - set(finished)  # saved before the kill (a just-finished job may be there too)

    second = apps("resume", code=DRIVER, name="resumed")
    assert second.process.wait(timeout=240) == 0, second.text()[-3000:]
    lines = second.lines()
    assert any(line.startswith(f"offered {len(left)} job") and "stopped" in line for line in lines), lines
    assert f"resumed {' '.join(left)}" in lines
    assert len([line for line in lines if line.startswith("finished") and line.endswith(" ok")]) == len(left)

    history = History(data / "history")
    kept = {entry.mp4 for entry in history.entries()}
    assert set(saved) <= kept and all(mp4.is_file() for mp4 in kept)  # nothing made before the kill is lost
    assert {entry.photo for entry in history.entries()} == set(photos)  # and every photo has its clip
    assert load_queue(data) == []
