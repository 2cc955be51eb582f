"""The processes a killed command leaves behind (Linux /proc), for the fault harness.

When a process is killed, its children are handed to the nearest "subreaper" ancestor. The harness
makes itself one while it runs (`reaping`), so that an ffmpeg whose parent was killed becomes the
harness's child and its end can be observed: killed with its parent (a signal), or exited 0 after
finishing a clip nobody will ever commit, which is what item 11 of the issue describes.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..core.durable import PART_MARK

PR_SET_CHILD_SUBREAPER = 36


@contextlib.contextmanager
def reaping() -> Iterator[bool]:
    """This process adopts the orphans of its descendants meanwhile; yields whether it could
    (Linux only: elsewhere an orphan's end cannot be observed and that check is skipped)."""
    if not sys.platform.startswith("linux"):
        yield False
        return
    libc = ctypes.CDLL(None, use_errno=True)
    adopted = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    try:
        yield adopted
    finally:
        if adopted:
            libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


FED_BYTES = 256 * 1024  # more than any ffmpeg reads for itself at start: it has frames to encode


@dataclass(frozen=True)
class Proc:
    pid: int
    argv: tuple[str, ...]

    def fed(self) -> bool:
        """Whether it has read frames (an ffmpeg fed nothing yet only fails at end of input, with
        nothing to finish; one with frames finishes a clip unless it dies)."""
        try:
            text = Path(f"/proc/{self.pid}/io").read_text()
        except OSError:
            return False
        fields = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
        return int(fields.get("rchar", "0")) >= FED_BYTES

    @property
    def encoder(self) -> bool:
        """An ffmpeg writing a hidden part: the one that would finish a clip after its parent died."""
        return (bool(self.argv) and "ffmpeg" in Path(self.argv[0]).name
                and any(PART_MARK in arg for arg in self.argv[1:]))


def _parents() -> dict[int, int]:
    table: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()  # the command name may hold spaces and brackets
        table[int(name)] = int(fields[1])
    return table


def _argv(pid: int) -> tuple[str, ...]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ()
    return tuple(part.decode("utf-8", errors="replace") for part in raw.split(b"\0") if part)


def descendants(pid: int) -> list[Proc]:
    """Every live process below `pid`, nearest first; [] where there is no /proc."""
    if not os.path.isdir("/proc"):
        return []
    parents = _parents()
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return [Proc(child, _argv(child)) for child in found]


def children() -> set[int]:
    """This process's own children (its adopted orphans among them)."""
    if not os.path.isdir("/proc"):
        return set()
    me = os.getpid()
    return {child for child, parent in _parents().items() if parent == me}


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rfind(")") + 2 :].split()[0] != "Z"


@dataclass(frozen=True)
class End:
    """How an orphan ended: `code` (exit status) or `signal`; `overstayed` when it was still
    running after the wait and was killed here. All None: not adopted here, so unknown."""

    code: int | None = None
    signal: int | None = None
    overstayed: bool = False

    @property
    def finished(self) -> bool:
        """It went on to the end of its input (or was still going)."""
        return self.code == 0 or self.overstayed

    @property
    def killed(self) -> bool:
        """It died of a signal: the kernel's on its parent's death, or one ffmpeg caught and then
        stopped on (ffmpeg exits 255 after SIGTERM or SIGINT)."""
        return self.signal is not None or self.code == FFMPEG_SIGNALLED


FFMPEG_SIGNALLED = 255


def await_end(pid: int, timeout: float) -> End:
    """Wait for an adopted orphan to end (reaping it), killing it after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not adopted by us (no subreaper): watch it go, status unknown
            if not _alive(pid):
                return End()
            done, status = 0, 0
        if done:
            if os.WIFSIGNALED(status):
                return End(signal=os.WTERMSIG(status))
            return End(code=os.waitstatus_to_exitcode(status))
        if time.monotonic() >= deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            return End(overstayed=True)
        time.sleep(0.01)


def reap(pids: list[int], block: bool = False) -> None:
    """Reap those of `pids` (a killed command's descendants) that were adopted here and have ended;
    with `block`, end the adopted ones still running first (the command is over). No zombie is
    left, and no other process's status is taken from its owner."""
    mine = {child for child, parent in _parents().items() if parent == os.getpid()} if pids else set()
    for pid in pids:
        if pid not in mine:
            continue
        if _alive(pid):
            if not block:
                continue
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
