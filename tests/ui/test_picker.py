"""The picker's side of the models: a model too big for this machine is picked only through "Try
anyway?", Improve prompt where the model ships an enhancer, With sound where it makes sound."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from i2v_desktop.bench.tiny import save_tiny_pipeline
from i2v_desktop.bench.tiny_registry import tiny_registry
from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.errors import Cancelled
from i2v_desktop.core.presets import load_presets
from i2v_desktop.core.studio import TOO_BIG
from i2v_desktop.export.social import load_export_presets
from i2v_desktop.storage.history import History
from i2v_desktop.storage.paths import data_dir, history_dir
from i2v_desktop.studio.local import LocalStudio
from i2v_desktop.studio.render import Engines
from i2v_desktop.ui.state import Status

WAN = "wan2.2-ti2v-5b"


@pytest.fixture(scope="module")
def tiny_wan(tmp_path_factory) -> Path:
    return save_tiny_pipeline("wan2.2-ti2v", tmp_path_factory.mktemp("models") / "tiny-wan")


def tiny_studio(folder: Path, cls: type[LocalStudio] = LocalStudio) -> LocalStudio:
    """The app's Studio with its Wan 5B entry pointing at a tiny pipeline: its memory figures (and so
    its verdict) stay the real model's, its render takes a moment on the processor."""
    engines = Engines(tiny_registry({"wan2.2-ti2v": folder}), load_presets(), device="cpu")
    return cls(engines, History(history_dir()), load_export_presets(), data_dir())


def add_photo(qtbot, window, path: Path) -> None:
    window.add_paths([path])
    qtbot.waitUntil(lambda: window.state.photos and window.state.photos[0].status == Status.READY, timeout=10_000)


def probed(qtbot, window):
    qtbot.waitUntil(lambda: window.machine.text() != "Checking this machine…", timeout=30_000)
    return window


def pick(window, model: str) -> None:
    window.controls.model.setCurrentIndex(window.controls.model.findData(model))


def test_a_model_too_big_asks_first_declining_keeps_the_model_before(qtbot, make_window, tiny_wan):
    window = probed(qtbot, make_window(tiny_studio(tiny_wan), probe=True))
    fit = window.settings_panel.chosen_model(WAN).fit
    if fit.verdict != TOO_BIG:
        pytest.skip("this machine's GPU runs the Wan 5B: nothing to try anyway")
    assert window.state.choices.model == "instant"
    pick(window, WAN)
    box = window.settings_panel.try_box
    assert box.isVisible() and window.state.choices.model == "instant"  # not picked silently
    assert fit.reason in box.text() and fit.cost in box.text()
    assert "--" not in box.text()  # never a command-line flag
    box.button(QMessageBox.StandardButton.No).click()
    assert window.state.choices.model == "instant" and not window.state.choices.try_anyway
    assert window.controls.model.currentData() == "instant"


def test_accepting_try_anyway_renders_with_it_in_the_request(qtbot, make_window, tiny_wan, samples):
    window = probed(qtbot, make_window(tiny_studio(tiny_wan), probe=True))
    if window.settings_panel.chosen_model(WAN).fit.verdict != TOO_BIG:
        pytest.skip("this machine's GPU runs the Wan 5B: nothing to try anyway")
    add_photo(qtbot, window, samples / "coffee.jpg")
    pick(window, WAN)
    window.settings_panel.try_box.button(QMessageBox.StandardButton.Yes).click()
    assert (window.state.choices.model, window.state.choices.try_anyway) == (WAN, True)
    assert "tried anyway" in window.controls.model_note.text()
    window.state.choose(duration=0.3, variants=1)
    requests = []
    window.queue.started.connect(lambda job: requests.append(job.request))
    saved = []
    window.queue.saved.connect(lambda job, clip: saved.append(clip))
    window.generate()
    qtbot.waitUntil(lambda: bool(requests) and not window.queue.busy, timeout=120_000)
    assert requests[0].model == WAN and requests[0].try_anyway
    assert len(saved) == 1 and saved[0].entry.record.request().try_anyway  # kept with the clip

    pick(window, "instant")  # try anyway goes with the model it was accepted for
    assert (window.state.choices.model, window.state.choices.try_anyway) == ("instant", False)


class EnhancingStudio(LocalStudio):
    """The app's Studio whose prompt enhancer waits for the test to let it answer (or to cancel it),
    so that the window is seen busy, cancelling, and done."""

    release = threading.Event()
    calls: list[tuple[str, str, str]] = []

    def enhance_prompt(self, model, image, prompt, cancel):
        self.calls.append((model, image, prompt))
        while not self.release.wait(0.01):
            if cancel.cancelled:
                raise Cancelled()
        return f"{prompt}, steam rising from the cup, slow dolly in, warm morning light"


def test_improve_prompt_rewrites_the_words_off_the_gui_thread_and_ctrl_z_brings_them_back(
        qtbot, make_window, tiny_wan, samples):
    window = make_window(tiny_studio(tiny_wan, EnhancingStudio))
    improve = window.settings_panel.improve_prompt
    assert not improve.isEnabled() and "ships no prompt enhancer" in improve.toolTip()  # instant
    # A model that ships an enhancer (as the LTX-2 entries do).
    wan = replace(window.studio.model(WAN), enhancer=True)
    window.settings_panel.offer([window.studio.model("instant"), wan])
    window.state.choose(model=WAN, try_anyway=True)
    assert not improve.isEnabled() and "Add a photo" in improve.toolTip()
    add_photo(qtbot, window, samples / "coffee.jpg")
    assert improve.isEnabled()
    qtbot.keyClicks(window.prompt, "a cup of coffee")

    EnhancingStudio.release.clear()
    improve.click()
    qtbot.waitUntil(lambda: bool(EnhancingStudio.calls), timeout=5_000)
    motion = window.studio.motion_words(WAN, window.state.choices.preset, window.state.choices.intensity)
    # Given the user's words and the preset's motion words together, as `i2v render --enhance-prompt` does.
    assert EnhancingStudio.calls[-1] == (WAN, window.state.photos[0].path, f"a cup of coffee. {motion.rstrip('.')}")
    assert improve.text() == "Stop improving" and window.prompt.isReadOnly()
    improve.click()  # cancel: the words stay the user's
    qtbot.waitUntil(lambda: improve.text() == "Improve prompt", timeout=5_000)
    assert window.prompt.toPlainText() == "a cup of coffee" and not window.prompt.isReadOnly()

    EnhancingStudio.release.set()
    improve.click()
    improved = f"a cup of coffee. {motion.rstrip('.')}, steam rising from the cup, slow dolly in, warm morning light"
    qtbot.waitUntil(lambda: window.prompt.toPlainText() == improved, timeout=5_000)
    # What a render now asks for, the motion in the rewrite (no preset words added); the user may edit it.
    assert (window.state.choices.prompt, window.state.choices.motion_prompt) == (improved, "")
    (request,) = window.state.requests(window.state.photos)
    assert (request.prompt, request.motion_prompt) == (improved, "")
    window.prompt.setFocus()
    qtbot.keyClick(window.prompt, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.prompt.toPlainText() == "a cup of coffee"
    assert (window.state.choices.prompt, window.state.choices.motion_prompt) == ("a cup of coffee", None)
    assert window.motion.placeholderText() == motion  # the preset's words are back


def test_with_sound_is_offered_where_the_model_makes_sound(qtbot, make_window, samples):
    window = make_window()
    sound = window.controls.sound
    window.state.choose(model="instant")
    assert not sound.isEnabled() and "makes pictures only" in sound.toolTip()
    speaking = replace(window.studio.model(WAN), sound=True)
    window.settings_panel.offer([window.studio.model("instant"), speaking])
    window.state.choose(model=WAN, try_anyway=True)
    assert sound.isEnabled()
    sound.click()
    add_photo(qtbot, window, samples / "coffee.jpg")
    (request,) = window.state.requests(window.state.photos)
    assert request.sound and request.model == WAN
    window.state.choose(model="instant")  # a model with no sound: the request asks for none
    assert not sound.isEnabled() and not sound.isChecked()
    (request,) = window.state.requests(window.state.photos)
    assert not request.sound


@pytest.fixture(scope="module")
def tiny_ltx2(tmp_path_factory) -> Path:
    return save_tiny_pipeline("ltx2", tmp_path_factory.mktemp("models") / "tiny-ltx2")


def test_improve_prompt_with_a_real_enhancer_shows_its_rewrite_for_the_user_to_edit(
        qtbot, make_window, tiny_ltx2, isolated_home, samples):
    """A tiny LTX-2 (its Gemma enhancer with random weights) as the user's own model: the window
    shows exactly what the studio's enhancer writes, and renders with what the box then holds."""
    folder = isolated_home / "config" / "i2v_desktop"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "models.json").write_text(json.dumps({"models": [{
        "id": "tiny-ltx2", "base": "ltx-2.3-22b", "name": "Tiny LTX-2", "path": str(tiny_ltx2),
        "resolutions": {"tiny": [64, 64]}, "max_frames": 9,
        "tiers": {q: {"resolution": "tiny", "steps": 2} for q in ("draft", "standard", "final")}}]}))
    window = make_window()
    window.state.choose(model="tiny-ltx2")
    add_photo(qtbot, window, samples / "coffee.jpg")
    improve = window.settings_panel.improve_prompt
    assert improve.isEnabled() and window.controls.sound.isEnabled()  # LTX-2 has both
    qtbot.keyClicks(window.prompt, "a cup of coffee")
    improve.click()
    qtbot.waitUntil(lambda: improve.text() == "Improve prompt", timeout=300_000)
    choices = window.state.choices
    motion = window.studio.motion_words("tiny-ltx2", choices.preset, choices.intensity)
    expected = window.studio.enhance_prompt("tiny-ltx2", window.state.photos[0].path,
                                            f"a cup of coffee. {motion.rstrip('.')}", CancelToken())
    assert window.prompt.toPlainText() == expected.strip() != "a cup of coffee"
    assert window.state.choices.prompt == expected.strip() and window.state.choices.motion_prompt == ""
