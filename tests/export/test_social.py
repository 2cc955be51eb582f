"""Social export: presets, every preset's file probed with PyAV, frame interpolation measured with
optical flow, clip extension, framing, limits and failures that leave nothing behind."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import struct
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from i2v_desktop.core.errors import ExportError, PresetError
from i2v_desktop.export import presets, social
from i2v_desktop.export.interpolate import Interpolator, frame_positions, interpolate
from i2v_desktop.export.mp4 import ffmpeg_exe, read_mp4_metadata
from exported import METADATA
from i2v_desktop.export.social import (
    ExportPreset,
    available_encoders,
    export_clip,
    load_export_presets,
    parse_export_preset,
    plan_layout,
    plan_timeline,
)

av = pytest.importorskip("av")

# (codec, profile, pixel format, size, frame rate) per built-in preset, for a 1280×720 24 fps clip.
EXPECTED: dict[str, tuple[str, str | None, str | None, tuple[int, int], int]] = {
    "reels": ("h264", "High", "yuv420p", (1080, 1920), 30),
    "tiktok": ("h264", "High", "yuv420p", (1080, 1920), 30),
    "shorts": ("h264", "High", "yuv420p", (1080, 1920), 24),  # YouTube takes 24 fps as it is
    "feed": ("h264", "High", "yuv420p", (1080, 1350), 30),
    "square": ("h264", "High", "yuv420p", (1080, 1080), 30),
    "landscape": ("h264", "High", "yuv420p", (1920, 1080), 24),
    "source": ("h264", "High", "yuv420p", (1280, 720), 24),
    "prores": ("prores", "Standard", "yuv422p10le", (1280, 720), 24),
    "webm": ("vp9", "Profile 0", "yuv420p", (1280, 720), 24),
    "gif": ("gif", None, None, (540, 304), 15),
}
SILENT_TRACK = {"reels", "tiktok", "shorts", "feed", "square", "landscape"}


# -- clips and helpers ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(clip: np.ndarray) -> np.ndarray:
    """The same clip at 320×180, for the tests about logic rather than about the file."""
    return np.stack([cv2.resize(frame, (320, 180), interpolation=cv2.INTER_AREA) for frame in clip])


def texture(height: int = 120, width: int = 400, seed: int = 0) -> np.ndarray:
    """Smooth random texture: every part is distinct, so optical flow is well defined."""
    noise = np.random.default_rng(seed).integers(0, 256, (height, width, 3)).astype(np.uint8)
    return cv2.normalize(cv2.GaussianBlur(noise, (0, 0), 2.0), None, 0, 255, cv2.NORM_MINMAX)


def panning(shifts: list[int], width: int = 160, height: int = 96) -> np.ndarray:
    """Frames that look at a texture from `shifts` pixels along: the scene moves left by each step."""
    tex = texture(height, width + 64)  # the same texture for any shifts up to 64 px
    return np.stack([np.ascontiguousarray(tex[:, s : s + width]) for s in shifts])


def flow_x(a: np.ndarray, b: np.ndarray) -> float:
    """Median horizontal motion from a to b (Farnebäck: independent of the DIS flow under test)."""
    gray = [cv2.cvtColor(x, cv2.COLOR_RGB2GRAY) for x in (a, b)]
    flow = cv2.calcOpticalFlowFarneback(gray[0], gray[1], None, 0.5, 4, 21, 5, 7, 1.5, 0)
    return float(np.median(flow[10:-10, 20:-20, 0]))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-12)))


def differs(a: np.ndarray, b: np.ndarray) -> bool:
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16)))) > 1.0


def decode(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])


def top_level_boxes(path: Path) -> list[str]:
    boxes, data, offset = [], path.read_bytes(), 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            (size,) = struct.unpack(">Q", data[offset + 8 : offset + 16])
        elif size == 0:
            size = len(data) - offset
        boxes.append(kind.decode("latin-1"))
        offset += size
    return boxes


def small_preset(**over: Any) -> ExportPreset:
    """A fast test preset: H.264 ultrafast at a small size, no limits to speak of."""
    video = {"codec": "libx264", "width": 180, "height": 320, "fps": 24, "pix_fmt": "yuv420p",
             "profile": "high", "crf": 12, "speed": "ultrafast"}  # fmt: skip
    limits = {"min_duration": 0, "max_duration": 60, "max_bitrate": None}
    data = {"id": "test", "name": "Test", "description": "For tests.", "container": "mp4", "audio": False,
            "video": {**video, **over.pop("video", {})},
            "limits": {**limits, **over.pop("limits", {})}, **over}  # fmt: skip
    return parse_export_preset(data, "test.json")


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def one_line_error(caught: pytest.ExceptionInfo[ExportError], path: Path) -> str:
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    return message


# -- presets -------------------------------------------------------------------------------------------


def test_builtin_presets_load_with_their_limits() -> None:
    library = load_export_presets()
    assert set(library.ids()) == set(EXPECTED)
    assert library.problems == ()
    reels = library.get("reels")
    assert (reels.width, reels.height, reels.fps, reels.codec, reels.profile) == (
        1080,
        1920,
        30.0,
        "libx264",
        "high",
    )
    assert (reels.maxrate, reels.bufsize, reels.max_bitrate) == (25_000_000, 50_000_000, 25_000_000)
    assert 18 <= reels.crf <= 20 and reels.gop_seconds == 2.0 and reels.audio
    assert (reels.min_duration, reels.max_duration) == (3, 90)
    assert library.get("shorts").max_duration == 180 and library.get("tiktok").max_duration == 600
    assert (library.get("source").width, library.get("source").fps) == (None, None)
    for preset in library.presets.values():
        assert preset.max_duration >= preset.min_duration >= 0
    with pytest.raises(PresetError, match="unknown export preset 'vine'"):
        library.get("vine")


def test_user_presets_override_and_broken_ones_are_skipped(tmp_path: Path) -> None:
    data = json.loads((social.builtin_export_preset_dir() / "reels.json").read_text(encoding="utf-8"))
    data["name"] = "My Reels"
    (tmp_path / "reels.json").write_text(json.dumps(data), encoding="utf-8")
    (tmp_path / "broken.json").write_text('{"id": "broken"', encoding="utf-8")
    bad = dict(data, id="fast", video=dict(data["video"], maxrate="50M"))
    (tmp_path / "fast.json").write_text(json.dumps(bad), encoding="utf-8")
    library = load_export_presets(tmp_path)
    assert library.get("reels").name == "My Reels"
    assert "broken" not in library.presets and "fast" not in library.presets
    assert len(library.problems) == 2 and all("\n" not in line for line in library.problems)
    assert (
        library.problems[0].startswith(str(tmp_path / "broken.json"))
        and "not valid JSON" in library.problems[0]
    )
    assert "maxrate must not exceed limits.max_bitrate" in library.problems[1]


def test_a_broken_builtin_preset_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "odd.json").write_text('{"id": "odd", "name": "Odd"}', encoding="utf-8")
    monkeypatch.setattr(presets, "builtin_export_preset_dir", lambda: tmp_path)
    with pytest.raises(PresetError, match=r"odd\.json: .*must be non-empty text"):
        load_export_presets()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"container": "avi"}, "container must be one of"),
        ({"video": {"codec": "gif"}}, "video.codec must be one of libx264"),
        ({"video": {"width": 181}}, "must be even"),
        ({"video": {"crf": 60}}, "video.crf must be from 1 to 51"),
        ({"video": {"speed": "warp"}}, "video.speed must be one of"),
        ({"video": {"maxrate": "lots", "bufsize": "1M"}}, 'text like "25M"'),
        ({"limits": {"min_duration": 5, "max_duration": 3}}, "max_duration must not be below"),
        ({"extra": 1}, "unknown key"),
    ],
)
def test_invalid_presets_are_refused_in_one_line(change: dict, message: str) -> None:
    with pytest.raises(PresetError, match=message) as caught:
        small_preset(**change)
    assert str(caught.value).startswith("test.json: ") and "\n" not in str(caught.value)


def test_this_ffmpeg_has_vp9() -> None:
    assert "libvpx-vp9" in available_encoders(ffmpeg_exe(Path("x")))


# -- every preset, probed -----------------------------------------------------------------------------


@pytest.mark.parametrize("pid", sorted(EXPECTED))
def test_every_preset_makes_the_file_it_promises(pid: str, exports: dict[str, Path]) -> None:
    path = exports[pid]
    preset = load_export_presets().get(pid)
    codec, profile, pix_fmt, size, fps = EXPECTED[pid]
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        ctx = video.codec_context
        assert ctx.name == codec
        assert (ctx.width, ctx.height) == size
        seconds = container.duration / 1_000_000
        assert seconds >= max(preset.min_duration, 1.0) - 0.01
        assert seconds <= preset.max_duration
        if codec != "gif":
            assert ctx.profile == profile
            assert ctx.format.name == pix_fmt
            assert video.average_rate == fps
            # BT.709 primaries, transfer and matrix, limited range, in the stream itself.
            assert (ctx.color_primaries, ctx.color_trc, ctx.colorspace, ctx.color_range) == (1, 1, 1, 1)
        audio = list(container.streams.audio)
        if pid in SILENT_TRACK:
            assert len(audio) == 1
            assert (audio[0].codec_context.name, audio[0].codec_context.sample_rate) == ("aac", 48000)
            assert audio[0].codec_context.channels == 2
        else:
            assert audio == []
        tags = dict(container.metadata)
    if preset.container in ("mp4", "mov"):
        assert {key: tags.get(key) for key in METADATA} == METADATA
        assert {key: read_mp4_metadata(path).get(key) for key in METADATA} == METADATA
        boxes = top_level_boxes(path)
        assert boxes.index("moov") < boxes.index("mdat")  # faststart
    elif preset.container == "webm":
        # Matroska stores tag names in upper case; the values come back unchanged.
        assert {key: tags.get(key.upper()) for key in METADATA} == METADATA
    sidecar = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["schema"] == "i2v_desktop.export" and sidecar["preset"] == pid
    assert sidecar["metadata"] == METADATA
    assert (sidecar["width"], sidecar["height"], sidecar["fps"]) == (*size, fps)
    assert names(path.parent) == sorted(p.name for e in exports.values() for p in (e, e.with_suffix(".json")))


def test_platform_exports_are_extended_to_three_seconds_and_interpolated(exports: dict[str, Path]) -> None:
    record = json.loads(exports["reels"].with_suffix(".json").read_text(encoding="utf-8"))
    assert record["duration"] >= 3.0 and record["frames"] == round(record["duration"] * 30)
    assert record["processing"] == {"frame_rate": "interpolated", "extension": "repeat", "fill": "frame",
                                    "crop": record["processing"]["crop"]}  # fmt: skip
    x, y, w, h = record["processing"]["crop"]
    assert h == 720 and abs(w / h - 9 / 16) < 0.01  # cropped at 9:16, never stretched


def test_gif_loops_forever_with_one_palette(exports: dict[str, Path]) -> None:
    with Image.open(exports["gif"]) as gif:
        assert gif.info["loop"] == 0
        assert gif.mode == "P" and len(gif.getpalette() or []) >= 3 * 128
        durations = []
        for index in range(gif.n_frames):
            gif.seek(index)
            durations.append(gif.info["duration"])
    assert len(durations) == 15
    assert sum(durations) == pytest.approx(1000, abs=20)  # 15 fps in centisecond steps


def test_export_command_for_reels() -> None:
    preset = load_export_presets().get("reels")
    layout = social.Layout((1080, 1920), (438, 0, 405, 720), (405, 720), "scale")
    command = social.export_command(preset, "ffmpeg", layout, Fraction(30), 3.0, {}, Path("/tmp/out.mp4"))
    line = " ".join(command)
    expected = ["-c:v libx264", "-profile:v high", "-maxrate 25000000 -bufsize 50000000",
                "-g 60 -keyint_min 60 -sc_threshold 0 -flags +cgop", "+faststart", "-c:a aac",
                "anullsrc=channel_layout=stereo:sample_rate=48000:duration=2.978667",  # 3 s less the AAC priming
                "-use_editlist 0",
                "-colorspace bt709"]  # fmt: skip
    for part in expected:
        assert part in line


# -- interpolation -------------------------------------------------------------------------------------


def test_midpoint_is_a_new_frame_half_way_along_the_motion() -> None:
    frames = panning([0, 8, 16])
    out = interpolate(frames, 24, 48)
    assert len(out) == 6
    middle = out[1]
    assert differs(middle, frames[0]) and differs(middle, frames[1])
    assert flow_x(frames[0], frames[1]) == pytest.approx(-8, abs=0.3)
    assert flow_x(frames[0], middle) == pytest.approx(-4, abs=0.5)
    truth = panning([0, 4, 8])[1]  # the view 4 px along really exists: compare with it
    assert psnr(middle[:, 8:-8], truth[:, 8:-8]) > 35


def test_real_clip_interpolation_beats_blending(clip: np.ndarray) -> None:
    """Drop every other frame of a generated clip and rebuild it: the rebuilt frames must be much
    closer to the dropped ones than a cross-fade of the neighbours is."""
    kept, dropped = clip[0:12:2], clip[1:11:2]
    rebuilt = interpolate(kept, 12, 24)[1:10:2]
    ours = np.mean([psnr(a, b) for a, b in zip(rebuilt, dropped)])
    blend = np.mean([psnr(cv2.addWeighted(kept[i], 0.5, kept[i + 1], 0.5, 0), dropped[i]) for i in range(5)])
    assert ours > blend + 3, (ours, blend)
    for i, frame in enumerate(rebuilt):
        assert not np.array_equal(frame, kept[i]) and not np.array_equal(frame, kept[i + 1])


@pytest.mark.parametrize(("dst", "step"), [(48, 2), (72, 3), (96, 4)])
def test_whole_ratios_keep_the_source_frames_and_add_new_ones(dst: int, step: int) -> None:
    frames = panning([0, 6, 12, 18])
    out = interpolate(frames, 24, dst)
    assert len(out) == 4 * step
    assert all(np.array_equal(out[i * step], frames[i]) for i in range(4))
    for i in range(3):  # between neighbours: new frames, moving steadily
        inner = out[i * step + 1 : (i + 1) * step]
        assert all(differs(f, frames[i]) and differs(f, frames[i + 1]) for f in inner)
        for k, frame in enumerate(inner, start=1):
            assert flow_x(frames[i], frame) == pytest.approx(-6 * k / step, abs=0.5)


def test_any_target_rate_places_frames_at_their_own_time() -> None:
    positions = frame_positions(24, 24, 30, loop=False)
    assert len(positions) == 30
    assert positions[:6].tolist() == pytest.approx([0, 0.8, 1.6, 2.4, 3.2, 4.0])
    frames = panning([0, 5, 10, 15, 20])
    out = interpolate(frames, 24, 30)
    assert len(out) == 6  # 5 frames at 24 fps last as long as 6 at 30
    assert flow_x(frames[0], out[1]) == pytest.approx(-4, abs=0.5)  # position 0.8
    assert np.array_equal(out[5], frames[4])  # position 4.0 is a source frame


def test_loop_interpolates_from_the_last_frame_to_the_first() -> None:
    frames = panning([0, 4, 8, 12, 8, 4])  # the last → first step continues the motion (−4 px)
    looped = interpolate(frames, 24, 48, loop=True)
    assert len(looped) == 12 and frame_positions(6, 24, 48, loop=True)[-1] == 5.5
    seam = looped[-1]
    assert differs(seam, frames[-1]) and differs(seam, frames[0])
    assert flow_x(frames[-1], seam) == pytest.approx(2, abs=0.5)  # half of the 4 px back to the start
    held = interpolate(frames, 24, 48, loop=False)
    assert np.array_equal(held[-1], frames[-1])  # without loop the end just holds


def test_interpolator_handles_cropped_views_and_single_frames() -> None:
    frames = panning([0, 8])
    view = np.concatenate([frames, frames], axis=2)[:, :, 40:200]  # not contiguous
    assert Interpolator(view).frame_at(0.5).shape == (96, 160, 3)
    single = Interpolator(frames[:1], loop=True)
    assert np.array_equal(single.frame_at(0.5), frames[0])


# -- extension -----------------------------------------------------------------------------------------


def test_boomerang_has_no_doubled_end_frames() -> None:
    timeline = plan_timeline(10, 24, Fraction(24), loop=False, extend="boomerang", min_duration=1.0)
    positions = [step.position for step in timeline.steps]
    assert positions[:12] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 8, 7]
    assert positions[17:20] == [1, 0, 1]
    assert all(a != b for a, b in zip(positions, positions[1:]))
    assert len(positions) >= 24 and positions[-1] in (0, 9)  # ends at a turning point
    assert timeline.extension == "boomerang"


def test_repeat_crossfades_its_seams_and_ends_on_the_last_frame() -> None:
    timeline = plan_timeline(24, 24, Fraction(24), loop=False, min_duration=3.0)
    steps = timeline.steps
    assert timeline.extension == "repeat" and len(steps) >= 72
    seams = [s for s in steps if s.blend_position is not None]
    assert seams and all(0 < s.blend < 1 for s in seams)
    first_seam = [s for s in steps[:30] if s.blend_position is not None]
    assert [s.blend for s in first_seam] == sorted(s.blend for s in first_seam)  # fades in steadily
    assert steps[-1].position == 23 and steps[-1].blend_position is None


def test_loop_repeats_whole_cycles_and_duration_sets_the_length() -> None:
    looped = plan_timeline(24, 24, Fraction(30), loop=True, min_duration=3.0)
    assert len(looped.steps) == 90 and looped.extension == "loop"
    assert [s.position for s in looped.steps[30:35]] == [s.position for s in looped.steps[:5]]
    exact = plan_timeline(24, 24, Fraction(30), loop=False, min_duration=3.0, duration=4.5)
    assert len(exact.steps) == 135
    trimmed = plan_timeline(24, 24, Fraction(24), loop=False, duration=0.5)
    assert len(trimmed.steps) == 12 and trimmed.extension == "trim"


def test_boomerang_export_plays_back_without_doubled_frames(tmp_path: Path) -> None:
    frames = panning([0, 6, 12, 18, 24, 30], width=96, height=64)
    preset = small_preset(video={"width": 96, "height": 64}, limits={"min_duration": 0.5})
    path = export_clip(frames, 24, preset, tmp_path / "b.mp4", extend="boomerang")
    decoded = decode(path)
    assert len(decoded) == 16  # 6 forward, 5 back, 5 forward: ≥ 12 frames, ending on a turn
    assert all(differs(a, b) for a, b in zip(decoded, decoded[1:]))
    closest = [int(np.argmax([psnr(frame, source) for source in frames])) for frame in decoded]
    assert closest == [0, 1, 2, 3, 4, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5]


# -- framing -------------------------------------------------------------------------------------------


def test_blur_fill_has_no_black_bars_and_does_not_stretch(small: np.ndarray, tmp_path: Path) -> None:
    path = export_clip(small[:6], 24, small_preset(), tmp_path / "blur.mp4", fill="blur")
    frame = decode(path)[0].astype(np.float64)
    fit = cv2.resize(small[0], (180, 102), interpolation=cv2.INTER_AREA)  # 16:9 fitted in 180 wide
    top = (320 - 102) // 2
    assert psnr(frame[top + 2 : top + 100, 2:-2], fit[2:-2, 2:-2]) > 28  # the clip itself, unstretched
    for band in (frame[: top - 4], frame[top + 106 :]):
        assert band.mean() > 20  # not black: a darkened copy of the picture
        assert band.std() > 2  # with structure, not a flat colour
    stretched = cv2.resize(small[0], (180, 320), interpolation=cv2.INTER_AREA)
    assert psnr(frame[top : top + 102], stretched[top : top + 102]) < 22


def test_frame_fill_crops_around_the_given_centre(small: np.ndarray, tmp_path: Path) -> None:
    layout = plan_layout(small[0], small_preset(), "frame", subject=(0.0, 0.5))
    assert layout.crop == (0, 0, 101, 180)
    path = export_clip(small[:4], 24, small_preset(), tmp_path / "left.mp4", subject=(0.0, 0.5))
    frame = decode(path)[0]
    left = cv2.resize(small[0][:, :101], (180, 320), interpolation=cv2.INTER_CUBIC)
    right = cv2.resize(small[0][:, -101:], (180, 320), interpolation=cv2.INTER_CUBIC)
    assert psnr(frame, left) > 28 > psnr(frame, right)


def test_frame_fill_finds_the_subject_by_default(small: np.ndarray) -> None:
    layout = plan_layout(small[0], small_preset(), "frame")
    x, y, w, h = layout.crop
    assert (y, h) == (0, 180) and abs(w / h - 180 / 320) < 0.01
    assert 0 <= x <= 320 - w
    assert layout.work == (101, 180)  # smaller than the output: ffmpeg scales it up once


def test_source_size_with_an_odd_side_is_cropped_even(tmp_path: Path) -> None:
    frames = panning([0, 2, 4], width=75, height=43)
    preset = load_export_presets().get("source")
    path = export_clip(frames, 24, preset, tmp_path / "odd.mp4")
    with av.open(str(path)) as container:
        ctx = container.streams.video[0].codec_context
        assert (ctx.width, ctx.height) == (74, 42)


# -- limits, failures, progress ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "message"),
    [(91.0, r"Instagram Reels allows at most 90 s, the export would last 91\.00 s$"),
     (2.0, r"Instagram Reels needs at least 3 s, the export would last 2\.00 s$")],
)  # fmt: skip
def test_duration_limits(tmp_path: Path, duration: float, message: str) -> None:
    path = tmp_path / "clip.mp4"
    with pytest.raises(ExportError, match=message) as caught:
        export_clip(panning([0, 2]), 24, load_export_presets().get("reels"), path, duration=duration)
    one_line_error(caught, path)
    assert names(tmp_path) == []


def test_a_clip_longer_than_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "long.mp4"
    with pytest.raises(ExportError, match="at most 0.5 s.*set a shorter duration") as caught:
        export_clip(panning([0, 2, 4, 6] * 4), 24, small_preset(limits={"max_duration": 0.5}), path)
    one_line_error(caught, path)
    assert names(tmp_path) == []


def test_bitrate_over_the_limit_is_refused_after_encoding_with_nothing_left(tmp_path: Path) -> None:
    path = tmp_path / "heavy.mp4"
    noise = np.random.default_rng(1).integers(0, 256, (6, 64, 96, 3), dtype=np.uint8)
    preset = small_preset(video={"width": 96, "height": 64}, limits={"max_bitrate": "1k"})
    with pytest.raises(
        ExportError, match=r"Test allows 1 kbit/s, the file came out at [\d.]+ [kM]bit/s$"
    ) as caught:
        export_clip(noise, 24, preset, path)
    one_line_error(caught, path)
    assert names(tmp_path) == []


def test_estimated_bitrate_over_the_limit_is_refused_before_encoding(tmp_path: Path) -> None:
    prores = load_export_presets().get("prores")
    capped = dataclasses.replace(prores, max_bitrate=500_000)
    path = tmp_path / "clip.mov"
    with pytest.raises(
        ExportError, match=r"allows 500 kbit/s, this export would need about 874 kbit/s$"
    ) as caught:
        export_clip(panning([0, 2]), 24, capped, path)
    one_line_error(caught, path)
    assert names(tmp_path) == []


def test_missing_folder_and_wrong_extension(tmp_path: Path) -> None:
    preset = small_preset()
    with pytest.raises(ExportError, match=r"missing: folder does not exist$"):
        export_clip(panning([0, 2]), 24, preset, tmp_path / "missing" / "clip.mp4")
    with pytest.raises(ExportError, match=r"clip\.gif: a Test export must be a \.mp4 file$"):
        export_clip(panning([0, 2]), 24, preset, tmp_path / "clip.gif")
    assert names(tmp_path) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions, not root")
def test_unwritable_folder(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ExportError, match=r"locked: folder is not writable$"):
            export_clip(panning([0, 2]), 24, small_preset(), folder / "clip.mp4")
    finally:
        folder.chmod(0o700)
    assert names(folder) == []


def test_unwritable_folder_when_no_file_can_be_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def refuse(path: str | os.PathLike[str], flags: int, *args: int) -> int:
        if flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(ExportError) as caught:
        export_clip(panning([0, 2]), 24, small_preset(), tmp_path / "clip.mp4")
    assert str(caught.value) == f"{tmp_path}: folder is not writable"
    monkeypatch.undo()
    assert names(tmp_path) == []


@pytest.mark.skipif(os.name != "posix", reason="the fake encoder is a shell script")
def test_disk_full_leaves_the_previous_file_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "clip.mp4").write_bytes(b"previous take")
    fake = tmp_path / "fake-ffmpeg"
    fake.write_text(
        "#!/bin/sh\nhead -c 50000 >/dev/null\n"
        "echo '[out#0/mp4 @ 0x1] Error writing trailer: No space left on device' >&2\nexit 1\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", lambda: str(fake))
    with pytest.raises(ExportError) as caught:
        export_clip(panning([0, 2, 4, 6]), 24, load_export_presets().get("reels"), out / "clip.mp4")
    assert str(caught.value) == f"{out / 'clip.mp4'}: no space left on device"
    assert names(out) == ["clip.mp4"] and (out / "clip.mp4").read_bytes() == b"previous take"


def test_missing_encoder_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(social, "available_encoders", lambda ffmpeg: frozenset({"libx264"}))
    path = tmp_path / "clip.webm"
    with pytest.raises(ExportError, match="this ffmpeg has no libvpx-vp9 encoder") as caught:
        export_clip(panning([0, 2]), 24, load_export_presets().get("webm"), path)
    one_line_error(caught, path)


def test_progress_runs_from_0_to_1_and_a_cancel_leaves_nothing(tmp_path: Path) -> None:
    seen: list[float] = []
    frames = panning([0, 3, 6, 9, 12, 15], width=96, height=64)
    preset = small_preset(video={"width": 96, "height": 64})
    export_clip(frames, 24, preset, tmp_path / "a.mp4", on_progress=seen.append)
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen) and len(seen) > 4

    class Stop(Exception):
        pass

    def cancel(fraction: float) -> None:
        if fraction > 0.5:
            raise Stop

    with pytest.raises(Stop):
        export_clip(frames, 24, preset, tmp_path / "b.mp4", on_progress=cancel)
    assert names(tmp_path) == ["a.json", "a.mp4"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"fill": "stretch"}, "fill must be one of"), ({"extend": "bounce"}, "extend must be one of"),
     ({"subject": (1.5, 0.5)}, "subject must be"), ({"duration": -1.0}, "duration must be"),
     ({"fps_override": 0}, "fps must be")],
)  # fmt: skip
def test_bad_arguments(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        export_clip(panning([0, 2]), 24, small_preset(), tmp_path / "clip.mp4", **kwargs)
    assert names(tmp_path) == []
