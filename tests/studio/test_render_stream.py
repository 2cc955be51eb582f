"""A render writes its MP4 while the engine works: whole files at the end, nothing on a cancel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.errors import ExportError
from i2v_desktop.core.events import Cancelled, Failed, Finished, StepProgress
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.core.resources import resource_path
from i2v_desktop.engine.instant import InstantEngine
from i2v_desktop.export.mp4 import read_frames
from i2v_desktop.studio.records import read_record
from i2v_desktop.studio.render import render_to_files

SAMPLES = resource_path("samples")
ENGINE = InstantEngine()


def request(**over) -> GenerationRequest:
    fields = dict(image=str(SAMPLES / "coffee.jpg"), preset="push-in", duration=1.0, fps=12, quality="draft",
                  seed=3, model="instant")
    return GenerationRequest(**{**fields, **over})


def test_each_variant_is_one_whole_file_with_its_record_and_score(tmp_path: Path) -> None:
    events: list = []
    outputs = render_to_files(ENGINE, request(variants=2), tmp_path, events.append, CancelToken())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coffee_v1.json", "coffee_v1.mp4", "coffee_v2.json",
                                                           "coffee_v2.mp4"]
    assert sum(isinstance(e, Finished) for e in events) == 2
    for output in outputs:
        frames, fps = read_frames(output.mp4)
        assert (len(frames), fps) == (12, 12.0)
        record = read_record(output.mp4)
        assert record.seed == output.clip.info.seed and record.score == output.score.overall


def test_a_render_whose_frames_are_not_kept_writes_the_same_clip_through_a_ring(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line and the batch keep only the files: the engine renders into a few frames
    the take lends it, never into memory for the whole clip, and the file is the same."""
    import i2v_desktop.engine.instant as instant

    longer = request(duration=2.5)  # 30 frames: each of the ring's 12 slots is lent two or three times
    for name in ("kept", "ring"):
        (tmp_path / name).mkdir()
    (kept,) = render_to_files(ENGINE, longer, tmp_path / "kept", lambda event: None, CancelToken())

    def no_clip_memory(*args):
        raise AssertionError("the whole clip's memory was claimed")

    monkeypatch.setattr(instant, "frame_buffer", no_clip_memory)
    events: list = []
    (ringed,) = render_to_files(ENGINE, longer, tmp_path / "ring", events.append, CancelToken(), keep_frames=False)
    assert ringed.clip.frames is None and (ringed.clip.size, ringed.clip.num_frames) == (kept.clip.size, 30)
    assert [type(e) for e in events if isinstance(e, Finished)] == [Finished]
    assert np.array_equal(read_frames(ringed.mp4)[0], read_frames(kept.mp4)[0])
    assert ringed.score == kept.score


@pytest.mark.parametrize("keep_frames", [True, False], ids=["clip kept", "ring"])
def test_a_cancelled_render_leaves_no_file_at_all(tmp_path: Path, keep_frames: bool) -> None:
    cancel, events = CancelToken(), []

    def on_event(event) -> None:
        events.append(event)
        if isinstance(event, StepProgress) and event.step == 15:
            cancel.cancel()

    assert render_to_files(ENGINE, request(duration=2.5), tmp_path, on_event, cancel, keep_frames=keep_frames) == []
    assert isinstance(events[-1], Cancelled)
    assert list(tmp_path.iterdir()) == []  # not even the hidden part the encoder was writing


@pytest.mark.parametrize("keep_frames", [True, False], ids=["clip kept", "ring"])
def test_an_encoder_that_fails_mid_render_fails_the_job_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    keep_frames: bool) -> None:
    import i2v_desktop.export.stream as stream

    def broken(command, frames, path):
        for index, _ in enumerate(frames):
            if index == 2:
                raise ExportError(f"{path}: no space left on device")

    monkeypatch.setattr(stream, "run_ffmpeg", broken)
    events: list = []
    # 30 frames: in a ring, the engine comes back to frames the failed encoder never read.
    assert render_to_files(ENGINE, request(duration=2.5), tmp_path, events.append, CancelToken(),
                           keep_frames=keep_frames) == []
    failed = [e for e in events if isinstance(e, Failed)]
    assert [f.reason for f in failed] == [f"{tmp_path / 'coffee.mp4'}: no space left on device"]
    assert list(tmp_path.iterdir()) == []


def test_an_engine_that_has_every_frame_at_once_borrows_nothing_and_keeps_its_frames(tmp_path: Path) -> None:
    from i2v_desktop.engine.base import Engine

    class AllAtOnce(Engine):  # as a diffusion model decodes the whole clip in one go
        presets = ENGINE.presets
        encoder_preset = "ultrafast"

        def generate(self, request, on_event, cancel):
            return ENGINE.generate(request, on_event, cancel)

    (output,) = render_to_files(AllAtOnce(), request(duration=2.5), tmp_path, lambda event: None, CancelToken(),
                                keep_frames=False)
    assert output.clip.frames is not None and len(output.clip.frames) == 30
    assert len(read_frames(output.mp4)[0]) == 30 and output.score is not None
