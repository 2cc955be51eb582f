"""Argument types of the command line: every number is checked while the command line is read.

A value out of range is refused by argparse in one line ("i2v render: error: argument --fps: …",
exit status 2) before anything loads or renders, the same for every command that takes it: a
render must not run for minutes and then fail on its encoder's quality setting.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import NoReturn

from ..core.request import MAX_SEED, MAX_VARIANTS

# What a request accepts (core.request) and what the H.264 encoder takes (export.mp4.write_mp4):
# checked here too so the user hears it before the work, not from deep inside it.
FPS = (1.0, 120.0)
DURATION = (0.2, 60.0)
# An export may lengthen a clip well past what a render makes (a platform's minimum, a long loop).
EXPORT_DURATION = (0.2, 600.0)
CRF = (1, 51)


class OneLineParser(argparse.ArgumentParser):
    """argparse that refuses a bad command line in one line, not a usage block and then the reason."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {one_line(message)} (see {self.prog} --help)\n")


def one_line(text: str) -> str:
    """`text` with its line breaks and other control characters escaped: a file name or an
    argument may hold any of them, and a refusal must stay one line."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def real(low: float, high: float, what: str) -> Callable[[str], float]:
    """A finite number from `low` to `high` (nan, inf and words refused)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a number, got {text!r}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} must be between {low:g} and {high:g}, got {text!r}")
        return value

    parse.__name__ = what  # argparse names the type in its own messages
    return parse


def whole(low: int, high: int | None, what: str) -> Callable[[str], int]:
    """A whole number from `low` to `high` (None: no upper bound)."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f"{low} or more"
            raise argparse.ArgumentTypeError(f"{what} must be {bound}, got {text!r}")
        return value

    parse.__name__ = what
    return parse


fps = real(*FPS, "fps")
duration = real(*DURATION, "duration")
export_duration = real(*EXPORT_DURATION, "duration")
intensity = real(0.0, 1.0, "intensity")
guidance = real(0.0, 30.0, "guidance")
memory_gb = real(0.1, 4096.0, "memory")
crf = whole(*CRF, "crf")
seed = whole(0, MAX_SEED, "seed")
variants = whole(1, MAX_VARIANTS, "variants")
steps = whole(1, 200, "steps")
workers = whole(1, None, "workers")
seed_clips = whole(0, 12, "clips")


def lora_file(text: str) -> tuple[str, float]:
    """`FILE` or `FILE:STRENGTH` (a Windows drive's colon is part of the file: only a number after the
    last colon is a strength)."""
    from ..core.presets import LORA_STRENGTH

    path, _, tail = text.rpartition(":")
    try:
        strength = float(tail) if path else None
    except ValueError:
        strength = None
    if strength is None:
        return text, 1.0
    low, high = LORA_STRENGTH
    if not math.isfinite(strength) or not low <= strength <= high:
        raise argparse.ArgumentTypeError(f"a LoRA's strength must be between {low:g} and {high:g}, got {tail!r}")
    return path, strength


lora_file.__name__ = "LoRA"


def camera_strength(text: str) -> float:
    """The camera LoRA's strength, or `off` (0: the preset's prompt words alone)."""
    from ..core.presets import LORA_STRENGTH

    if text.strip().lower() == "off":
        return 0.0
    return real(*LORA_STRENGTH, "camera LoRA strength")(text)


camera_strength.__name__ = "camera LoRA strength"


def keyframes(text: str) -> list[dict[str, float]]:
    """The instant engine's framings, "X,Y,W;X,Y,W[;X,Y,W]": each crop's centre (0..1 of the photo's
    width and height) and width (0.05..1 of the widest crop of the clip's shape)."""
    framings = []
    for part in text.split(";"):
        values = [v.strip() for v in part.split(",")]
        try:
            x, y, w = (float(v) for v in values)
        except ValueError:
            raise argparse.ArgumentTypeError(f"each framing is X,Y,WIDTH (three numbers), got {part.strip()!r}") from None
        if not all(math.isfinite(v) for v in (x, y, w)) or not (0 <= x <= 1 and 0 <= y <= 1 and 0.05 <= w <= 1):
            raise argparse.ArgumentTypeError(f"a framing's X and Y must be 0..1 and its WIDTH 0.05..1, got {part.strip()!r}")
        framings.append({"x": x, "y": y, "width": w})
    if len(framings) not in (2, 3):
        raise argparse.ArgumentTypeError(f"give a start and an end framing, and at most one between (got {len(framings)})")
    return framings
