from dataclasses import astuple, replace

import pytest

from i2v_desktop.core.errors import ModelError, RequestError
from i2v_desktop.core.presets import load_presets
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.engine.plan import plan_render
from i2v_desktop.engine.registry import load_registry


@pytest.fixture(scope="module")
def registry():
    return load_registry()


@pytest.fixture(scope="module")
def presets():
    return load_presets()


def test_wan_default_snaps_to_4k_plus_1_and_reports_real_duration(registry, presets):
    entry = registry.get("wan2.2-ti2v-5b")
    plan = plan_render(entry, GenerationRequest(image="a.jpg", duration=3.0, aspect="source"), (1280, 720), presets.get("orbit"))
    assert plan.fps == 24 and plan.num_frames == 73 and (plan.num_frames - 1) % 4 == 0
    assert plan.duration == pytest.approx(73 / 24)
    assert (plan.width, plan.height) == (1280, 704)
    assert "orbit" in plan.prompt


def test_portrait_on_wan_5b_is_its_native_portrait_bucket(registry, presets):
    entry = registry.get("wan2.2-ti2v-5b")
    plan = plan_render(entry, GenerationRequest(image="a.jpg", aspect="9:16"), (600, 400), presets.get("push-in"))
    assert (plan.width, plan.height) == (704, 1280)


def test_ltx_uses_8k_plus_1_and_svd_is_fixed(registry, presets):
    ltx = next(e for e in registry.entries.values() if e.family == "ltx")
    plan = plan_render(ltx, GenerationRequest(image="a.jpg", duration=4.0, fps=24), (768, 512), presets.get("wind"))
    assert (plan.num_frames - 1) % 8 == 0 and plan.fps == 24
    svd = registry.get("svd-xt")
    plan = plan_render(svd, GenerationRequest(image="a.jpg", duration=5.0), (1024, 576), presets.get("wind"))
    assert plan.num_frames == 25
    assert "snapped" in " ".join(plan.notes)
    assert 1 <= plan.controls["motion_bucket_id"] <= 255


def test_fps_outside_what_the_model_can_do_is_clamped_and_said(registry, presets):
    entry = registry.get("wan2.1-i2v-14b-480p")
    plan = plan_render(entry, GenerationRequest(image="a.jpg", fps=30), (832, 480), presets.get("orbit"))
    assert plan.fps == entry.fps
    assert any("fps" in note for note in plan.notes)


def test_user_prompt_comes_first_and_preset_negatives_are_added(registry, presets):
    entry = registry.get("wan2.2-ti2v-5b")
    request = GenerationRequest(image="a.jpg", prompt="A perfume bottle on marble", preset="static")
    plan = plan_render(entry, request, (800, 800), presets.get("static"))
    assert plan.prompt.startswith("A perfume bottle on marble. ")
    assert "camera movement" in plan.negative_prompt
    assert entry.negative_prompt[:20] in plan.negative_prompt


def test_quality_tier_and_overrides(registry, presets):
    entry = registry.get("wan2.2-i2v-a14b")
    draft = plan_render(entry, GenerationRequest(image="a.jpg", quality="draft"), (1280, 720), presets.get("orbit"))
    final = plan_render(entry, GenerationRequest(image="a.jpg", quality="final"), (1280, 720), presets.get("orbit"))
    assert draft.width * draft.height < final.width * final.height
    assert draft.steps <= final.steps
    custom = plan_render(entry, GenerationRequest(image="a.jpg", steps=7, guidance=2.0), (1280, 720), presets.get("orbit"))
    assert custom.steps == 7 and custom.guidance == 2.0


def test_every_registry_entry_names_sources_and_valid_buckets(registry):
    assert registry.default == "wan2.2-ti2v-5b"
    assert {"wan2.2-ti2v-5b", "wan2.1-i2v-14b-480p", "wan2.1-i2v-14b-720p", "wan2.2-i2v-a14b", "svd-xt"} <= set(
        registry.entries
    )
    assert any(e.family == "ltx" for e in registry.entries.values())
    for entry in registry.entries.values():
        assert entry.sources, entry.id
        assert entry.repo and entry.licence and entry.commercial
        assert entry.revision is None or len(entry.revision) == 40


def test_the_planner_joins_the_users_words_and_the_motion_words_of_the_model_that_renders():
    registry, presets = load_registry(), load_presets()
    preset = presets.get("orbit")
    wan, ltx = registry.get("wan2.2-ti2v-5b"), registry.get("ltx-video-2b-distilled")
    request = GenerationRequest(image="x.jpg", preset="orbit", intensity=0.5, prompt="A red bicycle")
    wan_words = preset.for_family("wan").prompt_for(0.5).rstrip(".")
    ltx_words = preset.for_family("ltx").prompt_for(0.5).rstrip(".")
    assert plan_render(wan, request, (1920, 1080), preset).prompt == f"A red bicycle. {wan_words}."
    # Re-rendered on LTX, the same request gets LTX's words only.
    again = plan_render(ltx, replace(request, model=ltx.id), (1920, 1080), preset).prompt
    assert again == f"A red bicycle. {ltx_words}." and wan_words not in again
    own = plan_render(wan, replace(request, motion_prompt="The camera circles once."), (1920, 1080), preset)
    assert own.prompt == "A red bicycle. The camera circles once."
    none = plan_render(wan, replace(request, motion_prompt=""), (1920, 1080), preset)
    assert none.prompt == "A red bicycle."


def test_a_loop_says_whether_the_model_was_published_for_it(registry, presets):
    """Wan2.2 I2V-A14B can be handed a last frame, but was published for a first frame only."""
    request = GenerationRequest(image="a.jpg", loop=True)
    orbit = presets.get("orbit")
    a14b = plan_render(registry.get("wan2.2-i2v-a14b"), request, (1280, 720), orbit)
    assert a14b.loop and [n for n in a14b.notes if "experimental" in n]
    ltx = plan_render(registry.get("ltx-video-2b-distilled"), request, (1280, 720), orbit)
    assert ltx.loop and not [n for n in ltx.notes if "loop" in n]
    svd = plan_render(registry.get("svd-xt"), request, (1280, 720), orbit)
    assert not svd.loop and [n for n in svd.notes if "will not loop" in n]
    assert [e.id for e in registry.entries.values() if e.experimental_loop] == ["wan2.2-i2v-a14b"]


def test_an_experimental_loop_needs_a_model_that_can_loop(tmp_path):
    import json

    from i2v_desktop.engine.registry import registry_file

    data = json.loads(registry_file().read_text())
    svd = next(m for m in data["models"] if m["id"] == "svd-xt")
    svd["experimental_loop"] = True
    path = tmp_path / "models.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ModelError, match="svd-xt.*experimental_loop needs loops"):
        load_registry(path)


def test_instant_is_a_registry_entry_planned_by_the_same_code():
    from i2v_desktop.engine.plan import check_request, limits, plan_timing

    registry = load_registry()
    instant = registry.get("instant")
    assert instant.engine == "instant" and registry.fallback == "instant"
    assert "instant" not in registry.entries  # nothing to download, nothing to benchmark on a GPU
    assert all(entry.engine == "diffusion" for entry in registry.entries.values())
    assert astuple(limits(instant)) == (0.5, 15.0, (8.0, 60.0), 24.0)
    assert plan_timing(instant, 3.0, None) == (72, 24.0)  # any frame count, no snapping
    assert plan_timing(instant, 2.0, 90.0) == (120, 60.0)  # the fps range holds
    assert instant.qualities == ("draft", "standard", "final")
    with pytest.raises(RequestError, match="^Instant .* 0.5 to 15 s, not 20 s$"):
        check_request(instant, GenerationRequest(image="a.jpg", model="instant", duration=20.0))
    with pytest.raises(ModelError, match="no fast quality"):
        check_request(instant, GenerationRequest(image="a.jpg", model="instant", quality="fast"))


def test_a_family_added_to_the_registry_breaks_no_preset(registry, presets):
    """A new family's model plans every preset: a preset without its section uses its defaults."""
    newcomer = replace(registry.get("wan2.2-ti2v-5b"), id="newcomer", family="a-new-family")
    for preset in presets.presets.values():
        request = GenerationRequest(image="a.jpg", preset=preset.id, prompt="A cat", model="newcomer")
        plan = plan_render(newcomer, request, (1920, 1080), preset)
        assert plan.prompt.startswith("A cat") and plan.controls == {}
