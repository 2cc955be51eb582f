"""Undo: a deleted clip comes back from the trash where it was; a star and a framing move come back."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from test_window import QUICK, add_ready, generate


def undo_keys(qtbot, window, redo: bool = False) -> None:
    modifiers = Qt.KeyboardModifier.ControlModifier
    if redo:
        modifiers |= Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(window, Qt.Key.Key_Z, modifiers)


def test_a_deleted_clip_goes_to_the_trash_and_ctrl_z_brings_it_back_where_it_was(qtbot, make_window, samples):
    window = make_window()
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.choose(**QUICK)
    generate(qtbot, window)
    order = [entry.id for entry in window.variants.entries()]
    gone = window.variants.entries()[1]
    files = window.studio.clip_files(gone)
    assert all(path.is_file() for path in files)
    assert not window.undo_action.isEnabled()

    window.variants.select(gone.id)
    with qtbot.waitSignal(window.viewer.undo.clipsChanged, timeout=5_000):  # the move is off the GUI thread
        window.delete_button.click()
    assert len(window.studio.clips()) == 1
    trash = Path(os.environ["XDG_DATA_HOME"]) / "Trash"
    assert not any(path.exists() for path in files)
    assert sorted(p.name for p in (trash / "files").iterdir()) == sorted(p.name for p in files)
    assert [entry.id for entry in window.variants.entries()] == [order[0]]
    assert window.undo_action.isEnabled() and window.undo_action.text() == f"&Undo Delete {gone.mp4.name}"

    with qtbot.waitSignal(window.viewer.undo.clipsChanged, timeout=5_000):
        undo_keys(qtbot, window)
    assert all(path.is_file() for path in files)
    assert list((trash / "files").iterdir()) == [] and list((trash / "info").iterdir()) == []
    assert [entry.id for entry in window.variants.entries()] == order  # where it was
    assert window.variants.selection == [gone.id] and window.studio.clip(gone.id) == gone
    assert window.redo_action.text() == f"&Redo Delete {gone.mp4.name}"

    with qtbot.waitSignal(window.viewer.undo.clipsChanged, timeout=5_000):
        undo_keys(qtbot, window, redo=True)
    assert not gone.mp4.exists() and (trash / "files" / gone.mp4.name).is_file()


def test_where_there_is_no_trash_a_delete_asks_first_and_cannot_be_undone(qtbot, make_window, samples,
                                                                         monkeypatch, tmp_path):
    window = make_window()
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.choose(**{**QUICK, "variants": 1})
    generate(qtbot, window)
    (clip,) = window.variants.entries()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "no such folder"))  # Qt finds no trash there
    asked, told = [], []
    monkeypatch.setattr(QMessageBox, "question", lambda parent, title, text: asked.append(text)
                        or QMessageBox.StandardButton.No)
    window.viewer.message.connect(lambda text, kind, action: told.append(text))
    window.variants.select(clip.id)
    window.delete_button.click()
    qtbot.waitUntil(lambda: bool(asked), timeout=5_000)
    assert told == [f"{clip.mp4}: cannot be moved to the trash (no usable trash folder for it)"]
    assert f"Delete {clip.mp4.name} for good? This cannot be undone." in asked[0]
    assert clip.mp4.is_file() and len(window.studio.clips()) == 1  # "No" keeps it

    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(window.viewer.undo.clipsChanged, timeout=5_000):
        window.delete_button.click()
    assert window.studio.clips() == []
    assert not clip.mp4.exists() and not window.undo_action.isEnabled()


def test_a_star_and_a_framing_move_undo_and_redo(qtbot, make_window, samples):
    window = make_window()
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.choose(**{**QUICK, "variants": 1})
    generate(qtbot, window)
    (clip,) = window.variants.entries()
    strip = window.variants
    qtbot.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton, pos=strip.star_rect(clip.id).center())
    assert window.studio.clip(clip.id).starred
    assert window.undo_action.text() == f"&Undo Pick {clip.mp4.name}"
    undo_keys(qtbot, window)
    assert not window.studio.clip(clip.id).starred and not strip.is_starred(clip.id)
    undo_keys(qtbot, window, redo=True)
    assert window.studio.clip(clip.id).starred and strip.is_starred(clip.id)

    photo = window.state.selected
    window.viewer.show_framing_view()
    window.crop.setFocus()
    for _ in range(3):  # one burst of nudges is one step
        qtbot.keyClick(window.crop, Qt.Key.Key_Left)
    moved = window.state.photo(photo).crop_center
    assert moved is not None and window.crop.crop_center == moved
    assert window.undo_action.text() == "&Undo Move the framing of coffee.jpg"
    undo_keys(qtbot, window)
    assert window.state.photo(photo).crop_center is None and window.crop.crop_center is None
    assert window.undo_action.text() == f"&Undo Pick {clip.mp4.name}"
    undo_keys(qtbot, window, redo=True)
    assert window.state.photo(photo).crop_center == moved and window.crop.crop_center == moved


def test_a_clip_the_trash_lost_meanwhile_cannot_come_back_and_says_so_in_one_line(qtbot, make_window, samples):
    window = make_window()
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.choose(**{**QUICK, "variants": 1})
    generate(qtbot, window)
    (clip,) = window.variants.entries()
    window.variants.select(clip.id)
    with qtbot.waitSignal(window.viewer.undo.clipsChanged, timeout=5_000):
        window.delete_button.click()
    trashed = Path(os.environ["XDG_DATA_HOME"]) / "Trash" / "files" / clip.mp4.name
    trashed.unlink()  # the user emptied the trash
    told = []
    window.viewer.message.connect(lambda text, kind, action: told.append(text))
    with qtbot.waitSignal(window.viewer.undo.failed, timeout=5_000):
        undo_keys(qtbot, window)
    assert told == [f"{trashed}: cannot come back from the trash (No such file or directory)"]
    assert window.studio.clips() == [] and not clip.mp4.exists()
