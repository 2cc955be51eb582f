"""The history: every clip the app has rendered, kept under the user's data folder across restarts.

Layout under the history root (see `paths.history_dir`)::

    history.sqlite                    what is in the history (see `historydb`), and the render queue
    index.json                        the index of earlier versions: imported once, then kept as it was
    clips/YYYY-MM-DD/NAME.mp4         the clip, written by the caller into `new_clip_folder()`
    clips/YYYY-MM-DD/NAME.json        its sidecar (the clip record), also written by the caller
    clips/YYYY-MM-DD/NAME.thumbs.npz  a small looping strip of frames for the history panel
    thumbs/ID.thumbs.npz              the strip of a clip that lives outside the root

Users' disks are messy, and the clips' own files are the truth the database is checked against at
every start: a damaged database is moved aside (never destroyed) and rebuilt from the sidecars,
clips on disk that the database lacks are re-indexed, clips whose MP4 has vanished are dropped, and
a database from a newer version of the app is refused rather than changed. Each of these is one
line in `History.notices` (or the log, for a single vanished clip), for the window to show.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..core.durable import write_durably
from ..core.errors import os_reason
from ..core.record import ClipEntry, ClipRecord
from .historydb import DB_NAME, Damaged, HistoryError, damaged_name, open_store, transaction
from .opening import open_history
from .reindex import CLIPS, COLUMNS, INDEX_NAME, Layout, StoredRecord, plain
from .thumbs import THUMBS_SUFFIX, encode_thumbnails, read_thumbnails, strip_from_clip, thumbnail_frames

__all__ = ["DB_NAME", "INDEX_NAME", "THUMBS_SUFFIX", "History", "HistoryError", "atomic_write", "clip_files",
           "damaged_name", "encode_thumbnails", "read_thumbnails", "thumbnail_frames"]  # what other modules use
log = logging.getLogger(__name__)

READ_COLUMNS = "id, mp4, thumbs, photo, created, starred"


class History:
    """The history under `root`. Thread-safe: `add` runs on a worker thread while the GUI thread
    stars and removes; one lock orders every use of the one database connection. Other processes
    share the database through SQLite's own locks.

    Opening checks the database, imports an index of earlier versions once, and re-indexes clips
    found on disk (see the module's notes); `notices` then holds one line for each thing the user
    should hear about. The root folder is created only when something is written.
    Raises HistoryError when the database (or an index being imported) was written by a newer
    version of the app, or a damaged database cannot be moved aside.
    """

    def __init__(self, root: Path) -> None:
        self._root = Path(root).expanduser().resolve()
        self._layout = Layout(self._root)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self.notices: list[str] = []
        # Read cache: the entries as of the database's `data_version`. Records never change for an
        # id, so a re-read after another process's change reads only the new rows' records.
        self._records: dict[str, ClipRecord] = {}
        self._list: list[ClipEntry] | None = None
        self._by_id: dict[str, ClipEntry] = {}
        self._by_row: dict[tuple, ClipEntry] = {}
        self._seen_version: int | None = None
        self._open()

    @property
    def root(self) -> Path:
        return self._root

    @property
    def index_path(self) -> Path:
        """The database (the successor of the JSON index earlier versions kept)."""
        return self._root / DB_NAME

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- reading ---------------------------------------------------------------------------

    def entries(self) -> list[ClipEntry]:
        """Every clip, oldest first."""
        with self._lock:
            return list(self._current())

    def for_photo(self, photo: str) -> list[ClipEntry]:
        """The clips made from one photo (the same `request["image"]` string), oldest first."""
        with self._lock:
            return [entry for entry in self._current() if entry.photo == photo]

    def get(self, entry_id: str) -> ClipEntry:
        with self._lock:
            self._current()
            try:
                return self._by_id[entry_id]
            except KeyError:
                raise self._unknown(entry_id) from None

    def thumbnails(self, entry: ClipEntry) -> np.ndarray:
        """The entry's thumbnail strip as a (T, h, w, 3) uint8 RGB array. A clip re-indexed from its
        sidecar has none yet, and a strip can be damaged (a power cut, a disk error): the strip is
        only a picture of the MP4, so it is made again from the MP4, once, and kept."""
        try:
            return read_thumbnails(entry.thumbs)
        except HistoryError as missing:
            if not entry.mp4.is_file():
                raise
            try:
                frames = strip_from_clip(entry.mp4)
                atomic_write(entry.thumbs, encode_thumbnails(frames))
            except (HistoryError, ValueError):
                raise missing from None
            return frames

    # -- changing --------------------------------------------------------------------------

    def new_clip_folder(self) -> Path:
        """Today's folder for new clips (root/clips/YYYY-MM-DD), created if needed; dated folders
        keep any one folder small and let a user find last week's clips in a file manager."""
        folder = self._root / CLIPS / time.strftime("%Y-%m-%d")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(f"{folder}: cannot create the folder ({os_reason(exc)})") from None
        return folder

    def add(self, mp4: Path, record: ClipRecord, thumbs: np.ndarray) -> ClipEntry:
        """Put a saved clip into the history and return its entry.

        `record` is the clip record (its request's image is the group key); `thumbs` a (T, h, w, 3)
        uint8 RGB strip, see `thumbnail_frames`. The strip is written next to the MP4 (or under
        root/thumbs for an MP4 outside the root, to leave the user's own folders alone). Adding an
        MP4 that is already in the history replaces its entry: the file was rendered anew.
        Raises ValueError for arguments no user could have chosen, HistoryError for the disk.
        """
        path = Path(mp4).expanduser().resolve()
        if not isinstance(record, ClipRecord):
            raise ValueError(f"{path}: the clip record must be a ClipRecord, got {type(record).__name__}")
        record = ClipRecord(plain(record.data, "record"))
        photo = record.photo
        if not photo:
            raise ValueError(f"{path}: the clip record has no request.image to group it by")
        strip = encode_thumbnails(thumbs)
        if not path.is_file():
            raise HistoryError(f"{path}: no such file, so it cannot go into the history")
        entry_id = uuid.uuid4().hex
        entry = ClipEntry(entry_id, path, self._layout.thumbs_path(path, entry_id), photo, time.time(), record)
        atomic_write(entry.thumbs, strip)  # outside the lock: each clip has its own strip file
        row = self._layout.row(entry)

        replaced: list[Path] = []
        try:
            with self._lock, self._writing() as conn:
                replaced = [self._layout.resolved(stored) for (stored,) in
                            conn.execute("SELECT thumbs FROM clips WHERE mp4 = ?", (row[1],))]
                conn.execute("DELETE FROM clips WHERE mp4 = ?", (row[1],))
                conn.execute(f"INSERT INTO clips ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
                self._records[entry.id] = record
        except BaseException:
            if entry.thumbs not in replaced:
                _unlink_quietly(entry.thumbs)
            raise
        for old in replaced:
            if old != entry.thumbs:
                _unlink_quietly(old)
        return entry

    def set_starred(self, entry_id: str, starred: bool) -> ClipEntry:
        """Star or unstar a clip; returns the updated entry."""
        with self._lock, self._writing() as conn:
            if conn.execute("UPDATE clips SET starred = ? WHERE id = ?", (int(bool(starred)), entry_id)).rowcount == 0:
                raise self._unknown(entry_id)
            return self._read_entry(conn, entry_id)

    def remove(self, entry_id: str) -> None:
        """Delete a clip: its MP4, its sidecar .json and its thumbnail strip, then its entry.

        The MP4 goes first: if it cannot be deleted (open in a player on Windows, a read-only
        disk) nothing changes and HistoryError says why. Leftover sidecar or strip files are
        only logged, since the clip itself is gone.
        """
        with self._lock:
            entry = self.get(entry_id)
            mp4, *extras = clip_files(entry)
            try:
                mp4.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise HistoryError(f"{entry.mp4}: cannot delete the clip ({os_reason(exc)})") from None
            for extra in extras:
                try:
                    extra.unlink()
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    log.warning("history: could not delete %s (%s)", extra, os_reason(exc))
            # If the row cannot be deleted now, the next start drops it: its MP4 is gone.
            with self._writing() as conn:
                conn.execute("DELETE FROM clips WHERE id = ?", (entry_id,))

    def forget(self, entry_id: str) -> ClipEntry:
        """Take a clip out of the history and leave its files alone (a front end moved them to the
        trash); returns the entry, which `restore` puts back as it was."""
        with self._lock, self._writing() as conn:
            entry = self._read_entry(conn, entry_id)
            conn.execute("DELETE FROM clips WHERE id = ?", (entry_id,))
            return entry

    def restore(self, entry: ClipEntry) -> ClipEntry:
        """Put a forgotten clip back as it was (its id, time and star, so it lands where it was in
        any list sorted by them), once its MP4 is back on disk. HistoryError names the MP4 when it
        is not, or when the history holds that clip again already."""
        if not entry.mp4.is_file():
            raise HistoryError(f"{entry.mp4}: no such file, so the clip cannot come back into the history")
        row = self._layout.row(entry)
        with self._lock, self._writing() as conn:
            if conn.execute("SELECT 1 FROM clips WHERE id = ? OR mp4 = ?", (row[0], row[1])).fetchone():
                raise HistoryError(f"{entry.mp4}: is in the history already")
            conn.execute(f"INSERT INTO clips ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
            self._records[entry.id] = entry.record
            return entry

    # -- the database ----------------------------------------------------------------------

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One transaction on the database (created now if this is the first write); sqlite3's
        errors become one HistoryError line naming the file. Caller holds the lock."""
        conn = self._connection(create=True)
        assert conn is not None
        try:
            with transaction(conn):
                yield conn
        except sqlite3.Error as exc:
            raise HistoryError(f"{self.index_path}: cannot be written ({exc})") from None
        finally:
            self._list = None  # our own commits leave data_version as it was: read again

    def _connection(self, create: bool) -> sqlite3.Connection | None:
        if self._conn is None and (create or self.index_path.exists()):
            try:
                self._root.mkdir(parents=True, exist_ok=True)
                self._conn = open_store(self.index_path)
            except OSError as exc:
                raise HistoryError(f"{self._root}: cannot create the folder ({os_reason(exc)})") from None
            except (Damaged, sqlite3.Error) as exc:
                raise HistoryError(f"{self.index_path}: cannot be opened ({exc})") from None
        return self._conn

    def _current(self) -> list[ClipEntry]:
        """The entries, read again only when the database changed since (caller holds the lock)."""
        conn = self._connection(create=False)
        if conn is None:
            return []
        try:
            version = conn.execute("PRAGMA data_version").fetchone()[0]  # changes with other connections' commits
            if self._list is not None and version == self._seen_version:
                return self._list
            conn.execute("BEGIN")  # one snapshot for both reads: another process may delete rows between them
            try:
                rows = conn.execute(f"SELECT {READ_COLUMNS} FROM clips ORDER BY created, rowid").fetchall()
                missing = [row[0] for row in rows if row[0] not in self._records]
                for start in range(0, len(missing), 500):
                    chunk = missing[start : start + 500]
                    marks = ", ".join("?" * len(chunk))
                    for entry_id, text in conn.execute(f"SELECT id, record FROM clips WHERE id IN ({marks})", chunk):
                        self._records[entry_id] = StoredRecord(text)
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise HistoryError(f"{self.index_path}: cannot be read ({exc})") from None
        # An unchanged row keeps its entry: a re-read after one change builds one entry, not all.
        by_row = self._by_row
        entries = [by_row.get(row) or self._layout.entry(row, self._records[row[0]]) for row in rows]
        self._by_row = dict(zip(rows, entries))
        self._list, self._by_id, self._seen_version = entries, {e.id: e for e in entries}, version
        if len(self._records) > 2 * len(entries) + 100:  # forgotten rows' records: let them go
            self._records = {e.id: e.record for e in entries}
        return entries

    def _read_entry(self, conn: sqlite3.Connection, entry_id: str) -> ClipEntry:
        row = conn.execute(f"SELECT {READ_COLUMNS}, record FROM clips WHERE id = ?", (entry_id,)).fetchone()
        if row is None:
            raise self._unknown(entry_id)
        record = self._records.get(entry_id) or StoredRecord(row[-1])
        return self._layout.entry(row[:-1], record)

    def _unknown(self, entry_id: str) -> HistoryError:
        return HistoryError(f"{self.index_path}: no clip with id {entry_id!r} in the history")

    def _open(self) -> None:
        self._conn, self.notices = open_history(self._layout, self.index_path)


# -- helpers ---------------------------------------------------------------------------------


def clip_files(entry: ClipEntry) -> tuple[Path, ...]:
    """The files a clip of the history is made of: its MP4 first, then its sidecar and its strip."""
    return entry.mp4, entry.mp4.with_suffix(".json"), entry.thumbs


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` durably (`core.durable`): readers see the old file or the new one and
    never half of one. HistoryError names the file and the reason."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HistoryError(f"{folder}: cannot create the folder ({os_reason(exc)})") from None
    try:
        write_durably(path, data)
    except OSError as exc:
        raise HistoryError(f"{path}: cannot be written ({os_reason(exc)})") from None


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass

