"""The LoRA section of the real window on the real Studio (issue 18): the user's LoRA files listed
for the chosen model, a mismatched one greyed with its reason, strengths into the request, the
preset's camera LoRA, a restored clip's LoRAs (a missing one kept, never dropped) and files added
from elsewhere kept for the next start."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog

from i2v_desktop.core.record import ClipRecord
from i2v_desktop.core.request import GenerationRequest, LoraUse
from i2v_desktop.ui.lorarows import STEPS
from i2v_desktop.ui.state import Photo

MODEL = "wan2.2-ti2v-5b"  # not downloaded here: a LoRA is checked against its family only
OTHER = "instant"  # takes no LoRAs


def write_lora(path: Path, width: int, blocks: range = range(2), rank: int = 4, seed: int = 0,
               block_name: str = "blocks") -> str:
    """A diffusers/PEFT LoRA: `transformer.blocks.N.attn1.to_q.lora_A/B.weight` for `width`-wide
    attention (Wan; "transformer_blocks" for LTX); returns the file's sha256."""
    rng = np.random.default_rng(seed)
    tensors = {}
    for block in blocks:
        for proj in ("to_q", "to_k", "to_v", "to_out.0"):
            stem = f"transformer.{block_name}.{block}.attn1.{proj}"
            tensors[f"{stem}.lora_A.weight"] = rng.standard_normal((rank, width)).astype(np.float16)
            tensors[f"{stem}.lora_B.weight"] = np.zeros((width, rank), np.float16)
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        data = array.tobytes()
        header[name] = {"dtype": "F16", "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def folder():
    """The app's LoRA folder, as the real Studio makes it under the test's own data folder."""
    from i2v_desktop.app import make_studio

    return make_studio().lora_folder()


def listed(qtbot, window, model: str = MODEL):
    window.state.choose(model=model)
    panel = window.loras
    qtbot.waitUntil(lambda: not window.state.lora_checking and window.state.lora_listing != ()
                    or panel.status.text().startswith("No LoRA"), timeout=20_000)
    return panel


def row_of(panel, name: str):
    return next(view for view in panel.rows.values() if view.row.name == name)


def request_loras(window) -> tuple[LoraUse, ...]:
    return window.state.choices.request_for(Photo("photo.png"), 1).loras


def test_rows_listed_for_the_model_a_mismatch_greyed_with_its_reason(qtbot, make_window, folder):
    good = write_lora(folder / "style.safetensors", 3072)
    write_lora(folder / "ltx-dolly.safetensors", 2048, seed=1, block_name="transformer_blocks")
    window = make_window()
    panel = listed(qtbot, window)
    names = sorted(view.row.name for view in panel.rows.values())
    assert names == ["ltx-dolly.safetensors", "style.safetensors"]
    fits, mismatch = row_of(panel, "style.safetensors"), row_of(panel, "ltx-dolly.safetensors")
    assert fits.key == good and fits.check.isEnabled() and not fits.check.isChecked()
    assert fits.size.text().endswith(("kB", "MB")) and fits.value.text() == "1.00"
    assert not mismatch.check.isEnabled() and not mismatch.check.isChecked()
    assert not mismatch.slider.isEnabled()
    # Its reason in words on the row itself, one line naming the mismatch, not only in a tooltip.
    reason = mismatch.reason.text()
    assert mismatch.reason.isVisibleTo(panel) and reason and "\n" not in reason
    assert reason.startswith("ltx-dolly.safetensors: ") and "LTX" in reason and "Wan" in reason
    assert not fits.reason.isVisibleTo(panel)
    assert panel.status.text().startswith("0 of 1 ")


def test_a_lora_for_a_wider_model_is_greyed_against_the_models_own_shape(qtbot, make_window, folder,
                                                                           tmp_path):
    from i2v_desktop.bench.tiny import save_tiny_pipeline

    model = save_tiny_pipeline("wan2.2-ti2v", tmp_path / "my-wan")  # 24 wide, 2 blocks
    sha = write_lora(folder / "tiny-style.safetensors", 24)
    write_lora(folder / "orbit-14b.safetensors", 5120, blocks=range(40), rank=1, seed=2)
    window = make_window()
    panel = listed(qtbot, window, str(model.resolve()))
    fits, wide = row_of(panel, "tiny-style.safetensors"), row_of(panel, "orbit-14b.safetensors")
    assert fits.key == sha and fits.check.isEnabled() and not fits.reason.isVisibleTo(panel)
    assert not wide.check.isEnabled() and wide.reason.isVisibleTo(panel)
    assert "5120-wide" in wide.reason.text() and "24-wide with 2 blocks" in wide.reason.text()
    fits.check.click()
    assert request_loras(window) == (LoraUse(fits.row.path, sha, 1.0, "both"),)


def test_a_checked_row_and_its_strength_go_into_the_request_and_survive_another_model(qtbot, make_window,
                                                                                      folder):
    sha = write_lora(folder / "style.safetensors", 3072)
    window = make_window()
    panel = listed(qtbot, window)
    view = row_of(panel, "style.safetensors")
    assert request_loras(window) == ()
    view.check.click()
    view.slider.setValue(round(0.75 * STEPS))
    assert view.value.text() == "0.75"
    assert request_loras(window) == (LoraUse(str(folder / "style.safetensors"), sha, 0.75, "both"),)
    view.slider.setValue(round(-2 * STEPS))  # the whole range, in 0.05 steps
    assert request_loras(window)[0].strength == -2.0 and view.slider.minimum() == -2 * STEPS

    view.slider.setValue(round(0.75 * STEPS))
    panel = listed(qtbot, window, OTHER)  # takes no LoRAs: greyed, out of the request...
    view = row_of(panel, "style.safetensors")
    assert not view.check.isChecked() and not view.check.isEnabled() and view.reason.text()
    assert request_loras(window) == ()
    panel = listed(qtbot, window, MODEL)  # ...and back, checked at its strength, on one it fits
    view = row_of(panel, "style.safetensors")
    assert view.check.isChecked() and view.value.text() == "0.75"
    assert request_loras(window) == (LoraUse(str(folder / "style.safetensors"), sha, 0.75, "both"),)


def test_camera_row_follows_the_preset_and_the_model(qtbot, make_window):
    window = make_window()
    studio = window.studio
    pairs = [(model.id, preset.id) for model in studio.models(look=False) for preset in studio.presets()]
    cameras = {pair: studio.camera_lora(*pair) for pair in pairs}
    with_lora = [pair for pair, camera in cameras.items() if camera.id]
    without = [pair for pair, camera in cameras.items() if not camera.id]
    assert with_lora and without, "the registry maps some preset to a camera LoRA on some model"
    row = window.loras.camera

    (model, preset) = with_lora[0]
    camera = cameras[(model, preset)]
    window.state.choose(model=model, preset=preset)
    assert row.name.text() == camera.name and row.strength.isVisibleTo(window.loras)
    assert row.slider.value() == round(camera.strength * STEPS)
    assert (row.ready.text() == "ready") == camera.ready
    assert camera.ready or (row.note.isVisibleTo(window.loras) and row.note.text() == camera.note)
    request = window.state.choices.request_for(Photo("photo.png"), 1)
    assert request.camera_lora is None  # the preset's own strength, until the slider moves
    row.slider.setValue(0)
    assert row.value.text() == "off" and window.state.choices.camera_lora == 0.0
    row.slider.setValue(round(camera.strength * STEPS))
    assert window.state.choices.camera_lora is None

    row.slider.setValue(round(0.5 * STEPS))
    other = next(p for m, p in pairs if m == model and p != preset)
    window.presets.presetChanged.emit(other)  # a new preset: its own camera LoRA, at its strength
    assert window.state.choices.camera_lora is None

    (model, preset) = without[0]
    window.state.choose(model=model, preset=preset)
    assert not row.strength.isVisibleTo(window.loras) and not row.name.isVisibleTo(window.loras)
    assert row.note.text() == cameras[(model, preset)].note and row.note.text()


def test_a_restored_clip_brings_its_loras_back_and_a_missing_one_stays_with_its_name(qtbot, make_window,
                                                                                      folder, samples):
    sha = write_lora(folder / "style.safetensors", 3072)
    gone = hashlib.sha256(b"a LoRA deleted since").hexdigest()
    request = GenerationRequest(image=str(samples / "coffee.jpg"), model=MODEL, camera_lora=0.5, loras=(
        LoraUse(str(folder / "style.safetensors"), sha, 0.6),
        LoraUse(str(folder / "deleted.safetensors"), gone, 1.2, "high")))
    window = make_window()
    window.photos_panel.restore_clip("clip.mp4", ClipRecord.make(request, {}, None, "test"))
    panel = listed(qtbot, window)
    qtbot.waitUntil(lambda: len(panel.rows) == 2, timeout=10_000)
    present, missing = row_of(panel, "style.safetensors"), row_of(panel, "deleted.safetensors")
    assert present.check.isChecked() and present.value.text() == "0.60"
    assert missing.check.isChecked() and missing.row.missing and missing.expert.text() == "high-noise expert"
    assert missing.reason.isVisibleTo(panel) and missing.reason.text().startswith("missing: ")
    # Not dropped: the render carries it, and the engine refuses it with its reason.
    made = window.state.choices.request_for(Photo("photo.png"), 1)
    assert made.loras == request.loras and made.camera_lora == 0.5
    missing.check.click()  # the user lets the render go without it
    assert request_loras(window) == (request.loras[0],)
    assert "deleted.safetensors" not in [view.row.name for view in panel.rows.values()]


def test_files_added_from_elsewhere_are_listed_and_come_back_next_start(qtbot, make_window, folder, tmp_path,
                                                                        monkeypatch):
    elsewhere = tmp_path / "downloads" / "my-motion.safetensors"
    sha = write_lora(elsewhere, 3072, seed=3)
    window = make_window()
    panel = listed(qtbot, window)
    assert panel.status.text().startswith("No LoRA files yet")
    monkeypatch.setattr(QFileDialog, "getOpenFileNames",
                        lambda *args: ([str(elsewhere)], "LoRA files (*.safetensors)"))
    panel.add_files.click()
    qtbot.waitUntil(lambda: sha in panel.rows, timeout=10_000)
    view = panel.rows[sha]
    assert view.remove.isVisibleTo(panel) and view.check.isEnabled()
    view.check.click()
    window.close()

    again = make_window()
    panel = listed(qtbot, again)
    qtbot.waitUntil(lambda: sha in panel.rows, timeout=10_000)
    assert panel.rows[sha].check.isChecked() and again.banner.lines == []
    assert request_loras(again) == (LoraUse(str(elsewhere.resolve()), sha, 1.0, "both"),)
    panel.rows[sha].remove.click()  # off the list; the file stays where it is
    qtbot.waitUntil(lambda: sha not in panel.rows or panel.rows[sha].row.missing, timeout=10_000)
    assert elsewhere.exists()


def test_open_lora_folder_opens_the_studios_folder(qtbot, make_window, folder, monkeypatch):
    from PySide6.QtGui import QDesktopServices

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    window = make_window()
    window.loras.open_folder.click()
    assert opened == [str(folder)]


def test_a_file_dropped_into_the_lora_folder_is_listed_without_a_restart(qtbot, make_window, folder):
    window = make_window()
    panel = listed(qtbot, window)
    assert panel.rows == {}
    sha = write_lora(folder / "new-style.safetensors", 3072, seed=5)
    qtbot.waitUntil(lambda: sha in panel.rows and not window.state.lora_checking, timeout=10_000)
    assert panel.rows[sha].check.isEnabled() and not panel.rows[sha].remove.isVisibleTo(panel)


def test_a_lora_dropped_on_the_window_is_listed_beside_the_photo_dropped_with_it(qtbot, make_window, tmp_path,
                                                                                   samples):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    lora = tmp_path / "dropped" / "grain.safetensors"
    sha = write_lora(lora, 3072, seed=7)
    window = make_window()
    panel = listed(qtbot, window)
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(samples / "coffee.jpg")), QUrl.fromLocalFile(str(lora))])
    where = QPointF(window.width() / 2, window.height() / 2)
    for kind in (QDragEnterEvent, QDropEvent):  # as a real drag and drop reaches the window
        QApplication.sendEvent(window, kind(where, Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                                            Qt.KeyboardModifier.NoModifier))
    qtbot.waitUntil(lambda: sha in panel.rows and not window.state.lora_checking, timeout=10_000)
    assert [photo.name for photo in window.state.photos] == ["coffee.jpg"]
    assert window.state.lora_files == (str(lora.resolve()),) and window.banner.lines == []


def test_at_most_eight_loras_go_into_one_render_the_ninth_is_refused_in_one_line(qtbot, make_window, folder):
    for n in range(9):
        write_lora(folder / f"style-{n}.safetensors", 3072, seed=10 + n)
    window = make_window()
    panel = listed(qtbot, window)
    views = sorted(panel.rows.values(), key=lambda view: view.row.name)
    for view in views[:8]:
        view.check.click()
    assert len(request_loras(window)) == 8
    views[8].check.click()
    assert not views[8].check.isChecked() and len(request_loras(window)) == 8
    assert window.banner.lines[0] == "At most 8 LoRAs go into one render: uncheck one first"


def test_a_takes_tooltip_says_the_loras_and_camera_strength_it_was_made_with():
    from i2v_desktop.core.record import ClipEntry
    from i2v_desktop.ui.clips import clip_tip

    def tip(**changes) -> str:
        request = GenerationRequest(image="/photos/a.jpg", seed=7, **changes)
        record = ClipRecord.make(request, {}, None, "test")
        return clip_tip(ClipEntry("1", Path("a.mp4"), Path("a.npy"), request.image, 0.0, record), {})

    uses = (LoraUse("/loras/grain.safetensors", "1" * 64, 0.75),
            LoraUse("/loras/orbit_high.safetensors", "2" * 64))
    assert "LoRAs: grain 0.75, orbit_high 1.00 · camera LoRA off" in tip(loras=uses, camera_lora=0.0)
    assert "camera LoRA at 0.50" in tip(camera_lora=0.5) and "LoRAs:" not in tip(camera_lora=0.5)
    assert "LoRA" not in tip()  # made with the preset's own camera strength and no LoRA of the user's


def tiny_wan_window(make_window, tiny: Path):
    """A window on the app's Studio whose Wan2.2 TI2V-5B is the tiny pipeline in `tiny` (24 wide, 2
    blocks): a render takes seconds on the processor, through the real diffusion engine."""
    from i2v_desktop.bench.tiny_registry import tiny_registry
    from i2v_desktop.core.presets import load_presets
    from i2v_desktop.export.social import load_export_presets
    from i2v_desktop.storage.history import History
    from i2v_desktop.storage.paths import data_dir, history_dir
    from i2v_desktop.studio.local import LocalStudio
    from i2v_desktop.studio.render import Engines

    engines = Engines(tiny_registry({"wan2.2-ti2v": tiny}), load_presets(), device="cpu")
    return make_window(LocalStudio(engines, History(history_dir()), load_export_presets(), data_dir()))


def rendered(qtbot, window):
    """The batch's one photo once Generate's render of it has ended."""
    from i2v_desktop.ui.state import BUSY, Status

    qtbot.waitUntil(lambda: window.state.photos and window.state.photos[0].status == Status.READY,
                    timeout=10_000)
    photo = window.state.photos[0]
    window.generate()
    qtbot.waitUntil(lambda: photo.status not in BUSY, timeout=180_000)
    return photo


def test_a_tiny_wan_renders_with_the_checked_lora_and_refuses_a_restored_take_whose_lora_is_gone(
        qtbot, make_window, folder, tmp_path, samples):
    """End to end on the real engine: the request the window builds reaches the render and the clip's
    record; the same take restored at the next start, its LoRA file gone, keeps the LoRA and fails
    with the reason (within one session the engine keeps the adapter it loaded, by content)."""
    from i2v_desktop.bench.tiny import save_tiny_pipeline
    from i2v_desktop.ui.state import Status

    tiny = save_tiny_pipeline("wan2.2-ti2v", tmp_path / "tiny-wan")
    lora = folder / "tiny-style.safetensors"
    sha = write_lora(lora, 24)
    window = tiny_wan_window(make_window, tiny)
    window.add_paths([samples / "coffee.jpg"])
    window.state.choose(duration=0.3, variants=1, try_anyway=True)
    panel = listed(qtbot, window)
    panel.rows[sha].check.click()
    panel.rows[sha].slider.setValue(round(0.5 * STEPS))
    saved = []
    window.queue.saved.connect(lambda job, clip: saved.append(clip))
    photo = rendered(qtbot, window)
    assert photo.status == Status.DONE, photo.reason
    (clip,) = saved
    record = clip.entry.record
    assert record.request().loras == (LoraUse(str(lora), sha, 0.5, "both"),)
    window.close()  # the next start: the engine loads the LoRA from its file again

    lora.unlink()
    window = tiny_wan_window(make_window, tiny)
    panel = window.loras
    window.photos_panel.restore_clip(str(clip.entry.mp4), record)
    qtbot.waitUntil(lambda: sha in panel.rows and not window.state.lora_checking, timeout=10_000)
    assert panel.rows[sha].row.missing and panel.rows[sha].check.isChecked()
    assert panel.rows[sha].reason.text().startswith("missing: ")
    assert request_loras(window) == record.request().loras
    photo = rendered(qtbot, window)
    assert photo.status == Status.FAILED
    assert "tiny-style.safetensors" in photo.reason and "gone" in photo.reason
