"""Weights on disk: a registry id resolves to a pinned revision in the Hugging Face cache.

Downloads go into huggingface_hub's standard cache (HF_HOME and HF_HUB_CACHE are honoured), so
weights are shared with every other tool on the machine; a model's weights come through
engine/fetch.py, which resumes what a paused or failed download left. Only the diffusers-format
component folders are fetched, and only safetensors: root-level single-file checkpoints (unless
the entry names one) and pickled .bin weights are never downloaded or loaded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.cancel import CancelToken
from ..core.errors import ModelError, WeightsMissingError
from ..core.events import DownloadProgress, EventSink, Stage, StageChanged
from .cameraloras import CameraLoraEntry
from .registry import LoraFile, ModelEntry


@dataclass(frozen=True)
class Weights:
    folder: Path  # the diffusers-format folder (model_index.json and component configs)
    single_file: Path | None = None  # original-format checkpoint for entry.single_file.components


def _snapshot_kwargs(entry: ModelEntry) -> dict[str, Any]:
    if entry.engine != "diffusion":  # an add-on: one transformers model, its files at the repo's root
        return dict(repo_id=entry.repo, revision=entry.revision, allow_patterns=list(FLAT_FILES), ignore_patterns=[])
    weights = f"*/*.{entry.variant}.safetensors" if entry.variant else "*/*.safetensors"
    # Without a variant, skip the variant copies (e.g. *.fp16.safetensors next to full precision).
    ignore = [] if entry.variant else ["*/*.fp16.safetensors", "*/*.bf16.safetensors"]
    if entry.single_file:
        ignore += [f"{c}/*.safetensors" for c in entry.single_file.components]
    return dict(
        repo_id=entry.repo,
        revision=entry.revision,
        # *.jinja: a chat template saved by transformers next to its tokenizer (HunyuanVideo-1.5's
        # Qwen tokenizer prompts through one; LTX-2's prompt enhancer needs Gemma's).
        allow_patterns=["model_index.json", "*/*.json", "*/*.txt", "*/*.model", "*/*.jinja", weights],
        ignore_patterns=ignore,
    )


def _file_kwargs(entry: ModelEntry) -> dict[str, Any]:
    assert entry.single_file is not None
    return dict(repo_id=entry.single_file.repo, revision=entry.single_file.revision, filename=entry.single_file.file)


def _single(entry: ModelEntry) -> Path | None:
    """The entry's checkpoint on disk: the user's own file, or the cached download (never the network)."""
    from huggingface_hub import hf_hub_download

    if entry.single_file is None:
        return None
    if not entry.single_file.repo:  # the user's own checkpoint
        path = Path(entry.single_file.file)
        if not path.is_file():
            raise ModelError(f"{path}: the checkpoint of {entry.name} is no longer there")
        return path
    return Path(hf_hub_download(local_files_only=True, **_file_kwargs(entry)))


def _cached(entry: ModelEntry) -> Weights:
    """The complete local copy, or LocalEntryNotFoundError/ModelError (never touches the network)."""
    from huggingface_hub import snapshot_download

    folder = Path(snapshot_download(local_files_only=True, **_snapshot_kwargs(entry)))
    if entry.engine != "diffusion":
        return Weights(check_flat_folder(folder))
    return Weights(check_folder(folder, _provided(entry)), _single(entry))


def _provided(entry: ModelEntry) -> tuple[str, ...]:
    return entry.single_file.components if entry.single_file else ()


def is_downloaded(entry: ModelEntry) -> bool:
    """Whether the pinned revision is complete in the local cache (no network)."""
    if entry.local_path:
        return True
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        _cached(entry)
    except (LocalEntryNotFoundError, ModelError):
        return False
    return True


def on_disk(entry: ModelEntry) -> tuple[Weights | None, tuple[Path, ...], Path | None]:
    """Where the model's weights, its fast tier's LoRAs and its tiny decoder are on this disk: None
    or () for what is not (never touches the network)."""
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        weights = Weights(check_folder(Path(entry.local_path))) if entry.local_path else _cached(entry)
    except (LocalEntryNotFoundError, ModelError):
        weights = None
    try:
        loras = _cached_loras(entry) if entry.lora else ()
    except LocalEntryNotFoundError:
        loras = ()
    return weights, loras, tiny_decoder_file(entry)


def ensure_weights(entry: ModelEntry, on_event: EventSink, cancel: CancelToken) -> Weights:
    """The entry's weights on disk, downloading them first if needed."""
    if entry.local_path:
        return Weights(check_folder(Path(entry.local_path)))
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return _cached(entry)
    except (LocalEntryNotFoundError, ModelError):
        pass  # not there, or an incomplete earlier download: fetch the rest
    from huggingface_hub import is_offline_mode

    if is_offline_mode():
        raise WeightsMissingError(
            f"{entry.name} is not downloaded: it needs {entry.download_gb:g} GB from huggingface.co/{entry.repo}"
            f": download it while online ({how_to_download(entry)})"
        )
    on_event(StageChanged(Stage.DOWNLOADING, f"{entry.name}, {entry.download_gb:g} GB"))
    from .fetch import download  # resumable: it takes up what a paused download left

    download(entry, lambda t: on_event(DownloadProgress(t.done_bytes, t.total_bytes, entry.name)), cancel,
             extras=False)
    return _cached(entry)


def how_to_download(entry: ModelEntry) -> str:
    """Where a user gets a model's files, in words for the window and the command line alike (the
    engine's lines reach both, so they name no command-line option of their own)."""
    return f"the Models page, or `i2v download {entry.id}`"


def _lora_kwargs(lora: LoraFile) -> dict[str, Any]:
    return dict(repo_id=lora.repo, revision=lora.revision, filename=lora.file)


def _cached_loras(entry: ModelEntry) -> tuple[Path, ...]:
    """The fast tier's LoRA files in the local cache, in the entry's order, or LocalEntryNotFoundError."""
    from huggingface_hub import hf_hub_download

    assert entry.lora is not None
    return tuple(Path(hf_hub_download(local_files_only=True, **_lora_kwargs(f))) for f in entry.lora.files)


def loras_downloaded(entry: ModelEntry) -> bool:
    """Whether the fast tier's LoRA files are in the local cache (True when the model needs none)."""
    if entry.lora is None:
        return True
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        _cached_loras(entry)
    except LocalEntryNotFoundError:
        return False
    return True


def ensure_loras(entry: ModelEntry, on_event: EventSink, cancel: CancelToken) -> tuple[Path, ...]:
    """The fast tier's LoRA files on disk (one per entry.lora.files), downloading them first if needed."""
    if entry.lora is None:
        return ()
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return _cached_loras(entry)
    except LocalEntryNotFoundError:
        pass
    lora = entry.lora
    _download_files(entry, f"the fast tier's {lora.name} LoRA", f"{lora.download_gb:g} GB",
                    [_lora_kwargs(f) for f in lora.files], on_event, cancel, ", or choose another quality")
    return _cached_loras(entry)


def _download_files(entry: ModelEntry, what: str, size: str, files: list[dict[str, Any]],
                    on_event: EventSink, cancel: CancelToken, otherwise: str = "") -> list[Path]:
    """Download extra files of `entry` (hf_hub_download keyword sets) with progress events and
    cancel; offline or failing, one line says what is missing and how to get it."""
    from huggingface_hub import is_offline_mode

    repos = ", ".join(dict.fromkeys(f"huggingface.co/{f['repo_id']}" for f in files))
    if is_offline_mode():
        raise WeightsMissingError(
            f"{entry.name}: {what} is not downloaded ({size} from {repos}); "
            f"download it while online ({how_to_download(entry)}){otherwise}"
        )
    on_event(StageChanged(Stage.DOWNLOADING, f"{what}, {size}"))
    from .fetch import download_files  # resumable, like a whole model's download

    return download_files(entry, files, lambda t: on_event(DownloadProgress(t.done_bytes, t.total_bytes, what)),
                          cancel)


# A transformers model's files (an add-on's): the config, the image processor's config, safetensors weights.
FLAT_FILES = ("config.json", "preprocessor_config.json", "model.safetensors")


def check_flat_folder(path: Path) -> Path:
    """A transformers model folder with every file in FLAT_FILES (an incomplete download lacks one)."""
    missing = [name for name in FLAT_FILES if not (path / name).is_file()]
    if missing:
        raise ModelError(f"{path}: not a complete model folder ({', '.join(missing)} missing)")
    return path


def check_folder(path: Path, provided: tuple[str, ...] = ()) -> Path:
    """A diffusers folder whose every component has safetensors weights (and no pickles to fall back on).

    `provided` components get their weights from a single-file checkpoint instead.
    """
    try:
        meta = json.loads((path / "model_index.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: not a diffusers model folder (no model_index.json)") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: model_index.json is unreadable ({exc})") from None
    for name, spec in meta.items():
        if name.startswith("_") or not isinstance(spec, list) or spec[0] is None:
            continue
        sub = path / name
        if not sub.is_dir():
            raise ModelError(f"{path}: component folder {name}/ is missing")
        # Tokenizers, schedulers and image processors have JSON but no weights (and no config.json).
        if name in provided or not (sub / "config.json").exists():
            continue
        if not any(sub.glob("*.safetensors")):
            pickled = any(sub.glob("*.bin")) or any(sub.glob("*.pt*")) or any(sub.glob("*.ckpt"))
            why = "only pickled weights, which are not loaded for safety" if pickled else "no weights"
            raise ModelError(f"{path}: {name}/ has {why}; it needs .safetensors files")
    return path


# -- the optional tiny decoder -------------------------------------------------------------------


def _tiny_kwargs(entry: ModelEntry) -> dict[str, Any]:
    tiny = entry.tiny_decoder
    assert tiny is not None
    return dict(repo_id=tiny.repo, revision=tiny.revision, filename=tiny.file)


def tiny_decoder_file(entry: ModelEntry) -> Path | None:
    """The entry's tiny decoder file if it is already on disk, else None. Never touches the network:
    renders use the tiny decoder only when the user has downloaded it."""
    if entry.tiny_decoder is None:
        return None
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(hf_hub_download(local_files_only=True, **_tiny_kwargs(entry)))
    except LocalEntryNotFoundError:
        return None


# -- camera-control LoRAs ------------------------------------------------------------------------


def camera_lora_kwargs(lora: CameraLoraEntry) -> dict[str, Any]:
    return dict(repo_id=lora.repo, revision=lora.revision, filename=lora.file)


def camera_lora_path(lora: CameraLoraEntry) -> Path | None:
    """The camera LoRA's file if it is already on disk, else None. Never touches the network: a render
    uses a camera LoRA only when it came with its model's download, and asks with prompt words otherwise."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(hf_hub_download(local_files_only=True, **camera_lora_kwargs(lora)))
    except LocalEntryNotFoundError:
        return None


def camera_loras_downloaded(entry: ModelEntry) -> bool:
    """Whether every camera LoRA made for the model is on disk (True when it has none)."""
    return all(camera_lora_path(lora) is not None for lora in entry.camera_loras)
