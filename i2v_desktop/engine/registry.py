"""The model registry: what each supported model is, as data (resources/models.json).

Every figure there names its source. Loading validates the file into frozen ModelEntry objects;
no torch needed, so the CLI and the window can list models instantly.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from ..core.errors import ModelError
from ..core.request import ASPECTS, BASE_QUALITIES, QUALITIES
from ..core.resources import resource_path
from .cameraloras import CameraLoraEntry, built_in_camera_loras

FAMILIES = ("wan", "ltx", "svd", "ltx2", "hunyuan15")  # the diffusion families
# What renders a model: a diffusers pipeline on downloaded weights, or the built-in instant engine
# (the photo moved in 2.5D on the CPU: no weights, no GPU).
ENGINES = ("diffusion", "instant")
# Add-ons: downloaded models that render nothing themselves but help an engine (models.json's
# "addons": the depth model that gives the instant engine's camera parallax where no subject can be
# cut out). They are on the models page and in `i2v models`, never in the model picker.
ADDONS = ("depth",)
DOWNLOADED = ("diffusion", *ADDONS)  # the kinds whose files come from the hub
# The diffusers pipeline class we drive for each model_index.json class name of a local folder.
PIPELINE_FOR_CLASS = {
    "WanImageToVideoPipeline": ("wan", "WanImageToVideoPipeline"),
    "WanPipeline": ("wan", "WanImageToVideoPipeline"),  # Wan2.2 TI2V-5B ships as WanPipeline
    "LTXConditionPipeline": ("ltx", "LTXConditionPipeline"),
    "LTXImageToVideoPipeline": ("ltx", "LTXConditionPipeline"),
    "LTXPipeline": ("ltx", "LTXConditionPipeline"),
    "StableVideoDiffusionPipeline": ("svd", "StableVideoDiffusionPipeline"),
    "HunyuanVideo15ImageToVideoPipeline": ("hunyuan15", "HunyuanVideo15ImageToVideoPipeline"),
    "LTX2ImageToVideoPipeline": ("ltx2", "LTX2ImageToVideoPipeline"),
    "LTX2Pipeline": ("ltx2", "LTX2ImageToVideoPipeline"),  # the LTX-2.x repos ship as the text-to-video class
}


# Every model offers these; "fast" only where the registry gives the model a step-distilled tier.
LORA_TARGETS = ("transformer", "transformer_2")


@dataclass(frozen=True)
class Tier:
    resolution: str  # key into ModelEntry.resolutions
    steps: int
    guidance: float | None = None  # None: the model's own; the fast tier runs without CFG (1.0)
    flow_shift: float | None = None  # None: the model's own; a distilled LoRA may be trained at another


@dataclass(frozen=True)
class LoraFile:
    """One LoRA weights file and the denoiser it goes into."""

    repo: str
    revision: str | None  # pinned commit (None only where the hub's commit could not be read)
    file: str
    download_gb: float
    into: str  # "transformer", or "transformer_2" (Wan2.2 A14B's low-noise expert)


@dataclass(frozen=True)
class LoraSet:
    """The step-distilled LoRAs that make a model's fast tier: one file per denoiser."""

    name: str  # recorded in the clip's metadata
    licence: str
    files: tuple[LoraFile, ...]

    @property
    def download_gb(self) -> float:
        return round(sum(f.download_gb for f in self.files), 2)


@dataclass(frozen=True)
class SingleFile:
    """Components whose weights come from one original-format checkpoint instead of the repo.

    Some checkpoints (LTX-Video's 2B distilled) are published only as a single file; diffusers
    converts them, using the diffusers repo's component configs. A checkpoint the user already has
    (Studio.use_folder) has no repo: `repo` is "" and `file` its full path.
    """

    repo: str
    revision: str | None
    file: str
    components: tuple[str, ...]
    download_gb: float


@dataclass(frozen=True)
class TinyDecoder:
    """The tiny video autoencoder (TAEHV family) that decodes this model's latents, optional.

    Used for previews whenever it is on disk, and for draft decodes when the speed plan says so;
    fetched only by `i2v download`, never in the middle of a render.
    """

    arch: str  # key into engine.taehv.ARCHS: which published configuration the file holds
    repo: str
    revision: str
    file: str  # a .safetensors file in the repo
    download_gb: float
    licence: str
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelEntry:
    id: str
    name: str
    family: str
    pipeline: str  # diffusers class name
    repo: str | None  # Hugging Face repo id; None for a local folder
    revision: str | None  # pinned commit
    licence: str
    commercial: str  # one line on commercial use
    download_gb: float
    vram_gb: Mapping[str, float]  # "full" (all on the GPU), "model_offload", "group_offload"
    fps: float  # native frame rate
    fps_range: tuple[float, float]  # what the model can be asked for (conditioning or native only)
    frame_rule: str  # "4k+1", "8k+1", "fixed:N"
    max_frames: int
    multiple: int  # width and height must be multiples of this (VAE factor × patch size)
    loops: bool  # can be conditioned on a last frame, so a clip can end where it began
    resolutions: Mapping[str, tuple[int, int]]  # name -> (width, height) in landscape; area matters
    tiers: Mapping[str, Tier]
    guidance: float
    guidance_2: float | None = None  # Wan2.2 A14B: low-noise expert's guidance
    flow_shift: float | None = None
    negative_prompt: str = ""
    call: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))  # fixed extra kwargs
    variant: str | None = None  # weights variant to load, e.g. "fp16"
    single_file: SingleFile | None = None
    tiny_decoder: TinyDecoder | None = None
    preview: str = ""  # key into resources/latent_rgb.json
    temporal_ratio: int = 1  # frames per latent frame (after the first)
    spatial_ratio: int = 8  # pixels per latent pixel
    sources: tuple[str, ...] = ()
    # Host RAM all the weights take once loaded in the pipeline's dtype (0: unknown). Offloading
    # keeps them there; group offload with streams pins a second copy while it sets up.
    ram_gb: float = 0.0
    denoiser_gb: float = 0.0  # one denoiser's weights in bf16: what fp8 storage halves
    denoisers: int = 1  # Wan2.2 A14B has two experts; model offload moves one at a time
    local_path: str | None = None  # set when the user points at a folder
    lora: LoraSet | None = None  # the fast tier's distilled LoRAs (None: distilled natively, or no fast tier)
    engine: str = "diffusion"  # one of ENGINES
    summary: str = ""  # one line for the model picker
    # The clip lengths in seconds it is offered for; None: whatever max_frames allows.
    durations: tuple[float, float] | None = None
    aspects: tuple[str, ...] = tuple(ASPECTS)  # the frame shapes it can make
    terms: str = ""  # licence terms that depend on the user (a revenue threshold), shown before use
    gated: bool = False  # the repo asks users to accept its terms and log in before downloading
    sound: bool = False  # makes sound with the picture (a request's `sound`)
    enhancer: bool = False  # ships a prompt enhancer (Studio.enhance_prompt)
    # The camera-control LoRAs made for this model (resources/loras.json, attached by load_registry):
    # `i2v download` fetches them with it, a render uses the one its preset names when it is on disk.
    camera_loras: tuple[CameraLoraEntry, ...] = ()

    @property
    def qualities(self) -> tuple[str, ...]:
        """The quality tiers this model offers, in QUALITIES order."""
        return tuple(q for q in QUALITIES if q in self.tiers)
    # The pipeline can condition the last frame, but the weights were not published for it
    # (trained on a first frame only): a loop is allowed and labelled experimental.
    experimental_loop: bool = False
    # Made to render between two given frames (Wan2.1 FLF2V): a clip needs an end frame, or a loop.
    needs_end_frame: bool = False

    @property
    def ends_on_frame(self) -> bool:
        """Can end on a chosen frame (a request's end_image): a diffusion pipeline that conditions
        its last frame."""
        return self.engine == "diffusion" and self.loops

    def tier(self, quality: str) -> Tier:
        try:
            return self.tiers[quality]
        except KeyError:
            raise ModelError(
                f"{self.name} has no {quality} quality (it offers {', '.join(self.qualities)})"
            ) from None

    def area(self, quality: str) -> int:
        w, h = self.resolutions[self.tier(quality).resolution]
        return w * h

    def lora_for(self, quality: str) -> LoraSet | None:
        """The LoRA set a job at `quality` runs with (only the fast tier uses one)."""
        return self.lora if quality == "fast" else None
    def loop_note(self) -> str:
        """One line on what a loop with this model is; empty when it is a published use."""
        if not self.loops:
            return f"{self.name} cannot end on its first frame: this clip will not loop seamlessly"
        if self.experimental_loop:
            return (f"looping with {self.name} is experimental: it was published for a first frame only, "
                    f"so the end may not match the photo")
        return ""


def _single_file(data: dict[str, Any] | None) -> SingleFile | None:
    if data is None:
        return None
    if "path" in data:  # the user's own checkpoint
        return SingleFile(repo="", revision=None, file=str(Path(data["path"]).expanduser()),
                          components=tuple(data["components"]), download_gb=0.0)
    return SingleFile(
        repo=data["repo"],
        revision=data["revision"],
        file=data["file"],
        components=tuple(data["components"]),
        download_gb=float(data["download_gb"]),
    )


def _lora(data: dict[str, Any] | None) -> LoraSet | None:
    if data is None:
        return None
    files = tuple(
        LoraFile(repo=f["repo"], revision=f["revision"], file=f["file"], download_gb=float(f["download_gb"]),
                 into=f["into"])
        for f in data["files"]
    )
    return LoraSet(name=data["name"], licence=data["licence"], files=files)
def _tiny_decoder(data: dict[str, Any] | None) -> TinyDecoder | None:
    if data is None:
        return None
    tiny = TinyDecoder(
        arch=data["arch"],
        repo=data["repo"],
        revision=data["revision"],
        file=data["file"],
        download_gb=float(data["download_gb"]),
        licence=data["licence"],
        sources=tuple(data.get("sources", ())),
    )
    if not tiny.file.endswith(".safetensors"):
        raise ValueError(f"tiny decoder {tiny.file} is not a .safetensors file")
    return tiny


def _entry(data: dict[str, Any], source: str) -> ModelEntry:
    def fail(why: str) -> ModelError:
        return ModelError(f"{source}: model {data.get('id', '?')!r}: {why}")

    try:
        durations = data.get("durations")
        tiers = {q: Tier(**data["tiers"][q]) for q in QUALITIES if q in BASE_QUALITIES or q in data["tiers"]}
        entry = ModelEntry(
            id=data["id"],
            name=data["name"],
            family=data["family"],
            pipeline=data["pipeline"],
            repo=data["repo"],
            revision=data["revision"],
            licence=data["licence"],
            commercial=data["commercial"],
            download_gb=float(data["download_gb"]),
            vram_gb=MappingProxyType({k: float(v) for k, v in data["vram_gb"].items()}),
            fps=float(data["fps"]),
            fps_range=(float(data["fps_range"][0]), float(data["fps_range"][1])),
            frame_rule=data["frame_rule"],
            max_frames=int(data["max_frames"]),
            multiple=int(data["multiple"]),
            loops=bool(data["loops"]),
            resolutions=MappingProxyType({k: (int(v[0]), int(v[1])) for k, v in data["resolutions"].items()}),
            tiers=MappingProxyType(tiers),
            guidance=float(data["guidance"]),
            guidance_2=None if data.get("guidance_2") is None else float(data["guidance_2"]),
            flow_shift=None if data.get("flow_shift") is None else float(data["flow_shift"]),
            negative_prompt=data.get("negative_prompt", ""),
            call=MappingProxyType(dict(data.get("call", {}))),
            variant=data.get("variant"),
            single_file=_single_file(data.get("single_file")),
            tiny_decoder=_tiny_decoder(data.get("tiny_decoder")),
            preview=data["preview"],
            temporal_ratio=int(data["temporal_ratio"]),
            spatial_ratio=int(data["spatial_ratio"]),
            sources=tuple(data.get("sources", ())),
            lora=_lora(data.get("lora")),
            ram_gb=float(data.get("ram_gb", 0.0)),
            denoiser_gb=float(data.get("denoiser_gb", 0.0)),
            denoisers=int(data.get("denoisers", 1)),
            experimental_loop=bool(data.get("experimental_loop", False)),
            needs_end_frame=bool(data.get("needs_end_frame", False)),
            engine=data.get("engine", "diffusion"),
            summary=data.get("summary", ""),
            durations=None if durations is None else (float(durations[0]), float(durations[1])),
            aspects=tuple(data.get("aspects", ASPECTS)),
            terms=data.get("terms", ""),
            gated=bool(data.get("gated", False)),
            sound=bool(data.get("sound", False)),
            enhancer=bool(data.get("enhancer", False)),
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise fail(f"missing or bad field ({exc})") from None
    if entry.engine not in ENGINES:
        raise fail(f"engine must be one of {', '.join(ENGINES)}")
    if entry.engine == "diffusion" and entry.family not in FAMILIES:
        raise fail(f"family must be one of {', '.join(FAMILIES)}")
    if entry.engine == "instant" and entry.family != "instant":
        raise fail("the instant engine's family is instant")
    rules = ("4k+1", "8k+1") if entry.engine == "diffusion" else ("any",)
    if entry.frame_rule not in rules and not entry.frame_rule.startswith("fixed:"):
        raise fail(f"unknown frame rule {entry.frame_rule!r}")
    if entry.durations is not None and not 0.2 <= entry.durations[0] < entry.durations[1] <= 60.0:
        raise fail("durations must be [shortest, longest] seconds within 0.2..60")
    if not entry.aspects or set(entry.aspects) - set(ASPECTS):
        raise fail(f"aspects must be some of {', '.join(ASPECTS)}")
    if not {"full", "model_offload", "group_offload"} <= set(entry.vram_gb):
        raise fail("vram_gb needs full, model_offload and group_offload")
    if entry.ram_gb < 0 or entry.denoiser_gb < 0 or entry.denoisers < 1:
        raise fail("ram_gb and denoiser_gb must be sizes in GB, denoisers at least 1")
    for q, t in tiers.items():
        if t.resolution not in entry.resolutions:
            raise fail(f"tier {q} names unknown resolution {t.resolution!r}")
    unknown = sorted(set(data["tiers"]) - set(QUALITIES))
    if unknown:
        raise fail(f"unknown tier(s) {', '.join(unknown)}")
    if "fast" in tiers and entry.lora is None and entry.guidance != 1.0:
        # A model trained for CFG and many steps only renders well in a few steps with a distilled LoRA.
        raise fail("tier fast needs a step-distilled lora (or a distilled model, guidance 1.0)")
    if entry.lora is not None:
        if "fast" not in tiers:
            raise fail("a lora is only used by the fast tier, and there is none")
        if entry.family != "wan":
            raise fail("step-distilled LoRAs are only supported for Wan models")
        for f in entry.lora.files:
            if f.into not in LORA_TARGETS:
                raise fail(f"lora file {f.file} goes into {f.into!r}, not one of {', '.join(LORA_TARGETS)}")
    for w, h in entry.resolutions.values():
        if w % entry.multiple or h % entry.multiple:
            raise fail(f"resolution {w}x{h} is not a multiple of {entry.multiple}")
    if not entry.fps_range[0] <= entry.fps <= entry.fps_range[1]:
        raise fail("native fps lies outside fps_range")
    if entry.experimental_loop and not entry.loops:
        raise fail("experimental_loop needs loops")
    if entry.needs_end_frame and not entry.loops:
        raise fail("needs_end_frame needs loops (a model that conditions its last frame)")
    return entry


def _addon(data: dict[str, Any], source: str) -> ModelEntry:
    """An add-on's entry: what the models page shows and a download fetches. It renders nothing,
    so it has no frame rates, sizes or quality tiers."""
    try:
        entry = ModelEntry(
            id=data["id"], name=data["name"], family=data["family"], pipeline=data["pipeline"], repo=data["repo"],
            revision=data["revision"], licence=data["licence"], commercial=data["commercial"],
            download_gb=float(data["download_gb"]), vram_gb=MappingProxyType({}), fps=0.0, fps_range=(0.0, 0.0),
            frame_rule="none", max_frames=0, multiple=1, loops=False, resolutions=MappingProxyType({}),
            tiers=MappingProxyType({}), guidance=0.0, preview="", temporal_ratio=1, spatial_ratio=1,
            sources=tuple(data.get("sources", ())), engine=data["engine"], summary=data["summary"], aspects=(),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{source}: add-on {data.get('id', '?')!r}: missing or bad field ({exc})") from None
    if entry.engine not in ADDONS or not entry.repo:
        raise ModelError(f"{source}: add-on {entry.id!r}: engine must be one of {', '.join(ADDONS)}, with a repo")
    return entry


@functools.lru_cache(maxsize=1)
def built_in_addons() -> Mapping[str, ModelEntry]:
    """models.json's add-ons (the instant engine's depth model)."""
    path = registry_file()
    items = json.loads(path.read_text(encoding="utf-8")).get("addons", [])
    return MappingProxyType({entry.id: entry for entry in (_addon(item, str(path)) for item in items)})


@functools.lru_cache(maxsize=1)
def built_in_entries() -> Mapping[str, ModelEntry]:
    """The models.json entries the app renders itself (no weights): the instant engine."""
    path = registry_file()
    items = json.loads(path.read_text(encoding="utf-8"))["models"]
    entries = (_entry(item, str(path)) for item in items if item.get("engine", "diffusion") != "diffusion")
    return MappingProxyType({entry.id: entry for entry in entries})


@dataclass(frozen=True)
class Registry:
    entries: Mapping[str, ModelEntry]  # the diffusion models: weights to download, a GPU to run on
    default: str  # the diffusion model to use where one can run
    problems: tuple[str, ...] = ()  # one line per user entry that was skipped
    # Models rendered by the app itself, on any machine; every registry has them.
    built_in: Mapping[str, ModelEntry] = field(default_factory=built_in_entries)
    addons: Mapping[str, ModelEntry] = field(default_factory=built_in_addons)  # downloaded, never rendered with
    # The camera-control LoRAs presets name (resources/loras.json), by id.
    camera_loras: Mapping[str, CameraLoraEntry] = field(default_factory=built_in_camera_loras)

    @property
    def models(self) -> Mapping[str, ModelEntry]:
        """Every model a front end can offer, the built-in ones first."""
        return MappingProxyType({**self.built_in, **self.entries})

    @property
    def listed(self) -> Mapping[str, ModelEntry]:
        """What the models page and `i2v models` list: every model, then the add-ons."""
        return MappingProxyType({**self.models, **self.addons})

    @property
    def fallback(self) -> str:
        """The model that runs anywhere: used when no diffusion model can run here."""
        return next(iter(self.built_in))

    def get(self, model_id: str) -> ModelEntry:
        try:
            return self.models[model_id]
        except KeyError:
            raise ModelError(
                f"unknown model {model_id!r} (choose from {', '.join(self.models)}, or give a model folder)"
            ) from None

    def camera_lora(self, lora_id: str) -> CameraLoraEntry:
        try:
            return self.camera_loras[lora_id]
        except KeyError:
            raise ModelError(f"unknown camera LoRA {lora_id!r} (this app knows "
                             f"{', '.join(self.camera_loras) or 'none'})") from None

    def camera_loras_for(self, entry: ModelEntry) -> tuple[CameraLoraEntry, ...]:
        """The camera LoRAs made for this model (of its family, naming its id as their base), in file order."""
        return tuple(lora for lora in self.camera_loras.values()
                     if entry.id in lora.base and lora.family == entry.family)

    def resolve(self, model: str) -> ModelEntry:
        """A registry id (an add-on's too), or a path to a local diffusers-format folder."""
        if model in self.listed:
            return self.listed[model]
        path = Path(model).expanduser()
        if path.is_file():
            return self.entry_for_checkpoint(path)
        if path.is_dir() or any(sep in model for sep in ("/", "\\")) or model.startswith("."):
            return self.entry_for_folder(path)
        return self.get(model)

    def entry_for_folder(self, path: Path) -> ModelEntry:
        """Describe a local diffusers folder by its model_index.json and the closest registry entry."""
        index = path / "model_index.json"
        if not path.is_dir():
            raise ModelError(f"{path}: no such model folder")
        try:
            meta = json.loads(index.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(f"{path}: not a diffusers model folder (no model_index.json)") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(f"{path}: model_index.json is unreadable ({exc})") from None
        cls = meta.get("_class_name")
        if cls not in PIPELINE_FOR_CLASS:
            raise ModelError(f"{path}: {cls} is not an image-to-video pipeline this app can drive")
        family, pipeline = PIPELINE_FOR_CLASS[cls]
        base = self.entries[self.closest_base(family, meta, path)]
        return replace(
            base,
            id=str(path),
            name=f"{path.name} (local {base.family.upper()} model)",
            pipeline=pipeline,
            repo=None,
            revision=None,
            licence="see the model's own licence",
            commercial="see the model's own licence",
            download_gb=0.0,
            local_path=str(path.resolve()),
            camera_loras=(),  # made for the registry's model, not for whatever the folder holds
        )

    def entry_for_checkpoint(self, path: Path) -> ModelEntry:
        """A single-file checkpoint as a model: its family's built-in, with the file for the denoiser.

        Everything else (configs, text encoder, VAE unless the file has it) comes from the built-in's
        repo. One line naming the file when it is no model this app drives."""
        from .checkpoint import identify

        found = identify(path)
        base = self.entries[self.checkpoint_base(found)]
        full = path.resolve()
        size_gb = full.stat().st_size / 1e9
        return replace(
            base,
            id=str(full),
            name=f"{path.stem} (local {found.what})",
            single_file=SingleFile(repo="", revision=None, file=str(full), components=found.components,
                                   download_gb=0.0),
            licence="see the checkpoint's own licence",
            commercial="see the checkpoint's own licence",
            download_gb=round(max(base.download_gb - size_gb, 0.0), 1),
            local_path=None,
            camera_loras=(),
        )

    def checkpoint_base(self, found: Any) -> str:  # found: engine.checkpoint.Checkpoint
        """The built-in whose repo gives a checkpoint everything else (one line when there is none)."""
        if found.base in self.entries and self.entries[found.base].repo:
            return found.base
        for entry in self.entries.values():
            if entry.family == found.family and entry.repo and not entry.local_path:
                return entry.id
        raise ModelError(f"{found.path}: a {found.what}, but no {found.family} model here to take the rest from")

    def closest_base(self, family: str, meta: dict[str, Any], path: Path) -> str:
        """Which built-in entry's defaults (fps, buckets, steps) suit a local folder best."""
        candidates = [e for e in self.entries.values() if e.family == family]
        if family == "hunyuan15":
            # The transformer's config says which checkpoint it is: its size buckets (target_size
            # 640 for 480p, 960 for 720p) and whether it is the step-distilled one (meanflow).
            try:
                config = json.loads((path / "transformer" / "config.json").read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                config = {}
            if config.get("use_meanflow"):
                want = "hunyuanvideo-1.5-i2v-480p-step-distilled"
            elif config.get("target_size") == 960:
                want = "hunyuanvideo-1.5-i2v-720p"
            else:
                want = "hunyuanvideo-1.5-i2v-480p"
            if want in self.entries:
                return want
        if family == "wan":
            if meta.get("expand_timesteps"):
                want = "wan2.2-ti2v-5b"
            elif meta.get("boundary_ratio") is not None or meta.get("transformer_2", [None])[0]:
                want = "wan2.2-i2v-a14b"
            else:
                want = "wan2.1-i2v-14b-480p"
            if want in self.entries:
                return want
        return candidates[0].id


def registry_file() -> Path:
    return resource_path("models.json")


def load_registry(path: Path | None = None, user_file: Path | None = None) -> Registry:
    """The built-in models, then the user's own file (same format) if there is one.

    A user entry may start from a built-in (`"base": "wan2.1-i2v-14b-480p"`) and change only what
    differs, and may point at a local diffusers folder (`"path"`) instead of a Hub repo. A broken
    user entry is skipped and reported; a broken built-in is a bug and raises.
    """
    path = path or registry_file()
    data = json.loads(path.read_text(encoding="utf-8"))
    raw = {item["id"]: item for item in data["models"]}
    entries: dict[str, ModelEntry] = {}
    built_in: dict[str, ModelEntry] = {}
    for item in data["models"]:
        entry = _entry(item, str(path))
        if entry.id in entries or entry.id in built_in:
            raise ModelError(f"{path}: model id {entry.id!r} appears twice")
        (entries if entry.engine == "diffusion" else built_in)[entry.id] = entry
    if not built_in:
        raise ModelError(f"{path}: no model runs without weights (the instant engine is missing)")
    if data["default"] not in entries:
        raise ModelError(f"{path}: default model {data['default']!r} is not listed")
    addons = {}
    for item in data.get("addons", []):
        addon = _addon(item, str(path))
        if addon.id in entries or addon.id in built_in or addon.id in addons:
            raise ModelError(f"{path}: model id {addon.id!r} appears twice")
        addons[addon.id] = addon
    problems = []
    if user_file is not None and user_file.is_file():
        try:
            user = json.loads(user_file.read_text(encoding="utf-8"))
            items = user["models"]
            if not isinstance(items, list):
                raise TypeError("models must be a list")
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            problems.append(f"{user_file}: not a valid models file ({exc})")
            items = []
        for item in items:
            try:
                entry = _user_entry(item, raw, str(user_file))
            except ModelError as exc:
                problems.append(str(exc))
                continue
            if entry.id in addons:
                problems.append(f"{user_file}: model {entry.id!r}: that id is the built-in add-on's")
                continue
            entries[entry.id] = entry
    cameras = built_in_camera_loras()
    registry = Registry(MappingProxyType(entries), data["default"], tuple(problems), MappingProxyType(built_in),
                        MappingProxyType(addons), cameras)
    return replace(registry, entries=MappingProxyType(
        {key: replace(entry, camera_loras=registry.camera_loras_for(entry)) for key, entry in entries.items()}))


def _user_entry(item: Any, builtins: Mapping[str, dict[str, Any]], source: str) -> ModelEntry:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        raise ModelError(f"{source}: every model needs an id")
    data = dict(item)
    base = data.pop("base", None)
    if base is not None:
        if base not in builtins:
            raise ModelError(f"{source}: model {data['id']!r}: unknown base {base!r}")
        data = {**builtins[base], "sources": [], **data}
    folder = data.pop("path", None)
    if folder is not None:
        data.setdefault("repo", None)
        data.setdefault("revision", None)
    entry = _entry(data, source)
    if entry.engine != "diffusion":
        raise ModelError(f"{source}: model {entry.id!r}: only diffusion models can be added")
    if folder is not None:
        entry = replace(entry, local_path=str(Path(folder).expanduser()))
    elif not entry.repo:
        raise ModelError(f"{source}: model {entry.id!r} needs a repo or a path")
    return entry


def load_latent_rgb(key: str) -> tuple[list[list[float]], list[float]]:
    """(factors[C][3], bias[3]) for projecting a latent to RGB for previews."""
    path = resource_path("latent_rgb.json")
    table = json.loads(path.read_text(encoding="utf-8"))[key]
    return table["factors"], table["bias"]
