"""`i2v bench --instant`: the instant engine end to end against ffmpeg's own zoompan.

A 12-megapixel photo becomes a 3 s, 24 fps, 1080×1920 MP4. What a user waits for is the whole
`i2v render` command (interpreter start-up, imports, decoding the photo, the matte, the frames,
the scorecard, the encode and the sidecar), so that is timed first, as a subprocess, wall clock.
Beside it, in this process: the engine's render alone (decode, matte, frames), the scorecard and
the encode, and ffmpeg's zoompan filter doing a plain zoom of the same photo to the same size,
length and encoder settings (its own start-up and JPEG decode included, as ours are).

The window renders in a worker process that it starts with its first render and keeps: the
window's row times what its user waits for, from the render call to the clip in the history
(frames back in the window, thumbnails, history entry), for a warm worker, as every render after
the first one in a session finds it; the first one's start-up is printed below the table.

Each figure is the median of a few runs, and the machine's load average is printed with them:
on a shared machine a busy neighbour slows every row, and the load says how much to trust them.
"""

from __future__ import annotations

import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

from ..core.cancel import CancelToken
from ..core.request import GenerationRequest
from ..core.resources import resource_path
from ..engine.instant import InstantEngine
from ..studio.render import save_clip, score_against_photo

SAMPLES = resource_path("samples")
DURATION, FPS, WIDTH, HEIGHT = 3.0, 24, 1080, 1920
# One preset per way the engine moves a photo: a layered camera move (push-in, orbit), a turntable
# with its moving highlight, a wind field and a breathing still.
PRESETS = ("push-in", "orbit", "turntable", "wind", "subtle")
RUNS = 3
# The package root, so that the subprocess runs this very copy of i2v_desktop.
PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent


def twelve_megapixel_photo(folder: Path) -> Path:
    """The coffee sample enlarged to 4000×3000 with fine grain, saved as a camera would (JPEG q92)."""
    image = cv2.imread(str(SAMPLES / "coffee.jpg"))
    big = cv2.resize(image, (4000, 3000), interpolation=cv2.INTER_CUBIC)
    grain = np.random.default_rng(0).normal(0, 4, big.shape).astype(np.float32)
    big = np.clip(big + grain, 0, 255).astype(np.uint8)
    path = folder / "photo-12mp.jpg"
    cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return path


def render_command(photo: Path, preset: str, out: Path) -> list[str]:
    """`i2v render` of the photo with this preset to a 3 s, 24 fps, 9:16 clip at the instant
    engine's standard (1080p) size, exactly as a user would type it (the entry point's own code)."""
    return [
        sys.executable, "-c", "import sys; from i2v_desktop.cli import main; sys.exit(main())",
        "render", str(photo), "--model", "instant", "--preset", preset, "--aspect", "9:16",
        "--duration", f"{DURATION:g}", "--fps", str(FPS), "--seed", "1", "--out", str(out),
    ]


def run_end_to_end(photo: Path, preset: str, out: Path) -> tuple[float, float, int]:
    """Wall-clock seconds of the whole `i2v render` command, start-up included, the processor
    seconds it and its ffmpeg used (on a busy machine the wall clock grows with the neighbours'
    load; the processor time much less: it says what the command costs), and its peak resident
    memory in bytes (0 where the system does not say)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH")) if p)
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        process = subprocess.Popen(render_command(photo, preset, out), env=env, stdout=subprocess.DEVNULL,
                                   stderr=errors)
        done, peak = threading.Event(), [0]
        watcher = threading.Thread(target=_watch_peak, args=(process.pid, done, peak))
        watcher.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)  # the command's own usage, its ffmpeg's included
        finally:
            done.set()
            watcher.join()
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            last = errors.read().decode(errors="replace").strip().splitlines()[-1:]
            raise RuntimeError(f"i2v render --preset {preset} failed: {last}")
    return seconds, usage.ru_utime + usage.ru_stime, peak[0]


def _watch_peak(pid: int, done: threading.Event, peak: list[int]) -> None:
    """The process's high-water resident memory, read until it ends (the kernel's own figure for
    that process alone: the rusage of a child started from this large process would count this
    one's memory too)."""
    status = Path(f"/proc/{pid}/status")
    while not done.wait(0.02):
        try:
            text = status.read_text()
        except OSError:
            return  # gone, or no /proc here
        for line in text.splitlines():
            if line.startswith("VmHWM:"):
                peak[0] = max(peak[0], int(line.split()[1]) * 1024)


def run_stages(photo: Path, preset: str, out: Path) -> tuple[float, float, float]:
    """(render, score, encode) seconds in this process, one after the other."""
    engine = InstantEngine()
    request = GenerationRequest(image=str(photo), preset=preset, aspect="9:16", duration=DURATION, fps=FPS, seed=1)
    start = time.perf_counter()
    clip = engine.generate(request, lambda event: None, CancelToken())
    rendered = time.perf_counter()
    assert clip.size == (WIDTH, HEIGHT) and clip.num_frames == round(DURATION * FPS)
    motion = engine.presets.get(preset)
    score = score_against_photo(clip, still=motion.still, move=motion.move)
    scored = time.perf_counter()
    save_clip(clip, out, encoder_preset=engine.encoder_preset, score=score)
    saved = time.perf_counter()
    return rendered - start, scored - rendered, saved - scored


def zoompan_command(photo: Path, out: Path, encoder_preset: str) -> list[str]:
    from imageio_ffmpeg import get_ffmpeg_exe

    frames = round(DURATION * FPS)
    # Fill 1080×1920 from the photo (crop to 9:16), then zoom in 15% over the clip.
    graph = (
        f"scale=-2:{HEIGHT},crop={WIDTH}:{HEIGHT},"
        f"zoompan=z='1+0.15*on/{frames}':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d={frames}:s={WIDTH}x{HEIGHT}:fps={FPS},"
        "format=yuv420p"
    )
    return [
        get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(photo), "-vf", graph, "-frames:v", str(frames),
        "-c:v", "libx264", "-preset", encoder_preset, "-crf", "18", "-profile:v", "high",
        "-x264-params", "cabac=1:8x8dct=1", "-movflags", "+faststart", str(out),
    ]


def run_zoompan(photo: Path, out: Path, encoder_preset: str) -> float:
    start = time.perf_counter()
    subprocess.run(zoompan_command(photo, out, encoder_preset), check=True)
    return time.perf_counter() - start


def run_window(photo: Path, preset: str, runs: int) -> tuple[float, float]:
    """(first render, median of the next `runs`) seconds of the window's own render path: the
    Studio the app makes, rendering in its worker process, into a history in a fresh data folder."""
    from ..core.studio import Saved
    from ..studio.local import user_studio

    saved: list[Saved] = []
    times: list[float] = []
    with tempfile.TemporaryDirectory() as home:
        keys = ("XDG_DATA_HOME", "XDG_CONFIG_HOME")
        before = {key: os.environ.get(key) for key in keys}
        os.environ.update(XDG_DATA_HOME=f"{home}/data", XDG_CONFIG_HOME=f"{home}/config")
        try:
            studio, _ = user_studio(process=True)
            try:
                for _ in range(runs + 1):
                    request = GenerationRequest(image=str(photo), preset=preset, aspect="9:16", duration=DURATION,
                                                fps=FPS, seed=1, model="instant")
                    start = time.perf_counter()
                    studio.render(request, lambda event: None, CancelToken(), saved.append)
                    times.append(time.perf_counter() - start)
            finally:
                studio.close()
        finally:
            for key, value in before.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    if len(saved) != runs + 1:
        raise RuntimeError(f"the window's render of {preset} saved {len(saved)} of {runs + 1} clips")
    return times[0], statistics.median(times[1:])


def median_of(runs: int, measure: Callable[[int], float]) -> float:
    return statistics.median(measure(i) for i in range(runs))


def run_end_to_end_median(photo: Path, preset: str, folder: Path, runs: int) -> tuple[float, float, int]:
    """Median wall and processor seconds of `runs` whole commands, and their highest peak memory."""
    results = [run_end_to_end(photo, preset, folder / f"{preset}-cli{i}") for i in range(runs)]
    return (statistics.median(r[0] for r in results), statistics.median(r[1] for r in results),
            max(r[2] for r in results))


def compiled() -> None:
    """The package's bytecode written, as an installed app has it from its first start on: each
    timed command then reads it instead of compiling forty modules again (0.1 s of start-up), as
    it would on every run where Python is told never to write bytecode (PYTHONDONTWRITEBYTECODE)."""
    compileall.compile_dir(PACKAGE_ROOT / "i2v_desktop", quiet=1)


def run_benchmark(presets: Sequence[str] = PRESETS, runs: int = RUNS) -> int:
    compiled()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        photo = twelve_megapixel_photo(folder)
        encoder = InstantEngine.encoder_preset
        load_before = os.getloadavg()[0]
        print(f"12 MP photo → {DURATION:g} s, {FPS} fps, {WIDTH}×{HEIGHT} MP4 (x264 {encoder}, CRF 18), "
              f"{os.cpu_count()} cores; median of {runs} runs")
        baseline = median_of(runs, lambda i: run_zoompan(photo, folder / f"zoompan{i}.mp4", encoder))
        print(f"{'':18} {'end to end':>10} {'× clip':>7} {'× zoompan':>9} {'window':>7} {'CPU s':>6} "
              f"{'render':>7} {'score':>6} {'encode':>7} {'peak MB':>8}")
        print(f"{'ffmpeg zoompan':18} {baseline:10.2f} {baseline / DURATION:7.2f} {1.0:9.2f}")
        firsts = []
        for preset in presets:
            whole, cpu, peak = run_end_to_end_median(photo, preset, folder, runs)
            first, window = run_window(photo, preset, runs)
            firsts.append(first)
            stages = [run_stages(photo, preset, folder / f"{preset}{i}.mp4") for i in range(runs)]
            render, score, encode = (statistics.median(s[k] for s in stages) for k in range(3))
            print(f"{'instant ' + preset:18} {whole:10.2f} {whole / DURATION:7.2f} {whole / baseline:9.2f} "
                  f"{window:7.2f} {cpu:6.2f} {render:7.2f} {score:6.2f} {encode:7.2f} {peak / 2**20:8.0f}")
        print(f"Seconds. End to end: the whole `i2v render` command, start-up included ('× clip' under 1 is "
              f"faster than real time), and the processor time it used (with ffmpeg's). Window: its render "
              f"call to the clip in its history, worker process warm (the first render of a session, which "
              f"starts the worker, took {statistics.median(firsts):.2f} s). Render, score, encode: each "
              f"alone, one after the other (a render overlaps them). Peak MB: the command's largest "
              f"process at its fullest (the window keeps the clip's frames, which the command does "
              f"not: {round(DURATION * FPS) * WIDTH * HEIGHT * 3 / 2**20:.0f} MB more). Load average "
              f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after.")
    return 0
