"""The export dialog and what follows it, in the real window: formats in the order creators use
them, several at once, example names from the clip itself, formats remembered; the folder that
cannot be opened is said; Ctrl+Q still quits after an export; a GIF made smaller says so."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox
from test_window import QUICK, add_ready, generate

from i2v_desktop.export.social import USER_FOLDER, builtin_export_preset_dir
from i2v_desktop.storage.paths import config_dir
from i2v_desktop.ui.export import ExportDialog

ONE = {**QUICK, "variants": 1}



def star(qtbot, strip, clip) -> None:
    """A click on a card's star, as the user picks it."""
    qtbot.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton, pos=strip.star_rect(clip.id).center())
    assert strip.is_starred(clip.id)

def window_with_clips(qtbot, make_window, samples, **choices):
    window = make_window()
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.choose(**{**ONE, **choices})
    generate(qtbot, window)
    return window


def through_the_dialog(monkeypatch, window, answer) -> list[ExportDialog]:
    """Open the export dialog as Ctrl+E does; `answer(dialog)` fills it in and returns its code."""
    shown = []

    def run(dialog: ExportDialog) -> int:
        shown.append(dialog)
        return answer(dialog)

    monkeypatch.setattr(ExportDialog, "exec", run)
    window.export_clips()
    return shown


def test_formats_come_reels_tiktok_shorts_first_and_the_example_is_the_clips_own(qtbot, make_window, samples,
                                                                                 monkeypatch, tmp_path):
    window = window_with_clips(qtbot, make_window, samples, preset="wind")
    (dialog,) = through_the_dialog(monkeypatch, window, lambda dialog: ExportDialog.DialogCode.Rejected)
    order = list(dialog.formats)
    assert order[:3] == ["reels", "tiktok", "shorts"]
    assert sorted(order) == sorted(choice.id for choice in window.studio.export_choices())
    assert [pid for pid, box in dialog.formats.items() if box.isChecked()] == ["reels"]  # the first time
    dialog.template.setText("{photo}_{motion}_{format}")
    dialog.formats["gif"].setChecked(True)
    assert dialog.example.text() == "e.g. coffee_wind_reels.mp4, coffee_wind_gif.gif"
    for box in dialog.formats.values():
        box.setChecked(False)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled() and "Check at least one format." in dialog.example.text()


def test_several_formats_at_once_and_they_are_remembered(qtbot, make_window, samples, monkeypatch, tmp_path):
    window = window_with_clips(qtbot, make_window, samples, variants=2)
    for clip in window.variants.entries():
        star(qtbot, window.variants, clip)
    out = tmp_path / "out"

    def choose(dialog: ExportDialog) -> int:
        dialog.folder.setText(str(out))
        dialog.template.setText("{photo}_{seed}_{format}")
        dialog.formats["square"].setChecked(True)
        dialog.formats["webm"].setChecked(True)
        dialog.formats["reels"].setChecked(False)
        dialog.open_folder.setChecked(False)
        assert dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).text() == "Export 4 files"
        return ExportDialog.DialogCode.Accepted

    through_the_dialog(monkeypatch, window, choose)
    qtbot.waitUntil(lambda: not window.exporter.busy, timeout=120_000)
    seeds = [clip.seed for clip in window.variants.entries()]
    assert sorted(window.last_export) == sorted(out / f"coffee_{seed}_{pid}.{ext}" for seed in seeds
                                                for pid, ext in (("square", "mp4"), ("webm", "webm")))
    assert all(path.is_file() for path in window.last_export)
    assert window.export_status.text() == f"Exported 4 files to {out}"

    (again,) = through_the_dialog(monkeypatch, window, lambda dialog: ExportDialog.DialogCode.Rejected)
    assert [pid for pid, box in again.formats.items() if box.isChecked()] == ["square", "webm"]


def test_a_folder_that_cannot_be_opened_is_said_in_one_line(qtbot, make_window, samples, tmp_path):
    window = window_with_clips(qtbot, make_window, samples)
    out = tmp_path / "out"
    with qtbot.waitSignal(window.exporter.message, timeout=5_000):
        window.exporter.open_folder(out)  # this platform has no file manager: openUrl says False
    assert window.banner.isVisible()
    assert window.banner.text.text() == f"{out}: cannot be opened, no file manager is set up to show folders"


def test_ctrl_q_quits_after_an_export(qtbot, make_window, samples, tmp_path):
    window = window_with_clips(qtbot, make_window, samples)
    star(qtbot, window.variants, window.variants.entries()[0])

    def accept() -> None:  # the real modal dialog, answered as a user would
        dialog = QApplication.activeModalWidget()
        dialog.folder.setText(str(tmp_path / "out"))
        dialog.open_folder.setChecked(False)
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()

    QTimer.singleShot(200, accept)
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.exporter.busy, timeout=60_000)
    assert window.last_export and QApplication.activeWindow() is window
    qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5_000)


def test_a_gif_made_smaller_for_its_cap_says_so(qtbot, make_window, samples, monkeypatch, tmp_path):
    gif = json.loads((builtin_export_preset_dir() / "gif.json").read_text(encoding="utf-8"))
    gif["limits"]["max_size"] = "500k"  # a 1 s 540 px GIF is well over it
    (config_dir() / USER_FOLDER).mkdir(parents=True, exist_ok=True)
    (config_dir() / USER_FOLDER / "gif.json").write_text(json.dumps(gif), encoding="utf-8")
    window = window_with_clips(qtbot, make_window, samples)
    window.settings.setValue("export/formats", "gif")
    window.settings.setValue("export/folder", str(tmp_path / "out"))
    window.settings.setValue("export/open_folder", "false")
    through_the_dialog(monkeypatch, window, lambda dialog: ExportDialog.DialogCode.Accepted)
    qtbot.waitUntil(lambda: not window.exporter.busy, timeout=60_000)
    (path,) = window.last_export
    assert path.suffix == ".gif" and path.stat().st_size <= 500_000
    banner = window.banner.text.text()
    assert f"{path}: made " in banner and "GIF (540 px)'s 500 kB cap" in banner
