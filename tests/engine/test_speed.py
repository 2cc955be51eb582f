"""The speed switches: chosen from the hardware, applied to real tiny pipelines, recorded per clip.

GPU kernels (FlashAttention 3, SageAttention, cuDNN attention, inductor) cannot run on a CPU test
machine; their choice is tested on described hardware, and their fallback on the real failure a
CPU gives when asked for a CUDA kernel. The step cache and fp8 storage run for real here.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from i2v_desktop.bench.cpu import plain_args
from i2v_desktop.bench.tiny import build_tiny_pipeline, save_tiny_pipeline
from i2v_desktop.bench.tiny_registry import TINY_ENTRY, tiny_registry
from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.clip import RenderInfo
from i2v_desktop.core.events import Stage, StageChanged
from i2v_desktop.core.presets import load_presets
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.engine import speed
from i2v_desktop.engine.device import DevicePlan
from i2v_desktop.engine.diffusion import DiffusionEngine
from i2v_desktop.engine.registry import load_registry
from i2v_desktop.engine.speed import SPEED_OFF, Hardware, SpeedPlan, plan_speed

REAL = load_registry()
WAN = REAL.get("wan2.2-ti2v-5b")
A14B = REAL.get("wan2.2-i2v-a14b")
LTX = REAL.get("ltx-video-2b-distilled")
SVD = REAL.get("svd-xt")

H200 = Hardware((9, 0), 139.8, frozenset({"_flash_3", "sage"}), triton=True)
H100_HUB = Hardware((9, 0), 79.6, frozenset({"_flash_3_hub"}), triton=True)
RTX4090_SAGE = Hardware((8, 9), 23.6, frozenset({"sage"}), triton=True)
RTX4090_FA3 = Hardware((8, 9), 23.6, frozenset({"_flash_3"}), triton=True)  # FA3 is Hopper-only
A6000_PLAIN = Hardware((8, 6), 47.5, frozenset(), triton=True)
T4 = Hardware((7, 5), 14.6, frozenset(), triton=True)


def cuda(offload: str = "model") -> DevicePlan:
    return DevicePlan("cuda", "bfloat16", offload, False, 20.0)


CPU = DevicePlan("cpu", "float32", "none", True, 8.0)


# -- plan_speed on described machines ---------------------------------------------------------------


def test_hopper_with_flash_attention_3_gets_every_switch_but_fp8():
    final = plan_speed(WAN, cuda("none"), "final", hardware=H200)
    assert final == SpeedPlan(attention="_flash_3", compile=True, cache=None, fp8=False)
    draft = plan_speed(WAN, cuda("none"), "draft", hardware=H200)
    # Drafts also decode through the tiny video decoder Wan publishes (when it is downloaded).
    assert draft == final.with_(cache="first_block", tiny_decoder=True)
    # The hub build of FA3 (the `kernels` package) when the compiled one is not installed.
    assert plan_speed(WAN, cuda("none"), "final", hardware=H100_HUB).attention == "_flash_3_hub"


def test_ada_with_sage_gets_sage_and_fp8_weights_under_32_gb():
    plan = plan_speed(A14B, cuda("model"), "standard", hardware=RTX4090_SAGE)
    assert plan == SpeedPlan(attention="sage", compile=True, cache=None, fp8=True)
    # FlashAttention 3 is not chosen off Hopper even where it is installed.
    assert plan_speed(WAN, cuda(), "standard", hardware=RTX4090_FA3).attention == "_native_cudnn"


def test_no_extras_gets_cudnn_attention_and_pre_ampere_gets_plain_sdpa():
    assert plan_speed(WAN, cuda(), "final", hardware=A6000_PLAIN) == SpeedPlan("_native_cudnn", compile=True)
    t4 = plan_speed(WAN, cuda(), "final", hardware=T4)
    assert t4.attention == "native" and t4.fp8
    assert not plan_speed(WAN, cuda(), "final", hardware=Hardware((8, 6), 47.5)).compile  # no triton


def test_cpu_and_mps_get_plain_attention_no_compile_no_fp8_and_the_cache_on_drafts_only():
    assert plan_speed(WAN, CPU, "final") == SPEED_OFF
    assert plan_speed(WAN, CPU, "draft") == SPEED_OFF.with_(cache="first_block", tiny_decoder=True)
    mps = DevicePlan("mps", "bfloat16", "none", True, None)
    assert plan_speed(WAN, mps, "standard", hardware=Hardware()) == SPEED_OFF


def test_families_get_only_what_their_denoiser_supports():
    # LTX passes a text attention mask that FA3 and Sage reject; its distilled 8 steps are too few to
    # cache; no tiny decoder is published for its latents.
    assert plan_speed(LTX, cuda("none"), "draft", hardware=H200) == SpeedPlan("native", compile=True)
    # SVD's UNet has no repeated-block list, no step cache and calls SDPA itself.
    assert plan_speed(SVD, cuda("none"), "draft", hardware=H200) == SPEED_OFF
    # A draft with too few steps to skip any.
    assert plan_speed(WAN, CPU, "draft", steps=8).cache is None


def test_compile_only_where_the_weights_stay_put_on_the_gpu():
    for offload, compiled in (("none", True), ("model", True), ("group", False), ("sequential", False)):
        assert plan_speed(WAN, cuda(offload), "final", hardware=H200).compile is compiled


def test_overrides_force_any_switch_and_reject_unknown_ones():
    forced = plan_speed(WAN, CPU, "final", {"attention": "sage", "cache": "first_block", "fp8": True})
    assert forced == SpeedPlan("sage", cache="first_block", fp8=True)
    assert plan_speed(WAN, CPU, "draft", {"cache": None}).cache is None
    with pytest.raises(ValueError, match="unknown switch warp"):
        plan_speed(WAN, CPU, "final", {"warp": True})
    with pytest.raises(ValueError, match="step cache 'mag'"):
        plan_speed(WAN, CPU, "draft", {"cache": "mag"})


def test_fp8_follows_the_one_rule():
    assert plan_speed(WAN, cuda(), "final", hardware=RTX4090_SAGE).fp8 is speed.fp8_weights("cuda", 23.6) is True
    assert plan_speed(WAN, cuda(), "final", hardware=H200).fp8 is speed.fp8_weights("cuda", 139.8) is False


# -- attention fallback on a real module ------------------------------------------------------------


def backends(module) -> set:
    return {getattr(m.processor, "_attention_backend", None) for m in module.modules() if hasattr(m, "processor")}


def test_a_backend_that_fails_to_load_or_to_run_falls_back_to_plain_sdpa():
    from diffusers.models.attention_dispatch import _AttentionBackendRegistry

    default = _AttentionBackendRegistry._active_backend
    transformer = build_tiny_pipeline("wan2.2-ti2v").transformer
    # Not installed: set_attention_backend itself refuses.
    assert speed.apply_to_denoiser(transformer, SPEED_OFF.with_(attention="_flash_3"), "cpu").attention == "native"
    # Loads (cuDNN attention is part of torch) but its first call fails on a CPU: caught by the probe.
    applied = speed.apply_to_denoiser(transformer, SPEED_OFF.with_(attention="_native_cudnn"), "cpu")
    assert applied.attention == "native" and speed.applied(transformer) == applied
    assert backends(transformer) == {None}  # nothing left pointing at the failed kernel
    assert _AttentionBackendRegistry._active_backend == default  # nor the process-wide default


def test_a_backend_that_works_is_set_on_every_attention_module():
    transformer = build_tiny_pipeline("wan2.2-ti2v").transformer
    applied = speed.apply_to_denoiser(transformer, SPEED_OFF.with_(attention="_native_math"), "cpu")
    assert applied.attention == "_native_math"
    assert {str(b.value) for b in backends(transformer)} == {"_native_math"}
    import torch

    with torch.no_grad():  # and it runs
        transformer(torch.zeros(1, 48, 1, 4, 4), torch.tensor([500]), torch.zeros(1, 4, transformer.config.text_dim))


def test_fp8_and_compile_are_not_undone_silently():
    transformer = build_tiny_pipeline("wan2.2-ti2v").transformer
    speed.apply_to_denoiser(transformer, SPEED_OFF.with_(fp8=True), "cpu")
    with pytest.raises(ValueError, match="undone only by a reload"):
        speed.apply_to_denoiser(transformer, SPEED_OFF, "cpu")


# -- compile: planned only on CUDA, its cache kept in the app's folder ------------------------------


def test_the_compile_cache_lives_in_the_apps_cache_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    folder = speed.use_compile_cache()
    assert folder == tmp_path / "i2v_desktop" / "torch-compile" == speed.compile_cache_dir()
    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(folder)
    import torch._inductor.config

    assert torch._inductor.config.fx_graph_cache
    # A folder the user chose is kept.
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "mine"))
    assert speed.use_compile_cache() == tmp_path / "mine"


# -- the engine: step cache per job, fp8 storage, metadata, "off" ------------------------------------


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-speed")
    return {kind: save_tiny_pipeline(kind, root / kind) for kind in ("wan2.1-i2v", "wan2.2-i2v-a14b", "svd")}


def engine(folders, kind: str, speed_option="auto") -> DiffusionEngine:
    return DiffusionEngine(tiny_registry({kind: folders[kind]}), load_presets(), device="cpu", speed=speed_option)


def render(eng: DiffusionEngine, kind: str, photo: str, **over):
    fields = dict(image=photo, model=TINY_ENTRY[kind], preset="orbit", duration=1.0, seed=7, steps=3)
    events: list = []
    clip = eng.run(GenerationRequest(**{**fields, **over}), events.append, CancelToken())
    assert clip is not None, events[-1]
    return clip, events


def cache_hooks(module) -> list[str]:
    names = []
    for sub in module.modules():
        registry = getattr(sub, "_diffusers_hook", None)
        if registry is not None:
            names += [name for name in registry.hooks if name.startswith("fbc_")]
    return names


@pytest.fixture
def quick_cache(monkeypatch):
    """A tiny random model's residuals say nothing about a real threshold: one this high makes every
    step after the first reuse the cache, so the frames show it if the cache is really in the loop.
    And three steps may use it (the real minimum is tested on the plan), to keep the tests quick."""
    monkeypatch.setattr(speed, "FIRST_BLOCK_THRESHOLD", 1e6)
    monkeypatch.setattr(speed, "MIN_CACHE_STEPS", 3)


def test_the_step_cache_is_on_for_draft_and_gone_for_final_without_reloading(folders, photo, quick_cache):
    kind = "wan2.1-i2v"
    plain, fast = engine(folders, kind, "off"), engine(folders, kind)
    try:
        draft_off, _ = render(plain, kind, photo, quality="draft")
        draft, _ = render(fast, kind, photo, quality="draft")
        transformer = fast._pipe.transformer
        assert draft.info.speed["cache"] == "first_block" and transformer.is_cache_enabled and cache_hooks(transformer)
        assert not np.array_equal(draft.frames, draft_off.frames)
        again, _ = render(fast, kind, photo, quality="draft")
        assert np.array_equal(again.frames, draft.frames)  # the cache starts empty on every job
        pipe = fast._pipe

        final_off, _ = render(plain, kind, photo, quality="final")
        final, _ = render(fast, kind, photo, quality="final")
        assert fast._pipe is pipe  # toggled on the loaded pipeline, not reloaded
        assert final.info.speed["cache"] is None
        assert not transformer.is_cache_enabled and cache_hooks(transformer) == []
        assert np.array_equal(final.frames, final_off.frames)
    finally:
        plain.close()
        fast.close()


def test_both_wan_experts_get_the_step_cache(folders, photo, quick_cache):
    kind = "wan2.2-i2v-a14b"
    eng = engine(folders, kind)
    try:
        clip, _ = render(eng, kind, photo, quality="draft")
        experts = (eng._pipe.transformer, eng._pipe.transformer_2)
        assert clip.info.speed["cache"] == "first_block"
        assert all(expert.is_cache_enabled and cache_hooks(expert) for expert in experts)
        render(eng, kind, photo, quality="final", steps=2)
        assert not any(expert.is_cache_enabled or cache_hooks(expert) for expert in experts)
    finally:
        eng.close()


def test_fp8_stores_the_weights_in_float8_and_keeps_the_frames_close(folders, photo):
    import torch

    kind = "wan2.1-i2v"
    plain, fp8 = engine(folders, kind, "off"), engine(folders, kind, {"fp8": True})
    try:
        reference, _ = render(plain, kind, photo, steps=3)
        other_seed, _ = render(plain, kind, photo, steps=3, seed=8)
        clip, _ = render(fp8, kind, photo, steps=3)
        transformer = fp8._pipe.transformer
        dtypes = {name: p.dtype for name, p in transformer.named_parameters()}
        assert dtypes["blocks.0.attn1.to_q.weight"] == torch.float8_e4m3fn
        assert dtypes["blocks.0.ffn.net.0.proj.weight"] == torch.float8_e4m3fn
        # Norms, embeddings and the patch embedding stay in the compute dtype (diffusers' defaults).
        assert dtypes["patch_embedding.weight"] == torch.float32
        assert all(d == torch.float32 for n, d in dtypes.items() if "norm" in n or "condition_embedder" in n)
        assert clip.info.speed["fp8"] is True

        def diff(a, b):
            return np.abs(a.frames.astype(np.int16) - b.frames.astype(np.int16)).mean()

        # float8 keeps 3 mantissa bits: measured 0.12 grey levels here, against 4.3 for another seed.
        assert 0 < diff(clip, reference) < 0.1 * diff(other_seed, reference)
    finally:
        plain.close()
        fp8.close()


def test_every_switch_is_recorded_in_the_clips_metadata(folders, photo):
    kind = "wan2.1-i2v"
    eng = engine(folders, kind, {"attention": "_native_math"})
    try:
        clip, events = render(eng, kind, photo, steps=2)
    finally:
        eng.close()
    recorded = clip.info.to_dict()["speed"]
    assert recorded == SpeedPlan(attention="_native_math").as_metadata()
    assert set(recorded) == {"attention", "compile", "cache", "fp8", "tiny_decoder", "lora"}
    # Compiling is announced only where it happens (on CUDA).
    assert not any("compiling" in e.detail for e in events if isinstance(e, StageChanged))
    assert any(e.stage == Stage.DENOISING for e in events if isinstance(e, StageChanged))
    # Engines without switches, and records made before the field existed, carry none.
    old = RenderInfo("file", "m", 8, 8, 3, 24.0, 0, None, 0, "", "")
    assert old.speed == {} and old.to_dict()["speed"] == {}


def test_compiled_blocks_render_the_same_frames_and_the_first_render_says_it_compiles(folders, photo, monkeypatch,
                                                                                     tmp_path):
    # Inductor needs a GPU toolchain to be quick; "eager" runs the same regional compilation path
    # (dynamo traces every repeated block) without generating code.
    monkeypatch.setattr(speed, "COMPILE_BACKEND", "eager")
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path))
    kind = "wan2.1-i2v"
    plain, compiled = engine(folders, kind, "off"), engine(folders, kind, {"compile": True})
    try:
        reference, _ = render(plain, kind, photo, steps=2)
        first, first_events = render(compiled, kind, photo, steps=2)
        second, second_events = render(compiled, kind, photo, steps=2)
        blocks = compiled._pipe.transformer.blocks
    finally:
        plain.close()
        compiled.close()

    def details(events):
        return [e.detail for e in events if isinstance(e, StageChanged) and e.stage == Stage.DENOISING]

    assert all(block._compiled_call_impl is not None for block in blocks)
    assert first.info.speed["compile"] is True
    assert "compiling" in details(first_events)[0] and "compiling" not in details(second_events)[0]
    assert np.array_equal(first.frames, reference.frames) and np.array_equal(second.frames, reference.frames)


def test_off_gives_exactly_the_plain_diffusers_call(folders, photo):
    kind = "svd"
    eng = engine(folders, kind, "off")
    try:
        clip, _ = render(eng, kind, photo, steps=2)
        entry = eng.registry.get(TINY_ENTRY[kind])
        request = GenerationRequest(image=photo, model=entry.id, preset="orbit", duration=1.0, seed=7, steps=2)
        output = eng._pipe(**plain_args(eng, entry, request))
    finally:
        eng.close()
    plain = np.clip(np.rint(np.asarray(output.frames[0], dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)
    assert clip.info.speed == SPEED_OFF.as_metadata()
    assert np.array_equal(clip.frames, plain)


def test_render_takes_speed_auto_or_off_and_hands_it_to_the_engine():
    from i2v_desktop.cli import build_parser
    from i2v_desktop.studio.render import Engines

    assert build_parser().parse_args(["render", "a.png"]).speed == "auto"
    args = build_parser().parse_args(["render", "a.png", "--speed", "off"])
    engines = Engines(REAL, load_presets(), device="cpu", speed=args.speed)
    assert engines.for_model(REAL.default).speed == "off"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["render", "a.png", "--speed", "fast"])


def test_speed_option_is_checked():
    from i2v_desktop.core.errors import ModelError

    with pytest.raises(ModelError, match="--speed fast: choose auto, off"):
        DiffusionEngine(REAL, load_presets(), device="cpu", speed="fast")
