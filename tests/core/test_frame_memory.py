"""A clip's memory is made at once, ahead of the render, without stopping the other threads."""

from __future__ import annotations

import mmap
import os
import resource
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from i2v_desktop.core.clip import frame_buffer, populate

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel's populate advice is Linux's")
PAGE = mmap.PAGESIZE


def faults_writing(memory: np.ndarray) -> int:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    memory[::PAGE] = 7
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@linux
@pytest.mark.parametrize("shared", [False, True], ids=["private", "shared file"])
def test_populated_memory_is_written_without_faults(tmp_path: Path, shared: bool) -> None:
    size = 64 << 20
    if shared:  # the window's render process: the clip in a shared-memory file
        folder = Path("/dev/shm") if Path("/dev/shm").is_dir() else tmp_path
        path = folder / f"i2v-test-{os.getpid()}"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.ftruncate(fd, size)
            memory = mmap.mmap(fd, size, flags=mmap.MAP_SHARED)
        finally:
            os.close(fd)
            path.unlink()
    else:
        memory = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        memory.madvise(mmap.MADV_NOHUGEPAGE)  # one fault per 4 KB page when not populated
    populate(memory)
    pages = size // PAGE
    assert faults_writing(np.frombuffer(memory, np.uint8)) < pages // 20


@linux
def test_a_clip_claimed_on_another_thread_lets_this_one_run() -> None:
    # Python's MAP_POPULATE held the GIL for the whole 0.2 s a 450 MB clip takes to clear: the
    # thread building the scene stood still meanwhile.
    done = threading.Event()

    def claim() -> None:
        frame_buffer(72, 1920, 1080)
        done.set()

    thread = threading.Thread(target=claim)
    last = time.perf_counter()
    longest = 0.0
    thread.start()
    while not done.is_set():
        now = time.perf_counter()
        longest, last = max(longest, now - last), now
    thread.join()
    assert longest < 0.1, f"this thread stood still for {longest:.3f} s"


def test_an_empty_clip_needs_no_pages() -> None:
    assert frame_buffer(0, 4, 4).shape == (0, 4, 4, 3)
