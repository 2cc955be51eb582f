"""The instant engine on keyframed framings: the first and last frames are the start and end crops,
the move through a middle framing has no jolt, a loop returns to the start, and only the instant
engine takes keyframes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.errors import RequestError
from i2v_desktop.core.image import load_image
from i2v_desktop.core.keyframes import Framing
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.engine.instant import KEYFRAMES_NOTE, InstantEngine
from i2v_desktop.engine.plan import check_request
from i2v_desktop.engine.registry import load_registry

A, M, B = Framing(0.5, 0.5, 1.0), Framing(0.35, 0.45, 0.6), Framing(0.62, 0.4, 0.4)


def render(samples, keys, loop=False, duration=2.0):
    request = GenerationRequest(image=str(samples / "coffee.jpg"), model="instant", preset="push-in", aspect="1:1",
                                duration=duration, fps=24.0, quality="draft", keyframes=keys, loop=loop)
    return InstantEngine().generate(request, lambda event: None, CancelToken())


def crop(samples, framing: Framing, size: tuple[int, int]) -> np.ndarray:
    """The photo's crop for `framing` at `size`, made independently of the engine."""
    photo = load_image(str(samples / "coffee.jpg")).rgb
    sh, sw = photo.shape[:2]
    width, height = size
    full = min(sw, sh * width / height)
    w = framing.width * full
    h = w * height / width
    x = min(max(framing.x * sw - w / 2, 0), sw - w)
    y = min(max(framing.y * sh - h / 2, 0), sh - h)
    return cv2.resize(photo[round(y):round(y + h), round(x):round(x + w)], size, interpolation=cv2.INTER_AREA)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    ga = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float64).ravel()
    gb = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY).astype(np.float64).ravel()
    return float(np.corrcoef(ga, gb)[0, 1])


def measured_path(frames: np.ndarray) -> np.ndarray:
    """Per frame pair, the camera's measured (log scale, dx, dy): tracked corners, one similarity fit."""
    steps = []
    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    for a, b in zip(grey, grey[1:]):
        points = cv2.goodFeaturesToTrack(a, 400, 0.01, 8)
        moved, ok, _ = cv2.calcOpticalFlowPyrLK(a, b, points, None)
        model, _ = cv2.estimateAffinePartial2D(points[ok[:, 0] == 1], moved[ok[:, 0] == 1])
        steps.append([np.log(np.hypot(model[0, 0], model[1, 0])), model[0, 2], model[1, 2]])
    return np.array(steps)


def test_the_first_and_last_frames_are_the_start_and_end_crops(samples):
    clip = render(samples, (A, B))
    size = (clip.frames.shape[2], clip.frames.shape[1])
    assert correlation(clip.frames[0], crop(samples, A, size)) > 0.97
    assert correlation(clip.frames[-1], crop(samples, B, size)) > 0.97
    assert correlation(clip.frames[-1], crop(samples, A, size)) < 0.8  # the move went somewhere
    assert KEYFRAMES_NOTE in clip.info.notes


def test_the_move_through_a_middle_framing_has_no_jolt(samples):
    clip = render(samples, (A, M, B), duration=3.0)
    size = (clip.frames.shape[2], clip.frames.shape[1])
    middle = len(clip.frames) // 2
    assert max(correlation(f, crop(samples, M, size)) for f in clip.frames[middle - 2:middle + 3]) > 0.97
    velocity = measured_path(clip.frames)
    change = np.abs(np.diff(velocity, axis=0))  # how much the motion changes from one frame to the next
    scale = np.abs(velocity).max(axis=0)
    assert (change.max(axis=0) < 0.2 * scale).all()  # no frame where the move jumps to another speed


def test_a_keyframed_loop_passes_the_end_and_comes_back_to_the_start(samples):
    clip = render(samples, (A, B), loop=True)
    size = (clip.frames.shape[2], clip.frames.shape[1])
    half = len(clip.frames) // 2
    assert correlation(clip.frames[half], crop(samples, B, size)) > 0.97
    assert correlation(clip.frames[-1], clip.frames[0]) > 0.97  # the frame after the last is the first


@pytest.mark.parametrize("model, why", [
    ("wan2.2-ti2v-5b", "cannot follow keyframed framings (the instant engine's): choose the instant engine"),
    ("ltx-video-2b-distilled", "cannot follow keyframed framings (the instant engine's): end on a chosen frame instead"),
])
def test_models_other_than_the_instant_engine_refuse_keyframes_in_one_line(model, why):
    request = GenerationRequest(image="p.jpg", model=model, keyframes=(A, B))
    with pytest.raises(RequestError, match=why.replace("(", r"\(").replace(")", r"\)")):
        check_request(load_registry().get(model), request)


def test_the_cli_takes_keyframes_records_them_and_refuses_bad_ones_in_one_line(samples, tmp_path, capsys):
    from i2v_desktop.cli import main
    from i2v_desktop.studio.records import read_record

    code = main(["render", str(samples / "coffee.jpg"), "--model", "instant", "--keyframes", "0.5,0.5,1;0.62,0.4,0.4",
                 "--duration", "1", "--aspect", "1:1", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 0, err
    [clip] = tmp_path.glob("*.mp4")
    assert read_record(clip).request().keyframes == (A, B)
    for bad in ("0.5,0.5;0.6,0.4,0.4", "0.5,0.5,1", "0.5,0.5,1;2,0.4,0.4"):
        with pytest.raises(SystemExit) as exit:
            main(["render", str(samples / "coffee.jpg"), "--keyframes", bad, "--out", str(tmp_path)])
        err = capsys.readouterr().err.strip()
        assert exit.value.code == 2 and "--keyframes" in err and len(err.splitlines()) == 1
