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
from dataclasses import dataclass, field
from typing import Any, Mapping

import cv2
import numpy as np

from ..core.cancel import CancelToken
from ..core.clip import Clip, RenderInfo
from ..core.errors import ModelError, OutOfMemoryError, first_line
from ..core.events import EventSink, Preview, Stage, StageChanged, StepProgress, Warned
from ..quality.scorecard import early_warning
from ..core.framing import fit_end_frame, fit_image
from ..core.image import load_image
from ..core.presets import MotionPreset, PresetLibrary, load_presets
from ..core.request import GenerationRequest
from .base import Engine
from .device import DevicePlan, is_out_of_memory, lighter, plan_device
from .families import FAMILIES
from .lora import find_camera_lora, use_loras
from .plan import RenderPlan, plan_render
from .preview import PreviewThrottle, TinyPreviewer, estimate_x0, make_previewer, photo_latent
from .registry import ModelEntry, Registry, load_registry
from .speed import (SPEED_MODES, SPEED_OFF, SpeedPlan, apply_to_pipeline, pipeline_speed, plan_speed,
                    set_pipeline_step_cache)
from .weights import Weights, ensure_weights, how_to_download, tiny_decoder_file

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
        speed: str | Mapping[str, Any] = "auto",
    ) -> None:
        self.registry = registry or load_registry()
        self.presets = presets or load_presets()
        self.device = device
        self.offload = offload
        self.vae_tiling = vae_tiling
        self.preview_share = preview_share
        # "auto": every speed switch chosen from the hardware; "off": plain diffusers, frame for
        # frame; a mapping: auto with those switches forced (e.g. {"cache": None}).
        if isinstance(speed, str) and speed not in SPEED_MODES:
            raise ModelError(f"--speed {speed}: choose {', '.join(SPEED_MODES)}")
        self.speed = speed
        self._compiled_key: tuple[Any, ...] | None = None  # the pipeline whose blocks are compiled
        self.stats = RunStats()
        self._pipe: Any = None
        self._key: tuple[Any, ...] | None = None
        self._device_plan: DevicePlan | None = None
        # The memory plan per (model, user options), decided once (see _ensure_pipeline).
        self._plans: dict[tuple[Any, ...], DevicePlan] = {}
        self._embeds: tuple[tuple[Any, ...], dict[str, Any]] | None = None
        self._tiny: tuple[tuple[Any, ...], Any] | None = None  # (pipeline key, its tiny decoder)
        # The job being rendered asked to run a model too big for this machine (request.try_anyway).
        self._try_anyway = False

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        # The memory plans stay: they are what the machine allows, not what is loaded.
        self._pipe = None
        self._key = None
        self._device_plan = None
        self._embeds = None
        self._tiny = None
        gc.collect()
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def _options(self, entry: ModelEntry) -> tuple[Any, ...]:
        return (entry.id, entry.local_path, entry.revision, self.device, self.offload, self.vae_tiling)

    def _ensure_pipeline(self, entry: ModelEntry, on_event: EventSink, cancel: CancelToken) -> Any:
        options = self._options(entry)
        device_plan = self._plans.get(options)
        if device_plan is None:
            # Once per model and options, counting our own loaded pipeline's memory as free:
            # re-deciding on every job would see that memory as taken, pick another offload mode
            # and reload the whole model from disk on alternate jobs.
            device_plan = plan_device(entry, self.device, self.offload, self.vae_tiling, loaded=self._pipe,
                                      fp8=self._forced_fp8())
            self._plans[options] = device_plan
        if device_plan.device == "cpu" and self.device is None and not entry.local_path and not self._try_anyway:
            # Billions of parameters on a CPU take hours per clip: say so before a large download. The
            # line reaches the window too, so it names the choice ("try anyway"), not a flag.
            raise ModelError(
                f"{entry.name} needs a GPU (CUDA, or Apple silicon with MPS) and this machine has none; "
                f"try anyway to run it on the processor (hours per clip)"
            )
        key = (*options, device_plan)
        if self._pipe is not None and self._key == key:
            return self._pipe
        self.close()  # never hold two pipelines at once
        if device_plan.warning:
            on_event(Warned(device_plan.warning))  # before a download or a load that will not fit
        weights = ensure_weights(entry, on_event, cancel)
        cancel.raise_if_cancelled()
        on_event(StageChanged(Stage.LOADING, f"{entry.name} on {device_plan.describe()}"))
        start = time.perf_counter()
        self._device_plan = device_plan  # an out-of-memory error while loading lowers this plan
        speed = self._plan_speed(entry, device_plan, None).with_(cache=None)  # the cache is switched per job
        self._pipe = load_pipeline(entry, weights, device_plan, speed)
        self._compiled_key = None
        self._key = key
        self.stats.load_s = time.perf_counter() - start
        return self._pipe

    # -- one clip ---------------------------------------------------------------------------

    def generate(self, request: GenerationRequest, on_event: EventSink, cancel: CancelToken) -> Clip:
        """One clip. Out of memory while loading, denoising or decoding, everything is freed and
        the job runs once more with the next lighter memory plan (see device.lighter)."""
        self.stats = RunStats()
        self._try_anyway = request.try_anyway
        entry = self.registry.resolve(request.model)
        preset = self.presets.get(request.preset)
        # Decode no more than the render can use (JPEGs then decode at reduced scale): four times
        # the output area leaves room for cropping to another aspect.
        pixels = max(4 * entry.area(request.quality), 2_000_000)
        source = load_image(request.image, max_pixels=pixels)
        plan = self.plan(entry, request, source.size, preset)
        frame, _alpha, box = fit_image(source, (plan.width, plan.height), request.crop_center)
        last = None
        if plan.end_frame:
            assert request.end_image is not None
            last = fit_end_frame(load_image(request.end_image, max_pixels=pixels), (plan.width, plan.height),
                                 source, box)

        started = time.perf_counter()
        sink = _StageSeen(on_event)
        notes = plan.notes
        for attempt in (1, 2):
            sink.stage = None
            try:
                output, speed = self._render(entry, plan, request.quality, frame, preset.still, sink, cancel,
                                             preset.move, last)
                break
            except Exception as exc:
                if not is_out_of_memory(exc) or self._device_plan is None:
                    raise
                failed = self._device_plan
            # Here, outside the except block, the error's traceback and the tensors its frames
            # held are gone: close() can now really give the memory back.
            self.close()
            where = _DOING.get(sink.stage, "starting")
            memory = "CPU" if failed.device == "cpu" else "GPU"
            retry = lighter(failed) if attempt == 1 else None
            if retry is None:
                raise OutOfMemoryError(
                    f"{request.image}: out of {memory} memory while {where} with {entry.name} at "
                    f"{plan.width}×{plan.height}, {plan.num_frames} frames, even with offload {failed.offload} "
                    f"and VAE tiling: lower the resolution (--quality draft), make the clip shorter, "
                    f"or choose a smaller model"
                )
            self._plans[self._options(entry)] = retry  # later jobs start from the plan that fits
            line = (f"out of {memory} memory while {where} with offload {failed.offload}: "
                    f"retried with offload {retry.offload}, VAE tiling on")
            sink(Warned(line))
            notes = (*notes, line)
            self.stats = RunStats()  # the timings are the retry's
        frames = _to_uint8(output.frames[0])
        # The pipelines that make sound always decode it (LTX-2 has no switch to skip it); a
        # request without sound just leaves it out of the clip. A request for sound from a model
        # that makes none was already snapped off by the plan, with its note.
        audio = FAMILIES[entry.family].audio(self._pipe, output) if plan.sound else None
        assert self._device_plan is not None
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
            notes=(*notes, "draft decoded with the tiny decoder (faster, less detail)") if speed.tiny_decoder else notes,
            speed=speed.with_(lora=plan.lora).as_metadata(),
            loras=tuple(lora.record() for lora in plan.loras),
        )
        return Clip(frames, plan.fps, request, info, audio=audio)

    def plan(self, entry: ModelEntry, request: GenerationRequest, source_size: tuple[int, int],
             preset: MotionPreset | None = None) -> RenderPlan:
        """The job's render settings at the size the pipeline renders, with the preset's camera LoRA
        where it is on disk (a render never downloads one)."""
        preset = preset or self.presets.get(request.preset)
        camera, path = find_camera_lora(self.registry, entry, preset)
        return FAMILIES[entry.family].fit_plan(entry, plan_render(entry, request, source_size, preset, camera, path))

    def enhance_prompt(self, model: str, image: str, prompt: str, on_event: EventSink, cancel: CancelToken) -> str:
        """The model's prompt enhancer's rewrite of `prompt` for the photo `image`, on the loaded
        pipeline when it is this model's (loading it otherwise, as a render would)."""
        from PIL import Image

        from .enhance import enhance

        from .weights import is_downloaded

        entry = self.registry.resolve(model)
        if not entry.enhancer:
            raise ModelError(f"{entry.name} ships no prompt enhancer")
        if not is_downloaded(entry):  # a better prompt is not worth a download of tens of GB unasked
            raise ModelError(f"{entry.name} is not downloaded: its prompt enhancer is part of it "
                             f"({entry.download_gb:g} GB; {how_to_download(entry)})")
        photo = Image.fromarray(load_image(image, max_pixels=2_000_000).rgb)
        pipe = self._ensure_pipeline(entry, on_event, cancel)
        on_event(StageChanged(Stage.ENCODING_PROMPT, "improving the prompt"))
        try:
            return enhance(pipe, photo, prompt, cancel, entry.name)
        finally:
            pipe.maybe_free_model_hooks()

    def _render(self, entry: ModelEntry, plan: RenderPlan, quality: str, frame: np.ndarray, still: bool,
                on_event: EventSink, cancel: CancelToken, move: str | None = None,
                last: np.ndarray | None = None) -> tuple[Any, SpeedPlan]:
        """Load (if needed), encode, denoise and decode once: the part that can run out of memory.

        Returns the pipeline's output and the speed switches it ran with."""
        import torch

        family = FAMILIES[entry.family]
        pipe = self._ensure_pipeline(entry, on_event, cancel)
        use_loras(pipe, entry, plan, on_event, cancel)  # the job's LoRAs on (each loaded once), every other off
        cancel.raise_if_cancelled()
        assert self._device_plan is not None
        speed = self._speed_for_job(pipe, entry, quality, plan.steps)
        compiling = speed.compile and self._compiled_key != self._key
        try:
            args = family.call_args(pipe, entry, plan, _to_pil(frame), None if last is None else _to_pil(last))
            if family.uses_prompt:
                args.update(self._encoded_prompt(pipe, family, plan, on_event))
                _park_text_encoder(pipe, self._device_plan)
            cancel.raise_if_cancelled()
            on_event(StageChanged(Stage.DENOISING, f"{plan.steps} steps, {plan.width}×{plan.height}, {plan.num_frames} frames"
                                  + (", compiling the model first (once; kept for later runs)" if compiling else "")))
            callback = _StepCallback(self, entry, plan, frame, on_event, cancel, still=still, move=move)
            generator = torch.Generator(device="cpu").manual_seed(plan.seed)
            tiny = self.tiny_decoder(entry, pipe) if speed.tiny_decoder and quality == "draft" else None
            speed = speed.with_(tiny_decoder=tiny is not None)  # what really decodes this clip
            args.update(generator=generator, output_type="latent" if tiny is not None else "np")
            output = family.run(pipe, args, plan, callback)
            if tiny is not None:
                # Wan's "latent" output is the final latents in the denoiser's normalised space,
                # first frame merged in: exactly what the tiny decoder takes.
                with torch.no_grad():
                    video = tiny.decode(output.frames.to(next(tiny.parameters()).device))[0]
                output.frames = video.permute(1, 2, 3, 0).float().cpu().numpy()[None]
            self.stats.decode_s = time.perf_counter() - callback.last_step_end
            self._compiled_key = self._key if speed.compile else None
        finally:
            # Also on cancel and errors: detach offload hooks so the next job starts clean.
            pipe.maybe_free_model_hooks()
            if self._device_plan.device == "cuda":
                torch.cuda.empty_cache()
        return output, speed

    def _forced_fp8(self) -> bool | None:
        """fp8 as the speed option forces it (off: never), or None to let the memory plan decide."""
        if self.speed == "off":
            return False
        return None if isinstance(self.speed, str) else self.speed.get("fp8")

    def _plan_speed(self, entry: ModelEntry, device_plan: DevicePlan, quality: str | None,
                    steps: int | None = None) -> SpeedPlan:
        if self.speed == "off":
            return SPEED_OFF
        # fp8 storage is the memory plan's decision: it counted on it (or not) when choosing offload.
        overrides = {"fp8": device_plan.fp8, **({} if isinstance(self.speed, str) else self.speed)}
        return plan_speed(entry, device_plan, quality or "", overrides, steps=steps)

    def _speed_for_job(self, pipe: Any, entry: ModelEntry, quality: str, steps: int) -> SpeedPlan:
        """The switches for this job: those applied at load, with the step cache on or off for its tier."""
        assert self._device_plan is not None
        job = self._plan_speed(entry, self._device_plan, quality, steps)
        set_pipeline_step_cache(pipe, job.cache)
        return pipeline_speed(pipe).with_(tiny_decoder=job.tiny_decoder)

    def tiny_decoder(self, entry: ModelEntry, pipe: Any) -> Any:
        """The model's tiny video decoder on the pipeline's device, or None when it has none on
        disk (nothing is downloaded during a render). Read once per loaded pipeline; the previews
        and the draft decode share it. Until it is found, every job looks again (it may have been
        downloaded meanwhile)."""
        if self._tiny is not None and self._tiny[0] == self._key:
            return self._tiny[1]
        path = tiny_decoder_file(entry) if entry.tiny_decoder is not None else None
        if path is None:
            return None
        from .taehv import load_tiny_autoencoder

        self._tiny = (self._key, load_tiny_autoencoder(path, entry.tiny_decoder.arch, pipe._execution_device))
        return self._tiny[1]

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


# What the job was doing, for the one line that says where memory ran out.
_DOING = {
    Stage.LOADING: "loading",
    Stage.ENCODING_PROMPT: "encoding the prompt",
    Stage.DENOISING: "denoising",
    Stage.DECODING: "decoding",
}


class _StageSeen:
    """Passes events on and remembers the last stage announced."""

    def __init__(self, on_event: EventSink) -> None:
        self.on_event = on_event
        self.stage: Stage | None = None

    def __call__(self, event: Any) -> None:
        if isinstance(event, StageChanged):
            self.stage = event.stage
        self.on_event(event)


def _park_text_encoder(pipe: Any, device_plan: DevicePlan) -> None:
    """Move the text encoder (UMT5-XXL: 11 GB in bf16) off the GPU once the prompt is encoded.

    Only when the whole pipeline sits on a CUDA GPU: with offload, diffusers' hooks already move
    it, and Apple silicon shares one memory. A hook set at load brings it back for a new prompt.
    """
    encoder = getattr(pipe, "text_encoder", None)
    if encoder is not None and device_plan.device == "cuda" and device_plan.offload == "none":
        encoder.to("cpu")


class _StepCallback:
    """diffusers' callback_on_step_end: progress, previews and cancel, once per step.

    Runs on the engine's thread inside the denoising loop. Raising Cancelled here aborts the
    pipeline call before the VAE decode, which is what makes cancel fast.
    """

    def __init__(self, engine: DiffusionEngine, entry: ModelEntry, plan: RenderPlan, frame: np.ndarray,
                 on_event: EventSink, cancel: CancelToken, still: bool = False, move: str | None = None) -> None:
        self.engine, self.entry, self.plan = engine, entry, plan
        self.on_event, self.cancel = on_event, cancel
        self.family = FAMILIES[entry.family]
        self.previewer = make_previewer(entry, plan.fps, engine.tiny_decoder(entry, engine._pipe))
        self.photo_latent: Any = None  # Wan2.2 TI2V's first latent frame, encoded on first use
        self.throttle = PreviewThrottle(engine.preview_share)
        self.first_frame = frame
        self.judged = False
        self.still = still  # a still preset is meant to barely move: no "almost static" warning
        self.move = move  # the camera move the preset asks for: a preview doing another is warned of
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
            latent = self.estimate(pipe, latents)
            if latent is not None:
                preview = self.throttle.timed(lambda: self._preview(pipe, latent))
        warning = None
        if judge and preview is not None:
            self.judged = True
            warning = early_warning(preview.frames, self.reference(preview.frames.shape[1:3]), self.move)
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

    def estimate(self, pipe: Any, latents: Any) -> Any | None:
        """The denoiser's current guess of the finished clip's latent as (C, T, h, w), frame for
        frame as the pipeline will decode it; None when this step cannot tell (no previous step)."""
        x0 = estimate_x0(pipe.scheduler, latents, self.previous)
        return None if x0 is None else self.family.latent_cthw(pipe, x0, self.plan, self.entry)

    def _preview(self, pipe: Any, latent: Any) -> Any:
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


def load_pipeline(entry: ModelEntry, weights: Weights, device_plan: DevicePlan,
                  speed: SpeedPlan = SPEED_OFF) -> Any:
    """Load a diffusers folder (safetensors only), apply the speed switches, place it per the device plan."""
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
        raise ModelError(f"{folder}: cannot load {entry.name} ({first_line(exc)})") from None
    family.configure(pipe, entry)
    apply_to_pipeline(pipe, speed, device_plan.device)  # before placement: fp8 halves what goes to the GPU
    pipe.set_progress_bar_config(disable=True)
    if device_plan.vae_tiling:
        try:
            pipe.vae.enable_tiling()
        except NotImplementedError:
            pass  # SVD's temporal decoder has no tiling; its decode_chunk_size bounds memory instead
    place(pipe, device_plan)
    return pipe


def place(pipe: Any, device_plan: DevicePlan) -> None:
    """Put a loaded pipeline where the plan says: all on the device, or one of the offload modes."""
    import torch

    device = torch.device(device_plan.device)
    if device_plan.offload == "none":
        pipe.to(device)
        encoder = getattr(pipe, "text_encoder", None)
        if encoder is not None and device.type == "cuda":
            encoder.register_forward_pre_hook(_onto(device))  # back from where it was parked
    elif device_plan.offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    elif device_plan.offload == "group":
        # Streams overlap the next layer's transfer with compute. Pinning every weight up front
        # holds a second copy in RAM while it is made; without the RAM for that, pin each group
        # as it moves.
        pipe.enable_group_offload(onload_device=device, offload_type="leaf_level", use_stream=device.type == "cuda",
                                  low_cpu_mem_usage=not device_plan.pinned)
    else:
        # Sequential: one layer at a time, nothing pinned. Leaf-level group offload without
        # streams does exactly that; accelerate's enable_sequential_cpu_offload fails on the
        # (U)MT5 text encoders' tied embeddings with transformers 5 (TypeError in
        # set_module_tensor_to_device).
        pipe.enable_group_offload(onload_device=device, offload_type="leaf_level", use_stream=False)


def _onto(device: Any) -> Any:
    def pre_hook(module: Any, args: Any) -> None:
        if module.device.type != device.type:
            module.to(device)

    return pre_hook



def _to_pil(frame: np.ndarray) -> Any:
    from PIL import Image

    return Image.fromarray(frame)


def _to_uint8(frames: Any) -> np.ndarray:
    array = np.asarray(frames, dtype=np.float32)
    return np.clip(np.rint(array * 255.0), 0, 255).astype(np.uint8)
