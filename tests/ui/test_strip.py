"""The variant strip and the history over a long session: cards stay where they are, thumbnails
only for what is on screen within a budget, the History tab filled off the GUI thread, and clips
dragged out as files."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QDrag
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from i2v_desktop.core.record import CLIP_SCHEMA, ClipEntry, ClipRecord
from i2v_desktop.storage.history import History
from i2v_desktop.storage.paths import history_dir
from i2v_desktop.ui.cards import card_parts
from i2v_desktop.ui.clips import THUMBS_ON_SCREEN_S, Budget

from i2v_desktop.ui.state import Status
from i2v_desktop.ui.variants import VariantStrip

QUICK = dict(duration=1.0, fps=12.0, aspect="1:1", quality="draft", variants=2, model="instant")


def add_ready(qtbot, window, paths) -> None:
    window.add_paths(paths)
    qtbot.waitUntil(lambda: window.state.photos and all(p.status == Status.READY for p in window.state.photos),
                    timeout=10_000)


def generate(qtbot, window) -> None:
    window.generate()
    qtbot.waitUntil(lambda: not window.queue.busy and not window.queue.pending, timeout=60_000)


def click(strip, entry_id, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    QTest.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton, modifier, strip.card_rect(entry_id).center())


def drag_out(qtbot, monkeypatch, widget, start: QPoint) -> list[str]:
    """Press and move past the drag distance; the file URLs the drag carried (the drag itself ends at
    once offscreen, so its exec is where they are read)."""
    carried = []
    monkeypatch.setattr(QDrag, "exec", lambda drag, *a: carried.extend(u.toLocalFile() for u in drag.mimeData().urls())
                        or Qt.DropAction.CopyAction)
    QTest.mousePress(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(widget, start + QPoint(QApplication.startDragDistance() + 5, 0))
    QTest.mouseRelease(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       start + QPoint(QApplication.startDragDistance() + 5, 0))
    return carried


def clone_history(window, qtbot, samples, count: int, names: list[str]) -> list[str]:
    """`count` clips spread over the photos `names`: one real render, copied in the history's index as
    many renders would leave it. Closes `window`; returns the photos' paths as the window keys them."""
    add_ready(qtbot, window, [samples / name for name in names])
    window.state.choose(**{**QUICK, "variants": 1})
    window.state.select(window.state.photos[0].path)
    generate(qtbot, window)
    paths = [photo.path for photo in window.state.photos]
    window.close()
    root = history_dir()
    history = History(root)
    [model] = history.entries()
    folder = root / "clips" / "copies"
    folder.mkdir(parents=True)
    for i in range(count):
        mp4, thumbs = folder / f"clip-{i}.mp4", folder / f"clip-{i}.thumbs.npz"
        os.link(model.mp4, mp4)
        os.link(model.thumbs, thumbs)
        record = model.record.to_dict()
        record["request"]["image"] = paths[i % len(paths)]
        record["request"]["seed"] = record["render"]["seed"] = 1000 + i
        history.restore(ClipEntry(uuid.uuid4().hex, mp4, thumbs, paths[i % len(paths)], model.created + i,
                                  ClipRecord(record)))
    # Only the copies: the model's files leave the clips folders (else the next start finds them again).
    kept = root / "model"
    kept.mkdir()
    for path in (model.mp4, model.mp4.with_suffix(".json"), model.thumbs):
        path.rename(kept / path.name)
    history.forget(model.id)
    history.close()
    return paths


def test_a_finalize_leaves_the_selection_and_the_cards_where_they_are(qtbot, make_window, samples):
    """Break 6: the strip reordered under the cursor when a Finalize finished."""
    window = make_window()
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.choose(**QUICK)
    generate(qtbot, window)
    strip = window.variants
    order = [entry.id for entry in strip.entries()]
    worse = min(strip.entries(), key=lambda e: e.score)  # the one a score sort would move
    click(strip, worse.id)
    where = strip.card_rect(worse.id)
    window.finalize_button.click()
    qtbot.waitUntil(lambda: not window.queue.busy and not window.queue.pending, timeout=60_000)

    final = strip.entries()[-1]
    assert [entry.id for entry in strip.entries()] == order + [final.id]  # it joins at the end; none moves
    assert strip.is_final(final) and not any(strip.is_final(e) for e in strip.entries()[:-1])
    assert strip.selection == [worse.id] and strip.card_rect(worse.id) == where
    click(strip, worse.id)  # the same place is still the same clip
    with qtbot.waitSignal(window.viewer.undo.clipsChanged, timeout=5_000):  # to the trash, off the GUI thread
        window.delete_button.click()
    assert window.undo_action.text() == f"&Undo Delete {worse.mp4.name}"  # the clicked one, no other
    assert [entry.id for entry in strip.entries()] == [i for i in order + [final.id] if i != worse.id]

    tip = strip.model.data(strip.model.index(strip.model.row(final.id)), Qt.ItemDataRole.ToolTipRole)
    preset = next(p.name for p in window.studio.presets() if p.id == final.preset)
    assert preset in tip and f"seed {final.seed}" in tip and "final" in tip
    for words in ("Motion", "Flicker", "Subject", "how much the subject still looks like the photo", "marks a flag"):
        assert words in tip
    badge = strip.viewport().grab(strip.card_rect(final.id)).toImage()
    plain = strip.viewport().grab(strip.card_rect(next(i for i in order if i != worse.id))).toImage()
    highlight = window.palette().highlight().color().rgb()
    corner = [badge.pixel(x, y) for x in range(10, 30) for y in range(10, 16)]
    assert highlight in corner and highlight not in [plain.pixel(x, y) for x in range(10, 30) for y in range(10, 16)]


def test_thumbnails_stay_within_their_budget_least_recently_used_first():
    budget = Budget(limit=3_000)
    for name in "abc":
        budget.put(name, np.zeros(1_000, np.uint8), 1_000)
    budget.get_recent("a")  # used: "b" is now the oldest
    budget.put("d", np.zeros(1_000, np.uint8), 1_000)
    assert list(budget) == ["c", "a", "d"] and budget.nbytes == 3_000
    budget.put("huge", np.zeros(5_000, np.uint8), 5_000)  # the newest stays, however large
    assert list(budget) == ["huge"] and budget.nbytes == 5_000
    budget.drop("huge")
    assert budget.nbytes == 0

    on_screen = Budget(limit=3_000, keep_s=60)  # used within the minute: painted, so kept
    for name in "abcd":
        on_screen.put(name, np.zeros(1_000, np.uint8), 1_000)
    assert list(on_screen) == ["a", "b", "c", "d"] and on_screen.nbytes == 4_000


def test_a_photo_with_hundreds_of_clips_costs_only_what_is_on_screen(qtbot, make_window, samples):
    paths = clone_history(make_window(), qtbot, samples, 300, ["coffee.jpg", "chelsea.jpg"])
    window = make_window()
    window.resize(1280, 800)
    clips = window.viewer.clips
    clips.thumbs.limit = 20 * 1_100_000  # about 20 strips of these clips
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.select(paths[0])
    strip = window.variants
    assert len(strip.entries()) == 150
    assert len(strip.findChildren(QWidget)) < 12  # a view and its scroll bars, not a widget per clip
    on_screen = [e for e in strip.entries() if strip.viewport().rect().intersects(strip.card_rect(e.id))]
    assert 3 <= len(on_screen) < 12
    qtbot.waitUntil(lambda: all(e.id in clips.thumbs for e in on_screen), timeout=10_000)
    assert len(clips.thumbs) == len(on_screen)  # none read for the cards off screen
    strip.view.horizontalScrollBar().setValue(strip.view.horizontalScrollBar().maximum())
    last = strip.entries()[-1]
    qtbot.waitUntil(lambda: last.id in clips.thumbs, timeout=10_000)
    for value in range(0, strip.view.horizontalScrollBar().maximum(), 600):  # scrolled through
        strip.view.horizontalScrollBar().setValue(value)
        qtbot.wait(20)
    qtbot.waitUntil(lambda: not clips._reading and not clips._wanted, timeout=20_000)
    qtbot.wait(int(THUMBS_ON_SCREEN_S * 1000) + 200)  # the cards seen in passing are no longer on screen
    clips.remember_thumbs("a new clip", np.zeros((12, 160, 160, 3), np.uint8))
    assert clips.thumbs.nbytes <= clips.thumbs.limit and len(clips.thumbs) > 5


def test_the_history_tab_fills_off_the_gui_thread_newest_first(qtbot, make_window, samples):
    clone_history(make_window(), qtbot, samples, 400, ["coffee.jpg"])
    window = make_window()
    history = window.history_strip
    window.viewer.show_history()
    assert history.entries() == []  # read on the pool: opening the tab does not wait for it
    qtbot.waitUntil(lambda: len(history.entries()) == 400, timeout=10_000)
    created = [entry.created for entry in history.entries()]
    assert created == sorted(created, reverse=True)
    first = history.entries()[0]
    qtbot.waitUntil(lambda: first.id in window.viewer.clips.thumbs, timeout=10_000)
    assert history.entries()[-1].id not in window.viewer.clips.thumbs


def test_cards_keys_and_the_context_menu(qtbot, make_window, samples, monkeypatch):
    window = make_window()
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.choose(**QUICK)
    generate(qtbot, window)
    strip = window.variants
    first, second = strip.entries()
    click(strip, first.id)
    click(strip, second.id, Qt.KeyboardModifier.ControlModifier)
    assert strip.selection == [first.id, second.id] and window.compare_button.isEnabled()
    QTest.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton, pos=strip.star_rect(second.id).center())
    assert strip.is_starred(second.id) and window.studio.clip(second.id).starred
    assert strip.selection == [first.id, second.id]  # a star is not a click on the card

    strip.setFocus()
    QTest.keyClick(strip.view, Qt.Key.Key_Home)
    assert strip.selection == [first.id]
    QTest.keyClick(strip.view, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    assert strip.selection == [second.id]
    QTest.keyClick(strip.view, Qt.Key.Key_Left)  # plain arrows are the player's: the selection stays
    assert strip.selection == [second.id]
    played = []
    strip.activated.connect(played.append)
    QTest.keyClick(strip.view, Qt.Key.Key_Return)
    assert played == [second.id]

    menu = strip.context_menu(strip.card_rect(first.id).center())
    assert strip.selection == [first.id]  # a right-click picks the card under it first
    shown = [(action.text(), action.isEnabled()) for action in menu.actions()]
    assert ("Finalize", True) in shown and ("Delete", True) in shown and ("Compare", False) in shown


def test_a_clip_drags_out_as_a_file_from_its_card_and_from_the_player(qtbot, make_window, samples, monkeypatch):
    window = make_window()
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.choose(**{**QUICK, "variants": 1})
    generate(qtbot, window)
    strip = window.variants
    (clip,) = strip.entries()
    assert drag_out(qtbot, monkeypatch, strip.viewport(), strip.card_rect(clip.id).center()) == [str(clip.mp4)]
    qtbot.waitUntil(lambda: window.player.frame_count > 0, timeout=10_000)
    canvas = window.player.canvas
    assert drag_out(qtbot, monkeypatch, canvas, canvas.rect().center()) == [str(clip.mp4)]

    window.player.clear("Deleted")  # nothing on show: nothing to drag
    assert drag_out(qtbot, monkeypatch, canvas, canvas.rect().center()) == []


def _entry(n: int) -> ClipEntry:
    record = ClipRecord.from_dict({"schema": CLIP_SCHEMA, "request": {"image": "/photos/a.jpg", "seed": n},
                                   "render": {"fps": 12, "num_frames": 12}}, "test")
    return ClipEntry(f"id{n}", Path(f"/clips/{n}.mp4"), Path(f"/clips/{n}.thumbs.npz"), "/photos/a.jpg", n, record)


def test_new_clips_never_slide_the_cards_on_screen(qtbot):
    strip = VariantStrip("empty", label=lambda entry: entry.id)
    qtbot.addWidget(strip)
    strip.resize(700, 200)
    strip.show()
    qtbot.waitExposed(strip)
    strip.set_entries([_entry(n) for n in range(20)])
    strip.view.horizontalScrollBar().setValue(900)
    strip.select("id8")
    watched = strip.card_rect("id8")
    assert strip.viewport().rect().intersects(watched)
    strip.prepend(_entry(100))  # the history: newest first
    strip.append(_entry(101))  # the variants: at the end
    strip.remove(["id2"])  # off screen, before the cards in view
    strip.prepend(_entry(102))
    assert strip.card_rect("id8") == watched and strip.selection == ["id8"]
    assert [e.id for e in strip.entries()][:3] == ["id102", "id100", "id0"]
    strip.view.horizontalScrollBar().setValue(0)  # at the very start the newest shows
    strip.prepend(_entry(103))
    assert strip.card_rect("id103").left() < strip.card_rect("id102").left() and strip.card_rect("id103").left() < 20


def test_captions_fit_their_cards_with_the_whole_seed(qtbot, make_window, samples):
    """The seed was cut short ("seed 1121845..") in the strip's captions."""
    window = make_window()
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.choose(**{**QUICK, "variants": 1, "seed": 4_294_967_295})  # the widest seed there is
    generate(qtbot, window)
    strip = window.variants
    (clip,) = strip.entries()
    caption = strip.model.data(strip.model.index(0), Qt.ItemDataRole.DisplayRole)
    assert str(clip.seed) in caption
    room = card_parts(strip.card_rect(clip.id))[1].width()  # where the card paints its caption
    assert strip.view.fontMetrics().horizontalAdvance(caption) <= room


def test_up_to_four_clips_are_compared_in_a_grid_and_ctrl_click_takes_one_out(qtbot, make_window, samples):
    window = make_window()
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.choose(**{**QUICK, "variants": 4, "preset": "orbit"})  # orbit: every seed a take of its own
    generate(qtbot, window)
    strip = window.variants
    ids = [entry.id for entry in strip.entries()]
    assert len(ids) == 4
    click(strip, ids[0])
    for entry_id in ids[1:]:
        click(strip, entry_id, Qt.KeyboardModifier.ControlModifier)
    assert strip.selection == ids and window.compare_button.isEnabled()
    window.compare_button.click()
    qtbot.waitUntil(lambda: window.compare.shown == 4 and window.compare.frame_count > 0, timeout=10_000)
    seeds = [label.text().split(" · ")[0] for label in window.compare.labels]
    assert len(set(seeds)) == 4 and all(s.startswith("seed ") for s in seeds)
    click(strip, ids[1], Qt.KeyboardModifier.ControlModifier)  # Ctrl+click a selected clip takes it out
    assert strip.selection == [ids[0], ids[2], ids[3]]
    click(strip, ids[1], Qt.KeyboardModifier.ControlModifier)
    assert strip.selection == [ids[0], ids[2], ids[3], ids[1]]
