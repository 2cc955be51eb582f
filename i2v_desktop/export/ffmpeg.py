"""Running the ffmpeg binary that imageio-ffmpeg ships: finding it, naming files to it, feeding it
raw frames, and turning what it says on failure into one line for the user.

ffmpeg dies with the process that started it. On Linux the child asks the kernel for SIGKILL when
its parent goes (prctl PR_SET_PDEATHSIG): a render killed with `kill -9` no longer leaves an
ffmpeg behind that finishes a clip from the frames it had. Elsewhere (macOS, Windows) there is no
such request; there ffmpeg reads end of file on its stdin when the parent dies, finishes its
temporary part and exits, and the part, never committed, is removed by the next start.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import ExportError, InputError, os_reason

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

# Causes that ffmpeg reports in its own words, as the user should read them.
_FFMPEG_CAUSES = (
    ("no space left on device", "no space left on device"),
    ("disk quota exceeded", "disk quota exceeded"),
    ("file too large", "the file is too large for this disk's file system"),
    ("read-only file system", "the disk is read-only"),
    ("permission denied", "permission denied"),
)
# ffmpeg lines that only repeat that something failed earlier.
_FFMPEG_NOISE = re.compile(
    r"^(conversion failed|nothing was written|task finished with error|terminating thread with"
    r"|could not open encoder before eof|error sending frames to consumers|error opening output files?"
    r"|error while filtering|error closing)",
    re.IGNORECASE,
)
_FFMPEG_PREFIX = re.compile(r"^(?:\[[^\]]*\]\s*)+|^x264 \[\w+\]:\s*")

NO_WINDOW = getattr(subprocess, "CREATE_NO_WINDOW", 0)  # no console window flashing up on Windows
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _prctl() -> Any:
    """Linux's prctl from libc, ready to call; None elsewhere (or where libc cannot be found)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # libc, already loaded in this process
    except (OSError, AttributeError):
        return None
    prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)
    return prctl


_PRCTL = _prctl()


def child_options() -> dict[str, Any]:
    """subprocess options for an ffmpeg child: no console window, and, on Linux, killed when this
    process dies."""
    options: dict[str, Any] = {"creationflags": NO_WINDOW}
    if _PRCTL is None:
        return options
    prctl, parent = _PRCTL, os.getpid()

    def die_with_parent() -> None:
        # Runs in the child between fork and exec: one prepared C call and plain os functions.
        # The signal follows the thread that started the child; ours all wait for ffmpeg to end.
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request was made
            os.kill(os.getpid(), signal.SIGKILL)

    options["preexec_fn"] = die_with_parent
    return options


def read_with_ffmpeg(command: Sequence[str], path: Path) -> subprocess.CompletedProcess[bytes]:
    """Run an ffmpeg that reads `path` and writes to its stdout; (stdout, stderr) in bytes.
    One line naming the file when ffmpeg cannot be started."""
    try:
        return subprocess.run(list(command), stdin=subprocess.DEVNULL, capture_output=True, check=False,
                              **child_options())
    except OSError as exc:
        raise InputError(f"{path}: cannot run ffmpeg ({os_reason(exc)})") from None


PIPE_BYTES = 1 << 20  # Linux's default ceiling for an unprivileged process (fs/pipe-max-size)


def widen_pipe(pipe: Any) -> None:
    """Give a pipe of frames 1 MB of buffer instead of the default 64 KB, where the system lets us:
    a 1080×1920 frame then crosses in 6 writes, not 95, each a wake-up of the reader. For 72 such
    frames this halves what the pipe costs (0.6 against 0.25 processor seconds, 6,800 against 430
    context switches, timed with ffmpeg reading into its null muxer)."""
    setter = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if setter is None:  # not Linux
        return
    with contextlib.suppress(OSError):  # a lower ceiling, or not a pipe: the default stays
        fcntl.fcntl(pipe.fileno(), setter, PIPE_BYTES)


def run_ffmpeg(command: Sequence[str], frames: Iterable[np.ndarray], path: Path) -> None:
    """Run an ffmpeg command that reads raw frames on stdin, writing each of `frames` to it.

    Frames must be C-contiguous arrays in the layout the command declares. A failure of ffmpeg is
    an ExportError naming `path` (the file the user asked for, not the temporary one) with one
    line of reason; an exception from `frames` itself (a cancel, Ctrl+C) propagates unchanged
    after ffmpeg is stopped.
    """
    try:
        proc = subprocess.Popen(
            list(command),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            **child_options(),
        )
    except OSError as exc:
        raise ExportError(f"{path}: cannot run ffmpeg ({os_reason(exc)})") from None
    assert proc.stdin is not None and proc.stderr is not None
    widen_pipe(proc.stdin)
    # Drained on a thread: a chatty ffmpeg would otherwise fill the pipe and stall while we write.
    stderr: deque[str] = deque(maxlen=200)
    drain = threading.Thread(target=_drain, args=(proc.stderr, stderr), daemon=True)
    drain.start()
    stopped_reading = False
    try:
        for frame in frames:  # an exception from the caller's frame source propagates unchanged
            try:
                proc.stdin.write(frame.data)
            except OSError:  # ffmpeg stopped reading: it has exited, and its stderr says why
                stopped_reading = True
                break
        _close_quietly(proc.stdin)
        returncode = proc.wait()
    except BaseException:
        proc.kill()
        raise
    finally:
        _close_quietly(proc.stdin)
        proc.wait()
        drain.join()
        proc.stderr.close()
    if returncode != 0 or stopped_reading:
        raise ExportError(f"{path}: {_ffmpeg_reason(list(stderr), returncode)}")


def _drain(pipe: Any, lines: deque[str]) -> None:
    for raw in pipe:
        lines.append(raw.decode("utf-8", errors="replace").rstrip())


def known_cause(lines: list[str]) -> str | None:
    text = "\n".join(lines).lower()
    for needle, reason in _FFMPEG_CAUSES:
        if needle in text:
            return reason
    return None


def _ffmpeg_reason(lines: list[str], returncode: int) -> str:
    """One line for the user: the signal that killed ffmpeg, a cause we recognise, else ffmpeg's
    first real error line."""
    if returncode < 0:  # POSIX: killed by a signal (the out-of-memory killer's SIGKILL, a user's kill)
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"ffmpeg was killed by {name}"
    cause = known_cause(lines)
    if cause:
        return cause
    for line in lines:
        line = _FFMPEG_PREFIX.sub("", line).strip()
        if line and not _FFMPEG_NOISE.match(line):
            return f"ffmpeg failed: {line}"
    return "ffmpeg failed without saying why"


def ffmpeg_exe(path: Path) -> str:
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError) as exc:
        raise ExportError(f"{path}: ffmpeg is not available ({exc})") from None


def ffmpeg_url(path: Path) -> str:
    # The file: prefix stops ffmpeg from reading "name:..." as a protocol or "-name" as an option.
    return "file:" + os.path.abspath(path)


def _close_quietly(pipe: Any) -> None:
    with contextlib.suppress(OSError):  # flushing into a pipe whose reader has gone
        pipe.close()
