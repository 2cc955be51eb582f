"""Every built-in preset's file against the platforms' published upload specs: no edit lists with
audio and video starting together (read from the container's boxes), YouTube's B-frame, keyframe
and frame-rate rules (read back with libav through PyAV, ffprobe's library), the margin over a
platform's minimum length, and the GIF size cap."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from mp4boxes import edit_lists, first_frame_delays

from i2v_desktop.export.encode import AAC_RATE
from i2v_desktop.export.social import (
    MIN_DURATION_MARGIN,
    export_clip,
    load_export_presets,
    output_fps,
    parse_export_preset,
)

av = pytest.importorskip("av")

MOV = ("reels", "tiktok", "shorts", "feed", "square", "landscape", "source", "prores")
YOUTUBE = ("shorts", "landscape")
PICTURE_TYPES = {1: "I", 2: "P", 3: "B"}  # libav's AVPictureType


def probe(path: Path) -> dict:
    """What an uploader reads from the file: each stream's start and length, the video's frame
    types in display order, and where its keyframes fall."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        streams = {s.type: (float(s.start_time * s.time_base), float(s.duration * s.time_base))
                   for s in container.streams}
        reorder = video.codec_context.has_b_frames
        keyframes = [p.pts for p in container.demux(video) if p.pts is not None and p.is_keyframe]
        container.seek(0)
        frames = sorted((f.pts, PICTURE_TYPES[int(f.pict_type)]) for f in container.decode(video=0))
        rate = video.average_rate
        step = 1 / (video.time_base * rate)  # ticks per frame
    kinds = "".join(kind for _, kind in frames)
    return {"streams": streams, "reorder": reorder, "types": kinds, "rate": rate,
            "keyframes": [round(pts / step) for pts in sorted(keyframes)], "frames": len(frames)}


def most_consecutive_b(types: str) -> int:
    return max((len(run) for run in types.replace("I", " ").replace("P", " ").split()), default=0)


@pytest.mark.parametrize("pid", MOV)
def test_no_edit_lists_and_every_track_starts_at_zero(pid: str, exports: dict[str, Path]) -> None:
    path = exports[pid]
    assert edit_lists(path) == []
    assert set(first_frame_delays(path)) <= {0}  # the first frame needs no delay skipped
    seen = probe(path)
    for kind, (start, length) in seen["streams"].items():
        assert start == 0, kind
    if "audio" in seen["streams"]:  # the silent track (priming included) ends with the video
        assert seen["streams"]["audio"][1] == pytest.approx(seen["streams"]["video"][1], abs=1 / AAC_RATE)


def test_platform_files_use_b_frames_without_an_edit_list(exports: dict[str, Path]) -> None:
    """The test above would pass trivially without B-frames: these files have them."""
    for pid in ("reels", "shorts"):
        seen = probe(exports[pid])
        assert "B" in seen["types"] and seen["reorder"] >= 1


@pytest.mark.parametrize("pid", YOUTUBE)
def test_youtube_gets_two_b_frames_at_most_a_keyframe_every_half_second_and_the_clips_rate(
    pid: str, exports: dict[str, Path]
) -> None:
    seen = probe(exports[pid])
    assert seen["rate"] == 24  # the 24 fps clip is not interpolated to 30
    assert most_consecutive_b(seen["types"]) <= 2 and seen["reorder"] <= 2
    assert seen["types"][0] == "I"
    assert seen["keyframes"] == list(range(0, seen["frames"], 12))  # half of 24 frames


def test_youtube_keeps_the_rates_it_takes_and_interpolates_the_others() -> None:
    shorts, reels = load_export_presets().get("shorts"), load_export_presets().get("reels")
    kept = (24, 24000 / 1001, 25, 30, 60)
    assert [output_fps(shorts, rate) for rate in kept] == list(kept)
    assert [output_fps(shorts, rate) for rate in (7, 16)] == [30, 30]  # Stable Video Diffusion, Wan 2.1
    assert output_fps(reels, 24) == 30


def test_shorts_allow_three_minutes() -> None:
    shorts = load_export_presets().get("shorts")
    assert shorts.max_duration == 180 and "answer/15424877" in shorts.reference


@pytest.mark.parametrize("pid", ("reels", "tiktok", "shorts", "feed", "square"))
def test_platform_minimums_are_met_with_a_margin(pid: str, exports: dict[str, Path]) -> None:
    record = json.loads(exports[pid].with_suffix(".json").read_text(encoding="utf-8"))
    preset = load_export_presets().get(pid)
    assert record["duration"] >= preset.min_duration + MIN_DURATION_MARGIN - 1e-9
    with av.open(str(exports[pid])) as container:
        assert container.duration / 1e6 >= preset.min_duration + MIN_DURATION_MARGIN - 1e-3


def test_the_built_in_gif_stays_under_its_cap(exports: dict[str, Path]) -> None:
    gif = load_export_presets().get("gif")
    assert gif.max_bytes == 5_000_000 and exports["gif"].stat().st_size <= gif.max_bytes


def gif_preset(cap: str) -> object:
    return parse_export_preset({
        "id": "tiny-gif", "name": "Tiny GIF", "description": "For tests.", "container": "gif",
        "video": {"codec": "gif", "width": 240, "height": None, "fps": 10},
        "limits": {"min_duration": 0, "max_duration": 60, "max_size": cap}}, "tiny-gif.json")  # fmt: skip


def test_a_gif_over_its_cap_is_made_smaller_and_says_so(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (20, 135, 240, 3), dtype=np.uint8)  # incompressible
    free = export_clip(noise, 10, gif_preset("10M"), tmp_path / "free.gif")
    notes: list[str] = []
    capped = export_clip(noise, 10, gif_preset("500k"), tmp_path / "capped.gif", on_note=notes.append)
    assert free.stat().st_size > 500_000 >= capped.stat().st_size
    record = json.loads(capped.with_suffix(".json").read_text(encoding="utf-8"))
    assert record["width"] < 240 and record["processing"]["size_cap"] == {"max_bytes": 500_000,
                                                                         "first_size": [240, 135]}
    assert len(notes) == 1 and notes[0].startswith(f"{capped}: made {record['width']}×")
    assert "Tiny GIF's 500 kB cap" in notes[0] and "\n" not in notes[0]
    untouched = json.loads(free.with_suffix(".json").read_text(encoding="utf-8"))
    assert "size_cap" not in untouched["processing"]


def test_a_gif_that_cannot_fit_its_cap_is_refused_in_one_line(tmp_path: Path) -> None:
    from i2v_desktop.core.errors import ExportError

    noise = np.random.default_rng(1).integers(0, 256, (30, 135, 240, 3), dtype=np.uint8)
    path = tmp_path / "huge.gif"
    with pytest.raises(ExportError) as caught:
        export_clip(noise, 10, gif_preset("20k"), path)
    message = str(caught.value)
    assert message.startswith(f"{path}: Tiny GIF is capped at 20 kB") and "\n" not in message
    assert list(tmp_path.iterdir()) == []


def test_export_many_reports_the_gif_it_made_smaller(tmp_path: Path) -> None:
    """What the window's banner and `i2v export` show comes from the report, one line per file."""
    from types import MappingProxyType

    from i2v_desktop.core.cancel import CancelToken
    from i2v_desktop.core.presets import Library
    from i2v_desktop.core.studio import ExportJob
    from i2v_desktop.export.mp4 import write_mp4
    from i2v_desktop.studio.exports import export_many

    clip = write_mp4(np.random.default_rng(2).integers(0, 256, (20, 136, 240, 3), dtype=np.uint8), 10,
                     tmp_path / "noise.mp4", crf=1)
    library = Library("export preset", MappingProxyType({"tiny-gif": gif_preset("500k")}))
    report = export_many([ExportJob(clip, "tiny-gif", tmp_path / "out")], CancelToken(), library=library)
    (path,) = report.written
    assert report.failed == () and len(report.notes) == 1 and report.notes[0].startswith(f"{path}: made ")


@pytest.mark.parametrize("loop", (False, True))
def test_a_clip_that_meets_the_minimum_gets_just_the_margin(clip: np.ndarray, tmp_path: Path, loop: bool) -> None:
    """A 3 s clip for Reels (3 s minimum) was made 5.5 s long (a whole second pass) for 0.1 s."""
    three_seconds = np.concatenate([clip, clip, clip])  # 72 frames at 24 fps
    preset = load_export_presets().get("reels")
    out = export_clip(three_seconds, 24, preset, tmp_path / "clip.mp4", loop=loop)
    duration = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))["duration"]
    assert preset.min_duration + MIN_DURATION_MARGIN - 1e-9 <= duration < preset.min_duration + MIN_DURATION_MARGIN + 0.1
