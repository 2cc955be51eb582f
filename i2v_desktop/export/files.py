"""Files that appear whole or not at all: each is written under a hidden temporary name in its
destination folder and renamed into place only when complete, so a failure never leaves a
half-written file where the user looks (and never damages a file that was already there)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..core.errors import ExportError, os_reason


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """A fresh hidden temporary file next to `path` for the block to write; renamed to `path`
    when the block ends normally, removed when it raises (anything, Ctrl+C included)."""
    path = Path(path)
    check_destination(path)
    tmp = create_temp(path)
    try:
        yield tmp
        commit(tmp, path)
    except BaseException:
        remove(tmp)
        raise


def write_sidecar(path: Path, data: Mapping[str, Any]) -> Path:
    """Write `data` as UTF-8 JSON (indent 2) to `path`, atomically, and return `path`."""
    path = Path(path)
    try:
        text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ExportError(f"{path}: cannot be written as JSON ({exc})") from None
    check_destination(path)
    tmp = create_temp(path)
    try:
        try:
            with open(tmp, "wb") as file:
                file.write((text + "\n").encode("utf-8"))
        except OSError as exc:
            raise ExportError(f"{path}: {os_reason(exc)}") from None
        commit(tmp, path)
    except BaseException:
        remove(tmp)
        raise
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
    name = path.name if len(path.name) <= 100 else "i2v"
    folder = path.parent
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = folder / f".{name}.part-{secrets.token_hex(4)}{path.suffix}"
        try:
            os.close(os.open(tmp, flags, 0o666))  # 0o666 minus the umask, like any new file
            return tmp
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise ExportError(f"{folder}: folder is not writable") from None
            if exc.errno == errno.ENOENT:
                raise ExportError(f"{folder}: folder does not exist") from None
            raise ExportError(f"{folder}: {os_reason(exc)}") from None


def commit(tmp: Path, path: Path) -> None:
    """Move the finished temporary file into place."""
    try:
        # Flushed to disk before the rename, so a crash cannot leave the final name over no data.
        fd = os.open(tmp, os.O_RDWR | getattr(os, "O_BINARY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        raise ExportError(f"{path}: {os_reason(exc)}") from None


def remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
