"""`i2v bench --instant`: the end-to-end row times the command a user types, and it runs."""

from __future__ import annotations

import sys
from pathlib import Path

from i2v_desktop.bench.instant import DURATION, FPS, PRESETS, render_command, zoompan_command
from i2v_desktop.cli import build_parser


def test_the_end_to_end_command_is_a_plain_i2v_render(tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    for preset in PRESETS:
        command = render_command(photo, preset, tmp_path / "out")
        assert command[1] == "-c" and "from i2v_desktop.cli import main" in command[2]
        args = build_parser().parse_args(command[3:])  # what `i2v` itself would parse
        assert args.command == "render" and args.images == [str(photo)]
        assert (args.model, args.preset, args.aspect) == ("instant", preset, "9:16")
        assert (args.duration, args.fps, args.quality) == (DURATION, FPS, "standard")  # standard: 1080p


def test_zoompan_makes_the_same_clip_length_and_size(tmp_path: Path) -> None:
    command = zoompan_command(tmp_path / "photo.jpg", tmp_path / "z.mp4", "ultrafast")
    assert command[command.index("-frames:v") + 1] == str(round(DURATION * FPS))
    assert "s=1080x1920" in command[command.index("-vf") + 1]


def test_the_end_to_end_row_times_a_real_command_that_keeps_no_clip_in_memory(tmp_path: Path) -> None:
    from i2v_desktop.bench.instant import HEIGHT, WIDTH, run_end_to_end
    from i2v_desktop.core.resources import resource_path

    seconds, cpu, peak = run_end_to_end(resource_path("samples") / "coffee.jpg", "push-in", tmp_path / "out")
    assert len(list((tmp_path / "out").glob("coffee*.mp4"))) == 1
    assert seconds > 0 and cpu > 0
    if sys.platform.startswith("linux"):  # the peak is read from /proc
        clip_bytes = round(DURATION * FPS) * WIDTH * HEIGHT * 3  # 450 MB: what a kept clip would add
        assert 50 << 20 < peak < clip_bytes


def test_a_failed_command_is_one_line_naming_the_preset(tmp_path: Path) -> None:
    import pytest

    from i2v_desktop.bench.instant import run_end_to_end

    with pytest.raises(RuntimeError, match=r"i2v render --preset orbit failed: .*missing\.jpg"):
        run_end_to_end(tmp_path / "missing.jpg", "orbit", tmp_path / "out")
