"""Improve prompt where the renders run: a window's worker process enhances with the model it has
loaded for rendering, so the window's own process never loads a second copy."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from i2v_desktop.bench.tiny import save_tiny_pipeline
from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.errors import Cancelled, ModelError
from i2v_desktop.core.presets import load_presets
from i2v_desktop.core.resources import resource_path
from i2v_desktop.engine.registry import load_registry
from i2v_desktop.studio.process import EngineSettings, RenderProcess
from i2v_desktop.studio.render import Engines

SAMPLES = resource_path("samples")
MODEL = "tiny-ltx2"


@pytest.fixture(scope="module")
def models_file(tmp_path_factory) -> Path:
    folder = save_tiny_pipeline("ltx2", tmp_path_factory.mktemp("models") / "tiny-ltx2")
    tiers = {quality: {"resolution": "tiny", "steps": 2} for quality in ("draft", "standard", "final")}
    entry = {"id": MODEL, "base": "ltx-2.3-22b", "name": "Tiny LTX-2", "path": str(folder),
             "resolutions": {"tiny": [64, 64]}, "tiers": tiers, "max_frames": 9}
    path = tmp_path_factory.mktemp("config") / "models.json"
    path.write_text(json.dumps({"models": [entry]}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def worker(models_file):
    process = RenderProcess(EngineSettings(models_file=models_file, device="cpu"))
    yield process
    process.close()


def test_the_worker_process_enhances_as_this_process_would_and_keeps_its_model(worker, models_file):
    photo = str(SAMPLES / "coffee.jpg")
    text = worker.enhance(MODEL, photo, "a cup of coffee", CancelToken())
    pid = worker.pid
    engines = Engines(load_registry(user_file=models_file), load_presets(), device="cpu")
    try:
        here = engines.enhance_prompt(MODEL, photo, "a cup of coffee", CancelToken())
    finally:
        engines.close()
    assert text == here and text.strip() != "a cup of coffee"
    assert worker.enhance(MODEL, photo, "a cup of coffee", CancelToken()) == text  # same child, same text
    assert worker.pid == pid


def test_the_enhancers_one_line_errors_and_a_cancel_come_back_from_the_worker(worker):
    photo = str(SAMPLES / "coffee.jpg")
    with pytest.raises(ModelError, match="ships no prompt enhancer"):
        worker.enhance("instant", photo, "a cat", CancelToken())
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        worker.enhance(MODEL, photo, "a dog", cancel)
    assert not [t for t in threading.enumerate() if t.name.startswith("i2v")]
    # The child is still there for the next job.
    assert worker.enhance(MODEL, photo, "a dog", CancelToken())
