"""Ending on a chosen frame: the engine's frames equal the plain diffusers call with that last frame
(Wan2.1 FLF2V's last_image, LTX-Video's condition at the last frame, Wan2.2 A14B's last_image), an
edited copy of the photo is framed exactly as the photo, and models that cannot say so in one line."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from i2v_desktop.bench.cpu import plain_args
from i2v_desktop.bench.tiny_registry import TINY_ENTRY
from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.errors import RequestError
from i2v_desktop.core.framing import fit_end_frame, fit_image
from i2v_desktop.core.image import load_image
from i2v_desktop.core.presets import load_presets
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.engine import diffusion
from i2v_desktop.engine.diffusion import DiffusionEngine
from i2v_desktop.engine.families import FAMILIES
from i2v_desktop.engine.plan import check_request
from i2v_desktop.engine.registry import load_registry

TOLERANCE = 1e-5
KINDS = ("wan2.1-flf2v", "ltx", "wan2.2-i2v-a14b")


@pytest.fixture(scope="module")
def end_photo(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("end") / "end.png"
    rng = np.random.default_rng(7)
    Image.fromarray(rng.integers(0, 255, (60, 110, 3), dtype=np.uint8)).save(path)
    return str(path)


def request_for(kind: str, photo: str, end: str, **over) -> GenerationRequest:
    return GenerationRequest(image=photo, end_image=end, model=TINY_ENTRY[kind], preset="push-in", duration=1.0,
                             seed=5, steps=8 if kind == "ltx" else 3, prompt="a kite lands on the sand", **over)


@pytest.mark.parametrize("kind", KINDS)
def test_our_frames_with_an_end_frame_are_the_plain_diffusers_frames(kind, registry, tiny_folders, photo, end_photo,
                                                                      monkeypatch):
    import diffusers

    engine = DiffusionEngine(registry, load_presets(), device="cpu", speed="off")
    try:
        returned = []
        to_uint8 = diffusion._to_uint8
        monkeypatch.setattr(diffusion, "_to_uint8", lambda f: returned.append(np.array(f)) or to_uint8(f))
        request = request_for(kind, photo, end_photo)
        family = FAMILIES[registry.get(TINY_ENTRY[kind]).family]
        called = []
        call_args = family.call_args
        monkeypatch.setattr(family, "call_args", lambda *a: called.append(call_args(*a)) or called[-1])
        clip = engine.generate(request, lambda event: None, CancelToken())
        entry = registry.get(TINY_ENTRY[kind])
        args = plain_args(engine, entry, request)
        last = args.get("last_image") or args["conditions"][-1].image
        assert "last_image" in args or [c.frame_index for c in args["conditions"]] == [0, clip.num_frames - 1]
        source = load_image(end_photo)
        assert np.array_equal(np.asarray(last), fit_image(source, last.size)[0])  # its own subject: another shape
        ours_last = called[0].get("last_image") or called[0]["conditions"][-1].image
        assert np.array_equal(np.asarray(ours_last), np.asarray(last))  # the engine hands the pipeline that frame
        pipe = getattr(diffusers, entry.pipeline).from_pretrained(tiny_folders[kind])
        pipe.set_progress_bar_config(disable=True)
        plain = np.asarray(pipe(**args).frames[0], dtype=np.float32)
        assert float(np.abs(returned[0] - plain).max()) <= TOLERANCE
        if kind == "wan2.2-i2v-a14b":
            return  # its tiny random experts barely feel the last frame (1e-5): the frame handed over is checked above
        # The end frame matters to the model: ending on the photo instead renders another clip, so
        # the equality above is not two sides that both dropped it.
        other = dict(args, generator=torch.Generator("cpu").manual_seed(request.seed))
        if "last_image" in other:
            other["last_image"] = other["image"]
        else:
            first = other["conditions"][0]
            other["conditions"] = [first, type(first)(image=first.image, frame_index=clip.num_frames - 1)]
        assert float(np.abs(np.asarray(pipe(**other).frames[0], dtype=np.float32) - plain).max()) > 1e-3
        experimental = any("experimental" in n for n in clip.info.notes)
        assert experimental == (kind == "wan2.2-i2v-a14b")
    finally:
        engine.close()




def test_an_edited_copy_of_the_photo_is_framed_exactly_as_the_photo(photo, tmp_path):
    source = load_image(photo)
    edited = tmp_path / "edited.png"
    pixels = np.asarray(Image.open(photo)).copy()
    pixels[:10] = 255  # the edit
    Image.fromarray(pixels).save(edited)
    first, _, box = fit_image(source, (32, 48), (0.2, 0.5))
    last = fit_end_frame(load_image(str(edited)), (32, 48), source, box)
    assert np.array_equal(last[12:], first[12:]) and not np.array_equal(last, first)


@pytest.mark.parametrize("model, why", [
    ("instant", "Instant (2.5D, no AI model) cannot end on a chosen frame: it moves the photo itself"),
    ("wan2.1-i2v-14b-480p", "cannot end on a chosen frame: its pipeline conditions the first frame only"),
    ("svd-xt", "cannot end on a chosen frame"),
])
def test_a_model_that_cannot_end_on_a_chosen_frame_says_so_in_one_line(model, why):
    request = GenerationRequest(image="p.jpg", end_image="e.jpg", model=model)
    with pytest.raises(RequestError, match=re.escape(why)) as err:
        check_request(load_registry().get(model), request)
    assert "\n" not in str(err.value)


def test_a_clip_cannot_both_loop_and_end_on_another_photo():
    request = GenerationRequest(image="p.jpg", end_image="e.jpg", model="wan2.1-flf2v-14b-720p", loop=True)
    with pytest.raises(RequestError, match="cannot both loop and end on another photo"):
        check_request(load_registry().get("wan2.1-flf2v-14b-720p"), request)


def test_flf2v_without_an_end_frame_or_a_loop_is_refused_in_one_line_and_with_a_loop_it_runs(
        registry, photo):
    request = GenerationRequest(image=photo, model=TINY_ENTRY["wan2.1-flf2v"], duration=1.0, steps=2)
    with pytest.raises(RequestError, match="makes the motion between two frames: give it an end frame"):
        check_request(load_registry().get("wan2.1-flf2v-14b-720p"), request)
    engine = DiffusionEngine(registry, load_presets(), device="cpu", speed="off")
    try:
        from dataclasses import replace

        clip = engine.generate(replace(request, loop=True), lambda event: None, CancelToken())
        assert clip.num_frames > 1
    finally:
        engine.close()


def test_the_cli_renders_an_end_frame_records_it_and_lists_which_models_can(registry, tiny_folders, photo, end_photo,
                                                                            isolated_home, tmp_path, capsys):
    import json

    from i2v_desktop.cli import main
    from i2v_desktop.studio.records import read_record

    folder = isolated_home / "config" / "i2v_desktop"
    folder.mkdir(parents=True, exist_ok=True)
    entry = {"id": "tiny-flf2v", "base": "wan2.1-flf2v-14b-720p", "name": "Tiny FLF2V",
             "path": str(tiny_folders["wan2.1-flf2v"]), "resolutions": {"tiny": [64, 64]}, "max_frames": 9,
             "tiers": {q: {"resolution": "tiny", "steps": 2} for q in ("draft", "standard", "final")},
             "tiny_decoder": None}
    (folder / "models.json").write_text(json.dumps({"models": [entry]}))
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "needs an end frame (--end-image) or --loop" in out and "end frame (experimental)" in out
    code = main(["render", photo, "--model", "tiny-flf2v", "--end-image", end_photo, "--duration", "0.5",
                 "--seed", "2", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 0, err
    [clip] = tmp_path.glob("*.mp4")
    assert read_record(clip).request().end_image == str(Path(end_photo).resolve())
    code = main(["render", photo, "--model", "instant", "--end-image", end_photo, "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "cannot end on a chosen frame" in err and len(err.splitlines()) == 1
