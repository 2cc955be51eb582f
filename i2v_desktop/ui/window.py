"""The main window: photos in, clips watched as they form, picks exported.

It composes the panels (photos and queue on the left, the viewer in the middle, clip settings on
the right, the export action in the status bar), all bound to one AppState, and holds what
belongs to the whole window: the menus and shortcuts, the message banner, dropping files
anywhere on it, its layout from one session to the next, and closing. The window talks to the
engines only through the `Studio` seam (core.studio) that app.py hands it: renders through the job
queue (engine thread), slow reads and exports through `Background` (short tasks).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QElapsedTimer, QMargins, QPoint, QRect, QSettings, QSize, Qt, QTimer, Slot
from PySide6.QtGui import (
    QAction,
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
from .drop import DropOverlay
from .exporting import Exporter
from .modelsdesk import ModelDesk
from .notify import Notifier
from .panel import plural
from .photos import PhotosPanel
from .player import FramePlayer
from .settings import SettingsPanel
from .shortcuts import ShortcutsSheet, shortcut_groups
from .state import AppState
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
    def __init__(self, studio: Studio, settings: QSettings, *, probe: bool = True, read_only: str = "") -> None:
        """`read_only`: why this window must not render or write (another instance has the data
        folder); "" for a normal window."""
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

        self._build()
        self.photos_panel.read_only = read_only
        self.state.restore(settings)
        self.settings_panel.show_models()
        self._restore_layout()
        if probe:
            self.queue.probe()
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
        self._build_menus()

    def _build_menus(self) -> None:
        photos, viewer = self.photos_panel, self.viewer

        def action(menu: Any, text: str, slot: Any, shortcut: Any = None) -> Any:
            item = menu.addAction(text)
            item.triggered.connect(slot)
            if shortcut is not None:
                item.setShortcut(QKeySequence(shortcut))
            return item

        file_menu = self.menuBar().addMenu("&File")
        action(file_menu, "&Add photos…", photos.open_photos, QKeySequence.StandardKey.Open)
        action(file_menu, "&Paste photos", photos.paste, QKeySequence.StandardKey.Paste)
        action(file_menu, "&Export picked clips…", self.export_clips, "Ctrl+E")
        file_menu.addSeparator()
        # Ctrl+Q itself (Cmd+Q on macOS): the platform's standard Quit key is none on Windows.
        action(file_menu, "&Quit", self.close, "Ctrl+Q")
        edit_menu = self.menuBar().addMenu("&Edit")
        self.undo_action = viewer.undo.stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = viewer.undo.stack.createRedoAction(self, "&Redo")
        redo_keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Redo)
        if QKeySequence("Ctrl+Y") not in redo_keys:  # what Windows users press, offered everywhere
            redo_keys.append(QKeySequence("Ctrl+Y"))
        self.redo_action.setShortcuts(redo_keys)
        edit_menu.addActions([self.undo_action, self.redo_action])
        render_menu = self.menuBar().addMenu("&Render")
        self.generate_action = action(render_menu, "&Generate selected photos", photos.generate, "Ctrl+Return")
        self.generate_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.generate_all_action = action(render_menu, "Generate &all photos", photos.generate_all)
        self.generate_all_action.setShortcuts([QKeySequence("Ctrl+Shift+Return"), QKeySequence("Ctrl+Shift+Enter")])
        self.settings_panel.generate_all_button.clicked.connect(photos.generate_all)
        self.cancel_action = action(render_menu, "&Cancel render", self.cancel_key, "Esc")
        self.stop_action = action(render_menu, "&Stop the queue (hold waiting jobs)", self.stop_queue, "Shift+Esc")
        action(render_menu, "Clear &queue", photos.queue_panel.clear)
        action(render_menu, "&Finalize selected clip", viewer.finalize)
        render_menu.addSeparator()
        self.models_action = action(render_menu, "&Models…", self.models.open_models)
        self._first_esc, self._esc_job = QElapsedTimer(), None
        # The window for a second Esc runs again from the end of the job the first one cancelled:
        # a cancel can take a moment, and the creator presses Esc again on seeing the next job start.
        self.queue.finished.connect(lambda job, _: job is self._esc_job and self._first_esc.restart())
        self.notifier = Notifier(self, self.queue)
        view_menu = self.menuBar().addMenu("&View")
        action(view_menu, "&Framing", viewer.show_framing_view, "Ctrl+1")
        action(view_menu, "&Preview", viewer.show_preview, "Ctrl+2")
        action(view_menu, "Ph&one", viewer.show_phone, "Ctrl+3")
        self.wipe_action = action(view_menu, "&Before / after", viewer.show_wipe, "Ctrl+B")
        self.wipe_action.setCheckable(True)
        action(view_menu, "&History", viewer.show_history, "Ctrl+H")
        view_menu.addSeparator()
        toggle = self._panel_toggle
        self.photos_toggle = toggle(view_menu, "Photos and &queue panel", self.photos_panel, "F9")
        self.settings_toggle = toggle(view_menu, "Clip &settings panel", self.settings_panel, "Shift+F9")
        help_menu = self.menuBar().addMenu("&Help")
        action(help_menu, "&Keyboard shortcuts", self.show_shortcuts, QKeySequence.StandardKey.HelpContents)
        self.first_steps_action = action(help_menu, "Show the &first steps", self.first_steps.show)
        self.machine_action = action(help_menu, "This &machine", self.models.open_machine)

        # Keys outside the menus, each in a group of the shortcuts sheet.
        def key(widget: QWidget, text: str, shortcut: Any, slot: Any, group: str) -> QAction:
            item = QAction(text, widget)
            item.setShortcut(QKeySequence(shortcut))
            # Window-wide for the window's own keys; else live while focus is in `widget`.
            item.setShortcutContext(Qt.ShortcutContext.WindowShortcut if widget is self
                                    else Qt.ShortcutContext.WidgetWithChildrenShortcut)
            item.setProperty("group", group)
            item.triggered.connect(slot)
            widget.addAction(item)
            return item

        key(self, "Play or pause", "Space", viewer.toggle_playback, "Clips")
        key(viewer.variants, "Pick the selected clip", "S", viewer.toggle_star, "Clips")
        key(viewer.variants, "Delete the selected clips", QKeySequence.StandardKey.Delete,
            viewer.delete_selected, "Clips")
        # Break 7: a click on a clip leaves the focus in its strip, and there too the arrows step
        # the frames of the clip just chosen, which is what they are pressed for right then. Moving
        # between clips stays with the mouse and Tab: these take the arrows from the strip.
        key(viewer.strips, "Previous frame", Qt.Key.Key_Left, lambda: self._shown_player().step(-1), "Clips")
        key(viewer.strips, "Next frame", Qt.Key.Key_Right, lambda: self._shown_player().step(1), "Clips")
        key(photos.photos, "Remove the selected photos", QKeySequence.StandardKey.Delete,
            photos.remove_selected_photos, "Photos")

    def _panel_toggle(self, menu: Any, text: str, panel: QWidget, shortcut: str) -> QAction:
        """A View menu item that folds a side panel away, for a small screen, and brings it back."""
        item = menu.addAction(text)
        item.setCheckable(True)
        item.setChecked(True)
        item.setShortcut(QKeySequence(shortcut))
        item.toggled.connect(panel.setVisible)
        return item

    def _shown_player(self) -> Any:
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
        self.photos_panel.add_paths(local)
        event.acceptProposedAction()

    # -- a read-only window, a queue left by the last session ------------------------------------

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
        if not (isinstance(geometry, QByteArray) and self.restoreGeometry(geometry)):
            first = QRect(QPoint(), DEFAULT_SIZE)
            first.moveCenter(self.screen().availableGeometry().center())
            self.setGeometry(first)
        self.fit_to_screen()
        splitter = self.settings.value("window/splitter")
        restored = isinstance(splitter, QByteArray) and self.splitter.restoreState(splitter)
        self._split = not restored  # the widths are set in _shown, once the splitter has its own
        for toggle, name in ((self.photos_toggle, "photos"), (self.settings_toggle, "settings")):
            toggle.setChecked(self.settings.value(f"window/{name}_shown", True, type=bool))

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
        self.settings_panel.improver.shutdown()
        self.background.shutdown()
        self.viewer.shutdown()
        event.accept()
