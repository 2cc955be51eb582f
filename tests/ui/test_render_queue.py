"""The render queue: a model that follows it row by row, kept on disk, offered again after a stop."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint
from i2v_desktop.app import make_studio
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.storage.history import HistoryError
from i2v_desktop.storage.paths import data_dir
from i2v_desktop.storage.queue import FILE_NAME, load_queue
from i2v_desktop.ui.queue import QueueModel, QueuePanel
from i2v_desktop.ui.state import Status
from i2v_desktop.ui.worker import JobQueue

# Long enough that the first job is still rendering while a test looks at the rows.
SLOW = dict(preset="push-in", duration=6.0, fps=24.0, aspect="1:1", quality="standard", variants=1, model="instant")
QUICK = dict(preset="push-in", duration=1.0, fps=12.0, aspect="1:1", quality="draft", variants=1, model="instant")


def jobs_for(samples: Path, count: int, **settings) -> list[tuple[str, GenerationRequest]]:
    photos = sorted(samples.glob("*.jpg"))
    return [(str(photos[i % len(photos)]), GenerationRequest(image=str(photos[i % len(photos)]), seed=i,
                                                             **{**SLOW, **settings}))
            for i in range(count)]


@pytest.fixture
def queue(qapp):
    """A JobQueue on the app's real Studio; its engine thread is ended after the test."""
    jobs = JobQueue(make_studio())
    yield jobs
    jobs.shutdown()


class Signals:
    """Every structural signal a model sends, by name."""

    NAMES = ("rowsInserted", "rowsRemoved", "rowsMoved", "dataChanged", "modelReset", "layoutChanged")

    def __init__(self, model: QueueModel) -> None:
        self.seen: list[tuple] = []
        for name in self.NAMES:
            getattr(model, name).connect(lambda *args, name=name: self.seen.append((name, *self._rows(args))))

    @staticmethod
    def _rows(args: tuple) -> tuple:
        return tuple(arg.row() if hasattr(arg, "row") else arg for arg in args if not isinstance(arg, list))

    def take(self) -> list[tuple]:
        seen, self.seen = self.seen, []
        return seen


def rows(model: QueueModel) -> list[str]:
    return [model.data(model.index(row)) for row in range(model.rowCount())]


def test_the_model_follows_the_queue_row_by_row(qtmodeltester, queue, samples):
    model = QueueModel(queue)
    qtmodeltester.check(model, force_py=True)  # Qt's rules for models, checked at every change
    signals = Signals(model)
    jobs = queue.add_many(jobs_for(samples, 5))
    # One insert for the batch; then the first job starts: its row changes in place.
    assert signals.take() == [("rowsInserted", -1, 0, 4), ("dataChanged", 0, 0)]
    assert rows(model)[0].startswith("▶ ") and all(row.startswith("• ") for row in rows(model)[1:])
    assert [model.job(row) for row in range(5)] == jobs

    queue.move(jobs[3].id, -1)
    assert signals.take() == [("rowsMoved", -1, 3, 3, -1, 2)]
    queue.move(jobs[3].id, 1)
    assert signals.take() == [("rowsMoved", -1, 2, 2, -1, 4)]
    assert [model.job(row) for row in range(5)] == [queue.job_at(row) for row in range(5)] == jobs

    assert queue.remove(jobs[2].id) is jobs[2]
    assert signals.take() == [("rowsRemoved", -1, 2, 2)]
    assert queue.remove(jobs[0].id) is None  # the running job is cancelled, not removed
    assert queue.clear() == [jobs[1], jobs[3], jobs[4]]
    assert signals.take() == [("rowsRemoved", -1, 1, 3)]  # Clear: one removal, whatever its length
    assert model.rowCount() == 1 and model.job(0) is jobs[0]


def test_a_thousand_jobs_go_in_as_one_insert_and_clear_as_one_removal(qtbot, queue, samples):
    panel = QueuePanel(queue)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    signals = Signals(panel.model)
    batch = jobs_for(samples, 1000)
    start = time.perf_counter()
    queue.add_many(batch)
    panel.view.repaint()  # laid out and painted, as the user would see it
    assert time.perf_counter() - start < 1.0
    assert [name for name, *_ in signals.take()] == ["rowsInserted", "dataChanged"]
    assert panel.model.rowCount() == 1000
    panel.view.scrollToBottom()
    assert panel.view.indexAt(QPoint(4, 4)).row() > 900  # the last rows are there, drawn

    start = time.perf_counter()
    panel.clear_button.click()
    panel.view.repaint()
    assert time.perf_counter() - start < 0.2
    assert signals.take() == [("rowsRemoved", -1, 1, 999)]


def test_the_panel_moves_removes_and_clears_waiting_jobs_only(qtbot, queue, samples):
    panel = QueuePanel(queue)
    qtbot.addWidget(panel)
    jobs = queue.add_many(jobs_for(samples, 4))
    view = panel.view
    view.setCurrentIndex(panel.model.index(0))  # the running job: cancelled elsewhere, never moved
    assert not any(button.isEnabled() for button in (panel.up, panel.down, panel.remove))
    view.setCurrentIndex(panel.model.index(3))
    assert panel.up.isEnabled() and panel.remove.isEnabled() and panel.clear_button.isEnabled()
    panel.up.click()
    assert queue.pending == [jobs[1], jobs[3], jobs[2]]
    assert view.currentIndex().row() == 2  # the selection went with the job
    panel.down.click()
    assert queue.pending == [jobs[1], jobs[2], jobs[3]]
    with qtbot.waitSignal(panel.dropped) as dropped:
        panel.remove.click()
    assert dropped.args == [[jobs[3]]] and queue.pending == [jobs[1], jobs[2]]
    with qtbot.waitSignal(panel.dropped) as dropped:
        panel.clear_button.click()
    assert dropped.args == [[jobs[1], jobs[2]]] and queue.pending == []
    assert not panel.clear_button.isEnabled()
    assert panel.view.accessibleName() == "Job queue"
    assert [b.accessibleName() for b in (panel.up, panel.down, panel.remove, panel.clear_button)] == [
        "Move the job up", "Move the job down", "Remove the job", "Drop every waiting job"]


def test_the_queue_is_saved_on_every_change_and_at_shutdown(qtbot, samples):
    queue = JobQueue(make_studio())
    folder = data_dir()
    batch = jobs_for(samples, 4)
    try:
        jobs = queue.add_many(batch)
        requests = [request for _, request in batch]
        # The running job counts as still to do until it finishes.
        qtbot.waitUntil(lambda: load_queue(folder) == requests, timeout=5_000)
        queue.move(jobs[3].id, -2)
        qtbot.waitUntil(lambda: load_queue(folder) == [requests[i] for i in (0, 3, 1, 2)], timeout=5_000)
        queue.remove(jobs[1].id)
        qtbot.waitUntil(lambda: load_queue(folder) == [requests[i] for i in (0, 3, 2)], timeout=5_000)
        queue.move(jobs[2].id, -1)
    finally:
        queue.shutdown()
    # Closing cancels the render and keeps what was left, the cancelled job first, at once.
    assert load_queue(folder) == [requests[i] for i in (0, 2, 3)]
    qtbot.wait(3 * JobQueue.SAVE_DELAY_MS)  # the cancelled job's end arrives: nothing more is written
    assert load_queue(folder) == [requests[i] for i in (0, 2, 3)]


def test_a_read_only_queue_never_writes(qtbot, samples):
    queue = JobQueue(make_studio(), persist=False)
    try:
        queue.add_many(jobs_for(samples, 2))
        qtbot.wait(3 * JobQueue.SAVE_DELAY_MS)
    finally:
        queue.shutdown()
    assert not (data_dir() / FILE_NAME).exists()


def offered(window) -> tuple[str, list[str]]:
    banner = window.banner
    return banner.text.text(), [button.text() for button in banner.buttons if button.isVisibleTo(banner)]


def test_jobs_left_by_a_killed_session_are_offered_and_resume(qtbot, make_window, samples):
    left = [request for _, request in jobs_for(samples, 3, **QUICK)]
    make_studio().save_queue(left)  # what a killed session leaves behind
    window = make_window()
    text, buttons = offered(window)
    assert window.banner.isVisible() and buttons == ["Resume", "Discard"]
    assert "3 jobs were still queued when i2v desktop stopped" in text
    assert window.queue.pending == [] and not window.queue.busy  # offered, not run

    window.banner.buttons[0].click()
    assert [job.request for job in [window.queue.current, *window.queue.pending]] == left
    assert not window.banner.isVisible()
    qtbot.waitUntil(lambda: all(p.status != Status.LOADING for p in window.state.photos), timeout=10_000)
    assert Status.READY not in {p.status for p in window.state.photos}  # queued already: Generate must skip them
    qtbot.waitUntil(lambda: not window.queue.busy and not window.queue.pending, timeout=120_000)
    assert sorted({entry.photo for entry in window.studio.clips()}) == sorted({r.image for r in left})
    assert {p.path for p in window.state.photos} == {r.image for r in left}  # the photos are in the batch again
    qtbot.waitUntil(lambda: not (data_dir() / FILE_NAME).exists(), timeout=5_000)


def test_discard_forgets_the_left_jobs(qtbot, make_window, samples):
    make_studio().save_queue([request for _, request in jobs_for(samples, 2)])
    window = make_window()
    assert "2 jobs were still queued" in offered(window)[0]
    window.banner.buttons[1].click()
    assert window.queue.held == [] and not window.queue.busy
    qtbot.waitUntil(lambda: not (data_dir() / FILE_NAME).exists(), timeout=5_000)


def test_a_clean_close_keeps_the_queue_and_the_next_start_says_so(qtbot, make_window, samples):
    window = make_window()
    window.add_paths([samples / "coffee.jpg", samples / "rocket.jpg"])
    qtbot.waitUntil(lambda: len(window.state.photos) == 2
                    and all(p.status == Status.READY for p in window.state.photos), timeout=10_000)
    window.state.choose(**SLOW)
    window.generate_all()
    queued = window.queue.requests()
    assert len(queued) == 2
    window.close()  # asks nothing; the running job is cancelled and kept with the waiting one
    assert load_queue(data_dir()) == queued

    again = make_window()
    text, buttons = offered(again)
    assert "2 jobs were still queued when i2v desktop closed" in text and buttons == ["Resume", "Discard"]
    again.banner.dismiss()  # no answer: the jobs stay on disk, after anything queued meanwhile
    again.add_paths([samples / "chelsea.jpg"])
    qtbot.waitUntil(lambda: again.state.photo(str((samples / "chelsea.jpg").resolve())) is not None
                    and again.state.photo(str((samples / "chelsea.jpg").resolve())).status == Status.READY,
                    timeout=10_000)
    again.state.choose(**SLOW)
    again.generate()
    qtbot.waitUntil(lambda: len(load_queue(data_dir())) == 3, timeout=5_000)
    assert load_queue(data_dir())[1:] == queued
    again.cancel_render()
    qtbot.waitUntil(lambda: not again.queue.busy, timeout=60_000)
    assert again.stage.text() == "chelsea.jpg: cancelled" and again.queue.held == queued


def test_a_read_only_window_renders_nothing_and_writes_nothing(qtbot, make_window, samples, settings_path):
    make_studio().save_queue([request for _, request in jobs_for(samples, 1)])
    reason = "instance.lock: another i2v desktop has this data folder open but does not answer"
    window = make_window(make_studio(read_only=True), read_only=reason)
    assert reason in offered(window)[0] and offered(window)[1] == []  # nothing offered: the queue is not ours
    assert not window.generate_button.isEnabled() and window.windowTitle().endswith("(read-only)")
    window.add_paths([samples / "coffee.jpg"])
    qtbot.waitUntil(lambda: window.state.photos and window.state.photos[0].status == Status.READY, timeout=10_000)
    window.generate()
    assert not window.queue.busy and window.queue.pending == []
    with pytest.raises(HistoryError, match="read-only here"):
        window.studio.save_queue([])
    assert data_dir() not in window.studio.pasted_folder().parents  # a pasted picture goes elsewhere
    window.close()
    assert len(load_queue(data_dir())) == 1  # left as the other instance keeps it
    assert not settings_path.exists()  # nor are the settings rewritten
