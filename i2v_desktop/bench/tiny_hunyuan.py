"""The tiny HunyuanVideo-1.5 image-to-video pipeline (diffusers `hunyuan_video1_5`), for tests.

The layout of hunyuanvideo-community/HunyuanVideo-1.5-Diffusers-480p_i2v at toy sizes: a Qwen2.5-VL
text model read through the pipeline's chat template (a byte-level BPE tokenizer with Qwen's
special tokens and chat template, built in memory), a glyph byT5 encoder, a SigLIP image encoder,
the 32-channel VAE with 16x spatial and 4x temporal compression, a transformer that takes
noise + first-frame latent + mask (32 + 32 + 1 channels), the flow-matching scheduler at shift 5
and the classifier-free-guidance guider at 6.0. Nothing is downloaded.

Imports of torch, diffusers and transformers stay inside the functions, as in tiny.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from diffusers import DiffusionPipeline
    from transformers import PreTrainedTokenizerBase

# The latent channels of the real VAE: the transformer's 65 input channels follow from them.
LATENT_CHANNELS = 32
# The tiny transformer's bucket base in pixels (the real 480p model's is 640): buckets of
# 64 x 64 pixels' area in 16-pixel steps, so a tiny registry resolution of 64 x 64 plans them.
TARGET_SIZE = 64
QWEN_DIM = 16
BYT5_DIM = 24
SIGLIP_DIM = 12

# Qwen2's chat template (the Qwen2.5-VL template renders string contents the same way).
_QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def qwen_tokenizer() -> PreTrainedTokenizerBase:
    """A Qwen2-style byte-level BPE tokenizer with no merges (one token per byte), Qwen's special
    tokens (<|endoftext|> pads) and its chat template, which the pipeline applies to every prompt."""
    from tokenizers import Tokenizer, decoders, pre_tokenizers
    from tokenizers.models import BPE
    from transformers import Qwen2Tokenizer

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {symbol: i for i, symbol in enumerate(sorted(alphabet))}
    backend = Tokenizer(BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    backend.decoder = decoders.ByteLevel()
    tokenizer = Qwen2Tokenizer(
        tokenizer_object=backend,
        unk_token=None,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>", "<|im_end|>"],
        model_max_length=131072,
    )
    tokenizer.chat_template = _QWEN_CHAT_TEMPLATE
    return tokenizer


def hunyuan15_i2v(seed: int) -> DiffusionPipeline:
    import torch
    from diffusers import (
        AutoencoderKLHunyuanVideo15,
        FlowMatchEulerDiscreteScheduler,
        HunyuanVideo15ImageToVideoPipeline,
        HunyuanVideo15Transformer3DModel,
    )
    from diffusers.guiders import ClassifierFreeGuidance
    from transformers import (
        ByT5Tokenizer,
        Qwen2_5_VLTextConfig,
        Qwen2_5_VLTextModel,
        SiglipImageProcessor,
        SiglipVisionConfig,
        SiglipVisionModel,
        T5Config,
        T5EncoderModel,
    )

    tokenizer = qwen_tokenizer()
    torch.manual_seed(seed)
    text_encoder = Qwen2_5_VLTextModel(
        Qwen2_5_VLTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=QWEN_DIM,
            intermediate_size=32,
            num_hidden_layers=3,  # the pipeline reads the third hidden state from the end
            num_attention_heads=2,
            num_key_value_heads=2,
            rope_scaling={"mrope_section": [1, 1, 2], "rope_type": "default", "type": "default"},
            rope_theta=1000000.0,
            bos_token_id=None,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )

    # ByT5 needs no vocabulary file: bytes, three specials and its extra ids.
    tokenizer_2 = ByT5Tokenizer()
    torch.manual_seed(seed)
    text_encoder_2 = T5EncoderModel(
        T5Config(
            vocab_size=len(tokenizer_2),
            d_model=BYT5_DIM,
            d_kv=8,
            d_ff=32,
            num_layers=1,
            num_heads=3,
            relative_attention_num_buckets=8,
            relative_attention_max_distance=32,
            dropout_rate=0.0,
            feed_forward_proj="gated-gelu",
            is_encoder_decoder=False,
            use_cache=False,
        )
    )

    torch.manual_seed(seed)
    # SigLIP so400m/14 at 384 pixels in the real repo; a 48-pixel patch keeps it to 8 x 8 tokens.
    image_encoder = SiglipVisionModel(
        SiglipVisionConfig(
            hidden_size=SIGLIP_DIM,
            intermediate_size=24,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=384,
            patch_size=48,
        )
    )
    feature_extractor = SiglipImageProcessor(size={"height": 384, "width": 384})

    torch.manual_seed(seed)
    # Five levels: 16x spatial as the real VAE (2 ** (levels - 1)), 4x temporal.
    vae = AutoencoderKLHunyuanVideo15(
        latent_channels=LATENT_CHANNELS,
        block_out_channels=(8, 8, 16, 32, 64),  # the last as wide as mean and logvar (2 x 32)
        layers_per_block=1,
        spatial_compression_ratio=16,
        temporal_compression_ratio=4,
    )

    torch.manual_seed(seed)
    transformer = HunyuanVideo15Transformer3DModel(
        in_channels=2 * LATENT_CHANNELS + 1,  # noise, the photo's latent in frame 0, its mask
        out_channels=LATENT_CHANNELS,
        num_attention_heads=2,
        attention_head_dim=8,
        num_layers=1,
        num_refiner_layers=1,
        mlp_ratio=2.0,
        patch_size=1,
        patch_size_t=1,
        text_embed_dim=QWEN_DIM,
        text_embed_2_dim=BYT5_DIM,
        image_embed_dim=SIGLIP_DIM,
        rope_axes_dim=(2, 2, 4),
        target_size=TARGET_SIZE,
        task_type="i2v",
    )

    return HunyuanVideo15ImageToVideoPipeline(
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=5.0),  # the 480p I2V repo's shift
        text_encoder_2=text_encoder_2,
        tokenizer_2=tokenizer_2,
        guider=ClassifierFreeGuidance(guidance_scale=6.0),  # the 480p I2V repo's guider
        image_encoder=image_encoder,
        feature_extractor=feature_extractor,
    )
