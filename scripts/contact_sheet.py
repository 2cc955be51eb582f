"""Contact sheets of the instant engine: the first, middle and last frame of an orbit, a push-in and
the wind for each of the four samples, one PNG per preset (rows: samples; columns: frames), and,
for the wind, a fourth column: how far the middle frame moved from the first, amplified, so that
a sway too small to see side by side still shows where it happens.

    .venv/bin/python scripts/contact_sheet.py [OUT_FOLDER] [--aspect 4:5]

OUT_FOLDER defaults to docs/contact-sheets/. The wind's rows also print its motion score from the
scorecard, so that the pictures and the figure go together.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from i2v_desktop.core.cancel import CancelToken  # noqa: E402
from i2v_desktop.core.request import GenerationRequest  # noqa: E402
from i2v_desktop.core.resources import resource_path  # noqa: E402
from i2v_desktop.engine.instant import InstantEngine  # noqa: E402
from i2v_desktop.quality.scorecard import score_clip  # noqa: E402

SAMPLES = resource_path("samples")
PRESETS = ("orbit", "push-in", "wind")
CELL_WIDTH = 240
GAP = 6
WIND_GAIN = 8  # the wind's difference column: grey levels × this


def clip_for(engine: InstantEngine, photo: Path, preset: str, aspect: str):
    request = GenerationRequest(image=str(photo), preset=preset, aspect=aspect, duration=3.0, fps=24,
                                quality="draft", intensity=0.5, seed=1, loop=preset == "wind")
    return engine.generate(request, lambda event: None, CancelToken())


def cell(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    return cv2.resize(frame, (CELL_WIDTH, round(CELL_WIDTH * h / w)), interpolation=cv2.INTER_AREA)


def label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    (width, height), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)
    cv2.rectangle(out, (0, 0), (width + 10, height + 10), (0, 0, 0), thickness=-1)
    cv2.putText(out, text, (5, height + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def sheet(rows: list[list[np.ndarray]]) -> np.ndarray:
    height = max(c.shape[0] for row in rows for c in row)
    columns = max(len(row) for row in rows)
    out = np.full((len(rows) * (height + GAP) + GAP, columns * (CELL_WIDTH + GAP) + GAP, 3), 40, np.uint8)
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            y, x = GAP + r * (height + GAP), GAP + c * (CELL_WIDTH + GAP)
            out[y:y + image.shape[0], x:x + image.shape[1]] = image
    return out


def write_png(path: Path, rgb: np.ndarray) -> None:
    """Written beside its final name, then renamed: a reader never sees half a file."""
    temporary = path.with_name(path.name + ".tmp.png")
    if not cv2.imwrite(str(temporary), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise OSError(f"{temporary}: could not write the PNG")
    temporary.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=ROOT / "docs" / "contact-sheets")
    parser.add_argument("--aspect", default="4:5")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    engine = InstantEngine()
    photos = sorted(SAMPLES.glob("*.jpg"))
    for preset in PRESETS:
        rows = []
        for photo in photos:
            clip = clip_for(engine, photo, preset, args.aspect)
            frames = clip.frames
            picks = {"first": frames[0], "middle": frames[len(frames) // 2], "last": frames[-1]}
            row = [label(cell(frame), f"{photo.stem} {name}") for name, frame in picks.items()]
            note = ""
            if preset == "wind":
                moved = np.abs(frames[len(frames) // 2].astype(np.int16) - frames[0]).max(axis=2)
                amplified = np.clip(moved * WIND_GAIN, 0, 255).astype(np.uint8)
                row.append(label(cell(cv2.cvtColor(amplified, cv2.COLOR_GRAY2RGB)), f"|middle - first| x{WIND_GAIN}"))
                score = score_clip(frames, clip.fps, loop=True).motion
                note = f"  motion {score.value:.2f} %/s ({score.reason})"
            rows.append(row)
            print(f"{preset:8} {photo.stem:10}{note}", flush=True)
        path = args.out / f"{preset}-{args.aspect.replace(':', 'x')}.png"
        write_png(path, sheet(rows))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
