"""A clip's sound from the engine to the user: saved as an AAC track with its files, said by its
record and its history entry (also after a restart), kept by the studio's exports, carried across
the render process's pipe; a request for sound from a model that makes none is a note, not a failure."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.clip import Audio, Clip, RenderInfo
from i2v_desktop.core.events import Finished
from i2v_desktop.core.presets import load_presets
from i2v_desktop.core.record import ClipRecord
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.core.studio import ExportJob
from i2v_desktop.engine.registry import load_registry
from i2v_desktop.export.social import load_export_presets
from i2v_desktop.storage.history import History, thumbnail_frames
from i2v_desktop.studio.local import LocalStudio
from i2v_desktop.studio.process import decode, encode, park, take
from i2v_desktop.studio.records import make_record, read_record, sound_summary
from i2v_desktop.studio.render import Engines, save_clip

av = pytest.importorskip("av")


def tone(seconds: float, rate: int = 24000, channels: int = 2) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return np.repeat((0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[:, None], channels, axis=1)


def sounding_clip(photo: Path, audio: Audio | None, frames: int = 24, fps: float = 24.0) -> Clip:
    """A clip as an engine that makes sound hands it over: frames, request, render info, Audio."""
    pictures = np.stack([np.full((64, 96, 3), 40 + 6 * i, np.uint8) for i in range(frames)])
    request = GenerationRequest(image=str(photo), sound=audio is not None, seed=5)
    info = RenderInfo("diffusion", "ltx-2", 96, 64, frames, fps, 8, 3.0, 5, "a cat", "")
    return Clip(pictures, fps, request, info, audio)


def audio_streams(path: Path) -> list[tuple[str, int, float]]:
    with av.open(str(path)) as container:
        return [(s.codec_context.name, s.codec_context.sample_rate, float(s.duration * s.time_base))
                for s in container.streams.audio]


@pytest.fixture
def history(tmp_path) -> History:
    return History(tmp_path / "history")


@pytest.fixture
def studio(history, tmp_path) -> LocalStudio:
    made = LocalStudio(Engines(load_registry(), load_presets(), device="cpu"), history, load_export_presets(),
                       tmp_path / "data")
    yield made
    made.close()


def test_a_saved_clip_with_sound_has_its_track_and_its_record_and_history_entry_say_so(samples, tmp_path):
    clip = sounding_clip(samples / "coffee.jpg", Audio(tone(1.0), 24000))
    output = save_clip(clip, tmp_path / "coffee.mp4")
    assert audio_streams(output.mp4) == [("aac", 48000, pytest.approx(1.0, abs=1 / 48000))]
    record = read_record(output.mp4)
    assert record.sound and record.data["sound"]["channels"] == 2 and record.data["sound"]["source_rate"] == 24000
    assert json.loads(output.sidecar.read_text(encoding="utf-8"))["sound"]["rate"] == 48000
    assert sound_summary(output.mp4) == "AAC, 48 kHz, stereo"

    history = History(tmp_path / "history")
    entry = history.add(output.mp4, record, thumbnail_frames(clip.frames, clip.fps))
    silent = save_clip(sounding_clip(samples / "coffee.jpg", None), tmp_path / "quiet.mp4")
    quiet = history.add(silent.mp4, read_record(silent.mp4), thumbnail_frames(clip.frames, clip.fps))
    assert entry.sound and not quiet.sound and audio_streams(silent.mp4) == []
    assert sound_summary(silent.mp4) == "none"
    again = {e.mp4.name: e.sound for e in History(tmp_path / "history").entries()}  # read from the index
    assert again == {"coffee.mp4": True, "quiet.mp4": False}


def test_records_from_before_sound_read_as_silent():
    old = ClipRecord({"schema": "i2v_desktop.clip", "version": 1, "request": {"image": "a.jpg"}, "render": {}})
    odd = ClipRecord({"schema": "i2v_desktop.clip", "version": 1, "sound": "yes"})
    assert not old.sound and not odd.sound


def test_the_studios_clips_say_which_have_sound_and_its_exports_keep_it(studio, history, samples, tmp_path):
    clip = sounding_clip(samples / "coffee.jpg", Audio(tone(1.0), 24000))
    output = save_clip(clip, history.new_clip_folder() / "coffee.mp4")
    history.add(output.mp4, make_record(clip), thumbnail_frames(clip.frames, clip.fps))
    [entry] = studio.clips()
    assert entry.sound and studio.clip(entry.id).sound

    out = tmp_path / "exports"
    report = studio.export_many([ExportJob(entry.mp4, pid, out) for pid in ("reels", "gif")], CancelToken())
    assert report.failed == () and len(report.written) == 2
    reels = out / "coffee_reels.mp4"
    [(codec, rate, seconds)] = audio_streams(reels)
    with av.open(str(reels)) as container:
        video = container.streams.video[0]
        video_s = float(video.duration * video.time_base)
        heard = np.concatenate([frame.to_ndarray()[0] for frame in container.decode(audio=0)])
    assert (codec, rate) == ("aac", 48000) and video_s >= 3.0 and seconds == pytest.approx(video_s, abs=1 / 48000)
    spectrum = np.abs(np.fft.rfft(heard[2400:-2400]))
    assert np.argmax(spectrum) * 48000 / len(heard[2400:-2400]) == pytest.approx(440, abs=2)
    assert audio_streams(out / "coffee_gif.gif") == []


def test_a_render_asking_for_sound_from_a_model_that_makes_none_is_silent_with_a_note(studio, samples):
    saved = []
    request = GenerationRequest(image=str(samples / "coffee.jpg"), model="instant", duration=0.5, fps=12.0,
                                aspect="1:1", quality="draft", seed=3, sound=True)
    studio.render(request, lambda event: None, CancelToken(), saved.append)
    [clip] = saved
    assert not clip.entry.sound and audio_streams(clip.entry.mp4) == []
    notes = clip.entry.record.render["notes"]
    assert "Instant (2.5D, no AI model) makes no sound: the clip is silent" in notes
    assert clip.entry.request().sound  # what was asked for is kept, to render again elsewhere


def test_the_sound_crosses_the_render_process_pipe():
    parked = []

    def park_array(array):
        parked.append(park(array, os.getpid(), len(parked)))
        return parked[-1]

    sound = Audio(tone(0.5, 24000, channels=1), 24000)
    clip = sounding_clip(Path("a.jpg"), sound, frames=4)
    message = pickle.loads(pickle.dumps(encode(Finished(clip), park_array, None)))  # what the pipe does
    back = decode(message, take, None).clip
    assert back.audio is not None and back.audio.rate == 24000 and not back.audio.samples.flags.writeable
    np.testing.assert_array_equal(back.audio.samples, sound.samples)
    np.testing.assert_array_equal(back.frames, clip.frames)
    silent = decode(pickle.loads(pickle.dumps(encode(Finished(sounding_clip(Path("a.jpg"), None, 4)),
                                                     park_array, None))), take, None).clip
    assert silent.audio is None
