"""The history: every clip the app has rendered, kept under the user's data folder across restarts.

Layout under the history root (see `paths.history_dir`)::

    index.json                        what is in the history (schema "i2v_desktop.history")
    clips/YYYY-MM-DD/NAME.mp4         the clip, written by the caller into `new_clip_folder()`
    clips/YYYY-MM-DD/NAME.json        its sidecar (the clip record), also written by the caller
    clips/YYYY-MM-DD/NAME.thumbs.npz  a small looping strip of frames for the history panel
    thumbs/ID.thumbs.npz              the strip of a clip that lives outside the root

The index is the only file this module rewrites; it is rewritten atomically on every change, so a
crash or a full disk leaves the previous index intact. Paths inside the root are stored relative
to it (with forward slashes), so a data folder that is moved or synced to another machine still
works. Users' disks are messy: a damaged index is moved aside (never destroyed) and the history
starts empty, clips whose MP4 has vanished are dropped on load, and an index from a newer version
of the app is refused rather than overwritten with less than it holds.

Thumbnail strips are one uncompressed `.npz` (no pickle) holding every frame JPEG-encoded back to
back plus the offsets between them: a 48-frame strip at 192 px is a few hundred kilobytes instead
of several megabytes raw, and reads back in milliseconds, which matters when the history panel
opens with hundreds of clips.
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
import secrets
import threading
import time
import uuid
import zipfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..core.errors import I2VError, os_reason
from ..core.record import ClipEntry, ClipRecord, is_real

log = logging.getLogger(__name__)

SCHEMA = "i2v_desktop.history"
VERSION = 1
INDEX_NAME = "index.json"
THUMBS_SUFFIX = ".thumbs.npz"
THUMBS_FORMAT = 1
JPEG_QUALITY = 85


class HistoryError(I2VError):
    """The history index or a thumbnail strip cannot be used (the message names the file and why)."""


class History:
    """The history under `root`. Thread-safe: `add` runs on a worker thread while the GUI thread
    stars and removes; one lock orders every change and every rewrite of the index.

    The index is read once, here; the root folder is created only when something is written.
    Raises HistoryError when the index was written by a newer version of the app.
    """

    def __init__(self, root: Path) -> None:
        self._root = Path(root).expanduser().resolve()
        self._lock = threading.RLock()
        self._unmoved_damage: str | None = None  # a damaged index we could not move aside yet
        self._copy_before_save = False  # the index had entries we could not read: keep it before rewriting
        self._entries: list[ClipEntry] = self._load()

    @property
    def root(self) -> Path:
        return self._root

    @property
    def index_path(self) -> Path:
        return self._root / INDEX_NAME

    # -- reading ---------------------------------------------------------------------------

    def entries(self) -> list[ClipEntry]:
        """Every clip, oldest first."""
        with self._lock:
            return list(self._entries)

    def for_photo(self, photo: str) -> list[ClipEntry]:
        """The clips made from one photo (the same `request["image"]` string), oldest first."""
        with self._lock:
            return [entry for entry in self._entries if entry.photo == photo]

    def get(self, entry_id: str) -> ClipEntry:
        with self._lock:
            return self._entries[self._position(entry_id)]

    def thumbnails(self, entry: ClipEntry) -> np.ndarray:
        """The entry's thumbnail strip as a (T, h, w, 3) uint8 RGB array."""
        return read_thumbnails(entry.thumbs)

    # -- changing --------------------------------------------------------------------------

    def new_clip_folder(self) -> Path:
        """Today's folder for new clips (root/clips/YYYY-MM-DD), created if needed; dated folders
        keep any one folder small and let a user find last week's clips in a file manager."""
        folder = self._root / "clips" / time.strftime("%Y-%m-%d")
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
        record = ClipRecord(_plain(record.data, "record"))
        photo = record.photo
        if not photo:
            raise ValueError(f"{path}: the clip record has no request.image to group it by")
        strip = encode_thumbnails(thumbs)
        if not path.is_file():
            raise HistoryError(f"{path}: no such file, so it cannot go into the history")
        entry_id = uuid.uuid4().hex
        thumbs_path = self._thumbs_path(path, entry_id)
        atomic_write(thumbs_path, strip)  # outside the lock: each clip has its own strip file

        with self._lock:
            previous = self._entries
            replaced = [old for old in previous if old.mp4 == path]
            entry = ClipEntry(entry_id, path, thumbs_path, photo, time.time(), record)
            self._entries = [old for old in previous if old.mp4 != path] + [entry]
            try:
                self._save()
            except BaseException:
                self._entries = previous
                if all(old.thumbs != thumbs_path for old in replaced):
                    _unlink_quietly(thumbs_path)
                raise
        for old in replaced:
            if old.thumbs != thumbs_path:
                _unlink_quietly(old.thumbs)
        return entry

    def set_starred(self, entry_id: str, starred: bool) -> ClipEntry:
        """Star or unstar a clip; returns the updated entry."""
        with self._lock:
            position = self._position(entry_id)
            previous = self._entries
            entry = replace(previous[position], starred=bool(starred))
            self._commit(previous[:position] + [entry] + previous[position + 1 :])
            return entry

    def remove(self, entry_id: str) -> None:
        """Delete a clip: its MP4, its sidecar .json and its thumbnail strip, then its entry.

        The MP4 goes first: if it cannot be deleted (open in a player on Windows, a read-only
        disk) nothing changes and HistoryError says why. Leftover sidecar or strip files are
        only logged, since the clip itself is gone.
        """
        with self._lock:
            entry = self._entries[self._position(entry_id)]
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
            # The MP4 is gone whatever happens to the index now: an index still naming it would
            # lose the entry on the next load anyway.
            self._entries = [other for other in self._entries if other.id != entry_id]
            self._save()

    def forget(self, entry_id: str) -> ClipEntry:
        """Take a clip out of the history and leave its files alone (a front end moved them to the
        trash); returns the entry, which `restore` puts back as it was."""
        with self._lock:
            entry = self._entries[self._position(entry_id)]
            self._commit([other for other in self._entries if other.id != entry_id])
            return entry

    def restore(self, entry: ClipEntry) -> ClipEntry:
        """Put a forgotten clip back as it was (its id, time and star, so it lands where it was in
        any list sorted by them), once its MP4 is back on disk. HistoryError names the MP4 when it
        is not, or when the history holds that clip again already."""
        if not entry.mp4.is_file():
            raise HistoryError(f"{entry.mp4}: no such file, so the clip cannot come back into the history")
        with self._lock:
            previous = self._entries
            if any(other.id == entry.id or other.mp4 == entry.mp4 for other in previous):
                raise HistoryError(f"{entry.mp4}: is in the history already")
            self._commit(sorted([*previous, entry], key=lambda other: other.created))
            return entry

    # -- the index -------------------------------------------------------------------------

    def _commit(self, entries: list[ClipEntry]) -> None:
        """The history becomes `entries`, on disk too; if the index cannot be written, it stays as
        it was (caller holds the lock)."""
        previous, self._entries = self._entries, entries
        try:
            self._save()
        except BaseException:
            self._entries = previous
            raise

    def _position(self, entry_id: str) -> int:
        for position, entry in enumerate(self._entries):
            if entry.id == entry_id:
                return position
        raise HistoryError(f"{self.index_path}: no clip with id {entry_id!r} in the history")

    def _thumbs_path(self, mp4: Path, entry_id: str) -> Path:
        if mp4.is_relative_to(self._root):
            return mp4.with_name(mp4.stem + THUMBS_SUFFIX)
        return self._root / "thumbs" / f"{entry_id}{THUMBS_SUFFIX}"

    def _stored(self, path: Path) -> str:
        """How a path goes into the index: relative to the root where it can be."""
        if path.is_relative_to(self._root):
            return path.relative_to(self._root).as_posix()
        return str(path)

    def _resolved(self, stored: str) -> Path:
        path = Path(stored)
        return path if path.is_absolute() else self._root / path

    def _save(self) -> None:
        """Rewrite the index from memory. Called with the lock held."""
        path = self.index_path
        if self._unmoved_damage is not None:
            self._set_aside(self._unmoved_damage)  # never write over a damaged index we could not keep
            if self._unmoved_damage is not None:
                raise HistoryError(
                    f"{path}: is damaged and cannot be moved aside, so it is not overwritten; move it away"
                )
        if self._copy_before_save:
            self._keep_copy(path)
            self._copy_before_save = False
        document = {
            "schema": SCHEMA,
            "version": VERSION,
            "entries": [
                {
                    "id": entry.id,
                    "mp4": self._stored(entry.mp4),
                    "thumbs": self._stored(entry.thumbs),
                    "photo": entry.photo,
                    "created": entry.created,
                    "starred": entry.starred,
                    "record": entry.record.to_dict(),
                }
                for entry in self._entries
            ],
        }
        text = json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False)
        atomic_write(path, (text + "\n").encode("utf-8"))

    def _load(self) -> list[ClipEntry]:
        path = self.index_path
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            self._set_aside(f"cannot be read ({os_reason(exc)})")
            return []
        try:
            document = json.loads(raw.decode("utf-8"))
        except ValueError:  # UnicodeDecodeError is a ValueError too
            self._set_aside("not valid JSON")
            return []
        if not isinstance(document, dict) or document.get("schema") != SCHEMA:
            self._set_aside(f"not a {SCHEMA} file")
            return []
        version = document.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            self._set_aside(f"unknown version {version!r}")
            return []
        if version > VERSION:
            raise HistoryError(
                f"{path}: written by a newer version of i2v_desktop (history version {version}, this app "
                f"reads {VERSION}); update the app to open it"
            )
        items = document.get("entries")
        if not isinstance(items, list):
            self._set_aside("no list of entries")
            return []

        entries: list[ClipEntry] = []
        seen: set[str] = set()
        malformed = 0
        for item in items:
            entry = self._parse(item)
            if entry is None or entry.id in seen:
                malformed += 1
                continue
            seen.add(entry.id)
            if not entry.mp4.is_file():
                log.warning("history: %s is gone; dropping it from the history", entry.mp4)
                continue
            entries.append(entry)
        if malformed:
            # The rest of the index is fine; the first change rewrites it without the entries we could
            # not read, so a copy of the original is kept aside first.
            log.warning("history: %s: skipped %d unreadable entries", path, malformed)
            self._copy_before_save = True
        entries.sort(key=lambda entry: entry.created)  # stable: equal times keep the index's order
        return entries

    def _parse(self, item: object) -> ClipEntry | None:
        """One index entry, or None when it is not usable. Unknown keys are ignored."""
        if not isinstance(item, dict):
            return None
        entry_id, mp4 = item.get("id"), item.get("mp4")
        created, record = item.get("created"), item.get("record")
        if not (isinstance(entry_id, str) and entry_id and isinstance(mp4, str) and mp4):
            return None
        if not is_real(created) or not isinstance(record, dict):
            return None
        clip_record = ClipRecord(_plain(record, "record"))
        mp4_path = self._resolved(mp4)
        thumbs = item.get("thumbs")
        if isinstance(thumbs, str) and thumbs:
            thumbs_path = self._resolved(thumbs)
        else:
            thumbs_path = self._thumbs_path(mp4_path, entry_id)
        photo = item.get("photo")
        if not isinstance(photo, str):
            photo = clip_record.photo
            if photo is None:
                return None
        starred = item.get("starred", False)
        return ClipEntry(entry_id, mp4_path, thumbs_path, photo, float(created), clip_record,
                         starred=starred is True)

    def _set_aside(self, reason: str) -> None:
        """Move a damaged index out of the way (index.json.damaged-<timestamp>) so it is kept."""
        path = self.index_path
        target = damaged_name(path)
        try:
            os.replace(path, target)
        except FileNotFoundError:
            self._unmoved_damage = None  # someone else moved it; nothing left to protect
            return
        except OSError as exc:
            self._unmoved_damage = reason
            log.warning("history: %s is damaged (%s) and could not be moved aside (%s); starting empty",
                        path, reason, os_reason(exc))
            return
        self._unmoved_damage = None
        log.warning("history: %s is damaged (%s); kept as %s, starting with an empty history",
                    path, reason, target.name)

    def _keep_copy(self, path: Path) -> None:
        target = damaged_name(path)
        try:
            atomic_write(target, path.read_bytes())
        except FileNotFoundError:
            return
        except OSError as exc:
            raise HistoryError(f"{path}: cannot keep a copy before rewriting it ({os_reason(exc)})") from None
        log.warning("history: the index with unreadable entries is kept as %s", target.name)


# -- thumbnail strips ------------------------------------------------------------------------


def thumbnail_frames(frames: np.ndarray, fps: float, width: int = 192, max_frames: int = 48) -> np.ndarray:
    """A small strip for the history panel from a full (T, H, W, 3) uint8 RGB clip.

    Takes at most `max_frames` frames spread evenly over the clip's whole duration (each is the
    frame showing at the middle of its share of time, so the strip loops like the clip), resized
    with INTER_AREA to `width` with the aspect kept and an even height. Played back over the
    clip's duration (T / fps seconds) it moves at the clip's pace.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise ValueError(f"frames must be a non-empty (T, H, W, 3) uint8 array, got {frames.dtype} "
                         f"{frames.shape}")
    if not _positive_number(fps):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    if isinstance(width, bool) or not isinstance(width, int) or width < 2:
        raise ValueError(f"width must be a whole number of at least 2, got {width!r}")
    if isinstance(max_frames, bool) or not isinstance(max_frames, int) or max_frames < 1:
        raise ValueError(f"max_frames must be a whole number of at least 1, got {max_frames!r}")

    total = len(frames)
    count = min(total, max_frames)
    duration = total / fps
    times = (np.arange(count) + 0.5) * (duration / count)  # the middle of each share of the clip
    picks = np.minimum((times * fps).astype(np.int64), total - 1)

    source_height, source_width = frames.shape[1:3]
    height = max(2, round(source_height * width / source_width / 2) * 2)
    out = np.empty((count, height, width, 3), np.uint8)
    for i, pick in enumerate(picks):
        out[i] = cv2.resize(np.ascontiguousarray(frames[pick]), (width, height), interpolation=cv2.INTER_AREA)
    return out


def encode_thumbnails(thumbs: np.ndarray) -> bytes:
    """A thumbnail strip as the bytes of its .npz file: each frame a JPEG, back to back."""
    thumbs = np.asarray(thumbs)
    if thumbs.ndim != 4 or thumbs.shape[-1] != 3 or thumbs.dtype != np.uint8 or 0 in thumbs.shape:
        raise ValueError(f"thumbs must be a non-empty (T, h, w, 3) uint8 array, got {thumbs.dtype} "
                         f"{thumbs.shape}")
    encoded = []
    for frame in thumbs:
        bgr = np.ascontiguousarray(frame[..., ::-1])  # cv2 encodes BGR
        ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise ValueError(f"a {frame.shape[1]}x{frame.shape[0]} thumbnail frame cannot be encoded as JPEG")
        encoded.append(jpeg.reshape(-1))
    offsets = np.zeros(len(encoded) + 1, np.int64)
    offsets[1:] = np.cumsum([len(jpeg) for jpeg in encoded])
    buffer = io.BytesIO()
    np.savez(buffer, format=np.array(THUMBS_FORMAT), jpeg=np.concatenate(encoded), offsets=offsets)
    return buffer.getvalue()


def read_thumbnails(path: Path) -> np.ndarray:
    """The (T, h, w, 3) uint8 RGB frames of a thumbnail strip file; HistoryError when it is missing
    or damaged (one line naming the file)."""
    path = Path(path)

    def damaged(reason: str) -> HistoryError:
        return HistoryError(f"{path}: the thumbnail strip is damaged ({reason})")

    try:
        # Opened here, not by np.load, so the file is closed even when the archive is unreadable.
        with open(path, "rb") as file:
            archive = np.load(file, allow_pickle=False)
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise damaged("not a thumbnail file")
            with archive:
                version, data, offsets = archive["format"], archive["jpeg"], archive["offsets"]
    except FileNotFoundError:
        raise HistoryError(f"{path}: no such file (the clip's thumbnail strip is missing)") from None
    except KeyError as exc:
        raise damaged(f"no {exc.args[0]!r} in it") from None
    except OSError as exc:
        if exc.errno is not None:
            raise HistoryError(f"{path}: cannot be read ({os_reason(exc)})") from None
        raise damaged("not a thumbnail file") from None
    except (ValueError, EOFError, zipfile.BadZipFile, RuntimeError):
        raise damaged("not a thumbnail file") from None

    if version.shape != () or not np.issubdtype(version.dtype, np.integer):
        raise damaged("no format number")
    if int(version) > THUMBS_FORMAT:
        raise HistoryError(
            f"{path}: written by a newer version of i2v_desktop (thumbnail format {int(version)})"
        )
    if data.ndim != 1 or data.dtype != np.uint8:
        raise damaged("the image data has the wrong type")
    if offsets.ndim != 1 or not np.issubdtype(offsets.dtype, np.integer) or len(offsets) < 2:
        raise damaged("the frame offsets have the wrong type")
    if offsets[0] != 0 or offsets[-1] != len(data) or np.any(np.diff(offsets) <= 0):
        raise damaged("the frame offsets do not match the image data")

    frames = []
    for i in range(len(offsets) - 1):
        image = cv2.imdecode(data[offsets[i] : offsets[i + 1]], cv2.IMREAD_COLOR)
        if image is None or image.ndim != 3 or image.shape[2] != 3:
            raise damaged(f"frame {i + 1} does not decode")
        if frames and image.shape != frames[0].shape:
            raise damaged(f"frame {i + 1} is not the size of the others")
        frames.append(image)
    return np.ascontiguousarray(np.stack(frames)[..., ::-1])


# -- helpers ---------------------------------------------------------------------------------


def clip_files(entry: ClipEntry) -> tuple[Path, ...]:
    """The files a clip of the history is made of: its MP4 first, then its sidecar and its strip."""
    return entry.mp4, entry.mp4.with_suffix(".json"), entry.thumbs


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and one rename, so
    readers see the old file or the new one and never half of one."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HistoryError(f"{folder}: cannot create the folder ({os_reason(exc)})") from None
    tmp = folder / f".{path.name}.part-{secrets.token_hex(4)}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())  # on disk before the rename: a crash cannot leave the name over no data
        os.replace(tmp, path)
    except OSError as exc:
        _unlink_quietly(tmp)
        raise HistoryError(f"{path}: cannot be written ({os_reason(exc)})") from None
    except BaseException:
        _unlink_quietly(tmp)
        raise


def damaged_name(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target, n = path.with_name(f"{path.name}.damaged-{stamp}"), 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    return target


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def _positive_number(value: object) -> bool:
    return is_real(value) and value > 0  # type: ignore[operator]


def _plain(value: Any, where: str) -> Any:
    """A deep copy of `value` as plain JSON data. Numpy scalars and paths become numbers and text,
    and a non-finite float becomes None: a NaN score must not cost the user a history entry."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.generic):
        return _plain(value.item(), where)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        plain = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: key {key!r} is not text")
            plain[key] = _plain(item, f"{where}.{key}")
        return plain
    if isinstance(value, (list, tuple)):
        return [_plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise ValueError(f"{where}: a {type(value).__name__} cannot be stored as JSON")
