"""The desktop app's entry point (`i2v-desktop`): wires paths, settings, engine choice and window.

Nothing here imports torch: the window is on screen first, and the engine thread imports it the
first time a diffusion model is used.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Callable, Sequence

log = logging.getLogger("i2v_desktop")
STARTED = time.perf_counter()
# The reverse-DNS id of the desktop entry and AppStream metainfo (packaging/linux/); Qt hands it to
# the desktop as the Wayland app id and on X11, so the running window is matched to its entry.
APP_ID = "io.github.i2v_desktop.I2VDesktop"


def open_studio(process: bool = False, read_only: bool = False):  # -> (studio.local.LocalStudio, list[str])
    """The engine side of the app, from the user's folders (presets, models, history), and its
    start-up notices: one line for each user file skipped, set aside or rebuilt (logged here; the
    window shows them once).

    `process`: render in a worker process (the window's choice: a crash there costs one job, not
    the window, and rendering takes no time from the event loop) instead of on the calling thread.
    `read_only`: another process owns the data folder; the history is read, never written."""
    from .studio.local import user_studio

    studio, problems = user_studio(process=process, read_only=read_only)
    for line in problems:
        log.warning("%s", line)
    return studio, [*problems, *studio.prompt_problems]  # the prompt library logs its own


def make_studio(process: bool = False, read_only: bool = False):  # -> studio.local.LocalStudio
    """open_studio's studio alone (scripts and tests that show no notices)."""
    return open_studio(process, read_only)[0]


def closable_from_terminal(owner, close: Callable[[], object]) -> None:  # noqa: ANN001 - QObject, late import
    """Ctrl+C in the terminal (SIGINT) or a polite kill (SIGTERM) calls `close` from the event loop.

    Python runs a signal handler only between two of its own instructions, and Qt's event loop
    (a window's, or a modal dialog's) waits in C++: a timer lets the interpreter run now and then,
    so the handler runs within a quarter of a second. `close` is queued rather than called from
    the handler: a signal landing before exec() runs would otherwise quit a loop not yet running,
    and exec() would then wait forever. The timer lives as long as `owner` (the window or dialog)."""
    from PySide6.QtCore import QTimer

    def on_signal(*_: object) -> None:
        QTimer.singleShot(0, close)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    wake = QTimer(owner)
    wake.timeout.connect(lambda: None)
    wake.start(250)


def settings_file() -> Path:
    from .storage.paths import config_dir

    return config_dir() / "settings.ini"


def icon_folder() -> Path:
    """resources/icons, wherever the app's data files are (core/resources.py)."""
    from .core.resources import resource_path

    return resource_path("icons")


def app_icon():  # -> QIcon
    """The app's icon at every rendered size (Qt picks the nearest for the title bar, taskbar, dock)."""
    from PySide6.QtGui import QIcon

    icon = QIcon()
    for png in sorted(icon_folder().glob("i2v-desktop-*.png")):
        icon.addFile(str(png))
    return icon


def display_problem() -> str | None:
    """Why Qt could not open a window here, in a line the user can act on (Qt itself would abort)."""
    import ctypes.util
    import os

    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        return "no display to open a window on (neither DISPLAY nor WAYLAND_DISPLAY is set); " \
               "use the `i2v` command line instead"
    if not os.environ.get("WAYLAND_DISPLAY") and ctypes.util.find_library("xcb-cursor") is None:
        return "Qt needs the libxcb-cursor0 system library to open a window on X11; " \
               "install it (e.g. `sudo apt install libxcb-cursor0`) and start again"
    return None


def pyside_leaks_singletons(pyside_version: str, python: tuple[int, ...]) -> bool:
    """Whether this PySide6 and this Python have the reference leak that keep_singletons_alive() works around.

    Seen here with PySide6 6.12.0 on Python 3.11 (and 3.10). Other projects quote Qt's answer to
    PYSIDE-3474 as: a consequence of building with Python 3.12's headers, kept for the whole 6.12
    series; so 6.12.x is covered, and a later series only once it is seen there too.
    """
    major_minor = tuple(int(part) for part in pyside_version.split(".")[:2])
    return tuple(python[:2]) < (3, 12) and major_minor == (6, 12)


def keep_singletons_alive() -> bool:
    """Keep PySide6 6.12 on Python < 3.12 from wearing out the reference counts of None, True, False.

    That PySide6's stable-ABI wheel, on Python 3.10/3.11, drops a reference it never took on the
    values its calls return: None for every method that returns nothing, True for every signal
    emitted. A window makes thousands of such calls a second, and Python aborts ("none_dealloc",
    "bool_dealloc") once a count reaches zero. Python 3.12 made these objects immortal.
    Upstream: PYSIDE-3474, https://qt-project.atlassian.net/browse/PYSIDE-3474 (the number and link
    as other projects hit by the leak cite them; the report itself could not be read from here).

    Where the versions match and a probe sees the leak, the three objects are given counts no
    session can use up. That changes the whole interpreter, so it is done here, once, by main()
    before the window is made (and by the UI tests' conftest), never on import. Calling it again
    changes nothing. Returns whether the counts are raised.
    """
    import ctypes

    import PySide6

    if not pyside_leaks_singletons(PySide6.__version__, sys.version_info):
        return False
    reserve = 1 << 40
    if sys.getrefcount(None) > reserve // 2:  # already raised in this process
        return True
    from PySide6.QtCore import QObject

    probe, before = QObject(), sys.getrefcount(None)
    for _ in range(8):
        probe.setObjectName("probe")
    if sys.getrefcount(None) >= before:  # a build of 6.12 without the leak
        return False
    for value in (None, True, False):
        ctypes.c_ssize_t.from_address(id(value)).value += reserve
    return True


def main(argv: Sequence[str] | None = None) -> int:
    import multiprocessing

    # A frozen build starts the render process from this same executable: let it be that process.
    multiprocessing.freeze_support()
    argv = list(sys.argv if argv is None else argv)
    if "--version" in argv[1:]:
        from . import __version__

        print(f"i2v_desktop {__version__}")
        return 0
    if {"-h", "--help"} & set(argv[1:]):
        print("usage: i2v-desktop [PHOTO_OR_FOLDER_OR_CLIP...]\n\nOpens the desktop app with these photos in "
              "its batch (an i2v clip brings back its settings). For batches without a window: i2v --help")
        return 0
    if (problem := display_problem()) is not None:
        print(f"i2v-desktop: {problem}", file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    keep_singletons_alive()

    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication(argv)
    app.setApplicationName("i2v desktop")
    app.setApplicationDisplayName("i2v desktop")
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())
    # The Start menu shortcut's id (packaging/windows): one taskbar button, pinned or not.
    if sys.platform == "win32":
        import ctypes

        ctypes.windll.shell32.SetCurrentProcessExplicitAppUserModelID(APP_ID)
    from .storage.paths import data_dir
    from .ui.instance import Instance, Role

    photos = [Path(arg) for arg in argv[1:] if not arg.startswith("-")]
    instance = Instance(data_dir())
    role = instance.claim([str(path.resolve()) for path in photos])
    if role == Role.HANDED_OVER:
        log.info("i2v desktop is already open on %s: it takes the photos and comes to the front", data_dir())
        return 0
    try:
        return run_window(app, photos, instance.reason if role == Role.READ_ONLY else "", instance)
    finally:
        instance.release()


def forward_file_opens(app, receive: Callable[[list[str]], object]):  # noqa: ANN001, ANN201 - Qt types, imported late
    """Hands each file-open event the app gets to `receive` as a one-path list; returns the filter,
    which the caller keeps alive."""
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtGui import QFileOpenEvent

    class FileOpens(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
            if isinstance(event, QFileOpenEvent) and event.file():
                receive([event.file()])
                return True
            return False

    opens = FileOpens(app)
    app.installEventFilter(opens)
    return opens


def run_window(app, photos: list[Path], read_only: str, instance) -> int:  # noqa: ANN001 - Qt types, imported late
    """Make the window (read-only when `read_only` says why) and run the app until it closes."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMessageBox

    from .core.errors import I2VError
    from .ui.theme import apply_theme

    apply_theme(app)
    if read_only:
        log.warning("%s", read_only)
    try:
        studio, notices = open_studio(process=not read_only, read_only=bool(read_only))
    except I2VError as exc:  # a broken user file, or a history from a newer version
        # Said on stderr too: the app may have been started from a terminal with no display in view.
        print(f"i2v-desktop: {exc}", file=sys.stderr, flush=True)
        box = QMessageBox(QMessageBox.Icon.Critical, "i2v desktop cannot start", f"{exc}")
        closable_from_terminal(box, box.reject)
        box.exec()
        return 1
    from .ui.window import MainWindow

    settings = QSettings(str(settings_file()), QSettings.Format.IniFormat)
    window = MainWindow(studio, settings, read_only=read_only, notices=notices)

    def come_forward(paths: list[str]) -> None:
        """Another start of the app on this data folder: its photos join the batch, the window shows."""
        if window.isMinimized():
            window.showNormal()
        window.raise_()
        window.activateWindow()
        window.add_paths([Path(path) for path in paths])

    instance.photosReceived.connect(come_forward)
    # macOS hands the photos of "Open with" (and of a drop on the Dock icon) to the running app as
    # file-open events, not as arguments.
    app._file_opens = forward_file_opens(app, come_forward)

    def report(kind: type[BaseException], exc: BaseException, tb: object) -> None:
        # A bug in a slot must reach the user, not only the console; the log keeps the traceback.
        log.error("unexpected error\n%s", "".join(traceback.format_exception(kind, exc, tb)))  # type: ignore[arg-type]
        window.banner.show_message(f"Internal error: {type(exc).__name__}: {exc} (details in the log)")

    sys.excepthook = report

    # Ctrl+C or a polite kill closes the window as its close button would (render cancelled,
    # settings saved).
    closable_from_terminal(window, lambda: (window.close(), app.quit()))
    window.show()
    if not read_only:
        window.first_steps.offer()  # the first time only; tests and scripts make windows without them
    log.info("window shown %.2f s after start", time.perf_counter() - STARTED)
    window.add_paths(photos)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
