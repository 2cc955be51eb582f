"""PresetPicker: cards for every preset with drawn icons, signals only for the user's changes."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPalette, QPixmap
from PySide6.QtWidgets import QApplication, QLabel, QListWidget, QSlider

from i2v_desktop.core.presets import MotionPreset, load_presets
from i2v_desktop.ui.motion_icons import motion_icon
from i2v_desktop.ui.presets import PresetPicker, intensity_word

BUILTINS = ("orbit", "pan-left", "pan-right", "pull-out", "push-in")
BUILTINS += ("static", "subtle", "tilt-up", "turntable", "wind")


@pytest.fixture
def library():
    return load_presets()


@pytest.fixture
def picker(qtbot, library) -> PresetPicker:
    widget = PresetPicker()
    qtbot.addWidget(widget)
    widget.resize(360, 420)
    widget.set_presets([library.get(i) for i in library.ids()])
    widget.set_current("push-in")
    widget.show()
    qtbot.waitExposed(widget)
    cards(widget).doItemsLayout()  # now, not on the view's delayed-layout timer: card positions are final
    return widget


def cards(picker: PresetPicker) -> QListWidget:
    return picker.findChild(QListWidget)


def card(picker: PresetPicker, name: str):
    view = cards(picker)
    return next(view.item(i) for i in range(view.count()) if view.item(i).text() == name)


def alpha(pixmap: QPixmap) -> np.ndarray:
    image = pixmap.toImage().convertToFormat(QImage.Format.Format_ARGB32)
    raw = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    return raw.reshape(image.height(), image.bytesPerLine())[:, : image.width() * 4].reshape(
        image.height(), image.width(), 4
    )[..., 3].copy()


def recorder(signal) -> list:
    seen: list = []
    signal.connect(seen.append)
    return seen


def test_every_builtin_is_a_card(picker, library):
    assert set(library.ids()) == set(BUILTINS)
    view = cards(picker)
    assert view.count() == len(BUILTINS)
    for preset_id in BUILTINS:
        preset = library.get(preset_id)
        item = card(picker, preset.name)
        assert item.toolTip() == preset.description
        assert item.data(Qt.ItemDataRole.AccessibleTextRole) == preset.name
    assert picker.current() == "push-in"
    assert view.currentItem().text() == "Push in"


def test_clicking_a_card_emits_its_id_once(qtbot, picker):
    seen = recorder(picker.presetChanged)
    view = cards(picker)
    target = view.visualItemRect(card(picker, "Orbit")).center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=target)
    assert seen == ["orbit"] and picker.current() == "orbit"
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=target)  # the same card again
    assert seen == ["orbit"]


def test_orbit_push_in_and_wind_come_first_and_every_card_is_on_show(qtbot, picker, library):
    view = cards(picker)
    assert [view.item(i).data(Qt.ItemDataRole.UserRole + 1) for i in range(3)] == ["orbit", "push-in", "wind"]
    for width in (picker.minimumSizeHint().width(), 360, 480):
        picker.resize(width, 420)
        qtbot.waitUntil(lambda: view.width() == width)
        view.doItemsLayout()
        for i in range(view.count()):  # each card whole inside the view: nothing to scroll to
            rect = view.visualItemRect(view.item(i))
            assert view.viewport().rect().contains(rect), (width, view.item(i).text())
        columns = len({view.visualItemRect(view.item(i)).left() for i in range(view.count())})
        assert columns >= 2
    # Each name fits its card whole, in bold as the chosen card shows it.
    font = view.font()
    font.setBold(True)
    widest = max(QFontMetrics(font).horizontalAdvance(p.name) for p in library.presets.values())
    assert view.gridSize().width() - 2 * (4 + 24) > widest


def test_arrow_keys_move_between_cards(qtbot, picker):
    picker.set_current("orbit")
    seen = recorder(picker.presetChanged)
    view = cards(picker)
    view.setFocus()
    before = view.visualItemRect(view.currentItem())
    qtbot.keyClick(view, Qt.Key.Key_Right)
    after = view.visualItemRect(view.currentItem())
    assert after.top() == before.top() and after.left() > before.left()  # the card to the right
    assert seen == ["push-in"] == [picker.current()]
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert len(seen) == 2 and view.visualItemRect(view.currentItem()).top() > after.top()


def test_set_current_does_not_emit(picker):
    seen = recorder(picker.presetChanged)
    picker.set_current("wind")
    picker.set_current("wind")
    assert seen == [] and picker.current() == "wind"
    assert cards(picker).currentItem().text() == "Wind"
    with pytest.raises(ValueError, match="nope"):
        picker.set_current("nope")


def test_set_presets_keeps_the_current_one_when_it_can(picker, library):
    seen = recorder(picker.presetChanged)
    picker.set_presets([library.get("wind"), library.get("push-in")])
    assert picker.current() == "push-in" and cards(picker).count() == 2
    picker.set_presets([library.get("wind")])
    assert picker.current() == "wind"
    picker.set_presets([])
    assert picker.current() == ""
    assert seen == []


def test_intensity_slider(qtbot, picker):
    seen = recorder(picker.intensityChanged)
    slider = picker.findChild(QSlider)
    label = next(w for w in picker.findChildren(QLabel) if w.text().endswith(str(slider.value())))
    assert slider.toolTip()
    picker.set_intensity(0.5)
    assert seen == [] and picker.intensity() == 0.5 and label.text() == "Medium 50"
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_PageUp)  # +10, as a user would
    assert seen == [0.6] and picker.intensity() == pytest.approx(0.6) and label.text() == "Medium 60"
    picker.set_intensity(0.8)
    assert seen == [0.6] and label.text() == "Strong 80"
    picker.set_intensity(0.25)
    assert label.text() == "Gentle 25"
    with pytest.raises(ValueError):
        picker.set_intensity(1.5)


def test_intensity_words_match_the_prompt_thirds():
    assert [intensity_word(v) for v in (0, 33, 34, 66, 67, 100)] == [
        "Gentle", "Gentle", "Medium", "Medium", "Strong", "Strong"
    ]


def test_icons_are_drawn_distinct_and_in_the_text_colour(picker):
    masks = {preset_id: alpha(picker.card_icon(preset_id)) for preset_id in BUILTINS}
    for preset_id, mask in masks.items():
        assert (mask > 0).mean() > 0.04, preset_id  # not blank
    assert len({mask.tobytes() for mask in masks.values()}) == len(BUILTINS)
    unknown = MotionPreset("mine", "Mine", "A user's own motion.", False, False, {})
    assert (alpha(motion_icon(unknown.id, 36, QColor("black"))) > 0).mean() > 0.04
    assert not np.array_equal(alpha(motion_icon("mine", 36, QColor("black"))), masks["push-in"])

    palette = QPalette(picker.palette())
    palette.setColor(QPalette.ColorRole.Text, QColor(200, 30, 30))
    picker.setPalette(palette)  # a theme switch redraws the icons in the new text colour
    image = picker.card_icon("push-in").toImage()
    opaque = [image.pixelColor(x, y) for x in range(image.width()) for y in range(image.height())]
    solid = [c for c in opaque if c.alpha() == 255]
    assert solid and all(abs(c.red() - 200) + abs(c.green() - 30) + abs(c.blue() - 30) <= 4 for c in solid)


def leave(widget) -> None:
    """The pointer leaves `widget` (QTest moves the mouse without the enter/leave events Qt adds)."""
    QApplication.sendEvent(widget, QEvent(QEvent.Type.Leave))


def test_hover_animates_the_icon_and_stops_after_leaving(qtbot, picker):
    view = cards(picker)
    picker.resize(480, 420)  # three columns: the last row has room beside its one card
    qtbot.waitUntil(lambda: view.width() == 480)
    view.doItemsLayout()
    last = view.item(view.count() - 1)
    leave(view.viewport())  # the offscreen pointer may start over a card
    assert not picker.is_animating() and picker.hovered() is None
    rest = picker.card_icon("orbit").toImage()
    other = picker.card_icon("push-in").toImage()
    qtbot.mouseMove(view.viewport(), view.visualItemRect(card(picker, "Orbit")).center())
    assert picker.hovered() == "orbit" and picker.is_animating()
    qtbot.waitUntil(lambda: picker.card_icon("orbit").toImage() != rest, timeout=1000)
    assert picker.card_icon("push-in").toImage() == other  # only the hovered card moves

    # Over the empty part of the grid: no card is hovered, the animation stops, the icon rests.
    empty = view.visualItemRect(last).center() + QPoint(view.gridSize().width(), 0)
    assert view.itemAt(empty) is None
    qtbot.mouseMove(view.viewport(), empty)
    assert picker.hovered() is None and not picker.is_animating()
    assert picker.card_icon("orbit").toImage() == rest

    qtbot.mouseMove(view.viewport(), view.visualItemRect(card(picker, "Wind")).center())
    assert picker.hovered() == "wind" and picker.is_animating()
    leave(view.viewport())
    assert picker.hovered() is None and not picker.is_animating()
