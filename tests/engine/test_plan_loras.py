"""Planning a job's LoRAs without the disk: the preset's camera LoRA (used, turned off, not
downloaded, not made for the model, none) and the user's files, per expert."""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import MappingProxyType

import pytest

from i2v_desktop.core.errors import RequestError
from i2v_desktop.core.presets import PresetLora, load_presets
from i2v_desktop.core.request import GenerationRequest, LoraUse
from i2v_desktop.engine.plan import denoisers_for, plan_render
from i2v_desktop.engine.registry import load_registry

SHA = "1a2b3c4d5e6f" + "0" * 52


@dataclass(frozen=True)
class Camera:
    id: str = "ltx2-dolly-in"
    name: str = "LTX-2 Dolly In"
    base: tuple[str, ...] = ("ltx-2.3-22b",)
    trigger: str = "dolly in shot"


@pytest.fixture(scope="module")
def registry():
    return load_registry()


@pytest.fixture(scope="module")
def push_in():
    """Push in with a camera LoRA on LTX-2, its trigger words from the registry."""
    preset = load_presets().get("push-in")
    ltx2 = replace(preset.families["ltx2"], lora=PresetLora("ltx2-dolly-in", 0.8))
    return replace(preset, families=MappingProxyType({**preset.families, "ltx2": ltx2}))


def plan(entry, preset, camera=None, path=None, **request):
    return plan_render(entry, GenerationRequest(image="a.jpg", preset=preset.id, **request), (1280, 720), preset,
                       camera, path)


def test_the_camera_lora_on_disk_is_planned_with_its_trigger_before_the_motion_words(registry, push_in):
    entry = registry.get("ltx-2.3-22b")
    made = plan(entry, push_in, Camera(), "/cache/dolly.safetensors", prompt="a red kite")
    [lora] = made.loras
    assert (lora.adapter, lora.path, lora.strength, lora.into) == (
        "camera-ltx2-dolly-in", "/cache/dolly.safetensors", 0.8, ("transformer",))
    assert lora.record() == {"camera": "ltx2-dolly-in", "name": "LTX-2 Dolly In", "strength": 0.8}
    assert made.prompt.startswith("a red kite. dolly in shot. The camera")
    assert "Push in: the LTX-2 Dolly In camera LoRA at strength 0.8" in made.notes
    assert plan(entry, push_in, Camera(), "/x", camera_lora=-0.5).loras[0].strength == -0.5
    # The preset's own trigger words, where it gives them, win over the registry's.
    own = replace(push_in.families["ltx2"], lora=PresetLora("ltx2-dolly-in", 0.8, "dolly forward"))
    preset = replace(push_in, families=MappingProxyType({**push_in.families, "ltx2": own}))
    assert "dolly forward. The camera" in plan(entry, preset, Camera(), "/x").prompt


@pytest.mark.parametrize("case, note", [
    ("off", "Push in: the LTX-2 Dolly In camera LoRA is turned off: prompt words only"),
    ("not downloaded", "Push in: the LTX-2 Dolly In camera LoRA is not downloaded (the Models page, or "
                       "`i2v download ltx-2.3-22b`): prompt words only"),
    ("other model", "Push in: the LTX-2 Dolly In camera LoRA is not made for LTX-2.3 22B (sound): prompt words only"),
    ("not in the registry", "Push in: the camera LoRA 'ltx2-dolly-in' is not in the model registry: "
                            "prompt words only"),
])
def test_without_the_camera_lora_the_prompt_words_alone_and_a_note_says_why(registry, push_in, case, note):
    entry = registry.get("ltx-2.3-22b")
    camera, path, request = {
        "off": (Camera(), "/x", {"camera_lora": 0}),
        "not downloaded": (Camera(), None, {}),
        "other model": (Camera(base=("ltx-2-19b",)), "/x", {}),
        "not in the registry": (None, None, {}),
    }[case]
    made = plan(entry, push_in, camera, path, prompt="a red kite", **request)
    assert made.loras == () and note in made.notes
    assert made.prompt.startswith("a red kite. The camera")


def test_a_preset_without_a_camera_lora_adds_no_note_unless_a_strength_was_asked(registry, push_in):
    wan = registry.get("wan2.2-ti2v-5b")
    assert not any("LoRA" in n for n in plan(wan, push_in).notes)
    asked = plan(wan, push_in, camera_lora=1.0)
    assert "Push in: no camera LoRA makes this move on Wan2.2 TI2V-5B: prompt words only" in asked.notes


def test_user_loras_go_into_the_denoisers_their_expert_names(registry, push_in):
    a14b, ti2v = registry.get("wan2.2-i2v-a14b"), registry.get("wan2.2-ti2v-5b")
    assert a14b.denoisers == 2 and ti2v.denoisers == 1
    assert denoisers_for(a14b, "high") == ("transformer",)
    assert denoisers_for(a14b, "low") == ("transformer_2",)
    assert denoisers_for(a14b, "both") == ("transformer", "transformer_2")
    assert {denoisers_for(ti2v, e) for e in ("high", "low", "both")} == {("transformer",)}
    uses = (LoraUse("/loras/orbit_high.safetensors", SHA, 0.7, "high"), LoraUse("/loras/orbit_low.safetensors", SHA,
                                                                                 0.6, "low"))
    made = plan(a14b, push_in, loras=uses)
    assert [(p.adapter, p.into, p.strength, p.label) for p in made.loras] == [
        ("user-1a2b3c4d5e6f-high", ("transformer",), 0.7, "orbit_high.safetensors"),
        ("user-1a2b3c4d5e6f-low", ("transformer_2",), 0.6, "orbit_low.safetensors")]
    assert made.loras[0].record() == {"file": "orbit_high.safetensors", "sha256": SHA, "strength": 0.7,
                                      "expert": "high"}


def test_a_user_lora_at_strength_zero_is_left_out_with_a_note(registry, push_in):
    made = plan(registry.get("wan2.2-ti2v-5b"), push_in, loras=(LoraUse("/l/style.safetensors", SHA, 0.0),))
    assert made.loras == () and "style.safetensors at strength 0: left out" in made.notes


@pytest.mark.parametrize("model", ["svd-xt", "hunyuanvideo-1.5-i2v-480p"])
def test_a_model_without_a_lora_loader_refuses_user_loras_in_one_line(registry, push_in, model):
    entry = registry.get(model)
    with pytest.raises(RequestError) as error:
        plan(entry, push_in, loras=(LoraUse("/l/style.safetensors", SHA),))
    assert str(error.value) == (f"{entry.name} takes no LoRAs (diffusers has no LoRA loader for its family): "
                                f"render without style.safetensors, or choose a Wan or LTX model")
    assert plan(entry, push_in).loras == ()  # without them it plans as before


def test_a_family_section_without_a_lora_plans_no_camera_lora(registry, push_in):
    bare = replace(push_in.families["ltx2"], lora=None)
    preset = replace(push_in, families=MappingProxyType({**push_in.families, "ltx2": bare}))
    made = plan(registry.get("ltx-2.3-22b"), preset, Camera(), "/x")
    assert made.loras == () and not any("LoRA" in n for n in made.notes)


def test_the_instant_engine_refuses_the_users_loras_in_one_line_before_anything_runs(tmp_path):
    from i2v_desktop.core.errors import RequestError
    from i2v_desktop.core.request import GenerationRequest, LoraUse
    from i2v_desktop.engine.plan import check_request
    from i2v_desktop.engine.registry import load_registry

    request = GenerationRequest(image="p.jpg", model="instant", loras=(LoraUse("/l/style.safetensors", "a" * 64),))
    with pytest.raises(RequestError, match=r"takes no LoRAs \(it is not a diffusion model\): render without "
                                           r"style.safetensors") as err:
        check_request(load_registry().get("instant"), request)
    assert "\n" not in str(err.value)
