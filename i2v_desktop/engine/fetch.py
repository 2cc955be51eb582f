"""A model's download into the Hugging Face cache: one byte count over all its files, resumable.

huggingface_hub 2.x writes each file to a temporary name of its own and deletes it when the
download fails or is interrupted, so a paused 30 GB model would start again from zero. Here each
file is fetched into the cache's own layout instead (`blobs/<etag>.incomplete`, renamed to
`blobs/<etag>` once complete, under huggingface_hub's own lock for that blob), continuing with a
Range request from where the last attempt stopped, also after a restart. huggingface_hub then
links the finished blobs into the pinned snapshot itself (its download functions find the blob
and only create the pointer and the tree listing), so the cache stays as its own tools expect it:
HF_HOME / HF_HUB_CACHE, HF_HUB_OFFLINE and the token from `hf auth login` or HF_TOKEN all apply.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.cancel import CancelToken
from ..core.errors import Cancelled, ModelError, WeightsMissingError
from ..core.studio import Transfer
from .hub import cache_root, repo_folder
from .registry import ModelEntry

SPARE_BYTES = 2_000_000_000  # free space kept beyond the download: the disk must not end up full
WORKERS = 4  # files fetched at once
REPORT_EVERY_S = 0.1  # at most ten progress calls a second: a window repaints on each
RETRIES = 3  # a connection dropped mid-file is taken up again this many times


@dataclass(frozen=True)
class Part:
    """One file of a model: where it comes from and whether the cache already has it."""

    repo: str
    revision: str  # the commit it is pinned at
    filename: str
    size: int
    cached: bool
    etag: str = ""  # the blob's name in the cache (only known for what is still to fetch)

    @property
    def partial(self) -> Path:
        """What an interrupted download left of it (huggingface_hub's `.incomplete` convention)."""
        return repo_folder(self.repo) / "blobs" / f"{self.etag}.incomplete"

    def arrived(self) -> int:
        """Bytes of it already on this disk."""
        if self.cached:
            return self.size
        try:
            return min(self.partial.stat().st_size, self.size)
        except OSError:
            return 0


class TransferMeter:
    """Bytes done over a whole model, the speed over the last few seconds and the time left.

    Thread-safe: every download thread adds to it. Bytes that were on the disk before count as
    done but not toward the speed.
    """

    def __init__(self, total: int, done: int = 0, window_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.window_s, self._clock = total, window_s, clock
        self._lock = threading.Lock()
        self._done = done
        self._what = ""
        self._samples: deque[tuple[float, int]] = deque([(clock(), done)])

    def add(self, n: int, what: str = "") -> None:
        with self._lock:
            self._done += n
            self._what = what or self._what
            now = self._clock()
            self._samples.append((now, self._done))
            # Keep one sample older than the window, so the speed always spans the whole window.
            while len(self._samples) > 2 and self._samples[1][0] <= now - self.window_s:
                self._samples.popleft()

    def transfer(self) -> Transfer:
        with self._lock:
            (t0, d0), (t1, d1) = self._samples[0], self._samples[-1]
            done, what = self._done, self._what
        now = self._clock()
        span = max(now, t1) - t0
        speed = max(d1 - d0, 0) / span if span >= 0.5 else 0.0
        left = max(self.total - done, 0)
        eta = left / speed if speed > 0 else (0.0 if left == 0 else None)
        return Transfer(done, self.total, speed, eta, what)


# -- what a model consists of -------------------------------------------------------------------


def _snapshot_kwargs(entry: ModelEntry) -> dict[str, Any]:
    from .weights import _snapshot_kwargs as kwargs  # one definition of what a model's repo holds for us

    return kwargs(entry)


def _file_kwargs(entry: ModelEntry, extras: bool) -> list[dict[str, Any]]:
    """hf_hub_download keyword sets for the single files: the checkpoint, then (extras) the fast
    tier's LoRAs, the tiny decoder and the camera-control LoRAs made for the model."""
    files = []
    single = entry.single_file
    if single is not None and single.repo and not entry.local_path:
        files.append(dict(repo_id=single.repo, revision=single.revision, filename=single.file))
    if extras:
        for lora in entry.lora.files if entry.lora else ():
            files.append(dict(repo_id=lora.repo, revision=lora.revision, filename=lora.file))
        if entry.tiny_decoder is not None:
            tiny = entry.tiny_decoder
            files.append(dict(repo_id=tiny.repo, revision=tiny.revision, filename=tiny.file))
        for camera in entry.camera_loras:  # fetched with the model: a render never downloads one
            files.append(dict(repo_id=camera.repo, revision=camera.revision, filename=camera.file))
    return files


def _part(repo: str, revision: str | None, filename: str) -> Part:
    """The file as the cache has it, or its size, blob name and address from a HEAD request."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url, try_to_load_from_cache

    cached = try_to_load_from_cache(repo, filename, revision=revision)
    if isinstance(cached, str):
        commit = Path(cached).parent
        while commit.parent.name != "snapshots":
            commit = commit.parent
        return Part(repo, commit.name, filename, os.path.getsize(cached), True)
    meta = get_hf_file_metadata(hf_hub_url(repo, filename, revision=revision))
    if meta.etag is None or meta.commit_hash is None or meta.size is None:
        raise ModelError(f"huggingface.co/{repo}: {filename} has no size or version on the server")
    return Part(repo, meta.commit_hash, filename, meta.size, False, meta.etag)


def plan(entry: ModelEntry, extras: bool = True) -> list[Part]:
    """*Network.* Every file a download of `entry` fetches, and whether each is already here."""
    from huggingface_hub import HfApi
    from huggingface_hub.file_download import REGEX_COMMIT_HASH
    from huggingface_hub.hf_api import RepoFile
    from huggingface_hub.utils import filter_repo_objects

    jobs: list[tuple[str, str | None, str]] = []
    if entry.repo and not entry.local_path:  # a folder of the user's own: only its extras come from the hub
        kwargs = _snapshot_kwargs(entry)
        api = HfApi()
        commit = entry.revision
        if commit is None or not REGEX_COMMIT_HASH.fullmatch(commit):
            commit = api.repo_info(entry.repo, revision=commit).sha
        tree = [f for f in api.list_repo_tree(entry.repo, revision=commit, recursive=True) if isinstance(f, RepoFile)]
        wanted = set(filter_repo_objects(items=[f.path for f in tree], allow_patterns=kwargs["allow_patterns"],
                                         ignore_patterns=kwargs["ignore_patterns"]))
        jobs += [(entry.repo, commit, f.path) for f in tree if f.path in wanted]
    jobs += [(kw["repo_id"], kw["revision"], kw["filename"]) for kw in _file_kwargs(entry, extras)]
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="i2v-plan") as pool:  # a HEAD request each
        return list(pool.map(lambda job: _part(*job), jobs))


# -- the download ---------------------------------------------------------------------------------


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB"


def _existing(folder: Path) -> Path:
    """The folder, or its nearest ancestor that exists (the cache may not have been made yet)."""
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    return folder


def check_space(entry: ModelEntry, todo: int) -> None:
    """Refuse, in one line naming both figures and the folder, a download the disk cannot take."""
    folder = cache_root()
    spare = max(SPARE_BYTES, todo // 20)
    free = shutil.disk_usage(_existing(folder)).free
    if free < todo + spare:
        raise ModelError(
            f"{entry.name}: not enough disk space in {folder}: the download needs {_gb(todo)} more "
            f"(and {_gb(spare)} to spare), {_gb(free)} is free there"
        )


class _Quiet:
    """A stand-in for huggingface_hub's progress bars that shows nothing (the meter reports instead)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._iterable = args[0] if args else kwargs.get("iterable")
        self.n = kwargs.get("initial", 0) or 0
        self.total = kwargs.get("total", 0) or 0
        self.format_dict: dict[str, Any] = {}

    def __iter__(self):
        return iter(self._iterable or ())

    def __enter__(self) -> _Quiet:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: float | None = 1) -> None:
        self.n += n or 0

    def refresh(self, *args: Any, **kwargs: Any) -> None:
        return None

    close = set_description = set_description_str = set_postfix_str = refresh


def _fetch(part: Part, counted: int, meter: TransferMeter, report: Callable[[], None],
           halt: Callable[[], None]) -> None:
    """Fetch one file into `blobs/<etag>`, continuing what an earlier attempt left (`counted` of
    its bytes, already on the meter)."""
    import httpx2
    from huggingface_hub.utils import WeakFileLock

    folder = repo_folder(part.repo)
    blob = folder / "blobs" / part.etag
    blob.parent.mkdir(parents=True, exist_ok=True)
    # The same lock huggingface_hub takes for this blob: two downloads never append to one file.
    with WeakFileLock(cache_root() / ".locks" / folder.name / f"{part.etag}.lock"):
        if blob.exists():  # another file of the model has the same bytes (same etag): fetched once
            meter.add(part.size - counted, part.filename)
            return
        with part.partial.open("ab") as out:
            if out.tell() > part.size:  # not this file after all: start again
                meter.add(-counted, part.filename)
                out.truncate(0)
            for attempt in range(RETRIES + 1):
                before = out.tell()
                try:
                    _stream(part, out, meter, report, halt)
                    break
                except httpx2.TransportError:  # dropped mid-file: go on from where it stopped
                    if attempt == RETRIES or out.tell() == before:
                        raise
            if out.tell() != part.size:
                raise OSError(f"{part.filename} arrived with {out.tell()} bytes instead of {part.size}")
        os.replace(part.partial, blob)


def _stream(part: Part, out: Any, meter: TransferMeter, report: Callable[[], None], halt: Callable[[], None]) -> None:
    """Append the rest of the file to `out` (opened for appending) with a Range request."""
    from huggingface_hub import constants, get_hf_file_metadata, hf_hub_url
    from huggingface_hub.utils import build_hf_headers, hf_raise_for_status, http_stream_backoff

    resume = out.tell()
    if resume == part.size:
        return
    headers = build_hf_headers()  # the token huggingface_hub has (HF_TOKEN, `hf auth login`), if any
    headers["Accept-Encoding"] = "identity"  # byte offsets must be the file's own
    if resume:
        headers["Range"] = f"bytes={resume}-"
    # The address is asked for now, not when the download was planned: the hub's signed CDN
    # addresses expire, and a file may wait its turn for an hour behind the others.
    url = get_hf_file_metadata(hf_hub_url(part.repo, part.filename, revision=part.revision)).location
    with http_stream_backoff("GET", url, headers=headers, timeout=constants.HF_HUB_DOWNLOAD_TIMEOUT,
                             retry_on_exceptions=(), retry_on_status_codes=(408, 429)) as response:
        hf_raise_for_status(response)
        if resume and response.status_code != 206:  # the server sent the whole file: start again
            out.truncate(0)
            meter.add(-resume, part.filename)
        for chunk in response.iter_bytes():  # as it arrives: the meter and a cancel act at once
            halt()  # raises Cancelled: what arrived stays for the next call
            out.write(chunk)
            meter.add(len(chunk), part.filename)
            report()
    out.flush()


def _link(entry: ModelEntry, extras: bool) -> None:
    """Let huggingface_hub put the finished blobs into the pinned snapshots (nothing left to download)."""
    from huggingface_hub import hf_hub_download, snapshot_download

    if entry.repo and not entry.local_path:
        snapshot_download(tqdm_class=_Quiet, **_snapshot_kwargs(entry))  # type: ignore[arg-type]
    for kwargs in _file_kwargs(entry, extras):
        hf_hub_download(**kwargs)


def download(entry: ModelEntry, on_progress: Callable[[Transfer], object], cancel: CancelToken,
             extras: bool = True) -> list[Part]:
    """Fetch every file of `entry` that the cache lacks (with `extras`: its fast tier's LoRAs, its
    tiny decoder and its camera LoRAs too) and the parts it is made of.

    `on_progress` is called from the download threads (it must be thread-safe), at most ten times a
    second and once at the end. Cancelling raises Cancelled and keeps what arrived: the next call
    continues from there. Every failure is a ModelError in one line.
    """
    from huggingface_hub import is_offline_mode

    if _complete(entry, extras):  # nothing to fetch: no need of the network, offline or not
        return []
    if is_offline_mode():
        raise WeightsMissingError(
            f"{entry.name}: downloads are off on this machine (HF_HUB_OFFLINE is set); "
            f"unset it to fetch the model from huggingface.co/{entry.repo}"
        )
    return _transfer(entry, lambda: plan(entry, extras), on_progress, cancel, lambda: _link(entry, extras))


def download_files(entry: ModelEntry, files: list[dict[str, Any]], on_progress: Callable[[Transfer], object],
                   cancel: CancelToken) -> list[Path]:
    """Fetch single files of `entry` (hf_hub_download keyword sets, e.g. its fast tier's LoRAs) the
    same resumable way as a whole model; their paths in the cache, in the order given."""
    from huggingface_hub import hf_hub_download

    def parts() -> list[Part]:
        return [_part(kw["repo_id"], kw["revision"], kw["filename"]) for kw in files]

    paths: list[Path] = []  # huggingface_hub links each finished blob into its snapshot
    _transfer(entry, parts, on_progress, cancel, lambda: paths.extend(Path(hf_hub_download(**kw)) for kw in files))
    return paths


def _transfer(entry: ModelEntry, make_parts: Callable[[], list[Part]], on_progress: Callable[[Transfer], object],
              cancel: CancelToken, link: Callable[[], object]) -> list[Part]:
    """Fetch the parts `make_parts` names that the cache lacks, on a few threads, with progress and
    cancel (see `download`), then `link` them into place."""
    try:
        parts = make_parts()
        todo = [part for part in parts if not part.cached]
        arrived = [part.arrived() for part in parts]
        meter = TransferMeter(sum(p.size for p in parts), sum(arrived))
        counted = {part: done for part, done in zip(parts, arrived)}
        check_space(entry, sum({(p.repo, p.etag): p.size - counted[p] for p in todo}.values()))
        stop = threading.Event()  # one file failed: the others stop too
        last = [0.0]
        lock = threading.Lock()

        def report(force: bool = False) -> None:
            with lock:  # the calls never overlap, whichever thread makes them
                now = time.monotonic()
                if not force and now - last[0] < REPORT_EVERY_S:
                    return
                last[0] = now
                on_progress(meter.transfer())

        def halt() -> None:
            if cancel.cancelled or stop.is_set():
                raise Cancelled()

        def fetch(part: Part) -> None:
            try:
                halt()  # a file still waiting its turn does not start after a cancel
                _fetch(part, counted[part], meter, report, halt)
            except BaseException:
                stop.set()
                raise

        report(force=True)
        if todo:
            # Every thread has ended when the pool's block ends, also after a cancel or a failure.
            with ThreadPoolExecutor(max_workers=min(WORKERS, len(todo)), thread_name_prefix="i2v-download") as pool:
                futures = [pool.submit(fetch, part) for part in todo]
            for future in futures:  # the first real failure, else a cancel
                error = future.exception()
                if error is not None and not isinstance(error, Cancelled):
                    raise error
            cancel.raise_if_cancelled()
        link()
        report(force=True)
        return parts
    except (Cancelled, ModelError):
        raise
    except Exception as exc:  # the hub's answers, the network, the disk: one line each
        raise _one_line(entry, exc) from None




def _complete(entry: ModelEntry, extras: bool) -> bool:
    """Whether every file a download would fetch is here already (no network)."""
    from .weights import camera_loras_downloaded, is_downloaded, loras_downloaded, tiny_decoder_file

    if not is_downloaded(entry):
        return False
    tiny_here = entry.tiny_decoder is None or tiny_decoder_file(entry) is not None
    return not extras or (loras_downloaded(entry) and tiny_here and camera_loras_downloaded(entry))


def _one_line(entry: ModelEntry, exc: Exception) -> ModelError:
    import httpx2
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError

    repo = getattr(exc, "repo_id", None) or entry.repo
    if isinstance(exc, GatedRepoError):
        return ModelError(
            f"{entry.name}: huggingface.co/{repo} is gated: accept its terms on https://huggingface.co/{repo} "
            f"while logged in there, then log in here with `hf auth login` (or `huggingface-cli login`) "
            f"or set HF_TOKEN"
        )
    if isinstance(exc, RepositoryNotFoundError):
        return ModelError(f"{entry.name}: huggingface.co/{repo} does not exist or is private (log in with "
                          f"`hf auth login` if you have access)")
    if isinstance(exc, RevisionNotFoundError):
        return ModelError(f"{entry.name}: huggingface.co/{repo} no longer has the version this app pins")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, HfHubHTTPError):
        return ModelError(f"{entry.name}: huggingface.co/{repo} answered {first}; "
                          f"what arrived is kept, try again later")
    if isinstance(exc, httpx2.HTTPError):
        return ModelError(f"{entry.name}: cannot reach huggingface.co ({first}); what arrived is kept, "
                          f"check the connection and download again")
    if isinstance(exc, OSError):
        return ModelError(f"{entry.name}: the download failed on this disk ({first})")
    return ModelError(f"{entry.name}: the download failed ({type(exc).__name__}: {first})")
