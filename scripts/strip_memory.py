"""What a long session costs the window: its memory as clips pile up, a photo with hundreds of clips,
and opening the History tab over a long history.

    .venv/bin/python scripts/strip_memory.py clips [COUNT]      # RSS every 10 one-second clips (default 100)
    .venv/bin/python scripts/strip_memory.py photo [COUNT]      # one photo with COUNT clips (500): build time, RSS
    .venv/bin/python scripts/strip_memory.py history [COUNT]    # History tab over COUNT clips (2000): longest stall

Renders run in the worker process, as in the app, so the figures are the window's own. RSS is the
window process's resident memory; "trimmed" is the same after malloc_trim, what it really holds.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

HOME = tempfile.mkdtemp(prefix="i2v-strip-memory-")
os.environ.update(XDG_DATA_HOME=f"{HOME}/data", XDG_CONFIG_HOME=f"{HOME}/config", HF_HUB_OFFLINE="1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import psutil  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from i2v_desktop.app import keep_singletons_alive, make_studio  # noqa: E402
from i2v_desktop.core.resources import resource_path  # noqa: E402
from i2v_desktop.storage.paths import history_dir  # noqa: E402
from i2v_desktop.ui.theme import apply_theme  # noqa: E402
from i2v_desktop.ui.window import MainWindow  # noqa: E402
from stalls import Stalls, wait  # noqa: E402  (this folder is on the path when run as a script)

SAMPLES = resource_path("samples")
ONE_SECOND = dict(model="instant", duration=1.0, fps=24.0, aspect="16:9", quality="draft", variants=1)


def rss_mb() -> tuple[float, float]:
    gc.collect()
    plain = psutil.Process().memory_info().rss / 1e6
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    return plain, psutil.Process().memory_info().rss / 1e6


def settle(app: QApplication, seconds: float) -> None:
    end = time.perf_counter() + seconds
    wait(app, lambda: time.perf_counter() > end)


def open_window(app: QApplication) -> MainWindow:
    settings = QSettings(f"{HOME}/config/settings.ini", QSettings.Format.IniFormat)
    window = MainWindow(make_studio(process=True), settings, probe=False)  # as the app: renders in a worker process
    window.resize(1280, 800)
    window.show()
    app.processEvents()
    return window


def add_photo(app: QApplication, window: MainWindow, name: str = "coffee.jpg") -> str:
    window.add_paths([SAMPLES / name])
    wait(app, lambda: any(p.name == name and p.status.value == "ready" for p in window.state.photos))
    return next(p.path for p in window.state.photos if p.name == name)


def render(app: QApplication, window: MainWindow) -> None:
    window.generate()
    wait(app, lambda: not window.queue.busy and not window.queue.pending)


def clips(app: QApplication, count: int) -> None:
    window = open_window(app)
    add_photo(app, window)
    window.state.choose(**ONE_SECOND)
    print(f"{'clips':>5} {'RSS MB':>8} {'trimmed':>8}")
    print(f"{0:>5} {rss_mb()[0]:8.0f} {rss_mb()[1]:8.0f}")
    for made in range(1, count + 1):
        render(app, window)
        if made % 10 == 0:
            settle(app, 0.5)  # thumbnails read back, the strips painted
            plain, trimmed = rss_mb()
            print(f"{made:>5} {plain:8.0f} {trimmed:8.0f}", flush=True)
    window.close()


def seed_history(app: QApplication, count: int, photos: list[str]) -> list[str]:
    """`count` clips spread over `photos`, copied from one real render, written straight into the
    history's index (as many renders would leave it). Returns the photos' paths as the window keys them."""
    window = open_window(app)
    paths = [add_photo(app, window, name) for name in photos]
    window.state.choose(**ONE_SECOND)
    window.state.select(paths[0])
    render(app, window)
    window.close()
    root = history_dir()
    index = json.loads((root / "index.json").read_text())
    model = index["entries"][0]
    folder = root / "clips" / "copies"
    folder.mkdir(parents=True)
    entries = []
    for i in range(count):
        mp4, thumbs = folder / f"clip-{i}.mp4", folder / f"clip-{i}.thumbs.npz"
        os.link(root / model["mp4"], mp4)
        os.link(root / model["thumbs"], thumbs)
        photo = paths[i % len(paths)]
        record = json.loads(json.dumps(model["record"]))
        record["request"]["image"] = photo
        record["request"]["seed"] = record["render"]["seed"] = 1000 + i
        if "score" in record:
            record["score"]["overall"] = round(0.5 + 0.4 * ((i * 37) % 100) / 100, 4)
        entries.append({**model, "id": uuid.uuid4().hex, "mp4": str(mp4), "thumbs": str(thumbs), "photo": photo,
                        "created": model["created"] + i, "record": record})
    (root / "index.json").write_text(json.dumps({**index, "entries": entries}))
    return paths


def photo(app: QApplication, count: int) -> None:
    (path,) = seed_history(app, count, ["coffee.jpg"])
    window = open_window(app)
    add_photo(app, window, "chelsea.jpg")  # selected: the strip shows another photo's clips first
    window.add_paths([Path(path)])
    wait(app, lambda: all(p.status.value == "ready" for p in window.state.photos))
    settle(app, 1.0)
    before = rss_mb()
    with Stalls() as stalls:
        started = time.perf_counter()
        window.state.select(path)
        built = time.perf_counter() - started
        settle(app, 3.0)  # the visible thumbnails read back
    after = rss_mb()
    print(f"photo with {count} clips: select → strip built in {built * 1000:.0f} ms")
    print(stalls.line("showing its strip"))
    print(f"RSS {before[0]:.0f} → {after[0]:.0f} MB (+{after[0] - before[0]:.0f}); "
          f"trimmed {before[1]:.0f} → {after[1]:.0f} MB (+{after[1] - before[1]:.0f})")
    window.close()


def history(app: QApplication, count: int) -> None:
    """Wall-clock stalls (what the user feels, noisy on a loaded machine) and the GUI thread's own CPU
    time in its longest pass through the event loop (what our code costs, whatever the load)."""
    seed_history(app, count, ["coffee.jpg", "chelsea.jpg", "rocket.jpg", "astronaut.jpg"])
    for attempt in range(3):
        window = open_window(app)
        settle(app, 1.0)
        with Stalls() as idle:
            settle(app, 1.0)
        print(idle.line("idle (baseline)"))
        passes = []
        with Stalls() as stalls:
            cpu = time.thread_time()
            window.viewer.show_history()
            passes.append(time.thread_time() - cpu)
            end = time.perf_counter() + 2.0
            while time.perf_counter() < end:
                cpu = time.thread_time()
                app.processEvents()
                passes.append(time.thread_time() - cpu)
                time.sleep(0.001)
        print(stalls.line(f"open History ({count} clips), try {attempt + 1}"),
              f" GUI thread: longest pass {max(passes) * 1000:.1f} ms CPU", flush=True)
        window.close()
        app.processEvents()


def main() -> int:
    what = sys.argv[1] if len(sys.argv) > 1 else "clips"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else {"clips": 100, "photo": 500, "history": 2000}[what]
    keep_singletons_alive()  # PySide6 6.12 on Python < 3.12: see app.py
    app = QApplication(sys.argv[:1])
    apply_theme(app)
    try:
        {"clips": clips, "photo": photo, "history": history}[what](app, count)
    finally:
        shutil.rmtree(HOME, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
