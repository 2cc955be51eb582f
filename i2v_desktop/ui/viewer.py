"""The viewer panel: the framing view, the player and the side-by-side compare; the running
render's progress; the variants of the selected photo and the whole history, with what can be
done to a clip (pick, compare, finalize, use its settings, delete, export)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QHBoxLayout,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.errors import I2VError
from ..core.events import Cancelled, DownloadProgress, Failed, Finished, StageChanged, StepProgress, Warned
from ..core.record import ClipEntry, compare_labels
from ..core.request import ASPECTS
from ..core.studio import Studio
from .clips import ClipCache
from .drag import DragOut
from .drop import DropHint
from .framingpane import FramingPane
from .panel import Panel, tool
from .phone import PhoneView
from .player import MAX_COMPARED, ComparePlayer, FramePlayer
from .progress import RenderProgress
from .shelf import Shelf
from .state import AppState, Choices
from .background import Background
from .undo import CropChange, KeyframesChange, StarChange, Undo
from .wipe import Wipe
from .worker import Job, JobQueue


class ViewerPanel(Panel):
    """The middle column. It plays what the running job previews and what the user selects."""

    restoreRequested = Signal(str, object)  # a clip's path and its record: bring its photo and settings back
    finalizeRequested = Signal(object)  # the GenerationRequest to queue
    exportRequested = Signal()

    def __init__(self, state: AppState, studio: Studio, queue: JobQueue, background: Background) -> None:
        super().__init__()
        self.state, self.studio, self.queue, self.background = state, studio, queue, background
        self.clips = ClipCache(studio, background, self)
        self.undo = Undo(studio, self)
        self._live = False  # the player shows the running job's preview
        self._job_saved: dict[int, list[Any]] = {}
        self._compared: list[ClipEntry] = []  # the clips the compare view holds, in its order
        self._build()
        self._bind()

    def _build(self) -> None:
        self.framing_pane = FramingPane()
        self.crop = self.framing_pane.view
        self.drop_hint = DropHint()
        self.framing = QStackedWidget()
        self.framing.addWidget(self.drop_hint)
        self.framing.addWidget(self.framing_pane)
        self.player = FramePlayer()
        self.player.clear("Drop photos here, pick a motion, press Generate")
        self.compare = ComparePlayer()
        self.views = QTabWidget()
        self.views.setDocumentMode(True)
        self.views.addTab(self.framing, "Framing")
        self.views.addTab(self.player, "Preview")
        self.views.addTab(self.compare, "Compare")
        self.views.setTabEnabled(2, False)
        self.phone = PhoneView(self.studio, self.background, self.player)
        self.views.addTab(self.phone, "Phone")
        self.views.setTabToolTip(3, "The clip as it will sit in a Reels, TikTok or Shorts feed (Ctrl+3)")
        self.wipe = Wipe(self.player.canvas, self.studio, self.background)

        self.render_progress = RenderProgress()

        self.strips = Shelf(self.studio, self.background, self.clips)
        self.variants, self.history_strip = self.strips.variants, self.strips.history
        self.star_button = tool("★ Pick", "Pick the selected clip for export (S)")
        self.compare_button = tool("Compare", "Select two to four clips (Ctrl+click) and compare them side by side")
        self.finalize_button = tool("Finalize", "Re-render the selected clip at full quality, same seed")
        self.delete_button = tool("Delete", "Delete the selected clips (Delete)")
        self.export_button = tool("Export…", "Export picked clips (Ctrl+E)")
        self.restore_button = tool("Use settings", "Load this clip's photo and settings")
        for button in (self.star_button, self.compare_button, self.finalize_button, self.delete_button,
                       self.restore_button):
            button.setEnabled(False)
        variant_buttons = QHBoxLayout()
        for button in (self.star_button, self.compare_button, self.finalize_button, self.restore_button,
                       self.delete_button):
            variant_buttons.addWidget(button)
        variant_buttons.addStretch(1)
        variant_buttons.addWidget(self.export_button)
        self._menu = [(QAction(button.text(), self), button) for button in (
            self.star_button, self.compare_button, self.finalize_button, self.restore_button, self.delete_button)]
        for action, button in self._menu:
            action.setEnabled(False)
            action.triggered.connect(button.click)
        for strip in (self.variants, self.history_strip):
            strip.context_actions = [action for action, _ in self._menu]
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(self.render_progress)
        bottom_layout.addWidget(self.strips)
        bottom_layout.addLayout(variant_buttons)
        middle = QSplitter(Qt.Orientation.Vertical)
        middle.addWidget(self.views)
        middle.addWidget(bottom)
        middle.setStretchFactor(0, 3)
        middle.setStretchFactor(1, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(middle)
        self._playing: ClipEntry | None = None  # the saved clip the player shows (None: a preview, or nothing)
        DragOut(self.player.canvas, self._clip_on_show, lambda: self.player.fit, lambda: self.player.canvas.image)

    def _bind(self) -> None:
        state = self.state
        state.photoChanged.connect(self._on_photo_changed)
        state.selectionChanged.connect(self._on_selection_changed)
        state.choicesChanged.connect(self._on_choices_changed)
        self.crop.cropChanged.connect(self._on_crop_changed)
        self.crop.keyframesChanged.connect(self._on_keyframes_changed)
        self._show_keyframes_allowed(self.state.choices)
        self.clips.clipLoaded.connect(self._on_clip_loaded)
        self.clips.thumbsLoaded.connect(self._on_thumbs_loaded)
        self.clips.failed.connect(self.say)
        self.strips.failed.connect(self.say)
        self.undo.clipsChanged.connect(self._on_clips_changed)
        self.undo.failed.connect(self.say)
        self.render_progress.cancel_button.clicked.connect(self.cancel_render)
        self.queue.changed.connect(self._on_queue_changed)
        self.queue.started.connect(self._on_job_started)
        self.queue.event.connect(self._on_job_event)
        self.queue.saved.connect(self._on_job_saved)
        self.queue.finished.connect(self._on_job_finished)
        for strip in (self.variants, self.history_strip):
            strip.selectionChanged.connect(self._on_variant_selection)
            strip.activated.connect(self._play_entry)
            strip.starToggled.connect(self._on_star_toggled)
        self.strips.currentChanged.connect(self._on_strip_changed)
        self.star_button.clicked.connect(self.toggle_star)
        self.compare_button.clicked.connect(lambda: self.compare_selected())
        self.compare.picked.connect(self._pick_compared)
        self.finalize_button.clicked.connect(self.finalize)
        self.delete_button.clicked.connect(self.delete_selected)
        self.export_button.clicked.connect(self.exportRequested)
        self.restore_button.clicked.connect(self._restore_selected)

    # -- the state: framing the selected photo ------------------------------------------------

    @Slot(str)
    def _on_photo_changed(self, path: str) -> None:
        if path == self.state.selected:
            self._show_framing()
            if not self.queue.busy:
                self.render_progress.show_photo(self.state.selected_photo())

    @Slot(str)
    def _on_selection_changed(self, path: str) -> None:
        self._show_framing()
        self.strips.show_photo(self.state.selected)
        self._show_selected(path)

    def _show_selected(self, path: str) -> None:
        """The player and the status line follow the selected photo: the running render's preview
        when it is that photo's, else its newest clip, else the photo itself (the framing view);
        with no photo selected (the shown one was removed), nothing."""
        running = self.queue.current
        self._live = running is not None and running.photo == path
        if self._live:
            self.views.setCurrentWidget(self.player)
            self.player.clear(self.render_progress.text())  # until its next preview
            return
        if running is None:
            self.render_progress.show_photo(self.state.selected_photo())
        entries = self.studio.clips(path) if path else []
        if not entries:
            self.player.clear("No clips of this photo yet" if path
                              else "Drop photos here, pick a motion, press Generate")
            if path:
                self.views.setCurrentWidget(self.framing)
            return
        newest = max(entries, key=lambda entry: entry.created)
        self.variants.select(newest.id)
        if self.strips.current() is not self.variants:  # the History tab is on show: its selection stays
            self._play_entry(newest.id)

    @Slot(object)
    def _on_choices_changed(self, choices: Choices) -> None:
        self.crop.set_aspect(ASPECTS[choices.aspect])
        self._show_keyframes_allowed(choices)

    def _show_framing(self) -> None:
        photo = self.state.selected_photo()
        self.framing.setCurrentWidget(self.framing_pane if self.state.photos else self.drop_hint)
        if photo is None or photo.preview is None:
            self.crop.clear()
            self.framing_pane.set_keyframes(())
            return
        self.crop.set_photo(photo.preview, photo.size, photo.subject)
        self.crop.set_aspect(ASPECTS[self.state.choices.aspect])
        self.crop.set_crop_center(photo.crop_center)
        self.framing_pane.set_keyframes(photo.keyframes)

    def _on_crop_changed(self, center: tuple[float, float] | None) -> None:
        photo = self.state.selected_photo()
        if photo is not None:
            self.undo.push(CropChange(self._apply_crop, photo.path, photo.crop_center, center))

    def _apply_crop(self, path: str, center: tuple[float, float] | None) -> None:
        if path != self.state.selected:  # an undo brings the photo it changes into view
            self.state.select(path)
        self.state.update_photo(path, crop_center=center)

    def _show_keyframes_allowed(self, choices: Choices) -> None:
        """Only the instant engine follows keyframes: on another model the control is greyed with the
        reason, and the photos' keyframes stay with them but are not sent."""
        model = choices.model or self.studio.fallback_model
        self.state.follows_keyframes = self.framing_pane.show_model(self.studio, model, choices.loop)

    def _on_keyframes_changed(self, keys: tuple, continuous: bool) -> None:
        photo = self.state.selected_photo()
        if photo is not None:
            self.undo.push(KeyframesChange(self._apply_keyframes, photo.path, photo.keyframes, keys, continuous))

    def _apply_keyframes(self, path: str, keys: tuple) -> None:
        if path != self.state.selected:  # an undo brings the photo it changes into view
            self.state.select(path)
        self.state.update_photo(path, keyframes=tuple(keys))

    # -- the running render -------------------------------------------------------------------

    def cancel_render(self) -> None:
        if self.queue.busy:
            self.queue.cancel_current()
            self.render_progress.cancelling(len(self.queue.pending))

    @Slot()
    def _on_queue_changed(self) -> None:
        self.render_progress.cancel_button.setEnabled(self.queue.busy)

    @Slot(object)
    def _on_job_started(self, job: Job) -> None:
        self._job_saved[job.id] = []
        self.state.select(job.photo)
        self._live = True
        self.wipe.set_entry(None)
        if self.views.currentWidget() is not self.phone:
            self.views.setCurrentWidget(self.player)
        self.player.clear("Starting…")
        self.render_progress.starting(Path(job.photo).name)

    @Slot(object, object)
    def _on_job_event(self, job: Job, event: object) -> None:
        name = Path(job.photo).name
        match event:
            case StageChanged(stage=stage, detail=detail):
                self.render_progress.busy(f"{name}: {stage.value}" + (f" ({detail})" if detail and len(detail) < 40 else ""))
            case DownloadProgress(done_bytes=done, total_bytes=total, what=what):
                self.render_progress.downloading(f"{name}: downloading {what}", done, total)
            case StepProgress(step=step, total=total, elapsed_s=elapsed, eta_s=eta, preview=preview):
                self.render_progress.stepped(step, total, elapsed, eta)
                if preview is not None and self._live:
                    self.player.set_frames(preview.frames, preview.fps, keep_position=True)
                    if not self.player.is_playing:
                        self.player.play()
            case Warned(reason=reason):
                self.say(f"{name}: {reason}", "warning", ("Cancel this take", self.cancel_render))
            case Failed(reason=reason):
                self.say(reason)
            case Finished() | Cancelled():
                pass

    @Slot(object, object)
    def _on_job_saved(self, job: Job, saved: Any) -> None:
        self._job_saved[job.id].append(saved.entry)
        self.clips.remember(saved.entry.id, saved.frames, saved.fps)
        self.clips.remember_thumbs(saved.entry.id, saved.thumbs)
        self.strips.add(saved.entry, of_shown_photo=job.photo == self.state.selected)

    @Slot(object, str)
    def _on_job_finished(self, job: Job, reason: str) -> None:
        saved = self._job_saved.pop(job.id, [])
        if reason:
            self.say(reason)
        self.render_progress.show_photo(self.state.photo(job.photo))  # what it got (the photos panel says)
        if self._live:
            self._live = False
            # A clip the user picked stays picked (a Finalize must not move the selection under the
            # cursor); with none picked yet, the best of this render plays.
            shown = [entry for entry in saved if self.variants.entry(entry.id) is not None]
            if self.strips.current().selection:
                self._play_entry(self.strips.current().selection[-1])
            elif shown:
                self.variants.select(max(shown, key=lambda e: e.score if e.score is not None else -1).id)
            else:
                self.player.clear(self.render_progress.text())

    # -- clips: play, pick, compare, finalize, delete -----------------------------------------

    def selected_entries(self) -> list[Any]:
        """The clips selected in the strip on show."""
        return self.strips.current().selected_entries()

    @Slot(dict)
    def _on_thumbs_loaded(self, thumbs: dict) -> None:
        for strip in (self.variants, self.history_strip):
            strip.thumbs_arrived(list(thumbs))

    def _on_strip_changed(self, _: int) -> None:
        self.strips.refresh_history_if_stale()
        self._on_variant_selection(self.strips.current().selection)

    @Slot(list)
    def _on_variant_selection(self, ids: list) -> None:
        sender = self.sender()
        if sender in (self.variants, self.history_strip) and sender is not self.strips.current():
            return  # a selection in the strip that is not on show
        count = len(ids)
        for button in (self.star_button, self.finalize_button, self.delete_button, self.restore_button):
            button.setEnabled(count >= 1)
        self.compare_button.setEnabled(2 <= count <= MAX_COMPARED)
        for action, button in self._menu:
            action.setEnabled(button.isEnabled())
        self.views.setTabEnabled(2, 2 <= count <= MAX_COMPARED)
        if count:
            self._live = False
            self._play_entry(ids[-1])

    def _clip_on_show(self) -> Path | None:
        """The file of the clip the player shows, for a drag out (none while it shows a render's preview)."""
        if self._live or self._playing is None or not self.player.frame_count:
            return None
        return self._playing.mp4

    def _play_entry(self, entry_id: str) -> None:
        entry = self._find_entry(entry_id)
        if entry is None:
            return
        self.wipe.set_entry(entry)
        if self.views.currentWidget() is not self.phone:  # the phone plays the player's frames
            self.views.setCurrentWidget(self.player)
        self._playing = entry
        clip = self.clips.clip(entry_id)
        if clip is not None:
            self.player.set_frames(*clip)
            self.player.play()
            return
        self.player.clear(f"Loading {entry.mp4.name}…")
        self.clips.load(entry)

    @Slot(str, object, float)
    def _on_clip_loaded(self, entry_id: str, frames: Any, fps: float) -> None:
        selected = self.strips.current().selection
        if selected and selected[-1] == entry_id and not self._live:
            self.player.set_frames(frames, fps)
            self.player.play()
        if self.views.currentWidget() is self.compare:
            self.compare_selected(self._compared or None)

    def _find_entry(self, entry_id: str) -> ClipEntry | None:
        try:
            return self.studio.clip(entry_id)
        except KeyError:
            return None

    def _on_star_toggled(self, entry_id: str, starred: bool) -> None:
        entry = self._find_entry(entry_id)
        if entry is not None:
            self.undo.push(StarChange(self._apply_star, entry, starred))

    def _apply_star(self, entry_id: str, starred: bool) -> None:
        """A star set in either strip (or by a key, or undone) is saved and shown in both."""
        try:
            self.studio.star(entry_id, starred)
        except I2VError as exc:
            self.say(str(exc))
        for strip in (self.variants, self.history_strip):
            strip.set_starred(entry_id, starred)  # the strip it was set in shows it already

    def toggle_star(self) -> None:
        strip = self.strips.current()
        for entry in strip.selected_entries():
            self._on_star_toggled(entry.id, not strip.is_starred(entry.id))

    def compare_clips(self, entries: list[ClipEntry]) -> None:
        """Select `entries` (takes just rendered) in the strip on show and compare them."""
        strip = self.strips.current()
        shown = [entry for entry in entries if strip.entry(entry.id) is not None]
        for n, entry in enumerate(shown):
            strip.select(entry.id, extend=n > 0)
        self.compare_selected(entries)

    def compare_selected(self, entries: list[ClipEntry] | None = None) -> None:
        """Play the selected clips (or `entries`) side by side, labelled with what differs."""
        entries = self.strips.current().selected_entries() if entries is None else entries
        if not 2 <= len(entries) <= MAX_COMPARED:
            return
        missing = [e for e in entries if e.id not in self.clips.full]
        for entry in missing:
            self.clips.load(entry)
        self.views.setTabEnabled(2, True)
        self.views.setCurrentWidget(self.compare)
        self._compared = entries
        if not missing:
            full = self.clips.full
            names = {choice.id: choice.name for choice in self.studio.models(look=False)}
            names.update({preset.id: preset.name for preset in self.studio.presets()})
            labels = compare_labels(entries, names)
            self.compare.set_clips(*[(*full[e.id], label) for e, label in zip(entries, labels)])
            self.compare.play()

    def _pick_compared(self, index: int) -> None:
        """Pick one of the compared clips: starred, and played alone."""
        if index >= len(self._compared):
            return
        entry = self._compared[index]
        if not self.strips.current().is_starred(entry.id):
            self._on_star_toggled(entry.id, True)
        self.strips.current().select(entry.id)
        self.say(f"Picked {entry.mp4.name}")

    def finalize(self) -> None:
        """Re-render the selected clip with the model's full-quality settings and the same seed."""
        entries = self.strips.current().selected_entries()
        if not entries:
            return
        entry = entries[-1]
        try:
            request = entry.request()
        except I2VError as exc:
            self.say(f"{entry.mp4.name}: cannot finalize ({exc})")
            return
        self.finalizeRequested.emit(replace(request, quality="final", variants=1, seed=entry.seed))

    def delete_selected(self) -> None:
        """Move the selected clips to the trash; Undo brings them back."""
        entries = self.strips.current().selected_entries()
        if not entries:
            return
        for entry in entries:
            self.clips.forget(entry.id)
        self._playing = None
        self.player.clear("Moved to the trash (Ctrl+Z brings it back)")
        self.undo.delete(entries, self._offer_delete_for_good)

    def _offer_delete_for_good(self, line: str, entries: list[ClipEntry]) -> None:
        """Where there is no trash, a delete cannot be undone: ask first."""
        self.say(line, "warning")
        names = ", ".join(entry.mp4.name for entry in entries)
        answer = QMessageBox.question(self, "No trash", f"{line}.\n\nDelete {names} for good? This cannot be undone.")
        if answer == QMessageBox.StandardButton.Yes:
            self.undo.delete_for_good(entries)

    @Slot(list)
    def _on_clips_changed(self, restored: list) -> None:
        self.strips.clips_changed(restored, self.state.selected)

    def _restore_selected(self) -> None:
        entries = self.strips.current().selected_entries()
        if entries:
            self.restoreRequested.emit(str(entries[-1].mp4), entries[-1].record)

    # -- the views ----------------------------------------------------------------------------

    def toggle_playback(self) -> None:
        if self.views.currentWidget() is self.compare:
            self.compare.toggle()
        else:
            self.player.toggle()

    def show_framing_view(self) -> None:
        self.views.setCurrentWidget(self.framing)

    def show_preview(self) -> None:
        self.views.setCurrentWidget(self.player)

    def show_phone(self) -> None:
        self.views.setCurrentWidget(self.phone)
        self.phone.setFocus()

    def show_wipe(self, on: bool) -> None:
        """Before/after over the player: the clip's photo left of a divider, the clip right of it."""
        if on:
            self.views.setCurrentWidget(self.player)
        self.wipe.set_shown(on)

    def show_history(self) -> None:
        self.strips.setCurrentWidget(self.history_strip)

    def shutdown(self) -> None:
        self.player.pause()
        self.compare.pause()
        self.undo.shutdown()
