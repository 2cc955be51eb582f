"""A process that saves clips into a history the way the studio does, for the fault harness to kill.

    python -m i2v_desktop.bench.history_writer ROOT PHOTO --count N [--hold-at K] [--seed S]

Each clip takes the studio's path (`LocalStudio.render`): today's clip folder from
`History.new_clip_folder()`, a free name from `free_path`, the MP4 and its sidecar from `save_clip`,
the record from `make_record`, the thumbnail strip from `thumbnail_frames`, then `History.add`. The
frames are made here rather than by an engine so that a clip costs a fraction of a second and a
kill lands in the saving, which is what is under test.

The process speaks one line per event on stdout, flushed, so that the harness knows what it may
count on after a kill: `ready` once the history is open, `added PATH` once `add` has returned
(the entry is promised to the user), and, with --hold-at K, `holding PATH` when clip K's files are
on disk but `add` has not been called (the moment a window dies between saving and indexing).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from ..core.clip import Clip, RenderInfo
from ..core.request import GenerationRequest
from ..storage.history import History, thumbnail_frames
from ..studio.records import make_record
from ..studio.render import free_path, save_clip

WIDTH, HEIGHT, FRAMES, FPS = 480, 272, 24, 12.0


def frames(seed: int) -> np.ndarray:
    """A short pan over smooth colour fields with fine noise: real work for the encoder (a few
    tenths of a second), so that kills land inside the encode as well as between the steps."""
    rng = np.random.default_rng(seed)
    wide = WIDTH + 4 * FRAMES
    y, x = np.mgrid[0:HEIGHT, 0:wide].astype(np.float32)
    phase = rng.uniform(0, 6.28, 3)
    base = np.stack([127 + 90 * np.sin(x / 61 + y / 97 + phase[0]),
                     127 + 90 * np.sin(y / 53 + phase[1]),
                     127 + 90 * np.sin((x - y) / 71 + phase[2])], axis=-1)
    base += rng.normal(0, 12, base.shape).astype(np.float32)
    canvas = np.clip(base, 0, 255).astype(np.uint8)
    return np.stack([canvas[:, 4 * i : 4 * i + WIDTH] for i in range(FRAMES)])


def clip_for(photo: str, seed: int) -> Clip:
    request = GenerationRequest(image=photo, model="instant", seed=seed, duration=FRAMES / FPS, fps=FPS)
    info = RenderInfo("instant", "instant", WIDTH, HEIGHT, FRAMES, FPS, 0, None, seed, "", "",
                      device="cpu", elapsed_s=0.0)
    return Clip(frames(seed), FPS, request, info)


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def run(root: Path, photo: str, count: int, hold_at: int | None, seed: int) -> int:
    history = History(root)
    say("ready")
    for index in range(count):
        clip = clip_for(photo, seed + index)
        folder = history.new_clip_folder()
        output = save_clip(clip, free_path(folder, Path(photo).stem))  # the studio's defaults: crf 18, medium
        if hold_at == index:
            say(f"holding {output.mp4}")
            while True:  # the harness kills us here
                time.sleep(60)
        record = make_record(output.clip, output.score)
        thumbs = thumbnail_frames(clip.frames, clip.fps, width=160, max_frames=24)
        entry = history.add(output.mp4, record, thumbs)
        say(f"added {entry.mp4}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="history_writer", description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="the history root")
    parser.add_argument("photo", help="the photo the clips' records name")
    parser.add_argument("--count", type=int, default=1, help="clips to add")
    parser.add_argument("--hold-at", type=int, default=None, metavar="K",
                        help="stop before adding clip K (0-based), its files saved, until killed")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    return run(args.root, args.photo, args.count, args.hold_at, args.seed)


if __name__ == "__main__":
    raise SystemExit(main())
