"""Tiny random-weight diffusers pipelines, built in-process, for tests and the CPU benchmark.

Each kind keeps the component layout of a real checkpoint (classes, channel counts between
components, VAE compression factors, scheduler configuration, optional components left out)
with every model shrunk to at most about a million parameters. The engine therefore goes through exactly
the code paths it takes with real weights: `from_pretrained` on a diffusers folder, the same call
arguments, the same size and frame-count rules. Nothing is ever downloaded; the tokenizers are
built in memory.

The components the kinds share (tokenizer, text and image encoders) are in tiny_parts.py. torch,
diffusers and transformers are imported by the functions that use them: importing this module
loads none of them and changes nothing.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from diffusers import (
        AutoencoderKLWan,
        DiffusionPipeline,
        UniPCMultistepScheduler,
        WanTransformer3DModel,
    )

from . import tiny_ltx2
from .tiny_hunyuan import hunyuan15_i2v
from .tiny_parts import (TEXT_DIM, clip_image_processor, clip_vision_config, t5_encoder, t5_tokenizer,
                         umt5_encoder)

TINY_KINDS = ("wan2.1-i2v", "wan2.2-ti2v", "wan2.2-i2v-a14b", "ltx", "svd", "hunyuan15", "ltx2")


# Kinds that render only with an end frame (or a loop), so they stay out of the tests and benchmarks
# that run every kind on a photo alone.
END_FRAME_KINDS = ("wan2.1-flf2v",)


def build_tiny_pipeline(kind: str, seed: int = 0) -> DiffusionPipeline:
    """The pipeline for `kind`, float32 on the CPU, its weights a pure function of `seed`."""
    import torch

    try:
        builder = _BUILDERS[kind]
    except KeyError:
        raise ValueError(f"unknown tiny pipeline kind {kind!r}; expected one of {TINY_KINDS}") from None
    # Seeding must not leak into the caller's global RNG stream.
    with torch.random.fork_rng(devices=[]):
        pipe = builder(seed)
    for component in pipe.components.values():
        if isinstance(component, torch.nn.Module):
            component.eval()  # constructors leave modules in training mode; from_pretrained does not
    return pipe


def save_tiny_pipeline(kind: str, folder: pathlib.Path, seed: int = 0) -> pathlib.Path:
    """Build the `kind` pipeline and save it as a diffusers folder with safetensors weights only."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    build_tiny_pipeline(kind, seed).save_pretrained(folder, safe_serialization=True)
    return folder


# --- Wan -----------------------------------------------------------------------------------------


def _wan_vae_2_1(seed: int) -> AutoencoderKLWan:
    import torch
    from diffusers import AutoencoderKLWan

    torch.manual_seed(seed)
    # z_dim 16, 8x spatial / 4x temporal as the Wan 2.1 VAE; latents_mean/std keep their defaults,
    # which are the real Wan 2.1 statistics.
    return AutoencoderKLWan(
        base_dim=4,
        z_dim=16,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        temperal_downsample=[False, True, True],
    )


def _wan_vae_2_2(seed: int) -> AutoencoderKLWan:
    import torch
    from diffusers import AutoencoderKLWan

    torch.manual_seed(seed)
    # The Wan 2.2 VAE: z_dim 48, residual blocks, 2x2 pixel patching in front of the 8x encoder
    # (3 RGB channels -> 12), so 16x spatial / 4x temporal overall.
    return AutoencoderKLWan(
        base_dim=4,
        z_dim=48,
        in_channels=12,
        out_channels=12,
        is_residual=True,
        patch_size=2,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        temperal_downsample=[False, True, True],
        latents_mean=[0.0] * 48,
        latents_std=[1.0] * 48,
        scale_factor_spatial=16,
        scale_factor_temporal=4,
    )


def _wan_transformer(
    seed: int, in_channels: int, out_channels: int, image_dim: int | None = None, pos_embed_seq_len: int | None = None
) -> WanTransformer3DModel:
    import torch
    from diffusers import WanTransformer3DModel

    heads, head_dim = 2, 12
    torch.manual_seed(seed)
    return WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=heads,
        attention_head_dim=head_dim,
        in_channels=in_channels,
        out_channels=out_channels,
        text_dim=TEXT_DIM,
        freq_dim=256,
        ffn_dim=32,
        num_layers=2,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
        image_dim=image_dim,
        # Wan 2.1 I2V attends to the CLIP tokens through separate key/value projections. Its attention
        # processor then takes the last 512 context tokens as text, so prompts must be encoded with
        # max_sequence_length=512, the pipeline default.
        added_kv_proj_dim=heads * head_dim if image_dim is not None else None,
        pos_embed_seq_len=pos_embed_seq_len,
    )


def _uni_pc(flow_shift: float) -> UniPCMultistepScheduler:
    from diffusers import UniPCMultistepScheduler

    return UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=flow_shift)


def _wan_2_1_i2v(seed: int) -> DiffusionPipeline:
    import torch
    from diffusers import WanImageToVideoPipeline
    from transformers import CLIPVisionModel

    tokenizer = t5_tokenizer()
    clip_hidden = 32
    torch.manual_seed(seed)
    # CLIPVisionModel, as in the real checkpoint: the pipeline feeds the transformer the encoder's
    # penultimate hidden states and never uses a projection.
    image_encoder = CLIPVisionModel(clip_vision_config(clip_hidden, projection_dim=clip_hidden))
    return WanImageToVideoPipeline(
        tokenizer=tokenizer,
        text_encoder=umt5_encoder(len(tokenizer), seed),
        vae=_wan_vae_2_1(seed),
        scheduler=_uni_pc(flow_shift=3.0),  # Wan 2.1 I2V 480P
        image_processor=clip_image_processor(),
        image_encoder=image_encoder,
        transformer=_wan_transformer(seed, in_channels=16 + 20, out_channels=16, image_dim=clip_hidden),
    )


def _wan_2_1_flf2v(seed: int) -> DiffusionPipeline:
    """Wan2.1 FLF2V: the I2V structure, with a learned position for each of the first and last
    frames' CLIP tokens (the real one has 2 x 257; the tiny CLIP gives 2 x 50)."""
    pipe = _wan_2_1_i2v(seed)
    vision = pipe.image_encoder.config
    tokens = (vision.image_size // vision.patch_size) ** 2 + 1  # the patches and the class token
    pipe.transformer = _wan_transformer(seed, in_channels=16 + 20, out_channels=16,
                                        image_dim=pipe.image_encoder.config.hidden_size, pos_embed_seq_len=2 * tokens)
    pipe.register_modules(transformer=pipe.transformer)
    pipe.scheduler = _uni_pc(flow_shift=16.0)  # FLF2V 720P's shift
    pipe.register_modules(scheduler=pipe.scheduler)
    return pipe


def _wan_2_2_ti2v(seed: int) -> DiffusionPipeline:
    from diffusers import WanImageToVideoPipeline

    tokenizer = t5_tokenizer()
    # TI2V-5B: no CLIP; the first frame's latent replaces the noise in frame 0 and that frame gets
    # timestep 0 (expand_timesteps), so the transformer sees only the 48 latent channels.
    return WanImageToVideoPipeline(
        tokenizer=tokenizer,
        text_encoder=umt5_encoder(len(tokenizer), seed),
        vae=_wan_vae_2_2(seed),
        scheduler=_uni_pc(flow_shift=5.0),  # TI2V-5B sample_shift
        image_processor=None,
        image_encoder=None,
        transformer=_wan_transformer(seed, in_channels=48, out_channels=48),
        transformer_2=None,
        boundary_ratio=None,
        expand_timesteps=True,
    )


def _wan_2_2_i2v_a14b(seed: int) -> DiffusionPipeline:
    from diffusers import WanImageToVideoPipeline

    tokenizer = t5_tokenizer()
    # A14B: a high-noise expert (`transformer`) for t >= boundary_ratio * 1000 and a low-noise expert
    # (`transformer_2`) below; both take 16 noise + 4 mask + 16 first-frame latent channels, no CLIP.
    return WanImageToVideoPipeline(
        tokenizer=tokenizer,
        text_encoder=umt5_encoder(len(tokenizer), seed),
        vae=_wan_vae_2_1(seed),
        scheduler=_uni_pc(flow_shift=5.0),  # I2V-A14B sample_shift
        image_processor=None,
        image_encoder=None,
        transformer=_wan_transformer(seed, in_channels=16 + 20, out_channels=16),
        # Its own seed: two identical experts would hide a mix-up between them.
        transformer_2=_wan_transformer(seed + 1, in_channels=16 + 20, out_channels=16),
        boundary_ratio=0.9,  # I2V-A14B; T2V-A14B uses 0.875
    )


# --- LTX-Video -----------------------------------------------------------------------------------


def _ltx(seed: int) -> DiffusionPipeline:
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXConditionPipeline,
        LTXVideoTransformer3DModel,
    )

    latent_channels = 8
    tokenizer = t5_tokenizer()
    text_encoder = t5_encoder(len(tokenizer), seed)

    torch.manual_seed(seed)
    # The 0.9.5+ VAE layout (0.9.5, 0.9.7, 0.9.8 and their distilled variants): 4x4 pixel patching,
    # then spatial, temporal and two spatiotemporal downsamplers: 32x spatial, 8x temporal, so
    # sizes are multiples of 32 and frame counts 8k + 1. Timestep-conditioned decoder.
    vae = AutoencoderKLLTXVideo(
        in_channels=3,
        out_channels=3,
        latent_channels=latent_channels,
        block_out_channels=(8, 16, 16, 32, 32),
        down_block_types=("LTXVideo095DownBlock3D",) * 4,
        decoder_block_out_channels=(8, 16, 32),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, True, True),
        decoder_spatio_temporal_scaling=(True, True, True),
        decoder_inject_noise=(False, False, False, False),
        downsample_type=("spatial", "temporal", "spatiotemporal", "spatiotemporal"),
        upsample_residual=(True, True, True),
        upsample_factor=(2, 2, 2),
        timestep_conditioning=True,
        patch_size=4,
        patch_size_t=1,
        resnet_norm_eps=1e-6,
        scaling_factor=1.0,
        encoder_causal=True,
        decoder_causal=False,
        spatial_compression_ratio=32,
        temporal_compression_ratio=8,
    )

    heads, head_dim = 4, 8
    torch.manual_seed(seed)
    transformer = LTXVideoTransformer3DModel(
        in_channels=latent_channels,
        out_channels=latent_channels,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=heads,
        attention_head_dim=head_dim,
        cross_attention_dim=heads * head_dim,
        num_layers=1,
        caption_channels=TEXT_DIM,
    )

    # 0.9.5+ use a fixed shift: LTXConditionPipeline passes explicit timesteps and no `mu`, which a
    # dynamically shifting scheduler would refuse.
    scheduler = FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=False)
    return LTXConditionPipeline(
        scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer
    )


# --- Stable Video Diffusion ----------------------------------------------------------------------


def _svd(seed: int) -> DiffusionPipeline:
    import torch
    from diffusers import (
        AutoencoderKLTemporalDecoder,
        EulerDiscreteScheduler,
        StableVideoDiffusionPipeline,
        UNetSpatioTemporalConditionModel,
    )
    from transformers import CLIPVisionModelWithProjection

    cross_attention_dim = 32
    time_embed_dim = 32

    torch.manual_seed(seed)
    unet = UNetSpatioTemporalConditionModel(
        sample_size=32,
        in_channels=8,  # 4 noise + 4 conditioning-image latent channels
        out_channels=4,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
        block_out_channels=(32, 64),  # GroupNorm(32) throughout: multiples of 32
        layers_per_block=1,
        cross_attention_dim=cross_attention_dim,
        num_attention_heads=(2, 4),
        addition_time_embed_dim=time_embed_dim,
        # fps, motion_bucket_id and noise_aug_strength, each embedded in addition_time_embed_dim.
        projection_class_embeddings_input_dim=3 * time_embed_dim,
        num_frames=25,  # img2vid-xt's default clip length
    )

    torch.manual_seed(seed)
    # Four blocks, as the real VAE: the pipeline derives its 8x scale factor from their count.
    vae = AutoencoderKLTemporalDecoder(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        block_out_channels=(32, 32, 32, 32),
        layers_per_block=1,
        latent_channels=4,
    )

    torch.manual_seed(seed)
    # The UNet cross-attends to the projected image embedding.
    image_encoder = CLIPVisionModelWithProjection(clip_vision_config(32, projection_dim=cross_attention_dim))

    # As stable-video-diffusion-img2vid(-xt)'s scheduler_config.json.
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        interpolation_type="linear",
        num_train_timesteps=1000,
        prediction_type="v_prediction",
        sigma_max=700.0,
        sigma_min=0.002,
        steps_offset=1,
        timestep_spacing="leading",
        timestep_type="continuous",
        use_karras_sigmas=True,
    )
    return StableVideoDiffusionPipeline(
        vae=vae,
        image_encoder=image_encoder,
        unet=unet,
        scheduler=scheduler,
        feature_extractor=clip_image_processor(),
    )


_BUILDERS: dict[str, Callable[[int], DiffusionPipeline]] = {
    "wan2.1-i2v": _wan_2_1_i2v,
    "wan2.1-flf2v": _wan_2_1_flf2v,
    "wan2.2-ti2v": _wan_2_2_ti2v,
    "wan2.2-i2v-a14b": _wan_2_2_i2v_a14b,
    "ltx": _ltx,
    "svd": _svd,
    "hunyuan15": hunyuan15_i2v,
    "ltx2": tiny_ltx2.ltx2,
}
