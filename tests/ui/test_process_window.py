"""The window on a Studio that renders in its own process, as the app makes it: a render process
that dies mid-render costs that one job, in one line, and the next job succeeds."""

from __future__ import annotations

import multiprocessing

from PySide6.QtCore import Qt

from i2v_desktop.app import make_studio
from i2v_desktop.core.events import StepProgress
from i2v_desktop.studio.process import CRASH_VARIABLE
from i2v_desktop.ui.state import Status

QUICK = dict(duration=1.0, fps=12.0, aspect="1:1", quality="draft", variants=1, model="instant")


def test_a_render_process_that_dies_fails_one_job_in_one_line_and_the_next_succeeds(
        qtbot, make_window, samples, monkeypatch):
    studio = make_studio(process=True)
    window = make_window(studio)
    window.add_paths([samples / "coffee.jpg"])
    qtbot.waitUntil(lambda: window.state.photos and window.state.photos[0].status == Status.READY,
                    timeout=10_000)
    window.state.choose(**QUICK)
    steps, finished = [], []
    window.queue.event.connect(lambda job, event: isinstance(event, StepProgress)
                               and steps.append(event.step))
    window.queue.finished.connect(lambda job, reason: finished.append(reason))

    monkeypatch.setenv(CRASH_VARIABLE, "segv:3")
    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bool(finished), timeout=60_000)
    line = "coffee.jpg: the render process stopped unexpectedly (signal 11); the next job starts a fresh one"
    assert finished == [line] and steps == [1, 2]
    assert window.banner.isVisible() and window.banner.lines == [line]
    assert window.state.photos[0].status == Status.FAILED
    assert window.studio.clips() == []
    assert studio.process.pid is None

    monkeypatch.delenv(CRASH_VARIABLE)
    window.generate()
    qtbot.waitUntil(lambda: len(finished) == 2, timeout=60_000)
    assert finished[1] == "" and window.state.photos[0].status == Status.DONE
    assert len(window.studio.clips()) == 1 and window.player.frame_count == 12
    pid = studio.process.pid
    assert pid is not None

    window.close()  # the window's close ends the render process with the engine thread
    assert studio.process.pid is None
    assert pid not in [child.pid for child in multiprocessing.active_children()]
