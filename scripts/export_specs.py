"""Every built-in export preset against the platforms' upload specs, as a table: edit lists in the
file, the delay before the first frame for a player that ignores them, when its tracks start (as
libav, which applies edit lists, reads them), the most consecutive B-frames, the keyframe
interval, frame rate, length and size. Two real clips of the instant engine: 1 s at 16:9 for every preset (and as a
loop for Reels), and 3 s at 9:16 for the GIF (the case whose size the cap is for).

    PYTHONPATH=$PWD .venv/bin/python scripts/export_specs.py

To see another checkout's exports (e.g. before a change), put its folder first on PYTHONPATH.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import av

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "export"))  # the tests' MP4 box reader
from mp4boxes import edit_lists, first_frame_delays  # noqa: E402

from i2v_desktop.core.cancel import CancelToken  # noqa: E402
from i2v_desktop.core.request import GenerationRequest  # noqa: E402
from i2v_desktop.core.resources import resource_path  # noqa: E402
from i2v_desktop.engine.instant import InstantEngine  # noqa: E402
from i2v_desktop.export.social import export_clip, load_export_presets  # noqa: E402

SAMPLE = resource_path("samples", "astronaut.jpg")
PICTURE_TYPES = {1: "I", 2: "P", 3: "B"}


def clip(seconds: float, aspect: str):
    request = GenerationRequest(image=str(SAMPLE), preset="orbit", duration=seconds, fps=24, quality="draft",
                                aspect=aspect, model="instant")
    return InstantEngine().generate(request, lambda event: None, CancelToken()).frames


def row(name: str, path: Path) -> list[str]:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        starts = {s.type[0]: float(s.start_time * s.time_base)
                  for s in container.streams if s.start_time is not None}
        rate = video.average_rate
        keys = [p.pts for p in container.demux(video) if p.pts is not None and p.is_keyframe]
        container.seek(0)
        types = "".join(PICTURE_TYPES.get(int(f.pict_type), "?")
                        for f in sorted(container.decode(video=0), key=lambda f: f.pts))
        seconds = container.duration / 1e6
        step = 1 / (video.time_base * rate)
    runs = [len(run) for run in types.replace("I", " ").replace("P", " ").split()]
    gaps = sorted({round((b - a) / step) for a, b in zip(sorted(keys), sorted(keys)[1:])})
    mov = path.suffix in (".mp4", ".mov")
    delay = max(first_frame_delays(path), default=0.0) if mov else 0.0
    return [name, str(len(edit_lists(path))) if mov else "-", f"{delay * 1000:.0f} ms",
            " ".join(f"{k}={v * 1000:.0f}ms" for k, v in sorted(starts.items())),
            str(max(runs, default=0)), "/".join(map(str, gaps)) or "-", f"{float(rate):g}", f"{seconds:.3f}",
            f"{path.stat().st_size / 1e6:.2f} MB"]


def main() -> None:
    out = Path(tempfile.mkdtemp())
    library = load_export_presets()
    short, tall = clip(1.0, "16:9"), clip(3.0, "9:16")
    rows = [["preset", "elst", "delay w/o elst", "track starts", "max B run", "keyframe every", "fps",
             "seconds", "size"]]
    for pid, preset in library.presets.items():
        rows.append(row(pid, export_clip(short, 24, preset, out / f"{pid}{preset.extension}")))
    reels = library.get("reels")
    rows.append(row("reels (loop)", export_clip(short, 24, reels, out / "loop.mp4", loop=True)))
    gif = library.get("gif")
    rows.append(row("gif (3 s 9:16)", export_clip(tall, 24, gif, out / f"tall{gif.extension}")))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(r, widths)))


if __name__ == "__main__":
    main()
