"""How fast `i2v batch` goes: throughput of real instant-engine rows on 1 and 2 workers, and the
scheduling cost per row and the scaling over simulated workers with 10,000 rows that only sleep,
each on local worker processes and (when ray is importable) on a Ray instance on this machine.
Every ratio is measured in the same run. See i2v_desktop/bench/batch.py for what each figure is.

    .venv/bin/python scripts/batch_bench.py                 # the README's figures (about 15 min)
    .venv/bin/python scripts/batch_bench.py --quick         # a check of the benchmark itself
    .venv/bin/python scripts/batch_bench.py --rows 2000 --sleep-ms 10 --no-instant
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def counts(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of whole numbers: {text!r} (e.g. 1,2,4,8)") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"worker counts must be 1 or more: {text!r}")
    return values


def positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be more than 0: {text!r}")
        return value
    return parse


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short run: 4 small renders, 40 sleep rows of 5 ms")
    parser.add_argument("--rows", type=positive(int), help="sleep rows (default 10000)")
    parser.add_argument("--sleep-ms", type=positive(float), help="what each sleep row waits (default 20)")
    parser.add_argument("--instant-rows", type=positive(int), help="instant-engine rows (default 12)")
    parser.add_argument("--duration", type=positive(float), help="instant clips' seconds (default 2)")
    parser.add_argument("--quality", choices=("draft", "standard", "final"),
                        help="instant clips' size (default standard)")
    parser.add_argument("--workers", type=counts,
                        help="worker counts for instant rows and local sleep rows (default 1,2)")
    parser.add_argument("--actors", type=counts, help="Ray actor counts for sleep rows (default 1,2,4,8)")
    parser.add_argument("--no-instant", action="store_true", help="leave out the instant-engine rows")
    parser.add_argument("--no-sleep", action="store_true", help="leave out the sleep rows")
    parser.add_argument("--no-ray", action="store_true", help="leave out the Ray runs")
    args = parser.parse_args()

    # This checkout's package, whatever else is installed; spawned workers inherit sys.path.
    sys.path.insert(0, str(ROOT))
    home = tempfile.mkdtemp(prefix="i2v-batch-bench-home-")
    os.environ.update(XDG_DATA_HOME=f"{home}/data", XDG_CONFIG_HOME=f"{home}/config", HF_HUB_OFFLINE="1")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    from i2v_desktop.bench.batch import QUICK, BenchConfig, bench, summary, table

    config = QUICK if args.quick else BenchConfig()
    chosen = {"sleep_rows": args.rows, "sleep_ms": args.sleep_ms, "instant_rows": args.instant_rows,
              "duration": args.duration, "quality": args.quality, "workers": args.workers, "actors": args.actors}
    config = replace(config, **{key: value for key, value in chosen.items() if value is not None},
                     instant=not args.no_instant, sleep=not args.no_sleep, ray=not args.no_ray)

    started = time.perf_counter()
    runs = bench(config, say=lambda line: print(line, file=sys.stderr, flush=True))
    print(table(runs))
    print()
    for line in summary(runs):
        print(line)
    print(f"\n{os.cpu_count()} cores; {time.perf_counter() - started:.0f} s in all")
    return 0 if all(run.done == run.rows for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
