"""Request → concrete render settings for one model: size, frames, fps, steps, prompt, controls.

Pure Python (no torch), so the window can show "3.04 s · 73 frames" as the user drags a slider and
tests can check every snapping rule without a pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..core.errors import RequestError
from ..core.framing import output_size
from ..core.presets import MotionPreset
from ..core.request import GenerationRequest
from ..core.studio import Limits, frame_count
from .registry import ModelEntry


@dataclass(frozen=True)
class RenderPlan:
    width: int
    height: int
    num_frames: int
    fps: float
    steps: int
    guidance: float
    guidance_2: float | None
    prompt: str
    negative_prompt: str
    controls: Mapping[str, Any]  # family-native pipeline arguments set by the preset
    seed: int
    loop: bool = False  # condition the last frame on the photo too, so the clip loops
    notes: tuple[str, ...] = field(default_factory=tuple)
    lora: str | None = None  # the step-distilled LoRA set this job runs with (the fast tier), or None
    flow_shift: float | None = None  # the tier's own scheduler shift, where it differs from the model's
    sound: bool = False  # make sound with the picture: asked for, and the model can

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps


def limits(entry: ModelEntry) -> Limits:
    low, high = entry.fps_range
    if entry.durations is not None:
        return Limits(entry.durations[0], entry.durations[1], (low, high), entry.fps)
    return Limits(min(1.0, entry.max_frames / entry.fps), entry.max_frames / low, (low, high), entry.fps)


def check_request(entry: ModelEntry, request: GenerationRequest) -> None:
    """Refuse, in one line, what the model cannot make at all (the rest is snapped, with a note)."""
    if not entry.tiers:  # an add-on (the depth model) helps an engine and renders nothing itself
        raise RequestError(f"{entry.name} is an add-on of the instant engine, not a video model: choose another model")
    if request.aspect not in entry.aspects:
        raise RequestError(f"{entry.name} cannot make {request.aspect} clips (it makes {', '.join(entry.aspects)})")
    if entry.durations is not None:
        low, high = entry.durations
        if not low <= request.duration <= high:
            raise RequestError(f"{entry.name} makes clips of {low:g} to {high:g} s, not {request.duration:g} s")
    entry.tier(request.quality)  # one line naming the model if it lacks this tier


def plan_sound(entry: ModelEntry, request: GenerationRequest) -> tuple[bool, str | None]:
    """Whether the clip gets sound, and the note when it was asked for from a model that makes none
    (snapped off like any setting the model cannot honour: the clip is still made, silent)."""
    if request.sound and not entry.sound:
        return False, f"{entry.name} makes no sound: the clip is silent"
    return request.sound, None


def plan_fps(entry: ModelEntry, wanted: float | None) -> float:
    return limits(entry).rate(wanted)


def plan_frames(entry: ModelEntry, duration: float, fps: float) -> int:
    """The frame count the model really renders for `duration` seconds at `fps`."""
    return frame_count(entry.frame_rule, duration, fps, entry.max_frames)


def plan_timing(entry: ModelEntry, duration: float, fps: float | None) -> tuple[int, float]:
    """(frames, fps) a job of this length renders: what a front end shows as the user drags."""
    rate = plan_fps(entry, fps)
    return plan_frames(entry, duration, rate), rate


def plan_render(
    entry: ModelEntry, request: GenerationRequest, source_size: tuple[int, int], preset: MotionPreset
) -> RenderPlan:
    check_request(entry, request)
    notes = []
    fps = plan_fps(entry, request.fps)
    if request.fps is not None and fps != request.fps:
        notes.append(f"{entry.name} renders at {fps:g} fps, not {request.fps:g}")
    frames = plan_frames(entry, request.duration, fps)
    if abs(frames / fps - request.duration) > 0.5 / fps:
        notes.append(f"duration {request.duration:g} s snapped to {frames / fps:.2f} s ({frames} frames)")
    tier = entry.tier(request.quality)
    width, height = output_size(source_size, request.aspect, entry.area(request.quality), entry.multiple)
    steps = request.steps or tier.steps
    # A tier may set its own guidance (the fast tier's distilled LoRAs run without CFG, 1.0).
    default = entry.guidance if tier.guidance is None else tier.guidance
    guidance = default if request.guidance is None else request.guidance
    guidance_2 = None
    if entry.guidance_2 is not None:
        default_2 = entry.guidance_2 if tier.guidance is None else tier.guidance
        guidance_2 = default_2 if request.guidance is None else request.guidance
    lora = entry.lora_for(request.quality)
    if lora is not None:
        notes.append(f"fast: {steps} steps at guidance {guidance:g} with the {lora.name} LoRA")
    if request.loop and entry.loop_note():
        notes.append(entry.loop_note())
    sound, sound_note = plan_sound(entry, request)
    if sound_note is not None:
        notes.append(sound_note)
    motion = preset.for_family(entry.family)
    # The motion words follow the user's: the request's own, or the preset's for this family.
    words = motion.prompt_for(request.intensity) if request.motion_prompt is None else request.motion_prompt
    prompt = ". ".join(p.strip().rstrip(".") for p in (request.prompt, words) if p.strip())
    prompt = prompt + "." if prompt else ""
    negative = ", ".join(
        n.strip() for n in (request.negative_prompt or entry.negative_prompt, motion.negative_prompt) if n.strip()
    )
    return RenderPlan(
        width=width,
        height=height,
        num_frames=frames,
        fps=fps,
        steps=steps,
        guidance=guidance,
        guidance_2=guidance_2,
        prompt=prompt,
        negative_prompt=negative,
        controls=motion.controls_for(request.intensity),
        seed=request.seed,
        loop=request.loop and entry.loops,
        notes=tuple(notes),
        lora=lora.name if lora is not None else None,
        flow_shift=tier.flow_shift,
        sound=sound,
    )
