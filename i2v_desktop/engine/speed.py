"""Speed features of the diffusion engine, each a switch chosen from the hardware and recorded.

With every switch off (`SPEED_OFF`) the engine must give the same frames as the plain diffusers
pipeline call; each switch is then measured against that baseline (`i2v bench --real`).

The switches, all through diffusers' own mechanisms:
- attention: `set_attention_backend` on the denoiser (FlashAttention 3 on Hopper, SageAttention,
  cuDNN SDPA), probed with one small call and falling back to PyTorch's SDPA when it fails;
- compile: `compile_repeated_blocks` (regional compilation), its caches kept in the app's cache
  folder so only the first render on a machine pays for it;
- cache: a step cache (`enable_cache`) for the draft tier only, switched per job;
- fp8: `enable_layerwise_casting`, weights stored in float8 and computed in the pipeline's dtype.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Iterator, Mapping

from ..core.errors import first_line

log = logging.getLogger(__name__)

# diffusers AttentionBackendName values we choose between (see plan_speed).
ATTENTION_BACKENDS = ("native", "_native_cudnn", "_flash_3", "_flash_3_hub", "flash", "sage")
# FirstBlockCache needs nothing per model. Not offered: MagCache needs magnitude ratios calibrated
# per checkpoint (diffusers publishes Flux's only), and TaylorSeer's default module patterns
# ("^blocks.*attn", matched whole) miss Wan's attn1/attn2, so on Wan it would hook nothing.
STEP_CACHES = ("first_block",)


@dataclass(frozen=True)
class SpeedPlan:
    """What the engine does to go faster for one model on one machine, at one quality tier."""

    attention: str = "native"  # a diffusers attention backend name; "native" = PyTorch SDPA as is
    compile: bool = False  # regional compilation of the repeated transformer blocks
    cache: str | None = None  # one of STEP_CACHES (draft tiers only), or None
    fp8: bool = False  # float8 weight storage, computed in the pipeline's dtype
    tiny_decoder: bool = False  # previews (and draft decodes) through the tiny video autoencoder
    lora: str | None = None  # the step-distilled LoRA set in use (the fast tier), or None

    def with_(self, **changes: Any) -> SpeedPlan:
        return replace(self, **changes)

    def as_metadata(self) -> dict[str, Any]:
        """What goes into the clip's metadata: every switch, on or off."""
        return asdict(self)


SPEED_OFF = SpeedPlan()
SPEED_MODES = ("auto", "off")


# Below this much GPU memory the denoiser's weights are stored in float8 (half of bf16), so a 14B
# model fits with model offload instead of crawling through sequential offload.
FP8_BELOW_GB = 32.0


def fp8_weights(device: str, total_gb: float | None) -> bool:
    """Whether weights are stored in float8 on this device (the memory plan counts on it too)."""
    return device == "cuda" and total_gb is not None and total_gb < FP8_BELOW_GB


# What each family's denoiser supports, read from its diffusers class: the Wan and LTX transformers
# have CacheMixin (step caches) and `_repeated_blocks` (regional compilation); SVD's UNet has
# neither, and its attention processor calls SDPA directly, so a backend switch would not reach it.
TRANSFORMER_FAMILIES = frozenset({"wan", "ltx"})
# LTX hands its attention a text mask, which FlashAttention 3 and SageAttention reject outright
# (diffusers raises "attn_mask is not supported"); PyTorch's SDPA picks a kernel that takes it.
MASK_FREE_FAMILIES = frozenset({"wan"})
# A step cache reuses a step's work in the next; with few steps each one changes the video too much
# to skip (the distilled 8-step LTX, a 4-step LoRA), so below this the cache stays off.
MIN_CACHE_STEPS = 12
# FirstBlockCache's threshold on the first block's relative change: diffusers' default. Measured
# on Wan2.1 by others: 0.06 about halves a 14B render and stays usable, 0.09 spoils it.
FIRST_BLOCK_THRESHOLD = 0.05


@dataclass(frozen=True)
class Hardware:
    """Facts about the GPU that the plan is chosen from (tests describe machines with this)."""

    capability: tuple[int, int] | None = None  # CUDA compute capability, (9, 0) for Hopper
    total_gb: float | None = None  # the GPU's memory as this process may use it
    kernels: frozenset[str] = frozenset()  # attention backends whose packages are installed
    triton: bool = False  # torch.compile's GPU code generator is installed


def detect_hardware(device: str) -> Hardware:
    """The facts of this machine's `device` (only CUDA has any that matter)."""
    if device != "cuda":
        return Hardware()
    import torch
    from torch.utils._triton import has_triton

    props = torch.cuda.get_device_properties(torch.cuda.current_device())
    # mem_get_info's total is the physical card; a per-process memory fraction (used to try a
    # smaller card's plan) is what this process may really use.
    fraction = getattr(torch.cuda, "get_per_process_memory_fraction", lambda: 1.0)()
    total_gb = props.total_memory * fraction / 1024**3
    return Hardware((props.major, props.minor), total_gb, installed_attention(), has_triton())


@functools.cache
def installed_attention() -> frozenset[str]:
    """The optional attention backends whose packages import, by diffusers' own requirement checks."""
    try:
        from diffusers.models.attention_dispatch import AttentionBackendName
        from diffusers.models.attention_dispatch import _check_attention_backend_requirements as check
    except ImportError:  # a diffusers without the dispatcher: nothing but PyTorch's own
        return frozenset()
    found = set()
    for name in ("_flash_3", "_flash_3_hub", "sage", "flash"):
        try:
            check(AttentionBackendName(name))
        except (RuntimeError, ValueError, ImportError):
            continue
        found.add(name)
    return frozenset(found)


def choose_attention(family: str, device: str, hardware: Hardware) -> str:
    """The fastest attention backend this family can use on this GPU; "native" elsewhere."""
    if device != "cuda" or family not in TRANSFORMER_FAMILIES or hardware.capability is None:
        return "native"
    if hardware.capability < (8, 0):
        return "native"  # cuDNN's fused attention, FA3 and Sage all need Ampere or newer
    if family in MASK_FREE_FAMILIES:
        if hardware.capability[0] == 9:  # FlashAttention 3 is written for Hopper's instructions
            for name in ("_flash_3", "_flash_3_hub"):
                if name in hardware.kernels:
                    return name
        if "sage" in hardware.kernels:
            return "sage"
        return "_native_cudnn"
    return "native"


def plan_speed(
    entry: Any,
    device_plan: Any,
    quality: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    hardware: Hardware | None = None,
    steps: int | None = None,
) -> SpeedPlan:
    """The switches for `entry` on the device `device_plan` describes, at `quality`.

    `hardware` describes the GPU (detected when None); `steps` is the job's step count when it
    differs from the tier's. `overrides` forces any SpeedPlan field, e.g. {"cache": None}.
    """
    device = device_plan.device
    hw = hardware if hardware is not None else detect_hardware(device)
    # The memory plan's view of the card wins (it may be simulating a smaller one).
    total_gb = getattr(device_plan, "total_gb", None)
    total_gb = hw.total_gb if total_gb is None else total_gb
    transformer = entry.family in TRANSFORMER_FAMILIES
    if steps is None:
        steps = entry.tiers[quality].steps if quality in entry.tiers else 0
    plan = SpeedPlan(
        attention=choose_attention(entry.family, device, hw),
        # Inductor's kernels are for CUDA here; offload hooks that move every layer in and out
        # (group, sequential) would break the compiled graphs into pieces and gain nothing.
        compile=device == "cuda" and hw.triton and transformer and device_plan.offload in ("none", "model"),
        cache="first_block" if quality == "draft" and transformer and steps >= MIN_CACHE_STEPS else None,
        # Drafts are decoded by the model's tiny video decoder when it is downloaded (the window's
        # previews use it whenever it is); standard and final clips always get the full VAE.
        tiny_decoder=quality == "draft" and getattr(entry, "tiny_decoder", None) is not None,
        fp8=fp8_weights(device, total_gb),
    )
    if overrides:
        known = {f.name for f in fields(SpeedPlan)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"speed: unknown switch {', '.join(unknown)} (known {', '.join(sorted(known))})")
        plan = plan.with_(**overrides)
    if plan.cache is not None and plan.cache not in STEP_CACHES:
        raise ValueError(f"speed: step cache {plan.cache!r} is not one of {', '.join(STEP_CACHES)}")
    return plan


# -- applying a plan ----------------------------------------------------------------------------

# The plan in force on a denoiser module, kept on the module itself so that applying a plan again
# (the next job, the benchmark) changes only what differs.
_APPLIED = "_i2v_speed"


def applied(module: Any) -> SpeedPlan:
    """The switches in force on a denoiser module (SPEED_OFF when none was applied)."""
    return getattr(module, _APPLIED, SPEED_OFF)


def denoisers(pipe: Any) -> list[Any]:
    """The pipeline's denoiser modules: the transformer, Wan2.2 A14B's second expert, or SVD's UNet."""
    found = [getattr(pipe, name, None) for name in ("transformer", "transformer_2", "unet")]
    return [module for module in found if module is not None]


def apply_to_denoiser(module: Any, plan: SpeedPlan, device: Any) -> SpeedPlan:
    """Apply the plan's attention backend, fp8 storage, compilation and step cache to one denoiser.

    Call it before the module is placed on the GPU (fp8 storage halves what is moved there).
    Returns the plan as applied: an attention backend that fails to load or to run falls back
    (to cuDNN SDPA on CUDA, then to PyTorch's SDPA), and the result says which one runs.
    fp8 and compilation cannot be undone on a loaded module: turning them off needs a reload.
    """
    import torch

    before = applied(module)
    device = torch.device(device)
    if (before.fp8 and not plan.fp8) or (before.compile and not plan.compile):
        raise ValueError(f"{type(module).__name__}: fp8 and compilation are undone only by a reload")
    if plan.fp8 and not before.fp8:
        # diffusers' defaults keep the precision-critical layers (norms, embeddings, the patch
        # embedding, the model's float32 modules) in the compute dtype.
        module.enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn, compute_dtype=module.dtype)
    attention = before.attention
    if plan.attention != before.attention:
        attention = _set_attention(module, plan.attention, device)
    if plan.compile and not before.compile:
        compile_blocks(module)
    set_step_cache(module, plan.cache)
    result = plan.with_(attention=attention)
    setattr(module, _APPLIED, result)
    return result


def apply_to_pipeline(pipe: Any, plan: SpeedPlan, device: Any) -> SpeedPlan:
    """apply_to_denoiser on every denoiser of the pipeline (both Wan2.2 A14B experts)."""
    results = [apply_to_denoiser(module, plan, device) for module in denoisers(pipe)]
    return results[0] if results else plan


def pipeline_speed(pipe: Any) -> SpeedPlan:
    """The switches in force on the pipeline (its first denoiser's: all are applied alike)."""
    modules = denoisers(pipe)
    return applied(modules[0]) if modules else SPEED_OFF


def set_step_cache(module: Any, cache: str | None) -> None:
    """Turn the step cache on or off on a loaded denoiser, without reloading anything.

    When on, its state is cleared, so a job never starts from the last job's residuals (the same
    job twice gives the same frames); when off, its hooks are removed from every block.
    """
    if not hasattr(module, "enable_cache"):
        if cache is not None:
            raise ValueError(f"{type(module).__name__} has no step cache in diffusers")
        return
    config = getattr(module, "_cache_config", None)
    if config is not None and _cache_name(config) != cache:
        module.disable_cache()
        config = None
    if cache is not None and config is None:
        module.enable_cache(_cache_config(cache))
    if cache is not None:
        module._reset_stateful_cache()
    current = applied(module)
    if current.cache != cache:
        setattr(module, _APPLIED, current.with_(cache=cache))


def set_pipeline_step_cache(pipe: Any, cache: str | None) -> None:
    for module in denoisers(pipe):
        set_step_cache(module, cache)


def _cache_config(cache: str) -> Any:
    from diffusers import FirstBlockCacheConfig

    if cache == "first_block":
        return FirstBlockCacheConfig(threshold=FIRST_BLOCK_THRESHOLD)
    raise ValueError(f"speed: step cache {cache!r} is not one of {', '.join(STEP_CACHES)}")


def _cache_name(config: Any) -> str | None:
    return {"FirstBlockCacheConfig": "first_block"}.get(type(config).__name__)


# -- attention ----------------------------------------------------------------------------------


def _set_attention(module: Any, backend: str, device: Any) -> str:
    """Set `backend` on the module's attention, or the first fallback that loads and runs."""
    candidates = [backend]
    if device.type == "cuda" and backend not in ("_native_cudnn", "native"):
        candidates.append("_native_cudnn")
    with _module_only():
        for name in candidates:
            if name == "native":
                break
            try:
                module.set_attention_backend(name)
                _probe_attention(module, name, device)
            except Exception as exc:  # noqa: BLE001 - a kernel that fails in any way must not stop the render
                log.warning("attention backend %s fails on %s (%s); falling back", name, device, first_line(exc))
                continue
            return name
        module.reset_attention_backend()
    return "native"


def _probe_attention(module: Any, backend: str, device: Any) -> None:
    """One small attention call through `backend`, at the module's head size and dtype, checked
    against PyTorch's SDPA: a kernel built for another GPU or torch fails here, not mid-render."""
    import torch
    from diffusers.models.attention_dispatch import AttentionBackendName, dispatch_attention_fn

    config = module.config
    heads, head_dim = getattr(config, "num_attention_heads", 2), getattr(config, "attention_head_dim", 64)
    heads, head_dim = (value if isinstance(value, int) else 8 for value in (heads, head_dim))  # UNets: per level
    generator = torch.Generator(device="cpu").manual_seed(0)
    shape = (1, 64, heads, head_dim)  # (batch, tokens, heads, head size), the dispatcher's layout
    q, k, v = (torch.randn(shape, generator=generator).to(device, module.dtype) for _ in range(3))
    with torch.no_grad():
        out = dispatch_attention_fn(q, k, v, backend=AttentionBackendName(backend))
        reference = dispatch_attention_fn(q, k, v, backend=AttentionBackendName.NATIVE)
    if out.shape != reference.shape or not torch.isfinite(out).all():
        raise RuntimeError("the probe's output is malformed")
    error = (out.float() - reference.float()).abs().mean().item()
    if error > 0.05:  # 8-bit Sage stays near 1e-3 on such inputs; a broken kernel is far off
        raise RuntimeError(f"the probe's output is off by {error:.3f} on average")


@contextlib.contextmanager
def _module_only() -> Iterator[None]:
    """Keep a backend switch on the module it was made for.

    diffusers' set_attention_backend also makes the backend the process-wide default, which every
    other model (the next pipeline, a plain "off" render) would then use; and it logs "attention
    backends are an experimental feature" on every switch.
    """
    from diffusers.models.attention_dispatch import _AttentionBackendRegistry

    logger = logging.getLogger("diffusers.models.modeling_utils")
    level, default = logger.level, _AttentionBackendRegistry._active_backend
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
        _AttentionBackendRegistry.set_active_backend(default)


# -- compilation --------------------------------------------------------------------------------


def compile_cache_dir() -> Path:
    """Where compiled kernels are kept between runs: the app's per-user cache folder."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("i2v_desktop", appauthor=False)) / "torch-compile"


def use_compile_cache() -> Path:
    """Point inductor's caches (FX graphs, AOT autograd, Triton kernels) at compile_cache_dir.

    Inductor reads TORCHINDUCTOR_CACHE_DIR when it first compiles, so this must run before; its
    default is a temporary folder the OS empties, which would make every session compile again.
    A folder the user set already is kept.
    """
    import torch._functorch.config
    import torch._inductor.config

    folder = Path(os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(compile_cache_dir())))
    torch._inductor.config.fx_graph_cache = True
    torch._functorch.config.enable_autograd_cache = True
    return folder


# torch.compile's backend: inductor generates the fused GPU kernels. (Tests on a CPU swap in
# "eager", which traces the same graphs without generating code.)
COMPILE_BACKEND = "inductor"


def compile_blocks(module: Any) -> None:
    """Regional compilation: each repeated transformer block is compiled once and reused."""
    import torch._dynamo

    use_compile_cache()
    # Compilation happens at the first denoising step, inside the pipeline call: a block that fails
    # to compile there must run as it is rather than end the render.
    torch._dynamo.config.suppress_errors = True
    module.compile_repeated_blocks(backend=COMPILE_BACKEND)

