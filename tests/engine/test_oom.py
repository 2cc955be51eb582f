"""Out-of-memory recovery, with the error raised from the pipeline's own diffusers modules.

On a CPU the offload modes move nothing, so these tests prove what they can honestly prove: where
the error came from is named, the first pipeline is really released, the retry runs with the next
plan on the ladder (its offload hooks and VAE tiling are installed on the new pipeline), the user
is told in one line, the clip records it, and a second failure says what to lower.
"""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
import torch
from diffusers import AutoencoderKLWan, WanTransformer3DModel
from PIL import Image

from i2v_desktop.bench.tiny import TINY_KINDS, build_tiny_pipeline, save_tiny_pipeline
from i2v_desktop.bench.tiny_registry import TINY_ENTRY, tiny_registry
from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.events import Failed, Finished, Stage, StageChanged, StepProgress, Warned
from i2v_desktop.core.presets import load_presets
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.engine.device import LADDER, DevicePlan, read_facts
from i2v_desktop.engine.diffusion import DiffusionEngine, place

KIND = "wan2.2-ti2v"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-oom")
    return tiny_registry({KIND: save_tiny_pipeline(KIND, root / KIND)})


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("photo") / "photo.png"
    Image.fromarray(np.random.default_rng(3).integers(0, 255, (72, 96, 3), dtype=np.uint8)).save(path)
    return str(path)


@pytest.fixture
def engine(registry):
    made = DiffusionEngine(registry, load_presets(), device="cpu")
    yield made
    made.close()


def request(photo: str) -> GenerationRequest:
    return GenerationRequest(image=photo, model=TINY_ENTRY[KIND], preset="orbit", duration=1.0, seed=7, steps=3)


def run(engine: DiffusionEngine, photo: str):
    events: list = []
    clip = engine.run(request(photo), events.append, CancelToken())
    return clip, events


class Fault:
    """Make `cls.name` raise on the calls numbered in `when` (1-based; None: every call).

    Keeps only weak references to the modules it failed in, so it cannot keep them alive.
    """

    def __init__(self, monkeypatch, cls, name, when=(1,), error=None):
        self.calls, self.when, self.failed_in = 0, when, []
        self.error = error or (lambda: torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"))
        original = getattr(cls, name)

        def faulty(module, *args, **kwargs):
            self.calls += 1
            if self.when is None or self.calls in self.when:
                self.failed_in.append(weakref.ref(module))
                raise self.error()
            return original(module, *args, **kwargs)

        monkeypatch.setattr(cls, name, faulty)


def stages(events) -> list[Stage]:
    return [e.stage for e in events if isinstance(e, StageChanged)]


def assert_recovered(engine, clip, events, where: str) -> None:
    assert clip is not None and isinstance(events[-1], Finished), events[-1]
    warned = [e.reason for e in events if isinstance(e, Warned) and "memory" in e.reason]
    line = f"out of CPU memory while {where} with offload none: retried with offload model, VAE tiling on"
    assert warned == [line]
    assert line in clip.info.notes and "offload model" in clip.info.device
    assert stages(events).count(Stage.LOADING) == 2  # the retry loaded the model again, with the new plan
    # The new plan is really in place: accelerate's model-offload hooks and the VAE's tiling.
    assert hasattr(engine._pipe.transformer, "_hf_hook") and engine._pipe.vae.use_tiling


def test_out_of_memory_while_loading_retries_with_model_offload(engine, photo, monkeypatch):
    fault = Fault(monkeypatch, WanTransformer3DModel, "to")
    clip, events = run(engine, photo)
    assert_recovered(engine, clip, events, "loading")
    assert events.index(next(e for e in events if isinstance(e, Warned) and "memory" in e.reason)) < events.index(
        next(e for e in events if isinstance(e, StepProgress)))
    gc.collect()
    assert fault.failed_in[0]() is None, "the transformer of the failed load is still alive"


def test_out_of_memory_at_a_denoising_step_frees_the_pipeline_and_retries(engine, photo, monkeypatch):
    # Two transformer calls per step (guidance): the third is step 2.
    fault = Fault(monkeypatch, WanTransformer3DModel, "forward", when=(3,))
    first: list = []

    def sink(event):
        events.append(event)
        if isinstance(event, StepProgress) and not first:
            first.append(weakref.ref(engine._pipe))

    events: list = []
    clip = engine.run(request(photo), sink, CancelToken())
    assert_recovered(engine, clip, events, "denoising")
    steps = [e.step for e in events if isinstance(e, StepProgress)]
    assert steps == [1, 1, 2, 3]  # step 1, the failure at step 2, then the whole retry
    gc.collect()
    assert first[0]() is None and fault.failed_in[0]() is None, "the first pipeline was not released"


@pytest.mark.parametrize("error", [
    lambda: torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 6.00 GiB"),
    lambda: RuntimeError("cuDNN error: CUDNN_STATUS_ALLOC_FAILED"),  # how a conv in the VAE fails
])
def test_out_of_memory_in_the_vae_decode_retries_with_tiling(engine, photo, monkeypatch, error):
    fault = Fault(monkeypatch, AutoencoderKLWan, "decode", error=error)
    clip, events = run(engine, photo)
    assert_recovered(engine, clip, events, "decoding")
    assert fault.calls == 2
    # The lighter plan is kept: the next job neither fails nor loads again.
    again, events = run(engine, photo)
    assert again is not None and Stage.LOADING not in stages(events)
    assert "offload model" in again.info.device and not any("retried" in n for n in again.info.notes)


def test_a_second_out_of_memory_says_what_to_lower(engine, photo, monkeypatch):
    fault = Fault(monkeypatch, WanTransformer3DModel, "forward", when=None)
    clip, events = run(engine, photo)
    assert clip is None and isinstance(events[-1], Failed)
    reason = events[-1].reason
    assert "photo.png" in reason and "while denoising" in reason and "even with offload model" in reason
    assert "lower the resolution" in reason and "shorter" in reason and "smaller model" in reason
    assert "\n" not in reason
    assert len(fault.failed_in) == 2 and stages(events).count(Stage.LOADING) == 2  # retried once only
    assert len([e for e in events if isinstance(e, Warned) and "memory" in e.reason]) == 1


def test_other_errors_are_not_retried(engine, photo, monkeypatch):
    Fault(monkeypatch, WanTransformer3DModel, "forward", when=None, error=lambda: RuntimeError("shape mismatch"))
    clip, events = run(engine, photo)
    assert clip is None and isinstance(events[-1], Failed) and "internal error" in events[-1].reason
    assert stages(events).count(Stage.LOADING) == 1
    assert not any(isinstance(e, Warned) and "memory" in e.reason for e in events)


@pytest.mark.parametrize("kind", TINY_KINDS)
def test_every_rung_of_the_ladder_places_the_pipeline_and_renders_the_same_frames(kind):
    """On a CPU offloading moves nothing, so each mode must give exactly the frames of no offload,
    through its real hooks (accelerate's for model offload, diffusers' group offloading else)."""
    from diffusers.hooks.group_offloading import _is_group_offload_enabled

    def render(mode):
        pipe = build_tiny_pipeline(kind)
        place(pipe, DevicePlan("cpu", "float32", mode, False, None))
        denoiser = getattr(pipe, "transformer", None) or pipe.unet
        if mode == "model":
            assert hasattr(denoiser, "_hf_hook")
        elif mode in ("group", "sequential"):
            assert _is_group_offload_enabled(denoiser)
        image = Image.fromarray(np.full((64, 64, 3), 120, dtype=np.uint8))
        args = dict(image=image, height=64, width=64, num_frames=9, num_inference_steps=2, output_type="np",
                    generator=torch.Generator().manual_seed(0))
        if kind == "ltx":
            from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

            args["conditions"] = [LTXVideoCondition(image=args.pop("image"), frame_index=0)]
        if kind == "hunyuan15":
            del args["height"], args["width"]  # it renders at its own bucket for the photo's shape
        if kind != "svd":
            args["prompt"] = "a boat"
        return np.asarray(pipe(**args).frames[0])

    plain = render("none")
    for mode in LADDER[1:]:
        np.testing.assert_array_equal(render(mode), plain, err_msg=mode)


def test_the_loaded_pipeline_is_counted_as_memory_about_to_be_freed(engine, photo):
    run(engine, photo)
    facts = read_facts("cpu", loaded=engine._pipe)
    weights = sum(p.numel() * p.element_size() for p in engine._pipe.transformer.parameters())
    assert facts.ram_held_gb * 1024**3 > weights  # the transformer and the rest, all on the host
    assert read_facts("cpu").ram_held_gb == 0
