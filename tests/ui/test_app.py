"""`i2v-desktop` itself: the window opens with the photos it was given, and says why when it cannot."""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from i2v_desktop import app
from i2v_desktop.ui.state import Status
from i2v_desktop.ui.window import MainWindow


def test_main_opens_the_window_with_the_photos_given(qapp, samples, monkeypatch):
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # main installs its own
    seen = {}

    def check_then_close() -> None:
        (window,) = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if not all(p.status == Status.READY for p in window.state.photos):
            QTimer.singleShot(50, check_then_close)
            return
        seen["photos"] = sorted(p.name for p in window.state.photos)
        seen["title"] = window.windowTitle()
        window.banner.show_message("x")  # the excepthook reports into the banner
        sys.excepthook(RuntimeError, RuntimeError("boom"), None)
        seen["banner"] = window.banner.text.text()
        window.close()
        qapp.quit()

    QTimer.singleShot(100, check_then_close)
    assert app.main(["i2v-desktop", str(samples / "coffee.jpg"), str(samples / "rocket.jpg")]) == 0
    assert seen["photos"] == ["coffee.jpg", "rocket.jpg"]
    assert "Internal error: RuntimeError: boom" in seen["banner"]


def test_no_display_is_one_line_not_a_crash(monkeypatch, capsys):
    monkeypatch.setattr(sys, "platform", "linux")
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    assert app.main(["i2v-desktop"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("i2v-desktop: no display") and "\n" not in err
