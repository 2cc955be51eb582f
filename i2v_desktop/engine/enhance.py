"""A model's own prompt enhancer: its Gemma model rewrites a short prompt into the long, descriptive,
camera-language prompt the model was trained on, looking at the photo the clip starts from.

diffusers' LTX-2 pipelines carry it as `enhance_prompt`: LTX-2.0/2.3 use their text encoder (Gemma
3) with Lightricks' image-to-video system prompt, LTX-2.5 a dedicated Gemma 4 `prompt_enhancer`
with its own. We call that method as it is, adding only a way to stop between two tokens.
"""

from __future__ import annotations

from typing import Any

from ..core.cancel import CancelToken
from ..core.errors import ModelError


def has_enhancer(pipe: Any) -> bool:
    return callable(getattr(pipe, "enhance_prompt", None)) and getattr(pipe, "processor", None) is not None


def system_prompt(pipe: Any) -> str:
    """The system prompt the pipeline pairs with its enhancer for image-to-video."""
    from diffusers.pipelines.ltx2 import utils

    if getattr(pipe, "prompt_enhancer", None) is not None:
        return utils.LTX2_5_I2V_DEFAULT_SYSTEM_PROMPT
    return utils.I2V_DEFAULT_SYSTEM_PROMPT


def generation_kwargs(pipe: Any) -> dict[str, Any]:
    """The decoding settings enhance_prompt would use by itself (greedy for Gemma 4, sampled at
    temperature 0.7 for Gemma 3, as Lightricks' reference): we pass them back with a stopping rule."""
    from diffusers.pipelines.ltx2 import utils

    dedicated = getattr(pipe, "prompt_enhancer", None) is not None
    config = utils.GEMMA4_PROMPT_ENHANCEMENT_CONFIG if dedicated else utils.GEMMA3_PROMPT_ENHANCEMENT_CONFIG
    return dict(config.generation_kwargs)


def enhance(pipe: Any, photo: Any, prompt: str, cancel: CancelToken, name: str) -> str:
    """The enhancer's rewrite of `prompt` for `photo` (a PIL image). Deterministic: the pipeline
    seeds the sampling itself. Cancelled between two generated tokens."""
    if not has_enhancer(pipe):
        raise ModelError(f"{name} ships no prompt enhancer")
    from transformers import StoppingCriteria, StoppingCriteriaList

    class _Cancelled(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
            return cancel.cancelled

    kwargs = generation_kwargs(pipe)
    kwargs["stopping_criteria"] = StoppingCriteriaList([_Cancelled()])
    cancel.raise_if_cancelled()
    texts = pipe.enhance_prompt(prompt=prompt, system_prompt=system_prompt(pipe), image=photo,
                                generation_kwargs=kwargs)
    cancel.raise_if_cancelled()  # stopped early: the text is cut short, not an answer
    text = texts[0].strip() if texts else ""
    if not text:
        raise ModelError(f"{name}'s prompt enhancer returned no text for {prompt!r}")
    return text
