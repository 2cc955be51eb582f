"""Issue 14 on the command line: every bad input is one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from i2v_desktop.cli import main
from i2v_desktop.core.resources import resource_path
from i2v_desktop.export.container import video_frames
from i2v_desktop.export.mp4 import read_frames

REPO = Path(__file__).resolve().parents[2]
SAMPLES = resource_path("samples")


def run(argv, capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's refusals
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    """A real 1 s, 24-frame clip with its record, and copies cut at 30, 60 and 90 % of its bytes, in
    the folder of its photo (a clip names its photo by file name: score finds it beside the clip)."""
    folder = tmp_path_factory.mktemp("made")
    shutil.copy(SAMPLES / "coffee.jpg", folder / "coffee.jpg")
    home = tmp_path_factory.mktemp("made-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CONFIG_HOME", str(home / "config"))
        patch.setenv("XDG_DATA_HOME", str(home / "data"))
        code = main(["render", str(folder / "coffee.jpg"), "--model", "instant", "--preset", "push-in",
                     "--duration", "1", "--quality", "draft", "--aspect", "1:1", "--seed", "3", "--out", str(folder)])
    assert code == 0
    data = (folder / "coffee.mp4").read_bytes()
    for share in (30, 60, 90):
        (folder / f"cut{share}.mp4").write_bytes(data[: len(data) * share // 100])
    return folder


# -- 6b ------------------------------------------------------------------------------------------


def test_item6b_a_photo_that_cannot_be_read_in_the_middle_never_stops_the_others(samples, tmp_path, capsys):
    middle = tmp_path / "middle.jpg"
    middle.write_bytes(b"\x00" * 64)
    folder = tmp_path / "folder.jpg"
    folder.mkdir()
    out = tmp_path / "out"
    code, stdout, err = run(["render", str(samples / "coffee.jpg"), str(middle), str(folder), str(samples / "rocket.jpg"),
                             "--model", "instant", "--duration", "0.5", "--quality", "draft", "--aspect", "1:1",
                             "--out", str(out)], capsys)
    assert code == 1 and "Traceback" not in err
    assert sorted(p.name for p in out.glob("*.mp4")) == ["coffee.mp4", "rocket.mp4"]
    summary = err[err.index("i2v: 2 failed:"):].splitlines()
    assert summary[1:] == [f"  {middle}: not an image file", f"  {folder}: is a folder, not an image file"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="the superuser reads every file")
def test_item6b_an_unreadable_photo_is_one_line_of_the_summary(samples, tmp_path, capsys):
    locked = tmp_path / "locked.jpg"
    locked.write_bytes((samples / "chelsea.jpg").read_bytes())
    locked.chmod(0)
    code, _, err = run(["render", str(locked), str(samples / "rocket.jpg"), "--model", "instant", "--duration", "0.5",
                        "--quality", "draft", "--aspect", "1:1", "--out", str(tmp_path / "out")], capsys)
    assert code == 1 and (tmp_path / "out" / "rocket.mp4").exists()
    assert f"  {locked}: cannot read (Permission denied)" in err.splitlines()


# -- 7, 8 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("option, value, words", [
    ("--fps", "0", "fps must be between 1 and 120, got '0'"),
    ("--fps", "1000", "fps must be between 1 and 120, got '1000'"),
    ("--fps", "nan", "fps must be between 1 and 120, got 'nan'"),
    ("--duration", "-3", "duration must be between 0.2 and 600, got '-3'"),
    ("--duration", "inf", "duration must be between 0.2 and 600, got 'inf'"),
    ("--fps", "fast", "fps must be a number, got 'fast'"),
])
def test_item7_export_numbers_are_refused_while_the_command_line_is_read(option, value, words, made, tmp_path,
                                                                         capsys):
    code, _, err = run(["export", str(made / "coffee.mp4"), "--preset", "source", option, value,
                        "--out", str(tmp_path)], capsys)
    assert code == 2 and words in one_line(err) and not list(tmp_path.iterdir())


@pytest.mark.parametrize("command", ["render", "batch"])
@pytest.mark.parametrize("crf", ["0", "99", "-1", "18.5"])
def test_item8_crf_out_of_range_is_refused_before_any_rendering(command, crf, samples, tmp_path, capsys):
    argv = ([command, str(samples / "coffee.jpg")] if command == "render" else [command, str(samples)])
    code, _, err = run([*argv, "--model", "instant", "--crf", crf, "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and "argument --crf: crf must" in one_line(err)
    assert not (tmp_path / "out").exists()  # nothing rendered, not even the folder made


# -- 9 -------------------------------------------------------------------------------------------


def test_item9_the_index_tells_how_many_frames_a_cut_copy_holds(made):
    whole = video_frames(made / "coffee.mp4")
    assert (whole.declared, whole.present) == (24, 24)
    for share in (30, 60, 90):
        cut = video_frames(made / f"cut{share}.mp4")
        assert cut.declared == 24 and cut.present < 24
        # what the index says is there is what a decoder gets out of it
        assert cut.present == len(read_frames_partial(made / f"cut{share}.mp4"))


def read_frames_partial(path: Path) -> np.ndarray:
    from i2v_desktop.export.container import read_video

    return read_video(path).frames


@pytest.mark.parametrize("share", [30, 60, 90])
def test_item9_a_truncated_clip_is_warned_about_or_refused_per_command(share, made, tmp_path, capsys):
    clip = made / f"cut{share}.mp4"
    present = video_frames(clip).present
    truncated = f"{clip}: truncated: {present} of 24 frames"
    # export: refused. What it writes would end early (and a loop would jump) with no one told.
    code, out, err = run(["export", str(clip), "--preset", "source", "--out", str(tmp_path)], capsys)
    assert code == 1 and out == "" and not list(tmp_path.iterdir())
    assert f"i2v: {truncated}; the whole clip is needed" in err.splitlines() and "Traceback" not in err
    # score: the frames that play are scored and the line says how many of how many; a loop seam
    # would be measured at a frame that is not the end, so it is left out. The status is non-zero:
    # a script must not take the file for whole.
    code, out, err = run(["score", str(clip), "--loop", "--json"], capsys)
    assert code == 1 and json.loads(out)["loop_seam"] is None
    assert one_line(err) == f"i2v: {truncated}; scored on those, without the loop seam"
    # info: the settings are intact (the index and the tags come first) and shown; the damage is
    # said, and the status is non-zero so a script does not take the file for whole.
    code, out, err = run(["info", str(clip)], capsys)
    assert code == 1 and "24 frames" in out and one_line(err) == f"i2v: {truncated}"
    # read by the window's player (read_frames): refused in one line, as for export.
    with pytest.raises(Exception, match="truncated"):
        read_frames(clip)


def test_item9_the_window_restores_a_truncated_clips_settings_from_its_intact_record(made):
    """Dragged into the window, a clip gives back its settings (Studio.read_record): the record sits
    in the index at the file's start, so a cut copy still carries it whole."""
    from i2v_desktop.studio.records import read_record

    whole, cut = read_record(made / "coffee.mp4"), read_record(made / "cut30.mp4")
    assert cut.to_dict() == whole.to_dict() and cut.request().seed == 3


def test_item9_a_whole_clip_reads_as_before(made, capsys):
    frames, fps = read_frames(made / "coffee.mp4")
    assert frames.shape[0] == 24 and fps == 24.0
    code, out, err = run(["info", str(made / "coffee.mp4")], capsys)
    assert code == 0 and err == ""


# -- 13 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("photo", ["missing.jpg", "broken.jpg"])
def test_item13_score_with_a_missing_or_broken_photo_is_one_line_without_a_logged_traceback(photo, made, samples,
                                                                                             tmp_path, capsys, caplog):
    source = tmp_path / photo
    if photo == "broken.jpg":
        source.write_bytes((samples / "coffee.jpg").read_bytes()[:1500])
    code, out, err = run(["score", str(made / "coffee.mp4"), "--source", str(source)], capsys)
    reason = "no such file" if photo == "missing.jpg" else "truncated or corrupt image data"
    assert code == 1 and out == ""
    assert one_line(err) == f"i2v: {made / 'coffee.mp4'}: cannot be scored: {source}: {reason}"
    assert not [r for r in caplog.records if r.exc_info]


# -- 14 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [["info", "CLIP"], ["presets"], ["export", "--list"]])
def test_item14_a_reader_that_closes_the_pipe_ends_the_command_quietly(argv, made):
    argv = [str(made / "coffee.mp4") if arg == "CLIP" else arg for arg in argv]
    code = "import sys; from i2v_desktop.cli import main; sys.exit(main())"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", code, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)
    proc.stdout.close()  # `| head -0`: the reader is gone before the first line
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 141  # what a shell shows for a tool ended by SIGPIPE
    assert err == ""


# -- 16 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["photo.jpg", "photo.mp4", "photo.png", "photo.gif"])
def test_item16_a_picture_given_as_a_clip_is_one_line_and_a_non_zero_exit(name, samples, tmp_path, capsys):
    picture = tmp_path / name
    Image.open(samples / "coffee.jpg").save(picture, format={"png": "PNG", "gif": "GIF"}.get(name[-3:], "JPEG"))
    code, _, err = run(["score", str(picture), "--source", str(samples / "coffee.jpg")], capsys)
    assert code == 1 and one_line(err) == f"i2v: {picture}: is a picture, not a video clip"
    code, out, err = run(["export", str(picture), "--preset", "source", "--out", str(tmp_path / "out")], capsys)
    assert code == 1 and out == "" and f"i2v: {picture}: is a picture, not a video clip" in err.splitlines()
    assert not list((tmp_path / "out").iterdir())


# -- 17 ------------------------------------------------------------------------------------------


def test_item17_an_extreme_upscale_and_crop_are_warned_and_the_motion_score_stays_meaningful(tmp_path, capsys):
    tiny = np.zeros((12, 16, 3), np.uint8)
    tiny[:, 8:] = 255  # half black, half white: flat areas and one edge, where flow can say anything
    Image.fromarray(tiny).save(tmp_path / "icon.png")
    banner = np.zeros((100, 1500, 3), np.uint8)
    banner[:, :, 0] = np.linspace(0, 255, 1500, dtype=np.uint8)[None, :]
    banner[30:70, ::50] = 255
    Image.fromarray(banner).save(tmp_path / "banner.png")
    code, out, err = run(["render", str(tmp_path / "icon.png"), str(tmp_path / "banner.png"), "--model", "instant",
                          "--preset", "orbit", "--aspect", "source", "--duration", "1", "--quality", "draft",
                          "--out", str(tmp_path / "out")], capsys)
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("i2v: ⚠")]
    assert warnings == [
        "i2v: ⚠ icon.png: 16x12 pixels enlarged 70x to 1112x832; above 4x the clip can only be blurred: "
        "use a larger photo",
        "i2v: ⚠ banner.png: 1500x100 pixels enlarged 6x to 1664x552; above 4x the clip can only be blurred: "
        "use a larger photo",
        "i2v: ⚠ banner.png: the 1664x552 frame keeps 20% of this 1500x100 photo (less than 50%): "
        "choose another aspect or crop it first",
    ]
    # The orbit moves the camera a few percent of the frame a second, as on any photo; the flow's
    # length on this picture used to read 87.6 %/s (347.5 on the photo).
    motion = json.loads((tmp_path / "out" / "icon.json").read_text())["score"]["motion"]["value"]
    assert 0.5 < motion < 15.0


def test_item17_a_photo_the_right_size_is_not_warned_about(samples, tmp_path, capsys):
    code, _, err = run(["render", str(samples / "coffee.jpg"), "--model", "instant", "--duration", "0.5",
                        "--quality", "draft", "--aspect", "source", "--out", str(tmp_path)], capsys)
    assert code == 0 and "⚠" not in err
