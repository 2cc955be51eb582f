"""Request → concrete render settings for one model: size, frames, fps, steps, prompt, controls.

Pure Python (no torch), so the window can show "3.04 s · 73 frames" as the user drags a slider and
tests can check every snapping rule without a pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

from ..core.errors import RequestError
from ..core.framing import output_size
from ..core.presets import MotionPreset
from ..core.request import GenerationRequest
from ..core.studio import Limits, frame_count
from .lorafiles import LORA_FAMILIES
from .registry import ModelEntry


class CameraLoraLike(Protocol):
    """What planning reads of a camera-control LoRA's registry entry."""

    id: str
    name: str  # as notes show it: "LTX-2 Dolly In"
    base: tuple[str, ...]  # the model ids it was made for
    trigger: str  # words it was trained to answer


@dataclass(frozen=True)
class PlannedLora:
    """One LoRA a job renders with, as an adapter of the pipeline: a preset's camera LoRA or one of
    the user's files (the fast tier's is added where it is loaded: its files may still be downloaded)."""

    adapter: str  # "camera-<registry id>" or "user-<first 12 hex of sha256>-<expert>"
    path: str  # the file: found in the download cache (camera), or named by the request (user)
    strength: float
    into: tuple[str, ...]  # the denoisers it goes into: "transformer", and Wan2.2 A14B's "transformer_2"
    label: str  # how notes and the clip's record name it: the file's name, or the camera LoRA's name
    sha256: str = ""  # a user file's, as the request recorded it: checked before the file is loaded
    registry_id: str = ""  # a camera LoRA's id in the registry
    expert: str = "both"  # a user file's expert

    @property
    def kind(self) -> str:
        return "camera" if self.registry_id else "user"

    def record(self) -> dict[str, Any]:
        """What the clip's record keeps of it: enough to render the take again."""
        if self.registry_id:
            return {"camera": self.registry_id, "name": self.label, "strength": self.strength}
        return {"file": self.label, "sha256": self.sha256, "strength": self.strength, "expert": self.expert}


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
    end_frame: bool = False  # condition the last frame on the request's end image
    notes: tuple[str, ...] = field(default_factory=tuple)
    lora: str | None = None  # the step-distilled LoRA set this job runs with (the fast tier), or None
    flow_shift: float | None = None  # the tier's own scheduler shift, where it differs from the model's
    sound: bool = False  # make sound with the picture: asked for, and the model can
    loras: tuple[PlannedLora, ...] = ()  # the camera LoRA and the user's LoRAs this job runs with

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
    if request.keyframes and entry.engine != "instant":
        instead = "end on a chosen frame instead" if entry.loops else "choose the instant engine for them"
        raise RequestError(f"{entry.name} cannot follow keyframed framings (the instant engine's): {instead}")
    if entry.needs_end_frame and request.end_image is None and not request.loop:
        raise RequestError(f"{entry.name} makes the motion between two frames: give it an end frame "
                           f"(or ask for a loop)")
    if request.end_image is not None:
        if not entry.ends_on_frame:
            raise RequestError(f"{entry.name} cannot end on a chosen frame: {end_frame_note(entry)}")
        if request.loop:
            raise RequestError("a clip cannot both loop and end on another photo: choose one")
    if request.loras and (entry.engine != "diffusion" or entry.family not in LORA_FAMILIES):
        names = ", ".join(u.name for u in request.loras)
        why = "it is not a diffusion model" if entry.engine != "diffusion" else \
            "diffusers has no LoRA loader for its family"
        raise RequestError(f"{entry.name} takes no LoRAs ({why}): render without {names}, or choose a Wan or LTX model")


def end_frame_note(entry: ModelEntry) -> str:
    """What ending on a chosen frame is with this model, in one line: why it cannot, or that it is
    experimental; "" where it is a published use."""
    if entry.engine != "diffusion":
        return "it moves the photo itself, so its last frame is the photo, moved"
    if not entry.loops:
        return "its pipeline conditions the first frame only (Wan2.1 FLF2V, LTX-Video and Wan2.2 A14B can)"
    if entry.experimental_loop:
        return f"ending on a chosen frame with {entry.name} is experimental: it was published for a first frame only"
    return ""


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


def denoisers_for(entry: ModelEntry, expert: str) -> tuple[str, ...]:
    """The denoisers a LoRA for `expert` goes into: on Wan2.2 A14B the high-noise expert is the
    pipeline's `transformer` and the low-noise one `transformer_2`; a one-denoiser model takes every
    expert's file into `transformer`."""
    if entry.denoisers < 2:
        return ("transformer",)
    return {"high": ("transformer",), "low": ("transformer_2",)}.get(expert, ("transformer", "transformer_2"))


def plan_user_loras(entry: ModelEntry, request: GenerationRequest) -> tuple[tuple[PlannedLora, ...], list[str]]:
    """The request's own LoRA files as adapters, and the notes on those left out (strength 0); a
    model that takes none has refused them already (check_request)."""
    planned, notes = [], []
    for use in request.loras:
        if use.strength == 0:
            notes.append(f"{use.name} at strength 0: left out")
            continue
        planned.append(PlannedLora(f"user-{use.sha256[:12]}-{use.expert}", use.path, use.strength,
                                   denoisers_for(entry, use.expert), use.name, sha256=use.sha256, expert=use.expert))
    return tuple(planned), notes


def plan_camera_lora(entry: ModelEntry, request: GenerationRequest, preset: MotionPreset,
                     camera: CameraLoraLike | None, path: str | None) -> tuple[PlannedLora | None, str, str]:
    """The preset's camera LoRA on this model (or None), its trigger words, and the note that says
    what makes the move. `camera` is the registry's entry for the LoRA the preset names (None when
    the registry has no such LoRA), `path` its file on disk (None: not downloaded): the caller looks,
    so planning stays free of the disk."""
    wanted = preset.for_family(entry.family).lora
    if wanted is None:
        if request.camera_lora:  # a strength asked for, and nothing to give it to
            return None, "", f"{preset.name}: no camera LoRA makes this move on {entry.name}: prompt words only"
        return None, "", ""
    name = camera.name if camera is not None else wanted.id
    if request.camera_lora == 0:
        return None, "", f"{preset.name}: the {name} camera LoRA is turned off: prompt words only"
    if camera is None:
        return None, "", f"{preset.name}: the camera LoRA {wanted.id!r} is not in the model registry: prompt words only"
    if entry.id not in camera.base:
        return None, "", f"{preset.name}: the {name} camera LoRA is not made for {entry.name}: prompt words only"
    if path is None:
        from .weights import how_to_download

        return None, "", (f"{preset.name}: the {name} camera LoRA is not downloaded ({how_to_download(entry)}): "
                          f"prompt words only")
    strength = wanted.strength if request.camera_lora is None else request.camera_lora
    lora = PlannedLora(f"camera-{camera.id}", str(path), strength, denoisers_for(entry, "both"), name,
                       registry_id=camera.id)
    return lora, wanted.trigger or camera.trigger, f"{preset.name}: the {name} camera LoRA at strength {strength:g}"


def plan_render(
    entry: ModelEntry, request: GenerationRequest, source_size: tuple[int, int], preset: MotionPreset,
    camera: CameraLoraLike | None = None, camera_path: str | None = None,
) -> RenderPlan:
    check_request(entry, request)
    user_loras, notes = plan_user_loras(entry, request)
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
    end_note = end_frame_note(entry) if request.end_image is not None else ""
    if end_note:
        notes.append(end_note)
    sound, sound_note = plan_sound(entry, request)
    if sound_note is not None:
        notes.append(sound_note)
    motion = preset.for_family(entry.family)
    camera_lora, trigger, camera_note = plan_camera_lora(entry, request, preset, camera, camera_path)
    if camera_note:
        notes.append(camera_note)
    # The motion words follow the user's: the request's own, or the preset's for this family; a
    # camera LoRA's trigger words come before them.
    words = motion.prompt_for(request.intensity) if request.motion_prompt is None else request.motion_prompt
    prompt = ". ".join(p.strip().rstrip(".") for p in (request.prompt, trigger, words) if p.strip())
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
        end_frame=request.end_image is not None,
        notes=tuple(notes),
        lora=lora.name if lora is not None else None,
        flow_shift=tier.flow_shift,
        sound=sound,
        loras=((camera_lora,) if camera_lora is not None else ()) + user_loras,
    )
