"""Fitting a photo into a model's frame: output size, subject-aware crop, and frame counts.

Pure numpy/OpenCV so both engines and the window's crop overlay share one answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .image import SourceImage
from .subject import saliency
from .request import ASPECTS


@dataclass(frozen=True)
class Box:
    """A rectangle in source pixels (floats, so the crop keeps sub-pixel precision)."""

    x: float
    y: float
    w: float
    h: float

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2


# -- frame counts --------------------------------------------------------------------------------


def snap_frames(rule: str, wanted: float, max_frames: int) -> int:
    """The valid frame count nearest to `wanted` under a model's rule.

    Rules: "4k+1" (Wan: the VAE packs 4 frames per latent after the first), "8k+1" (LTX-Video),
    "fixed:N" (SVD always makes N frames).
    """
    if rule.startswith("fixed:"):
        return int(rule.split(":", 1)[1])
    step = {"4k+1": 4, "8k+1": 8}.get(rule)
    if step is None:
        raise ValueError(f"unknown frame-count rule {rule!r}")
    k = max(1, round((wanted - 1) / step))
    k = min(k, (max_frames - 1) // step)
    return step * k + 1


# -- output size ---------------------------------------------------------------------------------


def output_size(source_size: tuple[int, int], aspect: str, area: int, multiple: int) -> tuple[int, int]:
    """(width, height) near `area` pixels at the requested aspect, each a multiple of `multiple`."""
    ratio = ASPECTS[aspect]
    if ratio is None:
        ratio = source_size[0] / source_size[1]
    ratio = min(max(ratio, 1 / 3), 3.0)  # panoramas and slivers are cropped to 3:1 at most
    w = math.sqrt(area * ratio)
    h = w / ratio
    width = max(multiple, round(w / multiple) * multiple)
    height = max(multiple, round(h / multiple) * multiple)
    return int(width), int(height)


# -- backdrop -------------------------------------------------------------------------------------


def backdrop(width: int, height: int) -> np.ndarray:
    """A soft light-grey studio sweep: what a cut-out product stands on when its photo has none.

    (A transparent pixel's stored colour is arbitrary, usually black: showing it would frame the
    product in a void.)
    """
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    sweep = 236.0 - 34.0 * (yy / max(1, height - 1)) ** 1.5
    falloff = ((xx / max(1, width - 1) - 0.5) ** 2 + (yy / max(1, height - 1) - 0.45) ** 2) * 30.0
    grey = np.clip(sweep - falloff, 0, 255)
    return np.repeat(grey[..., None], 3, axis=2).astype(np.uint8)


def flatten(image: SourceImage) -> np.ndarray:
    """The photo's RGB, composited over the studio backdrop where it is transparent."""
    if image.alpha is None:
        return image.rgb
    height, width = image.alpha.shape
    a = image.alpha.astype(np.float32)[..., None] / 255.0
    return (image.rgb * a + backdrop(width, height) * (1.0 - a) + 0.5).astype(np.uint8)


# -- subject -------------------------------------------------------------------------------------


def subject_box(image: SourceImage) -> Box:
    """Where the subject is: the alpha cut-out if there is one, else a saliency estimate.

    The saliency is deliberately cheap (a fraction of a frame's encode time): how far each
    pixel's colour is from the common colours along the border, weighted toward the centre.
    """
    w, h = image.size
    if image.alpha is not None:
        weight = image.alpha.astype(np.float32) / 255.0
        scale = 1.0
    else:
        scale = min(1.0, 160.0 / max(w, h))
        # One exact area resize (20 ms for 12 MP), not core.shrink's halvings: the saliency's border
        # clusters are that sensitive, and a level's rounding moved the coffee sample's subject box
        # by a fifth of the photo (the framing of a request must not change).
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small = cv2.resize(image.rgb, size, interpolation=cv2.INTER_AREA)
        weight = saliency(small)
        weight = np.clip(weight - np.percentile(weight, 60), 0, None)
    total = float(weight.sum())
    if total <= 1e-6:
        return Box(0, 0, w, h)
    # Bounds from the weight's 5th..95th percentiles along each axis: robust to stray pixels.
    xs = np.cumsum(weight.sum(axis=0)) / total
    ys = np.cumsum(weight.sum(axis=1)) / total
    x0, x1 = np.searchsorted(xs, 0.05), np.searchsorted(xs, 0.95) + 1
    y0, y1 = np.searchsorted(ys, 0.05), np.searchsorted(ys, 0.95) + 1
    return Box(x0 / scale, y0 / scale, (x1 - x0) / scale, (y1 - y0) / scale)


def crop_box(
    source_size: tuple[int, int], ratio: float, subject: Box, center: tuple[float, float] | None = None
) -> Box:
    """The largest box of `ratio` (w/h) inside the source, framed on the subject.

    With `center` (0..1, the user's own framing) the box is centred there instead. Either way it
    is clamped inside the photo: no borders, no stretching.
    """
    sw, sh = source_size
    cw, ch = (sw, sw / ratio) if sw / sh <= ratio else (sh * ratio, sh)
    if center is not None:
        cx, cy = center[0] * sw, center[1] * sh
    else:
        cx, cy = subject.center
        # Keep the whole subject in frame when it fits: slide toward whichever edge it crosses.
        if subject.w <= cw:
            cx = min(max(cx, subject.x + subject.w - cw / 2), subject.x + cw / 2)
        if subject.h <= ch:
            cy = min(max(cy, subject.y + subject.h - ch / 2), subject.y + ch / 2)
    x = min(max(cx - cw / 2, 0.0), sw - cw)
    y = min(max(cy - ch / 2, 0.0), sh - ch)
    return Box(x, y, cw, ch)


def fit_image(
    image: SourceImage, size: tuple[int, int], center: tuple[float, float] | None = None
) -> tuple[np.ndarray, np.ndarray | None, Box]:
    """Crop the photo to `size`'s aspect around its subject and resize it to exactly `size`.

    Returns the RGB frame, the alpha mask fitted the same way (or None), and the crop used.
    """
    width, height = size
    box = crop_box(image.size, width / height, subject_box(image), center)
    # One affine warp does crop + resize with sub-pixel accuracy.
    sx, sy = width / box.w, height / box.h
    matrix = np.array([[sx, 0, -box.x * sx], [0, sy, -box.y * sy]], dtype=np.float64)
    shrink = sx < 1 or sy < 1
    src = flatten(image)
    if shrink and min(sx, sy) < 0.5:
        # INTER_AREA is the right filter for shrinking but warpAffine lacks it: pre-shrink with resize.
        pre = min(sx, sy) * 2
        src = cv2.resize(src, None, fx=pre, fy=pre, interpolation=cv2.INTER_AREA)
        matrix[:, :2] /= pre
    interp = cv2.INTER_LINEAR if shrink else cv2.INTER_LANCZOS4
    rgb = cv2.warpAffine(src, matrix, (width, height), flags=interp, borderMode=cv2.BORDER_REFLECT)
    alpha = None
    if image.alpha is not None:
        m = np.array([[sx, 0, -box.x * sx], [0, sy, -box.y * sy]], dtype=np.float64)
        alpha = cv2.warpAffine(image.alpha, m, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return rgb, alpha, box


def fit_end_frame(image: SourceImage, size: tuple[int, int], start: SourceImage, start_box: Box) -> np.ndarray:
    """The frame a clip ends on, from `image`, at `size`: cropped as the first frame was (`start_box`
    in the photo `start`) when it has the photo's shape, so an edited copy of the photo lines up
    with it exactly; otherwise framed on its own subject."""
    if image.size == start.size:
        sw, sh = start.size
        center = ((start_box.x + start_box.w / 2) / sw, (start_box.y + start_box.h / 2) / sh)
    else:
        center = None
    return fit_image(image, size, center)[0]
