"""The exports every test here probes: one real generated clip, exported once per built-in preset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from exported import METADATA, SAMPLE

from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.engine.instant import InstantEngine
from i2v_desktop.export.social import export_clip, load_export_presets


@pytest.fixture(scope="session")
def clip() -> np.ndarray:
    """One second of the instant engine's orbit at 24 fps, 1280×720: a real generated clip."""
    request = GenerationRequest(
        image=str(SAMPLE),
        preset="orbit",
        duration=1.0,
        fps=24,
        quality="draft",
        aspect="16:9",
        model="instant",
    )
    frames = InstantEngine().generate(request, lambda event: None, CancelToken()).frames
    assert frames.shape == (24, 720, 1280, 3)
    return frames


@pytest.fixture(scope="session")
def exports(clip: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("social")
    library = load_export_presets()
    return {
        pid: export_clip(clip, 24, preset, folder / f"clip-{pid}{preset.extension}", metadata=METADATA)
        for pid, preset in library.presets.items()
    }
