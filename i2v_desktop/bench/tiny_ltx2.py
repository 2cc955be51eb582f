"""A tiny LTX-2 image-to-video pipeline (tiny.py's "ltx2" kind): sound with the picture, a Gemma 3
text encoder that doubles as the prompt enhancer, built in memory like the other kinds.

The layout is LTX-2's: a 32x spatial / 8x temporal video VAE (4x4 pixel patching, then spatial,
temporal and two spatiotemporal downsamplers), an audio VAE over a mel spectrogram (4x in time and
in mel bins), a vocoder, the text connectors that turn every Gemma hidden state into the video's
and the audio's caption tokens, the joint audio-video transformer, and the flow-matching scheduler
with LTX-2's token-count shift. The Gemma 3 model keeps its vision tower and the processor its
image placeholders, so the enhancer is conditioned on the photo as the real one is.
"""

from __future__ import annotations

import string
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from diffusers import DiffusionPipeline
    from transformers import Gemma3ForConditionalGeneration, Gemma3Processor, GemmaTokenizer

_SPECIAL = ("<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<start_of_turn>", "<end_of_turn>",
            "<start_of_image>", "<end_of_image>", "<image_soft_token>")
# Gemma 3's chat format, reduced to what enhance_prompt sends: a system turn, a user turn made of
# an image placeholder and text, and the model's turn to answer.
_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}"
    "<start_of_turn>{{ 'model' if m['role'] == 'assistant' else m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<start_of_image>{% else %}{{ c['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<end_of_turn>\n{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)
TEXT_DIM = 32
TEXT_LAYERS = 2
IMAGE_SIZE = 32  # the enhancer's vision tower sees the photo at this size
IMAGE_TOKENS = 4  # image tokens per photo after the vision tower's pooling (2 x 2)
AUDIO_RATE = 8000  # samples per second out of the vocoder: 100 mel frames/s x 80


def gemma_tokenizer() -> GemmaTokenizer:
    """A Gemma-style tokenizer over a character vocabulary, with Gemma 3's turn and image tokens."""
    from transformers import GemmaTokenizer

    pieces = list(_SPECIAL) + ["▁"] + [f"▁{c}" for c in string.ascii_letters + string.digits]
    pieces += list(string.ascii_letters + string.digits + string.punctuation + "\n")
    vocab = {piece: i for i, piece in enumerate(dict.fromkeys(pieces))}
    tokenizer = GemmaTokenizer(
        vocab=vocab,
        merges=[],
        extra_special_tokens={"image_token": "<image_soft_token>", "boi_token": "<start_of_image>",
                              "eoi_token": "<end_of_image>"},
        chat_template=_CHAT_TEMPLATE,
        model_max_length=8192,
        padding_side="left",
    )
    # The turn markers are single tokens that a decode with skip_special_tokens leaves out, as Gemma's.
    tokenizer.add_special_tokens({"extra_special_tokens": ["<start_of_turn>", "<end_of_turn>"]},
                                 replace_extra_special_tokens=False)
    return tokenizer


def gemma3(vocab_size: int, tokenizer: GemmaTokenizer, seed: int) -> Gemma3ForConditionalGeneration:
    import torch
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, Gemma3TextConfig, SiglipVisionConfig

    text = Gemma3TextConfig(
        vocab_size=vocab_size, hidden_size=TEXT_DIM, intermediate_size=64, num_hidden_layers=TEXT_LAYERS,
        num_attention_heads=2, num_key_value_heads=1, head_dim=16, max_position_embeddings=8192,
        sliding_window=64, pad_token_id=0, eos_token_id=1, bos_token_id=2,
    )
    vision = SiglipVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                                image_size=IMAGE_SIZE, patch_size=8)
    config = Gemma3Config(
        text_config=text, vision_config=vision, mm_tokens_per_image=IMAGE_TOKENS,
        boi_token_index=tokenizer.convert_tokens_to_ids("<start_of_image>"),
        eoi_token_index=tokenizer.convert_tokens_to_ids("<end_of_image>"),
        image_token_index=tokenizer.convert_tokens_to_ids("<image_soft_token>"),
    )
    torch.manual_seed(seed)
    model = Gemma3ForConditionalGeneration(config)
    # As Gemma 3's generation config: an answer ends at <eos> or at the end of the model's turn.
    model.generation_config.eos_token_id = [1, tokenizer.convert_tokens_to_ids("<end_of_turn>")]
    return model


def gemma3_processor(tokenizer: GemmaTokenizer) -> Gemma3Processor:
    from transformers import Gemma3Processor
    from transformers.models.gemma3 import Gemma3ImageProcessorPil

    # The Pillow image processor: the default one wants torchvision, which this app does not need.
    images = Gemma3ImageProcessorPil(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
                                  image_mean=[0.5] * 3, image_std=[0.5] * 3)
    return Gemma3Processor(image_processor=images, tokenizer=tokenizer, image_seq_length=IMAGE_TOKENS,
                           chat_template=_CHAT_TEMPLATE)


def ltx2(seed: int) -> DiffusionPipeline:
    import torch
    from diffusers import (
        AutoencoderKLLTX2Audio,
        AutoencoderKLLTX2Video,
        FlowMatchEulerDiscreteScheduler,
        LTX2ImageToVideoPipeline,
        LTX2VideoTransformer3DModel,
    )
    from diffusers.pipelines.ltx2 import LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder

    tokenizer = gemma_tokenizer()
    text_encoder = gemma3(len(tokenizer), tokenizer, seed)
    latent_channels, audio_channels, mel_bins = 8, 2, 8

    torch.manual_seed(seed)
    vae = AutoencoderKLLTX2Video(
        latent_channels=latent_channels,
        block_out_channels=(8, 16, 16, 32),
        decoder_block_out_channels=(8, 16, 32),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1),
        spatial_compression_ratio=32,
        temporal_compression_ratio=8,
    )
    torch.manual_seed(seed)
    audio_vae = AutoencoderKLLTX2Audio(
        base_channels=4, output_channels=2, ch_mult=(1, 2, 4), num_res_blocks=1, attn_resolutions=None,
        in_channels=2, resolution=32, latent_channels=audio_channels, norm_type="pixel", causality_axis="height",
        dropout=0.0, mid_block_add_attention=False, sample_rate=16000, mel_hop_length=160, is_causal=True,
        mel_bins=mel_bins,
    )
    torch.manual_seed(seed)
    vocoder = LTX2Vocoder(
        in_channels=2 * mel_bins, hidden_channels=32, out_channels=2, upsample_kernel_sizes=[8, 8, 10],
        upsample_factors=[4, 4, 5], resnet_kernel_sizes=[3], resnet_dilations=[[1, 3, 5]],
        leaky_relu_negative_slope=0.1, output_sampling_rate=AUDIO_RATE,
    )
    torch.manual_seed(seed)
    connectors = LTX2TextConnectors(
        caption_channels=TEXT_DIM, text_proj_in_factor=TEXT_LAYERS + 1,
        video_connector_num_attention_heads=4, video_connector_attention_head_dim=8,
        video_connector_num_layers=1, video_connector_num_learnable_registers=None,
        audio_connector_num_attention_heads=4, audio_connector_attention_head_dim=8,
        audio_connector_num_layers=1, audio_connector_num_learnable_registers=None,
        connector_rope_base_seq_len=32, rope_theta=10000.0, rope_double_precision=False,
        causal_temporal_positioning=False, rope_type="split",
    )
    torch.manual_seed(seed)
    transformer = LTX2VideoTransformer3DModel(
        in_channels=latent_channels, out_channels=latent_channels, patch_size=1, patch_size_t=1,
        num_attention_heads=2, attention_head_dim=8, cross_attention_dim=16,
        audio_in_channels=audio_channels * (mel_bins // 4), audio_out_channels=audio_channels * (mel_bins // 4),
        audio_num_attention_heads=2, audio_attention_head_dim=4, audio_cross_attention_dim=8,
        num_layers=2, qk_norm="rms_norm_across_heads", caption_channels=TEXT_DIM,
        rope_double_precision=False, rope_type="split",
    )
    # As Lightricks/LTX-2's scheduler_config.json: the shift grows with the token count (mu), and
    # the schedule ends at shift_terminal.
    scheduler = FlowMatchEulerDiscreteScheduler(
        use_dynamic_shifting=True, base_shift=0.95, max_shift=2.05, base_image_seq_len=1024,
        max_image_seq_len=4096, shift_terminal=0.1, time_shift_type="exponential",
    )
    return LTX2ImageToVideoPipeline(
        scheduler=scheduler, vae=vae, audio_vae=audio_vae, text_encoder=text_encoder, tokenizer=tokenizer,
        connectors=connectors, transformer=transformer, vocoder=vocoder, processor=gemma3_processor(tokenizer),
        prompt_enhancer=None, duration_head=None,
    )
