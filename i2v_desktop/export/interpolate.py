"""Frame-rate conversion by motion-compensated interpolation.

A platform wants 30 fps and the engines make 24: repeating every fourth frame would judder, and
cross-fading neighbours would ghost. Instead each new frame is drawn from both neighbours moved
along the optical flow to its own moment in time.

Flow is estimated at a reduced size (DIS, a few milliseconds a pair), upsampled, and used to warp
the full-size neighbours with cv2.remap; the two warps are blended with weights that fall where
the forward and backward flows disagree, i.e. where a pixel of one neighbour is hidden in the
other (occlusion), so the neighbour that actually sees the pixel supplies it.

ffmpeg's `minterpolate` filter (mci, aobmc, bidir) does the same job, but measured on two cores it
took 20 s to turn 3 s of 1280×720 from 24 into 30 fps, where this module takes about 2 s at that
size (and under 1 s for the 9:16 crop a Reel uses); see export/speed.py. So it is not used.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

# Long side of the images the flow is estimated on. Generated clips move smoothly and by a few
# pixels a frame: a fifth of 720p's width resolves their motion at a fraction of the full-size
# cost (rebuilding dropped frames of a generated clip scores the same PSNR at 256 as at 480).
FLOW_SIZE = 256
# Positions this close to a source frame are that frame (no warp for a difference no one sees).
SNAP = 1e-3
# Forward/backward disagreement (in flow-image pixels) at which a pixel's weight halves.
OCCLUSION_TOLERANCE = 1.0
# A neighbour's weight never falls below this share: where both neighbours look occluded (the
# flow failed), a plain time-weighted blend is the honest fallback.
MIN_WEIGHT = 0.02
PAIR_CACHE = 4  # flow pairs kept: the export's timeline revisits the same pairs in order


@dataclass(frozen=True)
class _PairFlow:
    """The flow between neighbours a → b (and back) at flow size, with each side's visibility."""

    forward: np.ndarray  # (h, w, 2) float32: a(x) ≈ b(x + forward(x))
    backward: np.ndarray  # (h, w, 2) float32: b(x) ≈ a(x + backward(x))
    visible_a: np.ndarray  # (h, w) float32, 1 where a's pixel is also seen in b, → 0 if hidden
    visible_b: np.ndarray  # (h, w) float32, the same for b's pixels in a


@dataclass(frozen=True)
class _Buffers:
    """Full-size scratch arrays, reused for every frame: allocating megabytes afresh each time
    costs more in page faults than the arithmetic done in them."""

    flow: np.ndarray
    map_xy: np.ndarray
    map_frac: np.ndarray
    warped_a: np.ndarray
    warped_b: np.ndarray
    weight_a: np.ndarray
    weight_b: np.ndarray

    @classmethod
    def for_size(cls, width: int, height: int) -> _Buffers:
        return cls(
            flow=np.empty((height, width, 2), np.float32),
            map_xy=np.empty((height, width, 2), np.int16),
            map_frac=np.empty((height, width), np.uint16),
            warped_a=np.empty((height, width, 3), np.uint8),
            warped_b=np.empty((height, width, 3), np.uint8),
            weight_a=np.empty((height, width), np.float32),
            weight_b=np.empty((height, width), np.float32),
        )


def frame_positions(count: int, src_fps: float, dst_fps: float, loop: bool) -> np.ndarray:
    """Where in the source (in frames, fractional) each frame of the `dst_fps` version falls.

    The converted clip lasts as long as the source (count / src_fps seconds). Without `loop` a
    position past the last frame holds the last frame; with it, positions between the last
    frame and the end interpolate from the last frame toward the first.
    """
    _check_rates(src_fps, dst_fps)
    if count < 1:
        raise ValueError("there are no frames to convert")
    total = max(1, round(count * dst_fps / src_fps))
    positions = np.arange(total, dtype=np.float64) * (src_fps / dst_fps)
    if loop:
        return np.mod(positions, count)
    return np.minimum(positions, count - 1)


class Interpolator:
    """Frames of a clip at any fractional position, by motion-compensated interpolation.

    Frames are (H, W, 3) uint8; the clip may be a read-only array or any sequence of frames
    (views into a larger clip are fine). With `loop` the clip wraps around: positions between
    the last frame and len(frames) interpolate from the last frame to the first.
    """

    def __init__(self, frames: Sequence[np.ndarray] | np.ndarray, loop: bool = False) -> None:
        if len(frames) < 1:
            raise ValueError("there are no frames to interpolate")
        first = np.asarray(frames[0])
        if first.dtype != np.uint8 or first.ndim != 3 or first.shape[2] != 3:
            raise ValueError(f"frames must be (H, W, 3) uint8 arrays, got {first.dtype} {first.shape}")
        self.frames = frames
        self.loop = loop
        self.height, self.width = first.shape[:2]
        scale = min(1.0, FLOW_SIZE / max(self.width, self.height))
        self._flow_size = (max(8, round(self.width * scale)), max(8, round(self.height * scale)))
        # Full-size pixel grid, added to upsampled flow to make cv2.remap's absolute maps.
        xs, ys = np.meshgrid(
            np.arange(self.width, dtype=np.float32), np.arange(self.height, dtype=np.float32)
        )
        self._grid = np.dstack([xs, ys])
        fw, fh = self._flow_size
        xs, ys = np.meshgrid(np.arange(fw, dtype=np.float32), np.arange(fh, dtype=np.float32))
        self._small_grid = np.dstack([xs, ys])
        self._flow_scale = np.array([self.width / fw, self.height / fh], dtype=np.float32)
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        self._buffers = _Buffers.for_size(self.width, self.height)
        self._pairs: OrderedDict[int, _PairFlow] = OrderedDict()
        self._small: OrderedDict[int, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self.frames)

    def frame_at(self, position: float) -> np.ndarray:
        """The frame at `position` (in source frames): a source frame itself when the position is
        whole, else a new frame warped from both neighbours."""
        count = len(self.frames)
        if self.loop:
            position = math.fmod(position, count)
            position += count if position < 0 else 0
        else:
            position = min(max(position, 0.0), count - 1.0)
        index = math.floor(position)
        t = position - index
        if t < SNAP or count == 1:
            return np.asarray(self.frames[index])
        following = (index + 1) % count
        if t > 1.0 - SNAP:
            return np.asarray(self.frames[following])
        return self._between(index, following, t)

    # -- internals ------------------------------------------------------------------------

    def _between(self, a: int, b: int, t: float) -> np.ndarray:
        pair = self._pair(a, b)
        # Flow from the in-between moment back to each neighbour (Jiang et al., "Super SloMo",
        # 2018): a quadratic blend of the two flows, exact for linear motion and a good guess
        # elsewhere, that needs no forward splatting.
        to_a = -(1.0 - t) * t * pair.forward + t * t * pair.backward
        to_b = (1.0 - t) * (1.0 - t) * pair.forward - t * (1.0 - t) * pair.backward
        # Where a's pixel is hidden in b, b's warp samples the wrong surface: trust a there, and
        # the other way round.
        seen_a = cv2.remap(
            pair.visible_a, self._small_grid + to_a, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        seen_b = cv2.remap(
            pair.visible_b, self._small_grid + to_b, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        weight_a = (1.0 - t) * (MIN_WEIGHT + (1.0 - MIN_WEIGHT) * seen_b)
        weight_b = t * (MIN_WEIGHT + (1.0 - MIN_WEIGHT) * seen_a)
        size = (self.width, self.height)
        buffers = self._buffers
        warped_a = self._warp(self.frames[a], to_a, buffers.warped_a)
        warped_b = self._warp(self.frames[b], to_b, buffers.warped_b)
        cv2.resize(weight_a, size, dst=buffers.weight_a, interpolation=cv2.INTER_LINEAR)
        cv2.resize(weight_b, size, dst=buffers.weight_b, interpolation=cv2.INTER_LINEAR)
        # blendLinear normalises by the weights' sum; its output is the caller's to keep.
        return cv2.blendLinear(warped_a, warped_b, buffers.weight_a, buffers.weight_b)

    def _warp(self, frame: np.ndarray, flow: np.ndarray, out: np.ndarray) -> np.ndarray:
        buffers = self._buffers
        # Scaled to full-size pixels while still small (a sixteenth of the work), then upsampled
        # and made absolute.
        scaled = flow * self._flow_scale
        cv2.resize(scaled, (self.width, self.height), dst=buffers.flow, interpolation=cv2.INTER_LINEAR)
        cv2.add(buffers.flow, self._grid, dst=buffers.flow)
        # Fixed-point maps: converting costs less than the float path of remap saves.
        cv2.convertMaps(buffers.flow, None, cv2.CV_16SC2, dstmap1=buffers.map_xy, dstmap2=buffers.map_frac)
        cv2.remap(np.asarray(frame), buffers.map_xy, buffers.map_frac, cv2.INTER_LINEAR, dst=out,
                  borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        return out

    def _pair(self, a: int, b: int) -> _PairFlow:
        cached = self._pairs.get(a)
        if cached is not None:
            self._pairs.move_to_end(a)
            return cached
        small_a, small_b = self._small_frame(a), self._small_frame(b)
        forward = self._dis.calc(small_a, small_b, None)
        backward = self._dis.calc(small_b, small_a, None)
        pair = _PairFlow(
            forward, backward, self._visibility(forward, backward), self._visibility(backward, forward)
        )
        self._pairs[a] = pair
        if len(self._pairs) > PAIR_CACHE:
            self._pairs.popitem(last=False)
        return pair

    def _visibility(self, there: np.ndarray, back: np.ndarray) -> np.ndarray:
        """Forward/backward consistency: following the flow there and back again returns to the
        start for a pixel seen in both frames, and does not for one the other frame hides."""
        returned = cv2.remap(
            back, self._small_grid + there, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        dx, dy = cv2.split(there + returned)
        error = cv2.magnitude(dx, dy) / OCCLUSION_TOLERANCE
        return 1.0 / (1.0 + error * error)

    def _small_frame(self, index: int) -> np.ndarray:
        cached = self._small.get(index)
        if cached is None:
            small = cv2.resize(np.asarray(self.frames[index]), self._flow_size, interpolation=cv2.INTER_AREA)
            cached = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
            self._small[index] = cached
            if len(self._small) > PAIR_CACHE + 1:
                self._small.popitem(last=False)
        return cached


def interpolate(
    frames: Sequence[np.ndarray] | np.ndarray, src_fps: float, dst_fps: float, loop: bool = False
) -> np.ndarray:
    """The clip converted from `src_fps` to `dst_fps` as a (T, H, W, 3) uint8 array.

    Any ratio works (×2, ×3, ×4, 24 → 30, 24 → 15): every output frame sits at its own moment in
    time and is a source frame where that moment is one, else a motion-compensated blend of the
    two frames around it. With `loop`, the last → first pair is interpolated too, so the result
    still loops seamlessly. The result lasts as long as the source.
    """
    interpolator = Interpolator(frames, loop)
    positions = frame_positions(len(frames), src_fps, dst_fps, loop)
    return np.stack([interpolator.frame_at(float(position)) for position in positions])


def _check_rates(src_fps: float, dst_fps: float) -> None:
    for name, value in (("source fps", src_fps), ("target fps", dst_fps)):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value <= 0
        ):
            raise ValueError(f"{name} must be a positive number, got {value!r}")
