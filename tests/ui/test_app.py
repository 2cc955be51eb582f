"""`i2v-desktop` itself: the window opens with the photos it was given, and says why when it cannot."""

from __future__ import annotations

import subprocess
import sys

import PySide6
import pytest
from PySide6.QtGui import QIcon
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
        seen["icon"] = window.windowIcon().availableSizes()
        window.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", event_loop)
    assert app.main(["i2v-desktop", str(samples / "coffee.jpg"), str(samples / "rocket.jpg")]) == 0
    assert seen["photos"] == ["coffee.jpg", "rocket.jpg"]
    assert "Internal error: RuntimeError: boom" in seen["banner"]
    assert set(handlers) == {app.signal.SIGINT, app.signal.SIGTERM}  # Ctrl+C closes the window
    assert len(seen["icon"]) == 8 and qapp.desktopFileName() == app.APP_ID  # packaging/linux's entry
    qapp.setStyleSheet("")
    qapp.setDesktopFileName("")  # what main set on the session's application is undone for the next tests
    qapp.setWindowIcon(QIcon())


def test_no_display_is_one_line_not_a_crash(monkeypatch, capsys):
    monkeypatch.setattr(sys, "platform", "linux")
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    assert app.main(["i2v-desktop"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("i2v-desktop: no display") and "\n" not in err


# Qt calls and emits enough to use up the reference counts of None and True where PySide6 leaks them.
WEAR = (
    "from PySide6.QtCore import QObject, Signal\n"
    "class O(QObject):\n    changed = Signal(bool)\n"
    "o = O(); o.changed.connect(lambda on: None)\n"
    "for _ in range(200_000):\n    o.setObjectName('x'); o.changed.emit(False)\n"
    "print('survived')\n"
)


def run_python(code: str) -> subprocess.CompletedProcess:
    # No core file from an interpreter that aborts on purpose (resource is POSIX only).
    no_core = ("try:\n    import resource; resource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n"
               "except ImportError:\n    pass\n")
    return subprocess.run([sys.executable, "-c", no_core + code], capture_output=True, text=True, timeout=120)


def test_qt_calls_cannot_wear_out_none_true_or_false():
    """PySide6 6.12 on Python < 3.12 drops a reference to None per void call and to True per emit;
    what main() runs before the window keeps a long session from aborting."""
    result = run_python("from i2v_desktop.app import keep_singletons_alive\nkeep_singletons_alive()\n" + WEAR)
    assert result.returncode == 0 and "survived" in result.stdout, result.stderr[-500:]


@pytest.mark.skipif(not app.pyside_leaks_singletons(PySide6.__version__, sys.version_info),
                    reason="this PySide6 and Python do not have the leak")
def test_the_leak_is_real_where_the_workaround_applies():
    """Without the workaround the same calls abort the interpreter: the version check is not too wide."""
    result = run_python(WEAR)
    assert result.returncode != 0 and "dealloc" in result.stderr, (result.returncode, result.stderr[-500:])


def test_importing_the_ui_changes_nothing_process_wide():
    code = (
        "import sys\n"
        "before = [sys.getrefcount(v) for v in (None, True, False)]\n"
        "import i2v_desktop.ui, i2v_desktop.ui.window\n"
        "print(max(abs(sys.getrefcount(v) - b) for v, b in zip((None, True, False), before)))\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr[-500:]
    assert int(result.stdout) < 1 << 20  # the modules' own references, not a raised count


def test_the_workaround_is_limited_to_the_affected_versions():
    leaks = app.pyside_leaks_singletons
    assert leaks("6.12.0", (3, 11, 7)) and leaks("6.12.0", (3, 10, 0)) and leaks("6.12.1", (3, 11))
    assert not leaks("6.12.0", (3, 12, 0)) and not leaks("6.12.0", (3, 13, 1))
    assert not leaks("6.11.2", (3, 11, 7)) and not leaks("6.13.0", (3, 11, 7))


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


def test_file_open_events_reach_the_window_as_photos(qapp, tmp_path):
    """macOS's "Open with" and drops on the Dock icon arrive as file-open events."""
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtGui import QFileOpenEvent

    from i2v_desktop.app import forward_file_opens

    received: list[list[str]] = []
    opens = forward_file_opens(qapp, received.append)
    try:
        photo = str(tmp_path / "photo.jpg")
        QCoreApplication.sendEvent(qapp, QFileOpenEvent(photo))
        QCoreApplication.sendEvent(qapp, QEvent(QEvent.Type.FileOpen))  # no file: nothing to add
        assert received == [[photo]]
    finally:
        qapp.removeEventFilter(opens)
        opens.deleteLater()
