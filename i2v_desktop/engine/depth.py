"""Depth for the instant engine: parallax where no subject can be cut out.

When the subject matte is refused (a landscape, a room, a cat filling the frame), the instant
engine has one layer, and a camera move is a flat zoom or slide. With the optional depth model
downloaded (Depth Anything V2 Small, an add-on in the registry), the photo's relative depth is
estimated at a few hundred pixels on the CPU, cut into a few layers where the depth histogram has
its gaps (object boundaries, not the middle of a floor), and each layer moves as the camera model
moves something at its depth: the nearest like the subject layer, the farthest like the
background. Behind each layer, what the nearer ones hide is filled as the two-layer case fills the
subject's hole (core.subject.complete_background).

Without the model nothing here runs: the check is a look at the download cache, and torch and
transformers are imported only once a depth map is really wanted.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..core.subject import complete_background, guided_filter
from .camera import layer_transforms, reach
from .registry import ModelEntry, built_in_addons

DEPTH_MODEL = "depth-anything-v2-small"  # the add-on's registry id
# The model's input, long side: a multiple of its 14-pixel patch. Depth Anything was trained at
# 518; a few depth levels need far less, and the cost grows with the patches (measured on two busy
# shared cores: 0.5-0.65 s at 224, 0.9-1.2 s at 252, 0.7-1.4 s at 280).
WORK_LONG = 224
PATCH = 14
LAYERS = 3  # at most; fewer where the depth has fewer distinct levels
MIN_SHARE = 0.03  # a depth level with less of the picture than this joins its nearest neighbour in depth
MIN_GAP = 0.1  # depth levels whose means are closer than this (on the 0..1 scale) are one level
FEATHER = 3  # pixels over which a layer's edge fades, just outside what the layer behind fills
BLEND = 0.06  # half the depth span (0..1 scale) over which a layer fades in across its cut

Estimate = Callable[[np.ndarray], np.ndarray]  # RGB (H, W, 3) uint8 -> relative inverse depth (h, w)


def depth_entry() -> ModelEntry:
    return built_in_addons()[DEPTH_MODEL]


def model_folder(entry: ModelEntry) -> Path | None:
    """The downloaded model's folder, or None (never touches the network)."""
    from huggingface_hub import constants

    # Most machines never download it: a look for its folder in the cache (huggingface_hub's
    # `models--org--name` layout) spares a flat scene's render importing the hub's client.
    if not (Path(constants.HF_HUB_CACHE) / f"models--{entry.repo.replace('/', '--')}").is_dir():
        return None
    from .weights import on_disk

    weights = on_disk(entry)[0]
    return None if weights is None else weights.folder


class DepthEstimator:
    """The depth model loaded from its folder, answering relative inverse depth (larger: nearer)."""

    def __init__(self, folder: Path) -> None:
        import torch
        import transformers
        from transformers import AutoImageProcessor, DepthAnythingForDepthEstimation

        transformers.utils.logging.disable_progress_bar()  # no loading bars among the engine's events
        self._torch = torch
        self.processor = AutoImageProcessor.from_pretrained(folder, local_files_only=True)
        self.model = DepthAnythingForDepthEstimation.from_pretrained(folder, local_files_only=True).eval()

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        scale = WORK_LONG / max(h, w)
        size = {"height": max(PATCH, round(h * scale / PATCH) * PATCH),
                "width": max(PATCH, round(w * scale / PATCH) * PATCH)}
        # Shrunk here with area averaging (OpenCV, no aliasing); the processor then only normalises.
        small = cv2.resize(rgb, (size["width"], size["height"]), interpolation=cv2.INTER_AREA)
        inputs = self.processor(images=small, size=size, keep_aspect_ratio=False, do_pad=False,
                                return_tensors="pt")
        torch = self._torch
        threads = torch.get_num_threads()
        # One thread: with the cores busy (an encode, the window, other programs) torch's spinning
        # worker threads made an estimate five times slower than one thread does (measured on two
        # busy cores at 280 pixels: 4.6 s against 0.9 s). Put back after: the setting is the process's.
        torch.set_num_threads(1)
        try:
            with torch.inference_mode():
                depth = self.model(**inputs).predicted_depth[0]
        finally:
            torch.set_num_threads(threads)
        return depth.float().numpy()


@functools.lru_cache(maxsize=1)
def _loaded(folder: str) -> DepthEstimator:
    # Kept for the process: the window's render process makes many clips, and loading costs more
    # than an estimate. One model only (one add-on).
    return DepthEstimator(Path(folder))


def estimator(entry: ModelEntry | None = None) -> Estimate | None:
    """The depth model if it is downloaded, else None."""
    folder = model_folder(entry or depth_entry())
    return None if folder is None else _loaded(str(folder))


# -- layers by depth -----------------------------------------------------------------------------


def normalised(raw: np.ndarray) -> np.ndarray | None:
    """Relative inverse depth to 0 (far) .. 1 (near), robust to a few stray pixels; None when the
    picture has no depth worth layering (or the map is not finite)."""
    raw = np.asarray(raw, np.float32)
    if raw.ndim != 2 or not np.isfinite(raw).all():
        return None
    low, high = np.percentile(raw, [1, 99])
    if high - low <= 1e-6 * max(1.0, abs(float(high))):
        return None
    return np.clip((raw - low) / (high - low), 0.0, 1.0)


def cuts(disparity: np.ndarray, layers: int = LAYERS, bins: int = 32) -> list[float]:
    """Thresholds that split the depth into at most `layers` levels where its histogram has gaps
    (multi-level Otsu: the cuts that make the levels most distinct). A level too small to matter
    joins the neighbour nearest in depth, levels barely apart become one, and each cut lies in the
    middle of the empty stretch between its two levels, if there is one."""
    hist = np.histogram(disparity, bins=bins, range=(0.0, 1.0))[0].astype(np.float64)
    hist /= hist.sum()
    centres = (np.arange(bins) + 0.5) / bins
    weight = np.concatenate(([0.0], np.cumsum(hist)))
    moment = np.concatenate(([0.0], np.cumsum(hist * centres)))
    share = lambda group: weight[group[1]] - weight[group[0]]  # noqa: E731
    mean = lambda group: (moment[group[1]] - moment[group[0]]) / max(share(group), 1e-12)  # noqa: E731
    best, chosen = -1.0, ()
    for split in itertools.combinations(range(1, bins), layers - 1):
        edges = (0, *split, bins)
        score = sum(mean(g) ** 2 * share(g) for g in zip(edges[:-1], edges[1:]) if share(g) > 0)
        if score > best:
            best, chosen = score, split
    edges = (0, *chosen, bins)
    groups = [(a, b) for a, b in zip(edges[:-1], edges[1:])]
    while len(groups) > 1:
        gaps = [mean(h) - mean(g) if share(g) and share(h) else 0.0 for g, h in zip(groups[:-1], groups[1:])]
        small = [i for i, g in enumerate(groups) if share(g) < MIN_SHARE]
        if small:
            i = small[0]
            j = i + 1 if i == 0 else i - 1 if i == len(groups) - 1 or gaps[i - 1] <= gaps[i] else i + 1
        elif min(gaps) < MIN_GAP:
            i = int(np.argmin(gaps))
            j = i + 1
        else:
            break
        a, b = min(i, j), max(i, j)
        groups[a:b + 1] = [(groups[a][0], groups[b][1])]
    found = []
    for g, h in zip(groups[:-1], groups[1:]):
        last = max(k for k in range(g[0], g[1]) if hist[k] > 0) + 1
        first = min(k for k in range(h[0], h[1]) if hist[k] > 0)
        found.append((last + first) / 2 / bins)
    return found


@dataclass(frozen=True)
class DepthLayer:
    rgba: np.ndarray  # premultiplied, four channels (OpenCV warps four channels fastest), canvas size
    bounds: tuple[int, int, int, int]  # x, y, w, h of its visible part on the canvas
    nearness: float  # 0: moves as the background layer, 1: as the subject layer would


def _fine(disparity: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """The coarse depth at the canvas size, its edges snapped to the photo's (a guided filter at
    a middle size, as the subject matte is refined)."""
    h, w = rgb.shape[:2]
    scale = min(1.0, 960 / max(h, w))
    mid = (max(8, round(w * scale)), max(8, round(h * scale)))
    guide = cv2.cvtColor(cv2.resize(rgb, mid, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    coarse = cv2.resize(disparity, mid, interpolation=cv2.INTER_LINEAR)
    radius = max(2, round(max(mid) / 120))
    snapped = guided_filter(guide.astype(np.float32) / 255, coarse.astype(np.float32), radius, 1e-3)
    return cv2.resize(np.clip(snapped, 0.0, 1.0), (w, h), interpolation=cv2.INTER_LINEAR)


def depth_layers(rgb: np.ndarray, disparity: np.ndarray) -> list[DepthLayer] | None:
    """The canvas as layers by depth, far to near, or None when the depth gives fewer than two.

    A layer holds the photo from its depth level nearer. Across a cut its opacity ramps over BLEND
    of depth: where the depth jumps (an object's edge) that is a few pixels, where it slopes (a
    face, a floor) it is a wide cross-fade, so a cut through one surface shows no seam as the
    layers part. Beyond that, each is opaque as far as the layer behind it is filled and fades out
    over FEATHER pixels where the layer behind shows the photo's own pixels: at rest the layers
    put the photo back together exactly.
    """
    levels = cuts(disparity)
    if not levels:
        return None
    fine = _fine(disparity, rgb)
    h, w = rgb.shape[:2]
    grow = max(2, round(0.006 * max(h, w)))  # how far complete_background grows a hole
    blend = BLEND if len(levels) < 2 else min(BLEND, 0.4 * float(np.diff(levels).min()))
    bounds_of = [0.0, *levels, 2.0]
    means = [float(disparity[(disparity >= lo) & (disparity < hi)].mean())
             for lo, hi in zip(bounds_of, bounds_of[1:])]
    near = [(m - means[0]) / (means[-1] - means[0]) for m in means]
    layers = []
    for index in range(len(levels) + 1):
        if index < len(levels):  # what the nearer layers cover whole is filled from around it
            colour = complete_background(rgb, (fine >= levels[index] + blend).astype(np.float32))
        else:
            colour = rgb
        if index == 0:
            alpha = np.full((h, w), 255, np.uint8)
        else:
            cut = levels[index - 1]
            solid = (fine >= cut + blend).astype(np.uint8)
            outside = cv2.distanceTransform(1 - solid, cv2.DIST_L2, 3)
            ring = np.clip((grow + 1 + FEATHER - outside) / FEATHER, 0.0, 1.0)
            ramp = np.clip((fine - (cut - blend)) / (2 * blend), 0.0, 1.0)
            alpha = (np.maximum(ring, ramp) * 255 + 0.5).astype(np.uint8)
        premultiplied = cv2.multiply(colour, cv2.merge([alpha, alpha, alpha]), scale=1 / 255)
        points = cv2.findNonZero(alpha)
        bounds = cv2.boundingRect(points) if points is not None else (0, 0, 0, 0)
        layers.append(DepthLayer(cv2.merge([*cv2.split(premultiplied), alpha]), bounds, near[index]))
    return layers


# -- the scene, drawn by depth --------------------------------------------------------------------


def _depth_of(nearness: float, far: float) -> float:
    """A layer's depth in units of the pivot's distance: inverse depth goes linearly from the
    background's (1 / far) to the subject's (1)."""
    return 1.0 / (1.0 / far + nearness * (1.0 - 1.0 / far))


class DepthScene:
    """A single-layer Scene (engine/instant.py) drawn as layers by depth. The canvas, the camera
    path and the framing are the scene's own (everything but `render` is read from it)."""

    def __init__(self, scene: Any, layers: list[DepthLayer]) -> None:
        self.scene = scene
        self.layers = layers
        width, height = scene.size
        canvas_h, canvas_w = scene.canvas.shape[:2]
        ox, oy = scene.rest_to_canvas[:2, 2]
        # How far the canvas reaches from the rest view's centre (left, top, right, bottom).
        have = np.array([ox + width / 2, oy + height / 2,
                         canvas_w - ox - width / 2, canvas_h - oy - height / 2])
        self.to_canvas = np.linalg.inv(scene.rest_to_canvas)
        self.depths = [self._fitting(layer, have) for layer in layers]

    def __getattr__(self, name: str) -> Any:
        if name == "scene":  # not set yet (a copy being made): no recursion through __getattr__
            raise AttributeError(name)
        return getattr(self.scene, name)

    def _transforms(self, depth: float) -> list[np.ndarray]:
        size, center = self.scene.size, self.scene.subject_center
        return [layer_transforms(replace(motion, depth=depth), size, center).background for motion in self.scene.path]

    def _fitting(self, layer: DepthLayer, have: np.ndarray) -> float:
        """The layer's depth, pushed back as far as needed for its content at the canvas's edges
        never to come into view (the canvas was made for the background's move)."""
        far = self.scene.path[0].depth
        depth = _depth_of(layer.nearness, far)
        x, y, w, h = layer.bounds
        canvas_h, canvas_w = layer.rgba.shape[:2]
        edges = np.array([x <= 0, y <= 0, x + w >= canvas_w, y + h >= canvas_h])
        if layer.nearness <= 0 or not edges.any():
            return depth

        def fits(z: float) -> bool:
            return bool(np.all((reach(self._transforms(z), self.scene.size) <= have + 0.5) | ~edges))

        if fits(depth):
            return depth
        low, high = depth, far  # the background's depth fits: the canvas was made for it
        for _ in range(12):
            middle = (low + high) / 2
            low, high = (low, middle) if fits(middle) else (middle, high)
        return high

    def render(self, index: int, out: np.ndarray) -> None:
        width, height = self.scene.size
        motion = self.scene.path[index]
        frame = self.scene._scratch
        center = self.scene.subject_center
        for number, (layer, depth) in enumerate(zip(self.layers, self.depths)):
            moved = layer_transforms(replace(motion, depth=depth), (width, height), center).background
            matrix = moved @ self.to_canvas
            if number == 0:
                cv2.warpAffine(layer.rgba, matrix[:2], (width, height), dst=frame, flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)
            else:
                _over(frame, layer, matrix)
        cv2.cvtColor(frame, cv2.COLOR_RGBA2RGB, dst=out)


def _over(frame: np.ndarray, layer: DepthLayer, matrix: np.ndarray) -> None:
    """A premultiplied layer warped by an affine `matrix` over `frame` (four channels), in place,
    only where the layer can land."""
    height, width = frame.shape[:2]
    x, y, w, h = layer.bounds
    corners = matrix @ np.array([[x, x + w, x + w, x], [y, y, y + h, y + h], [1, 1, 1, 1]], dtype=np.float64)
    x0, y0 = max(0, math.floor(corners[0].min()) - 1), max(0, math.floor(corners[1].min()) - 1)
    x1, y1 = min(width, math.ceil(corners[0].max()) + 2), min(height, math.ceil(corners[1].max()) + 2)
    if x1 <= x0 or y1 <= y0:
        return
    shifted = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], dtype=np.float64) @ matrix
    warped = cv2.warpAffine(layer.rgba, shifted[:2], (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    roi = frame[y0:y1, x0:x1]
    inverse = cv2.bitwise_not(cv2.extractChannel(warped, 3))
    cv2.multiply(roi, cv2.merge([inverse, inverse, inverse, inverse]), dst=roi, scale=1 / 255)
    cv2.add(roi, warped, dst=roi)


def deepen(scene: Any, plan: Any, estimate: Estimate | None = None,
           entry: ModelEntry | None = None) -> tuple[Any, Any]:
    """(scene, plan) with the scene drawn by depth and a note saying so, where the depth model is
    downloaded (or `estimate` is given) and the photo has depth worth layering; else as they were.

    The model is optional: one that cannot be loaded or run (a damaged download) leaves the clip
    as one layer, with a note saying why, and never fails the render."""
    entry = entry or depth_entry()
    try:
        estimate = estimate or estimator(entry)
        if estimate is None:
            return scene, plan
        raw = estimate(scene.canvas)
    except Exception as exc:  # noqa: BLE001 - torch, transformers and safetensors share no error type
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return scene, _noted(plan, f"depth ({entry.name}) could not be used ({first}); the photo moves as one "
                                   f"layer: remove the add-on and download it again")
    disparity = normalised(raw)
    layers = None if disparity is None else depth_layers(scene.canvas, disparity)
    if layers is None:
        return scene, _noted(plan, f"depth ({entry.name}): the photo reads as one flat surface, so it moves as "
                                   f"one layer")
    return DepthScene(scene, layers), _noted(plan, f"depth ({entry.name}): no subject could be cut out, so the "
                                                   f"photo moves as {len(layers)} layers by depth, with parallax")


def _noted(plan: Any, note: str) -> Any:
    return replace(plan, notes=(*plan.notes, note))
