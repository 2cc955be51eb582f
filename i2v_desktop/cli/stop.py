"""SIGTERM stops `i2v` the way Ctrl+C does."""

from __future__ import annotations

import signal
import threading
from typing import Any


def stop_on_sigterm() -> None:
    """Make SIGTERM (a shutdown, `kill`, a scheduler ending the job) raise KeyboardInterrupt, as
    Ctrl+C does: the file being written loses its temporary part and its ffmpeg, the summary says
    "interrupted". Only the main thread can set a handler; elsewhere nothing changes."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
