"""The real registry's rules at tiny sizes, each entry pointing at a tiny pipeline folder (tiny.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

from ..engine.registry import Registry, Tier, load_registry


TINY_ENTRY = {
    "wan2.2-ti2v": "wan2.2-ti2v-5b",
    "wan2.1-i2v": "wan2.1-i2v-14b-480p",
    "wan2.1-flf2v": "wan2.1-flf2v-14b-720p",
    "wan2.2-i2v-a14b": "wan2.2-i2v-a14b",
    "ltx": "ltx-video-2b-distilled",
    "svd": "svd-xt",
    "hunyuan15": "hunyuanvideo-1.5-i2v-480p",
    "ltx2": "ltx-2.3-22b",
}
FAMILY_KINDS = {
    "wan": ("wan2.2-ti2v", "wan2.1-i2v", "wan2.2-i2v-a14b"),
    "ltx": ("ltx",),
    "svd": ("svd",),
    "hunyuan15": ("hunyuan15",),
    "ltx2": ("ltx2",),
}
FAKE_REVISION = "0123456789abcdef0123456789abcdef01234567"


def tiny_registry(folders: dict[str, Path], size: tuple[int, int] = (64, 64), max_frames: int = 9) -> Registry:
    """The real registry's rules with tiny sizes, each entry pointing at a tiny pipeline folder."""
    real = load_registry()
    entries = {}
    for kind, folder in folders.items():
        base = real.get(TINY_ENTRY[kind])
        entries[base.id] = replace(
            base,
            resolutions=MappingProxyType({"tiny": size}),
            tiers=MappingProxyType({q: Tier("tiny", 2) for q in ("draft", "standard", "final")}),
            max_frames=max_frames if not base.frame_rule.startswith("fixed:") else base.max_frames,
            frame_rule=base.frame_rule if not base.frame_rule.startswith("fixed:") else f"fixed:{max_frames}",
            multiple=max(base.multiple, 16),
            local_path=str(folder),
            variant=None,
        )
    default = next(iter(entries))
    return Registry(MappingProxyType(entries), default)
