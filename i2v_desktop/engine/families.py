"""What differs between model families when driving their diffusers pipelines.

Each adapter knows three things: how to encode the prompt once (so variants share it), which
arguments its pipeline call takes, and how to read the latents its step callback sees as a
(C, T, h, w) tensor for previews.
"""

from __future__ import annotations

import logging
from typing import Any

from .plan import RenderPlan
from .registry import ModelEntry


class Family:
    name = ""
    uses_prompt = True
    # Components kept in float32 whatever the main dtype (decoders that band or overflow in half).
    float32_components: tuple[str, ...] = ()

    def configure(self, pipe: Any, entry: ModelEntry) -> None:
        """Adjust a freshly loaded pipeline to the registry's settings."""

    def encode_prompt(self, pipe: Any, plan: RenderPlan, device: Any) -> dict[str, Any]:
        return {}

    def call_args(self, pipe: Any, entry: ModelEntry, plan: RenderPlan, image: Any) -> dict[str, Any]:
        raise NotImplementedError

    def latent_cthw(self, pipe: Any, latents: Any, plan: RenderPlan, entry: ModelEntry) -> Any:
        return latents[0]


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
            device=device,
        )
        return {"prompt_embeds": positive, "negative_prompt_embeds": negative}

    def call_args(self, pipe: Any, entry: ModelEntry, plan: RenderPlan, image: Any) -> dict[str, Any]:
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
        return args


class LTXFamily(Family):
    name = "ltx"

    def configure(self, pipe: Any, entry: ModelEntry) -> None:
        config = pipe.scheduler.config
        if config.get("shift", 1.0) == 1.0 and not config.get("use_dynamic_shifting", False):
            # The condition pipeline always hands the scheduler explicit timesteps, and the
            # scheduler then warns on every call that its shift may disagree with them. With no
            # shift at all they agree exactly, so the warning would only be noise in our output.
            logging.getLogger(type(pipe.scheduler).__module__).setLevel(logging.ERROR)

    def encode_prompt(self, pipe: Any, plan: RenderPlan, device: Any) -> dict[str, Any]:
        positive, mask, negative, negative_mask = pipe.encode_prompt(
            prompt=plan.prompt,
            negative_prompt=plan.negative_prompt,
            do_classifier_free_guidance=plan.guidance > 1.0,
            num_videos_per_prompt=1,
            device=device,
        )
        return {
            "prompt_embeds": positive,
            "prompt_attention_mask": mask,
            "negative_prompt_embeds": negative,
            "negative_prompt_attention_mask": negative_mask,
        }

    def call_args(self, pipe: Any, entry: ModelEntry, plan: RenderPlan, image: Any) -> dict[str, Any]:
        from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

        extra = dict(entry.call)
        # A distilled checkpoint comes with its own timestep schedule; it only applies at its own
        # step count (a user who asks for other steps gets the scheduler's even spacing).
        timesteps = extra.pop("timesteps", None)
        if timesteps is not None and len(timesteps) == plan.steps:
            extra["timesteps"] = list(timesteps)
        conditions = [LTXVideoCondition(image=image, frame_index=0)]
        if plan.loop:
            conditions.append(LTXVideoCondition(image=image, frame_index=plan.num_frames - 1))
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
        # The condition pipeline packs latents into tokens (B, T·h·w, C) and may append extra
        # conditioning tokens after the video's own: keep only the video's.
        t = (plan.num_frames - 1) // entry.temporal_ratio + 1
        h, w = plan.height // entry.spatial_ratio, plan.width // entry.spatial_ratio
        p, pt = pipe.transformer_spatial_patch_size, pipe.transformer_temporal_patch_size
        tokens = (t // pt) * (h // p) * (w // p)
        return pipe._unpack_latents(latents[:1, :tokens], t // pt, h // p, w // p, p, pt)[0]


class SVDFamily(Family):
    name = "svd"
    uses_prompt = False

    def call_args(self, pipe: Any, entry: ModelEntry, plan: RenderPlan, image: Any) -> dict[str, Any]:
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
