"""An instant render never imports the diffusion stack: its start-up is part of what a user waits for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("torch", "diffusers", "transformers", "accelerate", "huggingface_hub", "PySide6")

# Runs `i2v render` in a fresh interpreter, then reports which heavy packages it had imported.
PROBE = """
import json, sys
from i2v_desktop.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "loaded": [name for name in %r if name in sys.modules]}))
""" % (HEAVY,)


def test_an_instant_render_imports_no_torch_diffusers_or_qt(samples, tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH")) if p))
    command = [
        sys.executable, "-c", PROBE, "render", str(samples / "coffee.jpg"), "--model", "instant",
        "--preset", "push-in", "--duration", "0.5", "--quality", "draft", "--seed", "1", "--out", str(tmp_path),
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["code"] == 0
    assert report["loaded"] == [], f"an instant render imported {', '.join(report['loaded'])}"
    # The render really went through the whole command: clip, sidecar and its scorecard.
    sidecar = json.loads((tmp_path / "coffee.json").read_text())
    assert sidecar["render"]["engine"] == "instant" and sidecar["score"] is not None


def test_the_probe_sees_a_heavy_import(tmp_path: Path) -> None:
    """The check above can fail: the same probe, after an import of huggingface_hub, names it."""
    probe = PROBE.replace("from i2v_desktop.cli import main", "import huggingface_hub\nmain = lambda argv: 0")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["loaded"] == ["huggingface_hub"]
