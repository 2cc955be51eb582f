"""The clip player: which frame is on screen after each action, real-time playback, 100 % zoom, compare."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QSize, Qt
from PySide6.QtWidgets import QSlider, QToolButton

from i2v_desktop.ui.canvas import BACKGROUND, FrameCanvas
from i2v_desktop.ui.player import ComparePlayer, FramePlayer


def _clip(n: int, *, h: int = 18, w: int = 32, version: int = 0) -> np.ndarray:
    """Frame i is a solid colour with red = i, so the pixel on screen says which frame is shown."""
    frames = np.empty((n, h, w, 3), np.uint8)
    frames[..., 0] = np.arange(n, dtype=np.uint8)[:, None, None]
    frames[..., 1] = 40 + version
    frames[..., 2] = 200
    frames.setflags(write=False)
    return frames


def _centre(canvas: FrameCanvas):
    image = canvas.grab().toImage()
    return image.pixelColor(image.width() // 2, image.height() // 2)


def _shown(canvas: FrameCanvas) -> int:
    colour = _centre(canvas)
    assert (colour.green(), colour.blue()) in {(40, 200), (41, 200)}, "no clip frame at the centre"
    return colour.red()


@pytest.fixture
def player(qtbot) -> FramePlayer:
    widget = FramePlayer()
    qtbot.addWidget(widget)
    widget.resize(400, 300)
    widget.show()
    return widget


@pytest.fixture
def compare(qtbot) -> ComparePlayer:
    widget = ComparePlayer()
    qtbot.addWidget(widget)
    widget.resize(600, 300)
    widget.show()
    return widget


def test_seek_and_step_show_the_frame_and_wrap_only_when_looping(player, qtbot):
    player.set_frames(_clip(10), 24)
    assert (player.frame_count, player.current_index, _shown(player.canvas)) == (10, 0, 0)
    with qtbot.waitSignal(player.frameChanged) as changed:
        player.seek(5)
    assert changed.args == [5] and _shown(player.canvas) == 5
    player.step(2)
    assert player.current_index == 7 and _shown(player.canvas) == 7
    player.step(4)  # looping by default: 11 wraps to 1
    assert player.current_index == 1 and _shown(player.canvas) == 1
    player.set_loop(False)
    player.step(-3)
    assert player.current_index == 0
    player.seek(99)
    assert player.current_index == 9 and _shown(player.canvas) == 9
    assert player.position == pytest.approx(9 / 24)


def test_play_advances_in_real_time_and_loops(player, qtbot):
    player.set_frames(_clip(6), 20)
    seen: list[int] = []
    player.frameChanged.connect(seen.append)
    with qtbot.waitSignal(player.playingChanged) as started:
        player.play()
    assert started.args == [True] and player.is_playing
    qtbot.waitUntil(lambda: 5 in seen and seen[-1] < 5, timeout=2000)
    assert seen[seen.index(5) + 1] == 0  # wrapped to the start, still playing
    assert player.is_playing


def test_late_ticks_drop_frames_instead_of_slowing_down(player, qtbot):
    player.set_frames(_clip(200), 100)
    player.play()
    time.sleep(0.2)  # the event loop is blocked: no ticks for 20 frame intervals
    qtbot.wait(20)
    assert 18 <= player.current_index <= 60
    assert _shown(player.canvas) == player.current_index


def test_without_loop_playback_stops_on_the_last_frame(player, qtbot):
    player.set_frames(_clip(5), 50)
    player.set_loop(False)
    with qtbot.waitSignal(player.playingChanged, timeout=2000, check_params_cb=lambda p: p is False):
        player.play()
    assert not player.is_playing
    assert player.current_index == 4 and _shown(player.canvas) == 4
    player.play()  # at the end of a one-shot clip, play starts it again
    assert player.is_playing and player.current_index == 0
    player.pause()


def test_keys_toggle_step_jump_and_zoom(player, qtbot):
    player.set_frames(_clip(10), 24)
    qtbot.keyClick(player, Qt.Key.Key_Space)
    assert player.is_playing
    qtbot.keyClick(player, Qt.Key.Key_Space)
    assert not player.is_playing
    player.seek(3)
    qtbot.keyClick(player, Qt.Key.Key_Right)
    assert player.current_index == 4
    qtbot.keyClick(player, Qt.Key.Key_Left)
    qtbot.keyClick(player, Qt.Key.Key_Left)
    assert player.current_index == 2 and _shown(player.canvas) == 2
    qtbot.keyClick(player, Qt.Key.Key_End)
    assert player.current_index == 9
    qtbot.keyClick(player, Qt.Key.Key_Home)
    assert player.current_index == 0
    qtbot.keyClick(player, Qt.Key.Key_F)
    assert not player.fit and not player.canvas.fit
    qtbot.keyClick(player, Qt.Key.Key_F)
    assert player.fit
    qtbot.keyClick(player, Qt.Key.Key_L)
    assert not player.loop


def test_right_key_while_playing_pauses_and_steps(player, qtbot):
    player.set_frames(_clip(100), 24)
    player.play()
    qtbot.keyClick(player, Qt.Key.Key_Right)
    assert not player.is_playing and player.current_index == 1


def test_slider_scrubbing_seeks_and_resumes_playback(player, qtbot):
    player.set_frames(_clip(20), 10)
    slider = player.findChild(QSlider)
    slider.setValue(7)
    assert player.current_index == 7 and _shown(player.canvas) == 7
    player.play()
    slider.setSliderDown(True)  # grabbing the handle pauses while dragging...
    assert not player.is_playing
    slider.setValue(12)
    assert player.current_index == 12 and _shown(player.canvas) == 12
    slider.setSliderDown(False)  # ...and letting go goes on playing from there
    assert player.is_playing and player.current_index == 12
    player.pause()
    player.seek(3)
    assert slider.value() == 3


def test_read_only_frames_are_shown_in_place_and_strided_ones_work(player):
    frames = _clip(4, h=9, w=13)  # 13 * 3 bytes per line: not 4-byte aligned
    player.set_frames(frames, 24)
    player.seek(2)
    assert not frames.flags.writeable
    assert np.shares_memory(np.asarray(player.canvas.image.constBits()), frames[2])  # no copy
    assert _shown(player.canvas) == 2
    player.set_frames(_clip(4, h=9, w=26)[:, :, ::2], 24)  # not contiguous: one frame gets copied
    player.seek(3)
    assert _shown(player.canvas) == 3


def test_replacing_frames_keeps_the_position_clamped_to_the_new_length(player, qtbot):
    player.set_frames(_clip(10), 24)
    player.seek(8)
    player.set_frames(_clip(12, version=1), 24, keep_position=True)
    assert player.current_index == 8 and player.frame_count == 12
    assert _centre(player.canvas).green() == 41  # the new clip's frame, not a stale one
    player.set_frames(_clip(5), 24, keep_position=True)
    assert player.current_index == 4 and _shown(player.canvas) == 4
    player.set_frames(_clip(5), 24)
    assert player.current_index == 0


def test_replacing_frames_while_playing_does_not_restart(player, qtbot):
    player.set_frames(_clip(100), 50)
    player.play()
    qtbot.waitUntil(lambda: player.current_index >= 5, timeout=2000)
    before = player.current_index
    player.set_frames(_clip(100, version=1), 50, keep_position=True)
    assert player.is_playing and player.current_index >= before
    qtbot.waitUntil(lambda: player.current_index > before + 2, timeout=2000)
    player.pause()


def _coordinate_frame(w: int = 1600, h: int = 1200) -> np.ndarray:
    """Red = x mod 256, green = y mod 256: a pixel on screen tells which image pixel it is."""
    y, x = np.mgrid[0:h, 0:w]
    frame = np.stack([x % 256, y % 256, np.full_like(x, 99)], axis=-1).astype(np.uint8)
    return frame[None]


def test_100_percent_shows_one_image_pixel_per_device_pixel_and_pans(player, qtbot):
    player.set_frames(_coordinate_frame(), 24)
    canvas = player.canvas
    image = canvas.grab().toImage()
    cx, cy = image.width() // 2, image.height() // 2
    fitted = image.pixelColor(cx + 1, cy).red() - image.pixelColor(cx, cy).red()
    assert fitted >= 2  # 1600 px squeezed into a view of 400 logical pixels

    player.set_fit(False)
    dpr = canvas.devicePixelRatioF()
    rect = canvas.target_rect()
    assert rect.width() * dpr == 1600 and rect.height() * dpr == 1200
    image = canvas.grab().toImage()
    for dx, dy in [(0, 0), (1, 0), (7, 3), (-5, -2)]:
        px, py = cx + dx, cy + dy
        colour = image.pixelColor(px, py)
        ix, iy = px - round(rect.x() * dpr), py - round(rect.y() * dpr)
        assert (colour.red(), colour.green(), colour.blue()) == (ix % 256, iy % 256, 99)

    centre = QPoint(canvas.width() // 2, canvas.height() // 2)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseMove(canvas, centre - QPoint(30, 0))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=centre - QPoint(30, 0))
    assert canvas.target_rect().x() == pytest.approx(rect.x() - 30)
    for _ in range(3):  # panning stops at the image's edge
        qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=centre)
        qtbot.mouseMove(canvas, centre - QPoint(300, 0))
        qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=centre - QPoint(300, 0))
    assert canvas.target_rect().right() == pytest.approx(canvas.width())


def test_clear_shows_the_message_and_no_frame(player):
    player.set_frames(_clip(10), 24)
    player.play()
    player.clear("Drop photos here")
    assert not player.is_playing and player.frame_count == 0 and player.current_index == -1
    assert player.canvas.image is None and player.canvas.message == "Drop photos here"
    assert _centre(player.canvas).blue() != 200
    image = player.canvas.grab().toImage()
    row = [image.pixelColor(x, image.height() // 2) for x in range(image.width())]
    assert any(colour != BACKGROUND for colour in row)  # the message is painted
    assert row[0] == BACKGROUND
    player.play()
    assert not player.is_playing
    player.clear()
    image = player.canvas.grab().toImage()
    assert all(image.pixelColor(x, image.height() // 2) == BACKGROUND for x in range(image.width()))


def test_every_control_names_its_shortcut_and_has_an_accessible_name(player):
    controls = player.findChildren(QToolButton) + player.findChildren(QSlider)
    assert len(controls) == 6
    for control in controls:
        assert control.accessibleName()
        assert "(" in control.toolTip() or "Home" in control.toolTip()


def test_bad_clips_are_refused(player):
    with pytest.raises(ValueError):
        player.set_frames(np.zeros((3, 4, 4), np.uint8), 24)
    with pytest.raises(ValueError):
        player.set_frames(np.zeros((3, 4, 4, 3), np.float32), 24)
    with pytest.raises(ValueError):
        player.set_frames(_clip(3), 0)


def test_compare_player_shows_both_clips_at_the_same_time(compare, qtbot):
    left, right = compare.canvases[:2]
    compare.set_clips((_clip(73), 24.0, "Variant A"), (_clip(37), 12.0, "Variant B"))
    assert [label.text() for label in compare.labels[:2]] == ["Variant A", "Variant B"] and compare.shown == 2
    assert compare.frame_count == 74  # 37 / 12 s is the longer clip, on the 24 fps timeline
    compare.seek_time(1.0)
    assert (_shown(left), _shown(right)) == (24, 12)
    compare.step(1)
    assert (_shown(left), _shown(right)) == (25, 12)
    compare.seek(compare.frame_count - 1)  # the shorter clip holds its last frame
    assert (_shown(left), _shown(right)) == (72, 36)
    qtbot.keyClick(compare, Qt.Key.Key_Right)  # looping: wraps both to the start
    assert (_shown(left), _shown(right)) == (0, 0)

    qtbot.keyClick(compare, Qt.Key.Key_Space)
    assert compare.is_playing
    qtbot.waitUntil(lambda: compare.current_index >= 6, timeout=2000)
    qtbot.keyClick(compare, Qt.Key.Key_Space)
    assert not compare.is_playing
    shown_left = _shown(left)
    assert shown_left >= 6 and _shown(right) == shown_left // 2

    compare.clear("Pick two variants")
    assert compare.frame_count == 0 and left.image is None and right.image is None
    assert [label.text() for label in compare.labels] == ["", "", "", ""]


def test_four_clips_play_two_by_two_in_step_and_each_can_be_picked(compare, qtbot):
    clips = [(_clip(24), 24.0, "Wan"), (_clip(16), 16.0, "LTX"), (_clip(12), 24.0, "Instant"), (_clip(48), 24.0, "SVD")]
    compare.set_clips(*clips)
    assert compare.shown == 4 and compare.frame_count == 48
    compare.resize(800, 600)
    compare.show()
    qtbot.waitExposed(compare)
    spots = [compare.canvases[i].mapTo(compare, compare.canvases[i].rect().topLeft()) for i in range(4)]
    assert spots[0].y() == spots[1].y() < spots[2].y() == spots[3].y()  # two rows of two
    assert spots[0].x() == spots[2].x() < spots[1].x() == spots[3].x()
    compare.seek_time(0.5)
    assert [_shown(c) for c in compare.canvases] == [12, 8, 11, 12]  # the short one holds its last frame
    with qtbot.waitSignal(compare.picked) as picked:
        compare.pick_buttons[2].click()
    assert picked.args == [2]
    compare.set_clips(*clips[:3])  # back to three side by side: the fourth cell goes
    assert compare.shown == 3 and not compare.canvases[3].isVisibleTo(compare)
    with pytest.raises(ValueError, match="compare 2 to 4 clips"):
        compare.set_clips(*clips, clips[0])


def test_the_transport_icons_read_in_light_and_dark(qtbot):
    """Fusion's media icons are dark pixmaps: on a dark palette the play button looked disabled."""
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from i2v_desktop.ui.theme import apply_palette

    player = FramePlayer()
    qtbot.addWidget(player)
    app = QApplication.instance()
    original = app.palette()

    def ink(mode=QIcon.Mode.Normal) -> float:
        image = player._play_button.icon().pixmap(QSize(16, 16), mode).toImage()
        shown = [image.pixelColor(x, y) for x in range(image.width()) for y in range(image.height())]
        return sum(c.lightnessF() for c in shown if c.alphaF() > 0.5) / max(1, sum(c.alphaF() > 0.5 for c in shown))

    try:
        apply_palette(app, dark=True)
        assert ink() > 0.7  # light ink on the dark palette
        apply_palette(app, dark=False)
        assert ink() < 0.3  # dark ink on the light one
    finally:
        app.setPalette(original)
