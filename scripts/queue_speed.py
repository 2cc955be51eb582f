"""How the window's queue copes with a long batch: queue 1,000 jobs, then Clear.

Prints the time to queue them (the window's own call), the longest event-loop stall while they
go in and the view shows them (a 5 ms timer should fire every 5 ms; each gap beyond that is time
the window could not react), and the same two figures for Clear. Goal: 1,000 jobs in under 1 s,
no stall over 50 ms, Clear in no visible time. Measured twice: with the engine thread holding a
job that only waits (the queue's own cost), then with a job rendering in this process as it does
today (its own stalls show in the baseline line: the same second with nothing done).

    .venv/bin/python scripts/queue_speed.py [JOBS]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the code next to this script, whatever else is installed
HOME = tempfile.mkdtemp(prefix="i2v-queue-speed-")
os.environ.update(XDG_DATA_HOME=f"{HOME}/data", XDG_CONFIG_HOME=f"{HOME}/config", HF_HUB_OFFLINE="1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from i2v_desktop.app import keep_singletons_alive, make_studio  # noqa: E402
from stalls import Stalls  # noqa: E402
from i2v_desktop.core.errors import Cancelled  # noqa: E402
from i2v_desktop.core.events import StepProgress  # noqa: E402
from i2v_desktop.core.request import GenerationRequest  # noqa: E402
from i2v_desktop.core.resources import resource_path  # noqa: E402
from i2v_desktop.ui.state import Status  # noqa: E402
from i2v_desktop.ui.window import MainWindow  # noqa: E402

SAMPLES = resource_path("samples")


def run_for(app: QApplication, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.001)


def measured(app: QApplication, action) -> tuple[float, float]:
    """(seconds the call took, longest stall in ms) for `action` run from the event loop, and the
    loop running on for 1 s after it (a view lays out and paints what changed)."""
    took = []

    def call() -> None:
        start = time.perf_counter()
        action()
        took.append(time.perf_counter() - start)

    with Stalls(interval_ms=5) as stalls:
        run_for(app, 0.2)
        QTimer.singleShot(0, call)
        while not took:
            run_for(app, 0.01)
        run_for(app, 1.0)
    return took[0], stalls.longest


def idle_render(request, on_event, cancel, on_saved) -> None:
    """A render that only waits for its cancel: the engine thread busy, the CPU left to the window."""
    on_event(StepProgress(1, 2, 0.0, 0.0))
    while not cancel.cancelled:
        time.sleep(0.01)
    raise Cancelled("cancelled")


def scenario(app: QApplication, count: int, idle: bool) -> None:
    studio = make_studio()
    if idle:
        studio.render = idle_render
    window = MainWindow(studio, QSettings(f"{HOME}/config/settings.ini", QSettings.Format.IniFormat), probe=False)
    window.show()
    photos = sorted(SAMPLES.glob("*.jpg"))
    jobs = [(str(photos[i % len(photos)]),
             GenerationRequest(image=str(photos[i % len(photos)]), preset="push-in", duration=6.0, fps=24.0,
                               quality="standard", variants=1, model="instant", seed=i))
            for i in range(count + 1)]
    queue = window.queue
    # One job first, measured from its first step: what the engine thread does once per process
    # (imports, loading) is not the queue's doing.
    stepping = []
    queue.event.connect(lambda job, event: stepping.append(isinstance(event, StepProgress)))
    queue.add(*jobs.pop())
    while not any(stepping):
        run_for(app, 0.05)

    def add() -> None:
        if hasattr(queue, "add_many"):
            queue.add_many(jobs)
        else:  # the queue before it took batches
            for photo, request in jobs:
                queue.add(photo, request)

    def add_with_photos() -> None:
        """As Generate does it: each photo of the batch marked queued, then the jobs queued."""
        if hasattr(window.state, "update_photos"):
            window.state.update_photos([photo for photo, _ in jobs], status=Status.QUEUED)
        else:
            for photo, _ in jobs:
                window.state.update_photo(photo, status=Status.QUEUED)
        add()

    print("while the engine thread waits (the queue's own cost):" if idle
          else "while a job renders on the engine thread (as the user sees it):")
    took, stall = measured(app, lambda: None)
    print(f"  nothing (baseline)             {took:7.3f} s   longest stall {stall:7.1f} ms")
    took, stall = measured(app, add)
    print(f"  queue {len(jobs)} jobs                {took:7.3f} s   longest stall {stall:7.1f} ms")
    took, stall = measured(app, window.job_clear.click)
    print(f"  clear {len(jobs)} waiting            {took:7.3f} s   longest stall {stall:7.1f} ms")
    # The same with the photos in the batch: their statuses change too (the photo list's share).
    jobs = [(f"{HOME}/batch/photo{i:04d}.jpg", request) for i, (_, request) in enumerate(jobs)]
    window.state.add_photos([photo for photo, _ in jobs])
    run_for(app, 0.5)
    took, stall = measured(app, add_with_photos)
    print(f"  with the photos in the batch   {took:7.3f} s   longest stall {stall:7.1f} ms")
    took, stall = measured(app, window.job_clear.click)
    print(f"  clear, photos marked ready     {took:7.3f} s   longest stall {stall:7.1f} ms")
    queue.cancel_current()
    window.close()


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    keep_singletons_alive()  # PySide6 6.12 on Python < 3.12: see app.py
    app = QApplication(sys.argv[:1])
    scenario(app, count, idle=True)
    scenario(app, count, idle=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
