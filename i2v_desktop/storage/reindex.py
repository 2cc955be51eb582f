"""What the history database is filled from besides `History.add`: the JSON index that earlier
versions kept (imported once), and the clips' own files on disk (each clip's sidecar beside its MP4
holds its whole record), which rebuild a lost or damaged database and pick up clips that never made
it into the database (a process killed between saving a clip and recording it).

Rows are plain tuples in the column order of the `clips` table (see `historydb`). Paths inside the
history root are stored relative to it with forward slashes, so a data folder that is moved or
synced to another machine still works; a clip outside the root is stored with its absolute path.
"""

from __future__ import annotations

import json
import logging
import math
import os
import posixpath
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..core.errors import InputError
from ..core.record import ClipEntry, ClipRecord, freeze, is_real
from .historydb import Damaged, newer
from .thumbs import THUMBS_SUFFIX

log = logging.getLogger("i2v_desktop.storage.history")

LEGACY_SCHEMA = "i2v_desktop.history"
LEGACY_VERSION = 1
INDEX_NAME = "index.json"
CLIPS = "clips"
Row = tuple[str, str, str, "str | None", str, float, int, str]  # id, mp4, thumbs, folder, photo, created, starred, record
COLUMNS = "id, mp4, thumbs, folder, photo, created, starred, record"


class Layout:
    """Where a clip's files are under one history root, and how their paths are stored."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def stored(self, path: Path) -> str:
        if path.is_relative_to(self.root):
            return path.relative_to(self.root).as_posix()
        return str(path)

    def resolved(self, stored: str) -> Path:
        return Path(stored) if os.path.isabs(stored) else self.root / stored

    def thumbs_path(self, mp4: Path, entry_id: str) -> Path:
        """Next to the MP4 inside the root; under root/thumbs for one outside (the user's own folders
        are left alone)."""
        if mp4.is_relative_to(self.root):
            return mp4.with_name(mp4.stem + THUMBS_SUFFIX)
        return self.root / "thumbs" / f"{entry_id}{THUMBS_SUFFIX}"

    def row(self, entry: ClipEntry) -> Row:
        mp4 = self.stored(entry.mp4)
        return (entry.id, mp4, self.stored(entry.thumbs), folder_of(mp4), entry.photo, float(entry.created),
                int(entry.starred), record_text(entry.record))

    def entry(self, row: tuple, record: ClipRecord) -> ClipEntry:
        entry_id, mp4, thumbs, photo, created, starred = row
        return ClipEntry(entry_id, self.resolved(mp4), self.resolved(thumbs), photo, float(created), record,
                         starred=bool(starred))


class StoredRecord(ClipRecord):
    """A record as the database holds it (JSON text), parsed and frozen the first time it is used.

    Reading ten thousand entries must not parse ten thousand records (about 0.15 ms each, most of it
    making them read-only): a list shows a few hundred, and most callers look at none. Two threads
    parsing the same record at once both get an equal copy; the later one is kept."""

    def __init__(self, text: str) -> None:  # noqa: D107 - no dataclass __init__: nothing parsed yet
        object.__setattr__(self, "_text", text)

    @property
    def data(self) -> Mapping[str, Any]:  # type: ignore[override]
        parsed = self.__dict__.get("_data")
        if parsed is None:
            try:
                value = json.loads(self._text)
            except ValueError:
                value = None
            if not isinstance(value, dict):
                # Only a hand-edited database gets here: the entry stays, without its settings.
                log.warning("history: a clip's record in the database is not JSON; showing it without its settings")
                value = {}
            parsed = freeze(value)
            object.__setattr__(self, "_data", parsed)
        return parsed

    def __eq__(self, other: object) -> bool:  # equal to a plain ClipRecord with the same data
        return self.data == other.data if isinstance(other, ClipRecord) else NotImplemented

    __hash__ = None  # type: ignore[assignment] - like ClipRecord's: its data is a mutable-looking mapping

    def __reduce__(self):  # a ClipRecord wherever it goes (a worker process): parsed, plain
        return ClipRecord, (self.to_dict(),)


def folder_of(stored_mp4: str) -> str | None:
    """The folder a stored MP4 path is in, relative to the root; None for a clip outside it."""
    return None if Path(stored_mp4).is_absolute() else posixpath.dirname(stored_mp4)


def record_text(record: ClipRecord) -> str:
    return json.dumps(record.to_dict(), ensure_ascii=False, allow_nan=False)


# -- the JSON index of earlier versions ---------------------------------------------------------


class Legacy(NamedTuple):
    rows: list[Row]
    unreadable: int  # entries that are not entries (kept in the file, which is never rewritten)
    gone: int  # entries whose MP4 is no longer on disk


def read_legacy_index(layout: Layout, path: Path) -> Legacy:
    """The clips in the JSON index at `path`. Raises Damaged (why) for a file that is not a usable
    index, HistoryError for one from a newer version, OSError when it cannot be read."""
    raw = path.read_bytes()
    try:
        document = json.loads(raw.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError is a ValueError too
        raise Damaged("not valid JSON") from None
    if not isinstance(document, dict) or document.get("schema") != LEGACY_SCHEMA:
        raise Damaged(f"not a {LEGACY_SCHEMA} file")
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise Damaged(f"unknown version {version!r}")
    if version > LEGACY_VERSION:
        raise newer(path, version, LEGACY_VERSION)
    items = document.get("entries")
    if not isinstance(items, list):
        raise Damaged("no list of entries")

    rows: list[Row] = []
    seen_ids: set[str] = set()
    seen_mp4: set[str] = set()
    unreadable = gone = 0
    for item in items:
        entry = _legacy_entry(layout, item)
        if entry is None or entry.id in seen_ids:
            unreadable += 1
            continue
        seen_ids.add(entry.id)
        if not entry.mp4.is_file():
            log.warning("history: %s is gone; dropping it from the history", entry.mp4)
            gone += 1
            continue
        row = layout.row(entry)
        if row[1] in seen_mp4:  # the same clip twice: the later entry is the newer render
            rows = [old for old in rows if old[1] != row[1]]
        seen_mp4.add(row[1])
        rows.append(row)
    return Legacy(rows, unreadable, gone)


def _legacy_entry(layout: Layout, item: object) -> ClipEntry | None:
    """One index entry, or None when it is not usable. Unknown keys are ignored."""
    if not isinstance(item, dict):
        return None
    entry_id, mp4, created, record = item.get("id"), item.get("mp4"), item.get("created"), item.get("record")
    if not (isinstance(entry_id, str) and entry_id and isinstance(mp4, str) and mp4):
        return None
    if not is_real(created) or not isinstance(record, dict):
        return None
    clip_record = ClipRecord(plain(record, "record"))
    mp4_path = layout.resolved(mp4)
    thumbs = item.get("thumbs")
    thumbs_path = layout.resolved(thumbs) if isinstance(thumbs, str) and thumbs else layout.thumbs_path(mp4_path, entry_id)
    photo = item.get("photo")
    if not isinstance(photo, str):
        photo = clip_record.photo
        if photo is None:
            return None
    return ClipEntry(entry_id, mp4_path, thumbs_path, photo, float(created), clip_record,
                     starred=item.get("starred", False) is True)


# -- the clips' own files -----------------------------------------------------------------------


class Scan(NamedTuple):
    found: list[Row]  # clips on disk with a sidecar that the database lacks
    gone: list[str]  # ids of rows whose MP4 is no longer on disk
    skipped: dict[str, int]  # stored MP4 -> its sidecar's time, for clips whose sidecar is not a record
    unreadable: int  # of those, the ones seen (and logged) for the first time


def scan_folder(layout: Layout, folder: str, names: list[str], known: Mapping[str, str],
                skipped: Mapping[str, int]) -> Scan:
    """Compare one folder's listing (`names`) with the database's rows in it (`known`: stored MP4 ->
    id). A row is gone only when its MP4 is missing on a second look: the listing may predate it.
    A clip `skipped` before is tried again only when its sidecar changed since."""
    listed = set(names)
    found: list[Row] = []
    now_skipped: dict[str, int] = {}
    unreadable = 0
    for name in sorted(listed):
        if name.startswith(".") or not name.endswith(".mp4"):
            continue  # hidden temporary parts of a clip being written
        stored = f"{folder}/{name}"
        sidecar = name[: -len(".mp4")] + ".json"
        if stored in known or sidecar not in listed:
            continue
        try:
            sidecar_ns = (layout.root / folder / sidecar).stat().st_mtime_ns
        except OSError:
            continue  # gone since the listing
        if skipped.get(stored) == sidecar_ns:
            now_skipped[stored] = sidecar_ns
            continue
        row = sidecar_row(layout, layout.root / folder / name, stored, folder)
        if row is None:
            now_skipped[stored] = sidecar_ns
            unreadable += 1
        else:
            found.append(row)
    gone = []
    for stored, entry_id in known.items():
        if posixpath.basename(stored) not in listed and not layout.resolved(stored).exists():
            log.warning("history: %s is gone; dropping it from the history", layout.resolved(stored))
            gone.append(entry_id)
    return Scan(found, gone, now_skipped, unreadable)


def sidecar_row(layout: Layout, mp4: Path, stored: str, folder: str | None) -> Row | None:
    """A new row for a clip from its sidecar (its record), dated by its MP4; None, logged, when the
    sidecar is not a usable clip record."""
    sidecar = mp4.with_suffix(".json")
    try:
        record = ClipRecord.from_dict(json.loads(sidecar.read_text(encoding="utf-8")), str(sidecar))
        created = mp4.stat().st_mtime
    except (OSError, ValueError, InputError) as exc:
        log.warning("history: %s: not a readable clip record (%s); %s stays out of the history",
                    sidecar, type(exc).__name__, mp4.name)
        return None
    record = ClipRecord(plain(record.data, "record"))
    if record.photo is None:
        log.warning("history: %s: the record names no photo; %s stays out of the history", sidecar, mp4.name)
        return None
    entry_id = uuid.uuid4().hex
    thumbs = layout.stored(layout.thumbs_path(mp4, entry_id))
    return (entry_id, stored, thumbs, folder, record.photo, created, 0, record_text(record))


def plain(value: Any, where: str) -> Any:
    """A deep copy of `value` as plain JSON data. Numpy scalars and paths become numbers and text,
    and a non-finite float becomes None: a NaN score must not cost the user a history entry."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.generic):
        return plain(value.item(), where)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        copy = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: key {key!r} is not text")
            copy[key] = plain(item, f"{where}.{key}")
        return copy
    if isinstance(value, (list, tuple)):
        return [plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise ValueError(f"{where}: a {type(value).__name__} cannot be stored as JSON")
