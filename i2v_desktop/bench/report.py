"""The real-architecture bench's and gpu-check's tables, printed from their JSON reports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _cell(value: Any, fmt: str) -> str:
    """`value` in `fmt`, or a dash as wide as the column when the row has no such figure."""
    if isinstance(value, (int, float)):
        return format(value, fmt)
    return "-".rjust(int(fmt.split(".")[0] or 0))


def print_real(report: Mapping[str, Any]) -> None:
    if report.get("dry_run"):
        print(f"Dry run on meta tensors (no GPU). Times assume {report['assumed_tflops']:.0f} TFLOP/s achieved.")
        print(f"{'denoiser':28} {'params':>7} {'TFLOP':>7} {'calls':>5} {'est s/step':>10}  output")
        for d in report["denoisers"]:
            print(f"{d['name']:28} {d['params_b']:6.2f}B {d['tflop_per_call']:7.1f} {d['calls_per_step']:5d} "
                  f"{d['estimated_step_s']:10.2f}  {d['output']}")
            for v in d["variants"]:
                print(f"    would run {v['variant']:46} about {v['estimate_s']:6.1f} s")
        for v in report["vae"]:
            print(f"VAE {v['name']:24} {v['params_m']:7.0f}M decode {v['decode_tflop']:7.1f} TFLOP -> {v['frames']}"
                  f"; encode {v['encode_tflop']:6.1f} TFLOP")
        print(f"Every row above with its VAE: about {report['estimated_total_s']:.0f} s; under gpu-check's budget "
              "the cheapest run first and the rest are reported as skipped.")
        print(f"Seed job: {report['seed_job']['status']}")
        print_checks(report)
        return
    print(f"{report['device']}: bf16 matmul {report['matmul_tflops']:.0f} TFLOP/s, {report['memory_gb']:.0f} GB usable")
    print(f"{'denoiser':28} {'variant':28} {'ms/call':>9} {'ms/step':>9} {'MFU':>6} {'peak GB':>8} {'vs plain':>8}  status")
    for r in report["denoisers"]:
        print(f"{r['name']:28} {r['variant'][:28]:28} {_cell(r.get('call_ms'), '9.1f')} "
              f"{_cell(r.get('step_ms'), '9.1f')} {_cell(r.get('mfu'), '6.1%')} {_cell(r.get('peak_gb'), '8.1f')} "
              f"{_cell(r.get('vs_plain'), '8.2f')}  {r['status']}")
    print(f"{'VAE':28} {'decoder':8} {'decode s':>9} {'peak GB':>8} {'encode s':>9}  status")
    for r in report["vae"]:
        print(f"{r['name']:28} {r['decoder']:8} {_cell(r.get('decode_s'), '9.2f')} "
              f"{_cell(r.get('decode_peak_gb'), '8.1f')} {_cell(r.get('encode_s'), '9.2f')}  {r['status']}")
    for r in report["first_preview"]:
        if r["status"] == "ok":
            print(f"first preview {r['name']:28} {r['first_preview_s']:.2f} s (encode {r['encode_s']:.2f} + step "
                  f"{r['step_s']:.2f} + preview {r['preview_s']:.3f}); target {r['target_s']:.2f} s")
        else:
            print(f"first preview {r['name']:28} {r['status']}")
    seed = report.get("seed_job")
    if seed:
        if seed.get("status") == "ok":
            print(f"seed job {seed['model']}: {seed['clip_s']:.1f} s a clip, {seed['photos']} clips "
                  f"{seed['job_s']:.0f} s (target 180 s; {seed['clips_run']} run), peak {seed['peak_gb']:.1f} GB; "
                  f"the denoiser alone needs {seed['bound_s']:.0f} s at 100% of the measured matmul peak")
        else:
            print(f"seed job: {seed['status']}")
    print("MFU is against the bf16 8192³ matrix product measured in this run; TFLOP counted by FlopCounterMode.")
    print_checks(report)


def print_checks(report: Mapping[str, Any]) -> None:
    """gpu-check's memory plans and OOM recovery, after the bench's tables."""
    plans: dict[str, list[str]] = {}
    for plan in report.get("memory_plans", []):
        plans.setdefault(plan["model"], []).append(f"{plan['gpu_gb']:.0f} GB: {plan['offload']}"
                                                   + (" + fp8" if plan["fp8"] else ""))
    for model, cells in plans.items():
        print(f"memory plan {model:24} " + "; ".join(cells))
    oom = report.get("oom_recovery")
    if not oom:
        return
    for row in oom.get("bench_rows", []):
        if isinstance(row, dict):
            print(f"on {oom['simulated_gb']:.0f} GB: {row['name']:28} {row['status']}")
    ladder = oom.get("ladder")
    if isinstance(ladder, list) and ladder and isinstance(ladder[0], dict):
        steps = ", ".join(f"{a['offload']} {a['status']}" + (f" while {a['stage']}" if "stage" in a and
                                                              a["status"] != "ok" else "") for a in ladder)
        print(f"OOM ladder on {oom['simulated_gb']:.0f} GB: {steps}")
    else:
        print(f"OOM ladder on {oom['simulated_gb']:.0f} GB: {ladder}")
