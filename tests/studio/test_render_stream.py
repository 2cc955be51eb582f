"""A render writes its MP4 while the engine works: whole files at the end, nothing on a cancel."""

from __future__ import annotations

from pathlib import Path

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


def test_a_cancelled_render_leaves_no_file_at_all(tmp_path: Path) -> None:
    cancel, events = CancelToken(), []

    def on_event(event) -> None:
        events.append(event)
        if isinstance(event, StepProgress) and event.step == 5:
            cancel.cancel()

    assert render_to_files(ENGINE, request(), tmp_path, on_event, cancel) == []
    assert isinstance(events[-1], Cancelled)
    assert list(tmp_path.iterdir()) == []  # not even the hidden part the encoder was writing


def test_an_encoder_that_fails_mid_render_fails_the_job_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import i2v_desktop.export.stream as stream

    def broken(command, frames, path):
        for index, _ in enumerate(frames):
            if index == 2:
                raise ExportError(f"{path}: no space left on device")

    monkeypatch.setattr(stream, "run_ffmpeg", broken)
    events: list = []
    assert render_to_files(ENGINE, request(), tmp_path, events.append, CancelToken()) == []
    failed = [e for e in events if isinstance(e, Failed)]
    assert [f.reason for f in failed] == [f"{tmp_path / 'coffee.mp4'}: no space left on device"]
    assert list(tmp_path.iterdir()) == []
