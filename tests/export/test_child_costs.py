"""What starting ffmpeg costs the process that renders: the clip's memory is not write-protected
by the fork, and the frames' pipe is wide."""

from __future__ import annotations

import mmap
import resource
import subprocess
import sys

import numpy as np
import pytest

from i2v_desktop.core.clip import frame_buffer
from i2v_desktop.export import ffmpeg

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork, madvise and pipe sizes are Linux's")
PAGE = resource.getpagesize()


def _faults_writing(frames: np.ndarray) -> int:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    frames[...] = 7
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@linux
def test_starting_ffmpeg_leaves_the_clips_memory_writable_without_faults() -> None:
    frames = frame_buffer(8, 720, 1280)  # 22 MB, its pages made at once
    pages = frames.nbytes // PAGE
    assert ffmpeg.child_options().get("preexec_fn") is not None  # the child is forked, not spawned
    subprocess.run([sys.executable, "-c", "pass"], check=True, **ffmpeg.child_options())
    # A fork write-protects every private page it shares: each would fault again on its first write.
    assert _faults_writing(frames) < pages // 20

    # For comparison, the same memory without the advice (in 4 KB pages, so that each page's
    # copy-on-write is one fault): the fork does cost these faults.
    memory = mmap.mmap(-1, frames.nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | mmap.MAP_POPULATE)
    memory.madvise(mmap.MADV_NOHUGEPAGE)
    plain = np.frombuffer(memory, np.uint8)
    plain[...] = 1
    subprocess.run([sys.executable, "-c", "pass"], check=True, **ffmpeg.child_options())
    assert _faults_writing(plain) > pages // 2


@linux
def test_the_frames_pipe_is_widened_to_a_megabyte() -> None:
    import fcntl

    with subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.buffer.read()"],
                          stdin=subprocess.PIPE) as proc:
        assert proc.stdin is not None
        default = fcntl.fcntl(proc.stdin.fileno(), fcntl.F_GETPIPE_SZ)
        ffmpeg.widen_pipe(proc.stdin)
        widened = fcntl.fcntl(proc.stdin.fileno(), fcntl.F_GETPIPE_SZ)
        proc.stdin.close()
    assert default < ffmpeg.PIPE_BYTES == widened


def test_a_pipe_that_cannot_be_widened_is_left_as_it_is(tmp_path) -> None:
    with open(tmp_path / "not-a-pipe", "wb") as file:
        ffmpeg.widen_pipe(file)  # no error: the default stays
