"""`i2v compare` end to end: the instant engine and a tiny diffusion pipeline on one photo."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from i2v_desktop.cli import main
from i2v_desktop.export.mp4 import read_frames


def test_two_models_side_by_side_with_a_sheet_a_table_and_a_skip_line(user_models, samples, tmp_path, capsys):
    code = main(["compare", str(samples / "coffee.jpg"), "--models", "instant,tiny-wan,wan2.2-i2v-a14b",
                 "--duration", "0.5", "--aspect", "1:1", "--seed", "3", "--try-anyway", "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    skip = [line for line in captured.err.splitlines() if "skipped wan" in line]
    assert len(skip) == 1 and "wan2.2-i2v-a14b" in skip[0]  and "is not downloaded (i2v download" in skip[0]
    names = sorted(p.name for p in tmp_path.iterdir())
    assert {"coffee-compare.mp4", "coffee-compare.png", "coffee-compare.csv"} <= set(names)
    takes = [n for n in names if n.endswith(".mp4") and "compare" not in n]
    assert len(takes) == 2  # each take is a normal clip too
    with open(tmp_path / "coffee-compare.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["model"] for r in rows] == ["instant", "tiny-wan"] and {r["seed"] for r in rows} == {"3"}
    assert all(float(r["seconds"]) > 0 and 0 <= float(r["overall"]) <= 1 for r in rows)
    assert all(0 <= float(r["move_match"]) <= 1 for r in rows)  # push-in asks for a move: it is scored
    assert {r["clip"] for r in rows} == set(takes)
    frames, fps = read_frames(tmp_path / "coffee-compare.mp4")
    assert frames.shape[2] > frames.shape[1]  # two square cells side by side: wider than high
    assert fps == max(read_frames(tmp_path / t)[1] for t in takes)
    left, right = frames[0, :, : frames.shape[2] // 2], frames[0, :, frames.shape[2] // 2:]
    assert not np.array_equal(left, right)
    assert "instant" in captured.out and "tiny-wan" in captured.out and "best:" in captured.out


def test_presets_are_compared_on_one_model(samples, tmp_path, capsys):
    code = main(["compare", str(samples / "chelsea.jpg"), "--models", "instant", "--preset", "push-in,orbit",
                 "--duration", "0.5", "--out", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    with open(tmp_path / "chelsea-compare.csv", encoding="utf-8") as f:
        assert [r["preset"] for r in csv.DictReader(f)] == ["push-in", "orbit"]


@pytest.mark.parametrize("argv, why", [
    (["--models", "instant"], "needs 2 to 4 takes"),
    (["--models", "instant", "--preset", "a,b,c,d,e"], "unknown motion preset"),
    (["--models", "instant,instant"], "argument --models: names a model twice"),
    (["--models", "instant", "--quality", "best"], "best is not a quality (choose from draft, standard"),
])
def test_a_comparison_that_cannot_be_made_is_refused_in_one_line(samples, tmp_path, capsys, argv, why):
    try:
        code = main(["compare", str(samples / "coffee.jpg"), *argv, "--out", str(tmp_path)])
    except SystemExit as exit:  # the command line itself is refused while it is read
        code = exit.code
    err = capsys.readouterr().err.strip()
    assert code == 2 and why in err and len(err.splitlines()) == 1
    assert not list(tmp_path.iterdir())
