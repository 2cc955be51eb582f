import pickle
import threading

import numpy as np
import pytest

from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.clip import Clip, RenderInfo
from i2v_desktop.core.errors import Cancelled as CancelledError
from i2v_desktop.core.events import Cancelled, Failed, Finished, Preview, Stage, StageChanged, StepProgress
from i2v_desktop.core.request import GenerationRequest


def test_cancel_token_set_from_another_thread():
    token = CancelToken()
    assert not token.cancelled
    worker = threading.Thread(target=token.cancel)
    worker.start()
    worker.join()
    assert token.cancelled
    with pytest.raises(CancelledError):
        token.raise_if_cancelled()


def _clip() -> Clip:
    frames = np.zeros((3, 8, 8, 3), np.uint8)
    info = RenderInfo("test", "m", 8, 8, 3, 24.0, 1, None, 0, "p", "")
    return Clip(frames, 24.0, GenerationRequest(image="a.png"), info)


def test_events_are_immutable_and_picklable():
    preview = Preview(np.zeros((2, 4, 4, 3), np.uint8), 6.0)
    events = [
        StageChanged(Stage.DENOISING, "8 steps"),
        StepProgress(1, 8, 0.5, 3.5, preview),
        Finished(_clip()),
        Failed("a.png: not an image file"),
        Cancelled(),
    ]
    for event in events:
        again = pickle.loads(pickle.dumps(event))
        assert type(again) is type(event)
    with pytest.raises(AttributeError):
        events[0].stage = Stage.LOADING  # type: ignore[misc]
    with pytest.raises(ValueError):
        preview.frames[0, 0, 0, 0] = 1
    assert _clip().duration == pytest.approx(3 / 24)


def test_frames_must_be_uint8_video():
    with pytest.raises(ValueError):
        Preview(np.zeros((4, 4, 3), np.uint8), 6.0)
    with pytest.raises(ValueError):
        Preview(np.zeros((1, 4, 4, 3), np.float32), 6.0)
