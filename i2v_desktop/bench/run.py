"""`i2v bench` (without --instant, --export or --score): the tiny CPU bench, or the real one."""

from __future__ import annotations

import json
from pathlib import Path

from .cpu import bench_tiny
from .dry_run import dry_run
from .real import bench_real
from .report import print_real
from .seed import SEED_PHOTOS
from .tiny_registry import FAMILY_KINDS


def run_bench(family: str, steps: int, real: bool, json_path: Path | None = None, memory_gb: float | None = None,
              dry: bool = False, seed_clips: int = SEED_PHOTOS) -> int:
    if real or dry:
        report = dry_run(family, steps) if dry else bench_real(family, steps, seed_clips, memory_gb)
        print_real(report)
        if json_path is not None:
            json_path.write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")
        return 0
    kinds = sum((FAMILY_KINDS[f] for f in FAMILY_KINDS if family in (f, "all")), ())
    rows = bench_tiny(kinds, steps)
    print(f"{'pipeline':18} {'ours s':>8} {'plain s':>8} {'ratio':>6} {'ms/step':>8} {'previews':>8} "
          f"{'prev %':>6} {'ours MB':>8} {'plain MB':>9}")
    for r in rows:
        print(f"{r['kind']:18} {r['ours_s']:8.3f} {r['plain_s']:8.3f} {r['ratio']:6.2f} {r['step_ms']:8.1f} "
              f"{r['previews']:8d} {r['preview_share']:6.1%} {r['ours_peak_mb']:8.0f} {r['plain_peak_mb']:9.0f}")
    print("Tiny random-weight pipelines on the CPU, median of 5 runs each; ratio = ours / plain diffusers call.")
    print("Ours encodes the prompt once and reuses it while it is unchanged (as for variants); plain encodes it")
    print("every call. At this size one preview is a large share of a step: on real models it is far below 5%.")
    if json_path is not None:
        json_path.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return 0
