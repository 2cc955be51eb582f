"""`i2v-desktop` itself: the window opens with the photos it was given, and says why when it cannot."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from i2v_desktop import app
from i2v_desktop.ui.state import Status
from i2v_desktop.ui.window import MainWindow


def test_main_opens_the_window_with_the_photos_given(qapp, qtbot, samples, monkeypatch):
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # main installs its own
    handlers = {}
    monkeypatch.setattr(app.signal, "signal", lambda number, handler: handlers.__setitem__(number, handler))
    seen = {}

    def event_loop(self) -> int:
        # Stands in for app.exec(): a finished exec() leaves the test session's application closing.
        (window,) = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        qtbot.waitUntil(lambda: window.state.photos and all(p.status == Status.READY for p in window.state.photos),
                        timeout=10_000)
        seen["photos"] = sorted(p.name for p in window.state.photos)
        sys.excepthook(RuntimeError, RuntimeError("boom"), None)  # a bug in a slot reaches the banner
        seen["banner"] = window.banner.text.text()
        window.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", event_loop)
    assert app.main(["i2v-desktop", str(samples / "coffee.jpg"), str(samples / "rocket.jpg")]) == 0
    assert seen["photos"] == ["coffee.jpg", "rocket.jpg"]
    assert "Internal error: RuntimeError: boom" in seen["banner"]
    assert set(handlers) == {app.signal.SIGINT, app.signal.SIGTERM}  # Ctrl+C closes the window
    qapp.setStyleSheet("")


def test_no_display_is_one_line_not_a_crash(monkeypatch, capsys):
    monkeypatch.setattr(sys, "platform", "linux")
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    assert app.main(["i2v-desktop"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("i2v-desktop: no display") and "\n" not in err


def test_qt_calls_cannot_wear_out_none_true_or_false():
    """PySide6 6.12.0 on Python < 3.12 drops a reference to None per void call and to True per emit;
    the ui package must keep a long session from aborting."""
    import subprocess

    code = (
        "import i2v_desktop.ui\n"
        "from PySide6.QtCore import QObject, Signal\n"
        "class O(QObject):\n    changed = Signal(bool)\n"
        "o = O(); o.changed.connect(lambda on: None)\n"
        "for _ in range(200_000):\n    o.setObjectName('x'); o.changed.emit(False)\n"
        "print('survived')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "survived" in result.stdout, result.stderr[-500:]


def test_themes_follow_light_and_dark(qapp):
    from PySide6.QtGui import QPalette

    from i2v_desktop.ui.theme import apply_palette

    before = qapp.palette()
    try:
        apply_palette(qapp, dark=True)
        assert qapp.palette().color(QPalette.ColorRole.Window).lightness() < 60
        apply_palette(qapp, dark=False)
        assert qapp.palette().color(QPalette.ColorRole.Window).lightness() > 200
    finally:
        qapp.setPalette(before)
        qapp.setStyleSheet("")
