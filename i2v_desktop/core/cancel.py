"""A cancel token that the GUI thread sets and the engine thread polls."""

from __future__ import annotations

import threading
from typing import Protocol

from .errors import Cancelled


class Flag(Protocol):
    """What a token needs of its flag: a threading.Event, or a multiprocessing.Event that a token
    in another process shares."""

    def set(self) -> None: ...

    def is_set(self) -> bool: ...


class CancelToken:
    """Thread-safe, one-way flag. Set it from any thread; the engine checks it every step.

    A queued signal could not reach a worker that is busy inside a denoising loop, which is why
    cancellation goes through this shared flag instead. Given a multiprocessing.Event, the token
    reads a flag that another process sets (a render process's engine, cancelled by the window).
    """

    __slots__ = ("_event",)

    def __init__(self, event: Flag | None = None) -> None:
        self._event = threading.Event() if event is None else event

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()
