"""How the history database holds up as it grows (scripts/history_bench.py prints these figures).

- one `History.add` on an empty history and on one with `count` clips (target: at most 5 ms at
  10,000; the JSON index of earlier versions took 288 ms at 2,000);
- start-up (opening the history, then reading every entry, as the window does) with `count` clips
  against an empty history (target: within 50 ms), and what the integrity check costs of it;
- two processes adding `adds` clips each at the same moment (target: none lost).

The clips are real files (a small stand-in MP4 and its sidecar) in dated folders, and the history
is built the way a user's is rebuilt: the first open re-indexes them from their sidecars (timed
too). Every ratio is measured in the same run on the same disk.
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.record import ClipRecord
from ..storage import historydb
from ..storage.history import History, atomic_write, encode_thumbnails

PER_FOLDER = 100  # clips a day: 10,000 clips are 100 dated folders
STRIP = np.full((2, 16, 16, 3), 128, np.uint8)  # the history's own cost, not JPEG encoding's
ROOT = Path(__file__).resolve().parent.parent.parent


def record(photo: str, seed: int) -> dict:
    """A record the size of a real one (about 1.5 KB of JSON)."""
    return {
        "schema": "i2v_desktop.clip", "version": 1, "app": "i2v_desktop 0.1.0",
        "request": {"schema": "i2v_desktop.request", "version": 2, "image": photo, "seed": seed, "preset": "orbit",
                    "intensity": 0.5, "model": "wan2.2-ti2v-5b", "duration": 4.0, "fps": 24.0, "aspect": "16:9",
                    "quality": "standard", "variants": 1, "loop": False,
                    "prompt": "A cup of coffee on a wooden table, steam rising slowly in warm morning light.",
                    "negative_prompt": "blurry, distorted, low quality, watermark, text"},
        "render": {"model": "wan2.2-ti2v-5b", "seed": seed, "width": 1280, "height": 704, "num_frames": 97,
                   "fps": 24.0, "steps": 30, "guidance": 5.0, "elapsed_s": 95.2, "device": "cuda",
                   "dtype": "bfloat16", "offload": "none", "speed": {"cache": "off", "compile": False}},
        "score": {"overall": 0.81, "motion": 0.62, "flicker": 0.93, "subject": 0.88, "loop_seam": None,
                  "notes": ["motion within the preset's range", "no flicker above 2 %"]},
    }


def clip_files(folder: Path, name: str, photo: str, seed: int) -> Path:
    """A stand-in clip as a render leaves it: NAME.mp4 and its sidecar NAME.json."""
    mp4 = folder / f"{name}.mp4"
    mp4.write_bytes(b"\x00\x00\x00\x18ftypisom stand-in")
    mp4.with_suffix(".json").write_text(json.dumps(record(photo, seed)), encoding="utf-8")
    return mp4


def fill(root: Path, count: int) -> float:
    """`count` clips on disk in dated folders from earlier days, then the first open that re-indexes
    them; returns that open's seconds."""
    for i in range(count):
        folder = root / "clips" / f"2020-01-{i // PER_FOLDER:04d}"
        if i % PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
        clip_files(folder, f"clip-{i:05d}", f"/photos/p{i % 500}.jpg", i)
    past = time.time() - 86_400
    for folder in (root / "clips").iterdir():
        os.utime(folder, (past, past))  # days old, as they would be
    start = time.perf_counter()
    History(root).close()
    return time.perf_counter() - start


def time_adds(history: History, runs: int, tag: str = "add") -> list[float]:
    """Milliseconds of each of `runs` adds (the clip's files are written before the clock starts)."""
    folder = history.new_clip_folder()
    times = []
    for i in range(runs):
        mp4 = clip_files(folder, f"{tag}-{i:05d}", "/photos/new.jpg", i)
        clip = ClipRecord(record("/photos/new.jpg", i))
        start = time.perf_counter()
        history.add(mp4, clip, STRIP)
        times.append((time.perf_counter() - start) * 1000)
    return times


def time_strip(folder: Path, runs: int) -> float:
    """Median milliseconds of the part of an add that is not the database's: encoding the strip and
    writing it durably (the file's and the folder's fsync)."""
    folder.mkdir(parents=True, exist_ok=True)
    times = []
    for i in range(runs):
        start = time.perf_counter()
        atomic_write(folder / f"strip-{i}.thumbs.npz", encode_thumbnails(STRIP))
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def time_start(root: Path, runs: int) -> tuple[float, float]:
    """Median milliseconds to open the history, and to open it and read every entry."""
    opens, reads = [], []
    for _ in range(runs):
        start = time.perf_counter()
        history = History(root)
        opened = time.perf_counter()
        history.entries()
        read = time.perf_counter()
        history.close()
        opens.append((opened - start) * 1000)
        reads.append((read - start) * 1000)
    return statistics.median(opens), statistics.median(reads)


def time_checks(database: Path) -> dict[str, float]:
    """Milliseconds of each integrity check SQLite offers, on this database."""
    out = {}
    with closing(sqlite3.connect(database)) as conn:
        for pragma in ("quick_check", "integrity_check"):
            start = time.perf_counter()
            conn.execute(f"PRAGMA {pragma}").fetchall()
            out[pragma] = (time.perf_counter() - start) * 1000
    return out


def adder(root: str, tag: str, count: int, go: str) -> None:
    """One of the two processes: wait for the start signal, then add `count` clips."""
    history = History(Path(root))
    folder = history.new_clip_folder()
    mp4s = [clip_files(folder, f"{tag}-{i:05d}", f"/photos/{tag}.jpg", i) for i in range(count)]
    while not os.path.exists(go):
        time.sleep(0.001)
    for i, mp4 in enumerate(mp4s):
        history.add(mp4, ClipRecord(record(f"/photos/{tag}.jpg", i)), STRIP)


def two_processes(root: Path, count: int) -> tuple[int, int, float]:
    """Two processes adding `count` clips each at once: (clips expected, clips in the history, seconds)."""
    go = root / "go"
    code = "import sys; from i2v_desktop.bench.history import adder; adder(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    before = len(History(root).entries())
    processes = [subprocess.Popen([sys.executable, "-c", code, str(root), tag, str(count), str(go)], env=env,
                                  stderr=subprocess.PIPE, text=True) for tag in ("first", "second")]
    time.sleep(0.5)  # both imported and waiting
    start = time.perf_counter()
    go.touch()
    errors = []
    for process in processes:
        _, err = process.communicate(timeout=600)
        if process.returncode != 0:
            errors.append(err.strip().splitlines()[-1] if err.strip() else f"exit {process.returncode}")
    seconds = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"an adding process failed: {errors[0]}")
    return before + 2 * count, len(History(root).entries()), seconds


@dataclass
class Figures:
    count: int
    rebuild_s: float
    add_empty_ms: float
    add_full_ms: float
    strip_ms: float
    add_normal_ms: float
    open_empty_ms: float
    open_full_ms: float
    read_empty_ms: float
    read_full_ms: float
    checks_ms: dict[str, float]
    expected: int
    found: int
    both_s: float

    def lines(self) -> list[str]:
        n = f"{self.count:,}"
        quick, full = self.checks_ms["quick_check"], self.checks_ms["integrity_check"]
        return [
            f"first open of {n} clips found on disk (rebuilt from their sidecars): {self.rebuild_s:.2f} s",
            f"one add, median: empty {self.add_empty_ms:.2f} ms, at {n} clips {self.add_full_ms:.2f} ms "
            f"(x{self.add_full_ms / self.add_empty_ms:.2f}; target <= 5 ms); of an add, the strip's durable "
            f"write takes {self.strip_ms:.2f} ms, the database the rest",
            f"one add at {n} clips with synchronous=NORMAL instead of FULL (no fsync per commit; the last "
            f"commits may be lost at a power cut): {self.add_normal_ms:.2f} ms",
            f"open: empty {self.open_empty_ms:.1f} ms, {n} clips {self.open_full_ms:.1f} ms "
            f"(+{self.open_full_ms - self.open_empty_ms:.1f} ms; target within 50 ms)",
            f"open and read every entry: empty {self.read_empty_ms:.1f} ms, {n} clips {self.read_full_ms:.1f} ms "
            f"(+{self.read_full_ms - self.read_empty_ms:.1f} ms)",
            f"integrity check at {n} clips: quick_check {quick:.1f} ms, integrity_check {full:.1f} ms "
            f"(the open runs quick_check: without it the open takes about "
            f"{max(self.open_full_ms - quick, 0):.1f} ms)",
            f"two processes adding at once: {self.found} of {self.expected} clips in the history, "
            f"{self.expected - self.found} lost ({self.both_s:.1f} s)",
        ]


def bench(folder: Path, count: int, adds: int = 20, opens: int = 5, each: int = 500) -> Figures:
    """Every figure, in `folder` (left there for a look)."""
    empty_root, full_root = folder / "empty" / "history", folder / "full" / "history"
    empty = History(empty_root)
    time_adds(empty, 1, "warm")  # creates the database: not part of an add
    add_empty = statistics.median(time_adds(empty, adds))
    for entry in empty.entries():
        empty.remove(entry.id)  # an empty history again, with its database and today's folder
    empty.close()
    open_empty, read_empty = time_start(empty_root, opens)

    rebuild = fill(full_root, count)
    open_full, read_full = time_start(full_root, opens)
    checks = time_checks(full_root / "history.sqlite")
    full = History(full_root)
    add_full = statistics.median(time_adds(full, adds))
    full.close()
    strip = time_strip(folder / "strips", adds)
    chosen, historydb.SYNCHRONOUS = historydb.SYNCHRONOUS, "NORMAL"
    try:
        normal = History(full_root)
        add_normal = statistics.median(time_adds(normal, adds, "normal"))
        normal.close()
    finally:
        historydb.SYNCHRONOUS = chosen
    expected, found, both = two_processes(full_root, each)
    return Figures(count, rebuild, add_empty, add_full, strip, add_normal, open_empty, open_full, read_empty, read_full, checks,
                   expected, found, both)
