"""What sound costs a clip's save: a 3 s 1280x720 24 fps clip (random frames, the slowest case for
the encoder) saved with and without a 48 kHz stereo track, best of 3 each, in the same run.

    .venv/bin/python scripts/sound_cost.py
"""

import tempfile
import time
from pathlib import Path
import numpy as np
from i2v_desktop.core.clip import Audio, Clip, RenderInfo
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.studio.render import save_clip
frames = np.random.default_rng(0).integers(0, 256, (72, 720, 1280, 3), dtype=np.uint8)
t = np.arange(3 * 48000) / 48000
audio = Audio(np.stack([np.sin(2 * np.pi * 440 * t)] * 2, 1).astype(np.float32) * 0.5, 48000)
info = RenderInfo("instant", "instant", 1280, 720, 72, 24.0, 1, None, 0, "", "")
best = {}
with tempfile.TemporaryDirectory() as tmp:
    for run in range(3):
        for name, sound in (("silent", None), ("sound", audio)):
            clip = Clip(frames.copy(), 24.0, GenerationRequest(image="a.jpg", sound=sound is not None), info, sound)
            start = time.perf_counter()
            save_clip(clip, Path(tmp) / f"{name}{run}.mp4")
            best[name] = min(best.get(name, 1e9), time.perf_counter() - start)
print({k: round(v, 2) for k, v in best.items()}, "ratio", round(best["sound"] / best["silent"], 3))
