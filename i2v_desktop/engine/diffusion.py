"""The diffusion engine: a GenerationRequest through a diffusers image-to-video pipeline.

One pipeline stays loaded between jobs (loading a 5B model takes longer than rendering a draft).
Every denoising step reports progress; every few steps, within a small share of the step time,
an animated preview of the whole clip is decoded from the denoiser's current estimate.
"""

from __future__ import annotations

import gc
import json
import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np

from ..core.cancel import CancelToken
from ..core.clip import Clip, RenderInfo
from ..core.errors import ModelError, OutOfMemoryError
from ..core.events import EventSink, Preview, Stage, StageChanged, StepProgress, Warned
from ..quality.scorecard import early_warning
from ..core.framing import fit_image
from ..core.image import load_image
from ..core.presets import PresetLibrary, load_presets
from ..core.request import GenerationRequest
from .base import Engine
from .device import DevicePlan, plan_device
from .families import FAMILIES
from .plan import RenderPlan, plan_render
from .preview import PreviewThrottle, TinyPreviewer, estimate_x0, make_previewer, photo_latent
from .registry import ModelEntry, Registry, load_registry
from .speed import SPEED_OFF, SpeedPlan
from .weights import Weights, ensure_weights, tiny_decoder_file

log = logging.getLogger(__name__)
# Previews may take at most this share of the render time (see PreviewThrottle).
PREVIEW_SHARE = 0.05


@dataclass
class RunStats:
    """Timings of the last generate(), for the benchmark and the window's status line."""

    load_s: float = 0.0
    encode_s: float = 0.0
    step_s: list[float] = field(default_factory=list)
    preview_s: float = 0.0
    previews: int = 0
    decode_s: float = 0.0


class DiffusionEngine(Engine):
    name = "diffusion"

    def __init__(
        self,
        registry: Registry | None = None,
        presets: PresetLibrary | None = None,
        *,
        device: str | None = None,
        offload: str = "auto",
        vae_tiling: bool | None = None,
        preview_share: float = PREVIEW_SHARE,
    ) -> None:
        self.registry = registry or load_registry()
        self.presets = presets or load_presets()
        self.device = device
        self.offload = offload
        self.vae_tiling = vae_tiling
        self.preview_share = preview_share
        self.stats = RunStats()
        self._pipe: Any = None
        self._key: tuple[Any, ...] | None = None
        self._device_plan: DevicePlan | None = None
        self._embeds: tuple[tuple[Any, ...], dict[str, Any]] | None = None
        self.speed_plan: SpeedPlan = SPEED_OFF  # the speed switches for the current job

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        self._pipe = None
        self._key = None
        self._embeds = None
        gc.collect()
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def _ensure_pipeline(self, entry: ModelEntry, on_event: EventSink, cancel: CancelToken) -> Any:
        device_plan = plan_device(entry, self.device, self.offload, self.vae_tiling)
        if device_plan.device == "cpu" and self.device is None and not entry.local_path:
            # Billions of parameters on a CPU take hours per clip: say so before a large download.
            raise ModelError(
                f"{entry.name} needs a GPU (CUDA, or Apple silicon with MPS) and this machine has none; "
                f"pass --device cpu to run it on the processor anyway (hours per clip)"
            )
        key = (entry.id, entry.local_path, entry.revision, device_plan.device, device_plan.dtype,
               device_plan.offload, device_plan.vae_tiling)
        if self._pipe is not None and self._key == key:
            return self._pipe
        self.close()  # never hold two pipelines at once
        weights = ensure_weights(entry, on_event, cancel)
        cancel.raise_if_cancelled()
        on_event(StageChanged(Stage.LOADING, f"{entry.name} on {device_plan.describe()}"))
        start = time.perf_counter()
        self._pipe = load_pipeline(entry, weights, device_plan)
        self._key = key
        self._device_plan = device_plan
        self.stats.load_s = time.perf_counter() - start
        return self._pipe

    # -- one clip ---------------------------------------------------------------------------

    def generate(self, request: GenerationRequest, on_event: EventSink, cancel: CancelToken) -> Clip:
        import torch

        self.stats = RunStats()
        entry = self.registry.resolve(request.model)
        preset = self.presets.get(request.preset)
        # Decode no more than the render can use (JPEGs then decode at reduced scale): four times
        # the output area leaves room for cropping to another aspect.
        source = load_image(request.image, max_pixels=max(4 * entry.area(request.quality), 2_000_000))
        plan = plan_render(entry, request, source.size, preset)
        frame, _alpha, _box = fit_image(source, (plan.width, plan.height), request.crop_center)
        family = FAMILIES[entry.family]

        started = time.perf_counter()
        pipe = self._ensure_pipeline(entry, on_event, cancel)
        cancel.raise_if_cancelled()
        assert self._device_plan is not None
        try:
            args = family.call_args(pipe, entry, plan, _to_pil(frame))
            if family.uses_prompt:
                args.update(self._encoded_prompt(pipe, family, plan, on_event))
            cancel.raise_if_cancelled()
            on_event(StageChanged(Stage.DENOISING, f"{plan.steps} steps, {plan.width}×{plan.height}, {plan.num_frames} frames"))
            callback = _StepCallback(self, entry, plan, frame, on_event, cancel, still=preset.still)
            generator = torch.Generator(device="cpu").manual_seed(plan.seed)
            tiny = self._draft_decoder(entry, request, pipe)
            output = pipe(
                **args,
                generator=generator,
                output_type="latent" if tiny is not None else "np",
                callback_on_step_end=callback,
                callback_on_step_end_tensor_inputs=["latents"],
            )
            if tiny is not None:
                # Wan's "latent" output is the final latents in the denoiser's normalised space,
                # first frame merged in: exactly what the tiny decoder takes.
                with torch.no_grad():
                    video = tiny.decode(output.frames.to(next(tiny.parameters()).device))[0]
                output.frames = video.permute(1, 2, 3, 0).float().cpu().numpy()[None]
                note = "draft decoded with the tiny decoder (faster, less detail)"
                plan = replace(plan, notes=(*plan.notes, note))
            self.stats.decode_s = time.perf_counter() - callback.last_step_end
        except torch.OutOfMemoryError:
            raise OutOfMemoryError(
                f"{request.image}: out of {self._device_plan.device} memory at {plan.width}×{plan.height}, "
                f"{plan.num_frames} frames (try --quality draft, a shorter clip, or --offload group)"
            ) from None
        finally:
            # Also on cancel and errors: detach offload hooks so the next job starts clean.
            pipe.maybe_free_model_hooks()
            if self._device_plan.device == "cuda":
                torch.cuda.empty_cache()
        frames = _to_uint8(output.frames[0])
        info = RenderInfo(
            engine=self.name,
            model=entry.id,
            width=plan.width,
            height=plan.height,
            num_frames=int(frames.shape[0]),
            fps=plan.fps,
            steps=plan.steps,
            guidance=plan.guidance,
            seed=plan.seed,
            prompt=plan.prompt,
            negative_prompt=plan.negative_prompt,
            device=self._device_plan.describe(),
            elapsed_s=round(time.perf_counter() - started, 3),
            notes=plan.notes,
        )
        return Clip(frames, plan.fps, request, info)

    def _draft_decoder(self, entry: ModelEntry, request: GenerationRequest, pipe: Any) -> Any:
        """The tiny decoder for this job's final decode, or None for the full VAE (the default).

        Only for the draft tier, only when the speed plan asks for it, and only when the model's
        tiny decoder is already on disk (nothing is downloaded during a render).
        """
        if not self.speed_plan.tiny_decoder or request.quality != "draft" or entry.tiny_decoder is None:
            return None
        path = tiny_decoder_file(entry)
        if path is None:
            return None
        from .taehv import load_tiny_autoencoder

        return load_tiny_autoencoder(path, entry.tiny_decoder.arch, pipe._execution_device)

    def _encoded_prompt(self, pipe: Any, family: Any, plan: RenderPlan, on_event: EventSink) -> dict[str, Any]:
        """Prompt embeddings, reused while the prompt and pipeline are unchanged (variants)."""
        key = (self._key, plan.prompt, plan.negative_prompt, plan.guidance > 1.0, (plan.guidance_2 or 0.0) > 1.0)
        if self._embeds is None or self._embeds[0] != key:
            on_event(StageChanged(Stage.ENCODING_PROMPT))
            start = time.perf_counter()
            import torch

            with torch.no_grad():
                embeds = family.encode_prompt(pipe, plan, pipe._execution_device)
            self._embeds = (key, embeds)
            self.stats.encode_s = time.perf_counter() - start
        return dict(self._embeds[1])


class _StepCallback:
    """diffusers' callback_on_step_end: progress, previews and cancel, once per step.

    Runs on the engine's thread inside the denoising loop. Raising Cancelled here aborts the
    pipeline call before the VAE decode, which is what makes cancel fast.
    """

    def __init__(self, engine: DiffusionEngine, entry: ModelEntry, plan: RenderPlan, frame: np.ndarray,
                 on_event: EventSink, cancel: CancelToken, still: bool = False) -> None:
        self.engine, self.entry, self.plan = engine, entry, plan
        self.on_event, self.cancel = on_event, cancel
        self.family = FAMILIES[entry.family]
        self.previewer = make_previewer(entry, plan.fps, engine._pipe._execution_device)
        self.photo_latent: Any = None  # Wan2.2 TI2V's first latent frame, encoded on first use
        self.throttle = PreviewThrottle(engine.preview_share)
        self.first_frame = frame
        self.judged = False
        self.still = still  # a still preset is meant to barely move: no "almost static" warning
        self.previous: Any = None
        self.start = time.perf_counter()
        self.last_step_end = self.start

    def __call__(self, pipe: Any, i: int, t: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        now = time.perf_counter()
        self.engine.stats.step_s.append(now - self.last_step_end)
        self.cancel.raise_if_cancelled()
        latents = kwargs["latents"]
        total = self.plan.steps
        done = i + 1
        preview = None
        # About a third of the way in, the take's motion and colours are settled enough to judge.
        judge = not self.judged and not self.still and done >= max(2, total // 3) and done < total
        if self.previewer is not None and done < total and (judge or self.throttle.due(now - self.start)):
            x0 = estimate_x0(pipe.scheduler, latents, self.previous)
            if x0 is not None:
                preview = self.throttle.timed(lambda: self._preview(pipe, x0))
        warning = None
        if judge and preview is not None:
            self.judged = True
            warning = early_warning(preview.frames, self.reference(preview.frames.shape[1:3]))
        self.previous = latents.detach().clone() if self.previewer is not None else None
        elapsed = time.perf_counter() - self.start
        eta = elapsed / done * (total - done)
        self.on_event(StepProgress(done, total, elapsed, eta, preview))
        if warning:
            self.on_event(Warned(warning))
        if done == total:
            self.on_event(StageChanged(Stage.DECODING))
        self.engine.stats.preview_s = self.throttle.spent
        self.engine.stats.previews = self.throttle.count
        self.last_step_end = time.perf_counter()
        return {}

    def reference(self, size: tuple[int, int]) -> np.ndarray:
        """The photo as the clip frames it, at a preview's (height, width)."""
        return cv2.resize(self.first_frame, (size[1], size[0]), interpolation=cv2.INTER_AREA)

    def _preview(self, pipe: Any, x0: Any) -> Any:
        latent = self.family.latent_cthw(pipe, x0, self.plan, self.entry)
        first_is_photo = getattr(pipe.config, "expand_timesteps", False)
        if first_is_photo and isinstance(self.previewer, TinyPreviewer):
            # The tiny decoder carries each frame into the next ones: give it the photo's latent
            # for the first frame, as the pipeline does before its own decode.
            if self.photo_latent is None:
                self.photo_latent = photo_latent(pipe, self.first_frame)
            import torch

            latent = torch.cat([self.photo_latent.to(latent.device, latent.dtype), latent[:, 1:]], 1)
            return self.previewer(latent)
        preview = self.previewer(latent)
        if first_is_photo:
            # Wan2.2 TI2V keeps the first frame out of the denoised latents (it is the photo
            # itself, merged back at decode): show the photo there instead of noise.
            frames = preview.frames.copy()
            h, w = frames.shape[1:3]
            frames[0] = cv2.resize(self.first_frame, (w, h), interpolation=cv2.INTER_AREA)
            preview = Preview(frames, preview.fps)
        return preview


# -- loading ----------------------------------------------------------------------------------


def load_pipeline(entry: ModelEntry, weights: Weights, device_plan: DevicePlan) -> Any:
    """Load a diffusers folder (safetensors only) and place it per the device plan."""
    import diffusers
    import torch
    import transformers

    # Our own events report loading; the libraries' console bars would only garble the CLI's line.
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.disable_progress_bar()
    folder = str(weights.folder)
    family = FAMILIES[entry.family]
    dtype = getattr(torch, device_plan.dtype)

    def dtype_of(component: str) -> Any:
        return torch.float32 if component in family.float32_components else dtype

    dtypes: dict[str, Any] = {"default": dtype, **{c: torch.float32 for c in family.float32_components}}
    kwargs: dict[str, Any] = {"dtype": dtypes, "use_safetensors": True}
    if entry.variant and device_plan.dtype in ("float16", "bfloat16"):
        kwargs["variant"] = entry.variant
    try:
        if weights.single_file is not None and entry.single_file is not None:
            index = json.loads((weights.folder / "model_index.json").read_text(encoding="utf-8"))
            for component in entry.single_file.components:
                component_cls = getattr(diffusers, index[component][1])
                kwargs[component] = component_cls.from_single_file(
                    str(weights.single_file), config=folder, subfolder=component, dtype=dtype_of(component)
                )
        pipe = getattr(diffusers, entry.pipeline).from_pretrained(folder, **kwargs)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"{folder}: cannot load {entry.name} ({_first_line(exc)})") from None
    family.configure(pipe, entry)
    pipe.set_progress_bar_config(disable=True)
    if device_plan.vae_tiling:
        try:
            pipe.vae.enable_tiling()
        except NotImplementedError:
            pass  # SVD's temporal decoder has no tiling; its decode_chunk_size bounds memory instead
    device = torch.device(device_plan.device)
    if device_plan.offload == "none":
        pipe.to(device)
    elif device_plan.offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    elif device_plan.offload == "group":
        pipe.enable_group_offload(onload_device=device, offload_type="leaf_level", use_stream=device.type == "cuda")
    else:
        pipe.enable_sequential_cpu_offload(device=device)
    return pipe


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _to_pil(frame: np.ndarray) -> Any:
    from PIL import Image

    return Image.fromarray(frame)


def _to_uint8(frames: Any) -> np.ndarray:
    array = np.asarray(frames, dtype=np.float32)
    return np.clip(np.rint(array * 255.0), 0, 255).astype(np.uint8)
