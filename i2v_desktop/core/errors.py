"""User-facing errors: each carries one line a person can act on."""

from __future__ import annotations

import errno


class I2VError(Exception):
    """Base of every error we show to the user as-is (one line, says what to do)."""


class InputError(I2VError):
    """A bad input file or value (the message names the file and the reason)."""


class RequestError(InputError):
    """A GenerationRequest that is incomplete, out of range or from an unknown schema version."""


class PresetError(InputError):
    """A motion preset file that does not validate."""


class ModelError(I2VError):
    """A model that cannot be used: unknown id, broken folder, or weights missing."""


class WeightsMissingError(ModelError):
    """Weights are not on disk and cannot be downloaded now (offline)."""


class OutOfMemoryError(I2VError):
    """The device ran out of memory for this job."""


class ExportError(I2VError):
    """The video could not be written (disk full, folder not writable, encoder failure)."""


class Cancelled(I2VError):
    """The job was cancelled by the user; raised out of an engine, never shown as an error."""

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)


_ERRNO_REASONS = {
    errno.ENOSPC: "no space left on device",
    getattr(errno, "EDQUOT", -1): "disk quota exceeded",
    errno.EFBIG: "the file is too large for this disk's file system",
    errno.EROFS: "the disk is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOENT: "no such file or folder",
}


def os_reason(exc: OSError) -> str:
    """An OSError as the end of a one-line message: "no space left on device", "permission denied"."""
    if exc.errno in _ERRNO_REASONS:
        return _ERRNO_REASONS[exc.errno]
    reason = exc.strerror or str(exc) or type(exc).__name__
    return reason[:1].lower() + reason[1:]


def first_line(exc: BaseException) -> str:
    """An exception's message cut to its first line, for a one-line error (its type when empty)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
