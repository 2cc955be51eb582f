"""The clip settings a render starts from, written once: the request, the window's choices and the
command line's options all take their defaults from DEFAULTS.

Aspect "source": the clip keeps the whole photo. A creator posts one clip to several platforms,
and the export presets reframe it to each one's shape (9:16, 4:5, 16:9 with a filled or blurred
border); cropping at render time throws away pixels an export could have used.
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
    aspect: str = "source"
    quality: str = "standard"
    variants: int = 1
    loop: bool = False


DEFAULTS = ClipSettings()
