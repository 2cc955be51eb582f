"""The main window end to end: drop photos, choose, generate, watch, cancel, pick, export, restore."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QElapsedTimer, QMimeData, QPoint, QPointF, Qt, QThread, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import (
    QAbstractButton, QAbstractSlider, QAbstractSpinBox, QApplication, QComboBox, QListWidget, QMessageBox,
    QPlainTextEdit, QScrollBar, QSlider, QWidget,
)

from i2v_desktop.app import make_studio
from i2v_desktop.bench.tiny import save_tiny_pipeline
from i2v_desktop.bench.tiny_registry import tiny_registry
from i2v_desktop.core.events import Cancelled, Finished, StageChanged, StepProgress
from i2v_desktop.core.presets import load_presets
from i2v_desktop.export.mp4 import read_frames, read_mp4_metadata
from i2v_desktop.export.social import load_export_presets
from i2v_desktop.storage.history import History
from i2v_desktop.storage.paths import data_dir, history_dir
from i2v_desktop.studio.local import LocalStudio
from i2v_desktop.studio.records import read_record
from i2v_desktop.studio.render import Engines
from i2v_desktop.ui.clips import ClipCache
from i2v_desktop.ui.export import ExportDialog, ExportPlan
from i2v_desktop.ui.exporting import Exporter
from i2v_desktop.ui.photos import PhotosPanel
from i2v_desktop.ui.settings import SettingsPanel
from i2v_desktop.ui.state import Photo, Status
from i2v_desktop.ui.viewer import ViewerPanel
from i2v_desktop.ui.window import MainWindow
from i2v_desktop.ui.worker import JobQueue

QUICK_INTENSITY = 0.65
QUICK = dict(duration=1.0, fps=12.0, aspect="1:1", quality="draft", variants=2, model="instant")


def drop(window, paths) -> None:
    """A real drag and drop of file URLs onto the window."""
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(window.width() / 2, window.height() / 2)
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted() and window.drop_overlay.isVisible()  # the user sees where it lands
    event = QDropEvent(pos, Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, event)
    assert not window.drop_overlay.isVisible()


def add_ready(qtbot, window, paths) -> None:
    drop(window, paths)
    qtbot.waitUntil(lambda: window.state.photos and all(p.status == Status.READY for p in window.state.photos),
                    timeout=10_000)


def generate(qtbot, window, timeout=60_000):
    """Press Ctrl+Enter and wait for the queue to drain; returns (job, event) pairs in order."""
    seen = []
    window.queue.event.connect(lambda job, event: seen.append((job.id, event)))
    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.queue.busy and not window.queue.pending, timeout=timeout)
    return seen


@pytest.fixture(scope="module")
def tiny_wan(tmp_path_factory) -> Path:
    return save_tiny_pipeline("wan2.2-ti2v", tmp_path_factory.mktemp("models") / "tiny-wan")


def tiny_studio(folder: Path) -> LocalStudio:
    """The app's Studio with the registry pointing its Wan 5B entry at a tiny pipeline folder."""
    engines = Engines(tiny_registry({"wan2.2-ti2v": folder}), load_presets(), device="cpu")
    return LocalStudio(engines, History(history_dir()), load_export_presets(), data_dir())


# -- photos in --------------------------------------------------------------------------------


def test_drop_files_and_folders_keeps_good_ones_and_names_bad_ones(qtbot, make_window, samples, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    window = make_window()
    drop(window, [samples / "coffee.jpg", broken, notes])
    qtbot.waitUntil(lambda: [p.status for p in window.state.photos] == [Status.READY], timeout=10_000)
    assert [Path(p.path).name for p in window.state.photos] == ["coffee.jpg"]
    assert window.banner.isVisible()
    text = window.banner.text.text()
    assert "notes.txt: not a supported photo" in text
    assert "broken.jpg" in text
    assert window.photos.count() == 1 and "coffee.jpg" in window.photos.item(0).text()

    drop(window, [samples])  # a folder brings its photos; ones already there are not added twice
    qtbot.waitUntil(lambda: len(window.state.photos) == 4 and all(p.status == Status.READY for p in window.state.photos),
                    timeout=10_000)
    assert sorted(Path(p.path).name for p in window.state.photos) == ["astronaut.jpg", "chelsea.jpg", "coffee.jpg",
                                                                      "rocket.jpg"]


def test_paste_a_picture_from_the_clipboard(qtbot, make_window):
    window = make_window()
    image = QImage(64, 48, QImage.Format.Format_RGB888)
    image.fill(Qt.GlobalColor.darkCyan)
    QGuiApplication.clipboard().setImage(image)
    window.paste()
    qtbot.waitUntil(lambda: window.state.photos and window.state.photos[0].status == Status.READY, timeout=10_000)
    pasted = Path(window.state.photos[0].path)
    assert pasted.is_file() and pasted.suffix == ".png"
    assert window.state.photos[0].size == (64, 48)


# -- choices ----------------------------------------------------------------------------------


def test_sliders_show_what_the_model_will_render(qtbot, make_window, samples, tiny_wan):
    window = make_window(tiny_studio(tiny_wan))
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.choose(model="instant", fps=None)
    window.controls.duration.setValue(30)  # 3.0 s
    assert window.state.choices.duration == 3.0
    assert window.controls.duration_label.text() == "3.00 s · 72 frames"

    # The tiny Wan entry keeps the real 4k+1 frame rule at 24 fps, up to 9 frames: 0.3 s → 9 frames.
    window.state.choose(model="wan2.2-ti2v-5b")
    assert window.controls.duration.maximum() == round(9 / 24 * 10)
    window.controls.duration.setValue(3)
    assert window.controls.duration_label.text() == f"{9 / 24:.2f} s · 9 frames"
    assert not window.controls.fps.isEnabled()  # Wan 5B renders at 24 fps only
    assert "fixed by this model" in window.controls.fps_label.text()


def test_presets_intensity_prompt_and_framing_reach_the_request(qtbot, make_window, samples):
    window = make_window()
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    cards = window.presets.findChild(QListWidget)
    orbit = next(cards.item(i) for i in range(cards.count()) if cards.item(i).text() == "Orbit")
    qtbot.mouseClick(cards.viewport(), Qt.MouseButton.LeftButton, pos=cards.visualItemRect(orbit).center())
    slider = window.presets.findChild(QSlider)
    slider.setValue(80)
    qtbot.keyClicks(window.prompt, "a cup of coffee on a wooden table")
    window.views.setCurrentWidget(window.framing)
    window.controls.aspects.buttons()[1].click()  # 9:16 on a landscape photo: the crop can slide sideways
    crop = window.crop
    qtbot.waitUntil(lambda: crop.crop_box() is not None)
    start = crop.photo_rect().center().toPoint()
    qtbot.mousePress(crop, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(crop, start + QPoint(-40, 0))
    qtbot.mouseRelease(crop, Qt.MouseButton.LeftButton, pos=start + QPoint(-40, 0))
    (request,) = window.state.requests(window.state.photos)
    assert (request.preset, request.intensity, request.prompt) == ("orbit", 0.8, "a cup of coffee on a wooden table")
    assert request.aspect == "9:16"
    assert request.crop_center is not None and request.crop_center[0] < 0.5  # dragged to the left
    assert request.image == str((samples / "coffee.jpg").resolve())


def test_model_picker_says_what_is_installed_fits_and_its_licence(qtbot, make_window):
    window = make_window(probe=True)
    qtbot.waitUntil(lambda: window.machine.text() != "Checking this machine…", timeout=30_000)
    assert "no GPU" in window.machine.text() or "GPU" in window.machine.text()
    combo = window.controls.model
    labels = [combo.itemText(i) for i in range(combo.count())]
    assert labels[0].startswith("Instant")
    wan = combo.findData("wan2.2-ti2v-5b")
    assert "not downloaded" in labels[wan]  # no weights in the test cache
    assert "Apache" in combo.itemData(wan, Qt.ItemDataRole.ToolTipRole)
    if "no GPU" in window.machine.text():
        assert "too big for this machine" in labels[wan]
    assert window.state.choices.model == "instant"  # first run with no weights: the instant engine


def test_every_control_has_a_name_a_screen_reader_can_say(make_window):
    window = make_window()
    nameless = []
    for widget in window.findChildren(QWidget):
        if isinstance(widget, (QAbstractButton, QAbstractSlider, QComboBox, QAbstractSpinBox, QPlainTextEdit,
                               QListWidget)) and not isinstance(widget, QScrollBar) and widget.isVisibleTo(window):
            text = widget.accessibleName() or (widget.text() if isinstance(widget, QAbstractButton) else "")
            if not text.strip():
                nameless.append(f"{type(widget).__name__} {widget.toolTip()!r}")
    assert nameless == []


def test_prompt_library_saves_and_recalls(qtbot, make_window):
    window = make_window()
    window.prompt.setPlainText("slow dolly, soft morning light")
    window.save_prompt.click()
    window.prompt.setPlainText("")
    assert window.prompt_library.count() == 2
    window.prompt_library.setCurrentIndex(1)
    window.prompt_library.activated.emit(1)
    assert window.prompt.toPlainText() == "slow dolly, soft morning light"
    assert window.studio.prompts() == ["slow dolly, soft morning light"]  # kept by the Studio, on disk
    from i2v_desktop.storage.paths import config_dir

    assert "slow dolly" in (config_dir() / "prompts.json").read_text()


# -- rendering --------------------------------------------------------------------------------


def test_generate_with_the_instant_engine(qtbot, make_window, samples):
    window = make_window()
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.choose(**QUICK)
    with qtbot.waitSignals([window.queue.started, window.queue.saved, window.queue.finished],
                           order="simple", timeout=60_000):
        seen = generate(qtbot, window)
    kinds = [type(event) for _, event in seen]
    assert kinds[0] is StageChanged
    steps = [event for _, event in seen if isinstance(event, StepProgress)]
    assert steps and any(step.preview is not None for step in steps)
    assert kinds.count(Finished) == 2  # one per variant
    assert kinds.index(StepProgress) < kinds.index(Finished)

    photo = window.state.photos[0]
    assert photo.status == Status.DONE
    shown = window.variants.entries()
    assert len(shown) == 2
    assert window.variants.selection == [max(shown, key=lambda e: e.score).id]  # the best one plays
    assert window.player.frame_count == 12 and window.player.is_playing
    entries = window.studio.clips()
    seeds = sorted(e.seed for e in entries)
    assert len(entries) == 2 and seeds[1] == seeds[0] + 1  # variants: seed, seed+1
    frames, fps = read_frames(entries[0].mp4)
    assert frames.shape[1:3] == (960, 960)  # the draft area (1280×720) at 1:1 and len(frames) == 12 and fps == 12
    record = read_record(entries[0].mp4)
    assert record.preset == window.state.choices.preset


def test_generate_with_a_tiny_diffusion_pipeline(qtbot, make_window, samples, tiny_wan):
    window = make_window(tiny_studio(tiny_wan))
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.choose(model="wan2.2-ti2v-5b", duration=0.3, variants=1, aspect="1:1")
    playing = []  # what the player holds just after each preview: the preview itself, animating
    window.queue.event.connect(lambda job, event: isinstance(event, StepProgress) and event.preview is not None
                               and playing.append((window.player.frame_count, len(event.preview.frames),
                                                   window.player.is_playing)))
    seen = generate(qtbot, window)
    assert playing and all(held == sent and on for held, sent, on in playing)
    stages = [event.stage.value for _, event in seen if isinstance(event, StageChanged)]
    assert stages[:2] == ["loading", "encoding prompt"] and "denoising" in stages and "decoding" in stages
    steps = [event for _, event in seen if isinstance(event, StepProgress)]
    assert [s.step for s in steps] == [1, 2] and any(s.preview is not None for s in steps)
    assert window.state.photos[0].status == Status.DONE
    (entry,) = window.studio.clips()
    frames, _ = read_frames(entry.mp4)
    assert frames.shape == (9, 64, 64, 3)
    assert window.player.frame_count == 9


def test_cancel_mid_render_leaves_no_clip_and_the_engine_ready(qtbot, make_window, samples):
    window = make_window()
    add_ready(qtbot, window, [samples / "astronaut.jpg"])
    window.state.choose(**{**QUICK, "duration": 8.0, "fps": 24.0, "variants": 1, "quality": "standard"})
    events, finished = [], []
    window.queue.event.connect(lambda job, event: events.append(event))
    window.queue.finished.connect(lambda job, reason: finished.append(reason))

    def cancel_on_first_step(job, event) -> None:
        if isinstance(event, StepProgress) and not window.queue.current.cancel.cancelled:
            qtbot.keyClick(window, Qt.Key.Key_Escape)

    window.queue.event.connect(cancel_on_first_step)
    window.generate()
    qtbot.waitUntil(lambda: bool(finished), timeout=60_000)
    window.queue.event.disconnect(cancel_on_first_step)
    assert finished == [""]
    assert not any(isinstance(e, Finished) for e in events)
    assert isinstance(events[-1], Cancelled)
    assert window.state.photos[0].status == Status.CANCELLED
    assert window.studio.clips() == []
    steps = [e for e in events if isinstance(e, StepProgress)]
    assert len(steps) < steps[0].total  # it stopped early

    window.state.choose(**QUICK)  # the engine is ready again
    generate(qtbot, window)
    assert window.state.photos[0].status == Status.DONE


def test_every_slot_the_worker_reaches_runs_on_the_gui_thread(qtbot, make_window, samples, monkeypatch, tmp_path):
    calls = []
    gui = QApplication.instance().thread()
    for cls in (MainWindow, JobQueue, PhotosPanel, SettingsPanel, ViewerPanel, ClipCache, Exporter):
        for name in [n for n in vars(cls) if n.startswith("_on_")]:
            original = getattr(cls, name)

            def wrapper(self, *args, __original=original, __name=name):
                calls.append((__name, QThread.currentThread() is gui or QThread.currentThread() == gui))
                return __original(self, *args)

            wrapper.__name__ = name
            monkeypatch.setattr(cls, name, wrapper)
    window = make_window()
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.choose(**QUICK)
    generate(qtbot, window)
    window.viewer.clips.full.clear()  # so playing a clip reads it back on the pool
    # a clip other than the one playing: selecting that one again reads nothing
    window.variants.select(next(e.id for e in window.variants.entries() if e.id not in window.variants.selection))
    qtbot.waitUntil(lambda: any(name == "_on_clip_loaded" for name, _ in calls), timeout=10_000)
    qtbot.waitUntil(lambda: window.player.frame_count == 12, timeout=10_000)
    plan = ExportPlan(tuple(window.studio.clips()[:1]), ("square",), tmp_path, "{photo}", open_folder=False)
    window.start_export(plan)
    qtbot.waitUntil(lambda: not window.exporter.busy, timeout=60_000)
    names = {name for name, _ in calls}
    assert {"_on_event", "_on_saved", "_on_done", "_on_job_event", "_on_job_saved", "_on_job_finished",
            "_on_photo_loaded", "_on_clip_loaded", "_on_export_progress", "_on_export_returned"} <= names
    assert all(on_gui for _, on_gui in calls), [name for name, on_gui in calls if not on_gui]


def test_the_event_loop_keeps_ticking_during_a_render(qtbot, make_window, samples):
    window = make_window()
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.choose(**{**QUICK, "duration": 3.0, "fps": 24.0, "variants": 1})
    clock, gaps = QElapsedTimer(), []
    clock.start()
    last = [clock.elapsed()]

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(tick)
    timer.start(10)
    generate(qtbot, window)
    timer.stop()
    assert len(gaps) > 50
    assert max(gaps) < 500, f"the window froze for {max(gaps)} ms"


def test_queue_reorders_removes_and_clears(qtbot, make_window, samples):
    window = make_window()
    add_ready(qtbot, window, [samples / n for n in ("coffee.jpg", "chelsea.jpg", "rocket.jpg", "astronaut.jpg")])
    window.state.choose(**{**QUICK, "duration": 6.0, "fps": 24.0, "quality": "standard", "variants": 1})
    window.generate_all()
    assert window.queue.busy and len(window.queue.pending) == 3
    names = lambda: [Path(job.photo).name for job in window.queue.pending]  # noqa: E731
    first, second, third = names()
    rows = window.jobs.model()
    window.jobs.setCurrentIndex(rows.index(3))  # row 0 is the running job
    window.job_up.click()
    assert names() == [first, third, second]
    window.jobs.setCurrentIndex(rows.index(1))
    window.job_remove.click()
    assert names() == [third, second]
    assert window.state.photo(str((samples / first).resolve())).status == Status.READY
    window.job_clear.click()
    assert names() == [] and rows.rowCount() == 1
    window.cancel_render()
    qtbot.waitUntil(lambda: not window.queue.busy, timeout=60_000)
    assert all(p.status in (Status.READY, Status.CANCELLED) for p in window.state.photos)


# -- variants, export, history ----------------------------------------------------------------


def test_pick_compare_finalize_delete(qtbot, make_window, samples, monkeypatch):
    window = make_window()
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.choose(**QUICK)
    generate(qtbot, window)
    strip = window.variants
    first, second = strip.entries()
    shown = set()
    qtbot.waitUntil(lambda: shown.add(card_picture(strip, first.id)) or len(shown) >= 3, timeout=5_000)  # they loop
    qtbot.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton, pos=strip.card_rect(first.id).center())
    qtbot.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                     strip.card_rect(second.id).center())
    assert window.variants.selection == [first.id, second.id]
    assert window.compare_button.isEnabled()
    window.compare_button.click()
    assert window.views.currentWidget() is window.compare
    qtbot.waitUntil(lambda: window.compare.shown == 2 and window.compare.frame_count > 0, timeout=5_000)
    assert all("seed" in label.text() and "score" in label.text() for label in window.compare.labels[:2])
    window.compare.pick_buttons[1].click()  # picking from the comparison stars that take and plays it
    assert window.studio.clip(second.id).starred and window.variants.selection == [second.id]
    window.star_button.click()  # un-pick it again: the steps below pick the first
    assert not window.studio.clip(second.id).starred

    window.variants.select(first.id)
    window.star_button.click()
    assert window.studio.clip(first.id).starred
    assert History(history_dir()).get(first.id).starred  # persisted

    window.finalize_button.click()
    job = window.queue.current or window.queue.pending[-1]
    assert job.request.quality == "final" and job.request.seed == first.seed and job.request.variants == 1
    qtbot.waitUntil(lambda: not window.queue.busy, timeout=60_000)
    assert len(window.studio.clips()) == 3

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    window.variants.select(second.id)
    mp4 = second.mp4
    with qtbot.waitSignal(window.viewer.undo.clipsChanged, timeout=5_000):  # to the trash, off the GUI thread
        window.delete_button.click()
    assert not mp4.exists() and len(window.studio.clips()) == 2


def test_a_star_set_in_one_strip_shows_in_the_other(qtbot, make_window, samples):
    window = make_window()
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.choose(**{**QUICK, "variants": 1})
    generate(qtbot, window)
    history, variants = window.history_strip, window.variants
    window.strips.setCurrentWidget(history)  # fills the History tab
    qtbot.waitUntil(lambda: len(history.entries()) == 1, timeout=10_000)
    window.strips.setCurrentWidget(variants)
    (clip,) = variants.entries()
    qtbot.mouseClick(variants.viewport(), Qt.MouseButton.LeftButton, pos=variants.star_rect(clip.id).center())
    assert history.is_starred(clip.id) and variants.is_starred(clip.id)
    assert window.studio.clip(clip.id).starred

    window.strips.setCurrentWidget(history)
    history.select(clip.id)
    window.star_button.click()  # what S does
    assert not variants.is_starred(clip.id) and not history.is_starred(clip.id)
    assert not window.studio.clip(clip.id).starred


def test_export_picked_clips_through_the_dialog(qtbot, make_window, samples, tmp_path, monkeypatch):
    window = make_window()
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.choose(**QUICK, intensity=QUICK_INTENSITY)
    generate(qtbot, window)
    picked = window.variants.entries()[0]
    qtbot.mouseClick(window.variants.viewport(), Qt.MouseButton.LeftButton,
                     pos=window.variants.star_rect(picked.id).center())
    out = tmp_path / "exports"

    def accept(dialog: ExportDialog) -> int:
        assert [e.id for e in dialog.checked()] == [picked.id]
        dialog.folder.setText(str(out))
        dialog.template.setText("{photo}_{motion}_{seed}_{format}")
        for pid, box in dialog.formats.items():
            box.setChecked(pid == "reels")
        dialog.open_folder.setChecked(False)
        return ExportDialog.DialogCode.Accepted

    monkeypatch.setattr(ExportDialog, "exec", accept)
    window.export_clips()
    qtbot.waitUntil(lambda: not window.exporter.busy and window.export_status.text().startswith("Exported"),
                    timeout=60_000)
    (path,) = window.last_export
    assert path == out / f"coffee_{QUICK_PRESET(window)}_{picked.seed}_reels.mp4"
    frames, fps = read_frames(path)
    assert frames.shape[1:3] == (1920, 1080)  # Reels is 9:16 whatever the clip's shape
    assert "i2v_desktop" in {k.lower() for k in read_mp4_metadata(path)}

    window.state.choose(preset="wind", intensity=0.1)  # dropping the exported clip brings its settings back
    drop(window, [path])
    qtbot.waitUntil(lambda: window.state.choices.preset == picked.preset, timeout=10_000)
    assert window.state.choices.intensity == QUICK_INTENSITY


def card_picture(strip, entry_id) -> bytes:
    """The pixels of a clip's card as painted now."""
    image = strip.viewport().grab(strip.card_rect(entry_id)).toImage()
    return bytes(image.constBits())


def QUICK_PRESET(window) -> str:  # noqa: N802
    return window.state.choices.preset


def test_export_dialog_refuses_a_bad_template(qtbot, make_window, samples):
    window = make_window()
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.choose(**{**QUICK, "variants": 1})
    generate(qtbot, window)
    entries = window.studio.clips()
    dialog = ExportDialog(entries, ["one"], window.studio.export_choices(),
                          picked={entries[0].id}, formats=["reels"], folder="/tmp", template="{photo}_{nope}",
                          open_folder=False)
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    assert not ok.isEnabled() and "unknown field {nope}" in dialog.example.text()
    dialog.template.setText("{photo}-{seed}")
    assert ok.isEnabled() and ok.text() == "Export 1 clip"


def test_history_survives_a_restart_and_a_dropped_clip_restores_its_settings(qtbot, make_window, samples):
    window = make_window()
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.choose(**{**QUICK, "variants": 1, "preset": "orbit", "intensity": 0.7, "seed": 1234})
    window.state.update_photo(window.state.selected, crop_center=(0.45, 0.5))
    generate(qtbot, window)
    (entry,) = window.studio.clips()
    window.close()

    again = make_window()
    assert again.history_strip.entries() == []  # filled when first shown: a long history costs no start-up
    again.strips.setCurrentWidget(again.history_strip)
    qtbot.waitUntil(lambda: [e.id for e in again.history_strip.entries()] == [entry.id], timeout=10_000)
    qtbot.waitUntil(lambda: len(again.viewer.clips.thumbs.get(entry.id, ())) > 1, timeout=10_000)
    assert again.state.choices.preset == "orbit" and again.state.choices.seed == 1234  # settings persisted
    again.state.choose(preset="wind", intensity=0.2, seed=None)
    drop(again, [entry.mp4])
    qtbot.waitUntil(lambda: again.state.choices.preset == "orbit", timeout=10_000)
    assert again.state.choices.intensity == 0.7 and again.state.choices.seed == 1234
    qtbot.waitUntil(lambda: again.state.photos and again.state.photos[0].status == Status.READY, timeout=10_000)
    assert again.state.photos[0].crop_center == (0.45, 0.5)


def test_closing_during_a_render_cancels_it_and_ends_the_thread(qtbot, make_window, samples):
    window = make_window()
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.choose(**{**QUICK, "duration": 10.0, "fps": 24.0, "quality": "standard"})
    window.generate()
    qtbot.waitUntil(lambda: window.progress.maximum() > 1, timeout=30_000)  # rendering frames
    window.close()
    assert not window.queue._thread.isRunning()
    assert window.studio.clips() == []


def test_the_window_appears_before_torch_is_imported(tmp_path):
    code = (
        "import sys, time; t = time.perf_counter()\n"
        "from PySide6.QtCore import QSettings\nfrom PySide6.QtWidgets import QApplication\n"
        "from i2v_desktop.app import make_studio\nfrom i2v_desktop.ui.window import MainWindow\n"
        "app = QApplication([]); w = MainWindow(make_studio(), QSettings('s.ini', QSettings.Format.IniFormat), probe=False)\n"
        "w.show(); app.processEvents()\n"
        "print(round(time.perf_counter() - t, 3), 'torch' in sys.modules, 'diffusers' in sys.modules,\n"
        "      'ray' in sys.modules)\n"
        "w.close()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60,
                            env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr
    seconds, torch_loaded, diffusers_loaded, ray_loaded = result.stdout.split()
    assert (torch_loaded, diffusers_loaded) == ("False", "False")
    assert ray_loaded == "False"  # the cluster's extra is for `i2v batch --ray` alone


def test_studio_from_the_app_uses_the_user_folders(tmp_path):
    studio = make_studio()
    assert "orbit" in {preset.id for preset in studio.presets()}
    assert "reels" in {choice.id for choice in studio.export_choices()}
    assert studio.clips() == []


def test_the_users_words_and_the_motion_words_are_apart_and_follow_the_model(qtbot, make_window, tiny_wan, tmp_path):
    from i2v_desktop.engine.registry import Registry, load_registry

    tiny = tiny_registry({"wan2.2-ti2v": tiny_wan})
    ltx = load_registry().get("ltx-video-2b-distilled")  # chosen, never rendered here
    registry = Registry({**tiny.entries, ltx.id: ltx}, tiny.default)
    studio = LocalStudio(Engines(registry, load_presets(), device="cpu"), History(history_dir()),
                         load_export_presets(), tmp_path)
    window = make_window(studio)
    window.state.choose(model="wan2.2-ti2v-5b", preset="orbit", intensity=0.5, prompt="")
    orbit = window.motion_words(window.state.choices)
    assert "orbits around the subject" in orbit
    assert window.prompt.toPlainText() == "" and window.motion.text() == ""
    assert window.motion.placeholderText() == orbit  # the preset's words, shown greyed

    window.prompt.setPlainText("A glass perfume bottle on marble.")
    window.state.choose(model="ltx-video-2b-distilled")  # LTX's own words for the same preset
    ltx = window.motion_words(window.state.choices)
    assert ltx != orbit and window.motion.placeholderText() == ltx
    assert window.prompt.toPlainText() == "A glass perfume bottle on marble."
    request = window.state.choices.request_for(Photo("x.jpg"), 1)
    assert (request.prompt, request.motion_prompt) == ("A glass perfume bottle on marble.", None)

    window.state.choose(model="instant")  # the instant engine reads no words
    assert not window.motion.isEnabled()

    window.state.choose(model="wan2.2-ti2v-5b")
    qtbot.keyClicks(window.motion, "The camera glides in very slowly.")
    assert window.state.choices.motion_prompt == "The camera glides in very slowly."
    window.motion.clear()
    qtbot.keyClicks(window.motion, "x")
    qtbot.keyClick(window.motion, Qt.Key.Key_Backspace)
    assert window.state.choices.motion_prompt is None  # cleared: the preset's words again
    qtbot.keyClicks(window.motion, "Spin.")
    window.presets.presetChanged.emit("push-in")  # a new preset brings its own words
    assert window.state.choices.motion_prompt is None and window.motion.text() == ""


def test_space_plays_and_pauses_but_types_in_the_prompt(qtbot, make_window, samples):
    window = make_window()
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.choose(**{**QUICK, "variants": 1})
    generate(qtbot, window)
    window.activateWindow()
    window.variants.setFocus()
    assert window.player.is_playing
    qtbot.keyClick(window.variants, Qt.Key.Key_Space)
    assert not window.player.is_playing
    qtbot.keyClick(window.variants, Qt.Key.Key_Space)
    assert window.player.is_playing
    window.prompt.setFocus()
    qtbot.keyClicks(window.prompt, "a b")
    assert window.prompt.toPlainText() == "a b" and window.player.is_playing


def test_a_photo_gone_before_its_render_fails_in_the_window_and_the_batch_goes_on(qtbot, make_window, samples,
                                                                                 tmp_path):
    doomed = tmp_path / "doomed.jpg"
    doomed.write_bytes((samples / "chelsea.jpg").read_bytes())
    window = make_window()
    add_ready(qtbot, window, [doomed, samples / "coffee.jpg"])
    window.state.choose(**{**QUICK, "variants": 1})
    doomed.unlink()
    window.photos.selectAll()  # Generate renders the selected photos
    generate(qtbot, window)
    statuses = {p.name: p.status for p in window.state.photos}
    assert statuses == {"doomed.jpg": Status.FAILED, "coffee.jpg": Status.DONE}
    assert "doomed.jpg: no such file" in window.banner.text.text()
    assert "no such file" in window.state.photo(str(doomed.resolve())).reason


def test_export_opens_the_folder_when_asked(qtbot, make_window, samples, tmp_path, monkeypatch):
    from PySide6.QtGui import QDesktopServices

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    window = make_window()
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.choose(**{**QUICK, "variants": 1})
    generate(qtbot, window)
    window.start_export(ExportPlan(tuple(window.studio.clips()), ("square",), tmp_path / "out", "{photo}", True))
    qtbot.waitUntil(lambda: not window.exporter.busy, timeout=60_000)
    assert opened == [str(tmp_path / "out")]
    assert (tmp_path / "out" / "coffee.mp4").is_file()


def test_a_clip_not_made_here_is_refused_in_one_line(qtbot, make_window, tmp_path):
    import numpy as np

    from i2v_desktop.export.mp4 import write_mp4

    foreign = tmp_path / "holiday.mp4"
    write_mp4(np.zeros((4, 32, 32, 3), np.uint8), 24.0, foreign)
    window = make_window()
    before = window.state.choices
    drop(window, [foreign])
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=10_000)
    assert "holiday.mp4: not made by i2v_desktop" in window.banner.text.text()
    assert window.state.choices == before and window.state.photos == []


def test_an_export_that_fails_for_one_clip_still_exports_the_others(qtbot, make_window, samples, tmp_path):
    window = make_window()
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.choose(**QUICK)
    generate(qtbot, window)
    lost, kept = window.studio.clips()
    lost.mp4.unlink()
    window.start_export(ExportPlan((lost, kept), ("square",), tmp_path / "out", "{photo}_{seed}", False))
    qtbot.waitUntil(lambda: not window.exporter.busy, timeout=60_000)
    assert window.last_export == [tmp_path / "out" / f"coffee_{kept.seed}.mp4"]
    assert f"{lost.mp4}: no such file" in window.banner.text.text()
    assert window.export_status.text().startswith("Exported 1 of 2 clips")


def test_the_quality_picker_offers_fast_only_for_models_that_have_it(make_window):
    window = make_window()
    combo = window.controls.quality

    def offered():
        return [combo.itemData(i) for i in range(combo.count())]

    window.state.choose(model="wan2.2-i2v-a14b")
    assert offered() == ["draft", "standard", "final", "fast"]
    window.state.choose(quality="fast")
    assert combo.currentData() == "fast" and combo.currentText() == "Fast"
    # A model without the tier: the picker drops it and the choice falls back to standard.
    window.state.choose(model="svd-xt")
    assert offered() == ["draft", "standard", "final"]
    assert window.state.choices.quality == "standard" and combo.currentData() == "standard"
    window.state.choose(model="instant")
    assert "fast" not in offered()
    window.state.choose(model="ltx-video-2b-distilled")  # distilled itself: fast without a LoRA
    assert offered()[-1] == "fast"


def test_removing_several_selected_photos_removes_them_all(qtbot, make_window, samples):
    window = make_window()
    window.add_paths(sorted(samples.glob("*.jpg"))[:3])
    qtbot.waitUntil(lambda: len(window.state.photos) == 3 and all(p.status == Status.READY for p in window.state.photos),
                    timeout=10_000)
    kept = window.photos.item(0).data(Qt.ItemDataRole.UserRole)
    window.photos.clearSelection()
    for row in (1, 2):
        window.photos.item(row).setSelected(True)
    window.photos_panel.remove_selected_photos()
    assert [photo.path for photo in window.state.photos] == [kept]
    assert not window.banner.isVisible()
