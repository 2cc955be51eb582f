"""With every speed feature off, our engine renders the frames the plain diffusers call renders.

For each family a tiny pipeline with the real model's structural features (Wan2.1 I2V with its
CLIP image encoder; Wan2.2 TI2V with expand_timesteps and the 48-channel VAE; Wan2.2 A14B with two
experts and boundary_ratio; LTX with and without a last-frame condition; SVD) goes through
DiffusionEngine, loaded by the registry's folder route, and through a pipeline freshly loaded
from the same folder by diffusers alone and called as its docs show: prompt text, same seed,
same settings, no callback. Then the previews: the denoiser's estimate at the last step, frame
for frame, is the latent the pipeline decodes.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import replace

import numpy as np
import pytest

from i2v_desktop.bench.cpu import plain_args
from i2v_desktop.bench.tiny_registry import TINY_ENTRY
from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.framing import fit_image
from i2v_desktop.core.image import load_image
from i2v_desktop.core.presets import load_presets
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.engine import diffusion
from i2v_desktop.engine.diffusion import DiffusionEngine, _StepCallback
from i2v_desktop.engine.plan import plan_render
from i2v_desktop.engine.registry import Registry

# (tiny kind, loop). LTX's loop adds a conditioning frame at the end, whose tokens the pipeline
# puts in front of the video's; Wan2.2 A14B's loop (experimental) passes last_image. LTX-2 makes
# sound too: tests/engine/test_ltx2.py holds its sound to the plain call the same way.
CASES = [
    ("wan2.1-i2v", False),
    ("wan2.2-ti2v", False),
    ("wan2.2-i2v-a14b", False),
    ("wan2.2-i2v-a14b", True),
    ("ltx", False),
    ("ltx", True),
    ("svd", False),
    ("ltx2", False),
]
IDS = [f"{kind}{'-loop' if loop else ''}" for kind, loop in CASES]
# LTX at the distilled checkpoint's own step count, so its explicit timestep list is what runs.
STEPS = {"ltx": 8}
TOLERANCE = 1e-5


def _request(kind: str, photo: str, loop: bool) -> GenerationRequest:
    return GenerationRequest(image=photo, model=TINY_ENTRY[kind], preset="orbit", duration=1.0, seed=11,
                             steps=STEPS.get(kind, 3), loop=loop, prompt="a red kite over a windy beach")


def _plain_pipeline(folder, pipeline: str):
    """The folder as a diffusers user loads it for image-to-video (the class the diffusers docs
    use: Wan2.2 TI2V-5B's repo says WanPipeline, its image-to-video example loads
    WanImageToVideoPipeline), float32, none of our adjustments."""
    import diffusers

    pipe = getattr(diffusers, pipeline).from_pretrained(folder)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _engine_render(engine: DiffusionEngine, request: GenerationRequest, monkeypatch) -> np.ndarray:
    """The float frames the pipeline returned to the engine, which the clip holds as uint8."""
    returned = []
    to_uint8 = diffusion._to_uint8
    # Only watches: the engine hands the pipeline's float frames to _to_uint8, which still runs.
    monkeypatch.setattr(diffusion, "_to_uint8", lambda frames: returned.append(np.array(frames)) or to_uint8(frames))
    clip = engine.generate(request, lambda event: None, CancelToken())
    assert len(returned) == 1
    np.testing.assert_array_equal(clip.frames, to_uint8(returned[0]))
    return returned[0]


@pytest.fixture(scope="module")
def engines(registry):
    # preview_share=1: a preview at every step, so the previews are shown not to touch the render.
    made: dict[str, DiffusionEngine] = {}

    def engine_for(kind: str) -> DiffusionEngine:
        if kind not in made:
            # Every speed switch off: the invariant is stated for the plain engine.
            made[kind] = DiffusionEngine(registry, load_presets(), device="cpu", preview_share=1.0, speed="off")
        return made[kind]

    yield engine_for
    for engine in made.values():
        engine.close()


@pytest.mark.parametrize(("kind", "loop"), CASES, ids=IDS)
def test_our_frames_are_the_plain_diffusers_frames(kind, loop, engines, registry, tiny_folders, photo, monkeypatch):
    engine = engines(kind)
    request = _request(kind, photo, loop)
    ours = _engine_render(engine, request, monkeypatch)

    entry = registry.get(TINY_ENTRY[kind])
    args = plain_args(engine, entry, request)
    if loop:
        assert "last_image" in args or len(args["conditions"]) == 2  # the loop reached the call
    plain = np.asarray(_plain_pipeline(tiny_folders[kind], entry.pipeline)(**args).frames[0], dtype=np.float32)

    assert ours.shape == plain.shape
    assert float(np.abs(ours - plain).max()) <= TOLERANCE


def _plan_and_frame(engine: DiffusionEngine, request: GenerationRequest):
    entry = engine.registry.resolve(request.model)
    source = load_image(request.image)
    plan = plan_render(entry, request, source.size, engine.presets.get(request.preset))
    frame, _, _ = fit_image(source, (plan.width, plan.height), request.crop_center)
    return entry, plan, frame


@pytest.mark.parametrize(("kind", "loop"), CASES, ids=IDS)
def test_the_preview_estimate_at_the_last_step_is_the_latent_that_gets_decoded(kind, loop, engines, photo):
    """Also what makes LTX previews line up in time with the clip: a preview's frame t is the
    clip's latent frame t, with or without the loop's conditioning tokens in front."""
    engine = engines(kind)
    request = _request(kind, photo, loop)
    engine.generate(request, lambda event: None, CancelToken())  # loads the pipeline
    pipe = engine._pipe
    entry, plan, frame = _plan_and_frame(engine, request)

    callback = _StepCallback(engine, entry, plan, frame, lambda event: None, CancelToken())
    estimates = []

    def watch(pipe, i, t, kwargs):
        estimates.append(callback.estimate(pipe, kwargs["latents"]))
        return callback(pipe, i, t, kwargs)

    args = plain_args(engine, entry, request)
    args.update(output_type="latent", callback_on_step_end=watch, callback_on_step_end_tensor_inputs=["latents"])
    final = pipe(**args).frames
    if entry.family == "ltx2":
        # LTX-2's "latent" output is denormalised for a VAE decode; the denoiser works (and the
        # previews look) in the normalised space.
        final = pipe._normalize_latents(final, pipe.vae.latents_mean, pipe.vae.latents_std,
                                        pipe.vae.config.scaling_factor)
    final = final[0].transpose(0, 1) if entry.family == "svd" else final[0]  # as (C, T, h, w)

    last = estimates[-1]
    assert last is not None and last.shape == final.shape
    if getattr(pipe.config, "expand_timesteps", False):
        # Wan2.2 TI2V: frame 0 is the photo's own latent, merged in after the loop (the preview
        # shows the photo there); every later frame is the estimate.
        last, final = last[:, 1:], final[:, 1:]
    assert float((last - final).abs().max()) <= TOLERANCE


@pytest.mark.parametrize(
    "reshaping",
    [
        {"shift_terminal": 0.1},
        {"shift": 3.0},
        # Lightricks/LTX-Video's own root config: plain diffusers refuses it in this pipeline.
        {"use_dynamic_shifting": True, "shift_terminal": 0.1},
    ],
    ids=["shift_terminal", "shift", "ltx-root-config"],
)
def test_ltx_runs_the_distilled_timesteps_as_given_whatever_the_scheduler_config(
    reshaping, registry, tiny_folders, photo, tmp_path
):
    from diffusers import FlowMatchEulerDiscreteScheduler

    folder = tmp_path / "ltx"
    shutil.copytree(tiny_folders["ltx"], folder)
    config_file = folder / "scheduler" / "scheduler_config.json"
    config_file.write_text(json.dumps({**json.loads(config_file.read_text()), **reshaping}))
    entry = replace(registry.get(TINY_ENTRY["ltx"]), local_path=str(folder))
    timesteps = list(entry.call["timesteps"])

    # What the scheduler does with that config when handed the list, as the pipeline hands it.
    plain = FlowMatchEulerDiscreteScheduler.from_pretrained(folder / "scheduler")
    if not plain.config.use_dynamic_shifting:
        plain.set_timesteps(timesteps=timesteps)
        given = np.array(timesteps, dtype=np.float32) / 1000
        assert np.abs(plain.sigmas[:-1].numpy() - given).max() > 1e-2  # reshaped: the defect

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    scheduler_log = logging.getLogger(type(plain).__module__)
    scheduler_log.addHandler(handler)
    try:
        engine = DiffusionEngine(Registry({entry.id: entry}, entry.id), load_presets(), device="cpu")
        clip = engine.generate(_request("ltx", photo, False), lambda event: None, CancelToken())
    finally:
        scheduler_log.removeHandler(handler)
    assert clip.num_frames > 1
    scheduler = engine._pipe.scheduler
    expected = np.array(timesteps + [0.0], dtype=np.float32) / np.float32(1000)
    np.testing.assert_array_equal(scheduler.sigmas.numpy(), expected)
    np.testing.assert_array_equal(scheduler.timesteps.numpy(), np.array(timesteps, dtype=np.float32))
    # The timesteps and sigmas agree, so the scheduler has nothing to warn about; nothing muted it.
    assert scheduler_log.getEffectiveLevel() <= logging.WARNING
    assert [r for r in records if r.levelno >= logging.WARNING] == []
    engine.close()


def test_wan_prompts_are_encoded_at_the_length_the_pipeline_call_uses(engines, photo):
    from i2v_desktop.engine.families import call_default

    engine = engines("wan2.1-i2v")
    engine.generate(_request("wan2.1-i2v", photo, False), lambda event: None, CancelToken())
    embeds = engine._embeds[1]
    assert call_default(engine._pipe, "max_sequence_length") == 512
    assert embeds["prompt_embeds"].shape[1] == 512 and embeds["negative_prompt_embeds"].shape[1] == 512
