"""`i2v bench --instant`: the instant engine end to end against ffmpeg's own zoompan.

A 12-megapixel photo becomes a 3 s, 24 fps, 1080×1920 MP4: our render (subject separation,
background completion, layered camera) plus the H.264 encode, against ffmpeg's zoompan filter
doing a plain zoom of the same photo to the same size, length and encoder settings, in the same
run. Also reports our peak resident memory.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from ..core.cancel import CancelToken
from ..core.request import GenerationRequest
from ..engine.instant import InstantEngine
from ..studio.render import save_clip
from .measure import PeakMemory

SAMPLES = Path(__file__).resolve().parent.parent / "resources" / "samples"
DURATION, FPS, WIDTH, HEIGHT = 3.0, 24, 1080, 1920


def twelve_megapixel_photo(folder: Path) -> Path:
    """The coffee sample enlarged to 4000×3000 with fine grain, saved as a camera would (JPEG q92)."""
    image = cv2.imread(str(SAMPLES / "coffee.jpg"))
    big = cv2.resize(image, (4000, 3000), interpolation=cv2.INTER_CUBIC)
    grain = np.random.default_rng(0).normal(0, 4, big.shape).astype(np.float32)
    big = np.clip(big + grain, 0, 255).astype(np.uint8)
    path = folder / "photo-12mp.jpg"
    cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return path


def run_ours(photo: Path, preset: str, out: Path) -> tuple[float, int]:
    engine = InstantEngine()
    request = GenerationRequest(image=str(photo), preset=preset, aspect="9:16", duration=DURATION, fps=FPS, seed=1)
    with PeakMemory("cpu") as memory:
        start = time.perf_counter()
        clip = engine.generate(request, lambda event: None, CancelToken())
        save_clip(clip, out, encoder_preset=engine.encoder_preset)
        seconds = time.perf_counter() - start
    assert clip.size == (WIDTH, HEIGHT) and clip.num_frames == round(DURATION * FPS)
    return seconds, memory.peak


def run_zoompan(photo: Path, out: Path, encoder_preset: str) -> float:
    from imageio_ffmpeg import get_ffmpeg_exe

    frames = round(DURATION * FPS)
    # Fill 1080×1920 from the photo (crop to 9:16), then zoom in 15% over the clip.
    graph = (
        f"scale=-2:{HEIGHT},crop={WIDTH}:{HEIGHT},"
        f"zoompan=z='1+0.15*on/{frames}':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d={frames}:s={WIDTH}x{HEIGHT}:fps={FPS},"
        "format=yuv420p"
    )
    command = [
        get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(photo), "-vf", graph, "-frames:v", str(frames),
        "-c:v", "libx264", "-preset", encoder_preset, "-crf", "18", "-profile:v", "high",
        "-x264-params", "cabac=1:8x8dct=1", "-movflags", "+faststart", str(out),
    ]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start


def run_benchmark(presets: tuple[str, ...] = ("push-in", "orbit", "wind")) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        photo = twelve_megapixel_photo(folder)
        encoder = InstantEngine.encoder_preset
        baseline = min(run_zoompan(photo, folder / f"zoompan{i}.mp4", encoder) for i in range(2))
        print(f"12 MP photo → {DURATION:g} s, {FPS} fps, {WIDTH}×{HEIGHT} MP4 (x264 {encoder}, CRF 18)")
        print(f"{'':22} {'seconds':>8} {'× clip':>7} {'× zoompan':>10} {'peak MB':>8}")
        print(f"{'ffmpeg zoompan':22} {baseline:8.2f} {baseline / DURATION:7.2f} {1.0:10.2f} {'':>8}")
        for preset in presets:
            runs = [run_ours(photo, preset, folder / f"{preset}{i}.mp4") for i in range(2)]
            seconds = min(r[0] for r in runs)
            peak = max(r[1] for r in runs)
            print(f"{'instant ' + preset:22} {seconds:8.2f} {seconds / DURATION:7.2f} {seconds / baseline:10.2f} "
                  f"{peak / 2**20:8.0f}")
        print("Best of two runs each; '× clip' under 1 means faster than real time.")
    return 0
