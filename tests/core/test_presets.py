import json

import pytest

from i2v_desktop.core.errors import PresetError
from i2v_desktop.core.presets import FAMILIES, load_presets, parse_preset

REQUIRED = {"orbit", "push-in", "pull-out", "pan-left", "pan-right", "tilt-up", "wind", "turntable", "subtle", "static"}


def test_builtins_cover_every_required_motion_for_every_family():
    library = load_presets()
    assert REQUIRED <= set(library.ids())
    for preset in library.presets.values():
        assert set(preset.families) <= set(FAMILIES)
        for family in ("wan", "ltx"):
            assert preset.for_family(family).prompt_for(0.5).strip(), (preset.id, family)


def test_intensity_scales_prompt_words_and_native_controls():
    orbit = load_presets().get("orbit")
    assert "slowly" in orbit.for_family("wan").prompt_for(0.0)
    assert "swiftly" in orbit.for_family("wan").prompt_for(1.0)
    low = orbit.for_family("svd").controls_for(0.0)
    high = orbit.for_family("svd").controls_for(1.0)
    mid = orbit.for_family("svd").controls_for(0.5)
    assert low["motion_bucket_id"] < mid["motion_bucket_id"] < high["motion_bucket_id"]
    assert isinstance(mid["motion_bucket_id"], int)
    assert low["noise_aug_strength"] <= high["noise_aug_strength"]


def test_static_moves_less_than_orbit_on_svd():
    library = load_presets()
    still = library.get("static").for_family("svd").controls_for(1.0)["motion_bucket_id"]
    orbit = library.get("orbit").for_family("svd").controls_for(0.0)["motion_bucket_id"]
    assert still < orbit


def _valid(**over):
    data = {
        "id": "spin", "name": "Spin", "description": "Spins.",
        "families": {"wan": {"prompt": "spins {speed}"}, "ltx": {"prompt": "spins"}, "svd": {}, "instant": {}},
    }
    data.update(over)
    return data


def test_user_presets_override_builtins_and_broken_ones_are_reported(tmp_path):
    (tmp_path / "spin.json").write_text(json.dumps(_valid()))
    (tmp_path / "orbit.json").write_text(json.dumps(_valid(id="orbit", name="My orbit")))
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "misnamed.json").write_text(json.dumps(_valid(id="other")))
    library = load_presets(tmp_path)
    assert library.get("spin").name == "Spin"
    assert library.get("orbit").name == "My orbit"
    assert len(library.problems) == 2
    assert any("broken.json" in p and "not valid JSON" in p for p in library.problems)
    assert any("misnamed.json" in p and "file name" in p for p in library.problems)


@pytest.mark.parametrize(
    "over, words",
    [
        ({"id": "Bad Id"}, "id"),
        ({"name": ""}, "name"),
        ({"colour": 1}, "unknown key"),
        ({"families": ["wan"]}, "families"),
        ({"prompt": 3}, "prompt must be text"),
        ({"families": {"wan": {"prompt": "{size}"}, "ltx": {}, "svd": {}, "instant": {}}}, "speed"),
        ({"families": {"wan": {}, "ltx": {}, "svd": {"controls": {"motion_bucket_id": [1, 999]}}, "instant": {}}},
         "within"),
        ({"families": {"wan": {"controls": {"motion_bucket_id": [1, 2]}}, "ltx": {}, "svd": {}, "instant": {}}},
         "not a wan control"),
        ({"families": {"wan": {}, "ltx": {}, "svd": {"controls": {"motion_bucket_id": 5}}, "instant": {}}},
         "intensity 0"),
        ({"families": {"wan": {}, "ltx": {}, "svd": {}, "instant": {"controls": {"zoom": [0, 0.9]}}}}, "within"),
    ],
)
def test_invalid_presets_name_the_file_and_the_problem(over, words):
    with pytest.raises(PresetError, match=words) as info:
        parse_preset(_valid(**over), "my.json")
    assert str(info.value).startswith("my.json: ")


def test_unknown_preset_lists_the_choices():
    with pytest.raises(PresetError, match="orbit"):
        load_presets().get("moonwalk")


def test_a_user_preset_with_an_unknown_family_section_or_missing_one_loads(tmp_path):
    newer = _valid(id="newer")
    newer["families"]["hunyuan"] = {"prompt": "whatever a newer version reads", "controls": {"tilt": [0, 1]}}
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    (tmp_path / "sparse.json").write_text(json.dumps(_valid(
        id="sparse", prompt="the camera {speed} drifts", families={"svd": {"controls": {"motion_bucket_id": [10, 20]}}})))
    library = load_presets(tmp_path)
    assert library.problems == ()
    assert "hunyuan" not in library.get("newer").families
    sparse = library.get("sparse")
    # A missing family renders with its defaults: the generic words and no native controls.
    assert sparse.for_family("wan").prompt_for(0.0) == "the camera slowly drifts"
    assert sparse.for_family("instant").controls_for(1.0) == {}
    assert sparse.for_family("svd").controls_for(1.0) == {"motion_bucket_id": 20}


def test_a_family_no_preset_knows_gets_defaults_from_every_preset():
    for preset in load_presets().presets.values():
        motion = preset.for_family("a-family-added-later")
        assert motion.controls_for(0.5) == {} and motion.prompt == preset.prompt


def test_a_family_section_may_name_a_camera_lora_with_strength_and_trigger():
    data = {"id": "dolly", "name": "Dolly", "description": "In.",
            "families": {"ltx2": {"prompt": "in", "lora": {"id": "ltx2-dolly-in", "strength": 0.8, "trigger": "DOLLY"}}}}
    lora = parse_preset(data, "dolly.json").for_family("ltx2").lora
    assert lora is not None and (lora.id, lora.strength, lora.trigger) == ("ltx2-dolly-in", 0.8, "DOLLY")
    assert parse_preset(data, "dolly.json").for_family("wan").lora is None
    for bad, why in [({"id": ""}, "id must name"), ({"id": "x", "strength": 9}, "strength must be a number"),
                     ({"id": "x", "weight": 1}, "must be an object with id")]:
        data["families"]["ltx2"]["lora"] = bad
        with pytest.raises(PresetError, match=why):
            parse_preset(data, "dolly.json")
