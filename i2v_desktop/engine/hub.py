"""A model's files in the Hugging Face download cache, as the models page and `i2v models` show them.

Reads the cache's own layout (HF_HOME / HF_HUB_CACHE, `models--org--name/{blobs,snapshots,refs}`)
and never touches the network: a pinned revision's snapshot folder, the other revisions next to
it, and the `.incomplete` blobs an interrupted download leaves for huggingface_hub to resume.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from ..core.studio import BUILT_IN, LOCAL_FOLDER, NOT_DOWNLOADED, PARTLY_DOWNLOADED, READY, UPDATE_AVAILABLE
from .registry import ModelEntry


class LocalState(NamedTuple):
    state: str  # one of core.studio.STATES
    disk_bytes: int  # what the model's files take in the cache now, partial downloads included


def cache_root() -> Path:
    """Where huggingface_hub keeps downloads (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub)."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def repo_folder(repo: str) -> Path:
    from huggingface_hub.file_download import repo_folder_name

    return cache_root() / repo_folder_name(repo_id=repo, repo_type="model")


def repos(entry: ModelEntry) -> dict[str, str | None]:
    """Every repository `i2v download` fetches for the entry, with its pinned revision."""
    found: dict[str, str | None] = {}
    if entry.repo:
        found[entry.repo] = entry.revision
    if entry.single_file:
        found.setdefault(entry.single_file.repo, entry.single_file.revision)
    for lora in entry.lora.files if entry.lora else ():
        found.setdefault(lora.repo, lora.revision)
    if entry.tiny_decoder:
        found.setdefault(entry.tiny_decoder.repo, entry.tiny_decoder.revision)
    return found


def _blob_bytes(folder: Path) -> int:
    """Bytes in a cached repo's blobs folder: every revision, and partial files."""
    total = 0
    try:
        with os.scandir(folder / "blobs") as blobs:
            for blob in blobs:
                try:
                    total += blob.stat(follow_symlinks=False).st_size
                except OSError:
                    continue
    except OSError:
        return 0
    return total


def _partial(folder: Path, revision: str | None) -> bool:
    """Something of this revision arrived, or a download of the repo was interrupted."""
    if revision and (folder / "snapshots" / revision).is_dir():
        return True
    try:
        return any(name.endswith(".incomplete") for name in os.listdir(folder / "blobs"))
    except OSError:
        return False


def _other_revisions(folder: Path, revision: str | None) -> bool:
    try:
        return any(name != revision for name in os.listdir(folder / "snapshots"))
    except OSError:
        return False


def local_state(entry: ModelEntry) -> LocalState:
    """The model's state on this disk and the bytes its cached files take (no network)."""
    if entry.engine != "diffusion":
        return LocalState(BUILT_IN, 0)
    if entry.local_path:
        path = Path(entry.local_path)
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else 0
        return LocalState(LOCAL_FOLDER, size if path.is_dir() else path.stat().st_size if path.is_file() else 0)
    from .weights import is_downloaded

    disk = sum(_blob_bytes(repo_folder(repo)) for repo in repos(entry))
    if is_downloaded(entry):
        return LocalState(READY, disk)
    main = repo_folder(entry.repo) if entry.repo else None
    if main is not None and _partial(main, entry.revision):
        return LocalState(PARTLY_DOWNLOADED, disk)
    if main is not None and _other_revisions(main, entry.revision):
        return LocalState(UPDATE_AVAILABLE, disk)
    return LocalState(PARTLY_DOWNLOADED if disk else NOT_DOWNLOADED, disk)
