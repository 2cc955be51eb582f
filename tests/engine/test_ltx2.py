"""LTX-2.x end to end on the tiny pipeline (bench/tiny_ltx2.py): its sound, its prompt enhancer,
its previews and its distilled schedule, each against what diffusers itself does.

The same-frames, preview-estimate, cancel, event and early-warning tests it shares with the other
families are parametrised in test_equivalence.py and test_diffusion.py.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

from i2v_desktop.bench.cpu import plain_args
from i2v_desktop.bench.tiny_registry import TINY_ENTRY
from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.errors import Cancelled, ModelError
from i2v_desktop.core.events import StepProgress
from i2v_desktop.core.presets import load_presets
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.engine.diffusion import DiffusionEngine
from i2v_desktop.engine.registry import Registry, load_registry

KIND = "ltx2"
MODEL = TINY_ENTRY[KIND]


def _request(photo: str, **over) -> GenerationRequest:
    fields = dict(image=photo, model=MODEL, preset="orbit", duration=1.0, seed=11, steps=3,
                  prompt="a red kite over a windy beach", sound=True)
    return GenerationRequest(**{**fields, **over})


def _plain(folder):
    """The folder as a diffusers user loads it, float32, none of our adjustments."""
    from diffusers import LTX2ImageToVideoPipeline

    pipe = LTX2ImageToVideoPipeline.from_pretrained(folder)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="module")
def engine(registry):
    # Every speed switch off: the invariant is stated for the plain engine.
    made = DiffusionEngine(registry, load_presets(), device="cpu", preview_share=1.0, speed="off")
    yield made
    made.close()


def test_the_clip_has_the_sound_of_the_plain_diffusers_call(engine, registry, tiny_folders, photo):
    request = _request(photo)
    clip = engine.generate(request, lambda event: None, CancelToken())
    args = plain_args(engine, registry.get(MODEL), request)
    plain = _plain(tiny_folders[KIND])(**args)

    np.testing.assert_array_equal(clip.frames, np.clip(np.rint(plain.frames[0] * 255), 0, 255).astype(np.uint8))
    expected = plain.audio[0].float().numpy().T  # (channels, samples) -> (samples, channels)
    assert clip.audio is not None
    assert clip.audio.rate == 8000 and clip.audio.samples.dtype == np.float32
    assert clip.audio.samples.shape == expected.shape and expected.shape[1] == 2  # stereo, as LTX-2
    np.testing.assert_allclose(clip.audio.samples, np.clip(expected, -1.0, 1.0), rtol=0, atol=1e-6)
    assert abs(clip.audio.duration - clip.duration) < 0.2  # the sound lasts as long as the picture


def test_sound_off_leaves_the_clip_silent_and_the_picture_unchanged(engine, photo):
    with_sound = engine.generate(_request(photo), lambda event: None, CancelToken())
    silent = engine.generate(_request(photo, sound=False), lambda event: None, CancelToken())
    assert silent.audio is None and with_sound.audio is not None
    np.testing.assert_array_equal(silent.frames, with_sound.frames)


def test_sound_asked_of_a_model_that_makes_none_is_a_note(registry, photo):
    engine = DiffusionEngine(registry, load_presets(), device="cpu")
    request = replace(_request(photo, steps=2), model=TINY_ENTRY["svd"])
    clip = engine.generate(request, lambda event: None, CancelToken())
    engine.close()
    assert clip.audio is None
    assert any("makes no sound" in note for note in clip.info.notes)


def test_the_first_preview_frame_is_the_photo_at_every_step(engine, photo):
    """LTX-2 keeps the photo's latent as frame 0 (only later frames are denoised), so every
    preview starts on the same picture and only the frames after it move."""
    events = []
    engine.generate(_request(photo, steps=5), events.append, CancelToken())
    previews = [e.preview.frames for e in events if isinstance(e, StepProgress) and e.preview is not None]
    assert len(previews) >= 2
    for frames in previews[1:]:
        np.testing.assert_array_equal(frames[0], previews[0][0])
    assert any(not np.array_equal(a[1:], b[1:]) for a, b in zip(previews, previews[1:]))


def test_the_enhancer_returns_what_the_pipelines_own_enhancer_writes(engine, tiny_folders, photo):
    from PIL import Image

    from i2v_desktop.core.image import load_image
    from i2v_desktop.engine.enhance import system_prompt

    text = engine.enhance_prompt(MODEL, photo, "a red kite", lambda event: None, CancelToken())
    assert engine._key is not None and engine._key[0] == MODEL  # on the model's own pipeline

    plain = _plain(tiny_folders[KIND])
    image = Image.fromarray(load_image(photo, max_pixels=2_000_000).rgb)
    expected = plain.enhance_prompt(prompt="a red kite", system_prompt=system_prompt(plain), image=image)[0]
    assert text == expected.strip() and text
    again = engine.enhance_prompt(MODEL, photo, "a red kite", lambda event: None, CancelToken())
    assert again == text  # the pipeline seeds its sampling: the same prompt, the same rewrite


def test_the_enhancer_reuses_the_loaded_pipeline(engine, photo):
    engine.generate(_request(photo, steps=2), lambda event: None, CancelToken())
    loaded = engine._pipe
    engine.enhance_prompt(MODEL, photo, "a cat", lambda event: None, CancelToken())
    assert engine._pipe is loaded


def test_the_enhancer_stops_between_two_tokens_when_cancelled(engine, photo):
    cancel = CancelToken()
    steps = []
    cancel_at = [None]

    def count(module, args):
        steps.append(1)
        if len(steps) == cancel_at[0]:
            cancel.cancel()  # as the GUI thread would, mid-generation

    engine.enhance_prompt(MODEL, photo, "warm-up", lambda event: None, CancelToken())  # loaded
    hook = engine._pipe.text_encoder.register_forward_pre_hook(count)
    try:
        engine.enhance_prompt(MODEL, photo, "a dog", lambda event: None, CancelToken())
        uncancelled = len(steps)
        steps.clear()
        cancel_at[0] = 3
        with pytest.raises(Cancelled):
            engine.enhance_prompt(MODEL, photo, "a dog", lambda event: None, cancel)
    finally:
        hook.remove()
    assert uncancelled > 6  # the rewrite takes more tokens than that...
    assert 3 <= len(steps) <= 4  # ...and stopped at the next one


def test_a_model_without_an_enhancer_says_so_in_one_line(registry, photo):
    engine = DiffusionEngine(registry, load_presets(), device="cpu")
    with pytest.raises(ModelError, match="ships no prompt enhancer") as error:
        engine.enhance_prompt(TINY_ENTRY["wan2.2-ti2v"], photo, "a cat", lambda event: None, CancelToken())
    assert "\n" not in str(error.value)
    assert engine._pipe is None  # refused before anything loads


def test_the_enhancer_of_a_model_not_downloaded_asks_for_the_download_first(registry, photo):
    from i2v_desktop.bench.tiny_registry import FAKE_REVISION

    base = registry.get(MODEL)
    entry = replace(base, repo="tiny-org/not-here", revision=FAKE_REVISION, local_path=None, download_gb=71.0)
    engine = DiffusionEngine(Registry({entry.id: entry}, entry.id), load_presets(), device="cpu")
    with pytest.raises(ModelError, match=r"is not downloaded.*71 GB; the Models page, or `i2v download") as error:
        engine.enhance_prompt(entry.id, photo, "a cat", lambda event: None, CancelToken())
    assert "\n" not in str(error.value) and engine._pipe is None


def test_the_distilled_checkpoint_runs_its_sigmas_as_given_with_no_guidance(registry, tiny_folders, photo):
    """The real distilled entry's settings on the tiny weights, whose scheduler config shifts
    (token-count mu, shift_terminal) as LTX-2's does."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    distilled = load_registry().get("ltx-2.3-22b-distilled")
    sigmas = list(distilled.call["sigmas"])
    config = json.loads((tiny_folders[KIND] / "scheduler" / "scheduler_config.json").read_text())
    plain = FlowMatchEulerDiscreteScheduler.from_config(config)
    plain.set_timesteps(sigmas=sigmas, mu=1.0)
    assert np.abs(plain.sigmas[:-1].numpy() - np.array(sigmas, dtype=np.float32)).max() > 1e-2  # would move

    tiny = registry.get(MODEL)
    entry = replace(tiny, guidance=distilled.guidance, call=distilled.call)
    engine = DiffusionEngine(Registry({entry.id: entry}, entry.id), load_presets(), device="cpu")
    engine.generate(_request(photo, steps=2), lambda event: None, CancelToken())  # loads
    transformer = engine._pipe.transformer
    forward = transformer.forward
    passes = []
    transformer.forward = lambda *a, **k: passes.append(k["hidden_states"].shape[0]) or forward(*a, **k)
    clip = engine.generate(_request(photo, steps=len(sigmas)), lambda event: None, CancelToken())
    stepped = engine._pipe.scheduler.sigmas.numpy()
    engine.close()
    assert clip.num_frames > 1 and clip.info.guidance == 1.0 and clip.audio is not None
    np.testing.assert_array_equal(stepped, np.array(sigmas + [0.0], dtype=np.float32))
    # One plain pass per step, batch 1: no CFG, no STG, no modality-isolation pass, for picture or sound.
    assert passes == [1] * len(sigmas)


def test_a_folder_saved_as_the_text_to_video_class_loads_as_image_to_video(registry, tiny_folders, photo, tmp_path):
    """The LTX-2.x repos ship model_index.json as LTX2Pipeline; the folder route drives it as I2V."""
    folder = tmp_path / "ltx2-t2v"
    shutil.copytree(tiny_folders[KIND], folder)
    index = folder / "model_index.json"
    index.write_text(json.dumps({**json.loads(index.read_text()), "_class_name": "LTX2Pipeline"}))
    entry = registry.entry_for_folder(folder)
    assert entry.family == KIND and entry.pipeline == "LTX2ImageToVideoPipeline" and entry.sound
    engine = DiffusionEngine(registry, load_presets(), device="cpu")
    clip = engine.generate(_request(photo, steps=2, model=str(folder)), lambda event: None, CancelToken())
    engine.close()
    assert clip.audio is not None and clip.info.model == str(folder)
