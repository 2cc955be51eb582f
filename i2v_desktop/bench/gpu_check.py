"""scripts/gpu-check.sh: the GPU checks in one run, within a time budget, as JSON.

The real-architecture bench, the memory plans, and OOM recovery on a simulated smaller card;
with --dry-run, the same planned on the CPU on meta tensors.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

from .dry_run import dry_run
from ..core.errors import first_line
from .measure import GB, Budget, device_name
from .memory import memory_plans, oom_recovery
from .real import bench_real
from .report import print_real


def gpu_check(outdir: Path, dry: bool = False, family: str = "all", budget_s: float = 390.0,
              simulated_gb: float = 24.0) -> dict[str, Any]:
    """The real-architecture benchmark, the memory plans and OOM recovery on a simulated smaller
    card, within `budget_s`; written to OUTDIR/gpu-check.json. With `dry` it runs on the CPU on
    meta tensors and only plans.
    """
    import torch

    started = time.monotonic()
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / "gpu-check.json"
    report: dict[str, Any] = {}

    def save() -> None:  # after every part: a run cut short still leaves what it measured
        report["wall_s"] = time.monotonic() - started
        path.write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")

    def part(name: str, work: Callable[[], Any]) -> None:
        try:
            value = work()
            if isinstance(value, dict) and name == "bench":
                report.update(value)
            else:
                report[name] = value
        except Exception as exc:  # noqa: BLE001 -- one failed part must not cost the others' figures
            report.setdefault("errors", []).append(f"{name}: {type(exc).__name__}: {first_line(exc)}")
            print(f"gpu-check: {name} failed: {type(exc).__name__}: {first_line(exc)}", flush=True)
        save()

    if dry:
        part("bench", lambda: dry_run(family, simulated_gb=simulated_gb))
    else:
        if not torch.cuda.is_available():
            raise SystemExit("gpu-check: no CUDA GPU on this machine (use --dry-run for the plan)")
        device = torch.device("cuda")
        budget = Budget(budget_s)
        report.update(torch=torch.__version__, device=device_name(device))
        # A short bench (one timed call a row, one seed clip) with 70% of the budget; the OOM part
        # gets the rest.
        part("bench", lambda: bench_real(family, steps=1, seed_clips=1, budget_s=budget_s * 0.7, device=device))
        card = torch.cuda.get_device_properties(device).total_memory / GB
        part("memory_plans", lambda: memory_plans(card, simulated_gb))
        part("oom_recovery", lambda: oom_recovery(device, simulated_gb, budget))
    if "denoisers" in report:
        print_real(report)
    print(f"gpu-check: wrote {path} in {report['wall_s']:.0f} s")
    return report


def gpu_check_main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="gpu-check", description=gpu_check.__doc__)
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--dry-run", action="store_true", help="plan only, on the CPU (meta tensors)")
    parser.add_argument("--family", choices=("wan", "ltx", "svd", "all"), default="all")
    parser.add_argument("--budget", type=float, default=390.0, help="seconds for the GPU work (default 390)")
    args = parser.parse_args(argv)
    gpu_check(args.outdir, args.dry_run, args.family, args.budget)
    return 0
