"""A downloaded model on a machine without a GPU: refused in one line that names no command-line
flag, unless the request says to try anyway; then it renders on the processor. Through the real
engine, on a tiny pipeline laid out in the Hugging Face cache as a download leaves it."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest

from i2v_desktop.bench.tiny_registry import FAKE_REVISION, TINY_ENTRY
from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.events import Failed, Finished, StageChanged
from i2v_desktop.core.presets import load_presets
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.engine import device
from i2v_desktop.engine.diffusion import DiffusionEngine
from i2v_desktop.engine.registry import Registry


@pytest.fixture
def downloaded(tiny_folders, registry, hub_cache, monkeypatch):
    """The tiny Wan2.2 5B as a registry model whose pinned revision is in the download cache, on a
    machine whose best device is the processor."""
    monkeypatch.setattr(device, "pick_device", lambda prefer=None: prefer or "cpu")
    snapshot = hub_cache / "models--tiny-org--try-anyway" / "snapshots" / FAKE_REVISION
    shutil.copytree(tiny_folders["wan2.2-ti2v"], snapshot)
    base = registry.get(TINY_ENTRY["wan2.2-ti2v"])
    entry = replace(base, repo="tiny-org/try-anyway", revision=FAKE_REVISION, local_path=None)
    yield Registry({entry.id: entry}, entry.id)
    shutil.rmtree(snapshot.parent.parent)


def render(registry: Registry, photo: str, **over):
    engine = DiffusionEngine(registry, load_presets())  # no device asked: the best there is
    events = []
    request = GenerationRequest(image=photo, model=next(iter(registry.entries)), preset="orbit", duration=1.0,
                                seed=7, steps=2, **over)
    try:
        return engine.run(request, events.append, CancelToken()), events
    finally:
        engine.close()


def test_without_try_anyway_a_gpu_model_is_refused_before_loading(downloaded, photo):
    clip, events = render(downloaded, photo)
    assert clip is None and isinstance(events[-1], Failed)
    reason = events[-1].reason
    assert "needs a GPU" in reason and "try anyway" in reason and "hours per clip" in reason
    assert "--" not in reason and "\n" not in reason  # the window shows it: no command-line flag
    assert not any(isinstance(event, StageChanged) for event in events)  # nothing loaded


def test_try_anyway_renders_it_on_the_processor(downloaded, photo):
    clip, events = render(downloaded, photo, try_anyway=True)
    assert clip is not None and isinstance(events[-1], Finished), events[-1]
    assert clip.request.try_anyway and clip.info.device.startswith("cpu float32")
    assert clip.frames.shape[0] == 9  # the tiny registry's 9 frames: a whole clip
