"""LocalStudio: the whole Studio Protocol, on the real registry, presets, history, exporter and queue."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pytest

from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.errors import ModelError, RequestError
from i2v_desktop.core.presets import load_presets
from i2v_desktop.core.record import ClipRecord
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.core.studio import ExportJob, Limits, Studio
from i2v_desktop.engine.plan import plan_render
from i2v_desktop.engine.registry import load_registry
from i2v_desktop.export.mp4 import read_frames, write_mp4
from i2v_desktop.export.social import load_export_presets
from i2v_desktop.storage.history import History
from i2v_desktop.studio.local import LocalStudio
from i2v_desktop.studio.records import METADATA_KEY
from i2v_desktop.studio.render import Engines


@pytest.fixture
def studio(tmp_path) -> LocalStudio:
    made = LocalStudio(Engines(load_registry(), load_presets(), device="cpu"), History(tmp_path / "history"),
                       load_export_presets(), tmp_path / "data")
    yield made
    made.close()


def protocol_members() -> list[str]:
    return sorted(name for name in vars(Studio) if not name.startswith("_"))


def test_local_studio_is_a_studio_with_every_member_and_the_same_parameters(studio):
    assert isinstance(studio, Studio)
    assert {"fallback_model", "models", "render", "export_many", "load_queue", "close"} <= set(protocol_members())
    for name in protocol_members():
        wanted, made = inspect.getattr_static(Studio, name), inspect.getattr_static(LocalStudio, name, None)
        assert made is not None, f"LocalStudio has no {name}"
        if isinstance(wanted, property):
            assert isinstance(made, property), name
            continue
        assert list(inspect.signature(made).parameters.values()) == \
            list(inspect.signature(wanted).parameters.values()), name


def test_models_offer_instant_first_with_its_limits_and_every_registry_model(studio):
    registry = load_registry()
    choices = studio.models(look=False)
    assert [choice.id for choice in choices] == list(registry.models)
    instant = choices[0]
    assert instant.id == studio.fallback_model == "instant"
    assert (instant.engine, instant.family, instant.installed, instant.fits) == ("instant", "instant", True, True)
    assert instant.limits == Limits(0.5, 15.0, (8.0, 60.0), 24.0)  # models.json: what the window offered
    assert instant.note == registry.get("instant").summary
    wan = studio.model("wan2.2-ti2v-5b")
    assert (wan.engine, wan.family, wan.fits) == ("diffusion", "wan", None)  # the machine is not looked at yet
    assert wan.installed is False and "34.2 GB download" in wan.note
    assert all(choice.installed is None for choice in choices[1:])  # look=False leaves the disk alone


def test_a_local_folder_is_a_model_named_by_its_full_path(studio, tmp_path):
    folder = tmp_path / "my-wan"
    folder.mkdir()
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "WanPipeline", "expand_timesteps": True}))
    choice = studio.model(str(folder))
    assert choice.id == str(folder.resolve()) and choice.family == "wan" and choice.engine == "diffusion"
    with pytest.raises(ModelError, match="no such model folder"):
        studio.model(str(tmp_path / "nothing"))
    with pytest.raises(ModelError, match="unknown model 'nope'"):
        studio.model("nope")


@pytest.mark.parametrize("duration", [0.5, 1.0, 2.2, 3.0, 5.0, 7.5, 15.0])
@pytest.mark.parametrize("fps", [None, 8.0, 12.0, 16.0, 25.0, 30.0, 60.0])
def test_timing_agrees_with_the_engines_planner_for_every_model(studio, duration, fps):
    presets = load_presets()
    for entry in load_registry().models.values():
        choice = studio.model(entry.id)
        low, high = choice.limits.min_duration, choice.limits.max_duration
        request = GenerationRequest(image="photo.jpg", model=entry.id, duration=min(max(duration, low), high),
                                    fps=fps, aspect=entry.aspects[0], quality=entry.qualities[0],
                                    end_image="end.jpg" if entry.needs_end_frame else None)
        plan = plan_render(entry, request, (1280, 720), presets.get("orbit"))
        assert choice.timing(request.duration, fps) == (plan.num_frames, plan.fps), (entry.id, duration, fps)


def test_motion_words_follow_the_models_family_and_check_refuses_in_one_line(studio):
    orbit = load_presets().get("orbit")
    assert studio.motion_words("wan2.2-ti2v-5b", "orbit", 0.5) == orbit.for_family("wan").prompt_for(0.5)
    assert studio.motion_words("ltx-video-2b-distilled", "orbit", 0.5) == orbit.for_family("ltx").prompt_for(0.5)
    assert studio.motion_words("wan2.2-ti2v-5b", "orbit", 0.5) != studio.motion_words("svd-xt", "orbit", 0.5)
    assert [preset.id for preset in studio.presets()] == list(load_presets().presets)
    with pytest.raises(RequestError, match=r"^Instant \(2.5D, no AI model\) makes clips of 0.5 to 15 s, not 20 s$"):
        studio.check(GenerationRequest(image="photo.jpg", model="instant", duration=20.0))
    with pytest.raises(Exception, match="unknown motion preset 'moonwalk'"):
        studio.check(GenerationRequest(image="photo.jpg", model="instant", preset="moonwalk"))
    studio.check(GenerationRequest(image="photo.jpg", model="instant", duration=3.0))


def test_render_keeps_clips_in_the_history_to_star_play_and_delete(studio, samples):
    saved, events = [], []
    request = GenerationRequest(image=str(samples / "coffee.jpg"), model="instant", duration=0.5, fps=12.0,
                                aspect="1:1", quality="draft", seed=3)
    studio.render(request, events.append, CancelToken(), saved.append)
    [clip] = saved
    assert clip.entry.record.seed == 3 and clip.entry.record.model == "instant"
    assert clip.frames.shape[0] == 6 and clip.fps == 12.0 and clip.thumbs.shape[0] == 6
    assert studio.clips() == [clip.entry] == studio.clips(str(samples / "coffee.jpg"))
    assert studio.clips("/elsewhere.jpg") == []
    assert studio.star(clip.entry.id, True).starred and studio.clip(clip.entry.id).starred
    frames, fps = studio.load_clip(clip.entry)
    assert frames.shape == clip.frames.shape and fps == 12.0
    assert studio.thumbnails(clip.entry).shape == clip.thumbs.shape
    assert studio.read_record(clip.entry.mp4).request() == clip.entry.request()
    studio.delete(clip.entry.id)
    assert studio.clips() == [] and not clip.entry.mp4.exists()
    with pytest.raises(KeyError):
        studio.clip(clip.entry.id)


def test_a_clip_leaves_the_history_and_comes_back_with_its_photo_and_post_framing(studio, samples):
    saved = []
    request = GenerationRequest(image=str(samples / "coffee.jpg"), model="instant", duration=0.5, fps=12.0,
                                aspect="1:1", quality="draft", seed=3)
    studio.render(request, lambda event: None, CancelToken(), saved.append)
    [clip] = saved
    files = studio.clip_files(clip.entry)
    assert files[0] == clip.entry.mp4 and all(path.is_file() for path in files)
    assert studio.forget(clip.entry.id) == clip.entry and studio.clips() == []
    assert all(path.is_file() for path in files)
    assert studio.restore(clip.entry) == clip.entry and studio.clips() == [clip.entry]

    height, width = clip.frames.shape[1:3]
    before = studio.framed_photo(clip.entry, (width, height))
    assert before.shape == (height, width, 3) and before.dtype == np.uint8
    # The first frame of the take is its photo, framed the same way.
    assert np.abs(before.astype(int) - clip.frames[0].astype(int)).mean() < 12

    reels = studio.post_framing("reels", clip.frames[0])
    x, y, w, h = reels.crop
    assert reels.size == (1080, 1920) and reels.fit is None
    assert abs(w / h - 9 / 16) < 0.02 and h == height and 0 <= x <= width - w
    blur = studio.post_framing("reels", clip.frames[0], "blur")
    assert blur.crop == (0, 0, width, height) and blur.fit == (1080, 1080)
    with pytest.raises(Exception, match="unknown export preset 'myspace'"):
        studio.post_framing("myspace", clip.frames[0])


def small_clip(path: Path, shade: int, record: ClipRecord | None = None) -> Path:
    frames = np.full((6, 64, 64, 3), shade, np.uint8)
    frames[:, :, : 8 * shade // 40] = 255 - shade  # something that moves would not matter here
    metadata = {} if record is None else {METADATA_KEY: json.dumps(record.to_dict())}
    write_mp4(frames, 12.0, path, metadata=metadata)
    return path


def test_export_many_reports_a_bad_clip_in_one_line_and_exports_the_rest(studio, tmp_path):
    good = [small_clip(tmp_path / "one.mp4", 40), small_clip(tmp_path / "two.mp4", 120)]
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    out = tmp_path / "out"
    jobs = [ExportJob(good[0], "source", out), ExportJob(bad, "source", out), ExportJob(good[1], "source", out),
            ExportJob(good[1], "myspace", out)]
    progress = []
    report = studio.export_many(jobs, CancelToken(), lambda index, fraction: progress.append(index))
    assert report.written == (out / "one_source.mp4", out / "two_source.mp4") and not report.cancelled
    assert [read_frames(path)[0].shape for path in report.written] == [(6, 64, 64, 3)] * 2
    assert len(report.failed) == 2 and all("\n" not in line for line in report.failed)
    assert "bad.mp4" in report.failed[0]
    assert "two.mp4" in report.failed[1] and "unknown export preset 'myspace'" in report.failed[1]
    assert set(progress) == {0, 2}  # the clips that ran told how far they were
    assert [choice.id for choice in studio.export_choices()] == list(load_export_presets().presets)


def test_a_cancel_stops_export_many_in_the_file_it_is_writing(studio, tmp_path):
    clips = [small_clip(tmp_path / f"clip{i}.mp4", 30 + 60 * i) for i in range(3)]
    out = tmp_path / "out"
    cancel = CancelToken()

    def progress(index: int, fraction: float) -> None:
        if index == 1:
            cancel.cancel()  # heard during the second file: it stops, nothing of it is left

    report = studio.export_many([ExportJob(clip, "source", out, stem=f"x{i}") for i, clip in enumerate(clips)],
                                cancel, progress)
    assert report.cancelled and report.written == (out / "x0.mp4",) and report.failed == ()
    assert read_frames(out / "x0.mp4")[0].shape == (6, 64, 64, 3)
    assert sorted(path.name for path in out.iterdir()) == ["x0.json", "x0.mp4"]  # no part of x1


def test_an_old_clips_record_reads_back_and_its_request_survives_the_queue(studio, tmp_path):
    """A clip from request schema 1 (the motion words inside the one prompt), dropped in and queued."""
    words = load_presets().get("orbit").for_family("wan").prompt_for(0.5)
    old = {"schema": "i2v_desktop.clip", "version": 1, "app": "i2v_desktop 0.1.0",
           "request": {"schema": "i2v_desktop.request", "version": 1, "image": "/photos/cat.jpg", "seed": 7,
                       "preset": "orbit", "intensity": 0.5, "model": "wan2.2-ti2v-5b",
                       "prompt": f"A cat on a sofa. {words}"},
           "render": {"model": "wan2.2-ti2v-5b", "seed": 7, "num_frames": 49, "fps": 24.0}}
    clip = small_clip(tmp_path / "old.mp4", 80)
    clip.with_suffix(".json").write_text(json.dumps(old))  # the tags were lost: the sidecar has it
    record = studio.read_record(clip)
    assert (record.seed, record.preset, record.model, record.photo) == (7, "orbit", "wan2.2-ti2v-5b", "/photos/cat.jpg")
    assert record.duration == pytest.approx(49 / 24)
    request = record.request()
    assert (request.prompt, request.motion_prompt) == ("A cat on a sofa.", None)

    other = GenerationRequest(image="/photos/dog.jpg", model="instant", seed=11)
    studio.save_queue([request, other])
    assert (tmp_path / "data" / "history" / "history.sqlite").is_file()  # the queue lives in the history database
    again = LocalStudio(studio.engines, tmp_path / "history", load_export_presets(), tmp_path / "data")
    assert again.load_queue() == [request, other]
    again.save_queue([])
    assert studio.load_queue() == []


def test_prompts_and_pasted_pictures_live_in_the_users_folders(studio, tmp_path):
    assert studio.prompts() == []
    studio.save_prompt("A cat  on a sofa")
    studio.save_prompt("Rain on a window")
    assert studio.prompts() == ["Rain on a window", "A cat on a sofa"]
    studio.forget_prompt("Rain on a window")
    assert studio.prompts() == ["A cat on a sofa"]
    assert (tmp_path / "data" / "prompts.json").is_file()
    assert studio.pasted_folder() == tmp_path / "data" / "pasted"
