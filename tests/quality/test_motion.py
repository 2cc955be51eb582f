"""Motion adherence: synthetic clips made by known similarities and homographies classify as the
move that made them, and a clip scored against the wrong move scores low."""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np
import pytest

from i2v_desktop.core.resources import resource_path
from i2v_desktop.quality.adherence import adherence, warning
from i2v_desktop.quality.motion import MOVES, STATIC, check_move, estimate, estimate_clip, sample_indices

SAMPLES = resource_path("samples")
WIDTH, HEIGHT, COUNT = 192, 336, 24  # a 9:16 clip at about the size the scorecard reads


def photo(name: str, size: tuple[int, int]) -> np.ndarray:
    bgr = cv2.imread(str(SAMPLES / name))
    return cv2.cvtColor(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)


def about_centre(matrix: np.ndarray, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    c = np.array([[1, 0, width / 2], [0, 1, height / 2], [0, 0, 1]], dtype=np.float64)
    return c @ matrix @ np.linalg.inv(c)


def similarity(scale: float = 1.0, degrees: float = 0.0, dx: float = 0.0, dy: float = 0.0) -> np.ndarray:
    a = math.radians(degrees)
    return np.array([[scale * math.cos(a), -scale * math.sin(a), dx],
                     [scale * math.sin(a), scale * math.cos(a), dy], [0, 0, 1]], dtype=np.float64)


def warped_clip(transform, name: str = "chelsea.jpg") -> np.ndarray:
    """Frames of a photo (larger than the frame, so moves reveal photo, not border) warped by
    transform(t) for t in 0..1: the matrix maps the first frame's content to frame t's."""
    big = photo(name, (WIDTH * 2, HEIGHT * 2))
    to_frame = about_centre(np.diag([0.75, 0.75, 1.0]), WIDTH * 2, HEIGHT * 2)
    to_frame = np.array([[1, 0, -WIDTH / 2], [0, 1, -HEIGHT / 2], [0, 0, 1]]) @ to_frame
    frames = [cv2.warpPerspective(big, transform(t) @ to_frame, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REFLECT) for t in np.linspace(0, 1, COUNT)]
    return np.stack(frames)


def two_planes(background_dx: float, subject_dx: float) -> np.ndarray:
    """A subject (an ellipse of another photo) before a background, each sliding sideways by its own
    amount over the clip: an orbit when the subject holds and the background slides, a tracking pan
    (parallax) when both go the same way, the subject further."""
    back = photo("rocket.jpg", (WIDTH * 2, HEIGHT))
    front = photo("coffee.jpg", (WIDTH, HEIGHT))
    mask = np.zeros((HEIGHT, WIDTH), np.float32)
    cv2.ellipse(mask, (WIDTH // 2, HEIGHT // 2), (WIDTH // 3, HEIGHT // 4), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 1.5)[..., None]
    frames = []
    for t in np.linspace(0, 1, COUNT):
        eased = 3 * t * t - 2 * t ** 3
        bg = cv2.warpAffine(back, np.float64([[1, 0, -WIDTH / 2 + background_dx * eased], [0, 1, 0]]), (WIDTH, HEIGHT),
                            borderMode=cv2.BORDER_REFLECT).astype(np.float32)
        move = np.float64([[1, 0, subject_dx * eased], [0, 1, 0]])
        fg = cv2.warpAffine(front, move, (WIDTH, HEIGHT), borderMode=cv2.BORDER_REFLECT).astype(np.float32)
        alpha = cv2.warpAffine(mask, move, (WIDTH, HEIGHT))[..., None]
        frames.append((fg * alpha + bg * (1 - alpha) + 0.5).astype(np.uint8))
    return np.stack(frames)


def swaying() -> np.ndarray:
    """A still camera; a band across the middle sways back and forth (wind in foliage)."""
    base = photo("chelsea.jpg", (WIDTH, HEIGHT))
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    weight = np.exp(-(((ys - HEIGHT * 0.5) / (HEIGHT * 0.15)) ** 2))
    frames = []
    for t in np.linspace(0, 1, COUNT):
        shift = 4.0 * math.sin(2 * math.pi * 2 * t) * weight
        frames.append(cv2.remap(base, xs + shift, ys + 0.5 * shift, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
    return np.stack(frames)


SYNTHETIC_MAKERS = {
    # Content grows: the camera zooms (or dollies) in.
    "zoom-in": lambda: warped_clip(lambda t: about_centre(similarity(scale=1 + 0.15 * t))),
    "zoom-out": lambda: warped_clip(lambda t: about_centre(similarity(scale=1 / (1 + 0.15 * t)))),
    # The camera turns left: the content moves right.
    "pan-left": lambda: warped_clip(lambda t: similarity(dx=0.12 * WIDTH * t)),
    "pan-right": lambda: warped_clip(lambda t: similarity(dx=-0.12 * WIDTH * t)),
    # The camera tilts up: the content moves down.
    "tilt-up": lambda: warped_clip(lambda t: similarity(dy=0.08 * HEIGHT * t)),
    "tilt-down": lambda: warped_clip(lambda t: similarity(dy=-0.08 * HEIGHT * t)),
    "roll": lambda: warped_clip(lambda t: about_centre(similarity(degrees=6 * t))),
    "static": lambda: warped_clip(lambda t: np.eye(3)),
    "orbit": lambda: two_planes(background_dx=-0.15 * WIDTH, subject_dx=0.0),
    "local": swaying,
}


class _Clips(dict):
    """Each synthetic clip made once per test session (read-only: tests never write to them)."""

    def __missing__(self, move: str):
        return functools.partial(self._made, move)

    @staticmethod
    @functools.cache
    def _made(move: str) -> np.ndarray:
        clip = SYNTHETIC_MAKERS[move]()
        clip.flags.writeable = False
        return clip


SYNTHETIC = _Clips()


@pytest.mark.parametrize("move", sorted(SYNTHETIC_MAKERS))
def test_synthetic_clips_classify_as_the_move_that_made_them(move: str) -> None:
    found = estimate_clip(SYNTHETIC[move]())
    assert found.move == move, found
    match = adherence(found, move)
    assert match.matched and match.rating >= 0.7, match


def test_a_perspective_push_in_is_still_a_zoom_in() -> None:
    """A homography (a little keystone while pushing in) does not hide the zoom."""

    def keystone(t: float) -> np.ndarray:
        h = similarity(scale=1 + 0.12 * t)
        h[2, 1] = 0.0002 * t  # the bottom edge 3 % narrower than the top by the end
        return about_centre(h)

    assert estimate_clip(warped_clip(keystone)).move == "zoom-in"


def test_parallax_in_the_same_direction_is_a_pan_not_an_orbit() -> None:
    """Both planes slide right, the nearer subject further: a tracking shot, the camera going left."""
    found = estimate_clip(two_planes(background_dx=0.08 * WIDTH, subject_dx=0.16 * WIDTH))
    assert found.move == "pan-left", found
    assert found.orbit < STATIC


def test_opposite_directions_read_apart() -> None:
    left = estimate_clip(SYNTHETIC["pan-left"]())
    right = estimate_clip(SYNTHETIC["pan-right"]())
    assert left.pan > 0 > right.pan  # content right for pan-left, left for pan-right
    zoom_in, zoom_out = estimate_clip(SYNTHETIC["zoom-in"]()), estimate_clip(SYNTHETIC["zoom-out"]())
    assert zoom_in.zoom > 0 > zoom_out.zoom


def test_an_out_and_back_loop_still_reads_as_its_move() -> None:
    """A push-in played as a loop returns to the photo: first and last frames agree, the move does not."""
    clip = warped_clip(lambda t: about_centre(similarity(scale=1 + 0.15 * math.sin(math.pi * t))))
    assert estimate_clip(clip).move == "zoom-in"


@pytest.mark.parametrize(("made", "asked"), [("pan-right", "orbit"), ("pan-left", "pan-right"),
                                             ("zoom-in", "zoom-out"), ("static", "orbit"), ("zoom-in", "static"),
                                             ("orbit", "zoom-in"), ("static", "local"), ("tilt-up", "pan-left")])
def test_a_clip_scored_against_the_wrong_move_scores_low(made: str, asked: str) -> None:
    found = estimate_clip(SYNTHETIC[made]())
    match = adherence(found, asked)
    right = adherence(found, made)
    assert not match.matched
    assert match.rating < 0.35, match
    assert right.rating - match.rating > 0.4
    assert match.reason.startswith(f"asked {asked}") or "asked" in match.reason, match.reason


def test_the_reason_says_what_was_asked_and_what_the_clip_does() -> None:
    match = adherence(estimate_clip(SYNTHETIC["zoom-in"]()), "orbit")
    assert match.reason.startswith("asked orbit, clip zooms in ("), match.reason


def test_a_still_camera_with_motion_in_the_scene_satisfies_a_static_preset() -> None:
    match = adherence(estimate_clip(swaying()), "static")
    assert match.matched and match.rating >= 0.8


def test_the_preview_warning_speaks_only_when_the_move_is_clearly_another() -> None:
    pan = estimate_clip(SYNTHETIC["pan-right"]())
    assert warning(pan, "orbit").startswith("not orbiting")
    assert warning(pan, "pan-left").startswith("moving the wrong way")
    assert warning(pan, "pan-right") is None
    assert warning(pan, None) is None
    assert warning(estimate_clip(SYNTHETIC["static"]()), "orbit") is None  # "almost static" says that


def test_only_a_handful_of_frames_are_read() -> None:
    assert sample_indices(72) == [0, 9, 18, 27, 36, 44, 53, 62, 71]
    assert sample_indices(3) == [0, 1, 2]
    assert sample_indices(1) == [0]


def test_a_flat_or_single_frame_clip_is_static() -> None:
    flat = np.full((COUNT, HEIGHT, WIDTH, 3), 128, np.uint8)
    assert estimate_clip(flat).move == "static"
    assert estimate_clip(flat[:1]).move == "static"
    assert estimate([flat[0, ..., 0]]).move == "static"


def test_bad_input_is_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match=r"frames must be a \(T, H, W, 3\) uint8 array"):
        estimate_clip(np.zeros((4, 32, 32), np.uint8))
    with pytest.raises(ValueError, match="'dolly' is not a camera move"):
        check_move("dolly", "asked move")
    with pytest.raises(ValueError, match="asked move: 'spin'"):
        adherence(estimate_clip(SYNTHETIC["static"]()), "spin")
    assert set(SYNTHETIC_MAKERS) == set(MOVES)


def test_a_small_move_in_a_preview_raises_no_warning() -> None:
    """Twice STATIC at least: a noisy preview can fake a move just past STATIC."""
    gentle = estimate_clip(warped_clip(lambda t: similarity(dx=-0.02 * WIDTH * t)))
    assert gentle.move == "pan-right" and gentle.amounts()["pan-right"] < 2 * STATIC
    assert warning(gentle, "pan-left") is None and warning(gentle, "orbit") is None
