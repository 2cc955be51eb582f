"""Subject and background: a soft matte of the photo's main subject, and the background behind it.

The instant engine moves the subject and the background as separate layers, so it needs to know
which pixels belong to which (with soft edges for hair, fur and glass) and what the background
looks like where the subject hides it. Heavy work runs at a few hundred pixels; only cheap,
edge-aware filters run at full size.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .shrink import area_shrink, halved

WORK_SIZE = 320  # long side for inpainting
SEGMENT_SIZE = 200  # long side for GrabCut, whose cost grows fast with size
# A fill pixel keeps its own pyramid level's average once 1/PUSH_PULL_GAIN of its neighbourhood
# there is known. High: the fill just inside a hole is the colour just outside it (a wall stays its
# own shade up to the subject's outline); at 2 it was a wide average, grey against a light wall,
# and a strip revealed by parallax showed as a band of another colour beside the subject.
PUSH_PULL_GAIN = 32.0


def _small(image: np.ndarray, long_side: int = WORK_SIZE, exact: bool = False) -> np.ndarray:
    """`image` with its long side `long_side` (never enlarged), area-averaged. `exact`: in one
    resize, for GrabCut's input, where the subject is decided: the halvings' rounding (within a
    level) flipped a borderline photo (the astronaut at 16:9 lost its subject)."""
    h, w = image.shape[:2]
    scale = min(1.0, long_side / max(h, w))
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA) if exact else area_shrink(image, size)


def saliency(rgb: np.ndarray) -> np.ndarray:
    """0..1 per pixel: how unlike the border colours it is, weighted toward the centre.

    Backgrounds in product shots, portraits and pet photos reach the frame's edges; subjects
    mostly do not. Distance is to the nearest of a few border colour clusters, so a two-tone
    background (a wall above a table) still reads as background.
    """
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    h, w = lab.shape[:2]
    sides = [lab[0], lab[-1], lab[:, 0], lab[:, -1]]
    border = np.ascontiguousarray(np.concatenate(sides))
    labels = np.repeat(np.arange(4, dtype=np.int32), [len(s) for s in sides]).reshape(-1, 1)
    _, labels, centers = cv2.kmeans(
        border, 4, labels, (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0), 1,
        cv2.KMEANS_USE_INITIAL_LABELS,
    )
    # A colour seen on only a small stretch of the border is more likely the subject reaching the
    # frame (a portrait's shoulders) than background: only the common border colours count.
    shares = np.bincount(labels.ravel(), minlength=4) / len(labels)
    centers = centers[shares >= 0.15]
    dist = np.min(np.linalg.norm(lab[:, :, None, :] - centers[None, None], axis=-1), axis=-1)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    prior = np.exp(-(((xx / w - 0.5) / 0.4) ** 2 + ((yy / h - 0.5) / 0.4) ** 2))
    score = cv2.GaussianBlur(dist, (0, 0), max(1.0, min(h, w) / 60)) * (0.35 + 0.65 * prior)
    top = np.percentile(score, 99)
    return np.clip(score / top, 0.0, 1.0) if top > 1e-6 else np.zeros_like(score)


def _grabcut(rgb: np.ndarray, salient: np.ndarray) -> np.ndarray:
    """A hard subject mask at working size, or an empty one when nothing stands out."""
    if salient.max() < 1e-3 or float((salient > 0.5).mean()) < 0.01:
        return np.zeros(salient.shape, np.uint8)
    mask = np.full(salient.shape, cv2.GC_PR_BGD, np.uint8)
    mask[salient > 0.35] = cv2.GC_PR_FGD
    mask[salient > 0.75] = cv2.GC_FGD
    # The frame's edge is background only where it looks like the background; a subject cut by
    # the frame (a portrait's shoulders) keeps its edge.
    edge = np.zeros_like(mask, dtype=bool)
    edge[:2], edge[-2:], edge[:, :2], edge[:, -2:] = True, True, True, True
    mask[edge & (salient < 0.25)] = cv2.GC_BGD
    background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    # GrabCut seeds its colour models with k-means from OpenCV's global RNG: pin it, so the same
    # photo always gives the same matte (renders must be reproducible).
    cv2.setRNGSeed(0)
    cv2.grabCut(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), mask, None, background, foreground, 4, cv2.GC_INIT_WITH_MASK)
    hard = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)
    # Keep the components that carry the salient mass; drop specks.
    count, labels, stats, _ = cv2.connectedComponentsWithStats(hard, connectivity=8)
    keep = np.zeros_like(hard)
    area = hard.size
    for index in range(1, count):
        component = labels == index
        if stats[index, cv2.CC_STAT_AREA] > 0.005 * area and salient[component].mean() > 0.3:
            keep[component] = 1
    if keep.mean() > 0.85:  # "everything is the subject": no separation worth making
        return np.zeros_like(keep)
    # Background enclosed by the subject (the inside of a collar, a cup's handle) moves with it:
    # as a hole, the layer behind would show through it, blurred.
    outside = np.pad(1 - keep, 1, constant_values=1)
    flood = outside.copy()
    cv2.floodFill(flood, None, (0, 0), 2)
    keep[(flood[1:-1, 1:-1] == 1)] = 1
    return keep


def _follows_edges(rgb: np.ndarray, hard: np.ndarray) -> bool:
    """Whether a mask's outline runs along edges in the photo, as a real subject's does.

    A segmentation that cut across open sky or a plain wall is a guess; moving it as a layer
    would tear the picture, so such a photo is better treated as all background.
    """
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gradient = cv2.magnitude(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))
    outline = cv2.morphologyEx(hard, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    # The frame's own edge is no evidence either way.
    outline[:2], outline[-2:], outline[:, :2], outline[:, -2:] = False, False, False, False
    if outline.sum() < 20:
        return False
    strong = cv2.dilate((gradient > np.percentile(gradient, 80)).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    return float(strong[outline].mean()) >= 0.92


def _one_subject(hard: np.ndarray) -> bool:
    """Whether the mask is mostly one piece. Scattered blobs (a cat's eyes and nose without its
    face) would move apart from their surroundings: no cut-out is better than that."""
    _, _, stats, _ = cv2.connectedComponentsWithStats(hard, connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    return areas.size > 0 and areas.max() >= 0.7 * areas.sum()


def guided_filter(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He, Sun and Tang's guided filter with a grey guide: smooths `source` while following the
    guide's edges, so a blocky mask becomes a matte that hugs hair and fur."""
    box = lambda x: cv2.boxFilter(x, cv2.CV_32F, (2 * radius + 1, 2 * radius + 1))  # noqa: E731
    mean_i, mean_p = box(guide), box(source)
    cov = box(guide * source) - mean_i * mean_p
    var = box(guide * guide) - mean_i * mean_i
    a = cov / (var + eps)
    b = mean_p - a * mean_i
    return box(a) * guide + box(b)


def subject_matte(rgb: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
    """(H, W) float32 in 0..1: how much each pixel belongs to the main subject.

    The photo's own alpha channel wins when it has one (a cut-out product shot). Otherwise GrabCut
    at working size, seeded by saliency, and a guided filter at a quarter of full size for soft,
    image-aligned edges.
    """
    h, w = rgb.shape[:2]
    if alpha is not None:
        return alpha.astype(np.float32) * np.float32(1 / 255)
    small = _small(rgb, SEGMENT_SIZE, exact=True)
    hard = _grabcut(small, saliency(small))
    if not hard.any() or not _one_subject(hard) or not _follows_edges(small, hard):
        return np.zeros((h, w), np.float32)
    # Refine at a middle size (cheap), where a hair is still a few pixels wide, then upsample.
    mid = halved(rgb, 960)
    guide = cv2.cvtColor(mid, cv2.COLOR_RGB2GRAY).astype(np.float32) * np.float32(1 / 255)
    coarse = cv2.resize(hard.astype(np.float32), guide.shape[::-1], interpolation=cv2.INTER_LINEAR)
    radius = max(2, round(max(guide.shape) / 120))
    soft = np.clip(guided_filter(guide, coarse, radius, 1e-3), 0.0, 1.0)
    return cv2.resize(soft, (w, h), interpolation=cv2.INTER_LINEAR)


def _push_pull(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Fill unknown pixels from the known ones around them, coarse to fine (a "push-pull" fill).

    Each pyramid level averages the known pixels only; on the way back up, a pixel keeps its own
    level's value where any fair share of it was known (PUSH_PULL_GAIN) and takes the coarser
    estimate elsewhere. Large holes get a smooth continuation of the surrounding colours, with none
    of the radial streaks that diffusion-style inpainting draws across a big hole.
    """
    levels = []
    values, weights = image * known[..., None], known
    while min(weights.shape) > 4:
        levels.append((values, weights))
        values, weights = cv2.pyrDown(values), cv2.pyrDown(weights)
    estimate = values / np.maximum(weights, 1e-6)[..., None]
    for values, weights in reversed(levels):
        coarse = cv2.pyrUp(estimate, dstsize=(values.shape[1], values.shape[0]))
        own = values / np.maximum(weights, 1e-6)[..., None]
        confidence = np.clip(weights * PUSH_PULL_GAIN, 0.0, 1.0)[..., None]
        estimate = own * confidence + coarse * (1.0 - confidence)
    return estimate.astype(np.float32)


# Matte values at or below this are background: the photo there is kept as it is.
EDGE_ALPHA = 0.02
# The fill fades in over the faintest part of the subject's edge (matte EDGE_ALPHA to this) rather
# than at once: where the fill differs from the photo, the subject layer must carry the difference
# to give back the photo at rest (engine/instant.py), and what it carries moves with the subject.
FILL_FADE = 0.15


def soft_width(matte: np.ndarray) -> float:
    """How far the matte's soft edge reaches beyond its middle (0.5) contour, in pixels: the 90th
    percentile of the distances of the edge's pixels (EDGE_ALPHA < matte < 0.5) to the subject.
    Measured at a quarter of a large canvas's size (the matte is no sharper than that)."""
    scale = min(1.0, 640 / max(matte.shape))
    small = matte if scale == 1.0 else _small(matte, 640)
    edge = (small > EDGE_ALPHA) & (small < 0.5)
    if not edge.any():
        return 0.0
    distance = cv2.distanceTransform((small < 0.5).astype(np.uint8), cv2.DIST_L2, 3)
    return float(np.percentile(distance[edge], 90)) * matte.shape[1] / small.shape[1]


def complete_background(rgb: np.ndarray, matte: np.ndarray) -> np.ndarray:
    """The photo with the subject removed and the hole filled, for the layer behind the subject.

    Every pixel the subject reaches, its soft edge included, is filled; the fill takes colour only
    from beyond that edge by the matte's soft width (a push-pull fill at working size), because the
    photo just outside a soft matte still holds the subject's edge (a halo of hair, the blur of a
    helmet's rim) and a fill that borrowed it would draw a ghost of the subject beside the moving
    subject. Grain matched to the surroundings makes a strip revealed by parallax look like more
    background rather than a smear. Where the matte is at most EDGE_ALPHA the photo is kept; at
    rest the layers still recompose the photo, because the subject layer's edge colour is the
    photo less this background (engine/instant.py).
    """
    h, w = rgb.shape[:2]
    if not (matte > 0.6).any():
        return rgb.copy()
    reach = (matte > EDGE_ALPHA).astype(np.uint8)
    small = _small(rgb)
    # The hole at working size: every working pixel with any full-size pixel the subject reaches,
    # grown by the soft width, and one more pixel, so that no subject colour leaks into the fill
    # through a downscaled edge pixel. (Growing at working size: at full size the dilation alone
    # cost more than the rest of the fill.)
    small_reach = cv2.resize(reach, small.shape[1::-1], interpolation=cv2.INTER_AREA) > 0
    grow = max(2.0, soft_width(matte), 0.004 * max(h, w)) * small.shape[1] / w
    radius = math.ceil(grow) + 1
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)
    small_hole = cv2.dilate(small_reach.astype(np.uint8), disc)
    filled = _push_pull(small.astype(np.float32), 1.0 - small_hole.astype(np.float32))
    # Grain: the surrounding background's high-frequency texture level (measured at working
    # size), as fixed noise.
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)
    detail = gray - cv2.GaussianBlur(gray, (0, 0), 1.0)
    level = float(detail[small_hole == 0].std()) if (small_hole == 0).any() else 0.0
    # All full-size work stays inside the box of what the subject reaches: the rest is the photo.
    x, y, bw, bh = cv2.boundingRect(reach)
    box = (slice(y, y + bh), slice(x, x + bw))
    # Upsample the fill for the box only: outside it the photo stays as it is.
    sx, sy = small.shape[1] / w, small.shape[0] / h
    to_small = np.array([[sx, 0, (x + 0.5) * sx - 0.5], [0, sy, (y + 0.5) * sy - 0.5]], dtype=np.float64)
    fill = cv2.warpAffine(filled, to_small, (bw, bh), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)
    noise = np.empty((bh, bw), np.float32)
    cv2.setRNGSeed(0)
    cv2.randn(noise, 0.0, 1.0)
    patch = fill + (cv2.GaussianBlur(noise, (0, 0), 0.8) * level)[..., None]
    weight = np.clip((matte[box] - EDGE_ALPHA) * np.float32(1 / (FILL_FADE - EDGE_ALPHA)), 0.0, 1.0)[..., None]
    out = rgb.copy()
    out[box] = np.clip(rgb[box] * (1.0 - weight) + patch * weight + 0.5, 0, 255).astype(np.uint8)
    return out
