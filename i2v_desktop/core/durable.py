"""Files that survive crashes, kills and races: the one way every store and every export writes.

- `write_durably(path, data)`: the whole new content or the old one, never half; on disk (file and
  folder entry) when it returns.
- `temp_beside(path)`: a fresh hidden `.NAME.part-XXXXXXXX` file next to `path`, for writers that
  stream (ffmpeg); `commit_new` then moves it to a name nobody else holds.
- `commit_new(tmp, path)`: put a finished temporary file under `path`, or under the next free name
  (NAME-2, NAME-3…) when another process took `path` meanwhile. Never replaces an existing file:
  a hard link is created (which fails when the name exists) and the temporary name removed.
- `fit_stem(stem)`: a file stem short enough that every file made from it (clip, sidecar, strip,
  temporary part, a -NN suffix) fits the 255-byte name limit of common file systems.
- `stale_parts(folder)`: temporary parts that a killed process left behind, by their age;
  `hold` / `release` mark a part of a video being encoded as alive, so that `clear_stale_parts`
  removes a killed encoder's part at the next start, and never a live one.

Everything raises OSError; callers turn it into their own one-line error (they know the file's role).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

# Parts of the files ffmpeg encodes for us (clips and exports), held by their writer while it works.
HELD_SUFFIXES = (".mp4", ".mov", ".webm", ".gif", ".mkv")
# A part younger than this is left alone even when unheld: its writer may be between creating it
# and taking its lock.
UNHELD_AFTER_S = 1.0

PART_MARK = ".part-"
MAX_STEM_BYTES = 180  # + "-999" + ".thumbs.npz" + the hidden part's "." and ".part-XXXXXXXX" stay < 255
_BINARY = getattr(os, "O_BINARY", 0)


def fsync_folder(folder: Path) -> None:
    """Make a rename or a new name in `folder` durable (no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # Windows: a folder cannot be opened; NTFS journals the rename itself
    try:
        with contextlib.suppress(OSError):  # some file systems refuse fsync on a folder (EINVAL)
            os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDWR | _BINARY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_beside(path: Path) -> Path:
    """Claim a fresh hidden temporary file in `path`'s folder (so the final rename stays on one disk)."""
    name = path.name if len(path.name.encode("utf-8")) <= 100 else "i2v"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY
    while True:
        tmp = path.parent / f".{name}{PART_MARK}{secrets.token_hex(4)}{path.suffix}"
        try:
            os.close(os.open(tmp, flags, 0o666))  # 0o666 minus the umask, like any new file
            return tmp
        except FileExistsError:
            continue


def write_durably(path: Path, data: bytes) -> None:
    """Replace `path`'s content with `data`: readers see the old file or the new one, never half of
    one, and both the data and the rename are on disk when this returns."""
    path = Path(path)
    tmp = temp_beside(path)
    try:
        with open(tmp, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())  # on disk before the rename: a crash cannot leave the name over no data
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_folder(path.parent)


def numbered(path: Path, n: int) -> Path:
    """NAME.ext for n == 1, NAME-n.ext after."""
    return path if n == 1 else path.with_name(f"{path.stem}-{n}{path.suffix}")


def commit_new(tmp: Path, path: Path, companions: tuple[str, ...] = ()) -> Path:
    """Move the finished `tmp` to `path`, or to NAME-2, NAME-3… when that name (or one of its
    `companions`, suffixes such as ".json" that must stay free beside it) is taken. Returns the
    name used. The file is on disk first; an existing file is never replaced, even by a process
    that picked the same name at the same moment."""
    tmp, path = Path(tmp), Path(path)
    fsync_file(tmp)
    n = 1
    while True:
        candidate = numbered(path, n)
        n += 1
        if any(candidate.with_suffix(suffix).exists() for suffix in companions):
            continue
        try:
            os.link(tmp, candidate)
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            # No hard links here (FAT, exFAT, some network shares): reserve the name exclusively,
            # then rename over our own empty reservation.
            try:
                os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o666))
            except FileExistsError:
                continue
            os.replace(tmp, candidate)
            fsync_folder(candidate.parent)
            return candidate
        os.unlink(tmp)
        fsync_folder(candidate.parent)
        return candidate


def fit_stem(stem: str, limit: int = MAX_STEM_BYTES) -> str:
    """`stem` cut (on a character boundary, trailing spaces and dots removed) to at most `limit`
    UTF-8 bytes, so that every file named from it fits a 255-byte file name."""
    data = stem.encode("utf-8")
    if len(data) <= limit:
        return stem
    cut = data[:limit].decode("utf-8", errors="ignore").rstrip(" .")
    return cut or "clip"


def stale_parts(folder: Path, older_than: float = 60.0) -> list[Path]:
    """Hidden temporary parts in `folder` untouched for `older_than` seconds: left by a process
    that was killed (a live writer touches its part continuously, or finishes within seconds)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    now, found = time.time(), []
    for name in names:
        if not (name.startswith(".") and PART_MARK in name):
            continue
        path = Path(folder) / name
        with contextlib.suppress(OSError):
            if now - path.stat().st_mtime >= older_than and path.is_file():
                found.append(path)
    return sorted(found)


def hold(part: Path) -> int | None:
    """Mark `part` as being written, until `release`: a lock the system drops when this process
    dies, however it dies, so the next start knows the part is abandoned without waiting for it to
    age. None where there are no such locks (Windows: parts are judged by their age alone)."""
    # Shared: it works read-only on every file system, NFS included.
    return None if fcntl is None else _locked(part, fcntl.LOCK_SH)


def release(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


def clear_stale_parts(folder: Path) -> int:
    """Remove the temporary parts a killed process left in `folder`; how many went. A part of a
    video or export (`hold`: every one this app encodes) goes as soon as no writer holds it, and
    never while one does, however long its writer has been at it; any other part (a sidecar,
    another store's) when nothing touched it for a minute (core.durable.stale_parts)."""
    removed, old = 0, set(stale_parts(folder))
    for part in stale_parts(folder, older_than=UNHELD_AFTER_S):
        held = _held(part)
        if held is False or (held is None and part in old):
            with contextlib.suppress(OSError):
                os.unlink(part)
                removed += 1
    return removed


def _held(part: Path) -> bool | None:
    """Whether a live writer holds this part of a file we encode; None where that cannot be told
    (not such a part, no such locks here, or a file system that refuses them)."""
    if fcntl is None or part.suffix.lower() not in HELD_SUFFIXES:
        return None
    try:
        fd = _locked(part, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # EWOULDBLOCK: its writer holds it
        return True
    if fd is None:
        return None
    os.close(fd)
    return False


def _locked(part: Path, operation: int) -> int | None:
    """A descriptor of `part` with the flock `operation` taken; None where the file cannot be
    opened or its file system has no such locks. BlockingIOError: a non-blocking lock is held."""
    try:
        fd = os.open(part, os.O_RDONLY | _BINARY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, operation)
    except BlockingIOError:
        os.close(fd)
        raise
    except OSError:
        os.close(fd)
        return None
    return fd
