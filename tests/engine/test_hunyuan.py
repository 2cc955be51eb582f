"""HunyuanVideo-1.5 image-to-video: its registry entries and what its adapter adds to the engine.

The family also runs in the shared tests: same frames as diffusers and the preview estimate
(test_equivalence.py), events, previews, cancel within a step and seeds (test_diffusion.py,
through TINY_KINDS). Here: the entries' figures, the frame size the pipeline picks itself, the
guidance that lives in a guider component, the step hook the pipeline lacks, the early warning, a
saved folder loaded as users' folders are.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import replace

import numpy as np
import pytest

from i2v_desktop.bench.tiny_registry import TINY_ENTRY
from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.events import Cancelled, Failed, Stage, StageChanged, StepProgress, Warned
from i2v_desktop.core.presets import load_presets
from i2v_desktop.core.request import ASPECTS, GenerationRequest
from i2v_desktop.engine import diffusion
from i2v_desktop.engine.diffusion import DiffusionEngine
from i2v_desktop.engine.families import FAMILIES
from i2v_desktop.engine.hunyuan import bucket, bucket_base
from i2v_desktop.engine.plan import plan_render
from i2v_desktop.engine.registry import load_latent_rgb, load_registry

KIND = "hunyuan15"
MODEL = TINY_ENTRY[KIND]
IDS = ("hunyuanvideo-1.5-i2v-480p", "hunyuanvideo-1.5-i2v-720p", "hunyuanvideo-1.5-i2v-480p-step-distilled")


@pytest.fixture(scope="module")
def engine(registry):
    made = DiffusionEngine(registry, load_presets(), device="cpu", preview_share=1.0, speed="off")
    yield made
    made.close()


def request_for(photo: str, **over) -> GenerationRequest:
    fields = dict(image=photo, model=MODEL, preset="orbit", duration=1.0, seed=5, steps=2, prompt="a kite")
    return GenerationRequest(**{**fields, **over})


def run(engine: DiffusionEngine, request: GenerationRequest, on_step=None):
    events: list = []
    cancel = CancelToken()

    def sink(event):
        events.append(event)
        if on_step is not None and isinstance(event, StepProgress):
            on_step(event, cancel)

    return engine.run(request, sink, cancel), events


# -- the registry ----------------------------------------------------------------------------------


def test_the_three_checkpoints_are_registered_with_every_field_an_entry_has():
    registry = load_registry()
    entries = [registry.get(model_id) for model_id in IDS]
    for entry in entries:
        assert entry.family == "hunyuan15" and entry.pipeline == "HunyuanVideo15ImageToVideoPipeline"
        assert entry.repo.startswith("hunyuanvideo-community/HunyuanVideo-1.5-Diffusers-")
        assert entry.licence == "Tencent Hunyuan Community License"
        for words in ("European Union", "United Kingdom", "South Korea", "100 million"):
            assert words in entry.terms
        assert "\n" not in entry.commercial and "EU" in entry.commercial
        assert entry.frame_rule == "4k+1" and entry.max_frames == 121 and entry.fps == 24
        assert entry.multiple == 16 and entry.spatial_ratio == 16 and entry.temporal_ratio == 4
        assert not entry.loops and "cannot end on its first frame" in entry.loop_note()
        assert entry.vram_gb["full"] > entry.vram_gb["model_offload"] > entry.vram_gb["group_offload"] > 0
        # Host RAM is the components in bf16; the full plan holds all of them on the GPU.
        assert entry.ram_gb == pytest.approx(16.65 + 14.14 + 2.52 + 0.86 + 0.44, abs=0.05)
        assert entry.vram_gb["full"] > entry.ram_gb and entry.denoiser_gb < entry.vram_gb["model_offload"]
        assert entry.download_gb == 54.2 and not entry.sound and not entry.enhancer
        assert entry.revision is None or len(entry.revision) == 40
        if entry.revision is None:
            assert any(s.startswith("revision: null") for s in entry.sources)  # and says why
        factors, bias = load_latent_rgb(entry.preview)
        assert len(factors) == 32 and all(len(row) == 3 for row in factors) and len(bias) == 3
    base, high, distilled = entries
    assert base.revision == "5a700ee883ff4c1b3d887ec4188755a7a5e2f698"
    assert (base.guidance, base.flow_shift, high.guidance, high.flow_shift) == (6.0, 5.0, 6.0, 7.0)
    # The step-distilled checkpoint is the family's fast tier: no CFG, few steps.
    assert [e.id for e in entries if "fast" in e.tiers] == [distilled.id]
    assert distilled.guidance == 1.0 and distilled.flow_shift == 7.0 and distilled.lora is None
    assert {t.steps for t in distilled.tiers.values()} == {8, 12}
    assert {t.steps for q, t in base.tiers.items()} == {25, 40, 50} and base.tier("final").steps == 50


@pytest.mark.parametrize("model_id", IDS)
def test_each_resolution_is_a_bucket_of_its_checkpoint_that_the_pipeline_keeps(model_id):
    entry = load_registry().get(model_id)
    (width, height), = entry.resolutions.values()
    base = bucket_base(width, height, entry.multiple)
    assert base == (960 if height == 720 else 640)  # the transformers' target_size
    assert bucket(width, height, base, entry.multiple) == (width, height)


@pytest.mark.parametrize("aspect", [a for a in ASPECTS if a != "source"])
@pytest.mark.parametrize("model_id", IDS[:2])
def test_plans_are_snapped_to_the_bucket_the_pipeline_renders(model_id, aspect):
    from diffusers.pipelines.hunyuan_video1_5.image_processor import HunyuanVideo15ImageProcessor

    entry = load_registry().get(model_id)
    request = GenerationRequest(image="a.jpg", model=model_id, aspect=aspect)
    planned = plan_render(entry, request, (1600, 1200), load_presets().get("orbit"))
    plan = FAMILIES["hunyuan15"].fit_plan(entry, planned)
    assert plan.width % 16 == 0 and plan.height % 16 == 0
    # The pipeline, handed a frame of that size, renders that size.
    base = 960 if "720p" in model_id else 640
    processor = HunyuanVideo15ImageProcessor(vae_scale_factor=16)
    size = (plan.height, plan.width)
    assert processor.calculate_default_height_width(*size, base) == size
    assert plan.width * plan.height <= base * base
    assert plan.width / plan.height == pytest.approx(ASPECTS[aspect], rel=0.08)
    assert (plan.num_frames, plan.prompt) == (planned.num_frames, planned.prompt)  # only the size moves
    if aspect == "16:9":
        assert (plan.width, plan.height) == entry.resolutions[next(iter(entry.resolutions))]


def test_every_preset_has_motion_words_for_the_family():
    for preset in load_presets().presets.values():
        motion = preset.for_family("hunyuan15")
        assert motion.prompt and motion.prompt != preset.for_family("wan").prompt, preset.id


# -- the adapter -----------------------------------------------------------------------------------


def test_the_guidance_asked_for_is_the_guider_the_plain_pipeline_would_be_given(
    engine, registry, tiny_folders, photo, monkeypatch
):
    """diffusers' docs: `pipe.guider = pipe.guider.new(guidance_scale=...)`, there being no argument."""
    import diffusers

    from i2v_desktop.bench.cpu import plain_args

    request = request_for(photo, guidance=2.5, steps=3)
    returned = []
    to_uint8 = diffusion._to_uint8
    monkeypatch.setattr(diffusion, "_to_uint8", lambda frames: returned.append(frames) or to_uint8(frames))
    clip = engine.generate(request, lambda event: None, CancelToken())
    assert clip.info.guidance == 2.5 and engine._pipe.guider.guidance_scale == 2.5

    plain = diffusers.HunyuanVideo15ImageToVideoPipeline.from_pretrained(tiny_folders[KIND])
    plain.set_progress_bar_config(disable=True)
    assert plain.guider.guidance_scale == 6.0  # the folder's own
    plain.guider = plain.guider.new(guidance_scale=2.5)
    expected = plain(**plain_args(engine, registry.get(MODEL), request)).frames[0]
    assert float(np.abs(np.asarray(returned[0]) - expected).max()) <= 1e-5

    # Guidance 1.0 (the distilled checkpoint's) runs one transformer pass per step instead of two.
    calls = []
    handle = engine._pipe.transformer.register_forward_hook(lambda *a: calls.append(1))
    try:
        engine.generate(request_for(photo, guidance=1.0, steps=2), lambda event: None, CancelToken())
        one = len(calls)
        engine.generate(request_for(photo, guidance=6.0, steps=2), lambda event: None, CancelToken())
    finally:
        handle.remove()
    assert one == 2 and len(calls) - one == 4


def test_the_prompt_is_encoded_once_for_all_variants(engine, photo):
    stages = []
    for variant in request_for(photo, prompt="a lighthouse at dusk", variants=3).variant_requests():
        _, events = run(engine, variant)
        stages += [e.stage for e in events if isinstance(e, StageChanged)]
    assert stages.count(Stage.ENCODING_PROMPT) == 1
    embeds = engine._embeds[1]
    # Both text encoders, for the prompt and the negative prompt.
    suffixes = ("", "_mask", "_2", "_mask_2")
    assert set(embeds) == {f"{n}prompt_embeds{s}" for n in ("", "negative_") for s in suffixes}


def test_the_step_hook_sees_every_step_and_is_gone_after_a_cancel(engine, photo):
    clip, events = run(engine, request_for(photo, steps=3))
    assert [e.step for e in events if isinstance(e, StepProgress)] == [1, 2, 3]
    scheduler = engine._pipe.scheduler

    def cancel_at_first(event, cancel):
        assert "step" in vars(scheduler)  # the hook is on while the pipeline runs
        cancel.cancel()

    clip, events = run(engine, request_for(photo, steps=4), on_step=cancel_at_first)
    assert clip is None and isinstance(events[-1], Cancelled)
    assert [e.step for e in events if isinstance(e, StepProgress)] == [1]
    assert "step" not in vars(scheduler)  # the class's own step again


def test_a_take_going_wrong_is_flagged_once_a_third_of_the_way_in(engine, photo, monkeypatch):
    seen = []

    def judge(frames, reference, move=None):
        seen.append((frames.shape, reference.shape))
        return "almost static: consider cancelling and reseeding"

    monkeypatch.setattr(diffusion, "early_warning", judge)
    clip, events = run(engine, request_for(photo, steps=6))
    warned = [i for i, e in enumerate(events) if isinstance(e, Warned)]
    assert len(warned) == 1 and len(seen) == 1
    assert [e.step for e in events[: warned[0]] if isinstance(e, StepProgress)][-1] == 2
    assert seen[0][0][1:3] == seen[0][1][:2]
    assert clip is not None


def test_a_loop_is_not_offered_and_the_clip_says_so(engine, photo):
    clip, _ = run(engine, request_for(photo, loop=True))
    assert any("will not loop" in note for note in clip.info.notes)


def test_a_saved_folder_loads_through_the_users_folder_route(tiny_folders, registry, engine, photo):
    folder = tiny_folders[KIND]
    entry = registry.entry_for_folder(folder)
    assert entry.family == "hunyuan15" and entry.local_path == str(folder.resolve())
    own = DiffusionEngine(registry, load_presets(), device="cpu", speed="off")
    try:
        clip, events = run(own, replace(request_for(photo), model=str(folder)))
    finally:
        own.close()
    assert clip is not None, events[-1]
    assert clip.info.model == str(folder)
    reference, _ = run(engine, request_for(photo))
    assert clip.size == reference.size and clip.num_frames == reference.num_frames


def test_a_folder_whose_transformer_renders_other_buckets_is_refused_in_one_line(
    tiny_folders, registry, photo, tmp_path
):
    folder = tmp_path / "other-buckets"
    shutil.copytree(tiny_folders[KIND], folder)
    config = folder / "transformer" / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "target_size": 128}))
    entry = replace(registry.get(MODEL), id="other", local_path=str(folder))
    engine = DiffusionEngine(replace(registry, entries={entry.id: entry}, default=entry.id), load_presets(),
                             device="cpu")
    try:
        clip, events = run(engine, replace(request_for(photo), model=entry.id))
    finally:
        engine.close()
    assert clip is None and isinstance(events[-1], Failed)
    reason = events[-1].reason
    assert "other-buckets" in reason and "128-pixel buckets" in reason and "\n" not in reason


def test_bucket_base_is_the_side_of_the_square_of_the_same_area():
    assert bucket_base(848, 480, 16) == 640 and bucket_base(1280, 720, 16) == 960
    assert bucket_base(64, 64, 16) == 64
    assert bucket_base(848, 480, 16) == round(math.sqrt(848 * 480) / 16) * 16


@pytest.mark.parametrize(
    ("transformer", "expected"),
    [
        ({"target_size": 640, "use_meanflow": False}, "hunyuanvideo-1.5-i2v-480p"),
        ({"target_size": 960, "use_meanflow": False}, "hunyuanvideo-1.5-i2v-720p"),
        ({"target_size": 640, "use_meanflow": True}, "hunyuanvideo-1.5-i2v-480p-step-distilled"),
    ],
    ids=["480p", "720p", "step-distilled"],
)
def test_a_users_folder_gets_the_settings_of_the_checkpoint_its_transformer_says_it_is(
    transformer, expected, tmp_path
):
    (tmp_path / "transformer").mkdir()
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "HunyuanVideo15ImageToVideoPipeline"}))
    (tmp_path / "transformer" / "config.json").write_text(json.dumps(transformer))
    registry = load_registry()
    entry = registry.entry_for_folder(tmp_path)
    base = registry.get(expected)
    assert (entry.resolutions, entry.tiers, entry.guidance, entry.flow_shift) == (
        base.resolutions, base.tiers, base.guidance, base.flow_shift
    )
    assert entry.local_path == str(tmp_path.resolve()) and entry.repo is None


def test_a_download_takes_every_file_the_pipeline_loads(tiny_folders):
    """The tokenizer's chat template is saved as tokenizer/chat_template.jinja: without it the
    pipeline cannot build a single prompt."""
    from huggingface_hub.utils import filter_repo_objects

    from i2v_desktop.engine.weights import _snapshot_kwargs

    folder = tiny_folders[KIND]
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert "tokenizer/chat_template.jinja" in files
    kwargs = _snapshot_kwargs(load_registry().get("hunyuanvideo-1.5-i2v-480p"))
    kept = set(filter_repo_objects(files, allow_patterns=kwargs["allow_patterns"],
                                   ignore_patterns=kwargs["ignore_patterns"]))
    assert kept == set(files)


def test_a_registry_id_loads_its_revision_from_the_hugging_face_cache(tiny_folders, registry, photo, hub_cache):
    """The route a downloaded model takes: repo and revision to the cache's snapshot folder."""
    from i2v_desktop.bench.tiny_registry import FAKE_REVISION

    snapshot = hub_cache / "models--tiny-org--tiny-hunyuan" / "snapshots" / FAKE_REVISION
    shutil.copytree(tiny_folders[KIND], snapshot)
    try:
        entry = replace(registry.get(MODEL), repo="tiny-org/tiny-hunyuan", revision=FAKE_REVISION, local_path=None)
        engine = DiffusionEngine(replace(registry, entries={entry.id: entry}), load_presets(), device="cpu")
        clip, events = run(engine, request_for(photo))
        assert clip is not None, events[-1]
        assert str(snapshot) in engine._pipe.config._name_or_path
        engine.close()
    finally:
        shutil.rmtree(snapshot.parent.parent)


@pytest.mark.parametrize("first", ["i2v_desktop.engine.hunyuan", "i2v_desktop.engine.families"])
def test_either_module_can_be_imported_first(first):
    import subprocess
    import sys

    code = f"import {first}; from i2v_desktop.engine.families import FAMILIES; print(sorted(FAMILIES))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "'hunyuan15'" in out
