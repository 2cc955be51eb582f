import pickle

import pytest

from i2v_desktop.core.errors import RequestError
from i2v_desktop.core.request import SCHEMA_VERSION, GenerationRequest


def full_request() -> GenerationRequest:
    return GenerationRequest(
        image="/photos/bottle.jpg", preset="orbit", intensity=0.7, prompt="a glass bottle", motion_prompt="it turns", negative_prompt="blur",
        duration=4.0, fps=24, aspect="9:16", quality="final", seed=1234, variants=3, model="ltx-video-2b-distilled",
        steps=30, guidance=4.5, loop=True, crop_center=(0.4, 0.6),
    )


def test_json_round_trip_keeps_every_field():
    request = full_request()
    again = GenerationRequest.from_json(request.to_json())
    assert again == request
    assert request.to_dict()["version"] == SCHEMA_VERSION


def test_is_frozen_and_picklable():
    request = full_request()
    with pytest.raises(AttributeError):
        request.seed = 5  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(request)) == request


def test_defaults_mean_model_defaults():
    request = GenerationRequest(image="a.png")
    assert request.steps is None and request.guidance is None and request.fps is None
    assert GenerationRequest.from_dict(request.to_dict()) == request


def test_variants_get_consecutive_seeds_and_one_clip_each():
    singles = full_request().variant_requests()
    assert [r.seed for r in singles] == [1234, 1235, 1236]
    assert all(r.variants == 1 for r in singles)


def test_seed_wraps_at_the_top_of_the_range():
    singles = GenerationRequest(image="a.png", seed=2**32 - 1, variants=2).variant_requests()
    assert [r.seed for r in singles] == [2**32 - 1, 0]


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("intensity", 1.5, "intensity"),
        ("duration", 0.0, "duration"),
        ("fps", 0, "fps"),
        ("aspect", "3:2", "aspect"),
        ("quality", "ultra", "quality"),
        ("seed", -1, "seed"),
        ("seed", 1.5, "seed"),
        ("variants", 0, "variants"),
        ("steps", 0, "steps"),
        ("guidance", -1.0, "guidance"),
        ("loop", "yes", "loop"),
        ("crop_center", (0.5, 2.0), "crop_center"),
        ("image", "", "image"),
        ("intensity", float("nan"), "intensity"),
    ],
)
def test_bad_values_are_refused_with_the_field_named(field, value, words):
    with pytest.raises(RequestError, match=words):
        GenerationRequest(**{"image": "a.png", field: value})


def test_from_json_refuses_newer_versions_unknown_fields_and_junk():
    data = full_request().to_dict()
    with pytest.raises(RequestError, match="newer"):
        GenerationRequest.from_dict({**data, "version": SCHEMA_VERSION + 1})
    with pytest.raises(RequestError, match="unknown field"):
        GenerationRequest.from_dict({**data, "colour": "red"})
    with pytest.raises(RequestError, match="not valid JSON"):
        GenerationRequest.from_json("{nope")
    with pytest.raises(RequestError, match="not an i2v_desktop request"):
        GenerationRequest.from_dict({**data, "schema": "other"})
    without_version = dict(data)
    del without_version["version"]
    with pytest.raises(RequestError, match="version"):
        GenerationRequest.from_dict(without_version)


def test_a_schema_1_record_reads_back_with_the_motion_words_split_off():
    from i2v_desktop.core.presets import load_presets

    words = load_presets().get("orbit").for_family("wan").prompt_for(0.7)
    old = {"schema": "i2v_desktop.request", "version": 1, "image": "/photos/bottle.jpg", "preset": "orbit",
           "intensity": 0.7, "prompt": f"A glass bottle on marble. {words}", "model": "wan2.2-ti2v-5b",
           "aspect": "9:16", "variants": 2, "seed": 7}
    request = GenerationRequest.from_dict(old)
    assert request.prompt == "A glass bottle on marble."
    assert request.motion_prompt is None  # the preset's words for whichever model renders it
    assert (request.aspect, request.variants, request.seed) == ("9:16", 2, 7)
    # A schema 1 prompt without the preset's words (the command line's) is kept whole.
    cli = GenerationRequest.from_dict({**old, "prompt": "A glass bottle"})
    assert cli.prompt == "A glass bottle" and cli.to_dict()["version"] == 4 == SCHEMA_VERSION


def test_motion_prompt_must_be_text_or_null():
    with pytest.raises(RequestError, match="motion_prompt"):
        GenerationRequest(image="a.png", motion_prompt=3)  # type: ignore[arg-type]


def test_a_schema_2_request_reads_back_silent_and_within_the_machine():
    old = {"schema": "i2v_desktop.request", "version": 2, "image": "/photos/bottle.jpg", "model": "svd-xt"}
    request = GenerationRequest.from_dict(old)
    assert (request.sound, request.try_anyway) == (False, False)
    again = GenerationRequest.from_json(GenerationRequest(image="a.png", sound=True, try_anyway=True).to_json())
    assert (again.sound, again.try_anyway) == (True, True)
    for name in ("sound", "try_anyway"):
        with pytest.raises(RequestError, match=name):
            GenerationRequest(image="a.png", **{name: "yes"})


def test_loras_and_the_camera_lora_round_trip_and_a_version_3_request_reads_without_them():
    sha = "0123456789abcdef" * 4
    request = GenerationRequest(image="photo.jpg", loras=({"path": "/l/style.safetensors", "sha256": sha,
                                                           "strength": 0.6, "expert": "high"},), camera_lora=0.0)
    back = GenerationRequest.from_json(request.to_json())
    assert back == request and back.loras[0].name == "style.safetensors" and back.loras[0].expert == "high"
    old = {k: v for k, v in request.to_dict().items() if k not in ("loras", "camera_lora")}
    v3 = GenerationRequest.from_dict({**old, "version": 3})
    assert v3.loras == () and v3.camera_lora is None


@pytest.mark.parametrize("bad, why", [
    ({"loras": [{"path": "a.safetensors", "sha256": "xyz"}]}, "sha256"),
    ({"loras": [{"path": "a.safetensors", "sha256": "a" * 64, "strength": 3}]}, "strength must be from -2 to 2"),
    ({"loras": [{"path": "a.safetensors", "sha256": "a" * 64, "expert": "middle"}]}, "expert must be one of"),
    ({"loras": [{"path": "a.safetensors", "sha256": "a" * 64}, {"path": "b.safetensors", "sha256": "a" * 64}]},
     "names the same file twice"),
    ({"loras": "style.safetensors"}, "must be a list of LoRA files"),
    ({"camera_lora": 5}, "camera_lora must be null or a strength"),
])
def test_a_bad_lora_entry_is_refused_in_one_line(bad, why):
    with pytest.raises(RequestError, match=why) as err:
        GenerationRequest(image="photo.jpg", **bad)
    assert "\n" not in str(err.value)


def test_an_end_image_and_keyframes_round_trip_and_bad_ones_are_refused_in_one_line():
    request = GenerationRequest(image="start.jpg", end_image="end.jpg",
                                keyframes=({"x": 0.5, "y": 0.5, "width": 1.0}, {"x": 0.3, "y": 0.4, "width": 0.5}))
    back = GenerationRequest.from_json(request.to_json())
    assert back == request and back.keyframes[1].width == 0.5 and back.end_image == "end.jpg"
    assert GenerationRequest(image="a.jpg").keyframes == () and GenerationRequest(image="a.jpg").end_image is None
    for bad, why in [({"end_image": ""}, "end_image must be a file path"),
                     ({"keyframes": [{"x": 0.5, "y": 0.5}]}, "a start and an end framing"),
                     ({"keyframes": [{"x": 0.5, "y": 0.5, "zoom": 2}] * 2}, "must be a list of framings"),
                     ({"keyframes": [{"x": 1.5, "y": 0.5}] * 2}, "keyframe x must be between 0 and 1")]:
        with pytest.raises(RequestError, match=why) as err:
            GenerationRequest(image="a.jpg", **bad)
        assert "\n" not in str(err.value)
