"""Camera-control LoRAs as registry data: loras.json validated, tied to presets and to the models they are for."""

from __future__ import annotations

import copy
import json

import pytest

from i2v_desktop.core.errors import ModelError
from i2v_desktop.core.presets import load_presets
from i2v_desktop.engine.cameraloras import built_in_camera_loras, load_camera_loras, loras_file
from i2v_desktop.engine.registry import FAMILIES, load_registry


def test_the_built_in_file_loads_lightricks_seven_ltx2_camera_loras_with_their_facts():
    loras = built_in_camera_loras()
    assert [lora.id for lora in loras.values()] == [
        f"ltx-2-19b-{move}" for move in ("dolly-in", "dolly-out", "dolly-left", "dolly-right", "jib-up", "jib-down",
                                         "static")]
    for lora in loras.values():
        slug = lora.id.removeprefix("ltx-2-19b-")
        assert lora.repo == "Lightricks/LTX-2-19b-LoRA-Camera-Control-" + "-".join(
            part.capitalize() for part in slug.split("-"))
        assert lora.file == f"ltx-2-19b-lora-camera-control-{slug}.safetensors"
        assert lora.base == ("ltx-2-19b",) and lora.family == "ltx2" and lora.adapter == f"camera-{lora.id}"
        assert lora.licence == "LTX-2.x Community License Agreement" and "US$10M" in lora.commercial
        # Every fact has its source; a null revision says why.
        assert len(lora.sources) >= 5 and (lora.revision is not None or any("revision null" in s for s in lora.sources))
    assert loras["ltx-2-19b-dolly-out"].download_gb == 0.33 and loras["ltx-2-19b-static"].download_gb == 2.21


def test_every_preset_names_a_camera_lora_that_exists_for_its_family_and_makes_its_move():
    registry, presets = load_registry(), load_presets()
    named = {}
    for preset in presets.presets.values():
        for family, motion in preset.families.items():
            if motion.lora is None:
                continue
            lora = registry.camera_lora(motion.lora.id)  # raises for an unknown id
            assert lora.family == family, f"{preset.id}: {lora.id} is a {lora.family} LoRA in the {family} section"
            assert lora.move == preset.move, f"{preset.id} asks for {preset.move}, {lora.id} makes {lora.move}"
            named[preset.id] = lora.id
    assert named == {"push-in": "ltx-2-19b-dolly-in", "pull-out": "ltx-2-19b-dolly-out",
                     "pan-left": "ltx-2-19b-dolly-left", "pan-right": "ltx-2-19b-dolly-right",
                     "tilt-up": "ltx-2-19b-jib-up", "static": "ltx-2-19b-static"}
    # The moves no camera LoRA makes keep their prompt words alone.
    assert presets.get("orbit").for_family("ltx2").lora is None and presets.get("orbit").for_family("wan").lora is None


def test_each_loras_base_models_are_registry_models_of_its_family_and_carry_it():
    registry = load_registry()
    for lora in registry.camera_loras.values():
        for model in lora.base:
            entry = registry.get(model)
            assert entry.family == lora.family, f"{lora.id}: base {model} is a {entry.family} model"
            assert lora in entry.camera_loras and lora in registry.camera_loras_for(entry)
    assert registry.get("ltx-2.3-22b").camera_loras == ()  # the ltx2 family's other models have none
    assert registry.camera_loras_for(registry.get("wan2.2-ti2v-5b")) == ()
    with pytest.raises(ModelError, match="unknown camera LoRA 'nope'"):
        registry.camera_lora("nope")


def test_the_ltx_2_19b_entry_is_the_diffusers_repo_with_sizes_memory_and_licence_derived_with_sources():
    registry = load_registry()
    entry, newer = registry.get("ltx-2-19b"), registry.get("ltx-2.3-22b")
    assert (entry.family, entry.pipeline, entry.repo) == ("ltx2", "LTX2ImageToVideoPipeline", "Lightricks/LTX-2")
    assert entry.licence == newer.licence and entry.terms == newer.terms and entry.commercial == newer.commercial
    assert entry.sound and not entry.enhancer and entry.qualities == ("draft", "standard", "final")
    assert (entry.frame_rule, entry.max_frames, entry.multiple, entry.fps) == ("8k+1", 121, 32, 24.0)
    assert entry.tier("standard").steps == 30 and entry.guidance == 3.0  # diffusers' LTX-2 example
    # Smaller than LTX-2.3 22B in every figure, and the figures agree with each other.
    assert entry.denoiser_gb < newer.denoiser_gb and entry.ram_gb < newer.ram_gb
    assert entry.download_gb > entry.ram_gb and entry.vram_gb["full"] > entry.ram_gb
    assert entry.vram_gb["model_offload"] > entry.denoiser_gb > entry.vram_gb["group_offload"]
    for word in ("Sizes are estimates", "Host RAM", "vram_gb", "tiers", "LICENSE", "revision null"):
        assert any(word in line for line in entry.sources), word
    assert len(entry.camera_loras) == 7


def _file(tmp_path, change) -> str:
    data = json.loads(loras_file().read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    change(data["loras"][0])
    path = tmp_path / "loras.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("change, field, why", [
    (lambda d: d.update(download_gb="big"), "download_gb", "must be the file's size in GB"),
    (lambda d: d.update(download_gb=0), "download_gb", "above 0"),
    (lambda d: d.update(file="dolly.ckpt"), "file", "must name a .safetensors file"),
    (lambda d: d.update(revision="abc"), "revision", "full 40-character commit hash"),
    (lambda d: d.update(move="spin-around"), "move", "must be a camera move"),
    (lambda d: d.update(family="cogvideo"), "family", "must be one of"),
    (lambda d: d.update(base=[]), "base", "must list the model ids"),
    (lambda d: d.update(repo="no-owner"), "repo", "owner/name"),
    (lambda d: d.update(licence=" "), "licence", "non-empty text"),
    (lambda d: d.update(trigger=3), "trigger", "must be text"),
    (lambda d: d.update(sources=[]), "sources", "where each fact comes from"),
    (lambda d: d.pop("commercial"), "commercial", "is missing"),
    (lambda d: d.update(colour="red"), "colour", "is not a field"),
    (lambda d: d.update(id="Dolly In"), "id", "lowercase"),
])
def test_a_bad_field_is_one_line_naming_the_file_the_lora_and_the_field(tmp_path, change, field, why):
    path = _file(tmp_path, change)
    with pytest.raises(ModelError) as raised:
        load_camera_loras(tmp_path / "loras.json", FAMILIES)
    line = str(raised.value)
    assert "\n" not in line and line.startswith(f"{path}: camera LoRA ") and f": {field} " in line and why in line


def test_a_broken_or_twice_listed_file_is_one_line(tmp_path):
    path = tmp_path / "loras.json"
    path.write_text("{nope", encoding="utf-8")
    with pytest.raises(ModelError, match=r"loras.json: not valid JSON"):
        load_camera_loras(path, FAMILIES)
    path.write_text(json.dumps({"models": []}), encoding="utf-8")
    with pytest.raises(ModelError, match=r"needs a \"loras\" list"):
        load_camera_loras(path, FAMILIES)
    item = json.loads(loras_file().read_text(encoding="utf-8"))["loras"][0]
    path.write_text(json.dumps({"loras": [item, item]}), encoding="utf-8")
    with pytest.raises(ModelError, match="'ltx-2-19b-dolly-in': id appears twice"):
        load_camera_loras(path, FAMILIES)
