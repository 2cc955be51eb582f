"""The instant engine's wind: a smooth, time-periodic flow field that sways the soft parts of a
still scene (hair, fur, foliage) while the rigid core of the subject holds still."""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..core.subject import saliency
from .camera import FrameMotion

# A photo whose softest fifth is less soft than this has little that sways (a plain wall): it is
# not stretched to sway as much as one full of foliage.
SOFTNESS_FLOOR = 0.25


class WindField:
    """A smooth, time-periodic displacement of the soft parts of the scene.

    Softness is high where the photo has fine texture (hair, fur, leaves, loose fabric) and zero
    in the rigid core of the subject. A few travelling waves, each completing whole cycles over
    the clip, make the sway; the seed picks their directions and phases.
    """

    SCALE = 4  # the field is smooth: compute it at a quarter of the frame size

    def __init__(self, rgb: np.ndarray, matte: np.ndarray, size: tuple[int, int], rest_to_canvas: np.ndarray,
                 amplitude: float, duration: float, seed: int) -> None:
        width, height = size
        self.size = size
        self.amplitude = amplitude * min(width, height)
        self.offset = rest_to_canvas[:2, 2].astype(np.float32)
        # Softness on the rest view, at low resolution.
        sw, sh = max(1, width // self.SCALE), max(1, height // self.SCALE)
        ox, oy = self.offset
        view = rgb[int(oy):int(oy) + height, int(ox):int(ox) + width]
        core = matte[int(oy):int(oy) + height, int(ox):int(ox) + width]
        gray = cv2.resize(cv2.cvtColor(view, cv2.COLOR_RGB2GRAY), (sw, sh), interpolation=cv2.INTER_AREA)
        gray = gray.astype(np.float32) / 255.0
        detail = cv2.GaussianBlur(np.abs(cv2.Laplacian(gray, cv2.CV_32F, ksize=3)), (0, 0), 2.0)
        texture = np.clip(detail / (np.percentile(detail, 90) + 1e-4), 0.0, 1.0)
        hard = (cv2.resize(core, (sw, sh), interpolation=cv2.INTER_AREA) > 0.5).astype(np.uint8)
        inside = cv2.distanceTransform(hard, cv2.DIST_L2, 3) / max(4.0, 0.06 * min(sw, sh))
        # Where no subject was cut out, what draws the eye (a cat's eyes and nose) holds still.
        attention = np.clip(saliency(cv2.resize(view, (sw, sh), interpolation=cv2.INTER_AREA)) * 1.6 - 0.3, 0, 1)
        rigid = np.maximum(np.clip(inside, 0.0, 1.0), cv2.GaussianBlur(attention, (0, 0), 2.0))
        softness = cv2.GaussianBlur(texture * (1.0 - rigid), (0, 0), 3.0)
        # The softest fifth of the picture sways the full amplitude: a photo's texture level (a
        # studio backdrop, a field of grass) says where it sways, not how far.
        top = max(float(np.percentile(softness, 80)), SOFTNESS_FLOOR)
        # The sway fades out toward the frame's edges, over twice its own amplitude: what comes into
        # view there is the picture's own edge, not content from beyond the frame, so the camera
        # need not zoom in to hide it (it did, more for stronger wind, and cropped away the very
        # hair and flags that sway).
        band = max(1.0, 2.0 * self.amplitude / self.SCALE)
        ys, xs = np.arange(sh, dtype=np.float32), np.arange(sw, dtype=np.float32)
        edge_y = np.clip(np.minimum(ys + 0.5, sh - ys - 0.5) / band, 0.0, 1.0)
        edge_x = np.clip(np.minimum(xs + 0.5, sw - xs - 0.5) / band, 0.0, 1.0)
        fade = np.minimum(edge_y[:, None], edge_x[None, :])
        fade = fade * fade * (3.0 - 2.0 * fade)  # smoothstep: no kink where the fade begins
        self.softness = (np.clip(softness / top, 0.0, 1.0) * fade).astype(np.float32)
        rng = np.random.default_rng(seed)
        yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
        self.waves = []
        # A breeze sways at roughly 0.4 to 1.2 Hz; each wave completes whole cycles over the clip so
        # that a loop is seamless.
        for hertz in (0.4, 0.7, 1.2):
            cycles = max(1, round(hertz * duration))
            angle = rng.uniform(-0.6, 0.6)  # mostly horizontal sway, as a breeze
            wavelength = rng.uniform(0.35, 0.8) * max(sw, sh)
            phase = (xx * math.cos(angle) + yy * math.sin(angle)) * (2 * math.pi / wavelength) + rng.uniform(0, 2 * math.pi)
            weight = 1.0 / hertz
            self.waves.append((cycles, phase.astype(np.float32), weight, angle))
        total = sum(w for _, _, w, _ in self.waves)
        self.waves = [(c, p, w / total, a) for c, p, w, a in self.waves]
        grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
        self.grid_x = grid_x + self.offset[0]
        self.grid_y = grid_y + self.offset[1]

    def displacement(self, motion: FrameMotion) -> tuple[np.ndarray, np.ndarray]:
        """(dx, dy) in pixels at low resolution for this frame."""
        dx = np.zeros_like(self.softness)
        dy = np.zeros_like(self.softness)
        for cycles, phase, weight, angle in self.waves:
            wave = np.sin(phase + np.float32(2 * math.pi * cycles * motion.wind_phase)) * np.float32(weight)
            dx += wave * np.float32(math.cos(angle))
            dy += wave * np.float32(0.35 * math.sin(angle))
        scale = np.float32(self.amplitude) * self.softness
        return dx * scale, dy * scale

    def render(self, motion: FrameMotion, canvas: np.ndarray, out: np.ndarray) -> None:
        width, height = self.size
        dx, dy = self.displacement(motion)
        map_x = cv2.resize(dx, (width, height), interpolation=cv2.INTER_LINEAR)
        map_y = cv2.resize(dy, (width, height), interpolation=cv2.INTER_LINEAR)
        if motion.breathe:
            # A slow pulse about the frame centre, folded into the same sampling maps.
            s = np.float32(1.0 / (1.0 + motion.breathe))
            cx, cy = self.offset[0] + width / 2, self.offset[1] + height / 2
            map_x += (self.grid_x - cx) * s + cx
            map_y += (self.grid_y - cy) * s + cy
        else:
            map_x += self.grid_x
            map_y += self.grid_y
        cv2.remap(canvas, map_x, map_y, cv2.INTER_LINEAR, dst=out, borderMode=cv2.BORDER_REFLECT)
