"""The photos panel: the batch (photos in by drop, paste or the file dialog), Generate for the
selected photos or all of them, the queue of renders waiting their turn, and what each photo got."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QSettings, QSize, Qt, Slot
from PySide6.QtGui import QAction, QGuiApplication, QIcon, QImage, QPixmap
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout

from ..core.errors import I2VError
from ..core.framing import subject_box
from ..core.image import SUPPORTED_EXTENSIONS, load_image
from ..core.record import ClipRecord
from ..core.request import GenerationRequest
from ..core.studio import Studio
from .drop import VIDEO_EXTENSIONS, expand_paths
from .panel import Panel, heading, plural
from .state import BUSY, AppState, Choices, Photo, Status, outcome
from .variants import to_qimage
from .queue import QueuePanel
from .background import Background
from .worker import Job, JobQueue

STATUS_MARKS = {Status.LOADING: "…", Status.READY: "", Status.QUEUED: "•", Status.RENDERING: "▶",
                Status.DONE: "✓", Status.PARTIAL: "◐", Status.FAILED: "!", Status.CANCELLED: "–",
                Status.HELD: "‖"}


def load_photo(path: str) -> dict[str, Any]:
    """Decode a photo for the window (worker thread): a ~1 MP preview, a thumbnail, its subject."""
    source = load_image(path, max_pixels=1_000_000)
    rgb = source.rgb
    height, width = rgb.shape[:2]
    preview = to_qimage(rgb)
    thumbnail = preview.scaled(144, 144, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    return {"preview": preview, "thumbnail": thumbnail, "size": (width, height), "subject": subject_box(source)}


FRAMING_LINES = 3  # of the banner's five: the queue's own lines keep room


class PhotosPanel(Panel):
    """The left column. The photo list mirrors the state's batch; the queue list mirrors the queue."""

    def __init__(self, state: AppState, studio: Studio, queue: JobQueue, background: Background,
                 settings: QSettings) -> None:
        super().__init__()
        self.state, self.studio, self.queue, self.background = state, studio, queue, background
        self.settings = settings
        self.setMinimumWidth(180)
        self.setMaximumWidth(360)

        self.photos = QListWidget()
        self.photos.setAccessibleName("Photos")
        self.photos.setViewMode(QListWidget.ViewMode.ListMode)
        self.photos.setIconSize(QSize(56, 56))
        self.photos.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.photos.setToolTip("Drop photos or folders anywhere in the window, or paste (Ctrl+V)")
        self.photos.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        remove_action = QAction("Remove from batch", self.photos)
        remove_action.triggered.connect(self.remove_selected_photos)
        self.photos.addAction(remove_action)
        add = QPushButton("Add photos…")
        add.setToolTip("Open photos (Ctrl+O)")
        add.clicked.connect(self.open_photos)
        remove = QPushButton("Remove")
        remove.setToolTip("Remove the selected photos from the batch (Delete); their clips stay in History")
        remove.clicked.connect(self.remove_selected_photos)
        photo_buttons = QHBoxLayout()
        photo_buttons.addWidget(add, 1)
        photo_buttons.addWidget(remove)
        self.read_only = ""  # why this window may not render (another instance has the data folder)
        # Asked before Generate queues anything: False when the chosen model cannot render yet (it
        # says why, e.g. not downloaded); the window sets it.
        self.may_render: Callable[[], bool] = lambda: True
        self.queue_panel = QueuePanel(queue)
        self.queue_panel.dropped.connect(self._on_jobs_dropped)
        self.queue_panel.resumeRequested.connect(self.resume_held)
        self.queue_panel.discardRequested.connect(self.discard_held)
        self.jobs = self.queue_panel.view
        self.job_up, self.job_down = self.queue_panel.up, self.queue_panel.down
        self.job_remove, self.job_clear = self.queue_panel.remove, self.queue_panel.clear_button

        layout = QVBoxLayout(self)
        layout.addWidget(heading("Photos"))
        layout.addWidget(self.photos, 3)
        layout.addLayout(photo_buttons)
        layout.addWidget(heading("Queue"))
        layout.addWidget(self.queue_panel, 1)

        state.photosChanged.connect(self._on_photos_changed)
        state.photoChanged.connect(self._on_photo_changed)
        state.selectionChanged.connect(self._on_selection_changed)
        self.photos.currentItemChanged.connect(
            lambda item, _: state.select(item.data(Qt.ItemDataRole.UserRole) if item else ""))
        self.photos.itemSelectionChanged.connect(
            lambda: state.mark([item.data(Qt.ItemDataRole.UserRole) for item in self.photos.selectedItems()]))
        # Connected before the viewer's: what a photo got is set by the time the viewer shows it.
        queue.started.connect(self._on_job_started)
        queue.finished.connect(self._on_job_finished)

    # -- photos in ----------------------------------------------------------------------------

    def add_paths(self, paths: list[Path]) -> None:
        photos, clips, refused = expand_paths(paths)
        for reason in refused:
            self.say(reason)
        for photo in self.state.add_photos(photos):
            path = photo.path
            self.background.submit(lambda path=path: load_photo(path),
                                   lambda result, path=path: self._on_photo_loaded(path, result),
                                   lambda reason, path=path: self._on_photo_failed(path, reason),
                                   name=photo.name)
        for clip in clips:
            self.background.submit(lambda clip=clip: self.studio.read_record(Path(clip)),
                                   lambda record, clip=clip: self.restore_clip(clip, record),
                                   self.say, name=Path(clip).name)

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
            folder = self.studio.pasted_folder()
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / time.strftime("pasted-%Y%m%d-%H%M%S.png")
            n = 1
            while path.exists():
                n += 1
                path = path.with_name(time.strftime(f"pasted-%Y%m%d-%H%M%S-{n}.png"))
            partial = path.with_name(f".{path.name}.partial")  # written whole, then renamed into place
            if image.isNull() or not image.save(str(partial), "PNG"):
                partial.unlink(missing_ok=True)
                self.say(f"{path}: could not save the pasted picture (is the disk full?)")
                return
            partial.replace(path)
            self.add_paths([path])
        else:
            self.say("The clipboard holds no photo: copy an image or image files first", "warning")

    def _on_photo_loaded(self, path: str, result: dict) -> None:
        # A photo added back for resumed jobs is queued already: it must not look ready (and be
        # queued a second time by Generate).
        status = Status.READY
        for row in range(len(self.queue)):
            if (job := self.queue.job_at(row)).photo == path:
                status = Status.RENDERING if job is self.queue.current else Status.QUEUED
                break
        self.state.update_photo(path, status=status, **result)

    def _on_photo_failed(self, path: str, reason: str) -> None:
        self.say(reason)
        self.state.remove_photo(path)

    def restore_clip(self, clip: str, record: ClipRecord) -> None:
        """A clip of ours dropped in (or chosen in a strip): its photo and settings come back."""
        try:
            request = record.request()
        except I2VError as exc:
            self.say(f"{Path(clip).name}: {exc}")
            return
        choices = Choices.from_request(request)
        known = {item.id for item in self.studio.presets()}
        if choices.preset not in known:
            choices = replace(choices, preset=self.state.choices.preset)
        self.state.choose(**{name: getattr(choices, name) for name in choices.__dataclass_fields__})
        if Path(request.image).is_file():
            self.add_paths([Path(request.image)])
            self.state.select(str(Path(request.image).resolve()))
            self.state.update_photo(self.state.selected, crop_center=request.crop_center,
                                    end_image=request.end_image, keyframes=request.keyframes)
        else:
            self.say(f"{Path(clip).name}: settings restored, but its photo {request.image} "
                     "is gone; add the photo again to render", "warning")

    def remove_selected_photos(self) -> None:
        """The selected photos leave the batch, and their renders the queue (the running one is
        cancelled): nothing of a removed photo stays on show."""
        # The paths first: each removal rebuilds the list, deleting the items still to be read.
        paths = [item.data(Qt.ItemDataRole.UserRole) for item in self.photos.selectedItems()]
        for job in [job for job in self.queue.pending if job.photo in paths]:
            self.queue.remove(job.id)
        if self.queue.current is not None and self.queue.current.photo in paths:
            self.queue.cancel_current()
        for path in paths:
            self.state.remove_photo(path)

    # -- state → the photo list -----------------------------------------------------------------

    @Slot()
    def _on_photos_changed(self) -> None:
        self.photos.blockSignals(True)
        self.photos.clear()
        marked = self.state.marked
        for photo in self.state.photos:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, photo.path)
            self.photos.addItem(item)
            self._paint_photo_item(item, photo)
            if photo.path == self.state.selected:
                self.photos.setCurrentItem(item)
            # The selection as it was, not just the current photo (marked items only: a thousand
            # setSelected calls would cost more than the list).
            if photo.path in marked or photo.path == self.state.selected:
                item.setSelected(photo.path in marked)
        self.photos.blockSignals(False)

    @Slot(str)
    def _on_photo_changed(self, path: str) -> None:
        for row in range(self.photos.count()):
            item = self.photos.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == path:
                self._paint_photo_item(item, self.state.photo(path))

    def _paint_photo_item(self, item: QListWidgetItem, photo: Photo) -> None:
        mark = STATUS_MARKS[photo.status]
        item.setText(f"{mark} {photo.name}".strip() + (f"\n{photo.state_text}" if photo.status != Status.READY else ""))
        if photo.thumbnail is not None:
            item.setIcon(QIcon(QPixmap.fromImage(photo.thumbnail)))
        item.setToolTip(photo.path + (f"\n{photo.reason}" if photo.reason else ""))
        item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{photo.name}, {photo.state_text}")

    @Slot(str)
    def _on_selection_changed(self, path: str) -> None:
        for row in range(self.photos.count()):
            item = self.photos.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == path and self.photos.currentItem() is not item:
                # Selected elsewhere (a render starting): within the selection the selection stays
                # (Generate still means those photos); outside it, the photo becomes the selection.
                # QListWidget's own default would add it to the selection.
                keep = path in self.state.marked
                flag = QItemSelectionModel.SelectionFlag
                self.photos.setCurrentItem(item, flag.NoUpdate if keep else flag.ClearAndSelect)

    # -- rendering ----------------------------------------------------------------------------

    def generate(self) -> None:
        """Queue the selected photos (the current one when none is selected)."""
        self._generate(self.state.targets(), everything=False)

    def generate_all(self) -> None:
        """Queue every photo of the batch."""
        self._generate(self.state.photos, everything=True)

    def _generate(self, targets: list[Photo], everything: bool) -> None:
        if self.read_only:
            self.say(self.read_only, "warning")
            return
        photos = [p for p in targets if p.status not in BUSY]
        if not photos:
            if not self.state.photos:
                message = "Add photos first: drop them here, paste them, or use Add photos…"
            elif len(targets) == 1:
                message = f"{targets[0].name} is {targets[0].status.value} already"
            else:
                which = "Every photo" if everything else "Every selected photo"
                message = f"{which} is queued, rendering or held already"
            self.say(message, "info")
            return
        try:  # a request the model cannot make is refused before a download is offered for it
            requests = self.state.requests(photos)
            self._check_end_frames(requests)
        except I2VError as exc:
            self.say(str(exc))
            return
        if not self.may_render():
            return
        self.state.update_photos([photo.path for photo in photos], status=Status.QUEUED, reason="", note="")
        self.queue.add_many([(photo.path, request) for photo, request in zip(photos, requests)])
        # What the framing will do badly (an enlargement past 4x, a crop that drops most of the
        # photo), read from the photos' headers off the GUI thread while the renders start.
        self.background.submit(lambda: self._framing_notes(requests), self._say_framing, name="framing")

    def _check_end_frames(self, requests: list[GenerationRequest]) -> None:
        """Refuse, in the studio's one line, an end photo the model cannot use, an end photo with a
        loop, or a model that renders only towards an end photo (Wan2.1 FLF2V) given none: before
        queuing, not as a failed job. Other refusals stay each job's own line, as before."""
        needs = {choice.id for choice in self.studio.models(look=False) if choice.needs_end_frame}
        for request in requests:
            if request.end_image or request.model in needs:
                self.studio.check(request)

    def queue_takes(self, photo: Photo, requests: list[GenerationRequest]) -> list[Job]:
        """Takes of one photo to compare (one per model, preset or tier), queued together; [] when
        this window may not render, said in the banner."""
        if self.read_only:
            self.say(self.read_only, "warning")
            return []
        self.state.update_photo(photo.path, status=Status.QUEUED, reason="", note="")
        return self.queue.add_many([(photo.path, request) for request in requests])

    def _framing_notes(self, requests: list[GenerationRequest]) -> list[str]:
        notes = []
        for request in requests:
            try:
                notes += self.studio.framing_notes(request)
            except I2VError:
                pass  # an unreadable photo: its render fails with its own line
        return notes

    def _say_framing(self, notes: list[str]) -> None:
        """Each warning its own line of the banner (the first on top), three at most."""
        shown = notes[:FRAMING_LINES]
        if len(notes) > FRAMING_LINES:
            shown[-1] += f" (and {plural(len(notes) - FRAMING_LINES, 'more warning')})"
        for note in reversed(shown):  # the banner puts its latest line on top
            self.say(note, "warning")

    def queue_request(self, request: GenerationRequest) -> None:
        """One more render of a clip's photo (finalizing it), the photo added back if it was removed."""
        if self.read_only:
            self.say(self.read_only, "warning")
            return
        if self.state.photo(request.image) is None:
            self.add_paths([Path(request.image)])
        self.state.update_photo(request.image, status=Status.QUEUED, note="")
        self.queue.add(request.image, request)

    # -- what each photo got -----------------------------------------------------------------

    @Slot(object)
    def _on_job_started(self, job: Job) -> None:
        self.state.update_photo(job.photo, status=Status.RENDERING, note="")

    @Slot(object, str)
    def _on_job_finished(self, job: Job, reason: str) -> None:
        if job.held:
            return  # stopped to be resumed: the photo stays held
        failure = job.failures[-1].removeprefix(f"{Path(job.photo).name}: ") if job.failures else ""
        status, note = outcome(job.made, job.request.variants, job.cancel.cancelled, failure)
        self.state.update_photo(job.photo, status=status, note=note, reason="; ".join(job.failures))

    # -- stopping and resuming the queue ------------------------------------------------------

    def stop_queue(self, hold_running: bool = False) -> None:
        """Cancel the running render and hold the waiting jobs, kept (on disk too) until Resume.
        `hold_running`: hold the running job as well (it started as the queue was being stopped)."""
        held = self.queue.stop(hold_running)
        if not held:
            return
        self.state.update_photos([job.photo for job in held], status=Status.HELD, note="")
        self.message.emit(f"Queue stopped: {plural(len(held), 'job')} held; Resume renders them, Discard forgets them",
                          "info", [("Resume", self.resume_held), ("Discard", self.discard_held)])

    # -- the queue view --------------------------------------------------------------------------

    @Slot(list)
    def _on_jobs_dropped(self, jobs: list[Job]) -> None:
        self.state.update_photos([job.photo for job in jobs], status=Status.READY, note="")

    def resume_held(self) -> None:
        """Queue the held jobs (a stopped queue's, or those a previous session left), their photos
        added back where they are gone from the batch but still exist."""
        photos = list(dict.fromkeys(request.image for request in self.queue.held))
        self.state.update_photos(photos, status=Status.QUEUED, note="")  # before the first starts
        self.queue.resume_held()
        gone = [Path(photo) for photo in photos if self.state.photo(photo) is None and Path(photo).is_file()]
        self.add_paths(gone)  # a photo deleted since fails as its job, with its own line

    def discard_held(self) -> None:
        photos = [request.image for request in self.queue.held]
        self.queue.discard_held()
        held = [photo for photo in photos if (p := self.state.photo(photo)) is not None and p.status == Status.HELD]
        self.state.update_photos(held, status=Status.READY, note="")
