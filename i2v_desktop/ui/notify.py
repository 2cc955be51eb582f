"""Being told how the queue goes while the window is in the background.

While renders run and the window is not the active one, its title ("[3/8] i2v desktop": the
third render of eight) and its taskbar entry (the Unity launcher API, a D-Bus signal that KDE's
task manager, Ubuntu's dock, Plank and others read) show the progress. When the queue empties,
a desktop notification (through the system tray where there is one, else an alert on the
window's taskbar entry) says what came of it. Nothing of this while the window is active: the
window shows it all already. Each part does nothing where the desktop has none of it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Slot
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication, QStyle, QSystemTrayIcon, QWidget

from ..core.events import StepProgress
from .panel import plural
from .worker import Job, JobQueue

LAUNCHER_INTERFACE = "com.canonical.Unity.LauncherEntry"
MESSAGE_MS = 10_000


def session_bus() -> Any:
    """The D-Bus session bus, or None (no QtDBus in this build, or no bus on this desktop)."""
    try:
        from PySide6.QtDBus import QDBusConnection
    except ImportError:
        return None
    bus = QDBusConnection.sessionBus()
    return bus if bus.isConnected() else None


class Launcher:
    """The app's taskbar entry: a progress bar and an urgent mark, sent as LauncherEntry.Update
    signals on `bus` (None: sends nothing)."""

    def __init__(self, bus: Any) -> None:
        self.bus = bus

    def update(self, progress: float | None, urgent: bool = False) -> None:
        if self.bus is None:
            return
        from PySide6.QtDBus import QDBusMessage

        message = QDBusMessage.createSignal("/org/i2v_desktop/launcher", LAUNCHER_INTERFACE, "Update")
        uri = f"application://{QGuiApplication.desktopFileName() or 'i2v-desktop'}.desktop"
        message.setArguments([uri, {"progress": float(progress or 0.0), "progress-visible": progress is not None,
                                    "urgent": urgent}])
        self.bus.send(message)


def summary(jobs: list[Job]) -> str:
    """What a run of the queue made, in one line."""
    made = sum(job.made for job in jobs)
    photos = len({job.photo for job in jobs if job.made})
    text = f"{plural(made, 'clip')} ready from {plural(photos, 'photo')}" if made else "No clips made"
    failed = sum(1 for job in jobs if job.failures and not job.cancel.cancelled)
    cancelled = sum(1 for job in jobs if job.cancel.cancelled and not job.held)
    extras = ([f"{plural(failed, 'render')} failed"] if failed else []) + (
        [f"{cancelled} cancelled"] if cancelled else [])
    return "; ".join([text, *extras])


class Notifier(QObject):
    """Follows the queue for `window`; `told` holds the last line it told the desktop."""

    def __init__(self, window: QWidget, queue: JobQueue) -> None:
        super().__init__(window)
        self.window, self.queue = window, queue
        self.title = window.windowTitle()
        self.launcher = Launcher(session_bus())
        self.told = ""
        self._done: list[Job] = []  # the jobs finished in this run of the queue
        self._fraction = 0.0  # of the running job
        self._progress: float | None = None  # as last sent to the taskbar
        self._tray: QSystemTrayIcon | None = None
        queue.started.connect(self._on_started)
        queue.event.connect(self._on_event)
        queue.finished.connect(self._on_finished)
        queue.changed.connect(self._update)
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self.window and event.type() == QEvent.Type.ActivationChange:
            if self.window.isActiveWindow():
                self._back()
            else:
                self._update()  # the progress shows outside from the moment the user looks away
        return False

    @Slot(object)
    def _on_started(self, job: Job) -> None:
        self._fraction = 0.0
        self._update()

    @Slot(object, object)
    def _on_event(self, job: Job, event: object) -> None:
        if isinstance(event, StepProgress) and event.total:
            self._fraction = event.step / event.total
            self._update()

    @Slot(object, str)
    def _on_finished(self, job: Job, reason: str) -> None:
        self._done.append(job)
        self._fraction = 0.0
        if len(self.queue) == 0:  # the last one: the run is over
            done, self._done = self._done, []
            if not self.window.isActiveWindow():
                self._tell(summary(done))
        self._update()

    def _update(self) -> None:
        """The progress in the title and on the taskbar while the window is in the background."""
        if self.told:
            return  # the last run's outcome stays until the user comes back
        total = len(self._done) + len(self.queue)
        shown = bool(len(self.queue)) and not self.window.isActiveWindow()
        number = min(len(self._done) + 1, total)
        self.window.setWindowTitle(f"[{number}/{total}] {self.title}" if shown else self.title)
        progress = round((len(self._done) + self._fraction) / total, 2) if shown else None
        if progress != self._progress:
            self._progress = progress
            self.launcher.update(progress)

    def _tell(self, text: str) -> None:
        self.told = text
        self.window.setWindowTitle(f"{text} · {self.title}")
        self._progress = None
        self.launcher.update(None, urgent=True)
        if QSystemTrayIcon.isSystemTrayAvailable():
            if self._tray is None:
                icon = self.window.windowIcon()
                if icon.isNull():
                    icon = self.window.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay)
                self._tray = QSystemTrayIcon(QIcon(icon), self)
                self._tray.setToolTip(self.title)
                self._tray.messageClicked.connect(self._raise)
                self._tray.activated.connect(self._raise)
            self._tray.show()
            self._tray.showMessage(self.title, text, QSystemTrayIcon.MessageIcon.Information, MESSAGE_MS)
        else:
            QApplication.alert(self.window)

    def _raise(self, *_: Any) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()

    def _back(self) -> None:
        """The window is active again: what was shown outside it goes."""
        if self.told:
            self.told = ""
            self.launcher.update(None)
        if self._tray is not None:
            self._tray.hide()
        self._update()
