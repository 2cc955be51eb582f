"""The main window: photos in, clips watched as they form, picks exported.

It composes the panels (photos and queue on the left, the viewer in the middle, clip settings on
the right, the export action in the status bar), all bound to one AppState, and holds what
belongs to the whole window: the menus and shortcuts (built by menus.py), the message banner,
dropping files anywhere on it, its layout from one session to the next, and closing. The window talks to the
engines only through the `Studio` seam (core.studio) that app.py hands it: renders through the job
queue (engine thread), slow reads and exports through `Background` (short tasks).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from PySide6.QtCore import QByteArray, QElapsedTimer, QMargins, QPoint, QRect, QSettings, QSize, Qt, QTimer, Slot
from PySide6.QtGui import (
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
    QShowEvent,
)
from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter, QVBoxLayout, QWidget

from ..core.studio import Studio
from .banner import Banner
from .batch import BatchDialog
from .batchplan import is_manifest
from .drop import DropOverlay
from .exporting import Exporter
from .menus import build_menus
from .modelsdesk import ModelDesk
from .notify import Notifier
from .panel import plural
from .photos import PhotosPanel
from .player import FramePlayer
from .settings import SettingsPanel
from .shortcuts import ShortcutsSheet, shortcut_groups
from .state import AppState, Choices
from .stored import bad_value, check_settings, known_to
from .tour import FirstSteps
from .viewer import ViewerPanel
from .background import Background
from .worker import JobQueue


DEFAULT_SIZE = QSize(1280, 800)
# A window manager's frame before the window is shown and the real one known: a title bar.
FRAME_GUESS = QMargins(0, 32, 0, 0)


def fitted(inside: QRect, available: QRect, frame: QMargins) -> QRect:
    """`inside` (a window's geometry, frame excluded) shrunk and moved so that the window with its
    `frame` lies within `available` (a screen's available geometry)."""
    room = available.marginsRemoved(frame)
    size = inside.size().boundedTo(room.size())
    # Where even the smallest window is larger than the screen, its top left corner stays on it.
    x = max(min(inside.x(), room.right() + 1 - size.width()), room.left())
    y = max(min(inside.y(), room.bottom() + 1 - size.height()), room.top())
    return QRect(QPoint(x, y), size)


def _forwarded(path: str) -> property:
    """A panel's widget or action under the window's own name, for scripts and tests."""

    def get(window: MainWindow) -> Any:
        found: Any = window
        for name in path.split("."):
            found = getattr(found, name)
        return found

    return property(get, doc=f"self.{path}")


STOP_WINDOW_MS = 1500  # a second Esc this soon after the first stops the whole queue


class MainWindow(QMainWindow):
    def __init__(self, studio: Studio, settings: QSettings, *, probe: bool = True, read_only: str = "",
                 notices: Sequence[str] = ()) -> None:
        """`read_only`: why this window must not render or write (another instance has the data
        folder); "" for a normal window. `notices`: what the app set aside or repaired as it
        started (a damaged prompt library, a rebuilt history), one line each, shown once."""
        super().__init__()
        self.studio = studio
        self.settings = settings
        self.read_only = read_only
        self.setWindowTitle("i2v desktop" + (" (read-only)" if read_only else ""))
        self.setAcceptDrops(True)
        self.state = AppState(self)
        self.queue = JobQueue(studio, self, persist=not read_only)
        self.background = Background(self)
        self.first_steps = FirstSteps(self, settings, remember=not read_only)  # app.py offers them
        self.batch_dialog: BatchDialog | None = None  # made when first opened

        # Before any panel reads a value: one that makes no sense is dropped, and said below.
        known = known_to(studio)
        self.notices = [*notices, *check_settings(settings, known, Choices(), remove=not read_only)]
        self._build()
        self.photos_panel.read_only = read_only
        self.state.restore(settings, known)
        self.settings_panel.show_models()
        self._restore_layout()
        if probe:
            self.queue.probe()
        self._show_notices()  # before the left queue's message, whose buttons go with the latest line
        self._offer_left_queue()

    def _build(self) -> None:
        state, studio, queue, background = self.state, self.studio, self.queue, self.background
        self.banner = Banner()
        self.drop_overlay = DropOverlay(self)
        self.photos_panel = PhotosPanel(state, studio, queue, background, self.settings)
        self.viewer = ViewerPanel(state, studio, queue, background)
        self.settings_panel = SettingsPanel(state, studio, queue, background, self.settings)
        self.exporter = Exporter(state, studio, background, self.settings, self)
        self.models = ModelDesk(self, studio, background, self.settings_panel, self.settings,
                                remember=not self.read_only)
        for source in (self.photos_panel, self.viewer, self.settings_panel, self.exporter, self.models):
            source.message.connect(self.banner.show_message)
        self.settings_panel.generateRequested.connect(self.photos_panel.generate)
        self.viewer.finalizeRequested.connect(self.photos_panel.queue_request)
        self.viewer.restoreRequested.connect(self.photos_panel.restore_clip)
        self.viewer.exportRequested.connect(self.export_clips)
        queue.machineKnown.connect(self._on_machine_known)
        queue.machineKnown.connect(self.models.on_machine_known)  # after the panel has chosen the model
        self.photos_panel.may_render = self.models.may_render
        queue.saveFailed.connect(lambda line: self.banner.show_message(line, "warning"))

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.photos_panel)
        self.splitter.addWidget(self.viewer)
        self.splitter.addWidget(self.settings_panel)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)  # folded from the View menu, never by a stray drag
        self.splitter.setSizes([230, 760, 320])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 8, 8, 4)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.machine = QLabel("Checking this machine…")
        self.statusBar().addWidget(self.machine, 1)
        for widget in (self.exporter.status, self.exporter.progress, self.exporter.stop):
            self.statusBar().addPermanentWidget(widget)
        self._first_esc, self._esc_job = QElapsedTimer(), None
        # The window for a second Esc runs again from the end of the job the first one cancelled:
        # a cancel can take a moment, and the creator presses Esc again on seeing the next job start.
        self.queue.finished.connect(lambda job, _: job is self._esc_job and self._first_esc.restart())
        self.notifier = Notifier(self, self.queue)
        build_menus(self)

    def shown_player(self) -> Any:
        return self.compare if self.views.currentWidget() is self.compare else self.player

    # -- what scripts and tests reach through the window ----------------------------------------

    photos = _forwarded("photos_panel.photos")
    jobs = _forwarded("photos_panel.jobs")
    job_up = _forwarded("photos_panel.job_up")
    job_down = _forwarded("photos_panel.job_down")
    job_remove = _forwarded("photos_panel.job_remove")
    job_clear = _forwarded("photos_panel.job_clear")
    add_paths = _forwarded("photos_panel.add_paths")
    paste = _forwarded("photos_panel.paste")
    generate = _forwarded("photos_panel.generate")
    generate_all = _forwarded("photos_panel.generate_all")
    presets = _forwarded("settings_panel.presets")
    prompt = _forwarded("settings_panel.prompt")
    motion = _forwarded("settings_panel.motion")
    prompt_library = _forwarded("settings_panel.prompt_library")
    save_prompt = _forwarded("settings_panel.save_prompt")
    controls = _forwarded("settings_panel.controls")
    motion_words = _forwarded("settings_panel.motion_words")
    loras = _forwarded("settings_panel.loras")
    views = _forwarded("viewer.views")
    framing = _forwarded("viewer.framing")
    crop = _forwarded("viewer.crop")
    player = _forwarded("viewer.player")
    compare = _forwarded("viewer.compare")
    progress = _forwarded("viewer.render_progress.progress")
    stage = _forwarded("viewer.render_progress.stage")
    generate_button = _forwarded("settings_panel.generate_button")
    generate_all_button = _forwarded("settings_panel.generate_all_button")
    queue_panel = _forwarded("photos_panel.queue_panel")
    variants = _forwarded("viewer.variants")
    history_strip = _forwarded("viewer.history_strip")
    strips = _forwarded("viewer.strips")
    star_button = _forwarded("viewer.star_button")
    compare_button = _forwarded("viewer.compare_button")
    finalize_button = _forwarded("viewer.finalize_button")
    delete_button = _forwarded("viewer.delete_button")
    cancel_render = _forwarded("viewer.cancel_render")
    export_status = _forwarded("exporter.status")
    last_export = _forwarded("exporter.last_export")
    start_export = _forwarded("exporter.start_export")

    def cancel_key(self) -> None:
        """Esc cancels the running render; a second Esc while it is cancelling or within
        STOP_WINDOW_MS stops the queue, holding the waiting jobs (and one started since the first Esc)."""
        cancelling = self._esc_job is not None and self._esc_job is self.queue.current
        if self._first_esc.isValid() and (cancelling or self._first_esc.elapsed() < STOP_WINDOW_MS):
            self._first_esc.invalidate()
            current = self.queue.current
            self.stop_queue(hold_running=current is not None and current is not self._esc_job)
            return
        self._first_esc.start()
        self._esc_job = self.queue.current
        self.viewer.cancel_render()

    def stop_queue(self, hold_running: bool = False) -> None:
        self.photos_panel.stop_queue(hold_running)
        self.viewer.cancel_render()

    def open_batch(self) -> BatchDialog:
        """Render > Batch…: one dialog for the window's life, so reopening it shows the batch that runs."""
        if self.batch_dialog is None:
            self.batch_dialog = BatchDialog(self.studio, self.state, self.settings, self,
                                            remember=not self.read_only)
        self.batch_dialog.show()
        self.batch_dialog.raise_()
        self.batch_dialog.activateWindow()
        return self.batch_dialog

    def export_clips(self) -> None:
        """The export dialog for the picked clips, or for those selected in the strip on show."""
        self.exporter.export_clips(self.viewer.selected_entries())

    # -- files dropped anywhere on the window ---------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
            count = len(event.mimeData().urls())
            self.drop_overlay.show_over(self.centralWidget(), f"Drop to add {plural(count, 'item')}")

    def dragLeaveEvent(self, event: Any) -> None:
        self.drop_overlay.hide()

    def dropEvent(self, event: QDropEvent) -> None:
        self.drop_overlay.hide()
        urls = event.mimeData().urls()
        local = [Path(url.toLocalFile()) for url in urls if url.isLocalFile()]
        if len(local) < len(urls):
            self.banner.show_message("Only files on this computer can be added (not web links)", "warning")
        if len(local) == 1 and is_manifest(local[0]):  # a catalogue: rendered by Batch…, not a photo
            self.open_batch().set_source(local[0])
            event.acceptProposedAction()
            return
        loras = [str(path) for path in local if path.suffix.lower() == ".safetensors"]
        if loras:  # LoRA files, listed from where they are; a model checkpoint is added on the models page
            self.settings_panel.loras.add(loras)
        if len(loras) < len(local):
            self.photos_panel.add_paths([path for path in local if str(path) not in loras])
        event.acceptProposedAction()

    # -- start-up notices, a read-only window, a queue left by the last session -----------------

    def _show_notices(self) -> None:
        """The start-up notices in the banner, first on top; past what it holds, a count."""
        lines = list(self.notices)
        if len(lines) > Banner.MAX_LINES:
            more = len(lines) - Banner.MAX_LINES + 1
            lines = [*lines[: Banner.MAX_LINES - 1],
                     f"…and {more} more start-up notices (the log has them all)"]
        for line in reversed(lines):  # the banner puts the latest on top
            self.banner.show_message(line, "warning")

    def _offer_left_queue(self) -> None:
        """Jobs a previous session left (it was killed, or closed with jobs waiting): offered, not
        run; until the user answers they stay on disk, kept after whatever is queued meanwhile."""
        if self.read_only:
            self.settings_panel.generate_bar.setEnabled(False)
            self.generate_action.setEnabled(False)
            self.generate_all_action.setEnabled(False)
            self.banner.show_message(self.read_only, "warning")
            return
        closed_with = self.settings.value("queue/closed_with")
        if closed_with is not None:  # that close is answered now: a crash later must not pass for one
            self.settings.remove("queue/closed_with")
            self.settings.sync()
        left = self.studio.load_queue()
        if not left:
            return
        self.queue.hold(left)
        jobs = f"{plural(len(left), 'job')} {'was' if len(left) == 1 else 'were'} still queued"
        text = (f"{jobs} when i2v desktop closed; they are kept until you resume or discard them"
                if closed_with is not None else f"{jobs} when i2v desktop stopped")
        self.banner.show_message(text, "info", [("Resume", self.photos_panel.resume_held),
                                                ("Discard", self.photos_panel.discard_held)])

    # -- machine, keys, settings, closing -------------------------------------------------------

    @Slot(str, object)
    def _on_machine_known(self, summary: str, result: Any) -> None:
        self.machine.setText(summary)

    def shortcut_sheet(self) -> ShortcutsSheet:
        """The shortcuts sheet as it stands: made from the actions the window has now."""
        listed = {keys for _, rows in shortcut_groups(self, []) for keys, _ in rows}
        player = [(QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText), key.does)
                  for k, key in FramePlayer.KEYS.items()]
        extra = [("Player (when it has the focus)",
                  [(keys, does) for keys, does in player if keys not in listed])]
        return ShortcutsSheet(shortcut_groups(self, extra), self)

    def show_shortcuts(self) -> None:
        sheet = self.shortcut_sheet()
        sheet.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        sheet.open()

    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        restored = isinstance(geometry, QByteArray) and self.restoreGeometry(geometry)
        self._layout_notice("window/geometry", geometry, restored)
        if not restored:
            first = QRect(QPoint(), DEFAULT_SIZE)
            first.moveCenter(self.screen().availableGeometry().center())
            self.setGeometry(first)
        self.fit_to_screen()
        splitter = self.settings.value("window/splitter")
        restored = isinstance(splitter, QByteArray) and self.splitter.restoreState(splitter)
        self._layout_notice("window/splitter", splitter, restored)
        self._split = not restored  # the widths are set in _shown, once the splitter has its own
        for toggle, name in ((self.photos_toggle, "photos"), (self.settings_toggle, "settings")):
            toggle.setChecked(self.settings.value(f"window/{name}_shown", True, type=bool))

    def _layout_notice(self, key: str, saved: Any, restored: bool) -> None:
        if isinstance(saved, QByteArray) and not restored:  # bytes, but not Qt's: said like any bad value
            self.notices.append(bad_value(self.settings, key, saved, "is not a saved window layout"))

    def fit_to_screen(self) -> None:
        """Keep the window on the screen it opens on: a saved size from a larger screen, or the
        default on a small one, is shrunk to the screen's available area (less taskbars)."""
        screen = QGuiApplication.screenAt(self.geometry().center()) or self.screen()
        self.fit_to(screen.availableGeometry())

    def fit_to(self, available: QRect) -> None:
        """Shrink and move the window, its frame included, into `available`."""
        if self.isMaximized() or self.isFullScreen():
            return
        known = self.frameGeometry() != self.geometry()
        frame = QMargins(self.geometry().left() - self.frameGeometry().left(),
                         self.geometry().top() - self.frameGeometry().top(),
                         self.frameGeometry().right() - self.geometry().right(),
                         self.frameGeometry().bottom() - self.geometry().bottom()) if known else FRAME_GUESS
        self.setGeometry(fitted(self.geometry(), available, frame))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not event.spontaneous():
            # The window manager's real frame is known once the window is on screen: fit again.
            QTimer.singleShot(0, self, self._shown)

    def _shown(self) -> None:
        self.fit_to_screen()
        if self._split:
            # No widths saved: the side panels at their usual widths (narrower on a small screen),
            # the viewer the rest. Only now is the splitter as wide as the window will have it.
            self._split = False
            self.centralWidget().layout().activate()
            width = self.splitter.width()
            photos = 230 if width >= 1200 else self.photos_panel.minimumSizeHint().width()
            settings = max(320, self.settings_panel.minimumWidth())
            self.splitter.setSizes([photos, width - photos - settings, settings])

    def save_settings(self) -> None:
        if self.read_only:
            return  # the settings are the other instance's too: it keeps them
        self.state.save(self.settings)
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.setValue("window/photos_shown", self.photos_toggle.isChecked())
        self.settings.setValue("window/settings_shown", self.settings_toggle.isChecked())
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing cancels the render and the export and waits for their threads: nothing is left
        half-done. Jobs still waiting are kept for the next start, which says why they are there."""
        if not self.read_only and self.queue.requests():
            self.settings.setValue("queue/closed_with", len(self.queue.requests()))
        self.save_settings()
        self.hide()  # gone for the user at once; a model still loading may take a moment to stop
        self.exporter.shutdown()
        self.queue.shutdown()
        self.models.shutdown()
        if self.batch_dialog is not None:
            self.batch_dialog.shutdown()
        self.settings_panel.improver.shutdown()
        self.settings_panel.loras.shutdown()
        self.background.shutdown()
        self.viewer.shutdown()
        event.accept()
