"""Background work: each task ends in exactly one typed outcome, delivered on the GUI thread."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.errors import InputError
from i2v_desktop.ui.background import Background, running_threads


@pytest.fixture
def background(qapp):
    pool = Background(threads=1)
    yield pool
    pool.shutdown()


def outcomes(task) -> list:
    """Every outcome the task reports, with whether it arrived on the GUI thread."""
    seen = []
    gui = QApplication.instance().thread()
    on_gui = lambda: QThread.currentThread() is gui  # noqa: E731
    task.returned.connect(lambda result: seen.append(("returned", result, on_gui())))
    task.errored.connect(lambda reason: seen.append(("errored", reason, on_gui())))
    task.cancelled.connect(lambda: seen.append(("cancelled", None, on_gui())))
    return seen


def test_the_result_comes_back_on_the_gui_thread(qtbot, background):
    gui = QApplication.instance().thread()
    ran_on = []
    task = background.submit(lambda: ran_on.append(QThread.currentThread() is gui) or 42, lambda result: None)
    seen = outcomes(task)
    with qtbot.waitSignal(task.returned, timeout=5_000):
        pass
    assert ran_on == [False]  # the work ran on a pool thread
    assert seen == [("returned", 42, True)]


@pytest.mark.parametrize("error, reason", [
    (InputError("holiday.jpg: no such file"), "holiday.jpg: no such file"),  # ours name their file
    (ValueError("first line\n  second line"), "thumbnails: internal error (ValueError: first line second line)"),
])
def test_an_error_comes_back_as_one_line(qtbot, background, error, reason):
    def work():
        raise error

    reasons = []
    task = background.submit(work, lambda result: None, reasons.append, name="thumbnails")
    seen = outcomes(task)
    with qtbot.waitSignal(task.errored, timeout=5_000):
        pass
    assert reasons == [reason] and "\n" not in reasons[0]
    assert seen == [("errored", reason, True)]


def test_cancel_stops_work_that_polls_the_token(qtbot, background):
    token, started = CancelToken(), threading.Event()

    def work():
        started.set()
        while True:
            token.raise_if_cancelled()
            threading.Event().wait(0.005)

    cancelled = []
    task = background.submit(work, lambda result: None, None, lambda: cancelled.append(True), cancel=token)
    seen = outcomes(task)
    assert started.wait(5)
    token.cancel()
    with qtbot.waitSignal(task.cancelled, timeout=5_000):
        pass
    assert cancelled == [True] and seen == [("cancelled", None, True)]


def test_a_result_that_arrives_after_a_cancel_is_dropped_and_waiting_work_never_runs(qtbot, background):
    gate, ran = threading.Event(), []
    token = CancelToken()
    first = background.submit(lambda: gate.wait(5) and "done", lambda result: None, cancel=token)
    second = background.submit(lambda: ran.append("second"), lambda result: None, cancel=token)  # waits: one thread
    first_seen, second_seen = outcomes(first), outcomes(second)
    token.cancel()
    gate.set()
    with qtbot.waitSignals([first.cancelled, second.cancelled], timeout=5_000):
        pass
    assert first_seen == [("cancelled", None, True)] and second_seen == [("cancelled", None, True)]
    assert ran == []


def test_shutdown_leaves_no_thread_running(qtbot, qapp):
    background = Background(threads=2)
    gate = threading.Event()
    done = []
    for _ in range(3):
        background.submit(lambda: gate.wait(5), done.append)
    assert running_threads() == ["pool background"]
    gate.set()
    background.shutdown()
    assert running_threads() == []
    qtbot.waitUntil(lambda: len(done) == 3, timeout=5_000)  # and each outcome still arrives
    assert done == [True, True, True]
