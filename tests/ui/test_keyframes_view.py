"""Keyframes in the framing view: A and B (and M) dragged and resized within the photo at the clip's
aspect, undoable, kept per photo, greyed on a model that cannot follow them, and rendered."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from i2v_desktop.core.framing import Box
from i2v_desktop.core.keyframes import MIN_WIDTH, Framing
from i2v_desktop.ui.keyframes import KeyframeView, framing_box, full_width

from test_crop_view import SOURCE, SUBJECT, TALL, shown
from test_undo import undo_keys
from test_window import QUICK, add_ready, generate


@pytest.fixture
def view(qtbot) -> KeyframeView:
    return shown(qtbot, KeyframeView())


def seen(view: KeyframeView) -> list:
    got: list = []
    view.keyframesChanged.connect(lambda keys, continuous: (view.set_keyframes(keys), got.append(keys)))
    return got


def at(view: KeyframeView, x: float, y: float) -> QPoint:
    photo = view.photo_rect()
    return QPointF(photo.x() + x * photo.width() / SOURCE[0], photo.y() + y * photo.height() / SOURCE[1]).toPoint()


def drag(qtbot, widget, start: QPoint, end: QPoint) -> None:
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(widget, QPoint((start.x() + end.x()) // 2, (start.y() + end.y()) // 2))
    qtbot.mouseMove(widget, end)
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=end)


def inside(box: Box) -> bool:
    return box.x >= -1e-6 and box.y >= -1e-6 and box.x + box.w <= SOURCE[0] + 1e-6 and box.y + box.h <= SOURCE[1] + 1e-6


def test_keyframes_start_at_the_crop_and_end_pushed_in_on_the_subject(view):
    got = seen(view)
    crop = view.crop_box()
    view.start_keyframes()
    (keys,) = got
    start, end = keys
    assert view.box_of(0) == pytest.approx(crop)  # A is the crop as it was
    assert end.width == pytest.approx(0.6 * start.width)
    assert view.box_of(1).center == pytest.approx(SUBJECT.center)
    assert len(view.path_boxes()) == 4 and all(inside(b) for b in view.path_boxes())


def test_dragging_b_moves_it_and_never_past_the_photo(qtbot, view):
    got = seen(view)
    view.start_keyframes()
    before = view.box_of(1)
    drag(qtbot, view, at(view, *before.center), at(view, *before.center) + QPoint(-80, 30))
    after = view.box_of(1)
    assert after.w == pytest.approx(before.w)  # moved, not resized
    assert after.center[0] < before.center[0] - 400 and after.center[1] > before.center[1] + 200
    assert view.keyframes[0] == got[0][0]  # A stays
    drag(qtbot, view, at(view, *after.center), at(view, *after.center) + QPoint(-2000, 2000))
    assert inside(view.box_of(1)) and view.box_of(1).x == pytest.approx(0.0)


def test_a_corner_resizes_with_the_aspect_kept_within_bounds_and_not_below_min_width(qtbot, view):
    view.keyframesChanged.connect(lambda keys, continuous: view.set_keyframes(keys))
    view.start_keyframes()
    box = view.box_of(1)
    corner = at(view, box.x + box.w, box.y + box.h)
    drag(qtbot, view, corner, corner + QPoint(-30, -30))  # the bottom-right corner, inwards
    small = view.box_of(1)
    assert small.w < box.w and small.w / small.h == pytest.approx(TALL)
    assert (small.x, small.y) == pytest.approx((box.x, box.y))  # the opposite corner stays put
    corner = at(view, small.x + small.w, small.y + small.h)
    drag(qtbot, view, corner, corner + QPoint(900, 900))  # far past the photo
    big = view.box_of(1)
    assert inside(big) and big.w / big.h == pytest.approx(TALL) and big.y + big.h == pytest.approx(SOURCE[1])
    corner = at(view, big.x + big.w, big.y + big.h)
    drag(qtbot, view, corner, at(view, big.x - 500, big.y - 500))  # past the anchor: the smallest box
    assert view.keyframes[1].width == pytest.approx(MIN_WIDTH)


def test_the_wheel_resizes_about_the_centre(qtbot, view):
    view.keyframesChanged.connect(lambda keys, continuous: view.set_keyframes(keys))
    view.start_keyframes()
    before = view.keyframes[1]
    centre = QPointF(at(view, *view.box_of(1).center))
    for _ in range(200):  # far more notches than the photo has room for
        event = QWheelEvent(centre, view.mapToGlobal(centre), QPoint(), QPoint(0, -120), Qt.MouseButton.NoButton,
                            Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(view, event)
    wide = view.keyframes[1]
    assert wide.width == pytest.approx(1.0) and inside(view.box_of(1)) and wide.width > before.width
    assert view.box_of(1).h == pytest.approx(SOURCE[1])  # the widest 9:16 crop of a landscape photo


def test_middle_is_added_on_the_path_and_removed(view):
    got = seen(view)
    view.start_keyframes()
    view.add_middle()
    assert len(got[-1]) == 3 and got[-1][0] == got[0][0] and got[-1][2] == got[0][1]
    middle = got[-1][1]
    a, b = got[0]
    assert min(a.x, b.x) <= middle.x <= max(a.x, b.x)
    view.remove_middle()
    assert got[-1] == got[0]
    view.clear_keyframes()
    assert got[-1] == ()


def test_framing_box_is_the_engines_crop():
    ratio = 16 / 9
    full = full_width(SOURCE, ratio)
    assert full == 4000.0
    box = framing_box(0.5, 0.5, 0.5, SOURCE, ratio)
    assert (box.w, box.h) == pytest.approx((2000.0, 1125.0)) and box.center == pytest.approx((2000.0, 1500.0))
    edge = framing_box(1.0, 0.0, 0.5, SOURCE, ratio)  # slid back inside, as the engine slides it
    assert (edge.x, edge.y) == pytest.approx((2000.0, 0.0))


# -- in the window ------------------------------------------------------------------------------


def test_in_the_window_keyframes_are_dragged_kept_per_photo_undone_and_rendered(qtbot, make_window, samples):
    window = make_window()
    add_ready(qtbot, window, [samples / "coffee.jpg", samples / "rocket.jpg"])
    window.state.choose(**{**QUICK, "variants": 1})
    first = window.state.selected
    window.viewer.show_framing_view()
    pane = window.viewer.framing_pane
    view = pane.view
    assert pane.toggle.isEnabled() and not pane.toggle.isChecked() and not pane.middle.isEnabled()

    pane.toggle.click()
    keys = window.state.photo(first).keyframes
    assert len(keys) == 2 and pane.toggle.isChecked() and pane.middle.isEnabled()
    assert window.undo_action.text() == "&Undo Set keyframes of coffee.jpg"

    end = view._rect(view.box_of(1)).center().toPoint()
    drag(qtbot, view, end, end + QPoint(-40, 20))
    moved = window.state.photo(first).keyframes
    assert moved[0] == keys[0] and moved[1] != keys[1] and moved[1].width == keys[1].width
    assert window.undo_action.text() == "&Undo Change the keyframes of coffee.jpg"

    pane.middle.click()
    assert len(window.state.photo(first).keyframes) == 3 and pane.middle.text() == "Remove middle"
    undo_keys(qtbot, window)  # the middle goes
    assert window.state.photo(first).keyframes == moved and view.keyframes == moved
    undo_keys(qtbot, window)  # the drag, as one step
    assert window.state.photo(first).keyframes == keys

    other = next(p.path for p in window.state.photos if p.path != first)
    window.state.select(other)
    assert view.keyframes == () and not pane.toggle.isChecked()
    window.state.select(first)
    assert view.keyframes == keys and pane.toggle.isChecked()

    window.state.choose(model="wan2.2-ti2v-5b")  # a diffusion model: greyed, with the reason; kept, not sent
    assert not pane.toggle.isEnabled() and not view.editing()
    assert pane.reason.text().startswith("Wan2.2 TI2V-5B cannot follow keyframes: only the Instant engine can")
    assert window.state.photo(first).keyframes == keys
    (request,) = window.state.requests([window.state.photo(first)])
    assert request.keyframes == ()

    window.state.choose(model="instant")
    assert pane.toggle.isEnabled() and view.editing()
    window.state.mark([first])
    generate(qtbot, window)
    (clip,) = window.studio.clips(first)
    recorded = tuple(Framing(**k) for k in clip.record.data["request"]["keyframes"])
    assert recorded == keys

    # Keyframes cleared, then the clip's settings used again: they come back and are shown.
    window.state.update_photo(first, keyframes=())
    assert view.keyframes == () and not pane.toggle.isChecked()
    window.variants.select(clip.id)
    window.viewer.restore_button.click()
    assert window.state.photo(first).keyframes == keys
    window.viewer.show_framing_view()
    assert view.keyframes == keys and pane.toggle.isChecked() and view.editing()


def test_arrows_nudge_the_selected_framing_and_number_keys_select(qtbot, view):
    view.keyframesChanged.connect(lambda keys, continuous: view.set_keyframes(keys))
    view.start_keyframes()
    view.setFocus()
    a, b = view.keyframes
    qtbot.keyClick(view, Qt.Key.Key_Left)  # B, the one just made, is selected
    assert view.keyframes[0] == a and view.keyframes[1].x == pytest.approx(b.x - 0.01)
    qtbot.keyClick(view, Qt.Key.Key_1)
    qtbot.keyClick(view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    moved = view.keyframes[0]
    assert moved.x == pytest.approx(min(a.x + 0.1, 1 - view.box_of(0).w / SOURCE[0] / 2))
    assert inside(view.box_of(0))
