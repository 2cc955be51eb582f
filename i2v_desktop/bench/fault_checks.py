"""What must hold on disk after a process is killed at any moment (see bench/faults.py).

Each check returns a list of `Violation`s, one per file or entry, each naming the file and why, so
a report can count them by kind and still show the user's view of each.

- A file under a final name (one that does not start with a dot) is whole: an MP4 or MOV decodes to
  its last frame, as many frames as its container says and as its sidecar claims; a .json parses;
  a thumbnail strip reads back.
- The history opens; every clip whose add returned is in it; every clip saved with its sidecar is
  in it, re-indexed and reported (a log line naming it) once if no add ever finished.
- A hidden temporary part left by the killed process is gone once the same command has started
  again.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..core.durable import PART_MARK
from ..storage.history import History, HistoryError, read_thumbnails

VIDEO_SUFFIXES = (".mp4", ".mov")

# The invariants, as the report names them.
HALF_FILE = "half file under a final name"
BAD_JSON = "unreadable .json under a final name"
FRAMES_CLAIMED = "metadata claims other frames than the clip has"
NO_SIDECAR = "clip without its sidecar"
HISTORY_LOAD = "history does not load"
LOST_ENTRY = "entry lost after its add returned"
ORPHAN_KEPT = "clip on disk not in the history"
ORPHAN_SILENT = "orphan re-indexed without a word"
ORPHAN_TWICE = "orphan reported more than once"
STALE_PART = "stale part kept after the next start"
FFMPEG_OUTLIVED = "ffmpeg outlived its killed parent"
RESTART_FAILED = "the next start failed"
FAILED_UNKILLED = "the command failed before any kill"
TRACEBACK = "traceback"


@dataclass(frozen=True)
class Violation:
    invariant: str
    detail: str

    def __str__(self) -> str:
        return f"{self.invariant}: {self.detail}"


def final_files(folder: Path) -> Iterator[Path]:
    """Every file under `folder` a user or the app would take as finished (no hidden parts)."""
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts):
            yield path


def parts(folders: Iterable[Path]) -> list[Path]:
    """The hidden temporary parts directly in `folders` (where writers put them: beside the file)."""
    found = []
    for folder in folders:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        found += [Path(folder) / name for name in names if name.startswith(".") and PART_MARK in name]
    return sorted(found)


def age(paths: Iterable[Path], seconds: float = 3600.0) -> None:
    """Make parts look as old as a killed writer's are by the time anyone starts again (a live
    writer touches its part continuously, so cleanup only takes parts untouched for a while)."""
    then = time.time() - seconds
    for path in paths:
        try:
            os.utime(path, (then, then))
        except FileNotFoundError:
            pass


def decoded_frames(path: Path) -> tuple[int, int]:
    """(frames decoded to the end, frames the container says). ValueError with the decoder's reason
    when the file does not open or breaks off. PyAV is the test extra's decoder: it reports the
    container's count, which ffmpeg's command line does not without ffprobe."""
    import av  # the test extra's decoder: only the harness needs it, so only here

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise ValueError("no video stream")
            stream = container.streams.video[0]
            claimed = int(stream.frames)
            count = sum(1 for _ in container.decode(stream))
    except av.FFmpegError as exc:
        raise ValueError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    return count, claimed


def claimed_frames(sidecar: Path) -> int | None:
    """The frame count a sidecar promises: a render's record (render.num_frames) or an export's
    (frames); None when it names none."""
    data = json.loads(sidecar.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        return None
    render = data.get("render")
    value = render.get("num_frames") if isinstance(render, dict) else data.get("frames")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def check_files(folder: Path) -> list[Violation]:
    """Every finished file under `folder` is whole (see the module's doc)."""
    found: list[Violation] = []
    for path in final_files(folder):
        name = path.name
        if name.endswith(".thumbs.npz"):
            try:
                read_thumbnails(path)
            except HistoryError as exc:
                found.append(Violation(HALF_FILE, str(exc)))
        elif path.suffix == ".json":
            try:
                json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, OSError) as exc:
                found.append(Violation(BAD_JSON, f"{path}: {exc}"))
        elif path.suffix in VIDEO_SUFFIXES:
            found += _check_video(path)
    return found


def _check_video(path: Path) -> list[Violation]:
    try:
        count, container = decoded_frames(path)
    except ValueError as exc:
        return [Violation(HALF_FILE, f"{path}: does not decode ({exc})")]
    if container and count != container:
        return [Violation(HALF_FILE, f"{path}: {count} frames decode, the container says {container}")]
    sidecar = path.with_suffix(".json")
    if not sidecar.is_file():
        return [Violation(NO_SIDECAR, f"{path}: no {sidecar.name} beside it")]
    try:
        claimed = claimed_frames(sidecar)
    except (ValueError, OSError):
        return []  # check_files reports the sidecar itself
    if claimed is not None and claimed != count:
        return [Violation(FRAMES_CLAIMED, f"{path}: {count} frames, {sidecar.name} claims {claimed}")]
    return []


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextmanager
def _said() -> Iterator[list[str]]:
    """The warnings the app logs meanwhile (where the history reports what it found on disk)."""
    handler = _Lines()
    logger = logging.getLogger("i2v_desktop")
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


@dataclass
class HistoryCheck:
    violations: list[Violation]
    entries: set[Path]
    lost: int = 0
    orphans: int = 0  # clips on disk with a sidecar whose add never returned


def clips_with_sidecars(root: Path) -> set[Path]:
    return {mp4.resolve() for mp4 in final_files(root / "clips")
            if mp4.suffix == ".mp4" and mp4.with_suffix(".json").is_file()}


def check_history(root: Path, acknowledged: Iterable[Path], held: Path | None = None) -> HistoryCheck:
    """Open the history twice, as two successive starts would, and check what it holds.

    `acknowledged`: the clips whose add returned before the kill (they must all be there).
    `held`: a clip whose files were saved and whose add was never called (it must be re-indexed
    and reported on the first start, and not again on the second)."""
    root = Path(root).resolve()
    acknowledged = {Path(path).resolve() for path in acknowledged}
    with _said() as first:
        try:
            entries = {entry.mp4.resolve() for entry in History(root).entries()}
        except Exception as exc:  # any failure to open is the finding; the report names it
            return HistoryCheck([Violation(HISTORY_LOAD, f"{root}: {type(exc).__name__}: {exc}")], set())
    with _said() as second:
        try:
            History(root)
        except Exception as exc:
            again = Violation(HISTORY_LOAD, f"{root} (opened again): {type(exc).__name__}: {exc}")
            return HistoryCheck([again], entries)
    found: list[Violation] = []
    lost = sorted(acknowledged - entries)
    found += [Violation(LOST_ENTRY, f"{path}: was added, is not in the history") for path in lost]
    on_disk = clips_with_sidecars(root)
    unacknowledged = on_disk - acknowledged
    for path in sorted(on_disk - entries):
        found.append(Violation(ORPHAN_KEPT, f"{path}: saved with its sidecar, not in the history"))
    for path in sorted(unacknowledged & entries):
        told_first = sum(path.name in line for line in first)
        told_again = sum(path.name in line for line in second)
        if path == held and told_first == 0:
            found.append(Violation(ORPHAN_SILENT, f"{path}: taken into the history without a word"))
        if told_first > 1 or told_again:
            found.append(Violation(ORPHAN_TWICE, f"{path}: reported {told_first + told_again} times"))
    return HistoryCheck(found, entries, lost=len(lost), orphans=len(unacknowledged))


def check_parts_gone(before: Iterable[Path]) -> list[Violation]:
    return [Violation(STALE_PART, f"{path}: still there") for path in before if path.exists()]


def check_output(text: str, where: str) -> list[Violation]:
    if "Traceback (most recent call last)" in text:
        last = [line for line in text.splitlines() if line.strip()][-1]
        return [Violation(TRACEBACK, f"{where}: {last.strip()}")]
    return []
