"""Files that appear whole or not at all, and never over someone else's: each is written under a
hidden temporary name in its destination folder (core.durable) and put in place only when
complete. A clip or an export takes its name with `commit`, which never replaces a file: when
another process took the name meanwhile, the file goes to NAME-2, NAME-3… and the caller is told
the name it got. A sidecar belongs to its clip, whose name is already held: it is replaced
durably. A failure never leaves a half-written file where the user looks."""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..core import durable
from ..core.errors import ExportError, os_reason

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

# Parts of the files ffmpeg encodes for us (clips and exports), held by their writer while it works.
HELD_SUFFIXES = (".mp4", ".mov", ".webm", ".gif", ".mkv")
# A part younger than this is left alone even when unheld: its writer may be between creating it
# and taking its lock.
UNHELD_AFTER_S = 1.0


def write_sidecar(path: Path, data: Mapping[str, Any]) -> Path:
    """Write `data` as UTF-8 JSON (indent 2) to `path`, whole or not at all, on disk when it
    returns; `path`."""
    path = Path(path)
    try:
        text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ExportError(f"{path}: cannot be written as JSON ({exc})") from None
    check_destination(path)
    try:
        durable.write_durably(path, (text + "\n").encode("utf-8"))
    except OSError as exc:
        raise _folder_error(path, exc) from None
    return path


def check_destination(path: Path) -> None:
    folder = path.parent
    if path.is_dir():
        raise ExportError(f"{path}: is a folder")
    if not folder.exists():
        raise ExportError(f"{folder}: folder does not exist")
    if not folder.is_dir():
        raise ExportError(f"{folder}: is not a folder")


def create_temp(path: Path) -> Path:
    """Claim a fresh hidden file next to `path` (so the final rename stays on one disk)."""
    try:
        return durable.temp_beside(path)
    except OSError as exc:
        raise _folder_error(path, exc) from None


def commit(tmp: Path, path: Path, companions: tuple[str, ...] = ()) -> Path:
    """Put the finished temporary file in place as `path`, or as NAME-2, NAME-3… when that name
    (or its name with one of `companions`, such as the sidecar's ".json") is taken; the name used.
    An existing file is never replaced, even by a process that chose the same name at once."""
    try:
        return durable.commit_new(tmp, path, companions=(path.suffix, *companions))
    except OSError as exc:
        raise ExportError(f"{path}: {os_reason(exc)}") from None


def remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def hold(part: Path) -> int | None:
    """Mark `part` as being written, until `release`: a lock the system drops when this process
    dies, however it dies, so the next start knows the part is abandoned without waiting for it to
    age. None where there are no such locks (Windows: parts are judged by their age alone)."""
    if fcntl is None:
        return None
    try:
        fd = os.open(part, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)  # shared: it works read-only on every file system, NFS included
    except OSError:
        os.close(fd)
        return None
    return fd


def release(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


def clear_stale_parts(folder: Path) -> int:
    """Remove the temporary parts a killed process left in `folder`; how many went. A part of a
    video or export (`hold`: every one this app encodes) goes as soon as no writer holds it, and
    never while one does, however long its writer has been at it; any other part (a sidecar,
    another store's) when nothing touched it for a minute (core.durable.stale_parts)."""
    removed, old = 0, set(durable.stale_parts(folder))
    for part in durable.stale_parts(folder, older_than=UNHELD_AFTER_S):
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
        fd = os.open(part, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # EWOULDBLOCK: its writer holds it
        return True
    except OSError:  # the file system has no such locks
        return None
    finally:
        os.close(fd)
    return False


def _folder_error(path: Path, exc: OSError) -> ExportError:
    folder = path.parent
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ExportError(f"{folder}: folder is not writable")
    if exc.errno == errno.ENOENT:
        return ExportError(f"{folder}: folder does not exist")
    return ExportError(f"{path}: {os_reason(exc)}")
