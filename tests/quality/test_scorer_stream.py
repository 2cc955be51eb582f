"""The scorecard of a clip fed a frame at a time (as it renders) is the scorecard of the clip."""

from __future__ import annotations

import numpy as np
import pytest

from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.core.resources import resource_path
from i2v_desktop.engine.instant import InstantEngine
from i2v_desktop.quality.scorecard import ClipScorer, score_clip
from i2v_desktop.studio.render import photo_reference

SAMPLES = resource_path("samples")


@pytest.fixture(scope="module")
def rendered():
    request = GenerationRequest(image=str(SAMPLES / "astronaut.jpg"), preset="orbit", duration=1.0, fps=12,
                                quality="draft", aspect="9:16", loop=True, seed=4)
    clip = InstantEngine().generate(request, lambda event: None, CancelToken())
    return clip, photo_reference(request, clip.size)


@pytest.mark.parametrize("reference_first", [True, False])
def test_frame_by_frame_gives_the_same_scorecard(rendered, reference_first: bool) -> None:
    clip, (source, mask) = rendered
    whole = score_clip(clip.frames, clip.fps, source, mask, loop=True)
    scorer = ClipScorer(clip.size[0], clip.size[1], clip.num_frames, clip.fps)
    if reference_first:
        scorer.set_reference(source, mask)
    for frame in clip.frames:
        scorer.add(frame)
    if not reference_first:
        scorer.set_reference(source, mask)
    assert scorer.scorecard(loop=True) == whole
    assert whole.loop_seam is not None


def test_without_a_photo_the_first_frame_is_the_reference(rendered) -> None:
    clip, _ = rendered
    scorer = ClipScorer(clip.size[0], clip.size[1], clip.num_frames, clip.fps)
    for frame in clip.frames:
        scorer.add(frame)
    assert scorer.scorecard() == score_clip(clip.frames, clip.fps)


def test_a_clip_fed_wrongly_is_refused_in_one_line(rendered) -> None:
    clip, _ = rendered
    width, height = clip.size
    scorer = ClipScorer(width, height, 2, clip.fps)
    with pytest.raises(ValueError, match=f"frame 0 must be a {width}x{height} RGB uint8 array"):
        scorer.add(np.zeros((height, width + 2, 3), np.uint8))
    scorer.add(clip.frames[0])
    with pytest.raises(ValueError, match="the clip has 2 frames, 1 were added"):
        scorer.scorecard()
    scorer.add(clip.frames[1])
    with pytest.raises(ValueError, match="frame 2 is one too many"):
        scorer.add(clip.frames[2])
    with pytest.raises(ValueError, match="fps must be a positive number"):
        ClipScorer(width, height, 2, 0)
    with pytest.raises(ValueError, match="at least 16 pixels"):
        ClipScorer(8, 100, 3, 12)


@pytest.mark.parametrize(("sample", "preset"), [("astronaut.jpg", "orbit"), ("chelsea.jpg", "push-in"),
                                                ("coffee.jpg", "wind")])
def test_comparing_every_second_frame_at_24_fps_scores_as_comparing_every_frame(monkeypatch, sample: str,
                                                                                 preset: str) -> None:
    """At 24 fps the photo comparison looks at every second frame (FOLLOW_FPS): the subject and
    colour scores it gives are those of comparing every frame, to within what a viewer could tell."""
    from i2v_desktop.quality import scorecard

    request = GenerationRequest(image=str(SAMPLES / sample), preset=preset, duration=2.0, fps=24,
                                quality="draft", aspect="9:16", seed=2)
    clip = InstantEngine().generate(request, lambda event: None, CancelToken())
    source, mask = photo_reference(request, clip.size)
    halved = score_clip(clip.frames, clip.fps, source, mask)
    monkeypatch.setattr(scorecard, "FOLLOW_FPS", clip.fps)
    every = score_clip(clip.frames, clip.fps, source, mask)
    assert abs(halved.subject.value - every.subject.value) <= 0.02, (halved.subject, every.subject)
    assert abs(halved.colour_drift.value - every.colour_drift.value) <= 0.25, (halved.colour_drift, every.colour_drift)
    assert (halved.motion, halved.flicker) == (every.motion, every.flicker)
