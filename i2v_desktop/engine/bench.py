"""`i2v bench`: what this machine does per denoising step, our engine against plain diffusers.

Both sides use the very same components in the same run: the baseline is the pipeline called
the way the diffusers docs show (no callback), ours is DiffusionEngine.generate with its step
events, previews and cancel checks. On the CPU the components are tiny random-weight pipelines
(fast enough to run anywhere).

With --real on a GPU, each family's denoiser and VAE are built at their published architectures
with random weights (speed does not depend on the weights): seconds per step for plain diffusers
and for each speed switch alone and all together, MFU against a matrix-multiply peak measured in
the same run, peak memory, VAE decode time, the time to the first preview, and the seed job (12
photos to 12 clips with the fast tier). A row that runs out of memory says so and the run goes
on. `gpu_check` runs all of it within a time budget plus the memory plans and OOM recovery on a
simulated smaller card (scripts/gpu-check.sh); `dry_run` plans the same on the CPU, on meta tensors.
"""

from __future__ import annotations

import gc
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
from ..core.framing import snap_frames
from ..core.presets import load_presets
from ..core.request import GenerationRequest
from .diffusion import DiffusionEngine
from .preview import LatentPreviewer
from .registry import ModelEntry, Registry, Tier, load_latent_rgb, load_registry
from .speed import SPEED_OFF, SpeedPlan, apply_to_denoiser, fp8_weights, plan_speed

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
# resources/architectures.json holds each registry family's denoiser and VAE at their published
# configs, with the inputs their pipeline passes them at a real render size. An input given as a
# shape is random data in the model's dtype; {"shape", "fill"} is a constant (timesteps, masks,
# coordinates): float32 for a denoiser, the VAE's dtype for a VAE.


GB = 1024**3


def architectures(family: str = "all") -> dict[str, Any]:
    """The denoiser specs of `family` ("wan", "ltx", "svd") or of every family ("all")."""
    path = Path(str(resources.files("i2v_desktop") / "resources" / "architectures.json"))
    specs = json.loads(path.read_text(encoding="utf-8"))
    if family == "all":
        return specs
    registry = load_registry()
    return {name: spec for name, spec in specs.items() if registry.get(spec["model"]).family == family}


def build_module(class_name: str, config: Mapping[str, Any], device: torch.device, dtype: str = "bfloat16") -> Any:
    """A diffusers model at a published config with random weights (no memory on meta)."""
    import diffusers
    import torch

    cls = getattr(diffusers, class_name)
    # Built straight in the target dtype: built in float32 and then cast, a 16B-parameter model
    # would need 65 GB for a moment. The default dtype is process-wide, so it is put back at once.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, dtype))
    try:
        with torch.device(device):
            model = cls.from_config(dict(config))
    finally:
        torch.set_default_dtype(previous)
    # SVD's AlphaBlender makes its mix factor with the legacy torch.Tensor constructor, which
    # ignores the default device and leaves it on the CPU.
    return model.to(device).eval()


def build_denoiser(spec: Mapping[str, Any], device: torch.device) -> torch.nn.Module:
    return build_module(spec["class"], spec["config"], device)


def build_vae(spec: Mapping[str, Any], device: torch.device) -> Any:
    vae = spec["vae"]
    return build_module(vae["class"], vae["config"], device, vae["dtype"])


def _tensors(described: Mapping[str, Any], device: torch.device, dtype: Any, fill_dtype: Any) -> dict[str, Any]:
    import torch

    out = {}
    for name, value in described.items():
        if isinstance(value, dict):
            out[name] = torch.full(value["shape"], float(value["fill"]), dtype=fill_dtype, device=device)
        elif isinstance(value, list):
            out[name] = torch.randn(*value, dtype=dtype, device=device)
    return out


def denoiser_inputs(spec: Mapping[str, Any], device: torch.device) -> dict[str, torch.Tensor]:
    """The forward's keyword arguments for one call, as the spec describes them."""
    import torch

    return _tensors(spec["inputs"], device, torch.bfloat16, torch.float32)


def run_denoiser(model: torch.nn.Module, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
    import torch

    with torch.no_grad():
        return model(**inputs, return_dict=False)[0]


def vae_decode(vae: Any, spec: Mapping[str, Any], tensors: Mapping[str, Any]) -> Any:
    """Decode the way the family's pipeline does (SVD: decode_chunk_size frames at a time)."""
    import torch

    z = tensors["z"]
    chunk = spec["vae"]["decode"].get("chunk")
    with torch.no_grad():
        if chunk:
            parts = [z[i : i + chunk] for i in range(0, z.shape[0], chunk)]
            return torch.cat([vae.decode(p, num_frames=p.shape[0], return_dict=False)[0] for p in parts])
        extra = {k: v for k, v in tensors.items() if k != "z"}  # LTX: temb, the decode timestep
        return vae.decode(z, **extra, return_dict=False)[0]


def vae_encode(vae: Any, pixels: Any) -> Any:
    import torch

    with torch.no_grad():
        return vae.encode(pixels).latent_dist.mode()


def vae_tensors(spec: Mapping[str, Any], device: torch.device) -> tuple[Any, dict[str, Any]]:
    """(pixels the pipeline encodes for the photo, latents it decodes at the end) in the VAE's dtype."""
    import torch

    dtype = getattr(torch, spec["vae"]["dtype"])
    pixels = torch.randn(*spec["vae"]["encode"], dtype=dtype, device=device)
    return pixels, _tensors(spec["vae"]["decode"], device, dtype, dtype)


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


def meta_vae(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The VAE's parameters, decode and encode shapes and FLOPs, on meta."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    meta = torch.device("meta")
    vae = build_vae(spec, meta)
    pixels, latents = vae_tensors(spec, meta)
    with FlopCounterMode(display=False) as decode_count:
        frames = vae_decode(vae, spec, latents)
    with FlopCounterMode(display=False) as encode_count:
        encoded = vae_encode(vae, pixels)
    return dict(params_m=sum(p.numel() for p in vae.parameters()) / 1e6, frames=list(frames.shape),
                decode_tflop=decode_count.get_total_flops() / 1e12, encoded=list(encoded.shape),
                encode_tflop=encode_count.get_total_flops() / 1e12)


# -- the bench's safety net: one row that fails never ends the run ---------------------------------


def out_of_memory(exc: BaseException) -> bool:
    """A GPU or host allocation failure, in any of the forms torch raises it.

    CUDA raises torch.OutOfMemoryError; cuDNN and cuBLAS failing to get workspace arrive as a plain
    RuntimeError, and so does the CPU allocator.
    """
    import torch

    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and any(
        mark in text for mark in ("out of memory", "ALLOC_FAILED", "can't allocate memory")
    )


def memory_limit_gb(device: torch.device, fraction: float = 1.0) -> float:
    """What this process may use on `device`: the card (times the simulated fraction), or the RAM."""
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory * fraction / GB
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / GB


def release(device: torch.device) -> None:
    """Give back what a finished (or failed) row held, so the next row starts from empty."""
    import torch

    # Compiled graphs are cached per module; a later row builds its own model, so drop them.
    torch.compiler.reset()
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.empty_cache()


def guarded(row: dict[str, Any], work: Callable[[], Mapping[str, Any]], device: torch.device,
            limit_gb: float) -> dict[str, Any]:
    """Run one row's `work`; whatever goes wrong is written in the row and the bench goes on.

    Every tensor a row makes lives in `work`'s frame, so once the exception (and the traceback that
    holds that frame) is gone, release() can really free it.
    """
    try:
        row.update(work())
        row["status"] = "ok"
    except NotImplementedError as exc:
        row["status"] = f"skipped: {_first_line(exc) or 'not implemented on this build'}"
    except Exception as exc:  # noqa: BLE001 -- a bench reports a failed row and measures the rest
        if out_of_memory(exc):
            row["status"] = f"out of memory at {limit_gb:.0f} GB"
        else:
            row["status"] = f"error: {type(exc).__name__}: {_first_line(exc)}"
    finally:
        release(device)
        label = row.get("variant") or row.get("decoder") or row.get("offload") or ""
        print(f"  {row.get('name', row.get('model', ''))} {label}: {row.get('status', 'interrupted')}", flush=True)
    return row


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else ""


class Budget:
    """Wall-clock allowance for a run (gpu-check must finish in minutes); None = no limit."""

    def __init__(self, seconds: float | None) -> None:
        self.end = None if seconds is None else time.monotonic() + seconds

    def left(self) -> float:
        return float("inf") if self.end is None else self.end - time.monotonic()

    def allows(self, estimate_s: float) -> bool:
        return estimate_s <= self.left()

    def skip(self, estimate_s: float) -> str:
        return f"skipped: would pass the time budget (about {estimate_s:.0f} s needed, {max(self.left(), 0):.0f} s left)"


# Allowances for work that is not a denoiser call: regional compilation's first call, and a
# full-size VAE encode plus decode (the Wan2.2 VAE decodes 2 PFLOP at 720p in float32).
COMPILE_ALLOWANCE_S = 90.0
VAE_ALLOWANCE_S = 60.0


# -- the speed switches, measured one at a time and all together -----------------------------------


def chosen_speed(entry: ModelEntry, device: torch.device, quality: str = "final") -> SpeedPlan:
    """The switches our engine picks for `entry` on this machine (engine/speed.py's plan_speed)."""
    from .device import plan_device

    return plan_speed(entry, plan_device(entry, device.type), quality)


def apply_speed(model: Any, plan: SpeedPlan, device: torch.device) -> None:
    apply_to_denoiser(model, plan, device)


def speed_variants(chosen: SpeedPlan | None) -> list[tuple[str, SpeedPlan | None, str]]:
    """(label, plan, why skipped) for: plain diffusers, each per-denoiser switch alone, all of them,
    and ours as planned for this GPU when that differs. A None plan is plain diffusers, untouched.

    The step cache, the LoRAs and the tiny decoder are not per-denoiser switches: their gains show
    in the seed job and the VAE rows, not in seconds per call of a denoiser.
    """
    no_plan = "the attention backend is chosen by plan_speed, which this build does not have"
    attention = chosen.attention if chosen is not None else None
    variants: list[tuple[str, SpeedPlan | None, str]] = [("plain diffusers", None, "")]
    if attention is None:
        variants.append(("attention alone", SPEED_OFF, no_plan))
    elif attention != SPEED_OFF.attention:
        variants.append((f"attention {attention} alone", SPEED_OFF.with_(attention=attention), ""))
    variants.append(("compile alone", SPEED_OFF.with_(compile=True), ""))
    variants.append(("fp8 alone", SPEED_OFF.with_(fp8=True), ""))
    together = SPEED_OFF.with_(attention=attention or SPEED_OFF.attention, compile=True, fp8=True)
    variants.append(("all together", together, ""))
    if chosen is not None:
        ours = SPEED_OFF.with_(attention=chosen.attention, compile=chosen.compile, fp8=chosen.fp8)
        if ours not in [plan for _, plan, _ in variants]:
            variants.append(("ours (planned for this GPU)", ours, ""))
    return variants


def denoiser_row(spec: Mapping[str, Any], plan: SpeedPlan | None, steps: int, peak_tflops: float,
                 flops: float, device: torch.device) -> dict[str, Any]:
    """Seconds per call and per step, MFU and peak memory of one denoiser under one speed plan."""
    import torch

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    model = build_denoiser(spec, device)
    if plan is not None:
        apply_speed(model, plan, device)
    inputs = denoiser_inputs(spec, device)
    start = time.perf_counter()
    run_denoiser(model, inputs)  # warm-up: kernel selection, allocator, compilation
    sync()
    warmup_s = time.perf_counter() - start
    with PeakMemory(device.type) as mem:
        start = time.perf_counter()
        for _ in range(steps):
            run_denoiser(model, inputs)
        sync()
        per_call = (time.perf_counter() - start) / steps
    calls = int(spec["calls_per_step"])
    achieved = flops / per_call / 1e12
    return dict(call_ms=per_call * 1000, step_ms=per_call * calls * 1000, tflops=achieved,
                mfu=achieved / peak_tflops, peak_gb=mem.peak / GB, warmup_s=warmup_s)


def _small(t: Any, multiple: int = 2, frames: int = 2) -> Any:
    """A quarter-size slice of a VAE input, to warm the kernels up cheaply: `frames` frames, sides
    kept multiples of `multiple` (32 for pixels, which every VAE here divides; 2 for latents).
    """
    h, w = (max(multiple, side // 4 // multiple * multiple) for side in t.shape[-2:])
    if t.dim() == 5:  # (B, C, T, H, W)
        return t[:, :, :frames, :h, :w]
    return t[:frames, ..., :h, :w]  # SVD: (frames, C, h, w) latents, or one (1, 3, H, W) photo


def vae_row(spec: Mapping[str, Any], device: torch.device) -> dict[str, Any]:
    """The full VAE at its published config: decode of the real clip size, encode of the photo."""
    import torch

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    vae = build_vae(spec, device)
    pixels, latents = vae_tensors(spec, device)
    vae_decode(vae, spec, {k: _small(v) if k == "z" else v for k, v in latents.items()})
    vae_encode(vae, _small(pixels, 32, 1))
    sync()
    with PeakMemory(device.type) as decode_mem:
        start = time.perf_counter()
        vae_decode(vae, spec, latents)
        sync()
        decode_s = time.perf_counter() - start
    with PeakMemory(device.type) as encode_mem:
        start = time.perf_counter()
        vae_encode(vae, pixels)
        sync()
        encode_s = time.perf_counter() - start
    return dict(decode_s=decode_s, decode_peak_gb=decode_mem.peak / GB, encode_s=encode_s,
                encode_peak_gb=encode_mem.peak / GB)


def tiny_decoder_row(spec: Mapping[str, Any], device: torch.device) -> dict[str, Any]:
    """The model's tiny video decoder (engine/taehv.py, random weights) on the same latents as the VAE row."""
    import torch

    from .taehv import ARCHS, CHUNK, TinyVideoAutoencoder, tiny_dtype

    entry = load_registry().get(spec["model"])
    if entry.tiny_decoder is None:
        raise NotImplementedError(f"no tiny decoder is published for {entry.name}'s latents")
    decoder = TinyVideoAutoencoder(ARCHS[entry.tiny_decoder.arch]).to(device, tiny_dtype(device)).eval()
    z = torch.randn(*spec["vae"]["decode"]["z"], device=device, dtype=tiny_dtype(device))
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    with torch.no_grad():
        decoder.decode(_small(z), chunk=CHUNK)
        sync()
        with PeakMemory(device.type) as mem:
            start = time.perf_counter()
            decoder.decode(z, chunk=CHUNK)
            sync()
            decode_s = time.perf_counter() - start
    return dict(decode_s=decode_s, decode_peak_gb=mem.peak / GB)


def first_preview(rows: list[dict[str, Any]], vae: Mapping[str, Any], preview_s: float) -> dict[str, Any]:
    """Time from Generate to the first animated preview, warm (pipeline loaded, prompt encoded).

    The photo is new, so the pipeline first encodes it (Wan2.1 and A14B encode it followed by
    num_frames - 1 black frames), then runs one step, then our callback makes the preview.
    """
    done = {r["variant"]: r for r in rows if r["status"] == "ok"}
    best = next((done[v] for v in ("ours (planned for this GPU)", "all together", "plain diffusers") if v in done), None)
    if best is None or vae.get("status") != "ok":
        return dict(status="skipped: needs a measured step and a measured VAE encode")
    step_s = best["step_ms"] / 1000
    total = vae["encode_s"] + step_s + preview_s
    return dict(status="ok", step_from=best["variant"], encode_s=vae["encode_s"], step_s=step_s,
                preview_s=preview_s, first_preview_s=total, target_s=step_s + 0.1,
                meets_target=total <= step_s + 0.1)


# -- the seed job: 12 photos -> 12 x 3 s 720p clips with the fast tier -----------------------------

SEED_PHOTOS = 12
SEED_SECONDS = 3.0


def seed_spec(spec: Mapping[str, Any], entry: ModelEntry, width: int, height: int, frames: int) -> dict[str, Any]:
    """A Wan spec resized to another clip: latent frames and pixels, token counts, one call a step.

    The fast tier runs without classifier-free guidance (CFG 1), so a step is a single call.
    """
    if spec["class"] != "WanTransformer3DModel":
        raise NotImplementedError(f"the seed job is sized for Wan models only, not {spec['class']}")
    t = (frames - 1) // entry.temporal_ratio + 1
    h, w = height // entry.spatial_ratio, width // entry.spatial_ratio
    _, ph, pw = spec["config"]["patch_size"]
    inputs = {k: (dict(v) if isinstance(v, dict) else list(v)) for k, v in spec["inputs"].items()}
    inputs["hidden_states"][2:] = [t, h, w]
    timestep = inputs["timestep"]
    if len(timestep["shape"]) == 2:  # expand_timesteps: one timestep per token
        timestep["shape"] = [1, t * (h // ph) * (w // pw)]
    vae = dict(spec["vae"])
    encode = list(vae["encode"])
    encode[2:] = [encode[2] if encode[2] == 1 else frames, height, width]
    vae["encode"] = encode
    vae["decode"] = {"z": [1, spec["config"]["out_channels"], t, h, w]}
    out = dict(spec, inputs=inputs, calls_per_step=1, size=[width, height], frames=frames, vae=vae)
    out["output"] = [1, spec["config"]["out_channels"], t, h, w]
    return out


def seed_job(device: torch.device, peak_tflops: float, clips: int, budget: Budget, limit_gb: float) -> dict[str, Any]:
    """The seed job with the fast tier, end to end per clip: encode the photo, the tier's steps
    (one call each), decode with the full VAE. `clips` of the 12 are run; all 12 cost the same.
    """
    import torch

    registry = load_registry()
    specs = architectures()
    fast = [e for e in registry.entries.values() if "fast" in e.tiers]
    candidates = [(e, s) for e in fast for s in specs.values() if s["model"] == e.id]
    if not candidates:
        why = "no model has a fast tier in this build's registry" if not fast else \
            "no fast-tier model has a published architecture in architectures.json"
        return dict(status=f"skipped: {why}")
    # 720p where a fast-tier model offers it.
    entry, spec = max(candidates, key=lambda c: c[0].area("fast"))
    tier = entry.tier("fast")
    width, height = entry.resolutions[tier.resolution]
    frames = snap_frames(entry.frame_rule, SEED_SECONDS * entry.fps + 1, entry.max_frames)
    row: dict[str, Any] = dict(model=entry.id, size=[width, height], frames=frames, steps=tier.steps,
                               photos=SEED_PHOTOS, clips_run=clips)
    try:
        sized = seed_spec(spec, entry, width, height, frames)
        plan = chosen_speed(entry, device, "fast")
    except NotImplementedError as exc:
        row["status"] = f"skipped: {_first_line(exc)}"
        return row
    flops = count_flops(sized)
    # The denoiser's work alone for all 12 clips, and the time it takes at the measured matmul peak
    # (100% MFU): no speed-up short of skipping work can beat that bound.
    row["job_denoiser_pflop"] = SEED_PHOTOS * tier.steps * flops / 1e15
    row["bound_s"] = SEED_PHOTOS * tier.steps * flops / (peak_tflops * 1e12)
    estimate = clips * (tier.steps * flops / (peak_tflops * 1e12 * 0.3) + VAE_ALLOWANCE_S) + COMPILE_ALLOWANCE_S
    if not budget.allows(estimate):
        row["status"] = budget.skip(estimate)
        return row
    applied = SPEED_OFF.with_(attention=plan.attention, compile=plan.compile, fp8=plan.fp8)
    row["speed"] = plan.as_metadata()
    row["applied"] = applied.as_metadata()

    def work() -> dict[str, Any]:
        sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
        model = build_denoiser(sized, device)
        apply_speed(model, applied, device)
        vae = build_vae(sized, device)
        inputs = denoiser_inputs(sized, device)
        pixels, latents = vae_tensors(sized, device)
        # Warm-up (and compilation): once per session, not per clip.
        run_denoiser(model, inputs)
        vae_encode(vae, _small(pixels, 32, 1))
        vae_decode(vae, sized, {"z": _small(latents["z"])})
        sync()
        per_clip = []
        with PeakMemory(device.type) as mem:
            for _ in range(clips):
                start = time.perf_counter()
                vae_encode(vae, pixels)
                for _ in range(tier.steps):
                    run_denoiser(model, inputs)
                vae_decode(vae, sized, latents)
                sync()
                per_clip.append(time.perf_counter() - start)
        clip_s = float(np.median(per_clip))
        return dict(clip_s=clip_s, job_s=clip_s * SEED_PHOTOS, target_s=180.0,
                    meets_target=clip_s * SEED_PHOTOS <= 180.0, peak_gb=mem.peak / GB)

    return guarded(row, work, device, limit_gb)


# -- memory plans and out-of-memory recovery (engine/device.py) ------------------------------------
#


def memory_plan(entry: ModelEntry, gpu_gb: float) -> dict[str, Any]:
    """What the engine plans for `entry` on a card of `gpu_gb`."""
    from . import device

    fp8 = fp8_weights("cuda", gpu_gb)
    return dict(model=entry.id, gpu_gb=round(gpu_gb, 1), offload=device.choose_offload(entry, gpu_gb, fp8),
                fp8=fp8, registry_vram_gb=dict(entry.vram_gb))


def memory_plans(card_gb: float, simulated_gb: float) -> list[dict[str, Any]]:
    registry = load_registry()
    return [memory_plan(e, gb) for e in registry.entries.values() for gb in (card_gb, simulated_gb)]


def offload_ladder(first: Any) -> list[Any]:
    """The plans the engine would try, in order, after out-of-memory errors."""
    from . import device

    ladder = [first]
    while (nxt := device.lighter(ladder[-1])) is not None and len(ladder) < 8:
        ladder.append(nxt)
    return ladder


def _cpu_copy(spec: Mapping[str, Any]) -> torch.nn.Module:
    """The denoiser in host memory, zero weights: built on meta, then given real (CPU) storage.

    Random initialisation of 16B parameters on the CPU takes minutes; for placement and timing the
    values do not matter.
    """
    import torch

    model = build_denoiser(spec, torch.device("meta")).to_empty(device="cpu")
    with torch.no_grad():
        for tensor in [*model.parameters(), *model.buffers()]:
            tensor.zero_()
    return model


def run_offloaded(spec: Mapping[str, Any], offload: str, device: torch.device, row: dict[str, Any]) -> dict[str, Any]:
    """One denoiser call placed the way an offload mode places it (the modes of load_pipeline).
    row["stage"] says how far it got: "loading", then "denoising".
    """
    import torch

    row["stage"] = "loading"
    if offload == "none":
        model = build_denoiser(spec, device)  # weights straight onto the GPU: an OOM here is "loading"
    else:
        model = _cpu_copy(spec)
        if offload == "model":  # the whole component moves to the GPU for its forward
            model.to(device)
        elif offload == "group":
            model.enable_group_offload(onload_device=device, offload_type="leaf_level",
                                       use_stream=device.type == "cuda")
        else:
            from accelerate import cpu_offload

            cpu_offload(model, execution_device=device)
    row["stage"] = "denoising"
    inputs = denoiser_inputs(spec, device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    with PeakMemory(device.type) as mem:
        start = time.perf_counter()
        run_denoiser(model, inputs)
        sync()
        seconds = time.perf_counter() - start
    return dict(call_s=seconds, peak_gb=mem.peak / GB)


def oom_recovery(device: torch.device, simulated_gb: float, budget: Budget) -> dict[str, Any]:
    """On a card limited to `simulated_gb`: a bench row that runs out of memory reports it and the
    next row still runs; then a 14B denoiser walks the engine's offload ladder until one call fits.
    """
    import torch

    from .device import DevicePlan

    total = torch.cuda.get_device_properties(device).total_memory / GB
    fraction = min(simulated_gb / total, 1.0)
    torch.cuda.set_per_process_memory_fraction(fraction, device)
    limit = memory_limit_gb(device, fraction)
    specs = architectures()
    result: dict[str, Any] = dict(simulated_gb=simulated_gb, limit_gb=limit)
    try:
        peak = _matmul_peak()
        rows = []
        for name in ("wan2.2-i2v-a14b transformer", "ltx-video-2b transformer"):  # 28 GB, then 4 GB
            spec = specs[name]
            row = dict(name=name, variant="plain diffusers")
            rows.append(guarded(row, lambda: denoiser_row(spec, None, 1, peak, count_flops(spec), device),
                                device, limit))
        result["bench_rows"] = rows

        spec = specs["wan2.1-i2v-14b transformer"]  # 16.4B parameters: 33 GB in bf16
        attempts: list[dict[str, Any]] = []
        try:
            first = DevicePlan(device="cuda", dtype="bfloat16", offload="none", vae_tiling=False, free_gb=limit)
            ladder = offload_ladder(first)
        except NotImplementedError as exc:
            result["ladder"] = f"skipped: {_first_line(exc)}"
            return result
        for plan in ladder:
            if not budget.allows(VAE_ALLOWANCE_S):
                attempts.append(dict(offload=plan.offload, status=budget.skip(VAE_ALLOWANCE_S)))
                break
            attempt: dict[str, Any] = dict(offload=plan.offload, vae_tiling=plan.vae_tiling)
            guarded(attempt, lambda: run_offloaded(spec, plan.offload, device, attempt), device, limit)
            attempts.append(attempt)
            if attempt["status"] == "ok":
                break
        result["ladder"] = attempts
        result["recovered"] = bool(attempts) and attempts[-1]["status"] == "ok"
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0, device)
    return result


# -- the benchmark run ----------------------------------------------------------------------------


def bench_real(family: str = "all", steps: int = 3, seed_clips: int = SEED_PHOTOS, memory_gb: float | None = None,
               budget_s: float | None = None, device: torch.device | None = None,
               specs: Mapping[str, Any] | None = None, speed: bool = True) -> dict[str, Any]:
    """Every family's denoiser at its published size (random bf16 weights) under each speed plan,
    its VAE, the first preview and the seed job. Rows that run out of memory say so; the run goes on.

    `specs` replaces architectures.json's (tests); `speed=False` times plain diffusers only;
    `seed_clips=0` leaves the seed job out.
    """
    import torch

    device = device or torch.device("cuda")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("i2v bench --real needs a CUDA GPU (try --dry-run for the plan on this machine)")
    fraction = 1.0
    if memory_gb is not None and device.type == "cuda":
        total = torch.cuda.get_device_properties(device).total_memory / GB
        fraction = min(memory_gb / total, 1.0)
        torch.cuda.set_per_process_memory_fraction(fraction, device)
    limit = memory_limit_gb(device, fraction)
    budget = Budget(budget_s)
    specs = dict(specs) if specs is not None else architectures(family)
    peak = _matmul_peak() if device.type == "cuda" else float("nan")
    report: dict[str, Any] = dict(device=_device_name(device), memory_gb=limit, matmul_tflops=peak, steps=steps,
                                  family=family, denoisers=[], vae=[], first_preview=[])
    registry = load_registry()
    flops = {name: count_flops(spec) for name, spec in specs.items()}
    # Under a time budget the cheapest denoisers go first, so the budget runs out on the big ones.
    order = list(specs) if budget_s is None else sorted(specs, key=lambda n: flops[n] * specs[n]["calls_per_step"])
    plans: dict[str, SpeedPlan | None] = {}
    for name in order:
        try:
            plans[name] = chosen_speed(registry.get(specs[name]["model"]), device)
        except NotImplementedError:
            plans[name] = None
    variants = {name: speed_variants(plans[name])[: None if speed else 1] for name in order}
    rows_by_name = {name: [dict(name=name, model=specs[name]["model"], variant=label,
                                speed=None if plan is None else plan.as_metadata(), status="skipped: " + why)
                           for label, plan, why in variants[name]] for name in order}

    def run_variants(wanted: Callable[[str], bool]) -> None:
        for name in order:
            spec = specs[name]
            for (label, plan, why), row in zip(variants[name], rows_by_name[name]):
                if why or not wanted(label):
                    continue
                plain = rows_by_name[name][0]
                call_s = plain["call_ms"] / 1000 if plain["status"] == "ok" else \
                    flops[name] / (peak * 1e12 * 0.3) if peak == peak else 0.0
                estimate = (steps + 1) * call_s * 1.5 + (COMPILE_ALLOWANCE_S if plan and plan.compile else 0.0)
                if not budget.allows(estimate):
                    row["status"] = budget.skip(estimate)
                    continue
                guarded(row, lambda: denoiser_row(spec, plan, steps, peak, flops[name], device), device, limit)

    def run_vaes() -> None:
        for name in order:
            spec = specs[name]
            full: dict[str, Any] = dict(name=name, model=spec["model"], decoder="full")
            if budget.allows(VAE_ALLOWANCE_S):
                guarded(full, lambda: vae_row(spec, device), device, limit)
            else:
                full["status"] = budget.skip(VAE_ALLOWANCE_S)
            tiny: dict[str, Any] = dict(name=name, model=spec["model"], decoder="tiny")
            guarded(tiny, lambda: tiny_decoder_row(spec, device), device, limit)
            report["vae"].extend([full, tiny])

    # In order of what matters when time is short (gpu-check): the plain baseline of every family
    # (and each later estimate uses its measured seconds per call), the VAEs, every switch
    # together, the seed job, and last each switch alone.
    together = ("all together", "ours (planned for this GPU)")
    run_variants(lambda label: label == "plain diffusers")
    run_vaes()
    run_variants(lambda label: label in together)
    if seed_clips > 0 and family in ("all", "wan"):
        report["seed_job"] = seed_job(device, peak, seed_clips, budget, limit)
    run_variants(lambda label: label != "plain diffusers" and label not in together)

    full_vae = {r["name"]: r for r in report["vae"] if r["decoder"] == "full"}
    for name in order:
        rows = rows_by_name[name]
        for row in rows:
            if row["status"] == "ok" and rows[0]["status"] == "ok":
                row["vs_plain"] = rows[0]["step_ms"] / row["step_ms"]
        report["denoisers"].extend(rows)
        _, preview_s = engine_overhead(specs[name], device)
        report["first_preview"].append(dict(name=name, model=specs[name]["model"],
                                            **first_preview(rows, full_vae[name], preview_s)))
    if fraction < 1.0:
        torch.cuda.set_per_process_memory_fraction(1.0, device)
    return report


def _device_name(device: torch.device) -> str:
    import platform

    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{device.type} ({platform.processor() or platform.machine()})"


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


# -- the dry run: what a GPU run would do, from the CPU -------------------------------------------

# What a dry run assumes the GPU achieves, to estimate times: a bf16 dense peak near an H100's
# measured ~750 TFLOP/s, at the 30% MFU these video models reach unoptimised.
DRY_RUN_TFLOPS = 750.0 * 0.3
DRY_RUN_CARD_GB = 141.0  # an H200
# speed_variants() as a GPU run builds them; the attention backend is plan_speed's choice there.
DRY_RUN_VARIANTS = (("plain diffusers", False), ("attention alone (plan_speed's backend)", False),
                    ("compile alone", True), ("fp8 alone", False), ("all together", True),
                    ("ours (planned for this GPU), when it differs", True))


def dry_run(family: str = "all", steps: int = 3, simulated_gb: float = 24.0, vae: bool = True) -> dict[str, Any]:
    """Shapes and FLOPs on the meta device, and the plan of what a GPU run would do, with estimates."""
    from .device import DevicePlan

    registry = load_registry()
    specs = architectures(family)
    denoisers, vaes = [], []
    for name, spec in specs.items():
        model, shape, flops = meta_call(spec)
        seconds = flops / (DRY_RUN_TFLOPS * 1e12)
        variants = [dict(variant=label, estimate_s=round((steps + 1) * seconds * spec["calls_per_step"]
                                                         + (COMPILE_ALLOWANCE_S if compiles else 0), 1))
                    for label, compiles in DRY_RUN_VARIANTS]
        denoisers.append(dict(name=name, model=spec["model"], params_b=sum(p.numel() for p in model.parameters()) / 1e9,
                              output=list(shape), tflop_per_call=flops / 1e12, calls_per_step=spec["calls_per_step"],
                              estimated_step_s=seconds * spec["calls_per_step"], variants=variants))
        if vae:
            vaes.append(dict(name=name, model=spec["model"], **meta_vae(spec)))
    try:
        ladder: Any = [p.offload for p in offload_ladder(DevicePlan(device="cuda", dtype="bfloat16", offload="none", vae_tiling=False,
                                                         free_gb=simulated_gb))]
    except NotImplementedError as exc:
        ladder = f"skipped: {_first_line(exc)}"
    seed_models = [e.id for e in registry.entries.values() if "fast" in e.tiers]
    total = sum(v["estimate_s"] for d in denoisers for v in d["variants"]) + VAE_ALLOWANCE_S * len(denoisers)
    return dict(dry_run=True, device="meta", family=family, assumed_tflops=DRY_RUN_TFLOPS, estimated_total_s=total,
                denoisers=denoisers,
                vae=vaes, memory_plans=memory_plans(DRY_RUN_CARD_GB, simulated_gb),
                oom_recovery=dict(simulated_gb=simulated_gb, bench_rows=["wan2.2-i2v-a14b transformer",
                                                                         "ltx-video-2b transformer"],
                                  ladder_model="wan2.1-i2v-14b transformer", ladder=ladder),
                seed_job=dict(fast_tier_models=seed_models, photos=SEED_PHOTOS, seconds=SEED_SECONDS,
                              status="would run" if seed_models else "skipped: no model has a fast tier in this "
                              "build's registry"))


# -- gpu-check: the GPU checks in one run, as JSON ------------------------------------------------


def gpu_check(outdir: Path, dry: bool = False, family: str = "all", budget_s: float = 390.0,
              simulated_gb: float = 24.0) -> dict[str, Any]:
    """The real-architecture benchmark, the memory plans and OOM recovery on a simulated smaller
    card, within `budget_s`; written to OUTDIR/gpu-check.json. With `dry` it runs on the CPU on
    meta tensors and only plans.
    """
    import torch

    started = time.monotonic()
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / "gpu-check.json"
    report: dict[str, Any] = {}

    def save() -> None:  # after every part: a run cut short still leaves what it measured
        report["wall_s"] = time.monotonic() - started
        path.write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")

    def part(name: str, work: Callable[[], Any]) -> None:
        try:
            value = work()
            if isinstance(value, dict) and name == "bench":
                report.update(value)
            else:
                report[name] = value
        except Exception as exc:  # noqa: BLE001 -- one failed part must not cost the others' figures
            report.setdefault("errors", []).append(f"{name}: {type(exc).__name__}: {_first_line(exc)}")
            print(f"gpu-check: {name} failed: {type(exc).__name__}: {_first_line(exc)}", flush=True)
        save()

    if dry:
        part("bench", lambda: dry_run(family, simulated_gb=simulated_gb))
    else:
        if not torch.cuda.is_available():
            raise SystemExit("gpu-check: no CUDA GPU on this machine (use --dry-run for the plan)")
        device = torch.device("cuda")
        budget = Budget(budget_s)
        report.update(torch=torch.__version__, device=_device_name(device))
        # A short bench (one timed call a row, one seed clip) with 70% of the budget; the OOM part
        # gets the rest.
        part("bench", lambda: bench_real(family, steps=1, seed_clips=1, budget_s=budget_s * 0.7, device=device))
        card = torch.cuda.get_device_properties(device).total_memory / GB
        part("memory_plans", lambda: memory_plans(card, simulated_gb))
        part("oom_recovery", lambda: oom_recovery(device, simulated_gb, budget))
    if "denoisers" in report:
        print_real(report)
    print(f"gpu-check: wrote {path} in {report['wall_s']:.0f} s")
    return report


def gpu_check_main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="gpu-check", description=gpu_check.__doc__)
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--dry-run", action="store_true", help="plan only, on the CPU (meta tensors)")
    parser.add_argument("--family", choices=("wan", "ltx", "svd", "all"), default="all")
    parser.add_argument("--budget", type=float, default=390.0, help="seconds for the GPU work (default 390)")
    args = parser.parse_args(argv)
    gpu_check(args.outdir, args.dry_run, args.family, args.budget)
    return 0


# -- printing -------------------------------------------------------------------------------------


def _cell(value: Any, fmt: str) -> str:
    """`value` in `fmt`, or a dash as wide as the column when the row has no such figure."""
    if isinstance(value, (int, float)):
        return format(value, fmt)
    return "-".rjust(int(fmt.split(".")[0] or 0))


def print_real(report: Mapping[str, Any]) -> None:
    if report.get("dry_run"):
        print(f"Dry run on meta tensors (no GPU). Times assume {report['assumed_tflops']:.0f} TFLOP/s achieved.")
        print(f"{'denoiser':28} {'params':>7} {'TFLOP':>7} {'calls':>5} {'est s/step':>10}  output")
        for d in report["denoisers"]:
            print(f"{d['name']:28} {d['params_b']:6.2f}B {d['tflop_per_call']:7.1f} {d['calls_per_step']:5d} "
                  f"{d['estimated_step_s']:10.2f}  {d['output']}")
            for v in d["variants"]:
                print(f"    would run {v['variant']:46} about {v['estimate_s']:6.1f} s")
        for v in report["vae"]:
            print(f"VAE {v['name']:24} {v['params_m']:7.0f}M decode {v['decode_tflop']:7.1f} TFLOP -> {v['frames']}"
                  f"; encode {v['encode_tflop']:6.1f} TFLOP")
        print(f"Every row above with its VAE: about {report['estimated_total_s']:.0f} s; under gpu-check's budget "
              "the cheapest run first and the rest are reported as skipped.")
        print(f"Seed job: {report['seed_job']['status']}")
        print_checks(report)
        return
    print(f"{report['device']}: bf16 matmul {report['matmul_tflops']:.0f} TFLOP/s, {report['memory_gb']:.0f} GB usable")
    print(f"{'denoiser':28} {'variant':28} {'ms/call':>9} {'ms/step':>9} {'MFU':>6} {'peak GB':>8} {'vs plain':>8}  status")
    for r in report["denoisers"]:
        print(f"{r['name']:28} {r['variant'][:28]:28} {_cell(r.get('call_ms'), '9.1f')} "
              f"{_cell(r.get('step_ms'), '9.1f')} {_cell(r.get('mfu'), '6.1%')} {_cell(r.get('peak_gb'), '8.1f')} "
              f"{_cell(r.get('vs_plain'), '8.2f')}  {r['status']}")
    print(f"{'VAE':28} {'decoder':8} {'decode s':>9} {'peak GB':>8} {'encode s':>9}  status")
    for r in report["vae"]:
        print(f"{r['name']:28} {r['decoder']:8} {_cell(r.get('decode_s'), '9.2f')} "
              f"{_cell(r.get('decode_peak_gb'), '8.1f')} {_cell(r.get('encode_s'), '9.2f')}  {r['status']}")
    for r in report["first_preview"]:
        if r["status"] == "ok":
            print(f"first preview {r['name']:28} {r['first_preview_s']:.2f} s (encode {r['encode_s']:.2f} + step "
                  f"{r['step_s']:.2f} + preview {r['preview_s']:.3f}); target {r['target_s']:.2f} s")
        else:
            print(f"first preview {r['name']:28} {r['status']}")
    seed = report.get("seed_job")
    if seed:
        if seed.get("status") == "ok":
            print(f"seed job {seed['model']}: {seed['clip_s']:.1f} s a clip, {seed['photos']} clips "
                  f"{seed['job_s']:.0f} s (target 180 s; {seed['clips_run']} run), peak {seed['peak_gb']:.1f} GB; "
                  f"the denoiser alone needs {seed['bound_s']:.0f} s at 100% of the measured matmul peak")
        else:
            print(f"seed job: {seed['status']}")
    print("MFU is against the bf16 8192³ matrix product measured in this run; TFLOP counted by FlopCounterMode.")
    print_checks(report)


def print_checks(report: Mapping[str, Any]) -> None:
    """gpu-check's memory plans and OOM recovery, after the bench's tables."""
    plans: dict[str, list[str]] = {}
    for plan in report.get("memory_plans", []):
        plans.setdefault(plan["model"], []).append(f"{plan['gpu_gb']:.0f} GB: {plan['offload']}"
                                                   + (" + fp8" if plan["fp8"] else ""))
    for model, cells in plans.items():
        print(f"memory plan {model:24} " + "; ".join(cells))
    oom = report.get("oom_recovery")
    if not oom:
        return
    for row in oom.get("bench_rows", []):
        if isinstance(row, dict):
            print(f"on {oom['simulated_gb']:.0f} GB: {row['name']:28} {row['status']}")
    ladder = oom.get("ladder")
    if isinstance(ladder, list) and ladder and isinstance(ladder[0], dict):
        steps = ", ".join(f"{a['offload']} {a['status']}" + (f" while {a['stage']}" if "stage" in a and
                                                              a["status"] != "ok" else "") for a in ladder)
        print(f"OOM ladder on {oom['simulated_gb']:.0f} GB: {steps}")
    else:
        print(f"OOM ladder on {oom['simulated_gb']:.0f} GB: {ladder}")


def run_bench(family: str, steps: int, real: bool, json_path: Path | None = None, memory_gb: float | None = None,
              dry: bool = False, seed_clips: int = SEED_PHOTOS) -> int:
    if real or dry:
        report = dry_run(family, steps) if dry else bench_real(family, steps, seed_clips, memory_gb)
        print_real(report)
        if json_path is not None:
            json_path.write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")
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
    if json_path is not None:
        json_path.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return 0
