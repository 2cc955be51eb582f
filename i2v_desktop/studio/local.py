"""`LocalStudio`: the Studio (`core.studio.Studio`) on this machine. It renders on the calling
thread or in a worker process, keeps the history and the queue in the user's data folder and
exports with ffmpeg."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from types import MappingProxyType

import numpy as np

from ..core.batch import BatchPlan, BatchReport, RowResult
from ..core.cancel import CancelToken
from ..core.errors import I2VError, ModelError, first_line, os_reason
from ..core.events import EventSink
from ..core.framing import output_size
from ..core.image import framing_notes, photo_size
from ..core.presets import MotionPreset, PresetLibrary
from ..core.record import ClipEntry, ClipRecord
from ..core.request import GenerationRequest
from ..core.studio import (
    LOCAL_FOLDER, MEMORY_PLANS, PARTLY_DOWNLOADED, READY, CameraLora, ExportChoice, ExportJob, ExportProgress,
    ExportReport, Fit, Hardware, Limits, LoraChoice, Machine, ModelChoice, ModelInfo, PostFraming, Saved, Transfer,
    memory_text,
)
from ..engine.fit import fit as fit_here, needs as needs_of, suggest
from ..engine.plan import check_request, end_frame_note, limits
from ..engine.registry import DOWNLOADED, ModelEntry, Registry
from ..export.files import remove
from ..export.social import ExportLibrary, plan_layout
from ..storage import queue
from ..storage.history import History, HistoryError, clip_files, thumbnail_frames
from ..storage.models import drop_model, put_model
from ..storage.paths import config_dir, data_dir, history_dir, user_models_file, user_presets_dir
from ..storage.prompts import PromptLibrary
from . import batch, exports, loras, records
from .batch import Pool
from .catalog import user_exports, user_presets, user_registry
from .pool import LocalPool
from .process import EngineSettings, RenderProcess
from .render import Engines, photo_beside, render_to_files
from .table import addon_lines, download_gb

DEVICE_NAMES = {"cuda": "NVIDIA GPU", "mps": "Apple GPU", "cpu": "no GPU (CPU only)"}
RUNNABLE = (READY, LOCAL_FOLDER)  # states in which a model renders without a download


def _summary(hardware: Hardware) -> str:
    """One line on the machine: "NVIDIA H100 80GB HBM3, 79 GB GPU memory free", "no GPU (CPU only)..."."""
    if hardware.device == "cpu":
        free = f", {hardware.ram_free_gb:.0f} GB RAM free" if hardware.ram_free_gb is not None else ""
        return DEVICE_NAMES["cpu"] + free
    free = hardware.vram_free_gb if hardware.vram_free_gb is not None else None
    return (hardware.gpu or DEVICE_NAMES[hardware.device]) + (f", {free:.0f} GB GPU memory free" if free is not None else "")


class LocalStudio:
    """Renders, history, export and queue on this machine, behind the Studio Protocol.

    `history`: the History, or its folder to open on first use. `folder` is the data folder (the
    queue and pasted pictures live there); `prompts_file` the prompt library (default: in `folder`).
    `render`, `machine` and `export_many` are slow: a window calls them on worker threads.
    """

    def __init__(self, engines: Engines, history: History | Path, export_presets: ExportLibrary, folder: Path,
                 prompts_file: Path | None = None, process: RenderProcess | None = None,
                 read_only: bool = False, settings: EngineSettings | None = None,
                 pool: Callable[[], Pool] | None = None, lora_folder: Path | None = None) -> None:
        self.engines, self._exports = engines, export_presets
        self._lora_folder = lora_folder  # None: the user's (storage.paths.user_loras_dir)
        # How a batch's worker processes make the same engines, and where a batch runs: this
        # machine's processes (LocalPool), or what the command line was given (a Ray cluster).
        self._settings = settings or EngineSettings(None, None, engines.device, engines.offload, engines.speed)
        self._pool = pool or LocalPool
        # Where renders run: a worker process (the window's choice: a crash there costs one job,
        # not the window), or None for the calling thread with `engines`. Either way the history
        # is written here only.
        self._process = process
        # Another process owns the data folder: everything is read, and every change is refused
        # in one line (renders included: they would add to its history).
        self._read_only = read_only
        self._scratch: Path | None = None  # where a read-only studio keeps pasted pictures
        # A folder: the history is opened on first use (the command line renders into its own
        # folder and must neither read nor repair the user's history). Opening it is not
        # thread-safe, so a window is given an opened History.
        self._opened = history if isinstance(history, History) else None
        self._history_root = None if isinstance(history, History) else Path(history)
        self._folder = Path(folder)
        self._prompts = PromptLibrary(prompts_file or self._folder / "prompts.json")
        # The profile hardware() last read; None until it has looked (models() then leaves `fit` unknown).
        self._hardware: Hardware | None = None

    @property
    def process(self) -> RenderProcess | None:
        """The worker process renders run in, or None: they run on the calling thread."""
        return self._process

    @property
    def _history(self) -> History:
        if self._opened is None:  # (opening clears what killed renders left in its folders)
            self._opened = History(self._history_root)
        return self._opened

    @property
    def _registry(self) -> Registry:
        return self.engines.registry

    @property
    def _presets(self) -> PresetLibrary:
        return self.engines.presets

    # -- models ------------------------------------------------------------------------------

    @property
    def fallback_model(self) -> str:
        return self._registry.fallback

    def models(self, look: bool = True) -> list[ModelChoice]:
        return [self._choice(entry, look) for entry in self._registry.models.values()]

    def model(self, model: str) -> ModelChoice:
        return self._choice(self._registry.resolve(model), look=True)

    def hardware(self) -> Hardware:
        from ..engine.hardware import read_hardware

        self._hardware = read_hardware(self.engines.device)  # one assignment: safe from a worker thread
        return self._hardware

    def model_infos(self) -> list[ModelInfo]:
        from ..engine.hub import local_state
        from ..engine.weights import is_downloaded

        hardware = self.hardware()
        entries = list(self._registry.listed.values())  # the add-ons too: downloaded and removed here
        fits = {entry.id: fit_here(entry, hardware) for entry in entries}
        local = {entry.id: local_state(entry) for entry in entries}
        # Weights here without their camera LoRAs are "partly downloaded", yet they render.
        here = {entry.id for entry in entries if local[entry.id].state in RUNNABLE
                or local[entry.id].state == PARTLY_DOWNLOADED and entry.camera_loras and is_downloaded(entry)}
        default, _ = self._default(entries, fits, here)
        return [
            ModelInfo(
                id=self._request_id(entry), name=entry.name, family=entry.family, summary=entry.summary,
                licence=entry.licence, commercial=entry.commercial, terms=entry.terms,
                download_gb=download_gb(entry), disk_bytes=local[entry.id].disk_bytes, state=local[entry.id].state,
                fit=fits[entry.id], gated=entry.gated, sound=entry.sound, enhancer=entry.enhancer,
                default=entry.id == default, path=entry.local_path or "",
                addons=addon_lines(entry) if entry.engine in DOWNLOADED else (),
            )
            for entry in entries
        ]

    def _default(self, entries: list[ModelEntry], fits: dict[str, Fit], here: set[str]) -> tuple[str, str]:
        """(model, quality) a new user renders with here: see engine.fit.suggest."""
        from ..engine.weights import loras_downloaded

        fast = {entry.id for entry in entries if entry.id in here and loras_downloaded(entry)}
        return suggest(entries, fits, here, fast, self._registry.default, self._registry.fallback)

    # -- a model's files: download, removal, the user's own folders and checkpoints -----------

    def download(self, model: str, on_progress: Callable[[Transfer], object], cancel: CancelToken) -> None:
        from ..engine.fetch import download

        entry = self._registry.resolve(model)
        if entry.engine not in DOWNLOADED:
            raise ModelError(f"{entry.name} is built in: there is nothing to download")
        if entry.local_path and entry.lora is None and entry.tiny_decoder is None:
            raise ModelError(f"{entry.name} is your own folder ({entry.local_path}): there is nothing to download")
        download(entry, on_progress, cancel)  # for a folder of the user's own: its LoRAs and tiny decoder

    def remove(self, model: str) -> int:
        from ..engine.hub import remove

        entry = self._registry.resolve(model)
        if _users_own(entry):  # the user's folder or checkpoint: off the list, its files left alone
            self._writable()
            if not drop_model(user_models_file(), entry.id) and entry.id not in self._registry.entries:
                raise ModelError(f"{model}: not one of your models")
            self.engines.registry = replace(self._registry, entries=MappingProxyType(
                {key: value for key, value in self._registry.entries.items() if key != entry.id}))
            return 0
        return remove(entry, self._registry.entries.values())

    def use_folder(self, path: Path) -> ModelChoice:
        import json

        from ..engine.checkpoint import identify
        from ..engine.registry import PIPELINE_FOR_CLASS, load_registry
        from ..engine.weights import check_folder

        self._writable()
        path = Path(path).expanduser()
        if not path.exists():
            raise ModelError(f"{path}: no such folder or file")
        full = path.resolve()
        own = "see the model's own licence"
        if full.is_dir():
            check_folder(full)  # model_index.json, every component folder, safetensors weights
            entry = self._registry.entry_for_folder(full)
            meta = json.loads((full / "model_index.json").read_text(encoding="utf-8"))
            base = self._registry.closest_base(PIPELINE_FOR_CLASS[meta["_class_name"]][0], meta, full)
            item = {"id": str(full), "base": base, "name": entry.name, "path": str(full), "repo": None,
                    "revision": None, "pipeline": entry.pipeline, "single_file": None, "licence": own,
                    "commercial": own, "download_gb": 0}
        else:
            found = identify(full)  # a safetensors header whose tensors are a denoiser we drive
            entry = self._registry.entry_for_checkpoint(full)
            item = {"id": str(full), "base": self._registry.checkpoint_base(found), "name": entry.name,
                    "single_file": {"path": str(full), "components": list(found.components)},
                    "licence": entry.licence, "commercial": entry.commercial, "download_gb": entry.download_gb}
        file = user_models_file()
        put_model(file, item)
        # Read back the way the next start will read it: what is remembered must load.
        reread = load_registry(user_file=file)
        added = reread.entries.get(item["id"])
        if added is None:
            drop_model(file, item["id"])
            why = next((p for p in reread.problems if repr(item["id"]) in p), "")
            raise ModelError(f"{full}: cannot be added to {file}" + (f" ({why})" if why else ""))
        self.engines.registry = replace(self._registry, entries=MappingProxyType({**self._registry.entries,
                                                                                   added.id: added}))
        return self._choice(added, look=True)

    def _choice(self, entry: ModelEntry, look: bool) -> ModelChoice:
        fit = None if self._hardware is None else fit_here(entry, self._hardware)
        if entry.engine in DOWNLOADED:
            from ..engine.weights import is_downloaded

            memory = memory_text(needs_of(entry))
            size = f"in {entry.local_path}" if entry.local_path else f"{download_gb(entry):g} GB download"
            note = (f"{size}, GPU memory {memory} ({MEMORY_PLANS}). {entry.commercial}"
                    + (f" {entry.terms}" if entry.terms else ""))
            if entry.engine != "diffusion":  # an add-on: what it adds, not what it needs of a GPU
                note = f"{size}. {entry.summary}. {entry.commercial}"
            installed = is_downloaded(entry) if look else None
        else:  # made here from the photo alone: always installed, fits anywhere
            installed, note = True, entry.summary
        return ModelChoice(
            id=self._request_id(entry), name=entry.name, engine=entry.engine, family=entry.family,
            installed=installed, fits=True if entry.engine != "diffusion" else fit.runs if fit else None,
            licence=entry.licence, note=note, aspects=entry.aspects,
            # An add-on makes no clip: nothing to ask of it.
            limits=limits(entry) if entry.tiers else Limits(0.0, 0.0, (0.0, 0.0), 0.0),
            qualities=entry.qualities, loop_note=entry.loop_note(), frame_rule=entry.frame_rule,
            max_frames=entry.max_frames, fit=fit, sound=entry.sound, enhancer=entry.enhancer,
            end_frame=entry.ends_on_frame, end_frame_note=end_frame_note(entry),
            needs_end_frame=entry.needs_end_frame,
        )

    def _request_id(self, entry: ModelEntry) -> str:
        """What a request names: the registry id, or the folder's full path (a relative one would
        mean another folder once the clip's record is read elsewhere)."""
        return entry.id if entry.id in self._registry.models else entry.local_path or entry.id

    def machine(self) -> Machine:
        hardware = self.hardware()
        entries = list(self._registry.models.values())
        choices = tuple(self.models())
        fits = {entry.id: choice.fit for entry, choice in zip(entries, choices)}
        default, quality = self._default(entries, fits, {e.id for e, c in zip(entries, choices) if c.installed})
        return Machine(_summary(hardware), choices, default, quality, hardware)

    def enhance_prompt(self, model: str, image: str, prompt: str, cancel: CancelToken) -> str:
        # Where renders run, so the model loaded for them is the one that enhances: in the worker
        # process (a window's), or on this process's engines (the command line's).
        if self._process is not None:
            return self._process.enhance(model, image, prompt, cancel)
        return self.engines.enhance_prompt(model, image, prompt, cancel)

    # -- requests ----------------------------------------------------------------------------

    def presets(self) -> list[MotionPreset]:
        return list(self._presets.presets.values())

    # -- LoRAs: the user's own files, the presets' camera LoRAs (studio/loras.py) --------------

    def lora_folder(self) -> Path:
        return loras.lora_folder(self._lora_folder)

    def loras(self, model: str, extra: Sequence[str] = ()) -> list[LoraChoice]:
        return loras.loras(self._registry.resolve(model), self.lora_folder(), extra)

    def camera_lora(self, model: str, preset: str) -> CameraLora:
        return loras.camera_lora(self._registry, self._presets, model, preset)

    def motion_words(self, model: str, preset: str, intensity: float) -> str:
        family = self._registry.resolve(model).family
        return self._presets.get(preset).for_family(family).prompt_for(intensity)

    def check(self, request: GenerationRequest) -> None:
        self._presets.get(request.preset)
        check_request(self._registry.resolve(request.model), request)

    def framing_notes(self, request: GenerationRequest) -> list[str]:
        entry = self._registry.resolve(request.model)
        photo = photo_size(request.image)
        frame = output_size(photo, request.aspect, entry.area(request.quality), entry.multiple)
        return framing_notes(Path(request.image).name, photo, frame)

    def render(self, request: GenerationRequest, on_event: EventSink, cancel: CancelToken,
               on_saved: Callable[[Saved], object]) -> None:
        self._writable()

        def keep(mp4: Path, sidecar: Path, record: ClipRecord, frames: np.ndarray, fps: float) -> None:
            # Clip, sidecar and history entry are one: a clip the history could not take is
            # removed with its sidecar, and the job fails saying so (never a clip on disk that
            # the window does not know of).
            thumbs = thumbnail_frames(frames, fps, width=160, max_frames=24)  # about 1 MB
            try:
                entry = self._history.add(mp4, record, thumbs)
            except (OSError, I2VError) as exc:
                for path in (mp4, sidecar):
                    remove(path)
                why = os_reason(exc) if isinstance(exc, OSError) else first_line(exc)
                raise HistoryError(f"{mp4.name}: not kept, the history could not take it ({why})") from None
            on_saved(Saved(entry, frames, fps, thumbs))

        out_dir = self._history.new_clip_folder()
        if self._process is not None:
            self._process.render(request, out_dir, on_event, cancel,
                                 lambda done: keep(done.mp4, done.sidecar, done.record, done.frames, done.fps))
            return
        render_to_files(self.engines.for_model(request.model), request, out_dir, on_event, cancel,
                        on_saved=lambda output: keep(output.mp4, output.sidecar,
                                                     records.make_record(output.clip, output.score),
                                                     output.clip.frames, output.clip.fps),
                        private=True)

    # -- history -----------------------------------------------------------------------------

    def clips(self, photo: str | None = None) -> list[ClipEntry]:
        return self._history.entries() if photo is None else self._history.for_photo(photo)

    def clip(self, entry_id: str) -> ClipEntry:
        try:
            return self._history.get(entry_id)
        except HistoryError:
            raise KeyError(entry_id) from None

    def star(self, entry_id: str, starred: bool) -> ClipEntry:
        self._writable()
        return self._history.set_starred(entry_id, starred)

    def delete(self, entry_id: str) -> None:
        self._writable()
        self._history.remove(entry_id)

    def clip_files(self, entry: ClipEntry) -> tuple[Path, ...]:
        return clip_files(entry)

    def forget(self, entry_id: str) -> ClipEntry:
        self._writable()
        return self._history.forget(entry_id)

    def restore(self, entry: ClipEntry) -> ClipEntry:
        self._writable()
        return self._history.restore(entry)

    def thumbnails(self, entry: ClipEntry) -> np.ndarray:
        return self._history.thumbnails(entry)

    def load_clip(self, entry: ClipEntry) -> tuple[np.ndarray, float]:
        from ..export.mp4 import read_frames

        frames, fps = read_frames(entry.mp4)
        return frames, fps or entry.record.fps or 24.0

    def read_record(self, clip: Path) -> ClipRecord:
        """The clip's record, its photo found: a clip from the user's folders (or an export) names
        the photo by its file name only. A photo of that name beside the clip is the one; else the
        history's entry for the same render knows where the photo is."""
        record = photo_beside(records.read_record(clip), clip)
        photo = record.photo
        if photo is None or Path(photo).is_file():
            return record
        for entry in reversed(self._history.entries()):
            if entry.record.same_take(record) and Path(entry.photo).is_file():
                return record.with_photo(entry.photo)
        return record

    # -- export ------------------------------------------------------------------------------

    def export_choices(self) -> list[ExportChoice]:
        return [ExportChoice(preset.id, preset.name, preset.description, preset.extension)
                for preset in self._exports.presets.values()]

    def export_many(self, jobs: Sequence[ExportJob], cancel: CancelToken,
                    on_progress: ExportProgress | None = None) -> ExportReport:
        return exports.export_many(jobs, cancel, on_progress, library=self._exports)

    def post_framing(self, preset: str, frame: np.ndarray, fill: str = "frame") -> PostFraming:
        layout = plan_layout(frame, self._exports.get(preset), fill)
        return PostFraming(layout.size, layout.crop, layout.fit)

    def framed_photo(self, entry: ClipEntry, size: tuple[int, int]) -> np.ndarray:
        return records.framed_photo(entry.request(), size)

    # -- the user's things -------------------------------------------------------------------

    def prompts(self) -> list[str]:
        return self._prompts.phrases()

    @property
    def prompt_problems(self) -> list[str]:
        """What was wrong with the prompt library file when it was opened, one line each."""
        return list(self._prompts.problems)

    def save_prompt(self, phrase: str) -> None:
        self._writable()
        self._prompts.add(phrase)

    def forget_prompt(self, phrase: str) -> None:
        self._writable()
        self._prompts.remove(phrase)

    def pasted_folder(self) -> Path:
        if self._read_only:  # the data folder is another instance's: a pasted picture lives for this session
            if self._scratch is None:
                self._scratch = Path(tempfile.mkdtemp(prefix="i2v_desktop-pasted-"))
            return self._scratch
        return self._folder / "pasted"

    def save_queue(self, requests: Sequence[GenerationRequest]) -> None:
        self._writable()
        queue.save_queue(self._folder, requests)

    def load_queue(self) -> list[GenerationRequest]:
        return queue.load_queue(self._folder)

    # -- batches ----------------------------------------------------------------------------

    def read_batch(self, source: str, defaults: GenerationRequest, exports: Sequence[str] = (),
                   crf: int = 18) -> BatchPlan:
        return batch.read_plan(source, defaults, exports, crf, self.check, {c.id for c in self.export_choices()})

    def earlier_results(self, plan: BatchPlan, out: str) -> dict[int, RowResult]:
        return batch.earlier_results(plan, out)

    def run_batch(self, plan: BatchPlan, out: str, on_result: Callable[[RowResult], object], cancel: CancelToken,
                  workers: int | None = None, on_start: Callable[[int], object] | None = None) -> BatchReport:
        gpu = any(self._registry.resolve(row.request.model).engine != "instant" for row in plan.rows)
        return batch.run_batch(plan, out, on_result, cancel, self._pool(), partial(batch.BatchWorker, self._settings),
                               gpu, workers, on_start)

    def _writable(self) -> None:
        if self._read_only:
            raise HistoryError(f"{self._folder}: read-only here, another i2v desktop is using it")

    def close(self) -> None:
        if self._process is not None:
            self._process.close()
        self.engines.close()


def _users_own(entry: ModelEntry) -> bool:
    """A model made of the user's own folder or checkpoint (use_folder), not of a download."""
    return bool(entry.local_path) or (entry.single_file is not None and not entry.single_file.repo)


# -- the user's folders -----------------------------------------------------------------------


def user_studio(device: str | None = None, offload: str = "auto", speed: str = "auto", *,
                open_history: bool = True, process: bool = False, read_only: bool = False,
                pool: Callable[[], Pool] | None = None) -> tuple[LocalStudio, list[str]]:
    """The Studio on the user's folders, and one line for each user file or entry it skipped.

    The history is opened now, so a history the app cannot use stops it at start (HistoryError);
    `open_history=False` leaves it closed until used (the command line renders elsewhere).
    `process`: render in a worker process that the first job starts (the window's choice).
    `read_only`: another process owns the data folder: read everything, change nothing.
    `pool`: where batches run (default: processes on this machine)."""
    registry, presets, exported = user_registry(), user_presets(), user_exports()
    problems = [*(f"model {p}" for p in registry.problems), *(f"preset {p}" for p in presets.problems),
                *(f"export preset {p}" for p in exported.problems)]
    engines = Engines(registry, presets, device=device, offload=offload, speed=speed)
    history = History(history_dir()) if open_history else history_dir()
    if isinstance(history, History):  # what opening it repaired: rebuilt, imported, re-indexed, set aside
        problems += [f"history {notice}" for notice in history.notices]
    settings = EngineSettings(user_presets_dir(), user_models_file(), device, offload, speed)
    worker = RenderProcess(settings) if process else None
    studio = LocalStudio(engines, history, exported, data_dir(), config_dir() / "prompts.json", worker, read_only,
                         settings, pool)
    return studio, problems
