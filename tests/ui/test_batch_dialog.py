"""Render > Batch…: the real dialog on the real LocalStudio, with the instant engine in worker
processes, on a folder of photos and on a manifest with a bad row."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QObject, QPointF, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from i2v_desktop.core.batch import DONE, RESULTS_FILE
from i2v_desktop.ui.batch import SETTLE_MS, BatchDialog
from i2v_desktop.ui.batchtable import CLIPS, DONE_EARLIER, STATUS, TO_RENDER

QUICK = dict(model="instant", duration=1.0, fps=12.0, aspect="1:1", quality="draft", preset="orbit", variants=1)
RUN_S = 120_000  # ms: a few rows of the instant engine on two busy cores, worker start-up included


def photos(folder: Path, samples: Path, names: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(samples / name, folder / name)
    return folder


def opened_batch(qtbot, window) -> BatchDialog:
    window.state.choose(**QUICK)
    window.batch_action.trigger()
    dialog = window.batch_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def read(qtbot, dialog: BatchDialog) -> None:
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=20_000)


def column(dialog: BatchDialog, index: int) -> list[str]:
    return [line.cell(index) for line in dialog.table.rows.lines]


class Opened(QObject):
    """Takes the file URLs QDesktopServices.openUrl is asked to open (there is no player here)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url.toLocalFile())


@pytest.fixture
def opened():
    handler = Opened()
    QDesktopServices.setUrlHandler("file", handler, "open")
    yield handler
    QDesktopServices.unsetUrlHandler("file")


def test_a_folder_is_planned_rendered_into_its_batch_folder_and_a_done_row_plays(qtbot, make_window, samples,
                                                                                    tmp_path, opened):
    folder = photos(tmp_path / "shots", samples, ["coffee.jpg", "rocket.jpg", "chelsea.jpg"])
    window = make_window()
    dialog = opened_batch(qtbot, window)
    assert dialog.set_source(folder)
    read(qtbot, dialog)
    assert dialog.out == str(folder / "batch")
    assert dialog.summary.text() == "3 rows: 3 to render"
    assert column(dialog, STATUS) == [TO_RENDER] * 3 and dialog.start_button.text() == "Start: 3 rows"
    assert dialog.defaults.text().startswith("Orbit, 1 s, 1:1, draft quality, ")
    assert [row.request.duration for row in dialog.plan.rows] == [1.0] * 3  # the window's settings

    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.running and not dialog.start_button.isEnabled() and dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.running, timeout=RUN_S)
    assert column(dialog, STATUS) == ["done"] * 3
    assert column(dialog, CLIPS) == ["chelsea.mp4", "coffee.mp4", "rocket.mp4"]
    for line in dialog.table.rows.lines:
        assert Path(line.clips[0]).is_file() and Path(line.clips[0]).parent == folder / "batch"
        assert line.result.scores and line.result.seconds > 0
    assert dialog.progress_text.text().startswith("Finished: 3 of 3 rows made in ")
    assert dialog.progress.value() == 3 and not dialog.start_button.isEnabled()  # nothing left to render
    assert (folder / "batch" / RESULTS_FILE).is_file()

    rect = dialog.table.visualRect(dialog.table.model().index(1, 0))
    # An item view takes a double-click on the row its press chose: press first, as a hand does.
    qtbot.mouseClick(dialog.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(dialog.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert opened.urls == [str(folder / "batch" / "coffee.mp4")]

    # The next time, the dialog comes back on the same photos and folder, and skips what is made.
    again = BatchDialog(window.studio, window.state, window.settings, window)
    qtbot.addWidget(again)
    try:
        read(qtbot, again)
        assert (again.source, again.out) == (str(folder), str(folder / "batch"))
        assert again.summary.text() == "3 rows: 0 to render, 3 done by an earlier run (skipped)"
        assert column(again, STATUS) == [DONE_EARLIER] * 3 and not again.start_button.isEnabled()
        assert column(again, CLIPS) == ["chelsea.mp4", "coffee.mp4", "rocket.mp4"]
        # Another clip length is another row: it renders again.
        window.state.choose(duration=2.0)
        qtbot.waitUntil(lambda: again.plan is not None and again.summary.text() == "3 rows: 3 to render",
                        timeout=20_000)
    finally:
        again.shutdown()


def drop(dialog: BatchDialog, path: Path) -> bool:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(dialog, enter)
    if not enter.isAccepted():
        return False
    assert dialog.drop_overlay.isVisible()  # the user sees where it lands
    QApplication.sendEvent(dialog, QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                                              Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    assert not dialog.drop_overlay.isVisible()
    return True


def test_a_manifest_with_a_bad_row_is_cancelled_mid_run_and_the_next_start_goes_on(qtbot, make_window, samples,
                                                                                    tmp_path):
    folder = photos(tmp_path / "catalogue", samples, ["coffee.jpg", "rocket.jpg", "chelsea.jpg", "astronaut.jpg"])
    manifest = folder / "catalogue.csv"
    with open(manifest, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["photo", "preset", "name"])
        for photo, preset, name in (("coffee.jpg", "", ""), ("missing.jpg", "", ""), ("rocket.jpg", "push-in", ""),
                                    ("chelsea.jpg", "", "cat"), ("astronaut.jpg", "", "")):
            writer.writerow([photo, preset, name])
    window = make_window()
    dialog = opened_batch(qtbot, window)
    assert not drop(dialog, samples / "coffee.jpg")  # a photo is neither a folder nor a manifest
    assert drop(dialog, manifest)
    read(qtbot, dialog)
    assert dialog.out == str(folder / "batch")
    assert dialog.summary.text() == "5 rows: 4 to render, 1 cannot be made (see the reason)"
    bad = dialog.table.rows.lines[1]
    assert (bad.row, bad.cell(STATUS)) == (2, "cannot be made") and bad.reason.endswith("missing.jpg: photo not found")
    assert [row.request.preset for row in dialog.plan.rows] == ["orbit", "push-in", "orbit", "orbit"]

    dialog.start()
    qtbot.waitUntil(lambda: dialog.table.rows.count(DONE) >= 1, timeout=RUN_S)
    dialog.cancel()
    assert dialog.progress_text.text() == "Cancelling…" and not dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.running, timeout=20_000)
    made = [line for line in dialog.table.rows.lines if line.status == DONE]
    left = dialog.to_render()
    assert dialog.progress_text.text().startswith(f"Cancelled after {len(made)} of 4 rows")
    assert 1 <= len(made) and left == 4 - len(made) and dialog.start_button.text() == f"Start: {left} rows"
    assert dialog.table.rows.lines[1].cell(STATUS) == "cannot be made"  # still said, never rendered
    first = {line.key: Path(line.clips[0]).stat().st_mtime_ns for line in made}

    dialog.start()  # goes on with the rest: what the cancelled run made is left alone
    qtbot.waitUntil(lambda: not dialog.running, timeout=RUN_S)
    assert dialog.progress_text.text().startswith(f"Finished: {left} of {left} rows made, {len(made)} done earlier")
    assert column(dialog, STATUS) == ["done", "cannot be made", "done", "done", "done"]
    assert column(dialog, CLIPS) == ["coffee.mp4", "", "rocket.mp4", "cat.mp4", "astronaut.mp4"]
    assert {line.key: Path(line.clips[0]).stat().st_mtime_ns for line in made} == first
    with open(folder / "batch" / RESULTS_FILE, newline="") as file:
        done = [row["key"] for row in csv.DictReader(file) if row["status"] == DONE]
    assert sorted(done) == sorted(line.key for line in dialog.table.rows.lines if line.key)  # each made once


def test_closing_a_running_batch_asks_settings_changed_meanwhile_apply_after_and_the_window_stops_it(qtbot, make_window, samples, tmp_path):
    folder = photos(tmp_path / "shots", samples, ["coffee.jpg", "rocket.jpg"])
    window = make_window()
    dialog = opened_batch(qtbot, window)
    dialog.set_source(folder)
    read(qtbot, dialog)
    dialog.start()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.confirm is not None and dialog.confirm.isVisible() and dialog.isVisible()
    dialog.confirm.button(QMessageBox.StandardButton.No).click()  # Keep running
    assert dialog.isVisible() and dialog.running and dialog.cancel_button.isEnabled()
    window.state.choose(duration=2.0)  # other rows now: read once this run has ended
    qtbot.wait(SETTLE_MS + 200)
    assert [row.request.duration for row in dialog.plan.rows] == [1.0, 1.0]

    dialog.reject()
    dialog.confirm.button(QMessageBox.StandardButton.Yes).click()  # Stop and close
    assert not dialog.isVisible() and dialog.cancelling
    qtbot.waitUntil(lambda: not dialog.running, timeout=20_000)
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=20_000)
    assert [row.request.duration for row in dialog.plan.rows] == [2.0, 2.0]
    assert dialog.summary.text() == "2 rows: 2 to render (read again: the clip settings changed during the run)"
    assert dialog.progress_text.text().startswith("Cancelled after 0 of 2 rows")  # how the run went stays said

    window.batch_action.trigger()  # open again: the rest of the batch is there to start
    assert dialog.isVisible() and dialog.start_button.isEnabled()
    dialog.start()
    window.close()  # while it runs: the window stops it and waits for its thread (the fixture checks)
    assert dialog.cancelling


def test_a_manifest_dropped_on_the_window_opens_it_in_the_batch_dialog(qtbot, make_window, samples, tmp_path):
    folder = photos(tmp_path / "catalogue", samples, ["coffee.jpg"])
    (folder / "spring.jsonl").write_text('{"photo": "coffee.jpg", "duration": 2}\n{"photo": "coffee.jpg", '
                                         '"duration": "long"}\n', encoding="utf-8")
    window = make_window()
    window.state.choose(**QUICK)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder / "spring.jsonl"))])
    for kind in (QDragEnterEvent, QDropEvent):
        QApplication.sendEvent(window, kind(QPointF(200, 200), Qt.DropAction.CopyAction, mime,
                                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    dialog = window.batch_dialog
    assert dialog is not None and dialog.isVisible() and window.state.photos == []  # not taken for a photo
    read(qtbot, dialog)
    assert dialog.summary.text() == "2 rows: 1 to render, 1 cannot be made (see the reason)"
    assert dialog.table.rows.lines[1].reason == "duration: not a number: 'long'"
    assert dialog.plan.rows[0].request.duration == 2.0 and dialog.plan.rows[0].request.aspect == "1:1"
