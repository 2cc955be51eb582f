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


def _folder_error(path: Path, exc: OSError) -> ExportError:
    folder = path.parent
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ExportError(f"{folder}: folder is not writable")
    if exc.errno == errno.ENOENT:
        return ExportError(f"{folder}: folder does not exist")
    return ExportError(f"{path}: {os_reason(exc)}")
