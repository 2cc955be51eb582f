"""The models page acting on a model's files, against a local fake of the hub (no network): download
with progress, pause, resume, cancel; delete; closing while a download runs; a folder of the user's."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from i2v_desktop.bench.tiny import save_tiny_pipeline
from i2v_desktop.ui.state import Status

WEIGHTS = 1_500_000  # bytes: long enough to pause mid-file when throttled


def _fakehub():
    if "fakehub" in sys.modules:  # the engine tests have it already
        return sys.modules["fakehub"]
    spec = importlib.util.spec_from_file_location("fakehub", Path(__file__).parents[1] / "engine" / "fakehub.py")
    module = sys.modules["fakehub"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fake_hub = _fakehub().fake_hub  # the fixture


@pytest.fixture
def hub(fake_hub, tmp_path, isolated_home):
    """A user model, "Tiny", whose repo is on the fake hub: an index, a config and 1.5 MB of weights."""
    served = tmp_path / "served"
    (served / "unet").mkdir(parents=True)
    (served / "model_index.json").write_text(json.dumps({
        "_class_name": "StableVideoDiffusionPipeline", "unet": ["diffusers", "UNetSpatioTemporalConditionModel"]}))
    (served / "unet" / "config.json").write_text("{}")
    (served / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(bytes(range(250)) * (WEIGHTS // 250))
    commit = fake_hub.add("test/tiny", served)
    gated = fake_hub.add("test/gated", served, gated=True)
    folder = isolated_home / "config" / "i2v_desktop"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "models.json").write_text(json.dumps({"models": [
        {"id": "tiny", "base": "svd-xt", "name": "Tiny", "repo": "test/tiny", "revision": commit, "variant": None,
         "tiny_decoder": None},
        {"id": "locked", "base": "svd-xt", "name": "Locked", "repo": "test/gated", "revision": gated,
         "variant": None, "tiny_decoder": None, "gated": True}]}))
    return fake_hub


def open_page(qtbot, window):
    window.models_action.trigger()
    page = window.models.page
    qtbot.waitUntil(lambda: "instant" in page.rows and not page.status.text().startswith("Reading"), timeout=30_000)
    return page


def picker_label(window, model: str) -> str:
    combo = window.controls.model
    return combo.itemText(combo.findData(model))


def test_download_shows_progress_pauses_keeping_what_arrived_and_resumes_to_ready(qtbot, make_window, hub, samples):
    window = make_window(probe=True)
    qtbot.waitUntil(lambda: window.machine.text() != "Checking this machine…", timeout=30_000)
    page = open_page(qtbot, window)
    row = page.rows["tiny"]
    assert row.state.text() == "not downloaded" and row.download.text() == "Download"
    assert "not downloaded" in picker_label(window, "tiny")
    # Generate does not start a download unasked: it leads to this page.
    window.state.choose(model="tiny")
    window.add_paths([samples / "coffee.jpg"])
    qtbot.waitUntil(lambda: window.state.photos and window.state.photos[0].status == Status.READY, timeout=10_000)
    window.generate()
    assert len(window.queue) == 0
    assert window.banner.text.text().startswith(f"Tiny is not downloaded ({row.info.download_gb:g} GB)")
    assert window.banner.buttons[0].text() == "Open Models"

    hub.rate = 300_000  # bytes per second: the weights take 5 s
    row.download.click()
    assert row.pause.isVisibleTo(page) and row.cancel.isVisibleTo(page) and not row.download.isVisibleTo(page)
    qtbot.waitUntil(lambda: row.progress.value() > 100, timeout=20_000)  # over 100 kB here
    qtbot.waitUntil(lambda: "left" in row.transfer.text(), timeout=20_000)  # once a speed is known
    assert " of 1.5 MB · " in row.transfer.text() and "/s · " in row.transfer.text()
    row.pause.click()
    qtbot.waitUntil(lambda: not page.downloading, timeout=20_000)
    qtbot.waitUntil(lambda: row.state.text() == "partly downloaded", timeout=10_000)
    assert row.download.text() == "Resume" and row.delete.isEnabled()
    assert "paused" in page.status.text()

    hub.rate = None
    row.download.click()
    qtbot.waitUntil(lambda: row.state.text() == "ready", timeout=20_000)
    assert any(r.startswith("bytes=") and r != "bytes=0-" for r in hub.ranges)  # it went on from what arrived
    assert page.status.text() == "Tiny is downloaded" and not row.download.isVisibleTo(page)
    assert "1.5 MB on disk" in row.sizes.text()
    qtbot.waitUntil(lambda: "not downloaded" not in picker_label(window, "tiny"), timeout=10_000)


def test_cancel_deletes_what_arrived_and_delete_asks_then_frees_the_space(qtbot, make_window, hub):
    window = make_window()
    page = open_page(qtbot, window)
    row = page.rows["tiny"]
    hub.rate = 300_000
    row.download.click()
    qtbot.waitUntil(lambda: row.progress.value() > 100, timeout=20_000)
    row.cancel.click()
    qtbot.waitUntil(lambda: "download cancelled" in page.status.text(), timeout=20_000)
    assert page.status.text().endswith("freed")
    qtbot.waitUntil(lambda: row.state.text() == "not downloaded", timeout=10_000)
    assert not row.delete.isEnabled()

    hub.rate = None
    row.download.click()
    qtbot.waitUntil(lambda: row.state.text() == "ready", timeout=20_000)
    row.delete.click()
    assert page.confirm.isVisible() and "1.5 MB" in page.confirm.text()
    page.confirm.button(QMessageBox.StandardButton.No).click()
    assert row.state.text() == "ready"
    row.delete.click()
    page.confirm.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: page.status.text() == "Deleted Tiny: 1.5 MB freed", timeout=10_000)
    qtbot.waitUntil(lambda: row.state.text() == "not downloaded", timeout=10_000)
    qtbot.waitUntil(lambda: "not downloaded" in picker_label(window, "tiny"), timeout=10_000)


def test_closing_the_page_while_downloading_asks_then_stops_keeping_what_arrived(qtbot, make_window, hub):
    window = make_window()
    page = open_page(qtbot, window)
    row = page.rows["tiny"]
    hub.rate = 300_000
    row.download.click()
    qtbot.waitUntil(lambda: row.progress.value() > 100, timeout=20_000)
    page.close()
    assert page.isVisible() and page.confirm.isVisible()  # asked first
    page.confirm.button(QMessageBox.StandardButton.No).click()  # keep downloading
    assert page.isVisible() and page.downloading == ["tiny"]
    page.close()
    page.confirm.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: not page.isVisible(), timeout=20_000)
    assert not page.downloading
    qtbot.waitUntil(lambda: row.state.text() == "partly downloaded", timeout=10_000)
    # Closing the main window mid-download stops it too, and no thread is left (the fixture checks).
    hub.rate = 300_000
    window.models.open_models()
    row.download.click()
    qtbot.waitUntil(lambda: page.downloading == ["tiny"], timeout=5_000)
    window.close()


def test_errors_are_one_line_a_gated_model_says_how_to_log_in(qtbot, make_window, hub):
    window = make_window()
    page = open_page(qtbot, window)
    locked = page.rows["locked"]
    assert locked.gated.isVisibleTo(page) and "log in" in locked.gated.text()
    locked.download.click()
    qtbot.waitUntil(lambda: locked.error.isVisibleTo(page), timeout=20_000)
    assert "gated" in locked.error.text() and "\n" not in locked.error.text()
    assert locked.state.text() == "not downloaded"


def test_use_a_folder_names_what_is_missing_or_adds_it_to_the_page_and_the_picker(qtbot, make_window, tmp_path):
    window = make_window()
    page = open_page(qtbot, window)
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    page.use_path(empty)
    qtbot.waitUntil(lambda: str(empty) in page.status.text() and "Checking" not in page.status.text(), timeout=10_000)
    assert "model_index.json" in page.status.text() and "\n" not in page.status.text()

    folder = save_tiny_pipeline("wan2.2-ti2v", tmp_path / "my-wan")
    page.use_path(folder)
    qtbot.waitUntil(lambda: page.status.text().startswith("Added "), timeout=20_000)
    model = str(folder.resolve())
    qtbot.waitUntil(lambda: model in page.rows, timeout=10_000)
    assert page.rows[model].state.text() == "local folder" and not page.rows[model].delete.isVisibleTo(page)
    qtbot.waitUntil(lambda: window.controls.model.findData(model) >= 0, timeout=10_000)
