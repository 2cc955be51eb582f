"""The clips under the player: the selected photo's variants and the whole history, one strip each
on a tab, kept in step with the studio without moving a card under the user."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QTabWidget, QWidget

from ..core.record import ClipEntry
from ..core.studio import Studio
from .background import Background
from .clips import ClipCache, cell_label, clip_tip, is_final
from .variants import VariantStrip


class Shelf(QTabWidget):
    """`failed(line)`: the history could not be read."""

    failed = Signal(str)

    def __init__(self, studio: Studio, background: Background, clips: ClipCache,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.studio, self.background = studio, background
        names = {preset.id: preset.name for preset in studio.presets()}
        self.variants = VariantStrip("Clips of the selected photo appear here", label=lambda e: cell_label(e, False),
                                     tip=lambda e: clip_tip(e, names), thumbs=clips.thumbnails, is_final=is_final)
        self.variants.setAccessibleName("Variants")
        self.history = VariantStrip("Every clip you make is kept here", label=lambda e: cell_label(e, True),
                                    tip=lambda e: clip_tip(e, names), thumbs=clips.thumbnails, is_final=is_final)
        self.history.setAccessibleName("History")
        self.setDocumentMode(True)
        self.addTab(self.variants, "Variants")
        self.addTab(self.history, "History")
        self._history_stale = True
        self._history_asked = self._history_shown = 0  # reads of the history asked for, and the one on show
        self._deleted_rows: dict[str, dict[VariantStrip, int]] = {}  # where each deleted clip was, for an undo

    def current(self) -> VariantStrip:
        """The strip on show."""
        return self.history if self.currentWidget() is self.history else self.variants

    def strips(self) -> tuple[VariantStrip, VariantStrip]:
        return self.variants, self.history

    def show_photo(self, photo: str | None) -> None:
        """The photo's clips, best first. Only when the photo changes: clips made while it is on
        show join at the end instead (`add`), so nothing moves under the cursor."""
        entries = self.studio.clips(photo) if photo else []
        self.variants.set_entries(sorted(entries, key=lambda e: (-(e.score if e.score is not None else -1),
                                                                 -e.created)))

    def add(self, entry: ClipEntry, of_shown_photo: bool) -> None:
        """A clip just made: at the end of the variants (the cards the user looks at stay put) and
        at the front of the history."""
        if of_shown_photo:
            self.variants.append(entry)
        if self._history_stale or self._history_shown != self._history_asked:
            self.refresh_history()  # not filled yet, or a read in flight that may miss this clip
        else:
            self.history.prepend(entry)

    def refresh_history(self) -> None:
        """The History tab, newest first; read off the GUI thread when it is on show, so neither
        start-up nor opening the tab waits on a long history."""
        if self.currentWidget() is not self.history:
            self._history_stale = True
            return
        self._history_stale = False
        self._history_asked += 1
        asked, studio = self._history_asked, self.studio
        self.background.submit(lambda: sorted(studio.clips(), key=lambda e: -e.created),
                               lambda entries: self._on_history_read(asked, entries), self.failed.emit,
                               name="history")

    def refresh_history_if_stale(self) -> None:
        if self._history_stale:
            self.refresh_history()

    def _on_history_read(self, asked: int, entries: list[Any]) -> None:
        if asked == self._history_asked:  # else a newer read is on its way
            self._history_shown = asked
            self.history.set_entries(entries)

    def clips_changed(self, restored: list[ClipEntry], shown_photo: str | None) -> None:
        """After a delete (or its redo) the gaps close and no other card moves; clips back from the
        trash go back to the rows they left, selected again."""
        if not restored:
            for strip in self.strips():
                gone = {entry.id: row for row, entry in enumerate(strip.entries()) if not self._known(entry.id)}
                for entry_id, row in gone.items():
                    self._deleted_rows.setdefault(entry_id, {})[strip] = row
                strip.remove(list(gone))
            return
        for entry in sorted(restored, key=lambda e: min(self._deleted_rows.get(e.id, {}).values(), default=0)):
            rows = self._deleted_rows.pop(entry.id, {})
            if entry.photo == shown_photo:
                self.variants.insert(rows.get(self.variants, len(self.variants.entries())), entry)
            if self.history in rows:
                self.history.insert(rows[self.history], entry)
            else:
                self.refresh_history()
        for index, entry in enumerate(restored):
            self.current().select(entry.id, extend=index > 0)

    def _known(self, entry_id: str) -> bool:
        try:
            self.studio.clip(entry_id)
        except KeyError:
            return False
        return True
