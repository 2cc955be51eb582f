"""The components the tiny pipelines (tiny.py) share: a T5-style tokenizer built in memory, tiny
T5/UMT5 text encoders, and the CLIP image encoder's configuration and processor.

Imports of torch and transformers stay inside the functions, as in tiny.py.
"""

from __future__ import annotations

import string
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        T5EncoderModel,
        T5TokenizerFast,
        UMT5EncoderModel,
    )

# Width of every text encoder; the denoisers' text/caption input dimension must match it.
TEXT_DIM = 32
# The Wan and SVD pipelines feed the image encoder 224 x 224 pixels, as the real CLIP ViT-H/14 gets;
# a 32-pixel patch keeps that to 7 x 7 patches.
_CLIP_IMAGE_SIZE = 224
_CLIP_PATCH_SIZE = 32


def t5_tokenizer() -> T5TokenizerFast:
    """A T5-style Unigram tokenizer (pad 0, eos 1, unk 2, then pieces) over a character vocabulary."""
    from tokenizers import Tokenizer, decoders, pre_tokenizers, processors
    from tokenizers.models import Unigram
    from transformers import T5TokenizerFast

    chars = string.ascii_letters + string.digits + string.punctuation
    # Word-initial pieces score higher than bare characters so "▁a" wins over "▁" + "a".
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    pieces += [(f"▁{c}", -2.0) for c in chars] + [(c, -3.0) for c in chars]
    backend = Tokenizer(Unigram(pieces, unk_id=2, byte_fallback=False))
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")]
    )
    backend.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    backend.post_processor = processors.TemplateProcessing(
        single=["$A", "</s>"], pair=["$A", "</s>", "$B", "</s>"], special_tokens=[("</s>", 1)]
    )
    return T5TokenizerFast(
        tokenizer_object=backend,
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        extra_ids=0,
        additional_special_tokens=[],
        model_max_length=512,
    )


def _t5_config_kwargs(vocab_size: int) -> dict[str, object]:
    return {
        "vocab_size": vocab_size,
        "d_model": TEXT_DIM,
        "d_kv": 8,
        "d_ff": 64,
        "num_layers": 2,
        "num_heads": 4,
        "relative_attention_num_buckets": 8,
        "relative_attention_max_distance": 32,
        "dropout_rate": 0.0,
        "feed_forward_proj": "gated-gelu",
        "is_encoder_decoder": False,
        "use_cache": False,
    }


def umt5_encoder(vocab_size: int, seed: int) -> UMT5EncoderModel:
    import torch
    from transformers import UMT5Config, UMT5EncoderModel

    torch.manual_seed(seed)
    return UMT5EncoderModel(UMT5Config(**_t5_config_kwargs(vocab_size)))


def t5_encoder(vocab_size: int, seed: int) -> T5EncoderModel:
    import torch
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(seed)
    return T5EncoderModel(T5Config(**_t5_config_kwargs(vocab_size)))


def clip_vision_config(hidden_size: int, projection_dim: int) -> CLIPVisionConfig:
    from transformers import CLIPVisionConfig

    return CLIPVisionConfig(
        hidden_size=hidden_size,
        projection_dim=projection_dim,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        image_size=_CLIP_IMAGE_SIZE,
        patch_size=_CLIP_PATCH_SIZE,
    )


def clip_image_processor() -> CLIPImageProcessor:
    from transformers import CLIPImageProcessor

    # The defaults are those of the real Wan 2.1 I2V and SVD processors (224 px, OpenAI CLIP stats).
    return CLIPImageProcessor()
