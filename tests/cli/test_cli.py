"""The `i2v` command line on real engines: tiny pipelines registered as a user's own models."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import av
import pytest

from i2v_desktop.bench.tiny import save_tiny_pipeline
from i2v_desktop.cli import main
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.export.mp4 import read_mp4_metadata
from i2v_desktop.studio.records import METADATA_KEY


def render(args, capsys):
    try:
        code = main(["render", *args])
    except SystemExit as exc:  # refused while the command line is read (argparse)
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_batch_renders_good_photos_reports_bad_ones_and_exits_non_zero(user_models, samples, tmp_path, capsys):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes((samples / "coffee.jpg").read_bytes()[:2000])
    out_dir = tmp_path / "out"
    code, out, err = render(
        [str(samples / "coffee.jpg"), str(broken), str(samples / "astronaut.jpg"),
         "--model", "tiny-wan", "--preset", "orbit", "--seed", "5", "--duration", "0.3", "--out", str(out_dir)],
        capsys,
    )
    assert code == 1
    assert sorted(p.name for p in out_dir.iterdir()) == ["astronaut.json", "astronaut.mp4", "coffee.json", "coffee.mp4"]
    failures = [line for line in err.splitlines() if "broken.jpg" in line and "failed" in line]
    assert failures and "truncated" in failures[0]
    assert "skipped model" in err and "broken" in err  # the bad user entry is named, the rest works
    assert "2 clip(s) written" in err and "1 failed" in err
    assert "coffee.mp4" in out

    mp4 = out_dir / "coffee.mp4"
    with av.open(str(mp4)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (64, 96)  # 9:16 by default
        assert stream.codec_context.profile == "High"
        frames = sum(1 for _ in container.decode(video=0))
    sidecar = json.loads((out_dir / "coffee.json").read_text())
    assert frames == sidecar["render"]["num_frames"] == 9
    embedded = json.loads(read_mp4_metadata(mp4)[METADATA_KEY])
    assert embedded == sidecar
    request = GenerationRequest.from_dict(sidecar["request"])
    assert request.preset == "orbit" and request.seed == 5 and request.model == "tiny-wan"
    assert request.image == "coffee.jpg"  # the file name only: where it lives here is private


def test_variants_get_their_own_files_and_seeds_and_nothing_is_overwritten(user_models, samples, tmp_path, capsys):
    args = [str(samples / "chelsea.jpg"), "--model", "tiny-wan", "--variants", "2", "--seed", "41",
            "--duration", "0.2", "--out", str(tmp_path)]
    assert render(args, capsys)[0] == 0
    seeds = [json.loads((tmp_path / f"chelsea_v{i}.json").read_text())["request"]["seed"] for i in (1, 2)]
    assert seeds == [41, 42]
    assert render(args, capsys)[0] == 0
    assert (tmp_path / "chelsea_v1-2.mp4").exists() and (tmp_path / "chelsea_v1.mp4").exists()


def _has_gpu() -> bool:
    import torch

    return torch.cuda.is_available() or torch.backends.mps.is_available()


@pytest.mark.skipif(_has_gpu(), reason="checks the message on a machine without a GPU")
def test_a_large_model_on_a_machine_without_gpu_says_so_before_downloading(samples, tmp_path, capsys):
    code, _, err = render([str(samples / "coffee.jpg"), "--model", "wan2.2-ti2v-5b", "--out", str(tmp_path)], capsys)
    assert code == 1
    assert "Wan2.2 TI2V-5B needs a GPU" in err and "try anyway" in err and "hours per clip" in err
    assert list(tmp_path.iterdir()) == []


def test_try_anyway_gets_past_the_refusal_to_the_missing_download(samples, tmp_path, capsys):
    code, _, err = render([str(samples / "coffee.jpg"), "--model", "wan2.2-ti2v-5b", "--try-anyway",
                           "--out", str(tmp_path)], capsys)
    assert code == 1 and "needs a GPU" not in err
    assert "Wan2.2 TI2V-5B is not downloaded" in err and "34.2 GB" in err


def test_default_model_without_weights_says_what_to_download(samples, tmp_path, capsys):
    code, _, err = render(
        [str(samples / "coffee.jpg"), "--model", "wan2.2-ti2v-5b", "--out", str(tmp_path), "--device", "cpu"], capsys
    )
    assert code == 1
    assert "Wan2.2 TI2V-5B is not downloaded" in err and "34.2 GB" in err and "i2v download" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args, words",
    [
        (["--preset", "moonwalk"], "unknown motion preset 'moonwalk'"),
        (["--model", "nope"], "unknown model 'nope'"),
        (["--intensity", "3"], "intensity must be between 0 and 1"),
        (["--model", "./no/such/folder"], "no such model folder"),
    ],
)
def test_bad_options_give_one_line_and_exit_2(args, words, samples, tmp_path, capsys):
    code, _, err = render([str(samples / "coffee.jpg"), "--out", str(tmp_path), *args], capsys)
    assert code == 2
    assert words in err and len(err.strip().splitlines()) == 1


def test_an_output_path_that_is_a_file_is_refused(samples, tmp_path, capsys):
    blocker = tmp_path / "out"
    blocker.write_text("")
    code, _, err = render([str(samples / "coffee.jpg"), "--out", str(blocker)], capsys)
    assert code == 2 and str(blocker) in err


def test_models_lists_sizes_memory_fit_licence_and_state_then_each_models_terms(user_models, capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header[:4] == ["id", "name", "download", "on"] and header[-3:] == ["here", "licence", "state"]
    for model in ("instant (default)", "wan2.2-ti2v-5b", "wan2.1-i2v-14b-480p", "wan2.1-i2v-14b-720p",
                  "wan2.2-i2v-a14b", "ltx-video-2b-distilled", "svd-xt", "tiny-wan"):
        assert model in out
    rows = {line.split()[0]: line for line in out.splitlines() if line and not line.startswith(" ")}
    wan = rows["wan2.2-ti2v-5b"]
    for cell in ("Wan2.2 TI2V-5B", "34.2 GB", "48 / 24 / 16 GB", "too big", "Apache-2.0", "not downloaded"):
        assert cell in wan
    assert "20 / 10 / 8 GB" in rows["svd-xt"] and rows["tiny-wan"].rstrip().endswith("local folder")
    # Under the table: each model's verdict with its reason and cost, and its commercial terms.
    assert "  here: too big: needs a GPU with 16 GB (group offload); this machine has none; try anyway: " \
           "on the processor: hours per clip" in out
    assert "Terms: Free, also commercially, while you and your affiliates make under US$10M a year" in out
    assert "Terms: Free, also commercially, while you and your affiliates make under US$1M a year" in out


def test_doctor_shows_the_profile_each_models_verdict_and_the_default(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("This machine\n")
    for label in ("RAM", "disk", "torch", "renders on"):
        assert f"\n  {label} " in out
    assert "where models are downloaded (" in out
    models = out[out.index("\nModels\n"):]
    for model in ("instant", "wan2.2-ti2v-5b", "svd-xt"):
        assert f"\n  {model} " in models
    assert "  instant " in models and "fits: runs on the processor" in models
    assert out.rstrip().splitlines()[-1].startswith("Default: ")


def test_presets_lists_every_motion(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    for preset in ("orbit", "push-in", "pull-out", "pan-left", "pan-right", "tilt-up", "wind", "turntable",
                   "subtle", "static"):
        assert f"\n{preset} " in out


def test_the_installed_entry_points_run():
    bindir = Path(sys.executable).parent
    result = subprocess.run([str(bindir / "i2v"), "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "i2v_desktop" in result.stdout
    result = subprocess.run([str(bindir / "i2v-desktop"), "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "i2v_desktop" in result.stdout


# How many threads numpy's BLAS (OpenBLAS, as numpy's wheels ship it) runs, asked of the library.
_BLAS_THREADS = """
import ctypes, glob, os, sys
import i2v_desktop, numpy
found = glob.glob(os.path.join(os.path.dirname(numpy.__file__) + ".libs", "libscipy_openblas*.so"))
if not found:
    sys.exit(3)
print(ctypes.CDLL(found[0]).scipy_openblas_get_num_threads64_())
"""


@pytest.mark.parametrize("given, expected", [(None, 1), ("2", 2)])
def test_numpys_blas_runs_on_one_thread_unless_the_user_says_otherwise(given, expected):
    env = {key: value for key, value in os.environ.items() if key != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    result = subprocess.run([sys.executable, "-c", _BLAS_THREADS], capture_output=True, text=True, env=env, timeout=60)
    if result.returncode == 3:
        pytest.skip("this numpy ships no OpenBLAS of its own")
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == expected


def test_without_gpu_or_weights_the_default_is_the_instant_engine(samples, tmp_path, capsys):
    """The README's main command: a real clip on a machine with no GPU and nothing downloaded."""
    code, out, err = render([str(samples / "coffee.jpg"), "--preset", "orbit", "--duration", "1",
                             "--quality", "draft", "--out", str(tmp_path)], capsys)
    assert code == 0, err
    assert "Instant (2.5D, no AI model)" in err
    sidecar = json.loads((tmp_path / "coffee.json").read_text())
    assert sidecar["render"]["engine"] == "instant" and sidecar["request"]["model"] == "instant"
    with av.open(str(tmp_path / "coffee.mp4")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.profile == "High" and stream.frames == 24
        assert (stream.codec_context.width, stream.codec_context.height) == (720, 1280)  # 9:16 draft


def test_instant_engine_by_name_with_variants_and_aspect(samples, tmp_path, capsys):
    code, _, err = render([str(samples / "astronaut.jpg"), "--model", "instant", "--preset", "wind", "--variants", "2",
                           "--aspect", "9:16", "--duration", "0.5", "--quality", "draft", "--out", str(tmp_path)], capsys)
    assert code == 0, err
    first, second = (tmp_path / "astronaut_v1.mp4"), (tmp_path / "astronaut_v2.mp4")
    assert first.exists() and second.exists()
    with av.open(str(first)) as container:
        assert (container.streams.video[0].codec_context.width, container.streams.video[0].codec_context.height) == (720, 1280)


def test_every_clip_is_scored_in_its_sidecar_and_summary_and_variants_come_best_first(samples, tmp_path, capsys):
    code, out, err = render([str(samples / "coffee.jpg"), "--model", "instant", "--preset", "push-in", "--variants",
                             "3", "--duration", "1", "--quality", "draft", "--out", str(tmp_path)], capsys)
    assert code == 0, err
    listed = [line.split()[0] for line in out.splitlines() if line.strip().endswith("fps")]
    overall = [json.loads(Path(p).with_suffix(".json").read_text())["score"]["overall"] for p in listed]
    assert len(listed) == 3 and overall == sorted(overall, reverse=True)
    assert out.count("overall") == 3
    embedded = json.loads(read_mp4_metadata(Path(listed[0]))[METADATA_KEY])
    assert set(embedded["score"]) == {"motion", "flicker", "subject", "colour_drift", "loop_seam", "motion_adherence",
                                      "overall"}


def test_score_command_prints_json_with_the_documented_keys(samples, tmp_path, capsys):
    assert render([str(samples / "chelsea.jpg"), "--model", "instant", "--preset", "wind", "--duration", "1",
                   "--quality", "draft", "--out", str(tmp_path)], capsys)[0] == 0
    assert main(["score", str(tmp_path / "chelsea.mp4"), "--source", str(samples / "chelsea.jpg"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"motion", "flicker", "subject", "colour_drift", "loop_seam", "motion_adherence", "overall"}
    assert 0.0 <= data["overall"] <= 1.0 and data["loop_seam"] is None
    assert data["motion_adherence"]["reason"].startswith("parts of the scene move")  # wind: still camera, swaying
    # Without --source: the clip names its photo by file name only (its full path is private),
    # and a photo of that name beside the clip is the one.
    assert main(["score", str(tmp_path / "chelsea.mp4")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"i2v: {tmp_path / 'chelsea.mp4'}: its photo chelsea.jpg is not next to it; name it with --source"]
    shutil.copyfile(samples / "chelsea.jpg", tmp_path / "chelsea.jpg")
    assert main(["score", str(tmp_path / "chelsea.mp4")]) == 0
    assert "overall" in capsys.readouterr().out


def test_score_refuses_a_file_that_is_not_a_video(tmp_path, samples, capsys):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    assert main(["score", str(bad), "--source", str(samples / "coffee.jpg")]) == 1
    err = capsys.readouterr().err
    assert "notes.mp4" in err and len(err.strip().splitlines()) == 1


def test_info_prints_the_settings_a_clip_was_made_with(samples, tmp_path, capsys):
    assert render([str(samples / "coffee.jpg"), "--model", "instant", "--preset", "orbit", "--seed", "77",
                   "--duration", "0.5", "--quality", "draft", "--out", str(tmp_path)], capsys)[0] == 0
    assert main(["info", str(tmp_path / "coffee.mp4")]) == 0
    out = capsys.readouterr().out
    assert "orbit" in out and "seed 77" in out and "coffee.jpg" in out and "overall" in out
    assert main(["info", str(tmp_path / "coffee.mp4"), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["request"]["seed"] == 77
    other = tmp_path / "other.mp4"
    from i2v_desktop.export.mp4 import write_mp4
    import numpy as np

    write_mp4(np.zeros((2, 16, 16, 3), np.uint8), 24, other)
    assert main(["info", str(other)]) == 1
    assert "not made by i2v_desktop" in capsys.readouterr().err


def test_export_for_reels_carries_the_settings_and_meets_the_platform(samples, tmp_path, capsys):
    clips = tmp_path / "clips"
    assert render([str(samples / "coffee.jpg"), "--model", "instant", "--preset", "orbit", "--seed", "9",
                   "--duration", "1", "--fps", "24", "--quality", "draft", "--out", str(clips)], capsys)[0] == 0
    out = tmp_path / "social"
    assert main(["export", str(clips / "coffee.mp4"), "--preset", "reels", "--preset", "gif", "--out", str(out)]) == 0
    assert "coffee_reels.mp4" in capsys.readouterr().out
    reels = out / "coffee_reels.mp4"
    with av.open(str(reels)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.width, video.codec_context.height) == (1080, 1920)
        assert video.average_rate == 30 and video.codec_context.profile == "High"
        assert audio.codec_context.name == "aac" and audio.codec_context.sample_rate == 48000
        assert float(container.duration) / 1e6 >= 3.0  # a 1 s clip lengthened to the platform's minimum
    assert (out / "coffee_gif.gif").exists()
    assert main(["info", str(reels), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["request"]["seed"] == 9


def test_render_can_export_at_once_and_bad_presets_are_one_line(samples, tmp_path, capsys):
    code, out, err = render([str(samples / "astronaut.jpg"), "--model", "instant", "--duration", "1",
                             "--quality", "draft", "--export", "square", "--out", str(tmp_path)], capsys)
    assert code == 0, err
    assert (tmp_path / "astronaut_square.mp4").exists() and f"→ {tmp_path / 'astronaut_square.mp4'}" in out
    code, _, err = render([str(samples / "astronaut.jpg"), "--model", "instant", "--export", "myspace",
                           "--out", str(tmp_path)], capsys)
    assert code == 2 and "myspace" in err and len(err.strip().splitlines()) == 1


def test_export_can_pull_a_drifted_clips_colours_back_to_its_photo(samples, tmp_path, capsys):
    """A take whose colours drifted warm is exported with them matched back to the photo."""
    import numpy as np

    from i2v_desktop.export.mp4 import read_frames, write_mp4
    from i2v_desktop.studio.records import read_record
    from i2v_desktop.quality.scorecard import score_clip

    assert render([str(samples / "coffee.jpg"), "--model", "instant", "--preset", "push-in", "--duration", "1",
                   "--quality", "draft", "--out", str(tmp_path)], capsys)[0] == 0
    frames, fps = read_frames(tmp_path / "coffee.mp4")
    warm = np.clip(frames.astype(int) + [18, 4, -14], 0, 255).astype(np.uint8)
    record = read_record(tmp_path / "coffee.mp4")
    drifted = tmp_path / "drifted.mp4"
    write_mp4(warm, fps, drifted, metadata={METADATA_KEY: json.dumps(record.to_dict())})
    # The clip names its photo by file name: the photo must be beside it to be matched.
    assert main(["export", str(drifted), "--preset", "source", "--match-colour", "--out", str(tmp_path)]) == 1
    assert "--match-colour needs the clip's photo, coffee.jpg, next to the clip" in capsys.readouterr().err
    shutil.copyfile(samples / "coffee.jpg", tmp_path / "coffee.jpg")
    assert main(["export", str(drifted), "--preset", "source", "--match-colour", "--out", str(tmp_path)]) == 0
    fixed, _ = read_frames(tmp_path / "drifted_source.mp4")
    before = score_clip(warm, fps, frames[0]).colour_drift.value
    after = score_clip(fixed, fps, frames[0]).colour_drift.value
    assert after < 0.5 * before


def test_the_instant_engines_limits_hold_on_the_command_line(samples, tmp_path, capsys):
    code, out, err = render([str(samples / "coffee.jpg"), "--model", "instant", "--duration", "20",
                             "--out", str(tmp_path)], capsys)
    assert code != 0 and not list(tmp_path.iterdir())
    assert err.strip().splitlines()[-1] == "i2v: Instant (2.5D, no AI model) makes clips of 0.5 to 15 s, not 20 s"


def test_export_goes_on_past_a_bad_clip_and_names_it_in_one_line(samples, tmp_path, capsys):
    clips = tmp_path / "clips"
    assert render([str(samples / "coffee.jpg"), "--model", "instant", "--duration", "0.5", "--fps", "12",
                   "--aspect", "1:1", "--quality", "draft", "--out", str(clips)], capsys)[0] == 0
    bad = clips / "bad.mp4"
    bad.write_text("not a video")
    out = tmp_path / "out"
    code = main(["export", str(bad), str(clips / "coffee.mp4"), "--preset", "source", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out.splitlines() == [str(out / "coffee_source.mp4")]
    failures = [line for line in captured.err.splitlines() if line.startswith("i2v: ")]
    assert len(failures) == 2 and "bad.mp4" in failures[0] and failures[1] == "i2v: 1 export(s) failed"
    assert main(["info", str(out / "coffee_source.mp4")]) == 0  # the good one carries its settings
    assert "seed" in capsys.readouterr().out



def test_a_preset_that_gives_the_same_clip_for_every_seed_makes_one_and_says_why(samples, tmp_path, capsys):
    code, _, err = render([str(samples / "coffee.jpg"), "--model", "instant", "--preset", "static", "--variants", "3",
                           "--duration", "0.5", "--quality", "draft", "--out", str(tmp_path)], capsys)
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coffee.json", "coffee.mp4"]
    assert ("i2v: Static camera gives the same clip for every seed on this model, so one clip is made, not 3"
            in err.splitlines())
    assert "1 photo(s) × 1 variant(s)" in err


def test_render_sound_on_a_model_without_it_is_a_note_and_info_shows_each_files_sound(samples, tmp_path, capsys):
    import numpy as np

    from i2v_desktop.core.clip import Audio, Clip, RenderInfo
    from i2v_desktop.studio.render import save_clip

    code, out, err = render([str(samples / "coffee.jpg"), "--model", "instant", "--sound", "--duration", "0.5",
                             "--quality", "draft", "--out", str(tmp_path)], capsys)
    assert code == 0, err
    assert "note: Instant (2.5D, no AI model) makes no sound: the clip is silent" in out
    assert main(["info", str(tmp_path / "coffee.mp4")]) == 0
    assert "  sound     none" in capsys.readouterr().out.splitlines()

    t = np.arange(12000) / 24000
    sound = Audio(np.stack([np.sin(2 * np.pi * 440 * t)] * 2, axis=1).astype(np.float32) * 0.5, 24000)
    info = RenderInfo("diffusion", "ltx-2", 32, 32, 12, 24.0, 8, 3.0, 1, "", "")
    request = GenerationRequest(image=str(samples / "coffee.jpg"), sound=True)
    save_clip(Clip(np.zeros((12, 32, 32, 3), np.uint8), 24.0, request, info, sound), tmp_path / "loud.mp4")
    assert main(["info", str(tmp_path / "loud.mp4")]) == 0
    assert "  sound     AAC, 48 kHz, stereo" in capsys.readouterr().out.splitlines()


# -- download and remove, against a local fake of the hub ----------------------------------------


def _fakehub():
    import importlib.util

    if "fakehub" in sys.modules:  # the engine tests have it already
        return sys.modules["fakehub"]
    spec = importlib.util.spec_from_file_location("fakehub", Path(__file__).parents[1] / "engine" / "fakehub.py")
    module = sys.modules["fakehub"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def hub_model(tmp_path, monkeypatch, isolated_home):
    """A user model whose repo is on a fake hub (no network): an index, a config and 1 MB of weights."""
    from huggingface_hub import constants

    hub = _fakehub().FakeHub()
    monkeypatch.setattr(constants, "ENDPOINT", hub.endpoint)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                        hub.endpoint + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    served = tmp_path / "served"
    (served / "unet").mkdir(parents=True)
    (served / "model_index.json").write_text(json.dumps({
        "_class_name": "StableVideoDiffusionPipeline", "unet": ["diffusers", "UNetSpatioTemporalConditionModel"]}))
    (served / "unet" / "config.json").write_text("{}")
    (served / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(bytes(range(256)) * 4000)
    commit = hub.add("test/tiny", served)
    folder = isolated_home / "config" / "i2v_desktop"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "models.json").write_text(json.dumps({"models": [
        {"id": "tiny", "base": "svd-xt", "name": "Tiny", "repo": "test/tiny", "revision": commit, "variant": None}]}))
    try:
        yield hub
    finally:
        hub.close()


def test_download_shows_bytes_speed_and_time_left_and_ctrl_c_keeps_what_arrived(hub_model, capsys, monkeypatch):
    from i2v_desktop.cli import models as cli

    hub_model.rate = 400_000  # bytes per second: the weights take 2.5 s
    shown = cli._TransferLine.__call__

    def interrupted(self, transfer):  # Ctrl+C once some of the weights are here
        shown(self, transfer)
        if transfer.done_bytes > 200_000:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli._TransferLine, "__call__", interrupted)
    assert main(["download", "tiny"]) == 130
    err = capsys.readouterr().err
    assert "Tiny: " in err and " of 1 MB" in err
    assert "paused; what arrived of Tiny is kept, and `i2v download tiny` resumes it" in err
    monkeypatch.setattr(cli._TransferLine, "__call__", shown)
    hub_model.rate = None
    assert main(["download", "tiny"]) == 0
    out, err = capsys.readouterr()
    assert any(r.startswith("bytes=") and r != "bytes=0-" for r in hub_model.ranges)  # it resumed
    assert "Tiny is ready in " in out and "snapshots" in out
    line = [text for text in err.splitlines() if text.startswith("Tiny:")][-1]
    assert "1 MB of 1 MB" in line and "0:00 left" in line


def test_remove_prints_the_space_freed_and_a_second_remove_says_there_is_nothing(hub_model, capsys):
    assert main(["download", "tiny"]) == 0
    capsys.readouterr()
    assert main(["remove", "tiny"]) == 0
    out, _ = capsys.readouterr()
    assert out.strip().startswith("Tiny: 1 MB freed")
    assert main(["remove", "tiny"]) == 2
    assert "i2v: Tiny is not downloaded: there is nothing to remove" in capsys.readouterr().err


@pytest.fixture(scope="module")
def tiny_ltx2(tmp_path_factory) -> Path:
    return save_tiny_pipeline("ltx2", tmp_path_factory.mktemp("models") / "tiny-ltx2")


@pytest.fixture
def ltx2_models(tiny_ltx2, user_models) -> Path:
    """The user models.json with a tiny LTX-2 (sound and a prompt enhancer) next to the tiny Wan."""
    data = json.loads(user_models.read_text())
    data["models"].append({
        "id": "tiny-ltx2", "base": "ltx-2.3-22b", "name": "Tiny LTX-2", "path": str(tiny_ltx2),
        "resolutions": {"tiny": [64, 64]}, "max_frames": 9,
        "tiers": {q: {"resolution": "tiny", "steps": 2} for q in ("draft", "standard", "final")},
    })
    user_models.write_text(json.dumps(data))
    return user_models


def test_enhance_prompt_prints_the_rewrite_and_renders_with_it(ltx2_models, samples, tmp_path, capsys):
    code, out, err = render(
        [str(samples / "coffee.jpg"), "--model", "tiny-ltx2", "--enhance-prompt", "--prompt", "a cup of coffee",
         "--seed", "3", "--duration", "0.3", "--out", str(tmp_path)],
        capsys,
    )
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.startswith("coffee.jpg: ")]
    assert len(lines) == 1
    text = lines[0].removeprefix("coffee.jpg: ")
    assert text.strip()
    sidecar = json.loads((tmp_path / "coffee.json").read_text())
    # The rewrite is the whole prompt: it carries the motion, so no preset words are added to it.
    assert sidecar["request"]["prompt"] == text and sidecar["request"]["motion_prompt"] == ""
    assert sidecar["render"]["prompt"].startswith(text.rstrip("."))


def test_enhance_prompt_with_a_model_that_has_no_enhancer_is_one_line(user_models, samples, tmp_path, capsys):
    code, _, err = render([str(samples / "coffee.jpg"), "--model", "tiny-wan", "--enhance-prompt",
                           "--out", str(tmp_path)], capsys)
    assert code == 2
    assert err.strip().splitlines()[-1] == "i2v: Tiny Wan ships no prompt enhancer"
    assert list(tmp_path.iterdir()) == []


def test_the_bench_takes_every_registry_family():
    from i2v_desktop.cli import build_parser
    from i2v_desktop.engine.registry import FAMILIES

    for family in (*FAMILIES, "all"):
        assert build_parser().parse_args(["bench", "--family", family]).family == family
    with pytest.raises(SystemExit):
        build_parser().parse_args(["bench", "--family", "nope"])
