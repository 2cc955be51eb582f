"""Fuzz the `i2v` command line with many more examples than the test suite runs, and print counts.

The properties are the suite's own (tests/cli/test_cli_fuzz.py): random option values and flags
for render, export, score, info, presets and batch, and random image and clip inputs (random
bytes, real files cut short, wrong extensions). Each input must end in a non-zero exit with a
one-line refusal and no traceback, printed or logged.

    PYTHONPATH=. .venv/bin/python scripts/fuzz_cli.py --examples 300 [--seed N] [--only render_inputs]

Prints, per property and in all: inputs tried, tracebacks found (each one listed), and failures of
the property (a zero exit or a refusal of more than one line).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "cli"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200, help="examples per property (default 200)")
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed (default: random)")
    parser.add_argument("--only", action="append", default=[], help="run only this property; repeatable")
    args = parser.parse_args()

    import tempfile

    # Like the suite: the user's own settings and history are never read or written.
    home = Path(tempfile.mkdtemp(prefix="i2v-fuzz-home-"))
    os.environ["XDG_CONFIG_HOME"] = str(home / "config")
    os.environ["XDG_DATA_HOME"] = str(home / "data")

    from hypothesis import HealthCheck, given, seed, settings
    from hypothesis import strategies as st

    import test_cli_fuzz as fuzz

    many = settings(max_examples=args.examples, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck), report_multiple_bugs=True)
    properties = {
        "render_arguments": given(fuzz.options(fuzz.RENDER_OPTIONS))(
            lambda argv: fuzz.render_arguments(argv, fuzz.MISSING_PHOTO)),
        "render_inputs": given(fuzz.bad_file("photo"))(fuzz.render_inputs),
        "export_arguments": given(fuzz.options(fuzz.EXPORT_OPTIONS))(
            lambda argv: fuzz.export_arguments(argv, fuzz.MISSING_PHOTO.with_suffix(".mp4"))),
        "clip_inputs": given(st.sampled_from(["score", "info", "export"]), fuzz.options(fuzz.SCORE_OPTIONS),
                             fuzz.bad_file("clip"))(
            lambda command, argv, clip: fuzz.clip_inputs(command, argv if command == "score" else [], clip)),
        "presets_arguments": given(st.lists(fuzz.words, max_size=3))(fuzz.presets_arguments),
        "batch_arguments": given(fuzz.options(fuzz.BATCH_OPTIONS))(fuzz.batch_arguments),
        "any_words": given(st.sampled_from(fuzz.COMMANDS), st.lists(st.one_of(fuzz.words, fuzz.numbers, st.sampled_from(
            ["--fps", "--crf", "--json", "--loop", "--out", "--preset", "-", "--", "--help=x"])), max_size=4))(
            fuzz.any_command),
    }
    chosen = args.only or list(properties)
    unknown = [name for name in chosen if name not in properties]
    if unknown:
        parser.error(f"unknown property {', '.join(unknown)} (choose from {', '.join(properties)})")
    failures = 0
    total_started = time.perf_counter()
    for name in chosen:
        test = many(properties[name])
        if args.seed is not None:
            test = seed(args.seed)(test)
        before_tried, before_tracebacks = fuzz.TALLY.tried, len(fuzz.TALLY.tracebacks)
        started = time.perf_counter()
        verdict = "ok"
        try:
            test()
        except BaseException as exc:  # noqa: BLE001 (a falsified property is a finding, not the end)
            failures += 1
            verdict = f"FAILED: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        tried = fuzz.TALLY.tried - before_tried
        found = len(fuzz.TALLY.tracebacks) - before_tracebacks
        print(f"{name:18} {tried:6d} inputs  {found:3d} tracebacks  {time.perf_counter() - started:7.1f} s  {verdict}",
              flush=True)
    print(f"{'all':18} {fuzz.TALLY.tried:6d} inputs  {len(fuzz.TALLY.tracebacks):3d} tracebacks  "
          f"{time.perf_counter() - total_started:7.1f} s  {failures} propert{'y' if failures == 1 else 'ies'} "
          "falsified")
    for line in fuzz.TALLY.tracebacks:
        print(f"  traceback: {line}")
    return 1 if failures or fuzz.TALLY.tracebacks else 0


if __name__ == "__main__":
    raise SystemExit(main())
