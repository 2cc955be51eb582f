"""Renders in their own process: the same clips and events as in this one, cancel across the
boundary, a child that dies costs one job, a loaded model stays loaded, nothing is left behind.

One child serves the whole module (a spawn start imports the app again): the crash tests restart
it, which is what they test.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from i2v_desktop.bench.tiny import save_tiny_pipeline
from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.clip import Clip, RenderInfo
from i2v_desktop.core.events import Cancelled, Finished, Preview, Stage, StageChanged, StepProgress
from i2v_desktop.core.presets import load_presets
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.core.resources import resource_path
from i2v_desktop.engine.registry import load_registry
from i2v_desktop.studio.render import Engines, render_to_files
from i2v_desktop.studio.process import (
    CRASH_VARIABLE, SHM_FOLDER, EngineSettings, PreviewFrames, RenderProcess, RenderProcessDied, decode, encode, park,
    take,
)

SAMPLES = resource_path("samples")
QUICK = dict(model="instant", duration=1.0, fps=12.0, aspect="1:1", quality="draft", variants=2, seed=7)
TINY = "tiny-wan"


def blocks_left() -> list[str]:
    """Our shared-memory blocks still on the system (Linux keeps them as files in /dev/shm)."""
    return sorted(name for name in os.listdir("/dev/shm") if name.startswith("i2v_"))


@pytest.fixture(scope="module")
def models_file(tmp_path_factory) -> Path:
    """A user models file naming a tiny Wan pipeline, as a user adds a local folder."""
    folder = save_tiny_pipeline("wan2.2-ti2v", tmp_path_factory.mktemp("models") / "tiny-wan")
    tiers = {quality: {"resolution": "tiny", "steps": 2} for quality in ("draft", "standard", "final")}
    entry = {"id": TINY, "base": "wan2.2-ti2v-5b", "name": "Tiny Wan", "path": str(folder),
             "resolutions": {"tiny": [64, 64]}, "tiers": tiers, "max_frames": 9}
    path = tmp_path_factory.mktemp("config") / "models.json"
    path.write_text(json.dumps({"models": [entry]}), encoding="utf-8")
    assert TINY in load_registry(user_file=path).entries  # the entry is valid, not skipped
    return path


@pytest.fixture(scope="module")
def worker(models_file):
    process = RenderProcess(EngineSettings(models_file=models_file, device="cpu"))
    yield process
    process.close()


def render(worker: RenderProcess, request: GenerationRequest, out_dir: Path,
           cancel: CancelToken | None = None, on_event=None):
    events, outputs = [], []

    def sink(event) -> None:
        events.append(event)
        if on_event is not None:
            on_event(event)

    worker.render(request, out_dir, sink, cancel or CancelToken(), outputs.append)
    return events, outputs


def test_an_instant_render_gives_the_same_frames_and_events_as_in_this_process(worker, tmp_path):
    request = GenerationRequest(image=str(SAMPLES / "coffee.jpg"), **QUICK)
    (tmp_path / "process").mkdir()
    (tmp_path / "here").mkdir()
    events, outputs = render(worker, request, tmp_path / "process")

    here_events, here_outputs = [], []
    engines = Engines(load_registry(), load_presets())
    render_to_files(engines.for_model("instant"), request, tmp_path / "here", here_events.append,
                    CancelToken(), on_saved=here_outputs.append, private=True)  # as the process renders for the history

    assert [type(e) for e in events] == [type(e) for e in here_events]
    assert [e.step for e in events if isinstance(e, StepProgress)] == list(range(1, 13)) * 2
    last_steps = [e for e in events if isinstance(e, StepProgress) and e.step == 12]
    assert len(last_steps) == 2 and all(e.preview is not None for e in last_steps)  # always with a preview
    assert [type(e) for e in events[:2]] == [StageChanged, StageChanged] and isinstance(events[-1], Finished)
    assert len(outputs) == 2
    for output, here in zip(outputs, here_outputs):
        assert output.mp4.parent == tmp_path / "process" and output.mp4.is_file() and output.sidecar.is_file()
        assert np.array_equal(output.frames, here.clip.frames) and not output.frames.flags.writeable
        assert output.record.request() == here.clip.request
        assert output.record.seed == here.clip.info.seed
    finished = [e.clip for e in events if isinstance(e, Finished)]
    assert [clip.frames is output.frames for clip, output in zip(finished, outputs)] == [True, True]
    assert blocks_left() == []


def test_cancel_crosses_to_the_child_within_a_step(worker, tmp_path):
    request = GenerationRequest(image=str(SAMPLES / "astronaut.jpg"),
                                **{**QUICK, "duration": 8.0, "fps": 24.0, "quality": "standard",
                                   "variants": 1})
    cancel, asked = CancelToken(), []

    def cancel_at_third_step(event) -> None:
        if isinstance(event, StepProgress) and event.step == 3:
            asked.append(time.perf_counter())
            # Set from another thread, as the window's Cancel button does, while this one waits.
            threading.Timer(0.0, cancel.cancel).start()

    events, outputs = render(worker, request, tmp_path, cancel, cancel_at_third_step)
    latency = time.perf_counter() - asked[0]
    steps = [e for e in events if isinstance(e, StepProgress)]
    assert isinstance(events[-1], Cancelled) and outputs == [] and not list(tmp_path.glob("*.mp4"))
    assert len(steps) < steps[0].total
    print(f"cancel came back as Cancelled in {latency * 1000:.0f} ms, {len(steps) - 3} step(s) after it")
    assert latency < 2.0
    assert blocks_left() == []

    events, outputs = render(worker, GenerationRequest(image=str(SAMPLES / "coffee.jpg"), **QUICK), tmp_path)
    assert len(outputs) == 2  # the next job is not cancelled


@pytest.mark.parametrize(("crash", "how"), [("exit:4", "exit code 3"), ("segv:4", "signal 11")])
def test_a_child_that_dies_fails_its_job_in_one_line_and_the_next_job_gets_a_fresh_one(
        worker, tmp_path, monkeypatch, crash, how):
    request = GenerationRequest(image=str(SAMPLES / "coffee.jpg"), **QUICK)
    render(worker, request, tmp_path)  # a child is running
    first = worker.pid
    monkeypatch.setenv(CRASH_VARIABLE, crash)
    events = []
    started = time.perf_counter()
    with pytest.raises(RenderProcessDied) as failure:
        worker.render(request, tmp_path, events.append, CancelToken(), lambda output: None)
    assert time.perf_counter() - started < 30
    assert str(failure.value) == (f"coffee.jpg: the render process stopped unexpectedly ({how}); "
                                  "the next job starts a fresh one")
    assert [e.step for e in events if isinstance(e, StepProgress)] == [1, 2, 3]
    assert worker.pid is None and blocks_left() == []

    monkeypatch.delenv(CRASH_VARIABLE)
    events, outputs = render(worker, request, tmp_path)
    assert worker.pid not in (None, first) and len(outputs) == 2


def test_a_loaded_model_stays_loaded_between_jobs(worker, tmp_path):
    request = GenerationRequest(image=str(SAMPLES / "coffee.jpg"), model=TINY, duration=0.3, aspect="1:1")
    first_events, outputs = render(worker, request, tmp_path)
    pid = worker.pid
    second_events, more = render(worker, request, tmp_path)

    def loads(events):
        return [e for e in events if isinstance(e, StageChanged) and e.stage == Stage.LOADING]

    assert [e.detail.split(" on ")[0] for e in loads(first_events)] == ["Tiny Wan"]
    assert loads(second_events) == []  # the pipeline from the first job, still in memory
    assert worker.pid == pid
    assert outputs[0].frames.shape == more[0].frames.shape == (9, 64, 64, 3)
    assert np.array_equal(outputs[0].frames, more[0].frames)  # same seed, same clip
    steps = [e for e in second_events if isinstance(e, StepProgress)]
    assert [s.step for s in steps] == [1, 2] and any(s.preview is not None for s in steps)
    assert blocks_left() == []


def test_close_leaves_no_process_and_no_block(models_file, tmp_path):
    worker = RenderProcess(EngineSettings(models_file=models_file))
    worker.close()  # never started: nothing to do
    render(worker, GenerationRequest(image=str(SAMPLES / "coffee.jpg"), **{**QUICK, "variants": 1}), tmp_path)
    pid = worker.pid
    worker.close()
    assert worker.pid is None and pid not in [child.pid for child in multiprocessing.active_children()]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # ended and reaped
    assert blocks_left() == []


def test_events_with_arrays_cross_through_shared_memory_and_back():
    frames = np.arange(2 * 4 * 6 * 3, dtype=np.uint8).reshape(2, 4, 6, 3)
    parked = []

    def park_array(array):
        parked.append(park(array, os.getpid(), len(parked)))
        return parked[-1]

    step = StepProgress(2, 8, 0.5, 1.5, Preview(frames, 12.0))
    message = encode(step, park_array, None)
    assert message[1].preview is None and blocks_left() == [parked[0].name]
    back = decode(message, take, None)
    assert back.step == 2 and np.array_equal(back.preview.frames, frames) and back.preview.fps == 12.0

    info = RenderInfo("instant", "instant", 6, 4, 2, 12.0, 2, None, 1, "", "")
    clip = Clip(frames.copy(), 12.0, GenerationRequest(image="a.png"), info)
    again = decode(encode(Finished(clip), park_array, None), take, None)
    assert np.array_equal(again.clip.frames, frames) and again.clip.info == info
    same = decode(encode(Finished(clip), park_array, clip.frames), take, frames)
    assert same.clip.frames is frames and len(parked) == 2  # the saved clip's frames do not cross twice
    assert decode(encode(Cancelled(), park_array, None), take, None) == Cancelled()
    assert blocks_left() == []


def test_a_preview_that_grows_sends_only_its_new_frames_and_earlier_views_stay_as_they_were():
    clip = np.arange(9 * 4 * 6 * 3, dtype=np.uint8).reshape(9, 4, 6, 3) % 251
    sent = []

    def park_array(array):
        sent.append(len(array))
        return park(array, os.getpid(), len(sent))

    previews, previewed, shown = PreviewFrames(), 0, []
    for count, extends in ((2, 0), (5, 2), (9, 5)):  # as the instant engine makes them
        step = StepProgress(count, 9, 0.1, 0.1, Preview(clip[:count], 12.0, extends=extends))
        message = encode(step, park_array, None, previewed)
        back = decode(message, take, None, previews)
        previewed = count
        shown.append(back.preview.frames)
    assert sent == [2, 3, 4]  # each frame crossed once
    for count, frames in zip((2, 5, 9), shown):
        assert np.array_equal(frames, clip[:count]) and not frames.flags.writeable
    # Where the other side has none of it (a preview dropped for want of room), all of it crosses.
    message = encode(StepProgress(9, 9, 0.1, 0.1, Preview(clip, 12.0, extends=9)), park_array, None, 0)
    assert message[4] == 0 and sent[-1] == 9
    whole = decode(message, take, None, previews).preview.frames
    assert np.array_equal(whole, clip)
    # ... and is shown as it came, not copied (a model's preview is whole at every step), until a
    # later preview extends it.
    assert np.shares_memory(whole, previews.add(0, whole))
    extended = previews.add(9, clip[:2])
    assert np.array_equal(extended, np.concatenate([clip, clip[:2]])) and np.array_equal(whole, clip)
    with pytest.raises(ValueError, match="extends 4 frames"):
        PreviewFrames().add(4, clip[:2])
    with pytest.raises(ValueError, match="cannot extend"):
        Preview(clip[:2], 12.0, extends=3)
    assert blocks_left() == []


class Sent:
    """The child's end of the pipe, keeping what it sends."""

    def __init__(self) -> None:
        self.messages: list[tuple] = []

    def send(self, message: tuple) -> None:
        self.messages.append(message)


@pytest.mark.skipif(not SHM_FOLDER.is_dir(), reason="shared memory as files is Linux's")
def test_the_child_renders_the_clip_into_shared_memory_and_sends_it_without_a_copy(tmp_path):
    from i2v_desktop.core.clip import use_frame_allocator
    from i2v_desktop.engine.instant import InstantEngine
    from i2v_desktop.studio.process import UNNUMBERED, _blocks, _Child

    conn = Sent()
    child = _Child(conn, CancelToken(), EngineSettings())
    use_frame_allocator(child.allocate)
    try:
        request = GenerationRequest(image=str(SAMPLES / "coffee.jpg"), **{**QUICK, "variants": 1})
        assert child.run(request, tmp_path, None) is None
    finally:
        use_frame_allocator(None)
    [output] = [m for m in conn.messages if m[0] == "output"]
    block = output[4]
    assert block.seq == UNNUMBERED and block.name == f"i2v_{os.getpid()}_c0"
    assert child.clips == {}  # handed over: the window frees it
    frames = take(block)
    here = InstantEngine().generate(request, lambda event: None, CancelToken())
    assert np.array_equal(frames, here.frames) and not frames.flags.writeable
    previews = [block for message in conn.messages for block in _blocks(message) if block.seq != UNNUMBERED]
    assert previews
    for block in previews:  # as the window reads each event's preview
        take(block)
    assert blocks_left() == []  # the name went with the take; the memory stays mapped for `frames`
    # The Finished event refers to the frames already sent instead of sending them again.
    [finished] = [m for m in conn.messages if m[0] == "event" and m[1][0] == "finished"]
    assert finished[1][1] is None


@pytest.mark.skipif(not SHM_FOLDER.is_dir(), reason="shared memory as files is Linux's")
def test_a_cancelled_child_job_frees_the_clip_it_was_rendering_into(tmp_path):
    from i2v_desktop.core.clip import use_frame_allocator
    from i2v_desktop.studio.process import _blocks, _Child

    cancel = CancelToken()

    class CancelAtThird(Sent):
        def send(self, message: tuple) -> None:
            super().send(message)
            event = message[1][1] if message[0] == "event" else None
            if isinstance(event, StepProgress) and event.step == 3:
                cancel.cancel()

    conn = CancelAtThird()
    child = _Child(conn, cancel, EngineSettings())
    use_frame_allocator(child.allocate)
    try:
        request = GenerationRequest(image=str(SAMPLES / "coffee.jpg"), **{**QUICK, "variants": 1})
        child.run(request, tmp_path, None)
    finally:
        use_frame_allocator(None)
    assert child.made == 1 and child.clips == {}
    for block in [block for message in conn.messages for block in _blocks(message)]:
        take(block)  # the previews sent before the cancel, as the window reads them
    assert blocks_left() == [] and list(tmp_path.iterdir()) == []
