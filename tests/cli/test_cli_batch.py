"""`i2v batch`: a manifest mixing the instant engine and a tiny diffusion model, bad rows, resuming."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from i2v_desktop.cli import main
from i2v_desktop.core.batch import DONE, FAILED, INVALID, RESULTS_FILE, read_results
from i2v_desktop.core.request import GenerationRequest


@pytest.fixture
def shoot(tmp_path, samples) -> Path:
    folder = tmp_path / "shoot"
    folder.mkdir()
    for name in ("coffee", "chelsea", "astronaut"):
        Image.open(samples / f"{name}.jpg").convert("RGB").resize((160, 120)).save(folder / f"{name}.jpg")
    return folder


def batch(args, capsys):
    try:
        code = main(["batch", *args])
    except SystemExit as exc:  # refused while the command line is read (argparse)
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_a_manifest_of_two_engines_renders_reports_bad_rows_and_resumes(user_models, shoot, tmp_path, capsys):
    manifest = shoot / "catalogue.csv"
    manifest.write_text("photo,model,preset,duration,seed,prompt\n"
                        "coffee.jpg,tiny-wan,orbit,0.3,5,a cup of coffee\n"
                        "chelsea.jpg,,wind,,,\n"
                        "astronaut.jpg,,,,,\n"
                        "astronaut.jpg,nope,,,,\n")
    out = tmp_path / "out"
    args = [str(manifest), "--out", str(out), "--model", "instant", "--duration", "0.5", "--fps", "8",
            "--aspect", "1:1", "--preset", "push-in", "--quality", "draft"]
    code, _, err = batch(args, capsys)
    assert code == 1  # row 4 cannot be made
    assert "i2v: 3 row(s) from" in err and "1 that cannot be made" in err
    assert "row 4 astronaut.jpg: invalid: unknown model 'nope'" in err
    assert "i2v: 3 row(s) done, 1 not, 0 done before (skipped)" in err
    results = {r.row: r for r in read_results((out / RESULTS_FILE).read_text())}
    assert {row: r.status for row, r in results.items()} == {1: DONE, 2: DONE, 3: DONE, 4: INVALID}
    sidecar = json.loads((out / "coffee.json").read_text())
    request = GenerationRequest.from_dict(sidecar["request"])
    assert (request.model, request.seed, request.preset, request.prompt) == ("tiny-wan", 5, "orbit", "a cup of coffee")
    assert sidecar["render"]["width"] == 64  # the tiny model's own size, on its own engine
    chelsea = GenerationRequest.from_dict(json.loads((out / "chelsea.json").read_text())["request"])
    assert (chelsea.model, chelsea.preset, chelsea.duration, chelsea.aspect) == ("instant", "wind", 0.5, "1:1")

    code, _, err = batch(args, capsys)
    assert code == 1 and "3 of them done by an earlier run: skipped" in err
    assert "i2v: 0 row(s) done, 1 not, 3 done before (skipped)" in err
    assert "coffee" not in err.replace(str(manifest), "")  # nothing rendered again


def test_a_folder_takes_the_options_as_every_rows_settings_and_exports(shoot, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.chdir(tmp_path)  # both named relative to where the command runs
    code, _, err = batch(["shoot", "--out", "out", "--model", "instant", "--duration", "0.5", "--fps", "8",
                          "--aspect", "1:1", "--preset", "orbit", "--quality", "draft", "--export", "reels", "--workers", "1"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{n}{s}" for n in ("astronaut", "chelsea", "coffee") for s in (".mp4", ".json", "_reels.mp4")]
        + [RESULTS_FILE])
    results = read_results((out / RESULTS_FILE).read_text())
    assert all(r.status == DONE and r.exports for r in results)
    assert {r.worker for r in results} == {results[0].worker}  # one worker, asked for


@pytest.mark.parametrize("args, words", [
    (["--workers", "0"], "i2v batch: argument --workers: workers must be 1 or more, got '0' (see i2v batch --help)"),
    (["--crf", "99"], "i2v batch: argument --crf: crf must be from 1 to 51, got '99' (see i2v batch --help)"),
    (["--crf", "0"], "i2v batch: argument --crf: crf must be from 1 to 51, got '0' (see i2v batch --help)"),
    (["--export", "myspace"], "unknown export preset(s) myspace"),
])
def test_bad_options_are_one_line_before_anything_renders(args, words, shoot, tmp_path, capsys):
    code, _, err = batch([str(shoot), "--out", str(tmp_path / "out"), "--model", "instant", *args], capsys)
    if words.startswith("unknown export"):  # a per-row setting: every row is refused, named
        assert code == 1 and err.count(words) >= 3
        return
    assert code == 2 and err.strip() == words
    assert not (tmp_path / "out").exists()


def test_a_manifest_with_a_misspelt_column_stops_in_one_line(shoot, tmp_path, capsys):
    (shoot / "c.csv").write_text("photo,promt\ncoffee.jpg,a cup\n")
    code, _, err = batch([str(shoot / "c.csv"), "--out", str(tmp_path / "out"), "--model", "instant"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "c.csv: unknown column(s) promt" in err


def test_a_failed_row_is_named_in_the_summary(shoot, tmp_path, capsys):
    (shoot / "broken.jpg").write_bytes((shoot / "coffee.jpg").read_bytes()[:300])
    (shoot / "c.jsonl").write_text('{"photo": "broken.jpg"}\n{"photo": "coffee.jpg"}\n')
    code, _, err = batch([str(shoot / "c.jsonl"), "--out", str(tmp_path / "out"), "--model", "instant",
                          "--duration", "0.5", "--fps", "8", "--aspect", "1:1", "--quality", "draft"], capsys)
    assert code == 1
    results = {r.row: r for r in read_results((tmp_path / "out" / RESULTS_FILE).read_text())}
    assert results[1].status == FAILED and "broken.jpg" in results[1].reason and results[2].status == DONE
    assert f"  row 1 broken: failed: {results[1].reason}" in err
    assert "Traceback" not in err
