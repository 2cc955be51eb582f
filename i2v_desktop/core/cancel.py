"""A cancel token that the GUI thread sets and the engine thread polls."""

from __future__ import annotations

import threading

from .errors import Cancelled


class CancelToken:
    """Thread-safe, one-way flag. Set it from any thread; the engine checks it every step.

    A queued signal could not reach a worker that is busy inside a denoising loop, which is why
    cancellation goes through this shared flag instead.
    """

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()
