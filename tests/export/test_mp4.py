"""MP4 export: stream properties probed with PyAV, colour accuracy, metadata, atomic writes."""

from __future__ import annotations

import json
import os
import stat
import struct
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from i2v_desktop.core.errors import ExportError, InputError
from i2v_desktop.export.mp4 import read_mp4_metadata, write_mp4, write_sidecar

av = pytest.importorskip("av")

WIDTH, HEIGHT, COUNT = 360, 202, 30  # even, but not multiples of 16: no padding may creep in

METADATA = {
    "comment": 'Café "Ümlaut" — line one\nline two; key=value # not a comment \\ backslash',
    "i2v_desktop": json.dumps(
        {"prompt": 'a "quoted" prompt\nwith a newline, 日本語 and emoji 🎬', "seed": 42}, ensure_ascii=False
    ),
}


def moving_clip(count: int = COUNT, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """Smooth, saturated colour waves that drift every frame (smooth so 4:2:0 loses little)."""
    t = np.arange(count)[:, None, None]
    y = np.arange(height)[None, :, None]
    x = np.arange(width)[None, None, :]
    red = 127.5 + 127.5 * np.sin((x + 6 * t) / 23.0)
    green = 127.5 + 127.5 * np.sin((y - 4 * t) / 19.0 + 1.0)
    blue = 127.5 + 127.5 * np.sin((x + y + 5 * t) / 31.0 + 2.0)
    return np.rint(np.stack(np.broadcast_arrays(red, green, blue), axis=-1)).astype(np.uint8)


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return moving_clip()


@pytest.fixture(scope="module")
def encoded(tmp_path_factory: pytest.TempPathFactory, clip: np.ndarray) -> Path:
    path = tmp_path_factory.mktemp("mp4") / "clip.mp4"
    assert write_mp4(clip, 24, path, metadata=METADATA) == path
    return path


def top_level_boxes(path: Path) -> list[str]:
    boxes, data, offset = [], path.read_bytes(), 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            (size,) = struct.unpack(">Q", data[offset + 8 : offset + 16])
        elif size == 0:
            size = len(data) - offset
        assert size >= 8, f"bad box size at {offset}"
        boxes.append(kind.decode("latin-1"))
        offset += size
    assert offset == len(data)
    return boxes


def decode_rgb(frame: av.VideoFrame, kr: float, kb: float) -> np.ndarray:
    """yuv420p limited range to RGB with the given luma weights (chroma upsampled by repetition)."""
    y, u, v = (
        np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width].astype(float)
        for plane in frame.planes
    )
    u, v = (np.repeat(np.repeat(c, 2, axis=0), 2, axis=1)[: y.shape[0], : y.shape[1]] for c in (u, v))
    luma, cb, cr = (y - 16) / 219, (u - 128) / 224, (v - 128) / 224
    red = luma + 2 * (1 - kr) * cr
    blue = luma + 2 * (1 - kb) * cb
    green = (luma - kr * red - kb * blue) / (1 - kr - kb)
    return np.clip(np.stack([red, green, blue], axis=-1) * 255, 0, 255)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


def folder_names(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


# -- the file itself ------------------------------------------------------------------------


def test_stream_is_h264_high_yuv420p_with_exact_size_rate_and_count(encoded: Path) -> None:
    with av.open(str(encoded)) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        assert ctx.name == "h264"
        assert ctx.profile == "High"
        assert ctx.format.name == "yuv420p"
        assert (ctx.width, ctx.height) == (WIDTH, HEIGHT)
        assert stream.average_rate == 24
        assert stream.frames == COUNT
        assert sum(1 for _ in container.decode(stream)) == COUNT
        assert len(container.streams) == 1  # no audio, subtitle or data tracks


def test_stream_is_tagged_bt709_limited_range(encoded: Path) -> None:
    with av.open(str(encoded)) as container:
        ctx = container.streams.video[0].codec_context
        # 1 is BT.709 in all three ffmpeg enumerations; range 1 is MPEG ("tv", limited).
        assert (ctx.color_primaries, ctx.color_trc, ctx.colorspace, ctx.color_range) == (1, 1, 1, 1)
        frame = next(container.decode(video=0))
        assert (frame.colorspace, frame.color_range) == (1, 1)
    # QuickTime and browsers read the container's colr atom: nclx 1/1/1, not full range.
    assert b"colrnclx\x00\x01\x00\x01\x00\x01\x00" in encoded.read_bytes()


def test_moov_comes_before_mdat(encoded: Path) -> None:
    boxes = top_level_boxes(encoded)
    assert boxes[0] == "ftyp"
    assert boxes.index("moov") < boxes.index("mdat")


def test_frames_match_input_when_decoded_with_bt709(encoded: Path, clip: np.ndarray) -> None:
    with av.open(str(encoded)) as container:
        frames = list(container.decode(video=0))
    for index in (0, COUNT // 2, COUNT - 1):
        bt709 = psnr(decode_rgb(frames[index], 0.2126, 0.0722), clip[index])
        bt601 = psnr(decode_rgb(frames[index], 0.299, 0.114), clip[index])
        assert bt709 > 35, f"frame {index}: {bt709:.1f} dB"
        # The same file read with the BT.601 matrix is clearly off: the encoder really used 709.
        assert bt601 < bt709 - 6, f"frame {index}: 601 {bt601:.1f} dB vs 709 {bt709:.1f} dB"
        # PyAV's own conversion honours the stream's tags, as a player would.
        assert psnr(frames[index].to_ndarray(format="rgb24"), clip[index]) > 35


def test_metadata_round_trips_exactly(encoded: Path) -> None:
    with av.open(str(encoded)) as container:
        tags = dict(container.metadata)
    ours = read_mp4_metadata(encoded)
    for key, value in METADATA.items():
        assert tags[key] == value
        assert ours[key] == value
    assert json.loads(ours["i2v_desktop"])["seed"] == 42


@pytest.mark.parametrize(
    ("fps", "rate"),
    [(29.97, Fraction(30000, 1001)), (30000 / 1001, Fraction(30000, 1001)), (23.976, Fraction(24000, 1001)),
     (Fraction(25, 2), Fraction(25, 2)), (16.0, Fraction(16))],
)  # fmt: skip
def test_frame_rate_is_stored_as_an_exact_fraction(tmp_path: Path, fps: float, rate: Fraction) -> None:
    path = write_mp4(moving_clip(12, 64, 48), fps, tmp_path / "rate.mp4")
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.average_rate == rate
        assert stream.frames == 12
        assert float(stream.duration * stream.time_base) == pytest.approx(12 / rate, abs=1e-6)


def test_frames_stream_from_a_generator(tmp_path: Path) -> None:
    clip = moving_clip(20, 128, 96)
    pulled = []

    def frames() -> Iterator[np.ndarray]:
        for index in range(len(clip)):
            pulled.append(index)
            yield clip[index].copy()

    path = write_mp4(frames(), 24, tmp_path / "gen.mp4")
    assert pulled == list(range(20))
    with av.open(str(path)) as container:
        decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert len(decoded) == 20
    assert psnr(np.stack(decoded), clip) > 35


def test_non_contiguous_frames_are_written_correctly(tmp_path: Path) -> None:
    clip = moving_clip(6, 64, 48)
    flipped = clip[:, :, ::-1]  # a view with negative strides
    path = write_mp4(flipped, 24, tmp_path / "view.mp4")
    with av.open(str(path)) as container:
        decoded = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    assert psnr(decoded, flipped) > 35


def test_existing_file_is_kept_and_the_clip_takes_the_next_name_with_ordinary_permissions(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"old")
    (tmp_path / "clip-2.json").write_text("{}")  # a sidecar holds its name for its clip too
    written = write_mp4(moving_clip(4, 64, 48), 24, path)
    assert written == tmp_path / "clip-3.mp4" and path.read_bytes() == b"old"
    assert written.read_bytes()[4:8] == b"ftyp"
    assert folder_names(tmp_path) == ["clip-2.json", "clip-3.mp4", "clip.mp4"]
    path = written
    if os.name == "posix":
        umask = os.umask(0)
        os.umask(umask)
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


# -- refusals and failures ------------------------------------------------------------------


def test_odd_size_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "odd.mp4"
    with pytest.raises(ExportError, match=r"odd\.mp4: width and height must be even.*361x202"):
        write_mp4(moving_clip(3, 361, 202), 24, path)
    assert folder_names(tmp_path) == []


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"missing: folder does not exist$"):
        write_mp4(moving_clip(2, 64, 48), 24, tmp_path / "missing" / "clip.mp4")


def test_destination_is_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="is a folder"):
        write_mp4(moving_clip(2, 64, 48), 24, tmp_path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions, not root")
def test_unwritable_folder(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ExportError, match=r"locked: folder is not writable$"):
            write_mp4(moving_clip(2, 64, 48), 24, folder / "clip.mp4")
        with pytest.raises(ExportError, match=r"locked: folder is not writable$"):
            write_sidecar(folder / "clip.json", {"a": 1})
    finally:
        folder.chmod(0o700)
    assert folder_names(folder) == []


def test_unwritable_folder_reported_when_the_temp_file_cannot_be_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def refuse(path: str | os.PathLike[str], flags: int, *args: int) -> int:
        if flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(ExportError) as caught:
        write_mp4(moving_clip(2, 64, 48), 24, tmp_path / "clip.mp4")
    assert str(caught.value) == f"{tmp_path}: folder is not writable"


def test_failing_frame_source_leaves_nothing_behind(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"previous take")
    clip = moving_clip(10, 64, 48)

    def frames() -> Iterator[np.ndarray]:
        yield from clip[:5]
        raise RuntimeError("decoder exploded")

    with pytest.raises(RuntimeError, match="decoder exploded"):
        write_mp4(frames(), 24, path)
    assert folder_names(tmp_path) == ["clip.mp4"]
    assert path.read_bytes() == b"previous take"


def test_keyboard_interrupt_mid_stream_leaves_nothing_behind(tmp_path: Path) -> None:
    clip = moving_clip(10, 64, 48)

    def frames() -> Iterator[np.ndarray]:
        yield from clip[:3]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_mp4(frames(), 24, tmp_path / "clip.mp4")
    assert folder_names(tmp_path) == []


def test_frame_of_another_size_is_refused_and_cleaned_up(tmp_path: Path) -> None:
    frames = [np.zeros((48, 64, 3), np.uint8), np.zeros((48, 66, 3), np.uint8)]
    with pytest.raises(ValueError, match=r"clip\.mp4: frame 1 is 66x48, the first was 64x48"):
        write_mp4(frames, 24, tmp_path / "clip.mp4")
    assert folder_names(tmp_path) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"crf": 0}, "crf must be"),
        ({"crf": 52}, "crf must be"),
        ({"encoder_preset": "turbo"}, "encoder preset"),
        ({"metadata": {"a=b": "x"}}, "metadata key"),
        ({"metadata": {"a": "x\0y"}}, "NUL"),
        ({"fps": 0}, "fps must be"),
        ({"fps": float("nan")}, "fps must be"),
        ({"frames": np.zeros((2, 48, 64, 3), np.float32)}, "uint8"),
        ({"frames": np.zeros((48, 64, 3), np.uint8)}, r"\(T, H, W, 3\)"),
        ({"frames": []}, "no frames"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict, message: str) -> None:
    args = {"frames": moving_clip(2, 64, 48), "fps": 24.0, **kwargs}
    frames, fps = args.pop("frames"), args.pop("fps")
    with pytest.raises(ValueError, match=message):
        write_mp4(frames, fps, tmp_path / "clip.mp4", **args)
    assert folder_names(tmp_path) == []


def fake_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    exe = tmp_path / "fake-ffmpeg"
    exe.write_text("#!/bin/sh\n" + script)
    exe.chmod(0o755)
    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", lambda: str(exe))


@pytest.mark.skipif(os.name != "posix", reason="the fake encoder is a shell script")
def test_disk_full_during_encoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    fake_ffmpeg(
        tmp_path,
        monkeypatch,
        "head -c 100000 >/dev/null\n"
        "echo '[out#0/mp4 @ 0x5555] Error writing trailer: No space left on device' >&2\n"
        "echo 'Conversion failed!' >&2\nexit 1\n",
    )
    with pytest.raises(ExportError) as caught:
        write_mp4(moving_clip(10, 320, 240), 24, out / "clip.mp4")
    assert str(caught.value) == f"{out / 'clip.mp4'}: no space left on device"
    assert folder_names(out) == []


@pytest.mark.skipif(os.name != "posix", reason="the fake encoder is a shell script")
def test_encoder_that_quits_reports_its_first_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    fake_ffmpeg(
        tmp_path,
        monkeypatch,
        "echo '[libx264 @ 0x1] [enc:libx264 @ 0x2] Error while opening encoder' >&2\n"
        "echo '[out#0/mp4 @ 0x3] Nothing was written into output file' >&2\nexit 1\n",
    )
    with pytest.raises(ExportError) as caught:
        write_mp4(moving_clip(10, 320, 240), 24, out / "clip.mp4")
    message = str(caught.value)
    assert message == f"{out / 'clip.mp4'}: ffmpeg failed: Error while opening encoder"
    assert "\n" not in message
    assert folder_names(out) == []


@pytest.mark.skipif(os.name != "posix", reason="the fake encoder is a shell script")
def test_item12_encoder_killed_by_a_signal_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    fake_ffmpeg(tmp_path, monkeypatch, "kill -KILL $$\n")  # as the out-of-memory killer would
    with pytest.raises(ExportError) as caught:
        write_mp4(moving_clip(10, 320, 240), 24, out / "clip.mp4")
    assert str(caught.value) == f"{out / 'clip.mp4'}: ffmpeg was killed by SIGKILL"
    assert folder_names(out) == []
    # The signal is the cause, whatever ffmpeg said before it came.
    fake_ffmpeg(tmp_path, monkeypatch, "echo '[x] Error while filtering: Broken pipe' >&2\nkill -TERM $$\n")
    with pytest.raises(ExportError) as caught:
        write_mp4(moving_clip(10, 320, 240), 24, out / "clip.mp4")
    assert str(caught.value) == f"{out / 'clip.mp4'}: ffmpeg was killed by SIGTERM"
    assert folder_names(out) == []


# -- metadata reading and sidecars -----------------------------------------------------------


def test_read_metadata_of_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.mp4: no such file"):
        read_mp4_metadata(tmp_path / "nope.mp4")
    text = tmp_path / "notes.mp4"
    text.write_text("hello")
    with pytest.raises(InputError) as caught:
        read_mp4_metadata(text)
    assert str(caught.value) == f"{text}: not a readable video file"


def test_sidecar_is_utf8_json_with_indent_2(tmp_path: Path) -> None:
    data = {"prompt": 'Café 日本語 "quoted"\nnewline', "seed": 7, "nested": {"a": [1, 2]}}
    path = write_sidecar(tmp_path / "clip.json", data)
    raw = path.read_bytes()
    assert raw.decode("utf-8") == json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    assert "日本語".encode() in raw
    assert json.loads(raw) == data
    assert folder_names(tmp_path) == ["clip.json"]


def test_sidecar_that_cannot_be_serialised_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "clip.json"
    path.write_text('{"old": true}\n')
    with pytest.raises(ExportError, match=r"clip\.json: cannot be written as JSON"):
        write_sidecar(path, {"bad": object()})
    with pytest.raises(ExportError, match=r"clip\.json: cannot be written as JSON"):
        write_sidecar(path, {"bad": float("nan")})
    assert path.read_text() == '{"old": true}\n'
    assert folder_names(tmp_path) == ["clip.json"]


def test_sidecar_in_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="folder does not exist"):
        write_sidecar(tmp_path / "missing" / "clip.json", {})


@pytest.mark.parametrize("preset", ["ultrafast", "superfast", "veryfast"])
def test_fast_presets_still_give_high_profile(tmp_path: Path, clip: np.ndarray, preset: str) -> None:
    """x264's fastest presets drop to Constrained Baseline unless its High tools are kept on."""
    path = write_mp4(clip, 24, tmp_path / "fast.mp4", encoder_preset=preset)
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.profile == "High"


def test_a_clip_whose_timestamps_are_uneven_reads_back_every_frame_once():
    """A take whose muxed timestamps came out uneven (one frame 1/12288 s long, the next 1023/12288 s):
    reading it must give its 9 frames, not a constant-rate copy with a frame repeated."""
    from i2v_desktop.export.container import video_frames
    from i2v_desktop.export.mp4 import read_frames

    path = Path(__file__).parent / "data" / "uneven-timestamps.mp4"
    frames, fps = read_frames(path)
    assert len(frames) == video_frames(path).declared == 9 and fps == 24.0
