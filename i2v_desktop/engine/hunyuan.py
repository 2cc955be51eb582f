"""HunyuanVideo-1.5 image-to-video (diffusers `HunyuanVideo15ImageToVideoPipeline`).

Three things set this pipeline apart from the other families', and the adapter absorbs them:

- It chooses the frame size itself: the bucket of its transformer's `target_size` (640 for the
  480p checkpoints, 960 for 720p) whose aspect is nearest the photo's, in 16-pixel steps (VAE
  factor 16 × patch 1), and crops the photo to it. So the plan is snapped to that bucket before
  the photo is framed (`fit_plan`), and the pipeline then keeps the frame as it is.
- Its guidance is a component, not an argument: `pipe.guider` (classifier-free guidance, 6.0 in
  the base checkpoints, 1.0 in the distilled ones), replaced per job as the diffusers docs show.
- Its __call__ takes no step callback. The per-step hook is the scheduler's `step`, which the
  loop calls once per step right after the denoiser and exactly where `callback_on_step_end`
  would run: the hook sees the new latents, and raising in it (cancel) stops the loop before the
  VAE decode.

The latents the loop holds are (B, 32, T, h, w) with frame 0 denoised like the others (the photo
enters as a separate conditioning input), so a preview is `latents[0]`, the default.
"""

from __future__ import annotations

import contextlib
import functools
import math
from dataclasses import replace
from typing import Any, Callable, Iterator

from ..core.errors import ModelError
from .families import FAMILIES, Family
from .plan import RenderPlan
from .registry import ModelEntry


class HunyuanFamily(Family):
    name = "hunyuan15"

    def configure(self, pipe: Any, entry: ModelEntry) -> None:
        # The checkpoint's own scheduler_config.json carries its shift (5 for 480p, 7 for 720p and
        # the step-distilled 480p); the registry's flow_shift only overrides it where it differs.
        if entry.flow_shift is not None and pipe.scheduler.config.get("shift") != entry.flow_shift:
            pipe.scheduler = type(pipe.scheduler).from_config(pipe.scheduler.config, shift=entry.flow_shift)

    def fit_plan(self, entry: ModelEntry, plan: RenderPlan) -> RenderPlan:
        base = bucket_base(plan.width, plan.height, entry.multiple)
        width, height = bucket(plan.width, plan.height, base, entry.multiple)
        return replace(plan, width=width, height=height)

    def encode_prompt(self, pipe: Any, plan: RenderPlan, device: Any) -> dict[str, Any]:
        """Both text encoders (Qwen2.5-VL through the chat template, byT5 for quoted glyph text),
        for the prompt and the negative prompt, once per prompt: variants reuse them.

        The negative prompt is encoded even when this job's guidance leaves it unused (guidance 1.0,
        the distilled checkpoints), where the pipeline ignores it: the guider runs CFG at any scale
        but 1.0, below 1 too, while the engine's embedding cache tells jobs apart only by
        guidance > 1, so embeddings without the negative could be reused by a job that needs it.
        The cost is one more text-encoder pass per new prompt, none per step."""
        dtype = pipe.transformer.dtype
        embeds: dict[str, Any] = {}
        for prefix, text in (("", plan.prompt), ("negative_", plan.negative_prompt)):
            e, mask, e2, mask2 = pipe.encode_prompt(prompt=text, device=device, dtype=dtype, batch_size=1,
                                                    num_videos_per_prompt=1)
            embeds.update({f"{prefix}prompt_embeds": e, f"{prefix}prompt_embeds_mask": mask,
                           f"{prefix}prompt_embeds_2": e2, f"{prefix}prompt_embeds_mask_2": mask2})
        return embeds

    def call_args(self, pipe: Any, entry: ModelEntry, plan: RenderPlan, image: Any,
                  last: Any = None) -> dict[str, Any]:
        # No height or width: the pipeline takes them from the photo, already framed to a bucket.
        # No loop either: the pipeline conditions the first frame only (the registry says loops: false).
        return dict(image=image, num_frames=plan.num_frames, num_inference_steps=plan.steps,
                    **dict(entry.call))

    def run(self, pipe: Any, args: dict[str, Any], plan: RenderPlan, callback: Callable[..., Any]) -> Any:
        height, width = args["image"].size[1], args["image"].size[0]
        rendered = pipe.video_processor.calculate_default_height_width(height, width, pipe.target_size)
        if rendered != (height, width):
            name = getattr(pipe.config, "_name_or_path", "") or "this HunyuanVideo-1.5 model"
            raise ModelError(
                f"{name}: its transformer renders {pipe.target_size}-pixel buckets "
                f"({rendered[1]}×{rendered[0]} for this frame), not the planned {width}×{height}: "
                f"choose the model entry of its resolution"
            )
        use_guidance(pipe, plan.guidance)
        with step_callback(pipe, callback):
            return pipe(**args)


FAMILIES[HunyuanFamily.name] = HunyuanFamily()


def use_guidance(pipe: Any, guidance: float) -> None:
    """The job's guidance scale on the pipeline's guider (a new guider only when it changes)."""
    if not math.isclose(pipe.guider.guidance_scale, guidance):
        pipe.guider = pipe.guider.new(guidance_scale=guidance)


@contextlib.contextmanager
def step_callback(pipe: Any, callback: Callable[..., Any]) -> Iterator[None]:
    """Runs `callback(pipe, i, t, {"latents": latents})` after every scheduler step, as diffusers'
    callback_on_step_end would, for a pipeline whose __call__ has none. A callback that returns
    new latents replaces them, as with callback_on_step_end.

    The wrapper lives on the scheduler instance for the one call only (the class's `step` is back
    afterwards, also on cancel and errors); the engine's single thread is the only caller.
    """
    scheduler = pipe.scheduler
    original = scheduler.step
    done = 0

    def step(model_output: Any, timestep: Any, sample: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal done
        output = original(model_output, timestep, sample, *args, **kwargs)
        latents = output[0] if isinstance(output, tuple) else output.prev_sample
        changed = callback(pipe, done, timestep, {"latents": latents}) or {}
        done += 1
        if "latents" in changed:
            if isinstance(output, tuple):
                return (changed["latents"], *output[1:])
            output.prev_sample = changed["latents"]
        return output

    scheduler.step = step
    try:
        yield
    finally:
        del scheduler.step  # the instance attribute goes; the class's method shows again


def bucket_base(width: int, height: int, multiple: int) -> int:
    """The bucket base (the transformer's target_size) whose area the plan's frame has: 640 for
    848×480, 960 for 1280×720."""
    return max(multiple, round(math.sqrt(width * height) / multiple) * multiple)


@functools.lru_cache(maxsize=256)
def bucket(width: int, height: int, base: int, multiple: int) -> tuple[int, int]:
    """(width, height) the pipeline renders for a frame of this size, and keeps when handed it.

    The pipeline's own bucket choice (calculate_default_height_width) compares ratios rounded to
    5 decimals, so for a few buckets a frame of exactly that size is moved to a neighbour: the
    choice is repeated until it stays put."""
    from diffusers.pipelines.hunyuan_video1_5.image_processor import HunyuanVideo15ImageProcessor

    processor = HunyuanVideo15ImageProcessor(vae_scale_factor=multiple)
    size = (height, width)
    for _ in range(8):
        chosen = processor.calculate_default_height_width(size[0], size[1], target_size=base)
        if chosen == size:
            return size[1], size[0]
        size = chosen
    raise ModelError(f"no stable {base}-pixel bucket for a {width}×{height} frame")
