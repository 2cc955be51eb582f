"""The main window: photos in, clips watched as they form, picks exported.

Layout: photos and the job queue on the left; the framing view and the player in the middle,
with the progress line and the variants/history strip under them; motion, prompt and clip
settings on the right, with Generate at the bottom. The window talks to the engines only
through the job queue (engine thread) and `Background` (short tasks); `studio` is the object
app.py made from the engine side, which this package cannot import (it would reach torch).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QByteArray, QObject, QSettings, QSize, Qt, QUrl, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QColor,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QIcon,
    QImage,
    QKeySequence,
    QPainter,
    QPen,
    QPixmap,
    QShortcut,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core.errors import I2VError
from ..core.events import Cancelled, DownloadProgress, Failed, Finished, StageChanged, StepProgress, Warned
from ..core.framing import subject_box
from ..core.image import SUPPORTED_EXTENSIONS, load_image
from ..core.request import ASPECTS, GenerationRequest
from ..export.naming import DEFAULT_TEMPLATE, file_stem
from ..storage.paths import data_dir
from ..storage.prompts import PromptLibrary
from .banner import Banner
from .controls import ClipControls, model_entry, timing
from .export import ExportDialog, name_fields
from .framing import CropView
from .player import ComparePlayer, FramePlayer
from .presets import PresetPicker
from .queue import QueuePanel
from .state import AppState, Choices, Photo, Status
from .variants import VariantStrip, to_qimage
from .worker import Background, Job, JobQueue

log = logging.getLogger(__name__)
HISTORY_SHOWN = 120  # the newest clips in the History tab (about 1 MB of thumbnails each)
CLIP_CACHE_BYTES = 1_500_000_000  # full clips kept in memory for instant playback
STATUS_MARKS = {Status.LOADING: "…", Status.READY: "", Status.QUEUED: "•", Status.RENDERING: "▶",
                Status.DONE: "✓", Status.FAILED: "!", Status.CANCELLED: "–"}
VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v")


def load_photo(path: str) -> dict[str, Any]:
    """Decode a photo for the window (worker thread): a ~1 MP preview, a thumbnail, its subject."""
    source = load_image(path, max_pixels=1_000_000)
    rgb = source.rgb
    height, width = rgb.shape[:2]
    preview = to_qimage(rgb)
    thumbnail = preview.scaled(144, 144, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    return {"preview": preview, "thumbnail": thumbnail, "size": (width, height), "subject": subject_box(source)}


def expand_paths(paths: list[Path]) -> tuple[list[str], list[str], list[str]]:
    """Dropped paths → (photos, clips of ours to restore, one-line refusals). Folders give their images."""
    photos, clips, refused = [], [], []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in SUPPORTED_EXTENSIONS and p.is_file())
            if not found:
                refused.append(f"{path}: no photos in this folder")
            photos += [str(p.resolve()) for p in found]
        elif path.suffix.lower() in VIDEO_EXTENSIONS:
            clips.append(str(path.resolve()))
        elif not path.exists():
            refused.append(f"{path}: no such file")
        elif path.suffix.lower() not in SUPPORTED_EXTENSIONS:
            kinds = "JPEG, PNG, WebP, TIFF, BMP, GIF"
            refused.append(f"{path.name}: not a supported photo ({kinds}), or an i2v clip (MP4)")
        else:
            photos.append(str(path.resolve()))
    return photos, clips, refused


class MainWindow(QMainWindow):
    def __init__(self, studio: Any, settings: QSettings, *, probe: bool = True, read_only: str = "") -> None:
        """`read_only`: why this window must not render or write (another instance has the data
        folder); "" for a normal window."""
        super().__init__()
        self.studio = studio
        self.history = studio.history
        self.settings = settings
        self.read_only = read_only
        self.setWindowTitle("i2v desktop" + (" (read-only)" if read_only else ""))
        self.setAcceptDrops(True)
        self.state = AppState(self)
        self.queue = JobQueue(studio, self, persist=not read_only)
        self.background = Background(self)
        self.prompts = PromptLibrary(settings_folder(settings) / "prompts.json")
        self._clips: OrderedDict[str, tuple[np.ndarray, float]] = OrderedDict()
        self._thumbs: dict[str, np.ndarray] = {}
        self._live = False  # the player shows the running job's preview
        self._job_saved: dict[int, list[Any]] = {}
        self._job_failures: dict[int, list[str]] = {}
        self._export_cancel: list[bool] | None = None
        self._export_relay = _ProgressRelay(self)
        self._export_relay.progress.connect(self._on_export_progress)
        self._closing = False
        self._history_stale = True

        self._build()
        self._bind()
        self.state.restore(settings)
        if not self.state.choices.model:
            self.state.choose(model=self.studio.registry.fallback)
        self.controls.set_models(self.studio.model_choices(look=False), self.state.choices.model)
        self._show_choices(self.state.choices)
        self._restore_layout()
        if probe:
            self.queue.probe()
        self._refresh_history()
        self._offer_left_queue()

    # -- building -----------------------------------------------------------------------------

    def _build(self) -> None:
        self.banner = Banner()

        # Left: photos and queue.
        self.photos = QListWidget()
        self.photos.setAccessibleName("Photos")
        self.photos.setViewMode(QListWidget.ViewMode.ListMode)
        self.photos.setIconSize(QSize(56, 56))
        self.photos.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.photos.setToolTip("Drop photos or folders anywhere in the window, or paste (Ctrl+V)")
        self.photos.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        add = QPushButton("Add photos…")
        add.setToolTip("Open photos (Ctrl+O)")
        add.clicked.connect(self.open_photos)
        remove = QPushButton("Remove")
        remove.setToolTip("Remove the selected photos from the batch (Delete); their clips stay in History")
        remove.clicked.connect(self.remove_selected_photos)
        photo_buttons = QHBoxLayout()
        photo_buttons.addWidget(add, 1)
        photo_buttons.addWidget(remove)

        self.queue_panel = QueuePanel(self.queue)
        self.jobs = self.queue_panel.view
        self.job_up, self.job_down = self.queue_panel.up, self.queue_panel.down
        self.job_remove, self.job_clear = self.queue_panel.remove, self.queue_panel.clear_button

        left = QWidget()
        left.setMinimumWidth(180)
        left.setMaximumWidth(360)
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(_heading("Photos"))
        left_layout.addWidget(self.photos, 3)
        left_layout.addLayout(photo_buttons)
        left_layout.addWidget(_heading("Queue"))
        left_layout.addWidget(self.queue_panel, 1)

        # Middle: framing / player / compare, progress, variants and history.
        self.crop = CropView()
        self.drop_hint = DropHint()
        self.drop_overlay = DropOverlay(self)
        self.framing = QStackedWidget()
        self.framing.addWidget(self.drop_hint)
        self.framing.addWidget(self.crop)
        self.player = FramePlayer()
        self.player.clear("Drop photos here, pick a motion, press Generate")
        self.compare = ComparePlayer()
        self.views = QTabWidget()
        self.views.setDocumentMode(True)
        self.views.addTab(self.framing, "Framing")
        self.views.addTab(self.player, "Preview")
        self.views.addTab(self.compare, "Compare")
        self.views.setTabEnabled(2, False)

        self.stage = QLabel("Ready")
        self.stage.setAccessibleName("Render status")
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Render progress")
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)
        self.timing = QLabel()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop this render (Esc)")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_render)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.stage)
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.timing)
        progress_row.addWidget(self.cancel_button)

        self.variants = VariantStrip("Clips of the selected photo appear here")
        self.variants.setAccessibleName("Variants")
        self.star_button = _tool("★ Pick", "Pick the selected clip for export (S)")
        self.compare_button = _tool("Compare", "Select two clips (Ctrl+click) and compare them side by side")
        self.finalize_button = _tool("Finalize", "Re-render the selected clip at full quality, same seed")
        self.delete_button = _tool("Delete", "Delete the selected clips (Delete)")
        self.export_button = _tool("Export…", "Export picked clips (Ctrl+E)")
        self.restore_button = _tool("Use settings", "Load this clip's photo and settings")
        for button in (self.star_button, self.compare_button, self.finalize_button, self.delete_button,
                       self.restore_button):
            button.setEnabled(False)
        variant_buttons = QHBoxLayout()
        for button in (self.star_button, self.compare_button, self.finalize_button, self.restore_button,
                       self.delete_button):
            variant_buttons.addWidget(button)
        variant_buttons.addStretch(1)
        variant_buttons.addWidget(self.export_button)
        self.history_strip = VariantStrip("Every clip you make is kept here")
        self.history_strip.setAccessibleName("History")
        self.strips = QTabWidget()
        self.strips.setDocumentMode(True)
        self.strips.addTab(self.variants, "Variants")
        self.strips.addTab(self.history_strip, "History")
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addLayout(progress_row)
        bottom_layout.addWidget(self.strips)
        bottom_layout.addLayout(variant_buttons)
        middle = QSplitter(Qt.Orientation.Vertical)
        middle.addWidget(self.views)
        middle.addWidget(bottom)
        middle.setStretchFactor(0, 3)
        middle.setStretchFactor(1, 0)
        self.middle = middle

        # Right: motion, prompt, clip settings, Generate.
        self.presets = PresetPicker()
        self.presets.set_presets(list(self.studio.presets.presets.values()))
        self.prompt = QPlainTextEdit()
        self.prompt.setAccessibleName("Prompt")
        self.prompt.setPlaceholderText("Describe the scene and the subject (the instant engine works from the "
                                       "photo alone)")
        self.prompt.setToolTip("What the diffusion model is asked for: your words, then the motion words below")
        self.prompt.setMaximumHeight(72)
        # The motion words live apart from the user's: empty means the preset's words for the
        # chosen model (shown greyed), so a clip re-rendered on another model gets that model's.
        self.motion = QLineEdit()
        self.motion.setAccessibleName("Motion words")
        self.motion.setToolTip("How the preset asks this model to move; type your own to replace them, "
                               "clear to use the preset's again")
        self.prompt_library = QComboBox()
        self.prompt_library.setAccessibleName("Saved prompts")
        self.prompt_library.setToolTip("Prompts you saved; pick one to use it")
        self.save_prompt = _tool("Save", "Save this prompt to your library")
        self.forget_prompt = _tool("Forget", "Remove the chosen prompt from your library")
        prompt_row = QHBoxLayout()
        prompt_row.addWidget(self.prompt_library, 1)
        prompt_row.addWidget(self.save_prompt)
        prompt_row.addWidget(self.forget_prompt)
        self.controls = ClipControls(self.studio.registry)
        self.generate_button = QPushButton("Generate")
        self.generate_button.setObjectName("generate")
        self.generate_button.setToolTip("Render every photo of the batch (Ctrl+Enter)")
        self.generate_button.setMinimumHeight(40)
        self.generate_button.clicked.connect(self.generate)
        right = QWidget()
        right.setMinimumWidth(300)
        right.setMaximumWidth(420)
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(_heading("Motion"))
        right_layout.addWidget(self.presets, 1)
        right_layout.addWidget(_heading("Prompt"))
        right_layout.addWidget(self.prompt)
        right_layout.addWidget(self.motion)
        right_layout.addLayout(prompt_row)
        right_layout.addWidget(_heading("Clip"))
        right_layout.addWidget(self.controls)
        right_layout.addWidget(self.generate_button)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(middle)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([230, 760, 320])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 8, 8, 4)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.machine = QLabel("Checking this machine…")
        self.export_status = QLabel()
        self.export_progress = QProgressBar()
        self.export_progress.setMaximumWidth(160)
        self.export_progress.hide()
        self.export_cancel = _tool("Stop export", "Stop the export")
        self.export_cancel.hide()
        self.export_cancel.clicked.connect(self.cancel_export)
        self.statusBar().addWidget(self.machine, 1)
        self.statusBar().addPermanentWidget(self.export_status)
        self.statusBar().addPermanentWidget(self.export_progress)
        self.statusBar().addPermanentWidget(self.export_cancel)
        self._build_menus()
        self.resize(1280, 800)

    def _build_menus(self) -> None:
        def action(menu: Any, text: str, slot: Any, shortcut: Any = None) -> QAction:
            item = menu.addAction(text)
            item.triggered.connect(slot)
            if shortcut is not None:
                item.setShortcut(QKeySequence(shortcut))
            return item

        file_menu = self.menuBar().addMenu("&File")
        action(file_menu, "&Add photos…", self.open_photos, QKeySequence.StandardKey.Open)
        action(file_menu, "&Paste photos", self.paste, QKeySequence.StandardKey.Paste)
        action(file_menu, "&Export picked clips…", self.export_clips, "Ctrl+E")
        file_menu.addSeparator()
        action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        render_menu = self.menuBar().addMenu("&Render")
        self.generate_action = action(render_menu, "&Generate", self.generate, "Ctrl+Return")
        self.generate_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.cancel_action = action(render_menu, "&Cancel render", self.cancel_render, "Esc")
        action(render_menu, "Clear &queue", self.queue_panel.clear)
        action(render_menu, "&Finalize selected clip", self.finalize)
        view_menu = self.menuBar().addMenu("&View")
        action(view_menu, "&Framing", lambda: self.views.setCurrentWidget(self.framing), "Ctrl+1")
        action(view_menu, "&Preview", lambda: self.views.setCurrentWidget(self.player), "Ctrl+2")
        action(view_menu, "&History", lambda: self.strips.setCurrentWidget(self.history_strip), "Ctrl+H")
        help_menu = self.menuBar().addMenu("&Help")
        action(help_menu, "&Keyboard shortcuts", self._show_shortcuts, QKeySequence.StandardKey.HelpContents)
        QShortcut(QKeySequence("Space"), self, self._space)
        QShortcut(QKeySequence("S"), self.variants, self._toggle_star)
        QShortcut(QKeySequence.StandardKey.Delete, self.variants, self.delete_selected)
        QShortcut(QKeySequence.StandardKey.Delete, self.photos, self.remove_selected_photos)
        remove = QAction("Remove from batch", self.photos)
        remove.triggered.connect(self.remove_selected_photos)
        self.photos.addAction(remove)

    def _bind(self) -> None:
        state = self.state
        state.photosChanged.connect(self._on_photos_changed)
        state.photoChanged.connect(self._on_photo_changed)
        state.selectionChanged.connect(self._on_selection_changed)
        state.choicesChanged.connect(self._show_choices)
        self.photos.currentItemChanged.connect(
            lambda item, _: state.select(item.data(Qt.ItemDataRole.UserRole) if item else ""))
        self.crop.cropChanged.connect(self._on_crop_changed)
        self.presets.presetChanged.connect(self._on_preset_changed)
        self.presets.intensityChanged.connect(lambda value: state.choose(intensity=value))
        self.prompt.textChanged.connect(lambda: state.choose(prompt=self.prompt.toPlainText().strip()))
        self.motion.textEdited.connect(lambda text: state.choose(motion_prompt=text.strip() or None))
        self.prompt_library.activated.connect(self._use_saved_prompt)
        self.save_prompt.clicked.connect(self._save_prompt)
        self.forget_prompt.clicked.connect(self._forget_prompt)
        self.controls.changed.connect(lambda changes: state.choose(**changes))
        self.queue.changed.connect(lambda: self.cancel_button.setEnabled(self.queue.busy))
        self.queue.saveFailed.connect(lambda line: self.banner.show_message(line, "warning"))
        self.queue_panel.dropped.connect(self._on_jobs_dropped)
        self.queue.started.connect(self._on_job_started)
        self.queue.event.connect(self._on_job_event)
        self.queue.saved.connect(self._on_job_saved)
        self.queue.finished.connect(self._on_job_finished)
        self.queue.machineKnown.connect(self._on_machine_known)
        self.variants.selectionChanged.connect(self._on_variant_selection)
        self.variants.activated.connect(self._play_entry)
        self.variants.starToggled.connect(self._on_star_toggled)
        self.history_strip.selectionChanged.connect(self._on_variant_selection)
        self.history_strip.activated.connect(self._play_entry)
        self.history_strip.starToggled.connect(self._on_star_toggled)
        self.strips.currentChanged.connect(self._on_strip_changed)
        self.star_button.clicked.connect(self._toggle_star)
        self.compare_button.clicked.connect(self.compare_selected)
        self.finalize_button.clicked.connect(self.finalize)
        self.delete_button.clicked.connect(self.delete_selected)
        self.export_button.clicked.connect(self.export_clips)
        self.restore_button.clicked.connect(self._restore_selected)
        self._refresh_prompts()

    # -- photos in ----------------------------------------------------------------------------

    def add_paths(self, paths: list[Path]) -> None:
        photos, clips, refused = expand_paths(paths)
        for reason in refused:
            self.banner.show_message(reason)
        for photo in self.state.add_photos(photos):
            self.background.submit(lambda path=photo.path: load_photo(path),
                                   lambda result, reason, path=photo.path: self._on_photo_loaded(path, result, reason))
        for clip in clips:
            self.background.submit(lambda clip=clip: self.studio.read_record(Path(clip)),
                                   lambda result, reason, clip=clip: self._on_clip_record(clip, result, reason))

    def open_photos(self) -> None:
        folder = str(self.settings.value("paths/photos", str(Path.home())))
        patterns = " ".join(f"*{ext}" for ext in SUPPORTED_EXTENSIONS + VIDEO_EXTENSIONS)
        files, _ = QFileDialog.getOpenFileNames(self, "Add photos", folder, f"Photos and i2v clips ({patterns})")
        if files:
            self.settings.setValue("paths/photos", str(Path(files[0]).parent))
            self.add_paths([Path(f) for f in files])

    def paste(self) -> None:
        """Photos from the clipboard: copied files, or a copied picture (saved so it can be re-rendered)."""
        data = QGuiApplication.clipboard().mimeData()
        if data is not None and data.hasUrls():
            self.add_paths([Path(url.toLocalFile()) for url in data.urls() if url.isLocalFile()])
        elif data is not None and data.hasImage():
            image = QImage(data.imageData())
            folder = data_dir() / "pasted"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / time.strftime("pasted-%Y%m%d-%H%M%S.png")
            n = 1
            while path.exists():
                n += 1
                path = path.with_name(time.strftime(f"pasted-%Y%m%d-%H%M%S-{n}.png"))
            partial = path.with_name(f".{path.name}.partial")  # written whole, then renamed into place
            if image.isNull() or not image.save(str(partial), "PNG"):
                partial.unlink(missing_ok=True)
                self.banner.show_message(f"{path}: could not save the pasted picture (is the disk full?)")
                return
            partial.replace(path)
            self.add_paths([path])
        else:
            self.banner.show_message("The clipboard holds no photo: copy an image or image files first", "warning")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
            count = len(event.mimeData().urls())
            self.drop_overlay.show_over(self.centralWidget(), f"Drop to add {_count(count, 'item')}")

    def dragLeaveEvent(self, event: Any) -> None:
        self.drop_overlay.hide()

    def dropEvent(self, event: QDropEvent) -> None:
        self.drop_overlay.hide()
        urls = event.mimeData().urls()
        local = [Path(url.toLocalFile()) for url in urls if url.isLocalFile()]
        if len(local) < len(urls):
            self.banner.show_message("Only files on this computer can be added (not web links)", "warning")
        self.add_paths(local)
        event.acceptProposedAction()

    def _on_photo_loaded(self, path: str, result: dict | None, reason: str) -> None:
        if result is None:
            self.banner.show_message(reason.replace("task: ", f"{Path(path).name}: "))
            self.state.remove_photo(path)
            return
        self.state.update_photo(path, status=Status.READY, **result)

    def _on_clip_record(self, clip: str, record: dict | None, reason: str) -> None:
        """A clip of ours dropped in: its photo and settings come back."""
        if record is None:
            self.banner.show_message(reason)
            return
        try:
            request = GenerationRequest.from_dict(record.get("request"))
        except I2VError as exc:
            self.banner.show_message(f"{Path(clip).name}: {exc}")
            return
        self.apply_request(request)
        if Path(request.image).is_file():
            self.add_paths([Path(request.image)])
            self.state.select(str(Path(request.image).resolve()))
            self.state.update_photo(self.state.selected, crop_center=request.crop_center)
        else:
            self.banner.show_message(f"{Path(clip).name}: settings restored, but its photo {request.image} "
                                     "is gone; add the photo again to render", "warning")

    def apply_request(self, request: GenerationRequest) -> None:
        choices = Choices.from_request(request)
        known = {item.id for item in self.studio.presets.presets.values()}
        if choices.preset not in known:
            choices = replace(choices, preset=self.state.choices.preset)
        self.state.choose(**{name: getattr(choices, name) for name in choices.__dataclass_fields__})

    def remove_selected_photos(self) -> None:
        for item in self.photos.selectedItems():
            self.state.remove_photo(item.data(Qt.ItemDataRole.UserRole))

    # -- state → widgets ----------------------------------------------------------------------

    @Slot()
    def _on_photos_changed(self) -> None:
        self.photos.blockSignals(True)
        self.photos.clear()
        for photo in self.state.photos:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, photo.path)
            self.photos.addItem(item)
            self._paint_photo_item(item, photo)
            if photo.path == self.state.selected:
                self.photos.setCurrentItem(item)
        self.photos.blockSignals(False)

    @Slot(str)
    def _on_photo_changed(self, path: str) -> None:
        for row in range(self.photos.count()):
            item = self.photos.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == path:
                self._paint_photo_item(item, self.state.photo(path))
        if path == self.state.selected:
            self._show_framing()

    def _paint_photo_item(self, item: QListWidgetItem, photo: Photo) -> None:
        mark = STATUS_MARKS[photo.status]
        item.setText(f"{mark} {photo.name}".strip() + (f"\n{photo.status.value}" if photo.status != Status.READY else ""))
        if photo.thumbnail is not None:
            item.setIcon(QIcon(QPixmap.fromImage(photo.thumbnail)))
        item.setToolTip(photo.path + (f"\n{photo.reason}" if photo.reason else ""))
        item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{photo.name}, {photo.status.value}")

    @Slot(str)
    def _on_selection_changed(self, path: str) -> None:
        for row in range(self.photos.count()):
            item = self.photos.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == path and self.photos.currentItem() is not item:
                self.photos.setCurrentItem(item)
        self._show_framing()
        self._refresh_variants()
        self._show_choices(self.state.choices)

    def _show_framing(self) -> None:
        photo = self.state.selected_photo()
        self.framing.setCurrentWidget(self.crop if self.state.photos else self.drop_hint)
        if photo is None or photo.preview is None:
            self.crop.clear()
            return
        self.crop.set_photo(photo.preview, photo.size, photo.subject)
        self.crop.set_aspect(ASPECTS[self.state.choices.aspect])
        self.crop.set_crop_center(photo.crop_center)

    def motion_words(self, choices: Choices) -> str:
        """The words the preset gives the chosen model ("" for one that reads none)."""
        entry = model_entry(self.studio.registry, choices.model)
        return self.studio.presets.get(choices.preset).for_family(entry.family).prompt_for(choices.intensity)

    @Slot(object)
    def _show_choices(self, choices: Choices) -> None:
        self.presets.set_current(choices.preset)
        self.presets.set_intensity(choices.intensity)
        if self.prompt.toPlainText().strip() != choices.prompt:
            self.prompt.setPlainText(choices.prompt)
        if (self.motion.text().strip() or None) != choices.motion_prompt:
            self.motion.setText(choices.motion_prompt or "")
        words = self.motion_words(choices)
        self.motion.setPlaceholderText(words or "This model takes no motion words")
        self.motion.setEnabled(bool(words) or choices.motion_prompt is not None)
        frames, fps = timing(self.studio.registry, choices)
        self.controls.show_choices(choices, frames, fps)
        self.crop.set_aspect(ASPECTS[choices.aspect])

    def _on_crop_changed(self, center: tuple[float, float] | None) -> None:
        if self.state.selected:
            self.state.update_photo(self.state.selected, crop_center=center)

    def _on_preset_changed(self, preset_id: str) -> None:
        self.state.choose(preset=preset_id, motion_prompt=None)  # a new preset brings its own words

    # -- prompt library -----------------------------------------------------------------------

    def _refresh_prompts(self) -> None:
        self.prompt_library.clear()
        phrases = self.prompts.phrases()
        self.prompt_library.addItem("Saved prompts…" if phrases else "No saved prompts yet", "")
        for phrase in phrases:
            self.prompt_library.addItem(phrase if len(phrase) < 60 else phrase[:57] + "…", phrase)
            self.prompt_library.setItemData(self.prompt_library.count() - 1, phrase, Qt.ItemDataRole.ToolTipRole)
        self.forget_prompt.setEnabled(bool(phrases))

    def _use_saved_prompt(self, index: int) -> None:
        phrase = self.prompt_library.itemData(index)
        if phrase:
            self.prompt.setPlainText(phrase)

    def _save_prompt(self) -> None:
        try:
            self.prompts.add(self.prompt.toPlainText())
        except (I2VError, OSError) as exc:
            self.banner.show_message(str(exc), "warning")
            return
        self._refresh_prompts()

    def _forget_prompt(self) -> None:
        phrase = self.prompt_library.currentData()
        if phrase:
            try:
                self.prompts.remove(phrase)
            except (I2VError, OSError) as exc:
                self.banner.show_message(str(exc), "warning")
            self._refresh_prompts()

    # -- rendering ----------------------------------------------------------------------------

    def generate(self) -> None:
        """Queue every photo of the batch (or the selected ones, when several are selected)."""
        if self.read_only:
            self.banner.show_message(self.read_only, "warning")
            return
        selected = {item.data(Qt.ItemDataRole.UserRole) for item in self.photos.selectedItems()}
        photos = [p for p in self.state.photos if p.status not in (Status.LOADING, Status.QUEUED, Status.RENDERING)]
        if len(selected) > 1:
            photos = [p for p in photos if p.path in selected]
        if not photos:
            message = "Add photos first: drop them here, paste them, or use Add photos…" if not self.state.photos \
                else "Every photo is already queued or rendering"
            self.banner.show_message(message, "info")
            return
        try:
            requests = self.state.requests(photos)
        except I2VError as exc:
            self.banner.show_message(str(exc))
            return
        self.state.update_photos([photo.path for photo in photos], status=Status.QUEUED, reason="")
        self.queue.add_many([(photo.path, request) for photo, request in zip(photos, requests)])

    def cancel_render(self) -> None:
        if self.queue.busy:
            self.queue.cancel_current()
            self.stage.setText("Cancelling…")

    def finalize(self) -> None:
        """Re-render the selected clip with the model's full-quality settings and the same seed."""
        entries = self._strip().selected_entries()
        if not entries:
            return
        entry = entries[-1]
        try:
            request = entry.request()
        except I2VError as exc:
            self.banner.show_message(f"{entry.mp4.name}: cannot finalize ({exc})")
            return
        request = replace(request, quality="final", variants=1, seed=entry.seed)
        if self.read_only:
            self.banner.show_message(self.read_only, "warning")
            return
        if self.state.photo(request.image) is None:
            self.add_paths([Path(request.image)])
        self.state.update_photo(request.image, status=Status.QUEUED)
        self.queue.add(request.image, request)

    @Slot(list)
    def _on_jobs_dropped(self, jobs: list[Job]) -> None:
        self.state.update_photos([job.photo for job in jobs], status=Status.READY)

    def _offer_left_queue(self) -> None:
        """Jobs a previous session left (it was killed, or closed with jobs waiting): offered, not
        run; until the user answers they stay on disk, kept after whatever is queued meanwhile."""
        if self.read_only:
            self.generate_button.setEnabled(False)
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
        jobs = _count(len(left), "job")
        text = (f"{jobs} {'was' if len(left) == 1 else 'were'} still queued when i2v desktop closed; "
                "they are kept until you resume or discard them" if closed_with is not None
                else f"{jobs} {'was' if len(left) == 1 else 'were'} still queued when i2v desktop stopped")
        self.banner.show_message(text, "info", [("Resume", self.resume_left_queue),
                                                ("Discard", self.queue.discard_held)])

    def resume_left_queue(self) -> None:
        jobs = self.queue.resume_held()
        here = [Path(photo) for photo in dict.fromkeys(job.photo for job in jobs) if Path(photo).is_file()]
        self.add_paths(here)  # a photo gone since fails as its job, with its own line

    @Slot(object)
    def _on_job_started(self, job: Job) -> None:
        self._job_saved[job.id], self._job_failures[job.id] = [], []
        self.state.update_photo(job.photo, status=Status.RENDERING)
        self.state.select(job.photo)
        self._live = True
        self.views.setCurrentWidget(self.player)
        self.player.clear("Starting…")
        self.stage.setText(f"{Path(job.photo).name}: starting")
        self.progress.setRange(0, 0)
        self.timing.setText("")

    @Slot(object, object)
    def _on_job_event(self, job: Job, event: object) -> None:
        name = Path(job.photo).name
        match event:
            case StageChanged(stage=stage, detail=detail):
                self.stage.setText(f"{name}: {stage.value}" + (f" ({detail})" if detail and len(detail) < 40 else ""))
                self.progress.setRange(0, 0)
            case DownloadProgress(done_bytes=done, total_bytes=total, what=what):
                self.stage.setText(f"{name}: downloading {what}")
                self.progress.setRange(0, 1000)
                self.progress.setValue(int(1000 * done / total) if total else 0)
                self.timing.setText(f"{done / 1e9:.1f} / {total / 1e9:.1f} GB")
            case StepProgress(step=step, total=total, elapsed_s=elapsed, eta_s=eta, preview=preview):
                self.progress.setRange(0, total)
                self.progress.setValue(step)
                self.timing.setText(f"step {step}/{total} · {_clock(elapsed)} · {_clock(eta)} left")
                if preview is not None and self._live:
                    self.player.set_frames(preview.frames, preview.fps, keep_position=True)
                    if not self.player.is_playing:
                        self.player.play()
            case Warned(reason=reason):
                self.banner.show_message(f"{name}: {reason}", "warning", ("Cancel this take", self.cancel_render))
            case Failed(reason=reason):
                self._job_failures[job.id].append(reason)
                self.banner.show_message(reason)
            case Finished() | Cancelled():
                pass

    @Slot(object, object)
    def _on_job_saved(self, job: Job, saved: Any) -> None:
        self._job_saved[job.id].append(saved.entry)
        self._remember_clip(saved.entry.id, saved.frames, saved.fps)
        self._thumbs[saved.entry.id] = saved.thumbs
        if job.photo == self.state.selected:
            self._refresh_variants()
        if self._history_stale:
            self._refresh_history()
        else:
            self.history_strip.prepend(saved.entry, saved.thumbs, cell_label(saved.entry, with_photo=True))

    @Slot(object, str)
    def _on_job_finished(self, job: Job, reason: str) -> None:
        saved = self._job_saved.pop(job.id, [])
        failures = self._job_failures.pop(job.id, []) + ([reason] if reason else [])
        if reason:
            self.banner.show_message(reason)
        if saved:
            status = Status.DONE
        elif job.cancel.cancelled:
            status = Status.CANCELLED
        else:
            status = Status.FAILED
        self.state.update_photo(job.photo, status=status, reason="; ".join(failures))
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.stage.setText({Status.DONE: "Done", Status.CANCELLED: "Cancelled", Status.FAILED: "Failed"}[status]
                           + f": {Path(job.photo).name}")
        self.timing.setText("")
        if self._live:
            self._live = False
            ids = {entry.id for entry in saved}  # the strip lists variants best first
            best = next((cell.entry for cell in self.variants.cells if cell.entry.id in ids), None)
            if best is not None and job.photo == self.state.selected:
                self.variants.select(best.id)
            elif not saved:
                self.player.clear(self.stage.text())
        if self._closing and not self.queue.busy:
            self.close()

    @Slot(str, object)
    def _on_machine_known(self, summary: str, result: Any) -> None:
        self.machine.setText(summary)
        if result is None:
            return
        choices, default = result
        first_run = self.settings.value("choices/model") is None
        self.controls.set_models(choices, self.state.choices.model)
        if first_run:
            self.state.choose(model=default)
        chosen = next((c for c in choices if c.id == self.state.choices.model), None)
        if chosen is not None and chosen.installed is False:
            self.banner.show_message(f"{chosen.name} is not downloaded; renders will download it first "
                                     "or fail offline. The Instant engine works right away.", "warning",
                                     ("Use Instant", lambda: self.state.choose(model=self.studio.registry.fallback)))

    # -- clips: play, pick, compare, delete ---------------------------------------------------

    def _strip(self) -> VariantStrip:
        return self.history_strip if self.strips.currentWidget() is self.history_strip else self.variants

    def _entry_items(self, entries: list[Any], with_photo: bool) -> list[tuple[Any, np.ndarray | None, str]]:
        """Strip items; thumbnails not in memory yet are read off the GUI thread and filled in."""
        items, missing = [], []
        for entry in entries:
            thumbs = self._thumbs.get(entry.id)
            if thumbs is None:
                missing.append(entry)
            items.append((entry, thumbs, cell_label(entry, with_photo)))
        if missing:
            self.background.submit(lambda: {e.id: _thumbnails_or_blank(self.history, e) for e in missing},
                                   self._on_thumbs_loaded)
        return items

    def _on_thumbs_loaded(self, thumbs: dict[str, np.ndarray] | None, reason: str) -> None:
        for entry_id, frames in (thumbs or {}).items():
            self._thumbs[entry_id] = frames
            self.variants.set_thumbs(entry_id, frames)
            self.history_strip.set_thumbs(entry_id, frames)

    def _refresh_variants(self) -> None:
        entries = self.history.for_photo(self.state.selected) if self.state.selected else []
        entries = sorted(entries, key=lambda e: (-(e.score if e.score is not None else -1), -e.created))
        self.variants.set_entries(self._entry_items(entries, with_photo=False))

    def _refresh_history(self) -> None:
        """The History tab, newest first; filled when first shown, so a long history costs no start-up."""
        if self.strips.currentWidget() is not self.history_strip:
            self._history_stale = True
            return
        self._history_stale = False
        entries = sorted(self.history.entries(), key=lambda e: -e.created)[:HISTORY_SHOWN]
        self.history_strip.set_entries(self._entry_items(entries, with_photo=True))

    def _on_strip_changed(self, _: int) -> None:
        if self._history_stale:
            self._refresh_history()
        self._on_variant_selection(self._strip().selection)

    @Slot(list)
    def _on_variant_selection(self, ids: list) -> None:
        sender = self.sender()
        if sender in (self.variants, self.history_strip) and sender is not self._strip():
            return  # a selection in the strip that is not on show
        count = len(ids)
        for button in (self.star_button, self.finalize_button, self.delete_button, self.restore_button):
            button.setEnabled(count >= 1)
        self.compare_button.setEnabled(count == 2)
        self.views.setTabEnabled(2, count == 2)
        if count:
            self._live = False
            self._play_entry(ids[-1])

    def _play_entry(self, entry_id: str) -> None:
        entry = self._find_entry(entry_id)
        if entry is None:
            return
        self.views.setCurrentWidget(self.player)
        if entry_id in self._clips:
            self._clips.move_to_end(entry_id)
            frames, fps = self._clips[entry_id]
            self.player.set_frames(frames, fps)
            self.player.play()
            return
        self.player.clear(f"Loading {entry.mp4.name}…")
        self.background.submit(lambda: self.studio.load_clip(entry),
                               lambda result, reason: self._on_clip_loaded(entry_id, result, reason))

    def _on_clip_loaded(self, entry_id: str, result: Any, reason: str) -> None:
        if result is None:
            self.banner.show_message(reason)
            return
        self._remember_clip(entry_id, *result)
        selected = self._strip().selection
        if selected and selected[-1] == entry_id and not self._live:
            self.player.set_frames(*result)
            self.player.play()
        if self.views.currentWidget() is self.compare:
            self.compare_selected()

    def _remember_clip(self, entry_id: str, frames: np.ndarray, fps: float) -> None:
        self._clips[entry_id] = (frames, fps)
        while sum(f.nbytes for f, _ in self._clips.values()) > CLIP_CACHE_BYTES and len(self._clips) > 1:
            self._clips.popitem(last=False)

    def _find_entry(self, entry_id: str) -> Any:
        return next((e for e in self.history.entries() if e.id == entry_id), None)

    def _on_star_toggled(self, entry_id: str, starred: bool) -> None:
        try:
            self.history.set_starred(entry_id, starred)
        except I2VError as exc:
            self.banner.show_message(str(exc))
        for strip in (self.variants, self.history_strip):
            cell = strip.cell(entry_id)
            if cell is not None and cell.star.isChecked() != starred:
                cell.star.blockSignals(True)
                cell.star.setChecked(starred)
                cell._show_star(starred)
                cell.star.blockSignals(False)

    def _toggle_star(self) -> None:
        for entry in self._strip().selected_entries():
            cell = self._strip().cell(entry.id)
            if cell is not None:
                cell.star.toggle()

    def compare_selected(self) -> None:
        entries = self._strip().selected_entries()
        if len(entries) != 2:
            return
        missing = [e for e in entries if e.id not in self._clips]
        for entry in missing:
            self.background.submit(lambda entry=entry: self.studio.load_clip(entry),
                                   lambda result, reason, entry=entry: self._on_clip_loaded(entry.id, result, reason))
        self.views.setTabEnabled(2, True)
        self.views.setCurrentWidget(self.compare)
        if not missing:
            left, right = entries
            self.compare.set_clips((*self._clips[left.id], left.label), (*self._clips[right.id], right.label))
            self.compare.play()

    def delete_selected(self) -> None:
        entries = self._strip().selected_entries()
        if not entries:
            return
        names = ", ".join(entry.mp4.name for entry in entries)
        answer = QMessageBox.question(self, "Delete clips", f"Delete {names} from disk?")
        if answer != QMessageBox.StandardButton.Yes:
            return
        for entry in entries:
            try:
                self.history.remove(entry.id)
            except (I2VError, OSError) as exc:
                self.banner.show_message(str(exc))
            self._clips.pop(entry.id, None)
            self._thumbs.pop(entry.id, None)
        self.player.clear("Deleted")
        self._refresh_variants()
        self._refresh_history()

    def _restore_selected(self) -> None:
        entries = self._strip().selected_entries()
        if entries:
            self._on_clip_record(str(entries[-1].mp4), entries[-1].plain_record(), "")

    # -- export -------------------------------------------------------------------------------

    def export_clips(self) -> None:
        if self._export_cancel is not None:
            self.banner.show_message("An export is already running; wait for it or stop it", "info")
            return
        entries = self.history.entries()
        picked = {e.id for e in entries if e.starred}
        if not picked:
            picked = {e.id for e in self._strip().selected_entries()}
        shown = [e for e in entries if e.id in picked or e.photo == self.state.selected]
        if not shown:
            self.banner.show_message("Nothing to export yet: generate clips and pick (★) the ones you like", "info")
            return
        dialog = ExportDialog(
            shown, [f"{Path(e.photo).name} · {e.label}" for e in shown],
            list(self.studio.export_presets.presets.values()), picked=picked,
            preset=str(self.settings.value("export/preset", "reels")),
            folder=str(self.settings.value("export/folder", str(Path.home() / "Videos" / "i2v"))),
            template=str(self.settings.value("export/template", DEFAULT_TEMPLATE)),
            open_folder=self.settings.value("export/open_folder", "true") == "true", parent=self)
        if dialog.exec() != ExportDialog.DialogCode.Accepted:
            return
        self.start_export(dialog.plan())

    def start_export(self, plan: Any) -> None:
        """Export on a background thread, one clip after another; progress in the status bar."""
        self.settings.setValue("export/preset", plan.preset)
        self.settings.setValue("export/folder", str(plan.folder))
        self.settings.setValue("export/template", plan.template)
        self.settings.setValue("export/open_folder", "true" if plan.open_folder else "false")
        cancel = self._export_cancel = [False]
        total = len(plan.entries)
        relay = self._export_relay

        def work() -> tuple[list[Path], list[str]]:
            """Each clip in turn; one that fails costs its line, not the others."""
            from ..core.errors import Cancelled as CancelledError
            from ..core.errors import ExportError, os_reason

            try:
                plan.folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ExportError(f"{plan.folder}: cannot create the folder ({os_reason(exc)})") from None
            written, failed = [], []
            for index, entry in enumerate(plan.entries):
                def progress(fraction: float, index: int = index) -> None:
                    if cancel[0]:
                        raise CancelledError("export stopped")
                    relay.progress.emit((index + fraction) / total, f"Exporting {index + 1}/{total}")

                try:
                    stem = file_stem(plan.template, name_fields(entry, plan.preset))
                    written.append(self.studio.export(entry.mp4, plan.preset, plan.folder, stem, progress))
                except CancelledError:
                    raise
                except I2VError as exc:
                    failed.append(str(exc))
            return written, failed

        self.export_progress.setValue(0)
        self.export_progress.setRange(0, 1000)
        self.export_progress.show()
        self.export_cancel.show()
        self.export_status.setText(f"Exporting {_count(total, 'clip')}…")
        self.background.submit(work, lambda result, reason: self._on_export_done(plan, result, reason))

    def cancel_export(self) -> None:
        if self._export_cancel is not None:
            self._export_cancel[0] = True

    @Slot(float, str)
    def _on_export_progress(self, fraction: float, text: str) -> None:
        self.export_progress.setValue(int(fraction * 1000))
        self.export_status.setText(text)

    def _on_export_done(self, plan: Any, result: tuple[list[Path], list[str]] | None, reason: str) -> None:
        self._export_cancel = None
        self.export_progress.hide()
        self.export_cancel.hide()
        if result is None:
            self.export_status.setText("Export stopped" if reason == "cancelled" else "Export failed")
            if reason != "cancelled":
                self.banner.show_message(reason)
            return
        written, failed = result
        self.last_export = written
        for line in failed:
            self.banner.show_message(line)
        self.export_status.setText(f"Exported {len(written)} of {len(plan.entries)} clips to {plan.folder}"
                                   if failed else f"Exported {_count(len(written), 'clip')} to {plan.folder}")
        if not written:
            return
        url = QUrl.fromLocalFile(str(plan.folder))
        if plan.open_folder and not self._closing:
            QDesktopServices.openUrl(url)
        elif not failed:
            self.banner.show_message(f"Exported {_count(len(written), 'clip')} to {plan.folder}", "info",
                                     ("Open folder", lambda: QDesktopServices.openUrl(url)))

    # -- keys, settings, closing --------------------------------------------------------------

    def _space(self) -> None:
        if self.views.currentWidget() is self.compare:
            self.compare.toggle()
        else:
            self.player.toggle()

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
        self.state.save(self.settings)
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing cancels the render and waits for the engine thread: nothing is left half-done."""
        self._closing = True
        if not self.read_only and self.queue.requests():
            self.settings.setValue("queue/closed_with", len(self.queue.requests()))
        self.save_settings()
        self.hide()  # gone for the user at once; a model still loading may take a moment to stop
        self.cancel_export()
        self.queue.shutdown()
        self.background.shutdown()
        self.player.pause()
        self.compare.pause()
        event.accept()


class DropHint(QWidget):
    """What an empty batch shows: where photos come from."""

    TEXT = "Drop photos or folders here\n\nor paste them (Ctrl+V), or use Add photos… (Ctrl+O)"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Drop photos here")
        self.setToolTip("JPEG, PNG, WebP, TIFF, BMP or GIF; drop an i2v clip (MP4) to get its settings back")

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = self.palette().color(self.palette().ColorRole.PlaceholderText)
        pen = QPen(colour, 2, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.drawRoundedRect(self.rect().adjusted(24, 24, -24, -24), 16, 16)
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        painter.setFont(font)
        painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.TEXT)


class DropOverlay(QWidget):
    """Covers the window while files are dragged over it, so the user sees the drop will land."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.text = ""
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.hide()

    def show_over(self, widget: QWidget, text: str) -> None:
        self.text = text
        self.setGeometry(widget.geometry())
        self.raise_()
        self.show()

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        accent = self.palette().color(self.palette().ColorRole.Highlight)
        fill = QColor(accent)
        fill.setAlpha(40)
        painter.setBrush(fill)
        painter.setPen(QPen(accent, 3, Qt.PenStyle.DashLine))
        painter.drawRoundedRect(self.rect().adjusted(6, 6, -6, -6), 14, 14)
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        painter.setFont(font)
        label = painter.fontMetrics().boundingRect(self.text).adjusted(-24, -14, 24, 14)
        label.moveCenter(self.rect().center())
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(accent)
        painter.drawRoundedRect(label, label.height() / 2, label.height() / 2)
        painter.setPen(self.palette().color(self.palette().ColorRole.HighlightedText))
        painter.drawText(label, Qt.AlignmentFlag.AlignCenter, self.text)


class _ProgressRelay(QObject):
    """Carries export progress from the background thread to the GUI thread."""

    progress = Signal(float, str)


def cell_label(entry: Any, with_photo: bool) -> str:
    """A clip's caption under its thumbnail: its score first (what a pick is made on), then its seed."""
    parts = [Path(entry.photo).stem] if with_photo else []
    if entry.score is not None:
        parts.append(f"{entry.score:.2f}")
    if entry.seed is not None:
        parts.append(f"seed {entry.seed}")
    return " · ".join(parts) or entry.mp4.stem


def _thumbnails_or_blank(history: Any, entry: Any) -> np.ndarray:
    try:
        return history.thumbnails(entry)
    except I2VError as exc:  # a damaged strip costs its picture, not the clip
        log.warning("%s", exc)
        return np.zeros((1, 9, 16, 3), np.uint8)


def settings_folder(settings: QSettings) -> Path:
    return Path(settings.fileName()).parent


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label


def _tool(text: str, tip: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setAccessibleName(tip.split(" (")[0])
    return button


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}:{seconds % 60:02d}"

