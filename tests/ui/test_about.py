"""Help > About on the real window: name, version, what the app does, every model's licence from the
registry, and the third-party notices behind a button."""

from __future__ import annotations

import tomllib
from pathlib import Path

from PySide6.QtCore import Qt

from i2v_desktop import __version__
from i2v_desktop.ui import about
from i2v_desktop.ui.about import AboutDialog, NoticesDialog

REPO = Path(__file__).resolve().parents[2]


def open_about(qtbot, window) -> AboutDialog:
    help_menu = next(top.menu() for top in window.menuBar().actions() if top.text() == "&Help")
    item = next(action for action in help_menu.actions() if action.text() == "&About i2v desktop")
    assert item is window.about_action
    item.trigger()
    dialog = window.findChild(AboutDialog)
    assert dialog is not None
    qtbot.waitExposed(dialog)
    return dialog


def test_about_shows_the_version_the_description_and_each_models_licence(qtbot, make_window):
    window = make_window()
    dialog = open_about(qtbot, window)
    assert dialog.isVisible() and dialog.windowTitle() == "About i2v desktop"
    assert dialog.version.text() == f"Version {__version__}"
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert dialog.description.text() == project["description"]
    rows = [(dialog.models.topLevelItem(i).text(0), dialog.models.topLevelItem(i).text(1))
            for i in range(dialog.models.topLevelItemCount())]
    choices = window.studio.models(look=False)
    assert rows == [(choice.name, choice.licence) for choice in choices] and len(rows) > 1
    assert {"Apache-2.0", "Stability AI Community License"} <= {licence for _, licence in rows}
    dialog.close()


def test_the_notices_button_shows_the_libraries_and_their_licences(qtbot, make_window):
    window = make_window()
    dialog = open_about(qtbot, window)
    qtbot.mouseClick(dialog.notices_button, Qt.MouseButton.LeftButton)
    notices = dialog.findChild(NoticesDialog)
    assert notices is not None
    qtbot.waitExposed(notices)
    text = notices.text.toPlainText()
    assert text.startswith("Third-party notices")
    for library in ("torch", "diffusers", "pyside6-essentials", "numpy"):
        assert library in text
    assert "LGPL-3.0-only" in text  # PySide6's licence, the one a user most needs to see
    notices.close()
    dialog.close()


def test_a_missing_notices_file_is_named_in_one_line(qtbot, tmp_path, monkeypatch):
    missing = tmp_path / "THIRD_PARTY_NOTICES.md"
    monkeypatch.setattr(about, "resource_path", lambda *parts: tmp_path.joinpath(*parts))
    notices = NoticesDialog()
    qtbot.addWidget(notices)
    text = notices.text.toPlainText()
    assert "\n" not in text and text.startswith(f"{missing}: cannot be read (no such file or folder)")  # errors.os_reason
