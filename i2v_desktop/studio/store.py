"""Where a batch's files live: a folder on this machine (a shared mount on a cluster), or an fsspec
URL ("s3://bucket/catalogue", "gs://…", "file:///…") where that storage's backend is installed.

Files are published whole: a local file goes in under a hidden temporary name and is renamed into
place; an object store writes an object whole or not at all. Nobody looking at the folder ever
sees half a clip under its final name.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from ..core import durable
from ..core.batch import results_header
from ..core.errors import I2VError, InputError
from ..core.image import SUPPORTED_EXTENSIONS

PART_PREFIX = ".i2v-part-"  # a file on its way in; one left by a killed run is removed at the next start
STAGING = ".i2v-staging"  # where workers writing into a local folder make their files first


def is_url(location: str) -> bool:
    """An fsspec URL ("s3://…"), as opposed to a path on this machine (Windows' "C:\\" included)."""
    scheme, sep, _ = location.partition("://")
    return bool(sep) and len(scheme) > 1 and scheme.replace("+", "").replace("-", "").isalnum()


class Store:
    """A folder or an fsspec URL, and the few things a batch does there."""

    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/") if is_url(root) else str(Path(root).expanduser().absolute())
        self.url = is_url(root)
        self._fs = None
        if self.url:
            try:
                import fsspec  # only where the batch names a URL
            except ImportError:
                raise I2VError(f"{root}: storage URLs need fsspec (pip install 'i2v_desktop[cluster]')") from None
            try:
                self._fs, self._path = fsspec.core.url_to_fs(self.root)
            except (ImportError, ValueError) as exc:
                raise I2VError(f"{root}: this storage is not available here ({_first(exc)})") from None

    def location(self, name: str) -> str:
        """Where `name` (relative to the root) is, as a path or a URL."""
        return posixpath.join(self.root, name) if self.url else str(Path(self.root) / name)

    # -- reading ----------------------------------------------------------------------------

    def read_text(self, name: str = "") -> str:
        """The text of a file ("" names the root itself); InputError naming it when it cannot be read."""
        where = self.location(name) if name else self.root
        try:
            if self.url:
                with self._fs.open(self._full(name), "rb") as file:
                    data = file.read()
            else:
                data = Path(where).read_bytes()
        except FileNotFoundError:
            raise InputError(f"{where}: not found") from None
        except (OSError, ValueError) as exc:
            raise InputError(f"{where}: cannot be read ({_first(exc)})") from None
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(f"{where}: not UTF-8 text") from None

    def exists(self, name: str = "") -> bool:
        try:
            return self._fs.exists(self._full(name)) if self.url else Path(self.location(name) if name else self.root).exists()
        except OSError:
            return False

    def is_folder(self) -> bool:
        try:
            return self._fs.isdir(self._path) if self.url else Path(self.root).is_dir()
        except OSError:
            return False

    def images(self) -> list[str]:
        """The photos directly in the root folder, by name, as locations."""
        if self.url:
            names = [posixpath.basename(p) for p in self._fs.ls(self._path, detail=False)]
        else:
            names = [entry.name for entry in os.scandir(self.root) if entry.is_file()]
        return [self.location(name) for name in sorted(names, key=str.lower)
                if name.lower().endswith(SUPPORTED_EXTENSIONS) and not name.startswith(".")]

    def fetch(self, location: str, folder: Path) -> Path:
        """A local copy of a file at `location` (a path is used where it is; a URL is copied into
        `folder` under its own name)."""
        if not is_url(location):
            return Path(location)
        import fsspec

        target = folder / posixpath.basename(location.rstrip("/"))
        try:
            fs, path = fsspec.core.url_to_fs(location)
            fs.get(path, str(target))
        except FileNotFoundError:
            raise InputError(f"{location}: not found") from None
        except (OSError, ValueError, ImportError) as exc:
            raise InputError(f"{location}: cannot be read ({_first(exc)})") from None
        return target

    # -- writing ----------------------------------------------------------------------------

    def make(self) -> None:
        """Create the root folder; I2VError naming it when that cannot be done."""
        try:
            if self.url:
                self._fs.makedirs(self._path, exist_ok=True)
            else:
                Path(self.root).mkdir(parents=True, exist_ok=True)
                if not os.access(self.root, os.W_OK):
                    raise I2VError(f"{self.root}: folder is not writable")
        except OSError as exc:
            raise I2VError(f"{self.root}: cannot create the output folder ({_first(exc)})") from None

    def staging(self) -> Path:
        """A new empty folder for a worker's files before they are published: inside a local root
        (a rename publishes them), in the system's temporary folder for a URL. The caller removes it."""
        if self.url:
            return Path(tempfile.mkdtemp(prefix="i2v-batch-"))
        folder = Path(self.root) / STAGING / uuid.uuid4().hex
        folder.mkdir(parents=True)
        return folder

    def publish(self, local: Path, name: str) -> str:
        """Put a finished local file in as `name`, replacing an earlier one (the same row made
        again), whole or not at all; its location."""
        where = self.location(name)
        if self.url:
            self._fs.put_file(str(local), self._full(name))
            return where
        target = Path(where)
        part = target.with_name(f"{PART_PREFIX}{uuid.uuid4().hex[:8]}-{target.name}")
        try:
            if local.stat().st_dev == target.parent.stat().st_dev:
                durable.fsync_file(local)  # the data on disk before the name points at it
                os.replace(local, target)
            else:
                shutil.copyfile(local, part)
                durable.fsync_file(part)
                os.replace(part, target)
            durable.fsync_folder(target.parent)  # the rename itself survives a power cut
        finally:
            part.unlink(missing_ok=True)
        return where

    def tidy(self) -> int:
        """Remove what killed runs left in a local root (staging folders, files half copied in); the
        number removed. Call it with no worker running."""
        if self.url:
            return 0
        root, removed = Path(self.root), 0
        if (root / STAGING).exists():
            shutil.rmtree(root / STAGING, ignore_errors=True)
            removed += 1
        for path in root.glob(f"{PART_PREFIX}*"):
            path.unlink(missing_ok=True)
            removed += 1
        return removed

    def _full(self, name: str) -> str:
        return posixpath.join(self._path, name) if name else self._path


class ResultsFile:
    """The results file, written as rows end: appended and flushed to disk line by line in a folder;
    on object storage (which cannot append) the whole object is written again every few seconds
    and at the end."""

    REWRITE_S = 5.0

    def __init__(self, store: Store, name: str) -> None:
        self.store, self.name = store, name
        self.location = store.location(name)
        # The lines as parts, joined only when the whole text is needed: a catalogue of 100,000 rows
        # must not copy its results once per row.
        self._parts = [store.read_text(name)] if store.exists(name) else []
        self._written = time.monotonic()
        self._dirty = False
        if not store.url and self._parts and self._parts[0] and not self._parts[0].endswith("\n"):
            # A kill cut the last line short: end it, so the next one starts on its own line.
            self._append("\n")
        if not any(self._parts):
            self._append(results_header())
            if not store.url:
                durable.fsync_folder(Path(self.location).parent)  # the new file's name, on disk

    @property
    def text(self) -> str:
        """Everything the file held when opened, and what was added since."""
        return "".join(self._parts)

    def add(self, line: str) -> None:
        self._append(line)

    def flush(self) -> None:
        if self.store.url and self._dirty:
            with tempfile.TemporaryDirectory(prefix="i2v-results-") as folder:
                local = Path(folder) / self.name
                local.write_text(self.text, encoding="utf-8")
                self.store.publish(local, self.name)
            self._dirty, self._written = False, time.monotonic()

    def _append(self, line: str) -> None:
        self._parts.append(line)
        if self.store.url:
            self._dirty = True
            if time.monotonic() - self._written >= self.REWRITE_S:
                self.flush()
            return
        try:
            with open(self.location, "a", encoding="utf-8") as file:
                file.write(line)
            durable.fsync_file(Path(self.location))  # each row on disk as it ends
        except OSError as exc:
            raise I2VError(f"{self.location}: cannot write the results ({_first(exc)})") from None


def _first(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
