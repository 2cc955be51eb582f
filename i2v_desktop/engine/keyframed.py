"""The instant engine on a keyframed path: a Ken Burns move through the user's own framings.

Each keyframe is a crop of the photo at the clip's aspect (core.keyframes.Framing: its centre and
its width as a share of the widest such crop). The camera passes through them on the smooth path
core.keyframes plans, and each frame is that crop of the photo, resampled once from the photo
itself (never from an enlarged copy, so a push into a detail stays as sharp as the photo is).
A crop that reaches past the photo (a keyframe at its edge, or the path's swing beyond one) is
slid back inside it, and one wider than the photo is held at the photo's size.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..core.framing import flatten
from ..core.image import SourceImage
from ..core.keyframes import Framing, framing_path
from .camera import frame_times

# The photo is shrunk once (area-averaged) so that no frame resamples it by less than this: a
# linear warp that shrinks by more than about 2x aliases.
MIN_SCALE = 0.5


class KeyframedScene:
    """Frames of a keyframed move, one crop of the photo each (the instant engine's Scene interface)."""

    layered = False  # one layer: the move is the framing's

    def __init__(self, source: SourceImage, size: tuple[int, int], count: int, keys: Sequence[Framing],
                 loop: bool) -> None:
        self.size = size
        width, height = size
        sw, sh = source.size
        ratio = width / height
        # The widest crop of the clip's aspect: what a framing of width 1 means.
        full_w = min(float(sw), sh * ratio)
        path = framing_path(keys, frame_times(count, loop), loop)
        self.crops = np.array([_inside(x * sw, y * sh, w * full_w, ratio, (sw, sh)) for x, y, w in path])
        # One area-averaged shrink of the photo, to the finest detail any frame shows at MIN_SCALE.
        widest = float(self.crops[:, 2].max())
        shrink = min(1.0, width / widest / MIN_SCALE)
        rgb = flatten(source)
        if shrink < 1.0:
            rgb = cv2.resize(rgb, (max(1, round(sw * shrink)), max(1, round(sh * shrink))), interpolation=cv2.INTER_AREA)
        self._photo = rgb
        self._k = (rgb.shape[1] / sw, rgb.shape[0] / sh)  # photo pixels -> shrunk pixels, per axis

    def render(self, index: int, out: np.ndarray) -> None:
        x, y, w, h = self.crops[index]
        width, height = self.size
        kx, ky = self._k
        sx, sy = width / (w * kx), height / (h * ky)
        matrix = np.array([[sx, 0.0, -x * kx * sx], [0.0, sy, -y * ky * sy]], dtype=np.float64)
        flags = cv2.INTER_LINEAR if sx <= 1.0 else cv2.INTER_CUBIC
        cv2.warpAffine(self._photo, matrix, (width, height), dst=out, flags=flags, borderMode=cv2.BORDER_REFLECT)


def _inside(cx: float, cy: float, w: float, ratio: float, photo: tuple[int, int]) -> tuple[float, float, float, float]:
    """The crop (x, y, w, h) of `ratio` centred at (cx, cy), `w` wide, within the photo."""
    sw, sh = photo
    w = min(w, float(sw), sh * ratio)
    h = w / ratio
    x = min(max(cx - w / 2, 0.0), sw - w)
    y = min(max(cy - h / 2, 0.0), sh - h)
    return x, y, w, h
