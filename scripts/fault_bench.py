"""Kill renders, exports and history saves with SIGKILL at seeded random moments and count what
breaks: faults injected per kind, invariant violations per kind, lost history entries, tracebacks.
See i2v_desktop/bench/faults.py for the commands, the moments and the invariants.

    .venv/bin/python scripts/fault_bench.py                       # 60 cycles, seed 14 (about 10 min)
    .venv/bin/python scripts/fault_bench.py --cycles 6 --seed 1 --kinds history
    .venv/bin/python scripts/fault_bench.py --json faults.json -v  # every violation, and a JSON copy

Exit status: 0 when no invariant was broken, 1 when one was (the report says which), 2 for bad
arguments or a command that fails even without a kill.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from i2v_desktop.bench.faults import KINDS, Harness, Tally, plan  # noqa: E402
from i2v_desktop.core.durable import write_durably  # noqa: E402
from i2v_desktop.cli.options import whole  # noqa: E402


def kinds(text: str) -> tuple[str, ...]:
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [kind for kind in chosen if kind not in KINDS]
    if not chosen or unknown:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(KINDS)} (comma-separated), got {text!r}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fault_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=whole(1, None, "a count"), default=60, help="kills to inject (default 60)")
    parser.add_argument("--seed", type=int, default=14,
                        help="seed of the plan and of every moment (default 14)")
    parser.add_argument("--kinds", type=kinds, default=KINDS,
                        help="render,export,history (default: all three)")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR",
                        help="work in DIR and keep what each cycle left (default: a temporary folder)")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write every cycle as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every violation as it is found")
    args = parser.parse_args(argv)
    if args.keep is not None and args.keep.exists() and any(args.keep.iterdir()):
        parser.error(f"{args.keep}: not empty; --keep needs an empty or new folder")

    with tempfile.TemporaryDirectory(prefix="i2v-faults-") as scratch:
        workdir = args.keep or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        harness, tally = Harness(workdir), Tally()
        started = time.monotonic()
        try:
            for number, (kind, trigger, seed) in enumerate(plan(args.cycles, args.seed, args.kinds), 1):
                cycle = harness.cycle(kind, trigger, seed)
                tally.add(cycle)
                state = f"killed at {cycle.at_s:.2f} s" if cycle.injected else "finished first"
                print(f"[{number}/{args.cycles}] {kind:7} {trigger:7} seed {seed:<10} {state}: "
                      f"{len(cycle.violations)} violation(s)", file=sys.stderr, flush=True)
                if args.verbose:
                    for violation in cycle.violations:
                        print(f"    {violation}", file=sys.stderr)
        except RuntimeError as exc:  # a command that fails without any kill: nothing to measure
            print(f"fault_bench: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("\nfault_bench: interrupted; the counts so far:", file=sys.stderr)
        print(f"fault_bench: --cycles {args.cycles} --seed {args.seed} --kinds {','.join(args.kinds)} "
              f"in {time.monotonic() - started:.0f} s")
        for line in tally.report():
            print(line)
        if args.json is not None:
            cycles = [{**asdict(cycle), "violations": [str(v) for v in cycle.violations]}
                      for cycle in tally.cycles]
            write_durably(args.json, (json.dumps(cycles, indent=1) + "\n").encode("utf-8"))
    return 1 if any(cycle.violations for cycle in tally.cycles) else 0


if __name__ == "__main__":
    raise SystemExit(main())
