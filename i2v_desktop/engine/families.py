"""What differs between model families when driving their diffusers pipelines.

Each adapter knows three things: how to encode the prompt once (so variants share it), which
arguments its pipeline call takes, and how to read the latents its step callback sees as a
(C, T, h, w) tensor for previews. Two hooks cover pipelines that differ more: `fit_plan`, for one
that picks its frame size itself, and `run`, for one whose call takes no step callback.
"""

from __future__ import annotations

import functools
import inspect
import logging
from typing import Any, Callable

from .plan import RenderPlan
from .registry import ModelEntry

log = logging.getLogger(__name__)


def call_default(pipe: Any, name: str) -> Any:
    """The default of one argument of the pipeline's __call__: what a plain call would use.

    The pipelines' encode_prompt methods can default differently from __call__ (Wan's encodes at
    226 tokens, its __call__ at 512): we encode once ourselves and must match the call.
    """
    return inspect.signature(type(pipe).__call__).parameters[name].default


class Family:
    name = ""
    uses_prompt = True
    # Components kept in float32 whatever the main dtype (decoders that band or overflow in half).
    float32_components: tuple[str, ...] = ()

    def configure(self, pipe: Any, entry: ModelEntry) -> None:
        """Adjust a freshly loaded pipeline to the registry's settings."""

    def encode_prompt(self, pipe: Any, plan: RenderPlan, device: Any) -> dict[str, Any]:
        return {}

    def call_args(self, pipe: Any, entry: ModelEntry, plan: RenderPlan, image: Any,
                  last: Any = None) -> dict[str, Any]:
        """The pipeline call's arguments for the first frame `image` (a PIL image at the plan's
        size) and, where the plan ends on a chosen frame (`plan.end_frame`), that frame `last`."""
        raise NotImplementedError

    def latent_cthw(self, pipe: Any, latents: Any, plan: RenderPlan, entry: ModelEntry) -> Any:
        return latents[0]

    def fit_plan(self, entry: ModelEntry, plan: RenderPlan) -> RenderPlan:
        """The plan at the frame size the pipeline will really render (before the photo is framed)."""
        return plan

    def run(self, pipe: Any, args: dict[str, Any], plan: RenderPlan, callback: Callable[..., Any]) -> Any:
        """One pipeline call, `callback(pipe, i, t, {"latents": ...})` after every step."""
        return pipe(**args, callback_on_step_end=callback, callback_on_step_end_tensor_inputs=["latents"])

    def audio(self, pipe: Any, output: Any) -> Any | None:
        """The sound the pipeline made with the picture (a core.clip.Audio), or None: it makes none."""
        return None


class WanFamily(Family):
    name = "wan"
    float32_components = ("vae", "image_encoder")

    def configure(self, pipe: Any, entry: ModelEntry) -> None:
        if entry.flow_shift is not None and "flow_shift" in pipe.scheduler.config:
            pipe.scheduler = type(pipe.scheduler).from_config(pipe.scheduler.config, flow_shift=entry.flow_shift)

    def encode_prompt(self, pipe: Any, plan: RenderPlan, device: Any) -> dict[str, Any]:
        cfg = plan.guidance > 1.0 or (plan.guidance_2 or 0.0) > 1.0
        positive, negative = pipe.encode_prompt(
            prompt=plan.prompt,
            negative_prompt=plan.negative_prompt,
            do_classifier_free_guidance=cfg,
            num_videos_per_prompt=1,
            # 512, as the call: Wan2.1 I2V's attention takes the last 512 context tokens as the
            # text and the ones before them as the CLIP image tokens, so shorter embeddings would
            # hand the text branch mostly padding and image tokens.
            max_sequence_length=call_default(pipe, "max_sequence_length"),
            device=device,
        )
        return {"prompt_embeds": positive, "negative_prompt_embeds": negative}

    def call_args(self, pipe: Any, entry: ModelEntry, plan: RenderPlan, image: Any,
                  last: Any = None) -> dict[str, Any]:
        args = dict(
            image=image,
            height=plan.height,
            width=plan.width,
            num_frames=plan.num_frames,
            num_inference_steps=plan.steps,
            guidance_scale=plan.guidance,
        )
        if plan.guidance_2 is not None and pipe.config.boundary_ratio is not None:
            args["guidance_scale_2"] = plan.guidance_2
        if plan.loop:
            args["last_image"] = image  # first and last frame both the photo: the clip loops
        elif plan.end_frame:
            args["last_image"] = last
        return args


class LTXFamily(Family):
    name = "ltx"

    def configure(self, pipe: Any, entry: ModelEntry) -> None:
        pipe.scheduler = timesteps_as_given(pipe.scheduler, getattr(pipe.config, "_name_or_path", "") or entry.name)

    def encode_prompt(self, pipe: Any, plan: RenderPlan, device: Any) -> dict[str, Any]:
        positive, mask, negative, negative_mask = pipe.encode_prompt(
            prompt=plan.prompt,
            negative_prompt=plan.negative_prompt,
            do_classifier_free_guidance=plan.guidance > 1.0,
            num_videos_per_prompt=1,
            max_sequence_length=call_default(pipe, "max_sequence_length"),
            device=device,
        )
        return {
            "prompt_embeds": positive,
            "prompt_attention_mask": mask,
            "negative_prompt_embeds": negative,
            "negative_prompt_attention_mask": negative_mask,
        }

    def call_args(self, pipe: Any, entry: ModelEntry, plan: RenderPlan, image: Any,
                  last: Any = None) -> dict[str, Any]:
        from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

        extra = dict(entry.call)
        # A distilled checkpoint comes with its own timestep schedule; it only applies at its own
        # step count (a user who asks for other steps gets the scheduler's even spacing).
        timesteps = extra.pop("timesteps", None)
        if timesteps is not None and len(timesteps) == plan.steps:
            extra["timesteps"] = list(timesteps)
        conditions = [LTXVideoCondition(image=image, frame_index=0)]
        if plan.loop or plan.end_frame:
            last_frame = image if plan.loop else last
            conditions.append(LTXVideoCondition(image=last_frame, frame_index=plan.num_frames - 1))
        return dict(
            conditions=conditions,
            height=plan.height,
            width=plan.width,
            num_frames=plan.num_frames,
            frame_rate=int(round(plan.fps)),
            num_inference_steps=plan.steps,
            guidance_scale=plan.guidance,
            **extra,
        )

    def latent_cthw(self, pipe: Any, latents: Any, plan: RenderPlan, entry: ModelEntry) -> Any:
        # The condition pipeline packs latents into tokens (B, T·h·w, C). A condition at a frame
        # other than 0 (the loop's last frame) adds its own tokens IN FRONT of the video's
        # (prepare_latents concatenates [*extra, video]) and the pipeline strips them from the
        # front after the loop: the video's own tokens are the last ones.
        t = (plan.num_frames - 1) // entry.temporal_ratio + 1
        h, w = plan.height // entry.spatial_ratio, plan.width // entry.spatial_ratio
        p, pt = pipe.transformer_spatial_patch_size, pipe.transformer_temporal_patch_size
        tokens = (t // pt) * (h // p) * (w // p)
        return pipe._unpack_latents(latents[:1, -tokens:], t // pt, h // p, w // p, p, pt)[0]


# Scheduler settings that reshape a sigma schedule, set so that they leave it as it is.
_AS_GIVEN = dict(
    shift=1.0,
    use_dynamic_shifting=False,
    shift_terminal=None,
    use_karras_sigmas=False,
    use_exponential_sigmas=False,
    use_beta_sigmas=False,
)


def timesteps_as_given(scheduler: Any, source: str) -> Any:
    """LTX's flow-matching scheduler, made to run the timesteps it is handed exactly as given.

    LTXConditionPipeline always passes explicit timesteps (a distilled checkpoint's own list, or
    its linear-quadratic schedule) and never sigmas. FlowMatchEulerDiscreteScheduler then derives
    the sigmas from them but still shifts them and stretches them to `shift_terminal`: with the
    0.9.1-style config (shift_terminal 0.1) the distilled list [..., 725, 0.03] would step through
    sigmas [..., 0.75, 0.1] while the transformer is told 0.725 and 0.00003. So nothing reshapes
    the schedule here, and the timesteps come with their own sigmas: the two agree by construction,
    so the scheduler's warning that they may not agree has nothing to report.
    """
    from diffusers import FlowMatchEulerDiscreteScheduler

    if not isinstance(scheduler, FlowMatchEulerDiscreteScheduler):
        return scheduler
    reshaping = {k: scheduler.config.get(k) for k, v in _AS_GIVEN.items() if scheduler.config.get(k) != v}
    if reshaping:
        settings = ", ".join(f"{k}={v}" for k, v in reshaping.items())
        log.info("%s: scheduler settings %s ignored: the pipeline's timesteps run as given", source, settings)
    return _timesteps_as_given_class().from_config(scheduler.config, **_AS_GIVEN)


@functools.cache
def _timesteps_as_given_class() -> Any:
    import numpy as np
    from diffusers import FlowMatchEulerDiscreteScheduler

    class TimestepsAsGivenScheduler(FlowMatchEulerDiscreteScheduler):
        """Explicit timesteps come with their own sigmas (t / num_train_timesteps)."""

        def set_timesteps(self, num_inference_steps: Any = None, device: Any = None, sigmas: Any = None,
                          mu: Any = None, timesteps: Any = None) -> None:
            if timesteps is not None and sigmas is None:
                sigmas = np.asarray(timesteps, dtype=np.float32) / self.config.num_train_timesteps
            super().set_timesteps(num_inference_steps, device, sigmas, mu, timesteps)

    return TimestepsAsGivenScheduler


class SVDFamily(Family):
    name = "svd"
    uses_prompt = False

    def call_args(self, pipe: Any, entry: ModelEntry, plan: RenderPlan, image: Any,
                  last: Any = None) -> dict[str, Any]:
        controls = dict(plan.controls)
        return dict(
            image=image,
            height=plan.height,
            width=plan.width,
            num_frames=plan.num_frames,
            num_inference_steps=plan.steps,
            min_guidance_scale=1.0,
            max_guidance_scale=plan.guidance,
            fps=int(round(plan.fps)),
            motion_bucket_id=int(controls.get("motion_bucket_id", 127)),
            noise_aug_strength=float(controls.get("noise_aug_strength", 0.02)),
            **dict(entry.call),
        )

    def latent_cthw(self, pipe: Any, latents: Any, plan: RenderPlan, entry: ModelEntry) -> Any:
        return latents[0].transpose(0, 1)  # SVD's latents are (B, T, C, h, w)


FAMILIES: dict[str, Family] = {f.name: f for f in (WanFamily(), LTXFamily(), SVDFamily())}

# Families in their own modules build on Family and add themselves to FAMILIES when imported; here,
# after both exist, so that importing any of them first works.
from . import hunyuan, ltx2  # noqa: E402

FAMILY_MODULES = (hunyuan, ltx2)
