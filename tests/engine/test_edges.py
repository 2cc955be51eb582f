"""Clean edges in the instant engine: the background behind a moving subject shows no ghost of the
subject's edge.

The halo, measured per frame t of a clip whose camera moves the subject against the background:

- The edge ring: the photo's pixels just outside the subject, those outside its middle (0.5)
  matte contour by at most RING (2 % of the frame's short side). Here the photo holds the
  subject's soft edge (hair against the wall, the blur of a helmet's rim), and here a fill that
  borrowed the edge's colour, or a background that kept it, leaves a ghost of the subject.
- In frame t: the ring carried into the frame by the background's transform, where the subject
  layer (its matte carried by the subject's transform) now covers less than 5 %: the part of the
  ring that the moving subject has uncovered.
- What a clean render shows there. For the synthetic cut-outs it is known: the true disc (its
  true soft alpha and colour, moved by the subject's transform) over the true background the
  photo was made from (moved by the background's). For the samples, where what is behind the
  subject is unknown: the photo's own background (matte ≤ EDGE_ALPHA) continued across the
  subject from its nearest pixel, the colour just outside the subject, moved by the background's
  transform.
- halo(t): the mean colour difference ΔE (CIE 1976, L*a*b*) between frame t and that clean render
  over those pixels, both blurred by a Gaussian of σ = 2 px first (grain is no halo),
  or 0 where nothing of the ring is uncovered.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.core.subject import EDGE_ALPHA
from i2v_desktop.engine import instant
from i2v_desktop.engine.camera import layer_transforms
from i2v_desktop.engine.instant import InstantEngine

ENGINE = InstantEngine()
# The presets whose camera moves the subject as a layer over a completed background.
LAYERED = ("orbit", "push-in", "pull-out", "pan-left", "pan-right", "tilt-up", "turntable")
# The others move the photo as one piece: no fill, so nothing for a halo to come from.
ONE_LAYER = ("wind", "subtle", "static")
RING = 0.02
COVERED = 0.05
BLUR = 2.0
# Worst frame's halo, ΔE (draft, 1 s at 12 fps, seed 3, aspect 4:5, intensity 1).
# The cut-outs, where the truth is known: before the fill left out the subject's edge band and the
# subject layer took the old background out of its edge, the worst frames per preset were 6.0 to
# 11.4 (a push in of the dark disc); with both, 4.1 to 7.1 (the same push in, on the frame where
# the growing disc has all but covered its old outline: 335 pixels of its soft rim are left).
CUTOUT_LIMIT = 7.5
# The samples, where what is behind the subject is unknown: the nearest-background reference
# favours a background that keeps the photo's pixels beside the subject, and the figures are about
# the same before (worst 7.6, the astronaut's orbit) and after (worst 8.6, the same); what
# stays is most often a strip revealed by parallax whose fill is plainer than the wall beside it,
# or the helmet's ring and collar that the matte leaves in the background. A guard, not a proof.
SAMPLE_LIMIT = 9.5


def request(image: Path | str, preset: str, **over) -> GenerationRequest:
    fields = dict(image=str(image), preset=preset, duration=1.0, fps=12, quality="draft", aspect="4:5",
                  intensity=1.0, seed=3)
    return GenerationRequest(**{**fields, **over})


def lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) * np.float32(1 / 255), cv2.COLOR_RGB2Lab)


def nearest_background(canvas: np.ndarray, matte: np.ndarray) -> np.ndarray:
    """The canvas with every pixel the subject reaches (matte > EDGE_ALPHA) replaced by the
    nearest background pixel."""
    reached = (matte > EDGE_ALPHA).astype(np.uint8)
    _, labels = cv2.distanceTransformWithLabels(reached, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    ys, xs = np.nonzero(reached == 0)  # labels number the background pixels in this (row) order
    return canvas[ys[labels - 1], xs[labels - 1]]


def halos(scene: instant.Scene, clean_canvas: np.ndarray, subject: tuple[np.ndarray, np.ndarray] | None = None) -> list[float]:
    """halo(t) for every frame of the scene (see the module's docstring). `subject`: the true
    subject (alpha on the canvas, its colour) where it is known, laid over the clean background
    as the subject's transform moves it."""
    width, height = scene.size
    reach = RING * min(width, height)
    outside = (scene.matte < 0.5).astype(np.uint8)
    ring = ((cv2.distanceTransform(outside, cv2.DIST_L2, 5) <= reach) & (outside > 0)).astype(np.float32)
    to_rest = np.linalg.inv(scene.rest_to_canvas)
    frame = np.empty((height, width, 3), np.uint8)
    values = []
    for index, motion in enumerate(scene.path):
        scene.render(index, frame)
        layers = layer_transforms(motion, scene.size, scene.subject_center)
        cover = cv2.warpPerspective(scene.matte, layers.subject @ to_rest, (width, height), flags=cv2.INTER_LINEAR)
        behind = layers.background @ to_rest
        shown = cv2.warpPerspective(ring, behind, (width, height), flags=cv2.INTER_LINEAR)
        uncovered = (shown >= 0.5) & (cover < COVERED)
        if not uncovered.any():
            values.append(0.0)
            continue
        clean = cv2.warpPerspective(clean_canvas, behind, (width, height), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REFLECT)
        if subject is not None:
            alpha = cv2.warpPerspective(subject[0], layers.subject @ to_rest, (width, height), flags=cv2.INTER_LINEAR)
            alpha = alpha[..., None]
            clean = (alpha * subject[1] + (1 - alpha) * clean + 0.5).astype(np.uint8)
        blurred = [lab(cv2.GaussianBlur(image, (0, 0), BLUR)) for image in (frame, clean)]
        difference = np.linalg.norm(blurred[0] - blurred[1], axis=2)
        values.append(float(difference[uncovered].mean()))
    return values


def recorded_canvas(monkeypatch) -> list[tuple]:
    """The arguments of every photo resampling the scene makes, to resample a known background
    onto its canvas the same way."""
    calls: list[tuple] = []
    original = instant._resample

    def recording(image, k, x0, y0, size):
        calls.append((image.ndim, k, x0, y0, size))
        return original(image, k, x0, y0, size)

    monkeypatch.setattr(instant, "_resample", recording)
    return calls


def cutout_photo(folder: Path, name: str, subject: tuple[int, int, int], background_level: int,
                 seed: int) -> tuple[Path, np.ndarray, np.ndarray]:
    """A high-contrast cut-out: a disc with a soft edge (a Gaussian of σ = 6 px, as hair or a
    slightly defocused rim gives) over a grainy background of the other brightness. Returns the
    photo, its true background and the disc's true alpha."""
    h, w = 760, 900
    rng = np.random.default_rng(seed)
    grain = cv2.GaussianBlur(rng.normal(0, 1, (h, w, 3)).astype(np.float32), (0, 0), 1.0)
    background = np.clip(grain / grain.std() * 10 + background_level, 0, 255)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot(xx - 0.52 * w, yy - 0.5 * h)
    alpha = cv2.GaussianBlur(np.clip(0.3 * h - r + 0.5, 0, 1), (0, 0), 6.0)[..., None]
    photo = alpha * np.array(subject, np.float32) + (1 - alpha) * background
    path = folder / f"{name}.png"
    Image.fromarray(np.clip(photo + 0.5, 0, 255).astype(np.uint8)).save(path)
    return path, np.clip(background + 0.5, 0, 255).astype(np.uint8), alpha[..., 0]


CUTOUTS = {"white-on-dark": ((240, 240, 235), 45), "dark-on-light": ((25, 20, 30), 200)}


@pytest.mark.parametrize("name", sorted(CUTOUTS))
@pytest.mark.parametrize("preset", LAYERED)
def test_a_high_contrast_cutout_leaves_no_halo(tmp_path, monkeypatch, name, preset):
    colour, level = CUTOUTS[name]
    photo, truth, alpha = cutout_photo(tmp_path, name, colour, level, seed=len(name))
    calls = recorded_canvas(monkeypatch)
    _, scene = ENGINE.prepare(request(photo, preset))
    assert scene.layered and (scene.matte > 0.5).mean() > 0.1, "the disc is the subject"
    _, k, x0, y0, size = [c for c in calls if c[0] == 3][-1]  # the canvas the scene kept
    clean = instant._resample(truth, k, x0, y0, size)
    disc = instant._resample(alpha, k, x0, y0, size)
    values = halos(scene, clean, (disc, np.array(colour, np.float32)))
    assert max(values) <= CUTOUT_LIMIT, (preset, name, [round(v, 1) for v in values])


@pytest.mark.parametrize("preset", LAYERED)
def test_the_samples_leave_no_halo(samples, preset):
    for photo in sorted(samples.glob("*.jpg")):
        _, scene = ENGINE.prepare(request(photo, preset))
        if not scene.layered or not (scene.matte > 0.5).any():
            continue  # no subject cut out: one layer, nothing filled
        values = halos(scene, nearest_background(scene.canvas, scene.matte))
        assert max(values) <= SAMPLE_LIMIT, (preset, photo.name, [round(v, 1) for v in values])


@pytest.mark.parametrize("preset", ONE_LAYER)
def test_presets_without_a_camera_move_fill_nothing(samples, preset):
    _, scene = ENGINE.prepare(request(samples / "astronaut.jpg", preset))
    assert not scene.layered and not hasattr(scene, "background")


@pytest.mark.parametrize("name", ["astronaut", "coffee"])
def test_at_rest_the_layers_give_back_the_photo(samples, name):
    """The subject layer's edge colour is the photo less the filled background (its alpha raised
    where the photo cannot be such a mix): the first frame of a push in, the camera at rest, is the
    photo to within rounding. (Before: 0.5 % of the pixels, along the subject's outline, were 30 to
    35 grey levels off, the fill showing through the soft edge.)"""
    _, scene = ENGINE.prepare(request(samples / f"{name}.jpg", "push-in"))
    assert scene.layered and (scene.matte > 0.5).any()
    width, height = scene.size
    frame = np.empty((height, width, 3), np.uint8)
    scene.render(0, frame)
    ox, oy = scene.rest_to_canvas[:2, 2]
    photo = cv2.warpAffine(scene.canvas, np.array([[1, 0, -ox], [0, 1, -oy]]), (width, height), flags=cv2.INTER_LINEAR)
    difference = np.abs(frame.astype(np.int16) - photo).max(axis=2)
    assert np.percentile(difference, 99.9) <= 2 and difference.max() <= 8, (
        np.percentile(difference, 99.9), difference.max())
