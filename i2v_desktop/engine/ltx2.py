"""LTX-2.x image-to-video (diffusers' LTX2ImageToVideoPipeline): picture and sound from one model.

The pipeline denoises two latents side by side: the video's, packed into tokens (B, T·h·w, C) with
the photo's latent kept clean as frame 0, and the audio's, a latent mel spectrogram. Its step
callback hands us the video tokens only, which is all a preview needs. After the loop it always
decodes both: the video through the VAE, the audio through the audio VAE and the vocoder.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.clip import Audio
from .families import FAMILIES, Family, call_default
from .plan import RenderPlan
from .registry import ModelEntry

# Every guidance term the pipeline can add, each set to "off": a distilled checkpoint (and any job
# at guidance 1.0) runs one plain pass per step, for the picture and for the sound alike. Left to
# the pipeline's defaults, guidance 1.0 would still run the audio's CFG (7.0), spatio-temporal
# guidance and modality isolation: three extra transformer passes a step.
NO_GUIDANCE = dict(
    audio_guidance_scale=1.0,
    stg_scale=0.0,
    audio_stg_scale=0.0,
    modality_scale=1.0,
    audio_modality_scale=1.0,
)
# Scheduler settings that reshape a sigma schedule, set so that they leave it as it is.
_AS_GIVEN = dict(use_dynamic_shifting=False, shift=1.0, shift_terminal=None, use_karras_sigmas=False,
                 use_exponential_sigmas=False, use_beta_sigmas=False)


class LTX2Family(Family):
    name = "ltx2"

    def configure(self, pipe: Any, entry: ModelEntry) -> None:
        # A distilled checkpoint's sigmas are its schedule, as the diffusers docs run them: the
        # token-count shift (mu) and the stretch to shift_terminal would move every one of them.
        if "sigmas" in entry.call:
            pipe.scheduler = type(pipe.scheduler).from_config(pipe.scheduler.config, **_AS_GIVEN)

    def encode_prompt(self, pipe: Any, plan: RenderPlan, device: Any) -> dict[str, Any]:
        positive, mask, negative, negative_mask = pipe.encode_prompt(
            prompt=plan.prompt,
            negative_prompt=plan.negative_prompt,
            # Guidance above 1.0 guides the sound too (call_args), so both need the negative prompt.
            do_classifier_free_guidance=plan.guidance > 1.0,
            num_videos_per_prompt=1,
            max_sequence_length=call_default(pipe, "max_sequence_length"),
            device=device,
        )
        embeds = {"prompt_embeds": positive, "prompt_attention_mask": mask}
        if negative is not None:
            embeds.update(negative_prompt_embeds=negative, negative_prompt_attention_mask=negative_mask)
        return embeds

    def call_args(self, pipe: Any, entry: ModelEntry, plan: RenderPlan, image: Any,
                  last: Any = None) -> dict[str, Any]:
        extra = dict(entry.call)
        # The distilled schedule applies at its own step count only; other step counts get the
        # pipeline's even spacing.
        sigmas = extra.pop("sigmas", None)
        if sigmas is not None and len(sigmas) == plan.steps:
            extra["sigmas"] = list(sigmas)
        if plan.guidance <= 1.0:
            extra.update(NO_GUIDANCE)
        return dict(
            image=image,
            height=plan.height,
            width=plan.width,
            num_frames=plan.num_frames,
            frame_rate=float(plan.fps),
            num_inference_steps=plan.steps,
            guidance_scale=plan.guidance,
            **extra,
        )

    def latent_cthw(self, pipe: Any, latents: Any, plan: RenderPlan, entry: ModelEntry) -> Any:
        t = (plan.num_frames - 1) // pipe.vae_temporal_compression_ratio + 1
        h = plan.height // pipe.vae_spatial_compression_ratio
        w = plan.width // pipe.vae_spatial_compression_ratio
        p, pt = pipe.transformer_spatial_patch_size, pipe.transformer_temporal_patch_size
        return pipe._unpack_latents(latents[:1], t // pt, h // p, w // p, p, pt)[0]

    def audio(self, pipe: Any, output: Any) -> Audio:
        """The pipeline's sound for the first clip of its output, at the vocoder's rate.

        The vocoder gives (batch, channels, samples) floats; an Audio holds (samples, channels) in
        [-1, 1], which is what an encoder takes without clipping surprises.
        """
        waveform = output.audio[0]
        if hasattr(waveform, "detach"):
            waveform = waveform.detach().float().cpu().numpy()
        samples = np.clip(np.asarray(waveform, dtype=np.float32).T, -1.0, 1.0)
        return Audio(np.ascontiguousarray(samples), int(pipe.vocoder.config.output_sampling_rate))


FAMILIES[LTX2Family.name] = LTX2Family()
