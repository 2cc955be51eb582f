"""A clip with sound wears a speaker badge on its card, says so to a screen reader and in its tooltip."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt

from i2v_desktop.core.record import ClipRecord
from i2v_desktop.ui.cards import card_parts, speaker_rect
from i2v_desktop.ui.state import Status


def test_a_clip_with_sound_has_a_speaker_badge_and_a_silent_one_none(qtbot, make_window, samples):
    window = make_window()
    window.add_paths([samples / "coffee.jpg"])
    qtbot.waitUntil(lambda: window.state.photos and window.state.photos[0].status == Status.READY, timeout=10_000)
    window.state.choose(duration=1.0, fps=12.0, aspect="1:1", quality="draft", variants=1, model="instant")
    window.generate()
    qtbot.waitUntil(lambda: not window.queue.busy and not window.queue.pending and bool(window.variants.entries()),
                    timeout=60_000)
    strip = window.variants
    (silent,) = strip.entries()
    assert not silent.sound  # the instant engine makes pictures only
    index = strip.model.index(0)
    assert "with sound" not in strip.model.data(index, Qt.ItemDataRole.AccessibleTextRole)
    badge = speaker_rect(card_parts(strip.card_rect(silent.id))[0])
    before = strip.view.viewport().grab(badge).toImage()

    # The same clip as the history reads one with an AAC track (its record says so).
    record = ClipRecord({**silent.record.to_dict(), "sound": {"rate": 48000, "channels": 2, "seconds": 1.0}})
    speaking = replace(silent, record=record)
    assert speaking.sound
    strip.model.replace(speaking)
    assert "with sound" in strip.model.data(index, Qt.ItemDataRole.AccessibleTextRole)
    assert "with sound" in strip.model.data(index, Qt.ItemDataRole.ToolTipRole)
    after = strip.view.viewport().grab(badge).toImage()

    def white(image) -> int:
        return sum(image.pixelColor(x, y).lightness() > 240
                   for x in range(image.width()) for y in range(image.height()))

    assert white(after) > white(before) + 20  # the speaker, drawn in white on its dark patch
