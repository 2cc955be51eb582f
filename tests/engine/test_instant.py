"""The instant engine: real motion in the asked direction, a preserved subject, seamless loops,
clean borders, determinism and the same events as the diffusion engine.

Motion is measured, not assumed: dense optical flow (Farnebäck) between frames, at reduced size.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.events import Cancelled, Finished, Stage, StageChanged, StepProgress
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.engine.camera import FrameMotion, layer_transforms, motion_path, take_for
from i2v_desktop.engine.instant import InstantEngine

ENGINE = InstantEngine()
ALL_PRESETS = ("orbit", "push-in", "pull-out", "pan-left", "pan-right", "tilt-up", "wind", "turntable", "subtle", "static")


def request(image: Path | str, preset: str, **over) -> GenerationRequest:
    fields = dict(image=str(image), preset=preset, duration=1.0, fps=12, quality="draft", intensity=1.0, seed=3)
    return GenerationRequest(**{**fields, **over})


def render(req: GenerationRequest, cancel: CancelToken | None = None, on_event=None):
    events = []

    def sink(event):
        events.append(event)
        if on_event:
            on_event(event, cancel)

    cancel = cancel or CancelToken()
    clip = ENGINE.run(req, sink, cancel)
    return clip, events


def gray(frame: np.ndarray, width: int = 320) -> np.ndarray:
    h, w = frame.shape[:2]
    return cv2.resize(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), (width, round(width * h / w)), interpolation=cv2.INTER_AREA)


def flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return cv2.calcOpticalFlowFarneback(gray(a), gray(b), None, 0.5, 3, 21, 3, 5, 1.1, 0)


def accumulated(frames: np.ndarray, measure) -> float:
    """A flow measure summed over consecutive frame pairs: each pair's motion is small, where
    dense flow is reliable (one jump from the first to the last frame can be too far)."""
    return float(sum(measure(flow(a, b)) for a, b in zip(frames[:-1], frames[1:])))


def radial(field: np.ndarray) -> float:
    """Mean outward component of a flow field about the frame centre: > 0 expands, < 0 contracts."""
    h, w = field.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rx, ry = xx - w / 2, yy - h / 2
    norm = np.sqrt(rx**2 + ry**2) + 1e-6
    return float(np.mean((field[..., 0] * rx + field[..., 1] * ry) / norm))


@pytest.fixture(scope="module")
def cutout(tmp_path_factory) -> Path:
    """A product shot with a transparent background: a glossy bottle-like shape, soft edges."""
    h, w = 600, 450
    rgba = np.zeros((h, w, 4), np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    body = ((xx - 225) / 110.0) ** 2 + ((yy - 330) / 200.0) ** 2 < 1
    neck = (abs(xx - 225) < 35) & (yy > 90) & (yy < 200)
    shape = (body | neck).astype(np.uint8) * 255
    shade = (120 + 100 * np.cos((xx - 225) / 110.0)).clip(0, 255).astype(np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2] = shade // 3, shade, shade // 2
    rgba[..., 3] = cv2.GaussianBlur(shape, (0, 0), 1.5)
    path = tmp_path_factory.mktemp("cutout") / "bottle.png"
    Image.fromarray(rgba, "RGBA").save(path)
    return path


# -- motion is real and in the asked direction ---------------------------------------------------


def test_push_in_expands_and_pull_out_contracts(samples):
    push, _ = render(request(samples / "coffee.jpg", "push-in"))
    pull, _ = render(request(samples / "coffee.jpg", "pull-out"))
    assert accumulated(push.frames, radial) > 1.0
    assert accumulated(pull.frames, radial) < -1.0


@pytest.mark.parametrize("preset, axis, sign", [("pan-left", 0, 1), ("pan-right", 0, -1), ("tilt-up", 1, 1)])
def test_pans_move_the_scene_their_way(samples, preset, axis, sign):
    clip, _ = render(request(samples / "rocket.jpg", preset))
    mean = accumulated(clip.frames, lambda field: field[..., axis].mean())
    assert sign * mean > 2.0, mean


def test_parallax_the_nearer_subject_moves_more_than_the_background():
    size, center = (1000, 1000), (500.0, 500.0)

    def moved(layer, point):
        p = layer @ np.array([point[0], point[1], 1.0])
        return p[:2] / p[2]

    dolly = layer_transforms(FrameMotion(zoom=0.2), size, center)
    assert dolly.subject[0, 0] > dolly.background[0, 0] > 1.0  # the subject grows faster
    track = layer_transforms(FrameMotion(pan_x=-0.1), size, center)
    subject_dx = moved(track.subject, center)[0] - center[0]
    background_dx = moved(track.background, center)[0] - center[0]
    assert subject_dx < background_dx < 0  # both leftward, the subject further
    low = moved(track.background, (500, 900))[0] - 500
    high = moved(track.background, (500, 100))[0] - 500
    assert low < high < 0  # the nearer, lower background more than its top
    orbit = layer_transforms(FrameMotion(orbit=10), size, center)
    assert moved(orbit.background, center)[0] < center[0]  # the background slides the other way
    assert orbit.subject[2, 0] != 0  # the subject turns in perspective


def test_wind_moves_soft_regions_three_times_more_than_the_subjects_core(samples):
    """The astronaut's hair and the flag sway; her face and suit hold still."""
    # The whole photo in view (source aspect), so the matte maps onto the frames by an offset alone.
    clip, _ = render(request(samples / "astronaut.jpg", "wind", duration=2.0, aspect="source"))
    plan, scene = ENGINE.prepare(request(samples / "astronaut.jpg", "wind", duration=2.0, aspect="source"))
    h, w = gray(clip.frames[0]).shape
    softness = cv2.resize(scene.wind.softness, (w, h))
    matte = cv2.resize(scene.matte, scene.canvas.shape[1::-1])
    ox, oy = scene.rest_to_canvas[:2, 2].astype(int)
    view = matte[oy:oy + clip.size[1], ox:ox + clip.size[0]]
    core = cv2.erode((cv2.resize(view, (w, h)) > 0.5).astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    soft = softness > np.percentile(softness, 80)
    assert core.sum() > 100 and soft.sum() > 100
    motion = np.zeros((h, w), np.float32)
    for a, b in zip(clip.frames[:-1], clip.frames[1:]):
        motion += np.linalg.norm(flow(a, b), axis=-1)
    assert motion[soft].mean() >= 3 * motion[core].mean(), (motion[soft].mean(), motion[core].mean())
    assert motion[soft].mean() > 0.05 * len(clip.frames)  # it really moves


# -- the subject stays itself ----------------------------------------------------------------


def ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    a, b = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    blur = lambda x: cv2.GaussianBlur(x, (11, 11), 1.5)  # noqa: E731
    ma, mb = blur(a), blur(b)
    va, vb, cov = blur(a * a) - ma**2, blur(b * b) - mb**2, blur(a * b) - ma * mb
    index = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
    return float(index[mask].mean())


@pytest.mark.parametrize("preset", ["push-in", "pan-right", "orbit", "turntable"])
def test_subject_warped_back_matches_the_photo(cutout, preset):
    req = request(cutout, preset, aspect="1:1", quality="draft")
    clip, _ = render(req)
    _, scene = ENGINE.prepare(req)
    width, height = clip.size
    rest = scene.subject_transform(0)
    ox, oy = scene.rest_to_canvas[:2, 2].astype(int)
    matte = scene.matte[oy:oy + height, ox:ox + width]
    core = cv2.erode((matte > 0.5).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    reference = cv2.cvtColor(scene.canvas[oy:oy + height, ox:ox + width], cv2.COLOR_RGB2GRAY)
    worst = 1.0
    for index in range(0, clip.num_frames, 3):
        # Output of frame `index` → rest view: undo this frame's subject move, redo the rest pose.
        back = rest @ np.linalg.inv(scene.subject_transform(index))
        frame = cv2.cvtColor(clip.frames[index], cv2.COLOR_RGB2GRAY)
        warped = cv2.warpPerspective(frame, back, (width, height), flags=cv2.INTER_LINEAR)
        # Only where this frame still shows the subject (a dolly can push parts out of frame).
        seen = cv2.warpPerspective(np.ones_like(frame), back, (width, height), flags=cv2.INTER_NEAREST) > 0
        seen = cv2.erode(seen.astype(np.uint8), np.ones((11, 11), np.uint8)) > 0
        worst = min(worst, ssim(warped, reference, core & seen))
    assert worst >= 0.97, worst


# -- loops, borders, determinism -----------------------------------------------------------------


@pytest.mark.parametrize("preset", ALL_PRESETS)
def test_every_preset_loops_seamlessly_with_clean_borders(samples, preset):
    clip, _ = render(request(samples / "astronaut.jpg", preset, loop=True, aspect="9:16"))
    frames = clip.frames.astype(np.int16)
    steps = [np.abs(b - a).mean() for a, b in zip(frames[:-1], frames[1:])]
    seam = np.abs(frames[0] - frames[-1]).mean()
    assert seam <= 1.5 * np.median(steps) + 0.05, (seam, np.median(steps))
    for frame in clip.frames:
        for edge in (frame[:3], frame[-3:], frame[:, :3].transpose(1, 0, 2), frame[:, -3:].transpose(1, 0, 2)):
            assert edge.max() > 16, "black border"
            assert np.abs(edge[0].astype(int) - edge[1]).max() > 0 or np.abs(edge[1].astype(int) - edge[2]).max() > 0, (
                "repeated edge pixels"
            )


@pytest.mark.parametrize("aspect, size", [("9:16", (720, 1280)), ("1:1", (960, 960)), ("16:9", (1280, 720))])
def test_output_is_exactly_the_asked_aspect_and_size(samples, aspect, size):
    clip, _ = render(request(samples / "coffee.jpg", "orbit", aspect=aspect, duration=0.5))
    assert clip.size == size and clip.frames.shape == (6, size[1], size[0], 3)


# What the presets say about seeds: a take of its own for each, or one clip for every seed.
SEEDED = [p for p in ALL_PRESETS if not ENGINE.presets.get(p).one_clip_reason("instant")]
ONE_CLIP = [p for p in ALL_PRESETS if p not in SEEDED]


def test_only_the_still_camera_is_the_same_for_every_seed():
    assert ONE_CLIP == ["static"]


@pytest.mark.parametrize("preset", SEEDED)
def test_each_seed_is_a_take_of_its_own_and_the_same_seed_the_same_clip(samples, preset):
    first, _ = render(request(samples / "coffee.jpg", preset, duration=0.5))
    again, _ = render(request(samples / "coffee.jpg", preset, duration=0.5))
    other, _ = render(request(samples / "coffee.jpg", preset, duration=0.5, seed=4))
    np.testing.assert_array_equal(first.frames, again.frames)
    difference = np.abs(first.frames.astype(np.int16) - other.frames).mean()
    assert difference > 1.0, difference  # a creator sees the difference, not noise


@pytest.mark.parametrize("preset", ONE_CLIP)
def test_a_deterministic_preset_gives_the_same_clip_for_every_seed(samples, preset):
    first, _ = render(request(samples / "coffee.jpg", preset, duration=0.5))
    other, _ = render(request(samples / "coffee.jpg", preset, duration=0.5, seed=4))
    np.testing.assert_array_equal(first.frames, other.frames)


@pytest.mark.parametrize("preset", ["push-in", "pull-out", "pan-left", "pan-right", "tilt-up", "orbit", "turntable"])
def test_every_take_stays_inside_what_its_preset_means(preset):
    """Forty seeds: a push in still pushes in from the photo, a pan still goes its way and no
    further than a little past the intensity's extent, an orbit and a turn still cover their arc."""
    controls = ENGINE.presets.get(preset).for_family("instant").controls_for(1.0)
    plain = motion_path(controls, 48, loop=False)
    for seed in range(40):
        path = motion_path(controls, 48, loop=False, take=take_for(seed))
        assert path[0].zoom == path[0].pan_x == path[0].pan_y == 0  # it starts from the photo
        for name in ("zoom", "pan_x", "pan_y"):
            values = np.array([getattr(m, name) for m in path])
            full = getattr(plain[-1], name)
            if full and not (name != "zoom" and controls.get("zoom")):  # a dolly's drift aside
                assert np.all(np.sign(np.diff(values)) * np.sign(full) >= 0), (seed, name)  # one way only
                assert 0.85 * abs(full) - 1e-9 <= abs(values[-1]) <= 1.15 * abs(full) + 1e-9, (seed, name)
        if controls.get("zoom"):
            drift = np.hypot(path[-1].pan_x, path[-1].pan_y)
            assert 0 < drift <= 0.0201, seed  # a little, never a pan
        for name in ("orbit", "spin"):
            if controls.get(name):
                values = [getattr(m, name) for m in path]
                assert max(values) - min(values) >= 0.84 * controls[name], seed  # 0.85 of it, sampled


def test_takes_differ_in_what_a_creator_picks_between():
    takes = [take_for(seed) for seed in range(1, 9)]
    assert len({t.direction for t in takes}) == 2 and len({t.swing for t in takes}) == 2
    for field in ("extent", "early", "late", "lead", "depth", "light", "breath", "drift"):
        assert len({getattr(t, field) for t in takes}) == 8, field
    assert take_for(5) == take_for(5)


def test_motion_is_sub_pixel_smooth(samples):
    """No frame-to-frame jitter from integer rounding: the per-frame motion changes smoothly."""
    clip, _ = render(request(samples / "coffee.jpg", "pan-right", duration=2.0, fps=24))
    shifts = [flow(a, b)[..., 0].mean() for a, b in zip(clip.frames[:-1], clip.frames[1:])]
    jerk = np.abs(np.diff(shifts, n=2))
    assert jerk.max() < 0.25 * max(abs(s) for s in shifts), (jerk.max(), shifts)


def test_every_sample_and_a_cutout_render(samples, cutout):
    for photo in [*sorted(samples.glob("*.jpg")), cutout]:
        clip, events = render(request(photo, "orbit", duration=0.5))
        assert clip is not None, (photo, events[-1])


# -- same events and cancel as the diffusion engine ----------------------------------------------


def test_events_steps_are_frames_and_previews_are_the_clip_so_far(samples):
    clip, events = render(request(samples / "coffee.jpg", "push-in", duration=1.0, fps=12))
    stages = [e.stage for e in events if isinstance(e, StageChanged)]
    assert stages == [Stage.LOADING, Stage.RENDERING]
    steps = [e for e in events if isinstance(e, StepProgress)]
    assert [s.step for s in steps] == list(range(1, 13)) and all(s.total == 12 for s in steps)
    previews = [s for s in steps if s.preview is not None]
    assert previews and previews[-1].step == 12
    for s in previews:
        assert s.preview.frames.shape[0] == s.step and s.preview.frames.shape[2] == 320
    assert isinstance(events[-1], Finished) and events[-1].clip is clip
    assert clip.info.engine == "instant" and clip.info.num_frames == 12 and clip.fps == 12


def test_previews_keep_showing_what_they_showed(samples):
    """A preview is a view of the frames so far, not a copy: later frames never change it."""
    events = []
    clip = ENGINE.run(request(samples / "coffee.jpg", "orbit", duration=1.0, fps=12), events.append, CancelToken())
    previews = [(e.preview, e.preview.frames.copy()) for e in events
                if isinstance(e, StepProgress) and e.preview is not None]
    assert len(previews) >= 1 and clip is not None
    for preview, seen in previews:
        assert not preview.frames.flags.writeable
        assert np.array_equal(preview.frames, seen)
        small = cv2.resize(clip.frames[len(seen) - 1], seen.shape[2:0:-1], interpolation=cv2.INTER_LINEAR)
        assert np.array_equal(seen[-1], small)


class RecordingSink:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def begin(self, width, height, fps, count):
        self.calls.append(("begin", width, height, fps, count))

    def frame(self, index, frame):
        assert not any(c[0] == "frame" and c[1] == index for c in self.calls)
        self.calls.append(("frame", index, frame.copy()))


def test_frames_reach_the_sink_one_by_one_as_they_are_made(samples):
    sink, steps_seen = RecordingSink(), []

    def on_event(event):
        if isinstance(event, StepProgress):  # the frame went out before its step was reported
            steps_seen.append(sum(1 for c in sink.calls if c[0] == "frame"))

    clip = ENGINE.run(request(samples / "coffee.jpg", "push-in", duration=1.0, fps=12), on_event, CancelToken(),
                      sink=sink)
    assert sink.calls[0] == ("begin", clip.size[0], clip.size[1], 12, 12)
    frames = [c for c in sink.calls[1:]]
    assert [c[1] for c in frames] == list(range(12))
    assert all(np.array_equal(c[2], clip.frames[c[1]]) for c in frames)
    assert steps_seen == list(range(1, 13))
    # The same frames as a render without a sink.
    plain, _ = render(request(samples / "coffee.jpg", "push-in", duration=1.0, fps=12))
    assert np.array_equal(plain.frames, clip.frames)


def test_an_engine_that_makes_all_frames_at_once_hands_them_over_at_the_end(samples):
    from i2v_desktop.engine.base import Engine

    class AllAtOnce(Engine):
        presets = ENGINE.presets

        def generate(self, request, on_event, cancel):
            return ENGINE.generate(request, on_event, cancel)

    sink = RecordingSink()
    clip = AllAtOnce().run(request(samples / "coffee.jpg", "orbit", duration=0.5, fps=12), lambda e: None,
                           CancelToken(), sink=sink)
    assert sink.calls[0] == ("begin", clip.size[0], clip.size[1], 12, 6)
    assert [c[1] for c in sink.calls[1:]] == list(range(6))
    assert all(np.array_equal(c[2], clip.frames[c[1]]) for c in sink.calls[1:])


def test_cancel_stops_within_a_frame(samples):
    def cancel_at_third(event, cancel):
        if isinstance(event, StepProgress) and event.step == 3:
            cancel.cancel()

    clip, events = render(request(samples / "coffee.jpg", "orbit", duration=2.0), on_event=cancel_at_third)
    assert clip is None and isinstance(events[-1], Cancelled)
    assert max(e.step for e in events if isinstance(e, StepProgress)) == 3
    again, _ = render(request(samples / "coffee.jpg", "orbit", duration=0.5))
    assert again is not None


def test_orbit_highlight_sweeps_across_the_subject(cutout):
    """A glossy product under an orbiting camera: a band of light travels across it."""
    req = request(cutout, "turntable", aspect="1:1", duration=1.0, fps=24, loop=False)
    _, lit = ENGINE.prepare(req)
    _, plain = ENGINE.prepare(req)
    plain.highlight = 0.0
    width, height = lit.size
    centres = []
    for index in range(0, 7, 2):  # the first quarter of the turn: the light moves one way
        a, b = np.empty((height, width, 3), np.uint8), np.empty((height, width, 3), np.uint8)
        lit.render(index, a)
        plain.render(index, b)
        glow = (a.astype(int) - b).sum(axis=2).clip(0).sum(axis=0).astype(float)
        assert glow.sum() > 0
        centres.append(float((glow * np.arange(width)).sum() / glow.sum()))
    steps = np.diff(centres)
    assert (steps > 0).all() or (steps < 0).all(), centres
    assert abs(centres[-1] - centres[0]) > 0.1 * width
