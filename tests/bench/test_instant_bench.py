"""`i2v bench --instant`: the end-to-end row times the command a user types, and it runs."""

from __future__ import annotations

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
