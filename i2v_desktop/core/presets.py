"""Motion presets: data files validated into frozen dataclasses.

Built-ins live in resources/presets/*.json; a user's own presets (same format) live in the
config folder and override a built-in with the same id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Generic, Mapping, TypeVar

from .errors import PresetError
from .resources import resource_path

T = TypeVar("T")
# The model-native controls each family declares, with their valid ranges. A preset's section for
# one of these families is checked against it; a section for a family this app does not know (a
# preset written for a newer version) is ignored, and a family a preset does not describe renders
# it with that family's defaults: the preset's generic motion words and no native controls. So
# adding a family breaks no preset, built-in or the user's.
CONTROLS: Mapping[str, Mapping[str, tuple[float, float]]] = {
    "wan": {},
    "ltx": {},
    "hunyuan15": {},
    "ltx2": {},
    "svd": {"motion_bucket_id": (1, 255), "noise_aug_strength": (0.0, 1.0)},
    # The instant engine's virtual camera. Distances are fractions of the frame, angles degrees:
    # zoom (dolly toward the subject, negative away), pan_x / pan_y (how far the scene travels:
    # negative x is leftward, positive y downward), orbit (arc around the subject), spin (the
    # subject turns on the spot), wind (sway of soft regions), breathe (slow scale pulse),
    # highlight (specular sweep across the subject, 0..1).
    "instant": {
        "zoom": (-0.3, 0.3), "pan_x": (-0.3, 0.3), "pan_y": (-0.3, 0.3), "orbit": (0.0, 25.0),
        "spin": (0.0, 30.0), "wind": (0.0, 0.03), "breathe": (0.0, 0.03), "highlight": (0.0, 1.0),
    },
}
FAMILIES = tuple(CONTROLS)
INTEGER_CONTROLS = frozenset({"motion_bucket_id"})
# The camera move a preset asks for, which the scorecard checks the clip against (quality.motion
# reads the same names; the camera's conventions: pan-left turns the camera left, so the content
# moves right). "local": the camera holds still while parts of the scene move.
MOVES = ("zoom-in", "zoom-out", "pan-left", "pan-right", "tilt-up", "tilt-down", "orbit", "roll", "static", "local")
# Words a prompt template can use; the intensity picks one.
WORDS = {
    "speed": ("slowly", "steadily", "swiftly"),
    "amount": ("gently", "clearly", "strongly"),
}


def _word(kind: str, intensity: float) -> str:
    words = WORDS[kind]
    return words[min(int(intensity * len(words)), len(words) - 1)]


# How strong a LoRA may be made (a preset's camera LoRA, the user's own): past 2 a LoRA only breaks
# the picture; a negative strength pushes away from what it learned (some slider LoRAs want that).
LORA_STRENGTH = (-2.0, 2.0)


@dataclass(frozen=True)
class PresetLora:
    """The camera-control LoRA a preset's move uses on one family (an id in resources/loras.json)."""

    id: str
    strength: float = 1.0
    trigger: str = ""  # words the LoRA was trained to answer, put before the motion words


@dataclass(frozen=True)
class FamilyMotion:
    """How one model family renders a preset: prompt text it adds and native controls it sets."""

    prompt: str = ""
    negative_prompt: str = ""
    controls: Mapping[str, tuple[float, float]] = field(default_factory=lambda: MappingProxyType({}))
    # Every seed gives this family the same clip (a still camera on the instant engine): variants
    # would be copies, so the front ends make one and say why.
    deterministic: bool = False
    # The camera-control LoRA that makes the move on this family's models, where one is published;
    # without it (not downloaded, turned off, or none) the prompt words alone ask for the move.
    lora: PresetLora | None = None

    def prompt_for(self, intensity: float) -> str:
        return self.prompt.format(speed=_word("speed", intensity), amount=_word("amount", intensity))

    def controls_for(self, intensity: float) -> dict[str, float | int]:
        """Each control is a (at intensity 0, at intensity 1) pair, interpolated linearly."""
        values: dict[str, float | int] = {}
        for name, (low, high) in self.controls.items():
            value = low + (high - low) * intensity
            values[name] = int(round(value)) if name in INTEGER_CONTROLS else round(value, 4)
        return values


@dataclass(frozen=True)
class MotionPreset:
    id: str
    name: str
    description: str
    loops: bool  # the motion is periodic by nature (breathing, wind), so a loop is seamless
    still: bool  # meant to barely move (static camera, a breathing cinemagraph): little motion is no defect
    families: Mapping[str, FamilyMotion]  # only the families the preset describes
    source: str = ""  # the file it came from
    prompt: str = ""  # generic motion words, for a family the preset has no section for
    move: str | None = None  # the camera move it asks for (MOVES); None: not said, not checked

    def for_family(self, family: str) -> FamilyMotion:
        """The family's own section, or that family's defaults: the generic words, no controls."""
        return self.families.get(family) or FamilyMotion(self.prompt)

    def one_clip_reason(self, family: str) -> str:
        """Why this preset makes one clip on `family` whatever the variants asked, in one line;
        "" where each seed gives a take of its own."""
        if not self.for_family(family).deterministic:
            return ""
        return f"{self.name} gives the same clip for every seed on this model, so one clip is made"


def parse_preset(data: Any, source: str) -> MotionPreset:
    def fail(why: str) -> PresetError:
        return PresetError(f"{source}: {why}")

    if not isinstance(data, dict):
        raise fail("a preset must be a JSON object")
    allowed = {"id", "name", "description", "loops", "still", "prompt", "families", "move"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise fail(f"unknown key(s) {', '.join(unknown)}")
    pid = data.get("id")
    if not isinstance(pid, str) or not pid or not all(c.isalnum() or c == "-" for c in pid) or pid != pid.lower():
        raise fail("id must be lowercase letters, digits and dashes")
    for key in ("name", "description"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise fail(f"{key} must be non-empty text")
    for flag in ("loops", "still"):
        if not isinstance(data.get(flag, False), bool):
            raise fail(f"{flag} must be true or false")
    move = data.get("move")
    if move is not None and move not in MOVES:
        raise fail(f"move {move!r} is not a camera move (choose from {', '.join(MOVES)})")
    generic = _template(data.get("prompt", ""), "prompt", fail)
    fams = data.get("families", {})
    if not isinstance(fams, dict):
        raise fail("families must be an object of per-family sections")
    families = {}
    for fam, spec in fams.items():
        if fam not in CONTROLS:
            continue  # a family this version does not know
        if not isinstance(spec, dict) or set(spec) - {"prompt", "negative_prompt", "controls", "deterministic", "lora"}:
            raise fail(f"families.{fam} may only have prompt, negative_prompt, controls, deterministic and lora")
        if not isinstance(spec.get("deterministic", False), bool):
            raise fail(f"families.{fam}.deterministic must be true or false")
        texts = {k: _template(spec.get(k, ""), f"families.{fam}.{k}", fail) for k in ("prompt", "negative_prompt")}
        controls = {}
        raw = spec.get("controls", {})
        if not isinstance(raw, dict):
            raise fail(f"families.{fam}.controls must be an object")
        for name, pair in raw.items():
            if name not in CONTROLS[fam]:
                raise fail(f"families.{fam}.controls: {name!r} is not a {fam} control")
            if (
                not isinstance(pair, list)
                or len(pair) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pair)
            ):
                raise fail(f"families.{fam}.controls.{name} must be [value at intensity 0, value at 1]")
            lo, hi = CONTROLS[fam][name]
            if not all(lo <= v <= hi for v in pair):
                raise fail(f"families.{fam}.controls.{name} must stay within {lo}..{hi}")
            controls[name] = (float(pair[0]), float(pair[1]))
        lora = _preset_lora(spec["lora"], f"families.{fam}.lora", fail) if "lora" in spec else None
        families[fam] = FamilyMotion(texts["prompt"], texts["negative_prompt"], MappingProxyType(controls),
                                     spec.get("deterministic", False), lora)
    return MotionPreset(
        id=pid,
        name=data["name"].strip(),
        description=data["description"].strip(),
        loops=data.get("loops", False),
        still=data.get("still", False),
        families=MappingProxyType(families),
        source=source,
        prompt=generic,
        move=move,
    )


def _preset_lora(data: Any, where: str, fail: Callable[[str], PresetError]) -> PresetLora:
    if not isinstance(data, dict) or set(data) - {"id", "strength", "trigger"}:
        raise fail(f"{where} must be an object with id, and optionally strength and trigger")
    lora_id = data.get("id")
    if not isinstance(lora_id, str) or not lora_id.strip():
        raise fail(f"{where}.id must name a camera LoRA")
    strength = data.get("strength", 1.0)
    low, high = LORA_STRENGTH
    if not isinstance(strength, (int, float)) or isinstance(strength, bool) or not low <= strength <= high:
        raise fail(f"{where}.strength must be a number from {low:g} to {high:g}")
    trigger = data.get("trigger", "")
    if not isinstance(trigger, str):
        raise fail(f"{where}.trigger must be text")
    return PresetLora(lora_id.strip(), float(strength), trigger.strip())


def _template(text: Any, where: str, fail: Callable[[str], PresetError]) -> str:
    if not isinstance(text, str):
        raise fail(f"{where} must be text")
    try:
        text.format(speed="", amount="")
    except (KeyError, IndexError, ValueError):
        raise fail(f"{where}: only {{speed}} and {{amount}} may be used") from None
    return text


def load_data_file(path: Path, parse: Callable[[Any, str], T]) -> T:
    """One preset-like JSON file, parsed; its id must match its file name."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PresetError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PresetError(f"{path}: not valid JSON ({exc})") from None
    item = parse(data, str(path))
    if getattr(item, "id") != path.stem:
        raise PresetError(f"{path}: id {getattr(item, 'id')!r} must match the file name")
    return item


def load_data_files(
    builtin: Path, user: Path | None, parse: Callable[[Any, str], T]
) -> tuple[dict[str, T], tuple[str, ...]]:
    """Built-in files (a broken one is a bug: raise), then the user's (a broken one is skipped and
    reported in one line; one with a built-in's id replaces it)."""
    items: dict[str, T] = {}
    for path in sorted(builtin.glob("*.json")):
        item = load_data_file(path, parse)
        items[getattr(item, "id")] = item
    problems = []
    if user is not None and user.is_dir():
        for path in sorted(user.glob("*.json")):
            try:
                item = load_data_file(path, parse)
            except PresetError as exc:
                problems.append(str(exc))
                continue
            items[getattr(item, "id")] = item
    return items, tuple(problems)


def load_preset_file(path: Path) -> MotionPreset:
    return load_data_file(path, parse_preset)


def builtin_preset_dir() -> Path:
    return resource_path("presets")


@dataclass(frozen=True)
class Library(Generic[T]):
    """Presets of one kind by id, and the user files that were skipped."""

    kind: str  # "motion preset", "export preset": how errors name an entry
    presets: Mapping[str, T]
    problems: tuple[str, ...] = ()  # one line per user file that was skipped

    def get(self, preset_id: str) -> T:
        try:
            return self.presets[preset_id]
        except KeyError:
            raise PresetError(
                f"unknown {self.kind} {preset_id!r} (choose from {', '.join(sorted(self.presets))})"
            ) from None

    def ids(self) -> list[str]:
        return list(self.presets)


PresetLibrary = Library[MotionPreset]


def load_presets(user_dir: Path | None = None) -> PresetLibrary:
    """Built-in presets, then the user's from `user_dir`."""
    presets, problems = load_data_files(builtin_preset_dir(), user_dir, parse_preset)
    return Library("motion preset", MappingProxyType(presets), problems)
