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

from PySide6.QtCore import QByteArray, QSettings, Qt, Slot
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QSplitter, QVBoxLayout, QWidget

from ..core.studio import Studio
from .banner import Banner
from .drop import DropOverlay
from .exporting import Exporter
from .panel import plural
from .photos import PhotosPanel
from .settings import SettingsPanel
from .state import AppState
from .tour import FirstSteps
from .viewer import ViewerPanel
from .background import Background
from .worker import JobQueue


def _forwarded(path: str) -> property:
    """A panel's widget or action under the window's own name, for scripts and tests."""

    def get(window: MainWindow) -> Any:
        found: Any = window
        for name in path.split("."):
            found = getattr(found, name)
        return found

    return property(get, doc=f"self.{path}")


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
        self.settings_panel = SettingsPanel(state, studio, queue, self.settings)
        self.exporter = Exporter(state, studio, background, self.settings, self)
        for source in (self.photos_panel, self.viewer, self.settings_panel, self.exporter):
            source.message.connect(self.banner.show_message)
        self.settings_panel.generateRequested.connect(self.photos_panel.generate)
        self.viewer.finalizeRequested.connect(self.photos_panel.queue_request)
        self.viewer.restoreRequested.connect(self.photos_panel.restore_clip)
        self.viewer.exportRequested.connect(self.export_clips)
        queue.machineKnown.connect(self._on_machine_known)
        queue.saveFailed.connect(lambda line: self.banner.show_message(line, "warning"))

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.photos_panel)
        self.splitter.addWidget(self.viewer)
        self.splitter.addWidget(self.settings_panel)
        self.splitter.setStretchFactor(1, 1)
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
        self.resize(1280, 800)

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
        action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        render_menu = self.menuBar().addMenu("&Render")
        self.generate_action = action(render_menu, "&Generate", photos.generate, "Ctrl+Return")
        self.generate_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.cancel_action = action(render_menu, "&Cancel render", viewer.cancel_render, "Esc")
        action(render_menu, "Clear &queue", photos.queue_panel.clear)
        action(render_menu, "&Finalize selected clip", viewer.finalize)
        view_menu = self.menuBar().addMenu("&View")
        action(view_menu, "&Framing", viewer.show_framing_view, "Ctrl+1")
        action(view_menu, "&Preview", viewer.show_preview, "Ctrl+2")
        action(view_menu, "&History", viewer.show_history, "Ctrl+H")
        help_menu = self.menuBar().addMenu("&Help")
        action(help_menu, "&Keyboard shortcuts", self._show_shortcuts, QKeySequence.StandardKey.HelpContents)
        self.first_steps_action = action(help_menu, "Show the &first steps", self.first_steps.show)
        QShortcut(QKeySequence("Space"), self, viewer.toggle_playback)
        # Each of these is live while the widget it belongs to is on show.
        QShortcut(QKeySequence("S"), viewer.variants, viewer.toggle_star)
        QShortcut(QKeySequence.StandardKey.Delete, viewer.variants, viewer.delete_selected)
        QShortcut(QKeySequence.StandardKey.Delete, photos.photos, photos.remove_selected_photos)

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
            self.settings_panel.generate_button.setEnabled(False)
            self.generate_action.setEnabled(False)
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
        self.banner.show_message(text, "info", [("Resume", self.photos_panel.resume_left_queue),
                                                ("Discard", self.queue.discard_held)])

    # -- machine, keys, settings, closing -------------------------------------------------------

    @Slot(str, object)
    def _on_machine_known(self, summary: str, result: Any) -> None:
        self.machine.setText(summary)

    def _show_shortcuts(self) -> None:
        QMessageBox.information(self, "Keyboard shortcuts", "\n".join((
            "Ctrl+O  add photos        Ctrl+V  paste photos",
            "Ctrl+Enter  generate      Esc  cancel the render",
            "Space  play / pause       ← →  step a frame (player)",
            "S  pick the selected clip  Delete  delete it",
            "Ctrl+E  export picked clips",
            "Ctrl+1 / Ctrl+2  framing / preview   Ctrl+H  history",
        )))

    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        splitter = self.settings.value("window/splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)

    def save_settings(self) -> None:
        if self.read_only:
            return  # the settings are the other instance's too: it keeps them
        self.state.save(self.settings)
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
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
        self.background.shutdown()
        self.viewer.shutdown()
        event.accept()
