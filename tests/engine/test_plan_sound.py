"""Sound in a render's plan: asked for from a model that makes it, it is planned; from one that
makes none, it is snapped off with a note, like any setting the model cannot honour."""

from dataclasses import replace

import pytest

from i2v_desktop.core.presets import load_presets
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.engine.instant import instant_entry, plan_instant
from i2v_desktop.engine.plan import plan_render, plan_sound
from i2v_desktop.engine.registry import load_registry


@pytest.fixture(scope="module")
def wan():
    return load_registry().get("wan2.2-ti2v-5b")


def test_sound_from_a_model_that_makes_none_is_snapped_off_with_a_note(wan):
    assert not wan.sound
    plan = plan_render(wan, GenerationRequest(image="a.jpg", sound=True), (1280, 720), load_presets().get("orbit"))
    assert not plan.sound
    assert f"{wan.name} makes no sound: the clip is silent" in plan.notes


def test_sound_from_a_model_that_makes_it_is_planned_without_a_note(wan):
    sounding = replace(wan, sound=True)
    asked = plan_render(sounding, GenerationRequest(image="a.jpg", sound=True), (1280, 720), load_presets().get("orbit"))
    assert asked.sound and not any("sound" in note for note in asked.notes)
    quiet = plan_render(sounding, GenerationRequest(image="a.jpg"), (1280, 720), load_presets().get("orbit"))
    assert not quiet.sound and plan_sound(wan, GenerationRequest(image="a.jpg")) == (False, None)


def test_the_instant_engine_says_it_makes_no_sound():
    entry = instant_entry()
    plan = plan_instant(entry, GenerationRequest(image="a.jpg", model="instant", sound=True), (640, 480), {})
    assert plan.notes == ("Instant (2.5D, no AI model) makes no sound: the clip is silent",)
    assert plan_instant(entry, GenerationRequest(image="a.jpg", model="instant"), (640, 480), {}).notes == ()
