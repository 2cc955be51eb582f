"""A relief for the instant engine: orbit and turntable where no subject can be cut out.

When the subject matte is refused (a cat's face filling the frame, a rocket among its towers) and
the optional depth model (engine/depth.py) is not downloaded, the scene is one layer. Sliding it
whole makes an orbit a pan, and a turntable has nothing to turn. So the engine estimates, with no
weights, which part of the picture is near, from the cues a photograph carries:

- saliency: what stands out from the colours along the border is the subject, in front;
- focus: sharp detail is in the plane of focus, where a photographer puts the subject, and the
  soft, out-of-focus parts are behind it;
- the pivot: the camera circles the subject, so what is around it is the near end.

The near end is a span of columns, flat, and falls to the flat far end beside it over a smooth
slope. Each frame samples the photo through one smooth displacement field: the far end moves as
the background layer would, the near end as the subject (holding still in an orbit, turning in a
turntable), the slope in between. By column, because the moves are sideways: nearness that changed
down a column would bend what stands upright in it (a floor-to-sky ground-plane gradient leaned a
rocket's nose and its towers as the camera went round). A smooth field cannot tear and leaves no
hole to fill; the slope is kept gentle enough for its parallax (the largest displacement of one end
against the other) that the picture there stretches and compresses, never folds over.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import cv2
import numpy as np

from ..core.subject import guided_filter, saliency
from .camera import layer_transforms

WORK_LONG = 160  # px, long side: the cues and the relief are smooth, and cost nothing at this size
# The cues' weights. Saliency says most about what is the subject; focus, where the photo has a
# depth of field, about what is behind it; the pivot breaks ties.
WEIGHTS = {"saliency": 0.45, "focus": 0.3, "pivot": 0.25}
# Nearness rises from 0 where the cue is at its FAR_SHARE quantile to 1 at NEAR_SHARE: the half-way
# mark, what counts as near, is about the picture's most salient and sharpest seventh. (Larger, the
# near end took in the sky around a rocket; the measure of motion then saw no far end to slide.)
FAR_SHARE, NEAR_SHARE = 0.8, 0.92
# The most the near and far ends may move against each other, as a share of the frame width: more
# would need a slope so wide that little of either end is left flat.
MAX_PARALLAX = 0.05
# The slope's width per pixel of that parallax. The slope is a smoothstep, steepest (1.5 times its
# mean) in its middle: at 3 the picture stretches or compresses by at most half where the ends part.
SLOPE = 3.0
# A turntable's relief: how far the near end stands out from the turning axis, as a share of the
# frame's short side (it moves sideways by that times the sine of the turn).
RELIEF_DEPTH = 0.22
# The near end's columns: from the first to the last that hold at least COLUMN_PEAK of the most near
# pixels any column holds, and at most NEAR_COLUMNS of the width.
COLUMN_PEAK = 0.3
NEAR_COLUMNS = 0.35
COARSE = 4  # px per cell of the grid a non-shift sampling map is worked out on


def nearness(rgb: np.ndarray, pivot: tuple[float, float]) -> np.ndarray:
    """(h, w) float32 in 0..1 from the photo's own cues: 0 far, 1 near (see FAR_SHARE).

    `rgb` is small (WORK_LONG); `pivot` is the point the camera circles, in its pixels.
    """
    h, w = rgb.shape[:2]
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    detail = cv2.GaussianBlur(np.abs(cv2.Laplacian(grey, cv2.CV_32F, ksize=3)), (0, 0), max(1.0, max(h, w) / 100))
    focus = np.clip(detail / (float(np.percentile(detail, 95)) + 1e-4), 0.0, 1.0)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    reach = 0.45 * max(h, w)
    around = np.exp(-(((xs - pivot[0]) / reach) ** 2 + ((ys - pivot[1]) / reach) ** 2))
    cue = WEIGHTS["saliency"] * saliency(rgb) + WEIGHTS["focus"] * focus + WEIGHTS["pivot"] * around
    # Snapped to the photo's edges (as the subject matte is), so that the near part follows outlines.
    cue = guided_filter(grey, cue.astype(np.float32), max(2, round(max(h, w) / 40)), 1e-2)
    low, high = np.percentile(cue, [100 * FAR_SHARE, 100 * NEAR_SHARE])
    ramp = np.clip((cue - low) / max(float(high - low), 1e-6), 0.0, 1.0)
    return (ramp * ramp * (3.0 - 2.0 * ramp)).astype(np.float32)


def _sloped(near: np.ndarray, width: float) -> np.ndarray:
    """Nearness by column: the columns that hold most of the near end whole and flat, falling to
    far over `width` pixels beside them (a (1, w) row).

    The displacement is sideways, so nearness that changed down a column would bend what stands
    upright in it (a rocket's nose outside the near end leaned as the camera went round). By column,
    an upright thing moves as one piece, and the slope only stretches the picture sideways. A blur
    would give the slope its width too, but would also wear away a near end thinner than that.
    """
    solid = (near >= 0.5).astype(np.uint8)
    # Specks are no near end: a few salient pixels would make islands that drift against the rest.
    speck = max(1, round(min(near.shape) / 40))
    solid = cv2.morphologyEx(solid, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * speck + 1,) * 2))
    share = solid.mean(axis=0)
    if share.max() <= 0:
        return np.zeros((1, near.shape[1]), np.float32)
    strong = np.flatnonzero(share >= COLUMN_PEAK * share.max())
    # One span, from the first such column to the last (what lies between them, however plain, is
    # as near: a hole in the near end would be a gap the far end slides through), at most a share
    # of the width about their centre (the far end needs its share, for the parallax to show).
    most = max(1, round(NEAR_COLUMNS * near.shape[1]))
    centre = float(np.average(strong, weights=share[strong]))
    first, last = int(strong[0]), int(strong[-1])
    if last - first + 1 > most:
        first = int(np.clip(round(centre - most / 2), first, last - most + 1))
        last = first + most - 1
    columns = np.arange(first, last + 1)
    if width < 1.0:
        flat = np.zeros(near.shape[1], np.float32)
        flat[columns] = 1.0
        return flat[None, :]
    beside = np.abs(np.arange(near.shape[1])[:, None] - columns[None, :]).min(axis=1)
    fall = np.clip(1.0 - beside / width, 0.0, 1.0).astype(np.float32)[None, :]
    # Rounded where the slope meets the flat ends (no crease in the motion), keeping its steepness.
    return cv2.GaussianBlur(fall * fall * (3.0 - 2.0 * fall), (0, 0), sigmaX=max(0.5, width / 6), sigmaY=0.01)


def _translation(matrix: np.ndarray) -> bool:
    return bool(np.allclose(matrix[:2, :2], np.eye(2)) and np.allclose(matrix[2], (0.0, 0.0, 1.0)))


class ReliefScene:
    """A one-layer Scene (engine/instant.py) drawn through a relief estimated from its cues. The
    canvas, the camera path and the framing are the scene's own (everything but `render` and
    `subject_transform` is read from it)."""

    def __init__(self, scene: Any) -> None:
        self.scene = scene
        width, height = scene.size
        ox, oy = (float(v) for v in scene.rest_to_canvas[:2, 2])
        canvas_h, canvas_w = scene.canvas.shape[:2]
        view = scene.canvas[max(0, int(oy)):int(oy) + height, max(0, int(ox)):int(ox) + width]
        scale = WORK_LONG / max(width, height)
        small = (max(8, round(width * scale)), max(8, round(height * scale)))
        pivot = (scene.subject_center[0] * small[0] / width, scene.subject_center[1] * small[1] / height)
        near = nearness(cv2.resize(view, small, interpolation=cv2.INTER_AREA), pivot)
        # Each frame's displacement of the near end against the far end; the relief's depth range is
        # scaled so that the largest stays within MAX_PARALLAX of the width. (The layered scene's
        # background slides up to a third of the width in a full orbit: too far for a warp's slope.)
        moves = [self._ends(index) for index in range(len(scene.path))]
        parallax = max((float(np.abs(far[:2, 2] - near_[:2, 2]).max()) for far, near_ in moves), default=0.0)
        self.gain = min(1.0, MAX_PARALLAX * width / parallax) if parallax > 0 else 1.0
        # The end that holds its place keeps it: the near end in an orbit (the pivot), the far end
        # in a turntable (the camera is still); the other comes nearer to it by the gain.
        self._turns = any(motion.spin for motion in scene.path)
        self._moves = [self._scaled(far, near_) for far, near_ in moves]
        near = np.repeat(_sloped(near, SLOPE * parallax * self.gain * scale), small[1], axis=0)
        if self._turns:
            # Where the canvas ends at the frame (the photo's own edge), the turning near end fades
            # to the still far end: beyond the photo there is nothing to turn into view. (An orbit's
            # near end holds still, and its far end moves as the canvas was made for.)
            band = max(2.0, 2.0 * parallax * self.gain * scale)
            fade = np.ones_like(near)
            edges = (ox < band / scale, oy < band / scale, canvas_w - ox - width < band / scale,
                     canvas_h - oy - height < band / scale)
            sx, sy = np.arange(small[0], dtype=np.float32) + 0.5, np.arange(small[1], dtype=np.float32) + 0.5
            for hit, ramp in zip(edges, (sx[None, :], sy[:, None], small[0] - sx[None, :], small[1] - sy[:, None])):
                if hit:
                    fade = np.minimum(fade, np.clip(ramp / band, 0.0, 1.0))
            near = near * fade
        self.near = cv2.resize(near, (width, height), interpolation=cv2.INTER_LINEAR)
        grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
        self._grid = (grid_x, grid_y)
        # The coarse grid's points, where cv2.resize puts them: the centres of COARSE-pixel cells.
        cw, ch = max(2, math.ceil(width / COARSE)), max(2, math.ceil(height / COARSE))
        cx = (np.arange(cw) + 0.5) * width / cw - 0.5
        cy = (np.arange(ch) + 0.5) * height / ch - 0.5
        self._coarse = np.meshgrid(cx, cy)
        self._near_coarse = cv2.resize(self.near, (cw, ch), interpolation=cv2.INTER_AREA).astype(np.float64)
        self._to_canvas = scene.rest_to_canvas

    def __getattr__(self, name: str) -> Any:
        if name == "scene":  # not set yet (a copy being made): no recursion through __getattr__
            raise AttributeError(name)
        return getattr(self.scene, name)

    def _ends(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Rest view → output for the far and near ends at frame `index` (3×3 each)."""
        scene = self.scene
        motion = scene.path[index]
        still = replace(motion, orbit=0.0, spin=0.0)
        far = layer_transforms(replace(motion, spin=0.0), scene.size, scene.subject_center).background
        # The near end is at the pivot: an orbit leaves it where it is (a span of whole columns is
        # no one object to turn in perspective, as a cut-out subject is); a turntable turns it as
        # it turns a cut-out subject, and its front moves sideways by its height over the axis
        # times the sine of the turn.
        near = layer_transforms(still, scene.size, scene.subject_center).subject
        if motion.spin:
            rise = RELIEF_DEPTH * min(scene.size) * math.sin(math.radians(motion.spin))
            turned = layer_transforms(replace(motion, orbit=0.0), scene.size, scene.subject_center).subject
            near = np.array([[1, 0, rise], [0, 1, 0], [0, 0, 1]], dtype=np.float64) @ turned
        return far, near

    def _scaled(self, far: np.ndarray, near: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        far, near = far.copy(), near.copy()
        if self._turns:
            near[:2, 2] = far[:2, 2] + self.gain * (near[:2, 2] - far[:2, 2])
        else:
            far[:2, 2] = near[:2, 2] + self.gain * (far[:2, 2] - near[:2, 2])
        return far, near

    def subject_transform(self, index: int) -> np.ndarray:
        """Rest view → output for the near end at frame `index` (3×3)."""
        return self._moves[index][1]

    def maps(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Where each output pixel of frame `index` samples the canvas: (map_x, map_y), float32."""
        far, near = self._moves[index]
        grid_x, grid_y = self._grid
        if _translation(far) and _translation(near):
            # Output → canvas is a shift for each end: the blend of the two is one weighted add per axis.
            far_at = self._to_canvas[:2, 2] - far[:2, 2]
            near_at = self._to_canvas[:2, 2] - near[:2, 2]
            return (cv2.addWeighted(self.near, float(near_at[0] - far_at[0]), grid_x, 1.0, float(far_at[0])),
                    cv2.addWeighted(self.near, float(near_at[1] - far_at[1]), grid_y, 1.0, float(far_at[1])))
        # A turn in perspective (or a dolly or a tilt, in a preset of one's own): each end's full
        # sampling map, blended. The maps are smooth, so they are worked out on a coarse grid, and
        # only how far they are from the identity is enlarged (exact at the frame's edges).
        coarse = self._coarse
        ends = []
        for matrix in (far, near):
            back = self._to_canvas @ np.linalg.inv(matrix)
            w = back[2, 0] * coarse[0] + back[2, 1] * coarse[1] + back[2, 2]
            ends.append(((back[0, 0] * coarse[0] + back[0, 1] * coarse[1] + back[0, 2]) / w - coarse[0],
                         (back[1, 0] * coarse[0] + back[1, 1] * coarse[1] + back[1, 2]) / w - coarse[1]))
        (fx, fy), (nx, ny) = ends
        size = (grid_x.shape[1], grid_x.shape[0])
        shift_x = cv2.resize((fx + self._near_coarse * (nx - fx)).astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
        shift_y = cv2.resize((fy + self._near_coarse * (ny - fy)).astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
        return cv2.add(shift_x, grid_x), cv2.add(shift_y, grid_y)

    def render(self, index: int, out: np.ndarray) -> None:
        frame = self.scene._scratch
        map_x, map_y = self.maps(index)
        cv2.remap(self.scene.background, map_x, map_y, cv2.INTER_LINEAR, dst=frame, borderMode=cv2.BORDER_REFLECT)
        cv2.cvtColor(frame, cv2.COLOR_RGBA2RGB, dst=out)


def relieve(scene: Any, plan: Any) -> tuple[Any, Any]:
    """(scene, plan) with the one-layer scene drawn through a relief and a note saying so."""
    # (Layers by depth, where the model is downloaded, come first for an orbit; a turntable turns
    # its subject on the spot, which layers moved by the camera cannot do.)
    if any(motion.spin for motion in scene.path):
        note = "no subject could be cut out: the turntable turns the photo's nearest part as a relief"
    else:
        note = "no subject could be cut out and no depth layers were made: the camera circles the photo as a relief"
    note += ", its depth estimated from saliency and focus"
    return ReliefScene(scene), replace(plan, notes=(*plan.notes, note))
