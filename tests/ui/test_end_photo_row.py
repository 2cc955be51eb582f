"""The clip settings' "End on" row in the real window (issue 16): an end photo chosen for the selected
photo goes into its render (and only its own), a model that cannot end on a chosen frame greys the
row with the reason on it, a loop and an end photo exclude each other, and Wan2.1 FLF2V with no end
photo is refused in one line before anything is queued."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from i2v_desktop.bench.tiny import save_tiny_pipeline
from i2v_desktop.ui.endframe import END_EXCLUDES, LOOP_EXCLUDES
from i2v_desktop.ui.state import Status

QUICK = dict(preset="push-in", duration=0.5, fps=None, aspect="source", quality="draft", variants=1, seed=3)


@pytest.fixture(scope="module")
def tiny_flf2v(tmp_path_factory) -> Path:
    return save_tiny_pipeline("wan2.1-flf2v", tmp_path_factory.mktemp("models") / "tiny-flf2v")


@pytest.fixture
def user_flf2v(isolated_home, tiny_flf2v) -> str:
    """A tiny random-weight Wan2.1 FLF2V as the user's own model (models.json), as the CLI test has it."""
    folder = isolated_home / "config" / "i2v_desktop"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "models.json").write_text(json.dumps({"models": [{
        "id": "tiny-flf2v", "base": "wan2.1-flf2v-14b-720p", "name": "Tiny FLF2V", "path": str(tiny_flf2v),
        "resolutions": {"tiny": [64, 64]}, "max_frames": 9,
        "tiers": {q: {"resolution": "tiny", "steps": 2} for q in ("draft", "standard", "final")},
        "tiny_decoder": None}]}))
    return "tiny-flf2v"


def add(qtbot, window, samples: Path, names: list[str]) -> list[str]:
    paths = [str((samples / name).resolve()) for name in names]
    window.add_paths([Path(path) for path in paths])
    qtbot.waitUntil(lambda: len(window.state.photos) == len(paths)
                    and all(p.status == Status.READY for p in window.state.photos), timeout=10_000)
    return paths


def drop_on(widget, path: str) -> None:
    """What a drag of one file from a file manager delivers: enter (accepted or not), then the drop."""
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(path)])
    args = (QPointF(5, 5), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(*args)
    QApplication.sendEvent(widget, enter)
    if enter.isAccepted():
        QApplication.sendEvent(widget, QDropEvent(*args))


def test_an_end_photo_goes_into_the_selected_photos_render_and_the_clip_records_it(
        qtbot, make_window, samples, user_flf2v):
    window = make_window()
    window.state.choose(model=user_flf2v, **QUICK)
    astronaut, coffee = add(qtbot, window, samples, ["astronaut.jpg", "coffee.jpg"])
    row = window.settings_panel.end_row
    assert row.choose.isEnabled() and not row.clear.isEnabled()
    assert "needs an end photo" in row.note.text()  # FLF2V renders only towards one
    assert row.experimental.isHidden()  # its published use
    end = str((samples / "rocket.jpg").resolve())
    window.state.select(astronaut)
    drop_on(row, end)
    assert window.state.photo(astronaut).end_image == end and row.name.text() == "rocket.jpg"
    assert row.thumb.pixmap() is not None and not row.thumb.pixmap().isNull() and row.clear.isEnabled()
    # Each photo keeps its own: the other has none, and shows none.
    window.state.select(coffee)
    assert window.state.photo(coffee).end_image is None and not row.clear.isEnabled()
    window.state.select(astronaut)
    assert row.name.text() == "rocket.jpg"
    # The loop is the other way to end: with an end photo it is greyed, saying why.
    loop = window.controls.loop
    assert not loop.isEnabled() and loop.toolTip() == END_EXCLUDES
    [request] = window.state.requests([window.state.photo(astronaut)])
    assert request.end_image == end and request.model == user_flf2v

    window.photos.clearSelection()
    window.generate_button.click()
    qtbot.waitUntil(lambda: window.state.photo(astronaut).status == Status.DONE, timeout=300_000)
    [entry] = window.studio.clips(astronaut)
    assert entry.request().end_image == end
    # A photo dropped that is not one: one line naming it, the end photo kept.
    drop_on(row, str(samples / "LICENSES.md"))
    assert "LICENSES.md: not a photo" in window.banner.text.text()
    assert window.state.photo(astronaut).end_image == end
    row.clear.click()
    assert window.state.photo(astronaut).end_image is None and loop.isEnabled()


def test_flf2v_without_an_end_photo_is_refused_in_one_line_and_nothing_is_queued(
        qtbot, make_window, samples, user_flf2v):
    window = make_window()
    window.state.choose(model=user_flf2v, **QUICK)
    add(qtbot, window, samples, ["coffee.jpg"])
    window.generate_button.click()
    line = window.banner.text.text()
    assert "makes the motion between two frames: give it an end frame" in line and "\n" not in line
    assert len(window.queue) == 0 and window.state.photos[0].status == Status.READY
    # Turned into a loop, it may render; and then the end row says the loop excludes an end photo.
    window.state.choose(loop=True)
    row = window.settings_panel.end_row
    assert not row.choose.isEnabled() and LOOP_EXCLUDES in row.note.text()


@pytest.mark.parametrize("model, why", [
    ("instant", "cannot end on a chosen frame"),
    ("wan2.1-i2v-14b-480p", "conditions the first frame only"),
])
def test_a_model_that_cannot_end_on_a_chosen_frame_greys_the_row_with_the_reason(
        qtbot, make_window, samples, model, why):
    window = make_window()
    [path] = add(qtbot, window, samples, ["coffee.jpg"])
    window.state.choose(model=model)
    row = window.settings_panel.end_row
    assert not row.choose.isEnabled() and not row.name.isEnabled() and row.experimental.isHidden()
    assert why in row.note.text() and row.note.isVisible() and why in row.toolTip()
    # One chosen on a model that could, then this model: the row says why, ✕ still clears it, and
    # Generate refuses in the engine's one line rather than queuing a render that must fail.
    window.state.update_photo(path, end_image=str((samples / "rocket.jpg").resolve()))
    assert row.clear.isEnabled()
    window.generate_button.click()
    assert "cannot end on a chosen frame" in window.banner.text.text() and len(window.queue) == 0
    row.clear.click()
    assert window.state.photo(path).end_image is None


def test_a_model_where_ending_on_a_photo_is_experimental_says_so_beside_the_row(qtbot, make_window, samples):
    window = make_window()
    add(qtbot, window, samples, ["coffee.jpg"])
    window.state.choose(model="wan2.2-i2v-a14b")
    row = window.settings_panel.end_row
    assert row.choose.isEnabled() and not row.experimental.isHidden()
    assert "is experimental: it was published for a first frame only" in row.experimental.toolTip()
    assert "experimental" in row.note.text()
