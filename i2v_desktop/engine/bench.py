"""`i2v bench`: what this machine does per denoising step, our engine against plain diffusers.

Both sides use the very same components in the same run: the baseline is the pipeline called
the way the diffusers docs show (no callback), ours is DiffusionEngine.generate with its step
events, previews and cancel checks. On the CPU the components are tiny random-weight pipelines
(fast enough to run anywhere). With --real on a GPU, the denoisers are built at their published
architectures with random weights (speed does not depend on the weights) and the step time is
turned into model FLOP utilisation against a matrix-multiply peak measured in the same run.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import replace
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

import numpy as np

from ..core.cancel import CancelToken
from ..core.presets import load_presets
from ..core.request import GenerationRequest
from .diffusion import PREVIEW_SHARE, DiffusionEngine
from .preview import LatentPreviewer
from .registry import ModelEntry, Registry, Tier, load_latent_rgb, load_registry

if TYPE_CHECKING:
    import torch

# Tiny pipeline kind → the registry entry whose rules (frames, fps, family) it follows.
TINY_ENTRY = {
    "wan2.2-ti2v": "wan2.2-ti2v-5b",
    "wan2.1-i2v": "wan2.1-i2v-14b-480p",
    "wan2.2-i2v-a14b": "wan2.2-i2v-a14b",
    "ltx": "ltx-video-2b-distilled",
    "svd": "svd-xt",
}
FAMILY_KINDS = {"wan": ("wan2.2-ti2v", "wan2.1-i2v", "wan2.2-i2v-a14b"), "ltx": ("ltx",), "svd": ("svd",)}
FAKE_REVISION = "0123456789abcdef0123456789abcdef01234567"


def tiny_registry(folders: dict[str, Path], size: tuple[int, int] = (64, 64), max_frames: int = 9) -> Registry:
    """The real registry's rules with tiny sizes, each entry pointing at a tiny pipeline folder."""
    real = load_registry()
    entries = {}
    for kind, folder in folders.items():
        base = real.get(TINY_ENTRY[kind])
        entries[base.id] = replace(
            base,
            resolutions=MappingProxyType({"tiny": size}),
            tiers=MappingProxyType({q: Tier("tiny", 2) for q in ("draft", "standard", "final")}),
            max_frames=max_frames if not base.frame_rule.startswith("fixed:") else base.max_frames,
            frame_rule=base.frame_rule if not base.frame_rule.startswith("fixed:") else f"fixed:{max_frames}",
            multiple=max(base.multiple, 16),
            local_path=str(folder),
            variant=None,
        )
    default = next(iter(entries))
    return Registry(MappingProxyType(entries), default)


class PeakMemory:
    """Peak resident memory (CPU, sampled from /proc) or peak allocated GPU memory during a block."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.peak = 0
        self._stop = threading.Event()

    def __enter__(self) -> PeakMemory:
        if self.device == "cuda":
            import torch

            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        else:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _rss(self) -> int:
        try:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            import resource

            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.002)

    def __exit__(self, *exc: Any) -> None:
        if self.device == "cuda":
            import torch

            torch.cuda.synchronize()
            self.peak = torch.cuda.max_memory_allocated()
        else:
            self._stop.set()
            self._thread.join()
            self.peak = max(self.peak, self._rss())


def _median_time(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def bench_tiny(kinds: tuple[str, ...], steps: int, repeats: int = 5) -> list[dict[str, Any]]:
    from PIL import Image

    from .tiny import save_tiny_pipeline

    import diffusers
    import transformers

    diffusers.utils.logging.disable_progress_bar()  # save_pretrained's bars would bury the table
    transformers.utils.logging.disable_progress_bar()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folders = {k: save_tiny_pipeline(k, Path(tmp) / k) for k in kinds}
        registry = tiny_registry(folders)
        photo = Path(tmp) / "photo.png"
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)).save(photo)
        presets = load_presets()
        for kind in kinds:
            entry = registry.get(TINY_ENTRY[kind])
            engine = DiffusionEngine(registry, presets, device="cpu")
            request = GenerationRequest(image=str(photo), model=entry.id, steps=steps, preset="orbit", duration=1.0)
            events: list[Any] = []
            engine.generate(request, events.append, CancelToken())  # warm-up: loads the pipeline

            def ours() -> None:
                engine.generate(request, events.append, CancelToken())

            with PeakMemory("cpu") as ours_mem:
                ours_s = _median_time(ours, repeats)
            step_ms = 1000 * float(np.median(engine.stats.step_s[1:] or engine.stats.step_s))
            preview_share = engine.stats.preview_s / max(sum(engine.stats.step_s), 1e-9)
            previews = engine.stats.previews
            pipe = engine._pipe
            plain_args = _plain_args(engine, entry, request)

            def plain() -> None:
                pipe(**plain_args)

            plain()
            with PeakMemory("cpu") as plain_mem:
                plain_s = _median_time(plain, repeats)
            rows.append(
                dict(kind=kind, steps=steps, ours_s=ours_s, plain_s=plain_s, ratio=ours_s / plain_s,
                     step_ms=step_ms, previews=previews, preview_share=preview_share,
                     ours_peak_mb=ours_mem.peak / 2**20, plain_peak_mb=plain_mem.peak / 2**20)
            )
            engine.close()
    return rows


def _plain_args(engine: DiffusionEngine, entry: ModelEntry, request: GenerationRequest) -> dict[str, Any]:
    """The same call our engine makes, as a user of diffusers would write it: prompt text, no callback."""
    import torch

    from ..core.framing import fit_image
    from ..core.image import load_image
    from .families import FAMILIES
    from .plan import plan_render

    source = load_image(request.image)
    plan = plan_render(entry, request, source.size, engine.presets.get(request.preset))
    frame, _, _ = fit_image(source, (plan.width, plan.height))
    from PIL import Image

    family = FAMILIES[entry.family]
    args = family.call_args(engine._pipe, entry, plan, Image.fromarray(frame))
    if family.uses_prompt:
        args.update(prompt=plan.prompt, negative_prompt=plan.negative_prompt)
    args.update(output_type="np", generator=torch.Generator("cpu").manual_seed(plan.seed))
    return args


# -- real architectures on a GPU ------------------------------------------------------------------
#
# resources/architectures.json holds each registry family's denoiser at its published config, with
# the inputs its pipeline passes it at a real render size. An input given as a shape is random data
# in the model's dtype; {"shape", "fill"} is a float32 constant (timesteps, masks, coordinates).


def architectures() -> dict[str, Any]:
    path = Path(str(resources.files("i2v_desktop") / "resources" / "architectures.json"))
    return json.loads(path.read_text(encoding="utf-8"))


def build_denoiser(spec: Mapping[str, Any], device: torch.device) -> torch.nn.Module:
    """The denoiser at its published architecture with random bf16 weights (no memory on meta)."""
    import diffusers
    import torch

    cls = getattr(diffusers, spec["class"])
    # Built straight in bf16: built in float32 and then cast, a 16B-parameter model would need
    # 65 GB for a moment. The default dtype is process-wide, so it is put back at once.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device(device):
            model = cls.from_config(spec["config"])
    finally:
        torch.set_default_dtype(previous)
    # SVD's AlphaBlender makes its mix factor with the legacy torch.Tensor constructor, which
    # ignores the default device and leaves it on the CPU.
    return model.to(device).eval()


def denoiser_inputs(spec: Mapping[str, Any], device: torch.device) -> dict[str, torch.Tensor]:
    """The forward's keyword arguments for one call, as the spec describes them."""
    import torch

    inputs = {}
    for name, value in spec["inputs"].items():
        if isinstance(value, dict):
            fill = float(value["fill"])
            inputs[name] = torch.full(value["shape"], fill, dtype=torch.float32, device=device)
        else:
            inputs[name] = torch.randn(*value, dtype=torch.bfloat16, device=device)
    return inputs


def run_denoiser(model: torch.nn.Module, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
    import torch

    with torch.no_grad():
        return model(**inputs, return_dict=False)[0]


class MetaCall(NamedTuple):
    model: torch.nn.Module
    output_shape: torch.Size
    flops: float


def meta_call(spec: Mapping[str, Any]) -> MetaCall:
    """One denoiser call on the meta device (shapes only: no memory), its FLOPs counted by torch.

    On meta, scaled_dot_product_attention falls back to its math form, so attention is counted as
    the two batched matrix products it is. On a real CPU it would run a fused kernel that
    FlopCounterMode has no formula for and counts as zero, hence meta rather than a tiny CPU run.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    meta = torch.device("meta")
    model = build_denoiser(spec, meta)
    inputs = denoiser_inputs(spec, meta)
    with FlopCounterMode(display=False) as counter:
        output = run_denoiser(model, inputs)
    return MetaCall(model, output.shape, float(counter.get_total_flops()))


def count_flops(spec: Mapping[str, Any]) -> float:
    """FLOPs of one denoiser call at the spec's sizes, counted rather than estimated."""
    return meta_call(spec).flops


def bench_real(steps: int) -> list[dict[str, Any]]:
    """Denoiser step time at published sizes (random bf16 weights), and MFU against a measured peak."""
    import torch

    if not torch.cuda.is_available():
        raise SystemExit("i2v bench --real needs a CUDA GPU")
    peak = _matmul_peak()
    rows = []
    for name, spec in architectures().items():
        rows.append(_bench_denoiser(name, spec, steps, peak))
        torch.cuda.empty_cache()
    return rows


def _matmul_peak() -> float:
    """Achieved bf16 TFLOP/s of a large matrix product on this GPU, the ceiling MFU is measured against."""
    import torch

    n = 8192
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(20):
        a @ b
    end.record()
    torch.cuda.synchronize()
    seconds = start.elapsed_time(end) / 1000 / 20
    return 2 * n**3 / seconds / 1e12


def _bench_denoiser(name: str, spec: Mapping[str, Any], steps: int, peak_tflops: float) -> dict[str, Any]:
    import torch

    flops = count_flops(spec)
    cuda = torch.device("cuda")
    model = build_denoiser(spec, cuda)
    params = sum(p.numel() for p in model.parameters())
    inputs = denoiser_inputs(spec, cuda)

    run_denoiser(model, inputs)  # warm-up: kernel selection, allocator
    torch.cuda.synchronize()
    with PeakMemory("cuda") as mem:
        start = time.perf_counter()
        for _ in range(steps):
            run_denoiser(model, inputs)
        torch.cuda.synchronize()
        per_call = (time.perf_counter() - start) / steps
    calls = int(spec["calls_per_step"])
    achieved = flops / per_call / 1e12
    del model, inputs
    step_s = per_call * calls
    callback_s, preview_s = engine_overhead(spec, cuda)
    # What our engine adds to a plain pipeline call, per step: the callback's own work every step,
    # and previews as often as the throttle lets them (at most their share of the time).
    previews_per_step = min(1.0, PREVIEW_SHARE * step_s / preview_s) if preview_s else 0.0
    ratio = (step_s + callback_s + previews_per_step * preview_s) / step_s
    return dict(name=name, params_b=params / 1e9, tflop_per_call=flops / 1e12, calls_per_step=calls,
                call_ms=per_call * 1000, step_ms=step_s * 1000, tflops=achieved,
                mfu=achieved / peak_tflops, peak_tflops=peak_tflops, peak_gb=mem.peak / 2**30,
                callback_ms=callback_s * 1000, preview_ms=preview_s * 1000, ratio=ratio)


def engine_overhead(spec: Mapping[str, Any], device: torch.device) -> tuple[float, float]:
    """Seconds our step callback and one preview take on `device` at the spec's real latent size."""
    import torch

    entry = load_registry().get(spec["model"])
    width, height = spec["size"]
    previewer = LatentPreviewer(entry.preview, entry.fps / entry.temporal_ratio)
    channels = len(load_latent_rgb(entry.preview)[0])
    frames = (int(spec["frames"]) - 1) // entry.temporal_ratio + 1
    shape = (channels, frames, height // entry.spatial_ratio, width // entry.spatial_ratio)
    latents = torch.randn(1, *shape, device=device, dtype=torch.float32)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def callback() -> None:  # what runs every step: keep the latents for the next x0 estimate
        previous = latents.clone()
        (latents - previous).mul_(0.5)

    def preview() -> None:
        previewer(latents[0])

    result = []
    for work in (callback, preview):
        work()
        sync()
        start = time.perf_counter()
        for _ in range(10):
            work()
        sync()
        result.append((time.perf_counter() - start) / 10)
    return result[0], result[1]


def run_bench(family: str, steps: int, real: bool) -> int:
    if real:
        rows = bench_real(steps)
        print(f"{'denoiser':28} {'params':>7} {'TFLOP':>7} {'ms/call':>9} {'calls':>5} {'ms/step':>9} "
              f"{'TFLOP/s':>8} {'MFU':>6} {'peak GB':>8} {'cb ms':>6} {'prev ms':>7} {'ratio':>6}")
        for r in rows:
            print(f"{r['name']:28} {r['params_b']:6.2f}B {r['tflop_per_call']:7.1f} {r['call_ms']:9.1f} "
                  f"{r['calls_per_step']:5d} {r['step_ms']:9.1f} {r['tflops']:8.1f} {r['mfu']:6.1%} "
                  f"{r['peak_gb']:8.1f} {r['callback_ms']:6.2f} {r['preview_ms']:7.2f} {r['ratio']:6.3f}")
        print("TFLOP per call as counted by torch's FlopCounterMode; a step is calls × one call (Wan runs "
              "its unconditional pass as a second call).")
        print(f"MFU is against {rows[0]['peak_tflops']:.0f} TFLOP/s, a bf16 8192³ matrix product measured "
              "in this run.")
        print("ratio = (step + our callback + previews within their time share) / step: the engine's cost "
              "over a plain pipeline call at this size.")
        return 0
    kinds = sum((FAMILY_KINDS[f] for f in FAMILY_KINDS if family in (f, "all")), ())
    rows = bench_tiny(kinds, steps)
    print(f"{'pipeline':18} {'ours s':>8} {'plain s':>8} {'ratio':>6} {'ms/step':>8} {'previews':>8} "
          f"{'prev %':>6} {'ours MB':>8} {'plain MB':>9}")
    for r in rows:
        print(f"{r['kind']:18} {r['ours_s']:8.3f} {r['plain_s']:8.3f} {r['ratio']:6.2f} {r['step_ms']:8.1f} "
              f"{r['previews']:8d} {r['preview_share']:6.1%} {r['ours_peak_mb']:8.0f} {r['plain_peak_mb']:9.0f}")
    print("Tiny random-weight pipelines on the CPU, median of 5 runs each; ratio = ours / plain diffusers call.")
    print("Ours encodes the prompt once and reuses it while it is unchanged (as for variants); plain encodes it")
    print("every call. At this size one preview is a large share of a step: on real models it is far below 5%.")
    return 0
