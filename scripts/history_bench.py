"""How the history database holds up at 10,000 clips: one add, start-up, two processes at once.

Prints each figure against the empty history measured in the same run (see
i2v_desktop/bench/history.py for what each one is) and exits 1 when a target is missed.

    .venv/bin/python scripts/history_bench.py                  # 10,000 clips, 2 x 500 adds at once
    .venv/bin/python scripts/history_bench.py --count 2000 --each 100 --keep
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the code next to this script, whatever else is installed

from i2v_desktop.bench.history import bench  # noqa: E402
from i2v_desktop.cli.options import whole  # noqa: E402

ADD_MS, START_MS = 5.0, 50.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=whole(1, None, "a count"), default=10_000, help="clips in the full history (10000)")
    parser.add_argument("--each", type=whole(1, None, "a count"), default=500, help="clips each of the two processes adds (500)")
    parser.add_argument("--adds", type=whole(1, None, "a count"), default=20, help="adds timed on each history (20)")
    parser.add_argument("--keep", action="store_true", help="leave the histories in the temporary folder")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="i2v-history-bench-"))
    try:
        figures = bench(folder, args.count, adds=args.adds, each=args.each)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    for line in figures.lines():
        print(line)
    missed = [name for name, ok in (
        ("one add", figures.add_full_ms <= ADD_MS),
        ("start-up", figures.open_full_ms - figures.open_empty_ms <= START_MS),
        ("two processes", figures.found == figures.expected)) if not ok]
    print("targets: " + ("all met" if not missed else "missed: " + ", ".join(missed)))
    if args.keep:
        print(f"histories kept in {folder}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
