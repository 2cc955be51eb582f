"""A model's files in the Hugging Face download cache, as the models page and `i2v models` show them.

Reads the cache's own layout (HF_HOME / HF_HUB_CACHE, `models--org--name/{blobs,snapshots,refs}`)
and never touches the network: a pinned revision's snapshot folder, the other revisions next to
it, and the `.incomplete` blobs an interrupted download leaves for huggingface_hub to resume.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, NamedTuple

from ..core.errors import ModelError
from ..core.studio import BUILT_IN, LOCAL_FOLDER, NOT_DOWNLOADED, PARTLY_DOWNLOADED, READY, UPDATE_AVAILABLE
from .registry import DOWNLOADED, ModelEntry


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
    if entry.single_file and entry.single_file.repo:  # not the user's own checkpoint
        found.setdefault(entry.single_file.repo, entry.single_file.revision)
    for lora in entry.lora.files if entry.lora else ():
        found.setdefault(lora.repo, lora.revision)
    if entry.tiny_decoder:
        found.setdefault(entry.tiny_decoder.repo, entry.tiny_decoder.revision)
    for camera in entry.camera_loras:
        found.setdefault(camera.repo, camera.revision)
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


def _file_bytes(repo: str, revision: str | None, filename: str) -> int:
    """The size of one cached file of a shared repo (a LoRA, a tiny decoder), 0 when not here."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo, filename, revision=revision)
    return os.path.getsize(found) if isinstance(found, str) else 0


def _own_bytes(entry: ModelEntry) -> int:
    """Bytes of the model's own repo (every revision, partial files) and its single checkpoint."""
    disk = _blob_bytes(repo_folder(entry.repo)) if entry.repo else 0
    single = entry.single_file
    if single is not None and single.repo and single.repo != entry.repo:
        disk += _file_bytes(single.repo, single.revision, single.file)
    return disk


def local_state(entry: ModelEntry) -> LocalState:
    """The model's state on this disk and the bytes its cached files take (no network).

    Its state comes from its own repo and checkpoint; the fast tier's LoRAs and the tiny decoder are
    extras (a render works without them) and live in repos other models share, so they add their
    own files' bytes to the size but never make a model "partly downloaded". Its camera LoRAs add
    their bytes too, and a model whose weights are here without them is "partly downloaded": its
    presets' moves need them, and Download (which resumes) is how they arrive."""
    if entry.engine not in DOWNLOADED:
        return LocalState(BUILT_IN, 0)
    if entry.local_path:
        path = Path(entry.local_path)
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else 0
        return LocalState(LOCAL_FOLDER, size if path.is_dir() else path.stat().st_size if path.is_file() else 0)
    from .weights import is_downloaded

    own = _own_bytes(entry)
    extras = [(f.repo, f.revision, f.file) for f in entry.lora.files] if entry.lora else []
    if entry.tiny_decoder:
        extras.append((entry.tiny_decoder.repo, entry.tiny_decoder.revision, entry.tiny_decoder.file))
    extras += [(camera.repo, camera.revision, camera.file) for camera in entry.camera_loras]
    disk = own + sum(_file_bytes(*extra) for extra in dict.fromkeys(extras))
    if is_downloaded(entry):
        from .weights import camera_loras_downloaded

        return LocalState(READY if camera_loras_downloaded(entry) else PARTLY_DOWNLOADED, disk)
    main = repo_folder(entry.repo) if entry.repo else None
    if main is not None and _partial(main, entry.revision):
        return LocalState(PARTLY_DOWNLOADED, disk)
    if main is not None and _other_revisions(main, entry.revision):
        return LocalState(UPDATE_AVAILABLE, disk)
    return LocalState(PARTLY_DOWNLOADED if own else NOT_DOWNLOADED, disk)


# -- removing a model's files ------------------------------------------------------------------


class _Holding(NamedTuple):
    repo: str
    revision: str | None
    files: frozenset[str] | None  # None: the whole revision is the model's (its own diffusers repo)


def _holdings(entry: ModelEntry) -> list[_Holding]:
    found = []
    if entry.repo:
        found.append(_Holding(entry.repo, entry.revision, None))
    single = entry.single_file
    if single is not None and single.repo:
        found.append(_Holding(single.repo, single.revision, frozenset({single.file})))
    for lora in entry.lora.files if entry.lora else ():
        found.append(_Holding(lora.repo, lora.revision, frozenset({lora.file})))
    if entry.tiny_decoder:
        tiny = entry.tiny_decoder
        found.append(_Holding(tiny.repo, tiny.revision, frozenset({tiny.file})))
    for camera in entry.camera_loras:
        found.append(_Holding(camera.repo, camera.revision, frozenset({camera.file})))
    return found


def _folder_bytes(folder: Path) -> int:
    """Bytes of the regular files under a cached repo (snapshot symlinks do not count twice)."""
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                path = os.path.join(root, name)
                total += 0 if os.path.islink(path) else os.lstat(path).st_size
            except OSError:
                continue
    return total


def _tidy(folder: Path, own: bool) -> None:
    """Drop emptied snapshot folders, refs to them, and a repo with no snapshot left: with its
    blobs when it is the model's own repo (blobs of an interrupted download not yet in a snapshot),
    else only once nothing but partial files is left in it."""
    import shutil

    snapshots = folder / "snapshots"
    for path in sorted(snapshots.rglob("*"), key=lambda p: len(p.parts), reverse=True) if snapshots.is_dir() else ():
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    for ref in (folder / "refs").rglob("*") if (folder / "refs").is_dir() else ():
        if ref.is_file() and not (snapshots / ref.read_text().strip()).is_dir():
            ref.unlink()
    blobs = folder / "blobs"
    left = [p for p in blobs.iterdir() if not p.name.endswith(".incomplete")] if blobs.is_dir() else []
    if not (snapshots.is_dir() and any(snapshots.iterdir())) and (own or not left):
        shutil.rmtree(folder, ignore_errors=True)


def remove(entry: ModelEntry, others: Iterable[ModelEntry]) -> int:
    """Delete the model's downloaded files that no other model here still uses; the bytes freed.

    Its own repo goes revision by revision (huggingface_hub's delete_revisions, which keeps blobs
    that a revision it does not delete shares), with its partial downloads; from repos it shares
    (the fast tier's LoRAs, the tiny decoder, the camera LoRAs, a checkpoint) only its own files go
    (delete_files).
    Whatever another model on this disk needs stays: a model counts as on this disk once anything
    of its own repo or checkpoint is here.
    """
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    if entry.engine not in DOWNLOADED or entry.local_path:
        raise ModelError(f"{entry.name} has no downloaded files to remove")
    if local_state(entry).state == NOT_DOWNLOADED:
        raise ModelError(f"{entry.name} is not downloaded: there is nothing to remove")
    try:
        cache = scan_cache_dir(cache_root())
    except CacheNotFound:
        raise ModelError(f"{entry.name} is not downloaded: there is nothing to remove") from None
    cached = {repo.repo_id: repo for repo in cache.repos if repo.repo_type == "model"}

    def commit(repo: str, revision: str | None) -> str | None:
        info = cached.get(repo)
        if info is None:
            return None
        if revision is None:
            return info.refs["main"].commit_hash if "main" in info.refs else None
        return revision

    keep_whole: set[tuple[str, str | None]] = set()
    keep_files: set[tuple[str, str | None, str]] = set()
    for other in others:
        if other.id == entry.id or other.engine not in DOWNLOADED or other.local_path or not _own_bytes(other):
            continue
        for holding in _holdings(other):
            at = commit(holding.repo, holding.revision)
            if holding.files is None:
                keep_whole.add((holding.repo, at))
            else:
                keep_files.update((holding.repo, at, name) for name in holding.files)

    folders = list(dict.fromkeys(repo_folder(holding.repo) for holding in _holdings(entry)))
    before = sum(_folder_bytes(folder) for folder in folders)
    revisions, files = [], []
    for holding in _holdings(entry):
        info = cached.get(holding.repo)
        folder = repo_folder(holding.repo)
        if holding.files is None and (holding.repo, commit(holding.repo, holding.revision)) not in keep_whole:
            for partial in (folder / "blobs").glob("*.incomplete"):  # its interrupted downloads
                partial.unlink(missing_ok=True)
        if info is None:
            continue
        if holding.files is None:  # the model's own repo: every revision no other model pins
            for rev in info.revisions:
                if (holding.repo, rev.commit_hash) in keep_whole:
                    continue
                shared = {name for repo, at, name in keep_files if repo == holding.repo and at == rev.commit_hash}
                if shared:
                    files += [f for f in rev.files if _relative(f, rev) not in shared]
                else:
                    revisions.append(rev.commit_hash)
            continue
        at = commit(holding.repo, holding.revision)
        if (holding.repo, at) in keep_whole:
            continue
        for rev in info.revisions:
            if rev.commit_hash == at:
                files += [f for f in rev.files if _relative(f, rev) in holding.files
                          and (holding.repo, at, _relative(f, rev)) not in keep_files]
    if revisions:
        cache.delete_revisions(*revisions).execute()
    if files:
        cache.delete_files(*files).execute()
    own = {repo_folder(h.repo) for h in _holdings(entry) if h.files is None
           and (h.repo, commit(h.repo, h.revision)) not in keep_whole}
    for folder in folders:
        if folder.is_dir():
            _tidy(folder, folder in own)
    return before - sum(_folder_bytes(folder) for folder in folders if folder.is_dir())


def _relative(file, revision) -> str:  # (CachedFileInfo, CachedRevisionInfo) -> the file's path in the repo
    return file.file_path.relative_to(revision.snapshot_path).as_posix()
