"""LoRAs as adapters of the loaded pipeline: the fast tier's, a preset's camera LoRA, the user's own.

Each LoRA is loaded once per pipeline with diffusers' `load_lora_weights` (peft), under its own
adapter name: "fast" for the fast tier's step-distilled set (LightX2V's 4-step LoRAs: Wan2.1 I2V,
one per expert for Wan2.2 I2V-A14B), "camera-<registry id>" for a camera LoRA, and
"user-<first 12 hex of sha256>-<expert>" for one of the user's files (named by content, so a
renamed file is the same adapter and an edited one a new one). Per job `set_adapters` turns on
exactly the job's adapters at its strengths on each denoiser; a denoiser with none of them has its
adapter layers disabled, so its output is exactly that of a model that never saw a LoRA.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from ..core.cancel import CancelToken
from ..core.errors import ModelError, first_line, os_reason
from ..core.events import EventSink, Stage, StageChanged
from ..core.presets import MotionPreset
from .lorafiles import file_sha256, mismatch, model_shape, read_lora
from .plan import PlannedLora, RenderPlan
from .registry import ModelEntry
from .weights import ensure_loras

ADAPTER = "fast"
# Camera and user adapters kept loaded between jobs; past this, those the job does not use are
# dropped before new ones load (each holds its weights in memory; a LoRA is quick to load again).
KEPT_ADAPTERS = 12
MULTIPLE_ADAPTERS = "Already found a `peft_config` attribute in the model"
_LOAD_ERRORS = (OSError, KeyError, ValueError, RuntimeError, AttributeError, TypeError, IndexError)


@dataclass
class _PipelineState:
    scheduler: Any = None  # the model's own scheduler, kept while a tier runs with its own shift


# Kept on the pipeline object itself, so a newly loaded pipeline starts clean and a dropped one
# takes its state with it.
_STATE = "_i2v_lora"


def use_loras(pipe: Any, entry: ModelEntry, plan: RenderPlan, on_event: EventSink, cancel: CancelToken) -> None:
    """Set `pipe` up for one job: the plan's adapters loaded (the first time) and on at their
    strengths, every other adapter off; the tier's shift."""
    state = getattr(pipe, _STATE, None)
    if state is None:
        state = _PipelineState()
        setattr(pipe, _STATE, state)
    _use_shift(pipe, state, plan.flow_shift)
    weights = {lora.adapter: lora.strength for lora in plan.loras}
    loaded = adapters_in(pipe)
    missing = [lora for lora in plan.loras if lora.adapter not in loaded]
    # Every file is checked before any is loaded: a refused job leaves the pipeline as it was.
    for lora in missing:
        check_file(lora, entry)
    if plan.lora is not None:
        assert entry.lora is not None and entry.lora.name == plan.lora
        weights[ADAPTER] = 1.0
        if ADAPTER not in loaded:
            paths = ensure_loras(entry, on_event, cancel)
            cancel.raise_if_cancelled()
            on_event(StageChanged(Stage.LOADING, f"{entry.lora.name} LoRA"))
            load_loras(pipe, entry, paths)
    if missing:
        _drop_unused(pipe, keep=set(weights), room=len(missing))
    for lora in missing:
        cancel.raise_if_cancelled()
        on_event(StageChanged(Stage.LOADING, f"{lora.label} LoRA"))
        load_adapter(pipe, entry, lora)
    activate(pipe, weights)


def find_camera_lora(registry: Any, entry: ModelEntry, preset: MotionPreset) -> tuple[Any, str | None]:
    """The registry's entry for the camera LoRA the preset names on this model's family (None: it
    names none, or the registry has no such LoRA) and its file in the download cache (None: not
    downloaded, or not made for this model). Never touches the network: a render does not wait
    for a download it did not ask for."""
    wanted = preset.for_family(entry.family).lora
    # A registry without camera LoRAs (one made for a test, or a user's own) knows none.
    lookup = getattr(registry, "camera_lora", None)
    try:
        camera = lookup(wanted.id) if wanted is not None and lookup is not None else None
    except ModelError:  # an id it does not know: the plan says so in a note, the render goes on
        camera = None
    if camera is None or entry.id not in camera.base:
        return camera, None
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return camera, hf_hub_download(camera.repo, camera.file, revision=camera.revision, local_files_only=True)
    except (LocalEntryNotFoundError, OSError, ValueError):
        return camera, None


def adapters_in(pipe: Any) -> dict[str, set[str]]:
    """Each adapter loaded into the pipeline, with the components (denoisers, LTX-2's text
    connectors) that hold it."""
    found: dict[str, set[str]] = {}
    for component in getattr(pipe, "_lora_loadable_modules", ()):
        for name in getattr(getattr(pipe, component, None), "peft_config", None) or {}:
            found.setdefault(name, set()).add(component)
    return found


def activate(pipe: Any, weights: Mapping[str, float]) -> None:
    """Exactly `weights`' adapters on, at those strengths, on each component that holds them; a
    component holding none of them runs with its adapter layers off."""
    for component in getattr(pipe, "_lora_loadable_modules", ()):
        module = getattr(pipe, component, None)
        present = getattr(module, "peft_config", None) or {}
        if not present:
            continue
        names = [name for name in weights if name in present]
        if names:
            module.enable_lora()
            module.set_adapters(names, [weights[name] for name in names])
        else:
            module.disable_lora()


def check_file(lora: PlannedLora, entry: ModelEntry) -> None:
    """Refuse, in one line, a file that is not the one the take used, or that does not fit the model."""
    path = Path(lora.path)
    if lora.sha256:
        short = f"sha256 {lora.sha256[:8]}…"
        if not path.is_file():
            raise ModelError(f"{lora.label}: the LoRA file this take used is gone ({path}, {short}): "
                             f"put it back to render it again")
        try:
            now = file_sha256(path)
        except OSError as exc:
            raise ModelError(f"{lora.label}: cannot read it ({path}: {os_reason(exc)})") from None
        if now != lora.sha256:
            raise ModelError(f"{lora.label}: the LoRA file has changed since this take ({path}, {short} then, "
                             f"{now[:8]}… now): put the original back to render it again")
    elif not path.is_file():
        raise ModelError(f"{lora.label}: its camera LoRA file is gone ({path}): download it again")
    why = mismatch(read_lora(path), entry, model_shape(entry))
    if why:
        raise ModelError(why)


def load_adapter(pipe: Any, entry: ModelEntry, lora: PlannedLora) -> None:
    """Load one camera or user LoRA into each denoiser the plan names, under its adapter name; on
    failure nothing of it stays loaded and one line names the file and the model."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(lora.path)
        if entry.family == "wan":
            state = loadable(state)
        with several_adapters():
            for into in lora.into:
                extra = {"load_into_transformer_2": True} if into == "transformer_2" else {}
                pipe.load_lora_weights(state, adapter_name=lora.adapter, **extra)
    except (SafetensorError, *_LOAD_ERRORS) as exc:
        remove_adapter(pipe, lora.adapter)  # a half-loaded adapter would stay in every later job
        raise ModelError(f"{lora.label}: cannot load it into {entry.name} "
                         f"({type(exc).__name__}: {first_line(exc)})") from None
    if lora.adapter not in adapters_in(pipe):
        raise ModelError(f"{lora.label}: none of its weights matches a layer of {entry.name}")


def load_loras(pipe: Any, entry: ModelEntry, paths: tuple[Path, ...]) -> None:
    """Load each of the fast tier's LoRA files into the denoiser it names, under one adapter name."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    assert entry.lora is not None
    for lora, path in zip(entry.lora.files, paths, strict=True):
        try:
            state = loadable(load_file(str(path)))
            with several_adapters():
                pipe.load_lora_weights(
                    state, adapter_name=ADAPTER, load_into_transformer_2=lora.into == "transformer_2"
                )
        except (SafetensorError, *_LOAD_ERRORS) as exc:
            remove_adapter(pipe, ADAPTER)  # a half-loaded set would stay active in every later job
            raise ModelError(
                f"{path.name}: cannot load the {entry.lora.name} LoRA into {entry.name} ({type(exc).__name__}: {first_line(exc)})"
            ) from None


@contextlib.contextmanager
def several_adapters() -> Iterator[None]:
    """peft warns whenever a second adapter joins a model: several adapters is the point here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", MULTIPLE_ADAPTERS, UserWarning)
        yield


def remove_adapter(pipe: Any, name: str) -> None:
    """Delete adapter `name` from every component that holds it."""
    for component in getattr(pipe, "_lora_loadable_modules", ()):
        module = getattr(pipe, component, None)
        if module is not None and name in (getattr(module, "peft_config", None) or {}):
            module.delete_adapters(name)


def _drop_unused(pipe: Any, keep: set[str], room: int) -> None:
    """Make room for `room` more camera and user adapters by dropping loaded ones this job does not use."""
    spare = [name for name in adapters_in(pipe) if name != ADAPTER and name not in keep]
    kept = len([name for name in adapters_in(pipe) if name != ADAPTER])
    for name in spare[: max(0, kept + room - KEPT_ADAPTERS)]:
        remove_adapter(pipe, name)


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

