"""A render whose frames are not kept renders into a ring of a few frames, lent in turn."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from i2v_desktop.core.clip import Clip, FrameRing, RenderInfo
from i2v_desktop.core.errors import ExportError
from i2v_desktop.core.request import GenerationRequest


def test_frames_take_the_slots_in_turn_and_a_slot_waits_for_all_its_readers() -> None:
    ring = FrameRing(3, 4, 6, readers=2)
    slots = [ring.lend(i) for i in range(3)]
    assert [s.shape for s in slots] == [(4, 6, 3)] * 3
    assert len({s.__array_interface__["data"][0] for s in slots}) == 3  # three distinct slots
    lent: list[np.ndarray] = []
    waiter = threading.Thread(target=lambda: lent.append(ring.lend(3)))
    waiter.start()
    ring.release(0)  # one of frame 0's two readers is done: its slot is not free yet
    time.sleep(0.3)
    assert lent == []
    ring.release(0)
    waiter.join(5)
    assert len(lent) == 1 and np.shares_memory(lent[0], slots[0])
    ring.release(1)
    ring.release(1)
    assert np.shares_memory(ring.lend(4), slots[1])  # free already: no wait


def test_a_reader_that_stopped_ends_the_wait_with_its_error() -> None:
    ring = FrameRing(1, 2, 2, readers=1)
    ring.lend(0)
    calls = []

    def check() -> None:
        calls.append(1)
        if len(calls) == 2:
            raise ExportError("clip.mp4: no space left on device")

    started = time.perf_counter()
    with pytest.raises(ExportError, match="no space left"):
        ring.lend(1, check)
    assert time.perf_counter() - started < 2


def test_frames_are_lent_in_order_and_released_no_more_often_than_read() -> None:
    ring = FrameRing(2, 2, 2, readers=1)
    with pytest.raises(ValueError, match="frame 1 was asked for when frame 0 was due"):
        ring.lend(1)
    ring.lend(0)
    ring.release(0)
    with pytest.raises(ValueError, match="released more often"):
        ring.release(0)
    with pytest.raises(ValueError, match="at least one slot"):
        FrameRing(0, 2, 2, readers=1)


def test_a_clip_without_its_frames_has_its_size_and_length_from_its_record() -> None:
    info = RenderInfo(engine="instant", model="instant", width=1080, height=1920, num_frames=72, fps=24.0, steps=72,
                      guidance=None, seed=1, prompt="", negative_prompt="")
    clip = Clip(None, 24.0, GenerationRequest(image="photo.jpg"), info)
    assert (clip.frames, clip.size, clip.num_frames, clip.duration) == (None, (1080, 1920), 72, 3.0)
