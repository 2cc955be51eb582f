"""How often the motion-adherence measure names the move each instant-engine preset asks for.

Every built-in preset that names a move is rendered by the instant engine on each sample photo at
each aspect the app offers (small frames, so the whole table takes a few minutes on two cores),
the camera motion of each clip is estimated (quality/motion.py), and a confusion table (Markdown,
rows: asked; columns: found) is printed with the percentage found correctly.

Every clip is counted against the asked move, as the issue asks, and again against what the engine
really rendered, which is the measure's own accuracy. The two differ only where the engine draws a
camera move as one flat layer (no subject cut out, no depth model, a preset that the relief of
engine/relief.py is not for): an orbit would be a plain slide (a pan) and a turntable a still clip.

    .venv/bin/python scripts/motion_confusion.py [--seeds N] [--presets a,b] [--samples x.jpg,y.jpg]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from i2v_desktop.core.resources import resource_path  # noqa: E402
from i2v_desktop.core.framing import output_size  # noqa: E402
from i2v_desktop.core.image import load_image  # noqa: E402
from i2v_desktop.core.presets import MOVES  # noqa: E402
from i2v_desktop.core.request import ASPECTS, GenerationRequest  # noqa: E402
from i2v_desktop.engine.camera import take_for  # noqa: E402
from i2v_desktop.engine.instant import InstantEngine, Scene, plan_instant, without_subject  # noqa: E402
from i2v_desktop.quality.motion import estimate_clip  # noqa: E402

SAMPLES = resource_path("samples")
AREA = 320 * 180  # pixels per frame: about 180 px on the short side, what the scorecard reads at 1080p


@dataclasses.dataclass(frozen=True)
class Case:
    preset: str
    sample: str
    aspect: str
    seed: int
    asked: str
    rendered: str  # what the engine really did: the asked move, or its flat-layer stand-in
    found: str


def render(engine: InstantEngine, preset: str, sample: str, aspect: str, seed: int) -> tuple[np.ndarray, str]:
    """A small clip of `preset` (intensity and length the app's defaults) and the move it really shows."""
    motion = engine.presets.get(preset)
    family = motion.for_family(engine.entry.family)
    seed = 0 if family.deterministic else seed
    request = GenerationRequest(image=str(SAMPLES / sample), preset=preset, aspect=aspect, seed=seed,
                                loop=motion.loops, model=engine.entry.id)
    controls = family.controls_for(request.intensity)
    source = load_image(request.image)
    plan = plan_instant(engine.entry, request, source.size, controls)
    width, height = output_size(source.size, aspect, AREA, 2)
    plan = dataclasses.replace(plan, width=width, height=height)
    scene = Scene(source, plan, request.crop_center, seed)
    scene, plan = without_subject(scene, plan)  # as the engine does: depth layers or a relief where it can
    flat = scene.layered and not scene.matte.any() and type(scene) is Scene
    frames = np.empty((plan.num_frames, plan.height, plan.width, 3), np.uint8)
    for index in range(plan.num_frames):
        scene.render(index, frames[index])
    rendered = motion.move or "static"
    if flat and rendered == "orbit":  # one layer slides; the background's slide is against the orbit's direction
        rendered = "pan-left" if take_for(seed).direction < 0 else "pan-right"
    elif flat and rendered == "local" and controls.get("spin"):  # nothing to turn
        rendered = "static"
    return frames, rendered


def run(presets: list[str], samples: list[str], aspects: list[str], seeds: int) -> list[Case]:
    engine = InstantEngine()
    cases = []
    for preset in presets:
        asked = engine.presets.get(preset).move
        if asked is None:
            continue
        for sample in samples:
            for aspect in aspects:
                for seed in range(seeds):
                    frames, rendered = render(engine, preset, sample, aspect, seed)
                    cases.append(Case(preset, sample, aspect, seed, asked, rendered, estimate_clip(frames).move))
    return cases


def table(cases: list[Case], truth: str = "asked") -> str:
    """The confusion table in Markdown: a row per asked (or rendered) move, a column per move found."""
    rows = [m for m in MOVES if any(getattr(c, truth) == m for c in cases)]
    columns = [m for m in MOVES if any(c.found == m or getattr(c, truth) == m for c in cases)]
    lines = ["| asked \\ found | " + " | ".join(columns) + " | correct |",
             "|---" * (len(columns) + 2) + "|"]
    for row in rows:
        mine = [c for c in cases if getattr(c, truth) == row]
        counts = [sum(c.found == col for c in mine) for col in columns]
        cells = [f"**{n}**" if col == row else (str(n) if n else "·") for n, col in zip(counts, columns)]
        lines.append(f"| {row} | " + " | ".join(cells) + f" | {sum(c.found == row for c in mine)}/{len(mine)} |")
    return "\n".join(lines)


def accuracy(cases: list[Case], truth: str = "asked") -> float:
    return 100.0 * sum(c.found == getattr(c, truth) for c in cases) / max(1, len(cases))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1, help="takes per preset, photo and aspect (seeds 0..N-1)")
    parser.add_argument("--presets", default="", help="comma-separated preset ids (default: all that name a move)")
    parser.add_argument("--samples", default="", help="comma-separated sample photos (default: all)")
    args = parser.parse_args(argv)
    presets = args.presets.split(",") if args.presets else InstantEngine().presets.ids()
    samples = args.samples.split(",") if args.samples else sorted(p.name for p in SAMPLES.glob("*.jpg"))
    aspects = [a for a in ASPECTS if ASPECTS[a] is not None]
    started = time.perf_counter()
    cases = run(presets, samples, aspects, max(1, args.seeds))
    print(f"{len(cases)} clips: {len(presets)} presets × {len(samples)} photos × {len(aspects)} aspects "
          f"({', '.join(aspects)}) × {max(1, args.seeds)} seed(s), {time.perf_counter() - started:.0f} s\n")
    print("Against the asked move:\n")
    print(table(cases))
    print(f"\n{accuracy(cases):.1f} % correct\n")
    print("Against what the engine rendered (an orbit on one flat layer would be a slide, a turntable on one a "
          "still):\n")
    print(table(cases, "rendered"))
    print(f"\n{accuracy(cases, 'rendered'):.1f} % correct")
    for case in cases:
        if case.found != case.rendered:
            print(f"  miss: {case.preset} on {case.sample} at {case.aspect}, seed {case.seed}: found {case.found}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
