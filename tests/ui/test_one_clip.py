"""A preset that gives the same clip for every seed makes one clip in the window, and says why."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from i2v_desktop.ui.state import Status


def test_a_deterministic_preset_makes_one_clip_and_the_count_comes_back(qtbot, make_window, samples):
    window = make_window()
    window.state.choose(model="instant", duration=1.0, fps=12.0, aspect="1:1", quality="draft", preset="orbit")
    spin = window.controls.variants
    spin.setValue(3)
    assert window.state.choices.variants == 3 and spin.isEnabled() and spin.text() == "3"

    window.state.choose(preset="static")
    assert spin.value() == 1 and not spin.isEnabled() and spin.text() == "1 · the same for every seed"
    assert spin.toolTip() == "Static camera gives the same clip for every seed on this model, so one clip is made"
    assert window.state.choices.variants == 1  # what Generate will ask for

    window.add_paths([samples / "coffee.jpg"])
    qtbot.waitUntil(lambda: window.state.photos and window.state.photos[0].status == Status.READY, timeout=10_000)
    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.state.photos[0].status == Status.DONE, timeout=60_000)
    qtbot.waitUntil(lambda: not window.queue.busy, timeout=10_000)
    assert len(window.studio.clips()) == 1 and len(window.variants.entries()) == 1

    window.state.choose(preset="push-in")  # a preset with takes to choose from: the user's count again
    assert spin.isEnabled() and spin.text() == "3" and window.state.choices.variants == 3


def test_two_variants_of_a_camera_move_are_two_different_takes(qtbot, make_window, samples):
    """Break 3: the instant engine's variants were the same frames and score for every seed."""
    window = make_window()
    window.state.choose(model="instant", duration=1.0, fps=12.0, aspect="1:1", quality="draft", preset="orbit",
                        variants=2)
    window.add_paths([samples / "coffee.jpg"])
    qtbot.waitUntil(lambda: window.state.photos and window.state.photos[0].status == Status.READY, timeout=10_000)
    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.state.photos[0].status == Status.DONE, timeout=60_000)
    qtbot.waitUntil(lambda: not window.queue.busy, timeout=10_000)
    one, other = window.variants.entries()
    assert one.seed != other.seed
    (a, _), (b, _) = window.studio.load_clip(one), window.studio.load_clip(other)
    assert np.abs(a.astype(np.int16) - b.astype(np.int16)).mean() > 1.0  # of 255: another take, not noise
