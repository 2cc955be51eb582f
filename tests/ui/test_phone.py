"""See it as it will be posted: the phone view frames the clip as the export does, under the
platform's UI; the before/after wipe lines the photo up with the clip."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage

from test_window import QUICK, add_ready, generate


def pixels(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    data = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return data[:, : 3 * image.width()].reshape(image.height(), image.width(), 3).astype(int)


def patch(image: np.ndarray, x: float, y: float) -> np.ndarray:
    x, y = round(x), round(y)
    return image[y - 2 : y + 3, x - 2 : x + 3].reshape(-1, 3).mean(axis=0)


def one_clip(qtbot, window, samples, **choices):
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.choose(**{**QUICK, "variants": 1, **choices})
    generate(qtbot, window)
    (clip,) = window.variants.entries()
    window.variants.select(clip.id)
    qtbot.waitUntil(lambda: window.player.frames is not None, timeout=5_000)
    window.player.pause()
    return clip


def test_the_phone_view_plays_the_clip_framed_as_its_export_under_the_platforms_ui(qtbot, make_window, samples):
    window = make_window()
    one_clip(qtbot, window, samples, aspect="16:9", preset="orbit")
    frames = window.player.frames
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    phone = window.viewer.phone
    assert window.views.currentWidget() is phone
    expected = window.studio.post_framing("reels", frames[0])
    qtbot.waitUntil(lambda: phone.screen.framing == expected, timeout=5_000)
    x, y, w, h = expected.crop
    assert w < frames.shape[2]  # a 16:9 clip is cropped to 9:16 around its subject, as the export does

    screen = phone.screen.screen_rect()
    middle = (screen.center().x(), screen.center().y())
    low = (screen.center().x(), screen.bottom() - 0.3 * screen.height())  # under Reels' caption, not TikTok's
    for index in (0, len(frames) - 1):  # the player's clock drives the phone
        window.player.seek(index)
        shot = pixels(phone.screen.grab().toImage())
        want = frames[index][y + h // 2 - 2 : y + h // 2 + 3, x + w // 2 - 2 : x + w // 2 + 3].reshape(-1, 3).mean(0)
        assert np.abs(patch(shot, *middle) - want).max() < 16, index
    phone.zones_button.click()
    clear = pixels(phone.screen.grab().toImage())
    # The brightest spot of that band, left of the action rail, shows the shade best.
    low = max(((screen.left() + share * screen.width(), low[1]) for share in np.linspace(0.1, 0.7, 25)),
              key=lambda point: patch(clear, *point).mean())
    without = patch(clear, *low)
    phone.zones_button.click()
    with_zones = patch(pixels(phone.screen.grab().toImage()), *low)
    assert np.allclose(with_zones, without * (1 - 120 / 255), atol=6) and without.mean() > 30  # shaded

    phone.platforms.button(1).click()  # TikTok: its caption takes less of the bottom
    qtbot.waitUntil(lambda: phone.screen.framing == window.studio.post_framing("tiktok", frames[0]), timeout=5_000)
    assert np.allclose(patch(pixels(phone.screen.grab().toImage()), *low), without, atol=6)

    phone.blur_button.click()  # the whole clip over a blurred copy: the export's other fill
    blurred = window.studio.post_framing("tiktok", frames[0], "blur")
    qtbot.waitUntil(lambda: phone.screen.framing == blurred, timeout=5_000)
    assert blurred.fit == (1080, 608)

    phone.play_button.click()  # the player's transport is on another tab: the phone plays it too
    assert window.player.is_playing and phone.play_button.accessibleName() == "Pause"
    phone.play_button.click()
    assert not window.player.is_playing and phone.play_button.accessibleName() == "Play"


def test_before_after_wipes_between_the_framed_photo_and_the_clip(qtbot, make_window, samples):
    window = make_window()
    # A take (seed) whose last frame has moved well away from the photo, so the two sides differ.
    entry = one_clip(qtbot, window, samples, preset="push-in", duration=1.0, seed=2)
    frames = window.player.frames
    window.player.seek(len(frames) - 1)  # the last frame moved furthest from the photo
    qtbot.keyClick(window, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    wipe = window.viewer.wipe
    assert wipe.isVisible() and window.wipe_action.isChecked() and wipe.hasFocus()
    qtbot.waitUntil(lambda: wipe.photo is not None, timeout=10_000)
    photo = window.studio.framed_photo(entry, (frames.shape[2], frames.shape[1]))

    rect = window.player.canvas.target_rect()
    scale = rect.width() / frames.shape[2]
    shot = pixels(window.player.canvas.grab().toImage())

    def near(share: float, image: np.ndarray) -> float:
        """How far the shot is from `image` along the middle row, over a stretch at this share of the width."""
        xs = [rect.left() + (share + d) * rect.width() for d in np.linspace(-0.08, 0.08, 9)]
        row = rect.top() + rect.height() * 0.5
        return float(np.mean([np.abs(patch(shot, sx, row) - patch(image, (sx - rect.left()) / scale,
                                                                    (row - rect.top()) / scale)).mean() for sx in xs]))

    assert near(0.25, photo) < near(0.25, frames[-1]) / 2  # left of the divider: the photo
    assert near(0.75, frames[-1]) < near(0.75, photo) / 2  # right of it: the clip

    for key, modifier, where in ((Qt.Key.Key_Right, Qt.KeyboardModifier.NoModifier, 0.6),
                                 (Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier, 0.59),
                                 (Qt.Key.Key_End, Qt.KeyboardModifier.NoModifier, 1.0),
                                 (Qt.Key.Key_Home, Qt.KeyboardModifier.NoModifier, 0.0)):
        qtbot.keyClick(wipe, key, modifier)
        assert wipe.position == np.float64(where).round(2) or abs(wipe.position - where) < 1e-9
    qtbot.mouseClick(wipe, Qt.MouseButton.LeftButton,
                     pos=QPoint(round(rect.left() + 0.3 * rect.width()), round(rect.center().y())))
    assert abs(wipe.position - 0.3) < 0.01
    qtbot.keyClick(window, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    assert not wipe.isVisible()
