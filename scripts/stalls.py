"""How long the window's event loop could not react: the gaps between ticks of a 10 ms timer. Shared
by the measuring scripts (run them as `python scripts/NAME.py`, which puts this folder on the path)."""

from __future__ import annotations

import statistics
import time

from PySide6.QtCore import QElapsedTimer, Qt, QTimer
from PySide6.QtWidgets import QApplication


class Stalls:
    """Gaps between ticks of a timer (every `interval_ms`), in ms."""

    def __init__(self, interval_ms: int = 10) -> None:
        self.interval_ms = interval_ms
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[float] = []

    def __enter__(self) -> "Stalls":
        self.clock.start()
        self.last = 0.0
        self.timer.start(self.interval_ms)
        return self

    def _tick(self) -> None:
        now = self.clock.nsecsElapsed() / 1e6
        self.gaps.append(now - self.last)
        self.last = now

    def __exit__(self, *exc: object) -> None:
        self.timer.stop()

    @property
    def longest(self) -> float:
        return max(self.gaps, default=0.0)

    def line(self, what: str) -> str:
        gaps = sorted(self.gaps) or [0.0]
        p99 = gaps[min(len(gaps) - 1, int(len(gaps) * 0.99))]
        return (f"{what:<38} longest {max(gaps):6.1f} ms   p99 {p99:5.1f} ms   median {statistics.median(gaps):5.1f} ms"
                f"   ({len(gaps)} ticks)")


def wait(app: QApplication, until, timeout: float = 300.0) -> None:
    end = time.perf_counter() + timeout
    while not until():
        if time.perf_counter() > end:
            raise SystemExit("timed out")
        app.processEvents()
        time.sleep(0.001)
