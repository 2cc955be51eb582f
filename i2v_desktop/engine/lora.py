"""The fast tier: step-distilled LoRAs, loaded once per pipeline, on for fast jobs and off for the rest.

LightX2V's 4-step LoRAs (Wan2.1 I2V; one per expert for Wan2.2 I2V-A14B) turn a 40-step render
with classifier-free guidance into 4 steps without it. They are loaded with diffusers'
`load_lora_weights` (peft) into the pipeline that stays loaded between jobs; a job at another
tier disables the adapter layers instead of reloading the model, so its frames are exactly those of
a pipeline that never saw the LoRA.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.cancel import CancelToken
from ..core.errors import ModelError, first_line
from ..core.events import EventSink, Stage, StageChanged
from .plan import RenderPlan
from .registry import LORA_TARGETS, ModelEntry
from .weights import ensure_loras

ADAPTER = "fast"


@dataclass
class _PipelineState:
    lora: str | None = None  # the LoRA set loaded into this pipeline
    scheduler: Any = None  # the model's own scheduler, kept while a tier runs with its own shift


# Kept on the pipeline object itself, so a newly loaded pipeline starts clean and a dropped one
# takes its state with it.
_STATE = "_i2v_lora"


def use_lora(pipe: Any, entry: ModelEntry, plan: RenderPlan, on_event: EventSink, cancel: CancelToken) -> None:
    """Set `pipe` up for one job: the plan's LoRA on (loaded the first time), or off; the tier's shift."""
    state = getattr(pipe, _STATE, None)
    if state is None:
        state = _PipelineState()
        setattr(pipe, _STATE, state)
    _use_shift(pipe, state, plan.flow_shift)
    if plan.lora is None:
        if state.lora is not None:
            pipe.disable_lora()
        return
    assert entry.lora is not None and entry.lora.name == plan.lora
    if state.lora is None:
        paths = ensure_loras(entry, on_event, cancel)
        cancel.raise_if_cancelled()
        on_event(StageChanged(Stage.LOADING, f"{entry.lora.name} LoRA"))
        load_loras(pipe, entry, paths)
        state.lora = entry.lora.name
    pipe.enable_lora()


def load_loras(pipe: Any, entry: ModelEntry, paths: tuple[Path, ...]) -> None:
    """Load each of the entry's LoRA files into the denoiser it names, under one adapter name."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    assert entry.lora is not None
    for lora, path in zip(entry.lora.files, paths, strict=True):
        try:
            state = loadable(load_file(str(path)))
            pipe.load_lora_weights(
                state, adapter_name=ADAPTER, load_into_transformer_2=lora.into == "transformer_2"
            )
        except (SafetensorError, OSError, KeyError, ValueError, RuntimeError, AttributeError) as exc:
            _unload(pipe)  # a half-loaded set would stay active in every later job
            raise ModelError(
                f"{path.name}: cannot load the {entry.lora.name} LoRA into {entry.name} ({type(exc).__name__}: {first_line(exc)})"
            ) from None


def _unload(pipe: Any) -> None:
    for name in LORA_TARGETS:
        module = getattr(pipe, name, None)
        if module is not None and ADAPTER in (getattr(module, "peft_config", None) or {}):
            module.delete_adapters(ADAPTER)


def loadable(state: dict[str, Any]) -> dict[str, Any]:
    """A LightX2V LoRA state dict in a layout every diffusers Wan LoRA converter reads.

    LightX2V's extractor stores a LoRA pair (`lora_down`/`lora_up`) only for large matrices and a
    full delta (`.diff`) for small ones; in its Wan2.2 I2V-A14B files that includes the output head
    (`head.head.diff`, 64 x 5120), whose missing pair made `load_lora_weights` raise KeyError
    (diffusers issue 12535; newer diffusers turn it into a pair themselves). A full delta D is the
    exact pair down = D, up = I (or down = I, up = D when it is taller than wide), so we rewrite
    every matrix delta that way. One-dimensional deltas (norms, modulation) and the patch
    embedding's are left as they are: diffusers skips them, as ComfyUI does.
    """
    import torch

    down_name, up_name = ("lora_A", "lora_B") if any(".lora_A." in k for k in state) else ("lora_down", "lora_up")
    out = dict(state)
    for key, delta in state.items():
        if not key.endswith(".diff") or delta.ndim != 2:
            continue
        prefix = key[: -len(".diff")]
        if f"{prefix}.{down_name}.weight" in state:
            continue  # a pair is there already
        rows, cols = delta.shape
        if rows <= cols:
            down, up = delta, torch.eye(rows, dtype=delta.dtype)
        else:
            down, up = torch.eye(cols, dtype=delta.dtype), delta
        del out[key]
        out[f"{prefix}.{down_name}.weight"] = down.contiguous()
        out[f"{prefix}.{up_name}.weight"] = up.contiguous()
    return out


def _use_shift(pipe: Any, state: _PipelineState, shift: float | None) -> None:
    """The tier's flow shift for this job, or the model's own scheduler back."""
    own = state.scheduler if state.scheduler is not None else pipe.scheduler
    if shift is None or "flow_shift" not in own.config or own.config.flow_shift == shift:
        if state.scheduler is not None:
            pipe.scheduler, state.scheduler = state.scheduler, None
        return
    state.scheduler = own
    pipe.scheduler = type(own).from_config(own.config, flow_shift=shift)

