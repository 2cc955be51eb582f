"""Undo and redo for what a creator may regret: a delete, a star, a crop, keyframes.

A deleted clip's files go to the system's trash (QFile.moveToTrash) and the history forgets it;
Undo moves the files back and the history takes the same entry back, so it returns to the strip
where it was. The file moves run off the GUI thread, on a background queue of one thread, so an
undo right after a delete (or a redo right after an undo) runs after it, in order.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QFile, QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from ..core.errors import I2VError
from ..core.record import ClipEntry
from ..core.studio import Studio
from .background import Background

CROP_MERGE_S = 1.0  # crop moves closer together than this are one step (a drag, a burst of nudges)


class NoTrash(I2VError):
    """A clip's MP4 cannot go to the trash (the system or that disk has none): nothing was moved."""


@dataclass(frozen=True)
class Trashed:
    """A clip the history forgot, and where each of its files went: (where it was, where it is now)."""

    entry: ClipEntry
    moved: tuple[tuple[Path, Path], ...]


def move_to_trash(path: Path) -> Path:
    """Move one file to the trash and return where it lies there; NoTrash naming it and the reason."""
    file = QFile(str(path))
    if not file.moveToTrash():
        # Qt's errorString here is whatever errno was left over ("Bad file descriptor"): not a reason.
        raise NoTrash(f"{path}: cannot be moved to the trash (no usable trash folder for it)")
    return Path(file.fileName())


def back_from_trash(moved: Sequence[tuple[Path, Path]]) -> None:
    """Move trashed files back to where they were. A name taken again meanwhile is never overwritten."""
    for original, trashed in moved:
        if original.exists():
            raise I2VError(f"{original}: a file of that name is there again, so the clip stays in the trash")
        try:
            os.replace(trashed, original)
        except OSError as exc:
            raise I2VError(f"{trashed}: cannot come back from the trash ({exc.strerror or exc})") from None
        # A freedesktop trash describes each file in info/NAME.trashinfo: without its file it is clutter.
        info = trashed.parent.parent / "info" / f"{trashed.name}.trashinfo"
        if trashed.parent.name == "files" and info.is_file():
            info.unlink(missing_ok=True)


def trash_clips(studio: Studio, entries: Sequence[ClipEntry]) -> tuple[list[Trashed], str, list[ClipEntry]]:
    """*Slow.* Move each clip's files to the trash, then have the history forget it. Returns what went,
    the line saying why the rest did not ("" when all went), and the clips that found no trash (to
    offer deleting them for good)."""
    done: list[Trashed] = []
    for index, entry in enumerate(entries):
        moved: list[tuple[Path, Path]] = []
        try:
            for path in studio.clip_files(entry):
                if path.exists():  # a file gone already (a sidecar the user deleted) is no matter
                    moved.append((path, move_to_trash(path)))
            studio.forget(entry.id)
        except NoTrash as exc:
            back_from_trash(moved)
            if moved:  # the MP4 went and a sidecar did not: there is a trash, something else is wrong
                return done, str(exc), []
            return done, str(exc), list(entries[index:])
        except I2VError as exc:
            back_from_trash(moved)
            return done, str(exc), []
        done.append(Trashed(entry, tuple(moved)))
    return done, "", []


def restore_clips(studio: Studio, trashed: Sequence[Trashed]) -> list[ClipEntry]:
    """*Slow.* Bring trashed clips back: their files, then their history entries."""
    for clip in trashed:
        back_from_trash(clip.moved)
        studio.restore(clip.entry)
    return [clip.entry for clip in trashed]


class Undo(QObject):
    """The window's undo stack and the clip deletes it can take back.

    `clipsChanged(restored)` follows every delete, undo or redo that changed the history (the
    restored entries, to select them again, or [] after clips went); `failed(line)` tells why one
    could not be done."""

    clipsChanged = Signal(list)
    failed = Signal(str)

    def __init__(self, studio: Studio, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.studio = studio
        self.stack = QUndoStack(self)
        self.files = Background(self, threads=1)  # one thread: file moves happen in the order asked
        self._going: set[str] = set()  # ids of clips on their way to the trash

    def delete(self, entries: Sequence[ClipEntry], on_no_trash: Callable[[str, list[ClipEntry]], None]) -> None:
        """Move clips to the trash (undoable). Clips that find no trash go to `on_no_trash(line,
        entries)`, which may ask to delete them for good."""
        entries = [entry for entry in entries if entry.id not in self._going]  # a second Delete before the first ends
        if not entries:
            return
        self._going.update(entry.id for entry in entries)

        def done(result: tuple[list[Trashed], str, list[ClipEntry]]) -> None:
            self._going.difference_update(entry.id for entry in entries)
            trashed, line, homeless = result
            if trashed:
                self.stack.push(DeleteClips(self, trashed))
                self.clipsChanged.emit([])
            if homeless:
                on_no_trash(line, homeless)
            elif line:
                self.failed.emit(line)

        def errored(line: str) -> None:
            self._going.difference_update(entry.id for entry in entries)
            self.failed.emit(line)

        self.files.submit(lambda: trash_clips(self.studio, entries), done, errored, name="Move to trash")

    def delete_for_good(self, entries: Sequence[ClipEntry]) -> None:
        """Delete clips from the disk (not undoable: there is no trash to take them from)."""
        ids = [entry.id for entry in entries]

        def work() -> None:
            for entry_id in ids:
                self.studio.delete(entry_id)

        self.files.submit(work, lambda _: self.clipsChanged.emit([]), self.changed_then_failed, name="Delete")

    def changed_then_failed(self, line: str) -> None:
        """A move that stopped half-way (a second clip could not come back): what did change is shown."""
        self.clipsChanged.emit([])
        self.failed.emit(line)

    def push(self, command: QUndoCommand) -> None:
        self.stack.push(command)

    def shutdown(self) -> None:
        self.files.shutdown()


class DeleteClips(QUndoCommand):
    """Clips moved to the trash. It is pushed once the move is done, so its first redo does nothing."""

    def __init__(self, undo: Undo, trashed: list[Trashed]) -> None:
        names = ", ".join(clip.entry.mp4.name for clip in trashed)
        super().__init__(f"Delete {names}" if len(trashed) == 1 else f"Delete {len(trashed)} clips")
        self.undo_, self.trashed, self._pushed = undo, trashed, False

    def redo(self) -> None:
        if not self._pushed:
            self._pushed = True
            return
        undo, entries = self.undo_, [clip.entry for clip in self.trashed]

        def done(result: tuple[list[Trashed], str, list[ClipEntry]]) -> None:
            self.trashed, line, _ = result
            undo.clipsChanged.emit([])
            if line:
                undo.failed.emit(line)

        undo.files.submit(lambda: trash_clips(undo.studio, entries), done, undo.changed_then_failed,
                          name="Move to trash")

    def undo(self) -> None:
        undo, trashed = self.undo_, list(self.trashed)
        undo.files.submit(lambda: restore_clips(undo.studio, trashed), undo.clipsChanged.emit,
                          undo.changed_then_failed, name="Restore from trash")


class StarChange(QUndoCommand):
    """A clip picked or unpicked; `apply(entry_id, starred)` shows and saves a star."""

    def __init__(self, apply: Callable[[str, bool], Any], entry: ClipEntry, starred: bool) -> None:
        super().__init__(f"{'Pick' if starred else 'Unpick'} {entry.mp4.name}")
        self.apply, self.entry_id, self.starred = apply, entry.id, starred

    def redo(self) -> None:
        self.apply(self.entry_id, self.starred)

    def undo(self) -> None:
        self.apply(self.entry_id, not self.starred)


class _PhotoChange(QUndoCommand):
    """One setting of a photo changed; `apply(photo, value)` sets it. The steps of one drag, wheel
    turn or burst of nudges merge into one undo step (those of the same photo, under CROP_MERGE_S
    apart, that `_continues` accepts)."""

    ID = -1  # each kind its own, so that only changes of one kind merge

    def __init__(self, text: str, apply: Callable[[str, Any], Any], photo: str, before: Any,
                 after: Any) -> None:
        super().__init__(text)
        self.apply, self.photo, self.before, self.after = apply, photo, before, after
        self.at = time.monotonic()

    def id(self) -> int:
        return self.ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if (type(other) is not type(self) or other.photo != self.photo or other.at - self.at > CROP_MERGE_S
                or not self._continues(other)):
            return False
        self.after, self.at = other.after, other.at
        return True

    def _continues(self, other: _PhotoChange) -> bool:
        return True

    def redo(self) -> None:
        self.apply(self.photo, self.after)

    def undo(self) -> None:
        self.apply(self.photo, self.before)


class CropChange(_PhotoChange):
    """A photo's framing moved; `apply(photo, centre)` sets it (None: automatic, on the subject)."""

    ID = 1201

    def __init__(self, apply: Callable[[str, Any], Any], photo: str, before: Any, after: Any) -> None:
        super().__init__(f"Move the framing of {Path(photo).name}", apply, photo, before, after)


class KeyframesChange(_PhotoChange):
    """A photo's keyframed framings changed; `apply(photo, keys)` sets them (() : the preset's move).

    The steps of one drag, wheel turn or burst of nudges (`continuous`) merge into one undo step, as a
    crop move's do; adding or removing a framing, turning keyframes on or clearing them is a step
    of its own."""

    ID = 1202

    def __init__(self, apply: Callable[[str, Any], Any], photo: str, before: Any, after: Any,
                 continuous: bool) -> None:
        what = "Change the keyframes" if before and after else "Set keyframes" if after else "Clear the keyframes"
        super().__init__(f"{what} of {Path(photo).name}", apply, photo, before, after)
        self.continuous = continuous

    def _continues(self, other: _PhotoChange) -> bool:
        assert isinstance(other, KeyframesChange)
        return self.continuous and other.continuous and len(other.before) == len(self.after)
