"""Encoding while the engine renders: the file is the one write_mp4 makes of the same frames."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest
from mp4boxes import edit_lists, first_frame_delays
from test_mp4 import METADATA, fake_ffmpeg, folder_names, moving_clip, top_level_boxes

from i2v_desktop.core.clip import Audio
from i2v_desktop.core.errors import ExportError
from i2v_desktop.export.mp4 import read_frames, read_mp4_metadata, write_mp4
from i2v_desktop.export.stream import Mp4Stream

av = pytest.importorskip("av")


def streamed(frames: np.ndarray, path: Path, fps: float = 24, audio: Audio | None = None,
             preset: str = "medium") -> Path:
    stream = Mp4Stream(path, 18, preset)
    try:
        stream.begin(frames.shape[2], frames.shape[1], fps, len(frames))
        for index, frame in enumerate(frames):
            stream.frame(index, frame)
        saved = stream.finish(METADATA, audio)
    finally:
        stream.close()
    assert saved == path
    return path


def video_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(packet) for packet in container.demux(video=0) if packet.size]


def test_streamed_file_is_the_same_video_as_one_encode(tmp_path: Path) -> None:
    frames = moving_clip(30)
    one_go = write_mp4(frames, 24, tmp_path / "one.mp4", metadata=METADATA)
    stream = streamed(frames, tmp_path / "streamed.mp4")
    # The same encoder on the same frames: the very same coded pictures, only remuxed.
    assert video_packets(stream) == video_packets(one_go)
    assert read_mp4_metadata(stream) == read_mp4_metadata(one_go)
    assert folder_names(tmp_path) == ["one.mp4", "streamed.mp4"]


def test_streamed_file_is_muxed_like_every_other(tmp_path: Path) -> None:
    path = streamed(moving_clip(30), tmp_path / "clip.mp4")  # medium: B-frames and reordering
    boxes = top_level_boxes(path)
    assert boxes.index("moov") < boxes.index("mdat")  # plays while it downloads
    assert edit_lists(path) == []
    assert all(delay == 0 for delay in first_frame_delays(path))
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.profile, video.format.name) == ("High", "yuv420p")
        assert (str(video.codec_context.color_primaries), str(video.codec_context.color_range)) in {
            ("1", "1"), ("BT709", "MPEG"), ("ColorPrimaries.BT709", "ColorRange.MPEG")}
    frames, fps = read_frames(path)
    assert (len(frames), fps) == (30, 24.0)


def test_sound_is_added_when_the_file_is_finished(tmp_path: Path) -> None:
    frames = moving_clip(24)
    seconds = np.arange(48000, dtype=np.float32) / 48000
    audio = Audio(np.sin(2 * np.pi * 440 * seconds).astype(np.float32) * 0.5, 48000)
    path = streamed(frames, tmp_path / "clip.mp4", audio=audio)
    with av.open(str(path)) as container:
        assert [s.type for s in container.streams] == ["video", "audio"]
        track = container.streams.audio[0]
        assert track.codec_context.name == "aac"
        assert abs(float(track.duration * track.time_base) - 1.0) < 0.03
    assert edit_lists(path) == []


def test_frames_go_to_the_encoder_while_they_are_made(tmp_path: Path) -> None:
    """The encoder is running before the last frame is handed over (the point of streaming)."""
    frames = moving_clip(40)
    stream = Mp4Stream(tmp_path / "clip.mp4", 18, "ultrafast")
    try:
        stream.begin(frames.shape[2], frames.shape[1], 24, len(frames))
        video = stream._video
        for index, frame in enumerate(frames):
            stream.frame(index, frame)
        # Before finish: ffmpeg has already written coded pictures to its temporary file.
        deadline = threading.Event()
        for _ in range(100):
            if video.stat().st_size > 0:
                break
            deadline.wait(0.05)
        assert video.stat().st_size > 0
        assert stream.finish(METADATA) == tmp_path / "clip.mp4"
    finally:
        stream.close()
    assert folder_names(tmp_path) == ["clip.mp4"]


def test_a_name_taken_meanwhile_is_never_replaced(tmp_path: Path) -> None:
    frames = moving_clip(6)
    stream = Mp4Stream(tmp_path / "clip.mp4", 18, "ultrafast")
    try:
        stream.begin(frames.shape[2], frames.shape[1], 24, 6)
        for index, frame in enumerate(frames):
            stream.frame(index, frame)
        (tmp_path / "clip.mp4").write_bytes(b"another render's clip")  # took the name meanwhile
        (tmp_path / "clip-2.json").write_text("{}")  # and a sidecar holds the next one
        assert stream.finish(METADATA) == tmp_path / "clip-3.mp4"
    finally:
        stream.close()
    assert (tmp_path / "clip.mp4").read_bytes() == b"another render's clip"
    assert folder_names(tmp_path) == ["clip-2.json", "clip-3.mp4", "clip.mp4"]


def test_a_concurrent_start_leaves_the_part_being_encoded_alone(tmp_path: Path) -> None:
    """Another render starting in the folder clears parts no live writer holds: never ours."""
    import os
    import time

    from i2v_desktop.core.durable import clear_stale_parts

    frames = moving_clip(6)
    stream = Mp4Stream(tmp_path / "clip.mp4", 18, "ultrafast")
    try:
        stream.begin(frames.shape[2], frames.shape[1], 24, 6)
        old = time.time() - 3600
        os.utime(stream._video, (old, old))  # however old it looks
        assert clear_stale_parts(tmp_path) == 0 and stream._video.exists()
        for index, frame in enumerate(frames):
            stream.frame(index, frame)
        assert stream.finish(METADATA) == tmp_path / "clip.mp4"
    finally:
        stream.close()


def test_close_without_finish_leaves_nothing(tmp_path: Path) -> None:
    frames = moving_clip(10)
    stream = Mp4Stream(tmp_path / "clip.mp4", 18, "ultrafast")
    stream.begin(frames.shape[2], frames.shape[1], 24, 10)
    for index in range(5):
        stream.frame(index, frames[index])
    stream.close()  # a cancelled render
    stream.close()  # safe twice
    assert folder_names(tmp_path) == []


def test_frames_out_of_order_or_of_another_size_are_refused(tmp_path: Path) -> None:
    frames = moving_clip(4)
    stream = Mp4Stream(tmp_path / "clip.mp4", 18, "ultrafast")
    try:
        stream.begin(frames.shape[2], frames.shape[1], 24, 4)
        with pytest.raises(ValueError, match="frame 1 came when frame 0 was due"):
            stream.frame(1, frames[1])
        with pytest.raises(ValueError, match="frame 0 must be 360x202"):
            stream.frame(0, frames[0][:100])
    finally:
        stream.close()
    assert folder_names(tmp_path) == []


@pytest.mark.skipif(os.name != "posix", reason="the fake encoder is a shell script")
def test_encoder_failing_mid_stream_stops_the_render_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    fake_ffmpeg(tmp_path, monkeypatch,
                "head -c 300000 >/dev/null\n"
                "echo '[out#0/mp4 @ 0x5555] Error writing trailer: No space left on device' >&2\nexit 1\n")
    frames = moving_clip(60)
    stream = Mp4Stream(out / "clip.mp4", 18, "ultrafast")
    with pytest.raises(ExportError) as caught:
        try:
            stream.begin(frames.shape[2], frames.shape[1], 24, len(frames))
            for index, frame in enumerate(frames):
                stream.frame(index, frame)
            stream.finish(METADATA)
        finally:
            stream.close()
    assert str(caught.value) == f"{out / 'clip.mp4'}: no space left on device"
    assert folder_names(out) == []


def test_bad_settings_are_refused_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="crf"):
        Mp4Stream(tmp_path / "clip.mp4", 0)
    with pytest.raises(ValueError, match="encoder preset"):
        Mp4Stream(tmp_path / "clip.mp4", 18, "warp-speed")
    stream = Mp4Stream(tmp_path / "clip.mp4")
    with pytest.raises(ExportError, match="must be even"):
        stream.begin(361, 202, 24, 10)
    assert folder_names(tmp_path) == []


def test_the_encoder_starts_with_the_first_frame_not_at_begin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An engine begins the sink as soon as it knows the clip's size, then builds its scene:
    # starting ffmpeg then would fork the process while the scene is being written.
    from i2v_desktop.export import stream as stream_module

    started = threading.Event()
    real = stream_module.run_ffmpeg

    def spy(command, frames, path):
        started.set()
        return real(command, frames, path)

    monkeypatch.setattr(stream_module, "run_ffmpeg", spy)
    frames = moving_clip(3)
    stream = Mp4Stream(tmp_path / "clip.mp4", 18, "ultrafast")
    try:
        stream.begin(frames.shape[2], frames.shape[1], 24, 3)
        assert not started.wait(0.3)
        stream.frame(0, frames[0])
        assert started.wait(10)
        for index in (1, 2):
            stream.frame(index, frames[index])
        assert stream.finish(METADATA) == tmp_path / "clip.mp4"
    finally:
        stream.close()
    assert len(read_frames(tmp_path / "clip.mp4")[0]) == 3

    # A render that ends before its first frame (a photo that cannot be used) never starts one.
    started.clear()
    stream = Mp4Stream(tmp_path / "never.mp4", 18, "ultrafast")
    stream.begin(frames.shape[2], frames.shape[1], 24, 3)
    stream.close()
    assert not started.is_set()
    assert folder_names(tmp_path) == ["clip.mp4"]  # nothing of the second one, not even its part
