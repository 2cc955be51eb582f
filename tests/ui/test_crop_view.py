"""CropView: the crop it shows and moves is the renderer's crop, and dragging feels right."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QToolButton

from i2v_desktop.core.framing import Box, crop_box
from i2v_desktop.ui.framing import HINT, CropView

SOURCE = (4000, 3000)
SUBJECT = Box(2400.0, 900.0, 600.0, 1200.0)  # right of centre, so automatic framing is off-centre
TALL = 9 / 16
GREY = 128


def shown(qtbot, widget: CropView) -> CropView:
    """`widget` showing a grey photo of SOURCE's size with SUBJECT, at the TALL aspect."""
    preview = QImage(400, 300, QImage.Format.Format_RGB32)  # a downscaled preview of a 4000 x 3000 photo
    preview.fill(QColor(GREY, GREY, GREY))
    qtbot.addWidget(widget)
    widget.resize(600, 400)
    widget.set_photo(preview, SOURCE, SUBJECT)
    widget.set_aspect(TALL)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def view(qtbot) -> CropView:
    return shown(qtbot, CropView())


def emitted(view: CropView) -> list:
    seen: list = []
    view.cropChanged.connect(seen.append)
    return seen


def to_widget(view: CropView, x: float, y: float) -> QPoint:
    """A point in source pixels, in widget coordinates."""
    photo = view.photo_rect()
    scale_x, scale_y = photo.width() / SOURCE[0], photo.height() / SOURCE[1]
    return QPointF(photo.x() + x * scale_x, photo.y() + y * scale_y).toPoint()


def source_px_per_widget_px(view: CropView) -> float:
    return SOURCE[0] / view.photo_rect().width()


def drag(qtbot, view: CropView, start: QPoint, end: QPoint) -> None:
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(view, QPoint((start.x() + end.x()) // 2, (start.y() + end.y()) // 2))
    qtbot.mouseMove(view, end)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=end)


def test_crop_is_the_renderers_crop(view):
    assert view.crop_center is None
    assert view.crop_box() == crop_box(SOURCE, TALL, SUBJECT, None)
    view.set_crop_center((0.3, 0.5))
    assert view.crop_box() == crop_box(SOURCE, TALL, SUBJECT, (0.3, 0.5))
    box = view.crop_box()
    assert box.h == 3000 and box.w == pytest.approx(3000 * TALL)


def test_setters_do_not_emit(view):
    seen = emitted(view)
    view.set_crop_center((0.4, 0.5))
    view.set_aspect(1.0)
    view.set_crop_center(None)
    assert seen == []
    assert view.crop_center is None


def test_drag_moves_the_crop_with_the_mouse(qtbot, view):
    seen = emitted(view)
    before = view.crop_box()
    start = to_widget(view, *before.center)
    drag(qtbot, view, start, start + QPoint(-60, 25))
    after = view.crop_box()
    scale = source_px_per_widget_px(view)
    # 60 widget pixels left is 60 * scale source pixels; the box is full height, so y cannot move.
    assert after.center[0] == pytest.approx(before.center[0] - 60 * scale, abs=scale)
    assert after.y == 0 and after.h == 3000
    assert view.crop_center == pytest.approx((after.center[0] / SOURCE[0], 0.5))
    assert view.crop_box() == crop_box(SOURCE, TALL, SUBJECT, view.crop_center)  # what the renderer gets
    assert seen and seen[-1] == view.crop_center
    assert len(seen) <= 3  # once per drag step


def test_drag_past_the_edge_clamps_and_never_jumps(qtbot, view):
    start = to_widget(view, *view.crop_box().center)
    drag(qtbot, view, start, start + QPoint(5000, 0))
    box = view.crop_box()
    assert box.x + box.w == pytest.approx(SOURCE[0])
    assert view.crop_center[0] == pytest.approx(1 - box.w / 2 / SOURCE[0])  # the stored centre is clamped
    # So dragging back moves the box at once, by the distance dragged.
    scale = source_px_per_widget_px(view)
    start = to_widget(view, *box.center)
    drag(qtbot, view, start, start - QPoint(20, 0))
    assert view.crop_box().x == pytest.approx(box.x - 20 * scale, abs=scale)
    drag(qtbot, view, start, start - QPoint(5000, 0))
    assert view.crop_box().x == 0
    assert view.crop_center[0] == pytest.approx(box.w / 2 / SOURCE[0])


def test_arrow_keys_nudge(qtbot, view):
    seen = emitted(view)
    view.setFocus()
    x0 = view.crop_box().center[0] / SOURCE[0]
    qtbot.keyClick(view, Qt.Key.Key_Up)  # the box is full height: no move, and framing stays automatic
    assert view.crop_center is None and seen == []
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert view.crop_center == pytest.approx((x0 - 0.01, 0.5))
    qtbot.keyClick(view, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert view.crop_center == pytest.approx((x0 - 0.11, 0.5))
    assert len(seen) == 2
    qtbot.keyClick(view, Qt.Key.Key_Up)  # full height already: nothing to move, nothing emitted
    assert view.crop_center == pytest.approx((x0 - 0.11, 0.5))
    assert len(seen) == 2


def test_double_click_and_auto_return_to_automatic_framing(qtbot, view):
    seen = emitted(view)
    view.set_crop_center((0.3, 0.5))
    qtbot.mouseDClick(view, Qt.MouseButton.LeftButton, pos=to_widget(view, 2000, 1500))
    assert view.crop_center is None
    assert view.crop_box() == crop_box(SOURCE, TALL, SUBJECT, None)
    assert seen == [None]
    view.set_crop_center((0.3, 0.5))
    auto = next(b for b in view.findChildren(QToolButton) if b.text() == "Auto")
    assert auto.isVisible()
    qtbot.mouseClick(auto, Qt.MouseButton.LeftButton)
    assert view.crop_center is None and seen == [None, None]
    assert not auto.isVisible()


def test_source_aspect_is_the_whole_photo_and_fixed(qtbot, view):
    seen = emitted(view)
    view.set_aspect(None)
    assert view.crop_box() == Box(0.0, 0.0, 4000.0, 3000.0)
    assert not view.is_movable()
    start = to_widget(view, 2000, 1500)
    drag(qtbot, view, start, start + QPoint(80, 40))
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.crop_center is None and seen == []
    assert view.crop_box() == Box(0.0, 0.0, 4000.0, 3000.0)


def test_outside_the_crop_is_dimmed(view):
    image = view.grab().toImage()
    ratio = image.devicePixelRatio()
    box = view.crop_box()
    assert box.x > 400  # there is photo to the left of the crop

    def grey(x: float, y: float) -> int:
        p = to_widget(view, x, y)
        return image.pixelColor(round(p.x() * ratio), round(p.y() * ratio)).red()

    inside = grey(box.x + box.w / 2, box.y + box.h / 2)
    outside = grey(box.x / 2, 1500)
    assert abs(inside - GREY) <= 2  # the crop shows the photo as it is
    assert outside < GREY * 0.6  # around it, clearly darker


def test_clear_shows_nothing_and_hints_are_set(view):
    assert HINT in view.toolTip() and "Drag" in view.accessibleDescription()
    view.clear()
    assert view.crop_box() is None and not view.is_movable()
    assert not view.grab().isNull()
