"""The clip settings a render starts from, written once: the request, the window's choices and the
command line's options all take their defaults from DEFAULTS.

Aspect 9:16: the clips are made for Reels, TikTok and Shorts. A model renders a fixed pixel area
at the aspect it is asked for, so a vertical clip rendered vertically gets all of it (704×1280 on
Wan2.2), where a landscape render cropped to 9:16 at export keeps about a third of its width.
Variants 1: one take renders first. On a diffusion model a take costs minutes, so a default that
doubles every wait is wrong; more takes (seed+1, …) are one click or `--variants N` away.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClipSettings:
    preset: str = "push-in"
    intensity: float = 0.5
    duration: float = 3.0
    fps: float | None = None  # None: the model's native rate
    aspect: str = "9:16"
    quality: str = "standard"
    variants: int = 1
    loop: bool = False


DEFAULTS = ClipSettings()
