"""Speed features of the diffusion engine, each a switch chosen from the hardware and recorded.

With every switch off (`SPEED_OFF`) the engine must give the same frames as the plain diffusers
pipeline call; each switch is then measured against that baseline (`i2v bench --real`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Mapping

# diffusers AttentionBackendName values we choose between (see plan_speed).
ATTENTION_BACKENDS = ("native", "_native_cudnn", "_flash_3", "_flash_3_hub", "flash", "sage")
STEP_CACHES = ("first_block", "mag", "taylorseer")


@dataclass(frozen=True)
class SpeedPlan:
    """What the engine does to go faster for one model on one machine, at one quality tier."""

    attention: str = "native"  # a diffusers attention backend name; "native" = PyTorch SDPA as is
    compile: bool = False  # regional compilation of the repeated transformer blocks
    cache: str | None = None  # one of STEP_CACHES (draft tiers only), or None
    fp8: bool = False  # float8 weight storage, computed in the pipeline's dtype
    tiny_decoder: bool = False  # previews (and draft decodes) through the tiny video autoencoder
    lora: str | None = None  # the step-distilled LoRA set in use (the fast tier), or None

    def with_(self, **changes: Any) -> SpeedPlan:
        return replace(self, **changes)

    def as_metadata(self) -> dict[str, Any]:
        """What goes into the clip's metadata: every switch, on or off."""
        return asdict(self)


SPEED_OFF = SpeedPlan()


# Below this much GPU memory the denoiser's weights are stored in float8 (half of bf16), so a 14B
# model fits with model offload instead of crawling through sequential offload.
FP8_BELOW_GB = 32.0


def fp8_weights(device: str, total_gb: float | None) -> bool:
    """Whether weights are stored in float8 on this device (the memory plan counts on it too)."""
    return device == "cuda" and total_gb is not None and total_gb < FP8_BELOW_GB


def plan_speed(entry: Any, device_plan: Any, quality: str, overrides: Mapping[str, Any] | None = None) -> SpeedPlan:
    """The switches for `entry` on the device `device_plan` describes, at `quality`."""
    raise NotImplementedError  # implemented on the speed branch


def apply_to_denoiser(module: Any, plan: SpeedPlan, device: Any) -> None:
    """Apply the plan's attention backend, fp8 storage and compilation to one denoiser module."""
    raise NotImplementedError  # implemented on the speed branch
