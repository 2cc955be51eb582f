"""How responsive the window stays: start-up time, and the longest event-loop stall while a render,
an export and the machine probe run.

A 10 ms timer should fire every 10 ms; each gap beyond that is time the window could not react.
The idle window is measured in the same run as the baseline. Goal: longest stall under 50 ms.

    .venv/bin/python scripts/responsiveness.py                 # renders in the worker process, as the app does
    .venv/bin/python scripts/responsiveness.py --in-process    # the same renders on the engine thread
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

START = time.perf_counter()
HOME = tempfile.mkdtemp(prefix="i2v-responsiveness-")
os.environ.update(XDG_DATA_HOME=f"{HOME}/data", XDG_CONFIG_HOME=f"{HOME}/config", HF_HUB_OFFLINE="1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from i2v_desktop.app import keep_singletons_alive, make_studio  # noqa: E402
from i2v_desktop.core.resources import resource_path  # noqa: E402
from i2v_desktop.ui.theme import apply_theme  # noqa: E402
from i2v_desktop.ui.window import MainWindow  # noqa: E402
from stalls import Stalls, wait  # noqa: E402  (this folder is on the path when run as a script)

SAMPLES = resource_path("samples")


def main() -> int:
    keep_singletons_alive()  # PySide6 6.12 on Python < 3.12: see app.py
    app = QApplication(sys.argv[:1])
    apply_theme(app)
    settings = QSettings(f"{HOME}/config/settings.ini", QSettings.Format.IniFormat)
    # --in-process: render on the engine thread of this process (the baseline the worker process is measured against)
    window = MainWindow(make_studio(process="--in-process" not in sys.argv), settings, probe=False)
    window.show()
    app.processEvents()
    shown = time.perf_counter() - START
    print(f"start-up to a shown window: {shown:.2f} s (torch imported: {'torch' in sys.modules})")

    with Stalls() as idle:
        end = time.perf_counter() + 2.0
        wait(app, lambda: time.perf_counter() > end)
    print(idle.line("idle (baseline)"))

    window.add_paths([SAMPLES / "coffee.jpg"])
    wait(app, lambda: window.state.photos and window.state.photos[0].status.value == "ready")
    window.state.choose(model="instant", duration=3.0, fps=24.0, aspect="9:16", quality="standard", variants=2)
    with Stalls() as render:
        started = time.perf_counter()
        window.generate()
        wait(app, lambda: not window.queue.busy)
        render_s = time.perf_counter() - started
    print(render.line("render (instant, 2 × 3 s 1080p)"), f" {render_s:.1f} s")

    from i2v_desktop.ui.export import ExportPlan

    entries = tuple(window.studio.clips())
    plan = ExportPlan(entries, ("reels",), Path(HOME) / "exports", "{photo}_{seed}_{format}", open_folder=False)
    with Stalls() as export:
        started = time.perf_counter()
        window.start_export(plan)
        wait(app, lambda: not window.exporter.busy)
        took = time.perf_counter() - started
    written = sorted((Path(HOME) / "exports").glob("*.mp4"))
    if len(written) != len(entries):  # a figure for an export that did not happen would mislead
        sys.exit(f"the export wrote {len(written)} of {len(entries)} files: {window.export_status.text()}")
    print(export.line(f"export ({len(entries)} clips for Reels)"), f" {took:.1f} s")

    with Stalls() as probe:
        started = time.perf_counter()
        window.queue.probe()
        wait(app, lambda: window.machine.text() != "Checking this machine…")
        took = time.perf_counter() - started
    print(probe.line("machine probe"), f" {took:.1f} s  → {window.machine.text()}")

    # The same render with no window, on this thread: what the window's own work costs.
    from i2v_desktop.core.cancel import CancelToken

    request = window.state.requests(window.state.photos)[0]
    started = time.perf_counter()
    window.studio.render(request, lambda event: None, CancelToken(), lambda saved: None)
    bare = time.perf_counter() - started
    print(f"{'same render without a window':<38} {bare:.1f} s   (window / bare: {render_s / bare:.2f})")

    # The first diffusion render imports torch (in the render process): the one long import. The
    # Wan 5B entry points at a tiny pipeline through a user models file, which the process reads.
    folder = Path(HOME) / "tiny-wan"
    subprocess.run([sys.executable, "-c", "import sys, pathlib; from i2v_desktop.bench.tiny import "
                    "save_tiny_pipeline; save_tiny_pipeline('wan2.2-ti2v', pathlib.Path(sys.argv[1]))",
                    str(folder)], check=True)
    from i2v_desktop.core.presets import load_presets
    from i2v_desktop.engine.registry import load_registry
    from i2v_desktop.studio.process import EngineSettings, RenderProcess
    from i2v_desktop.studio.render import Engines

    models = Path(HOME) / "tiny-models.json"
    tiers = {quality: {"resolution": "tiny", "steps": 2} for quality in ("draft", "standard", "final")}
    entry = {"id": "wan2.2-ti2v-5b", "base": "wan2.2-ti2v-5b", "path": str(folder),
             "resolutions": {"tiny": [64, 64]}, "tiers": tiers, "max_frames": 9}
    models.write_text(json.dumps({"models": [entry]}))
    window.studio.engines = Engines(load_registry(user_file=models), load_presets(), device="cpu")
    window.studio._process.close()
    window.studio._process = RenderProcess(EngineSettings(models_file=models, device="cpu"))
    window.state.choose(model="wan2.2-ti2v-5b", duration=0.3, aspect="1:1", variants=1)
    with Stalls() as diffusion:
        started = time.perf_counter()
        window.generate()
        wait(app, lambda: not window.queue.busy)
        took = time.perf_counter() - started
    print(diffusion.line("first diffusion render (loads torch)"), f" {took:.1f} s")
    window.close()
    worst = max(max(render.gaps), max(export.gaps), max(probe.gaps))
    print(f"longest stall in render, export and probe: {worst:.1f} ms (goal < 50 ms); "
          f"idle baseline {max(idle.gaps):.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
