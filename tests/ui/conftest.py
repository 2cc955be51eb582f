"""The real window, driven offscreen, on a Studio made from the same code the app runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from i2v_desktop.app import keep_singletons_alive, make_studio
from i2v_desktop.ui.window import MainWindow
from i2v_desktop.ui.background import running_threads


@pytest.fixture(autouse=True, scope="session")
def singletons_kept_alive():
    """What app.main does before it makes the window: PySide6 6.12 on Python < 3.12 drops references to
    None and True on every call and emit (PYSIDE-3474), and a session of window tests would abort."""
    keep_singletons_alive()


@pytest.fixture(autouse=True)
def no_leftover_threads(qapp):
    """A test that leaves one of our threads running fails: a window must end what it starts."""
    yield
    qapp.processEvents()
    assert running_threads() == [], f"threads left running: {running_threads()}"


@pytest.fixture
def settings_path(tmp_path) -> Path:
    return tmp_path / "config" / "settings.ini"


@pytest.fixture
def make_window(qtbot, settings_path):
    """make_window(studio=None) → a shown MainWindow; closed (render cancelled, threads joined) after the test."""
    windows = []

    def make(studio=None, **kwargs) -> MainWindow:
        window = MainWindow(studio or make_studio(), QSettings(str(settings_path), QSettings.Format.IniFormat),
                            probe=kwargs.pop("probe", False), **kwargs)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
