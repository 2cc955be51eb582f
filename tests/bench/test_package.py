"""The bench package: importing it (the tiny pipelines included) loads no torch, diffusers or Qt."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_importing_the_bench_and_its_tiny_pipelines_loads_no_heavy_library() -> None:
    modules = ["i2v_desktop.bench", "i2v_desktop.bench.tiny", "i2v_desktop.bench.tiny_parts",
               "i2v_desktop.bench.tiny_registry", "i2v_desktop.bench.run", "i2v_desktop.bench.gpu_check"]
    code = (f"import importlib, sys\nfor name in {modules!r}:\n    importlib.import_module(name)\n"
            "print(sorted({'torch', 'diffusers', 'transformers', 'PySide6'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr[-500:]
    assert result.stdout.strip() == "[]"
