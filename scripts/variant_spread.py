"""How much the instant engine's variants differ, per preset, and what a render costs.

For each preset, renders one photo with seeds 1..4 and prints the mean absolute difference
between the frames of every pair of seeds (0..255 per channel, averaged over the six pairs: 0
means the variants are the same clip), the spread of their overall scores, and what a render
costs (frames only, no encode): the fastest of the four in wall seconds and in CPU seconds of
the process (all threads; other work on a busy machine inflates it less than wall time). A
preset the data marks deterministic is marked "one clip": the window and the command line make
one of it.

    PYTHONPATH=$PWD .venv/bin/python scripts/variant_spread.py [--photo FILE] [--quality draft]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the code next to this script, whatever else is installed

from i2v_desktop.core.cancel import CancelToken  # noqa: E402
from i2v_desktop.core.request import GenerationRequest  # noqa: E402
from i2v_desktop.core.resources import resource_path  # noqa: E402
from i2v_desktop.engine.instant import InstantEngine  # noqa: E402
from i2v_desktop.studio.render import score_against_photo  # noqa: E402

SEEDS = (1, 2, 3, 4)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, default=resource_path("samples", "coffee.jpg"))
    parser.add_argument("--quality", default="draft", choices=("draft", "standard"))
    parser.add_argument("--duration", type=float, default=3.0)
    args = parser.parse_args()
    engine = InstantEngine()
    print(f"{args.photo.name}, 9:16 {args.quality}, {args.duration:g} s at 24 fps, intensity 0.5, seeds {SEEDS}")
    print(f"{'preset':12} {'frame diff':>10} {'scores':>13} {'wall s':>7} {'cpu s':>6}")
    for preset_id in engine.presets.ids():
        preset = engine.presets.get(preset_id)
        one_clip = hasattr(preset, "one_clip_reason") and preset.one_clip_reason(engine.entry.family)
        clips, walls, cpus = [], [], []
        for seed in SEEDS:
            request = GenerationRequest(image=str(args.photo), preset=preset_id, duration=args.duration, fps=24,
                                        quality=args.quality, seed=seed)
            wall, cpu = time.perf_counter(), time.process_time()
            clips.append(engine.generate(request, lambda event: None, CancelToken()))
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        diffs = [np.abs(a.frames.astype(np.int16) - b.frames).mean() for a, b in itertools.combinations(clips, 2)]
        scores = [card.overall for card in (score_against_photo(clip, preset.still) for clip in clips) if card]
        spread = f"{min(scores):.3f}–{max(scores):.3f}" if scores else "-"
        note = "  (one clip)" if one_clip else ""
        print(f"{preset_id:12} {np.mean(diffs):10.2f} {spread:>13} {min(walls):7.2f} {min(cpus):6.2f}{note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
