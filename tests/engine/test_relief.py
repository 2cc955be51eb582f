"""Orbit and turntable where no subject can be cut out and no depth model is downloaded: the
instant engine draws the photo through a relief estimated from its own cues (engine/relief.py).

The cat's face fills a 9:16 frame: the subject matte is refused, the case the relief is for.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.core.resources import resource_path
from i2v_desktop.engine import relief
from i2v_desktop.engine.instant import InstantEngine
from i2v_desktop.quality.adherence import adherence
from i2v_desktop.quality.motion import estimate_clip

ENGINE = InstantEngine()
CAT = resource_path("samples") / "chelsea.jpg"


def request(preset: str, **over) -> GenerationRequest:
    fields = dict(image=str(CAT), preset=preset, duration=1.0, fps=12, quality="draft",
                  aspect="9:16", seed=1)
    return GenerationRequest(**{**fields, **over})


def frames_of(scene, plan) -> np.ndarray:
    frames = np.empty((plan.num_frames, plan.height, plan.width, 3), np.uint8)
    for index in range(plan.num_frames):
        scene.render(index, frames[index])
    return frames


@pytest.fixture(scope="module")
def orbit():
    plan, scene = ENGINE.prepare(request("orbit"))
    return plan, scene, frames_of(scene, plan)


@pytest.fixture(scope="module")
def turntable():
    plan, scene = ENGINE.prepare(request("turntable"))
    return plan, scene, frames_of(scene, plan)


def flow_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    grey = [cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in (a, b)]
    return cv2.calcOpticalFlowFarneback(grey[0], grey[1], None, 0.5, 4, 21, 3, 5, 1.1, 0)


def sideways(frames: np.ndarray, where: np.ndarray) -> float:
    """How far the picture moves sideways within `where`, first frame to each other, at most (px)."""
    return max(abs(float(np.median(flow_between(frames[0], frame)[..., 0][where]))) for frame in frames[1:])


def test_a_flat_orbit_has_parallax_and_adherence_reads_it_as_an_orbit(orbit):
    plan, scene, frames = orbit
    assert not scene.matte.any(), "the cat: no subject cut out"
    assert isinstance(scene, relief.ReliefScene)
    assert plan.notes[-1].startswith("no subject could be cut out and no depth layers were made: the camera "
                                     "circles the photo as a relief")
    near, far = scene.near > 0.9, scene.near < 0.1
    assert near.mean() > 0.1 and far.mean() > 0.1, "both ends of the relief hold a fair share of the picture"
    # The near end (at the pivot) holds its place while the far end slides past: the parallax of
    # an orbit, which one flat layer (everything sliding alike) has not got.
    assert sideways(frames, far) > 8.0 > 3 * sideways(frames, near), (sideways(frames, far), sideways(frames, near))
    estimate = estimate_clip(frames)
    assert estimate.move == "orbit", estimate
    assert adherence(estimate, "orbit").matched and adherence(estimate, "pan-left").rating < 0.5


def test_the_flat_orbit_moves_whole_columns_so_nothing_upright_bends(orbit):
    """The moves are sideways, so the relief is by column: every column moves as one piece (a
    rocket's nose does not lean away from its body), and the near columns are the cat's face
    between its eyes (the nose), not the soft fur at the frame's sides."""
    _, scene, frames = orbit
    assert np.ptp(scene.near, axis=0).max() < 1e-6
    width = scene.near.shape[1]
    sides, middle = np.zeros_like(scene.near, bool), np.zeros_like(scene.near, bool)
    sides[:, : width // 10], sides[:, -width // 10:] = True, True
    middle[:, 2 * width // 5: 3 * width // 5] = True
    assert scene.near[sides].mean() < 0.1 and scene.near[middle].mean() > 0.9
    assert sideways(frames, sides) > 4 * sideways(frames, middle)


def test_a_flat_turntable_turns_its_near_part_and_holds_the_rest(turntable):
    plan, scene, frames = turntable
    assert isinstance(scene, relief.ReliefScene) and not scene.matte.any()
    assert plan.notes[-1].startswith("no subject could be cut out: the turntable turns the photo's nearest part")
    near, far = scene.near > 0.9, scene.near < 0.02
    assert sideways(frames, near) > 4.0 > 4 * sideways(frames, far), (sideways(frames, near), sideways(frames, far))
    estimate = estimate_clip(frames)
    assert estimate.move == "local", estimate  # the camera still, part of the scene moving: the asked move
    assert adherence(estimate, "local").matched


@pytest.mark.parametrize("which", ["orbit", "turntable"])
def test_the_relief_never_folds_or_reaches_past_the_photo(which, orbit, turntable):
    """A smooth field that keeps each row in order cannot tear: neighbours stay neighbours, and the
    picture stretches or compresses by at most half where the near and far ends part."""
    _, scene, _ = {"orbit": orbit, "turntable": turntable}[which]
    canvas_h, canvas_w = scene.background.shape[:2]
    for index in range(len(scene.path)):
        map_x, map_y = scene.maps(index)
        step = np.diff(map_x, axis=1)
        assert 0.45 < step.min() and step.max() < 1.55, (index, step.min(), step.max())
        assert map_x.min() >= -0.5 and map_x.max() <= canvas_w - 0.5 and map_y.min() >= -0.5
        assert map_y.max() <= canvas_h - 0.5


def test_at_rest_the_turntable_gives_back_the_photo(turntable):
    _, scene, frames = turntable
    assert scene.path[0].spin == 0.0
    width, height = scene.size
    ox, oy = scene.rest_to_canvas[:2, 2]
    photo = cv2.warpAffine(scene.canvas, np.array([[1, 0, -ox], [0, 1, -oy]]), (width, height), flags=cv2.INTER_LINEAR)
    assert np.abs(frames[0].astype(np.int16) - photo).max() <= 2


def test_moves_a_flat_layer_shows_as_they_are_stay_one_layer():
    for preset in ("push-in", "pan-left", "wind"):
        plan, scene = ENGINE.prepare(request(preset))
        assert not isinstance(scene, relief.ReliefScene) and not any("relief" in note for note in plan.notes)


def test_the_cues_put_a_sharp_salient_disc_before_a_soft_background():
    rng = np.random.default_rng(2)
    h, w = 160, 120
    noise = rng.integers(0, 256, (h, w), dtype=np.uint8)
    backdrop = cv2.GaussianBlur(noise, (0, 0), 4.0) // 4 + 60  # soft, dull, out of focus
    rgb = np.stack([backdrop, backdrop, backdrop + 20], axis=-1).astype(np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    disc = (xx - 70) ** 2 + (yy - 60) ** 2 < 28**2  # off the centre: not the pivot prior alone
    rgb[disc] = np.stack([200 + noise[disc] // 5, 90 + noise[disc] // 3, 40 + noise[disc] // 6], axis=-1)
    near = relief.nearness(rgb, (w / 2, h / 2))
    assert near.dtype == np.float32 and near.min() >= 0.0 and near.max() <= 1.0
    inside = (xx - 70) ** 2 + (yy - 60) ** 2 < 18**2
    assert near[inside].mean() > 0.9 and near[yy < 12].mean() < 0.1
