"""A rendered clip: frames in memory plus what produced them."""

from __future__ import annotations

import ctypes
import mmap
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Protocol

import numpy as np

from .request import GenerationRequest


def frozen_frames(frames: np.ndarray) -> np.ndarray:
    """Validate a (T, H, W, 3) uint8 array and make it read-only, so it can be shared across threads.

    The array is taken over, not copied (a 720p clip is hundreds of MB): the caller must not keep
    writing to it.
    """
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 1:
        raise ValueError(f"frames must be a (T, H, W, 3) uint8 array, got {frames.dtype} {frames.shape}")
    if frames.flags.writeable:
        frames.setflags(write=False)
    return frames


DONTFORK = getattr(mmap, "MADV_DONTFORK", 0)  # Linux only
MADV_POPULATE_WRITE = 23  # linux/mman.h, Linux 5.14 and later


def _libc_madvise() -> Any:
    """libc's madvise through ctypes, None where there is none (not Linux)."""
    if not DONTFORK:
        return None
    try:
        madvise = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    return madvise


_MADVISE = _libc_madvise()
POPULATE_STEP = 8 << 20


def populate(memory: mmap.mmap) -> None:
    """Make every page of a fresh mapping now, at half the cost of faulting them in one by one as
    they are first written (where the kernel can: Linux 5.14 and later; elsewhere they come as
    written). Python's MAP_POPULATE made the thread building the scene stand still for the 0.2 s
    a 450 MB clip takes: it holds the GIL, and the kernel holds the process's memory map, which
    every allocation of a large array waits for. Here ctypes lets go of the GIL, and the pages are
    made 8 MB at a time, so that another thread's allocation waits a few milliseconds at most."""
    if _MADVISE is None or len(memory) == 0:
        return
    view = ctypes.c_char.from_buffer(memory)
    address = ctypes.addressof(view)
    del view  # a live view would keep the mapping from ever being closed
    for offset in range(0, len(memory), POPULATE_STEP):
        if _MADVISE(address + offset, min(POPULATE_STEP, len(memory) - offset), MADV_POPULATE_WRITE) != 0:
            return  # not known to this kernel


FrameAllocator = Callable[[tuple[int, int, int, int]], "np.ndarray | None"]
_allocator: FrameAllocator | None = None


def frame_buffer(count: int, height: int, width: int) -> np.ndarray:
    """A writable (count, height, width, 3) uint8 array for an engine to render a clip into.

    From this process's frame allocator where one is set (see `use_frame_allocator`), else
    anonymous memory from the kernel, as numpy's own allocator would get it but without the
    huge-page advice numpy gives every large array: where the kernel compacts memory for huge
    pages on demand (a common default), first writes into a fresh 450 MB clip stall on that
    compaction and cost about three times as long as into plain pages. The pages are made at
    once (`populate`); a caller can do it on another thread, ahead of the render."""
    shape = (count, height, width, 3)
    if _allocator is not None and (frames := _allocator(shape)) is not None:
        return frames
    return _fresh_frames(shape)


def _fresh_frames(shape: tuple[int, int, int, int]) -> np.ndarray:
    """Anonymous, populated memory for frames of `shape`, not inherited by a fork (frame_buffer)."""
    size = shape[0] * shape[1] * shape[2] * shape[3]
    if size == 0 or not hasattr(mmap, "MAP_ANONYMOUS"):  # Windows: numpy's own allocator
        return np.empty(shape, np.uint8)
    memory = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    populate(memory)
    if DONTFORK:
        # The encoder is started with fork (it must set its parent-death signal before it runs),
        # and fork write-protects every private page for copy-on-write: each page of the clip then
        # faults again on its first write, as many faults as the populate saved. The encoder never
        # reads this memory (it gets the frames through a pipe), so the child does not inherit it.
        memory.madvise(DONTFORK)
    return np.frombuffer(memory, np.uint8).reshape(shape)


def use_frame_allocator(allocator: FrameAllocator | None) -> None:
    """Where `frame_buffer` takes a clip's memory from in this process (None: the default). The
    window's render process renders into shared memory, so that a finished clip reaches the
    window without being copied; the allocator may return None (no room there) for the default."""
    global _allocator
    _allocator = allocator


class FrameLender(Protocol):
    """Memory a sink lends an engine to render a clip's frames into, when the caller does not keep
    the clip (a command-line render, a batch): a few frames' worth, used in turn, instead of the
    whole clip's (450 MB for 3 s of 1080×1920, which the kernel would clear first)."""

    def lend(self, index: int) -> np.ndarray:
        """(height, width, 3) uint8 memory for frame `index`; the engine may wait here until the
        sink is done with the frame this memory held before."""


class FrameSink(Protocol):
    """Where an engine hands the frames of a clip as it makes them (an encoder that works while
    the engine renders). `begin` comes first, then every frame once, in order."""

    def begin(self, width: int, height: int, fps: float, count: int) -> FrameLender | None:
        """None, or memory to render the frames into: then the clip comes back without its frames
        (an engine that already has them all, a diffusion model's, hands them over as they are)."""

    def frame(self, index: int, frame: np.ndarray) -> None:
        """`frame` is (height, width, 3) uint8 and final: the engine never writes it again."""


class FrameRing:
    """A few frames' memory, lent in turn: frame i gets slot i mod `slots`. Each lent frame is read
    by `readers` (an encoder, a scorer), each of which calls `release(i)` once done with it; a slot
    is lent again only when every reader has released the frame it held."""

    def __init__(self, slots: int, height: int, width: int, readers: int) -> None:
        if slots < 1 or readers < 1:
            raise ValueError(f"a ring needs at least one slot and one reader, got {slots} and {readers}")
        self.frames = _fresh_frames((slots, height, width, 3))
        self._readers = readers
        self._unread = [0] * slots  # readers that still hold each slot's frame
        self._lent = -1  # the last frame lent: frames are lent in order
        self._released = threading.Condition()

    def lend(self, index: int, check: Callable[[], None] = lambda: None) -> np.ndarray:
        """Slot for frame `index` (frames come in order), once its readers are done with the frame
        it held. `check` is called while waiting, and may raise to stop the wait (a reader that
        died will never release)."""
        if index != self._lent + 1:
            raise ValueError(f"frame {index} was asked for when frame {self._lent + 1} was due")
        slot = index % len(self._unread)
        with self._released:
            while self._unread[slot]:
                check()
                self._released.wait(0.2)
            self._unread[slot] = self._readers
        self._lent = index
        return self.frames[slot]

    def release(self, index: int) -> None:
        """One reader is done with frame `index`."""
        slot = index % len(self._unread)
        with self._released:
            if self._unread[slot] == 0:
                raise ValueError(f"frame {index} released more often than it has readers")
            self._unread[slot] -= 1
            if self._unread[slot] == 0:
                self._released.notify_all()


@dataclass(frozen=True)
class RenderInfo:
    """What the engine actually did for a request, after snapping and defaults."""

    engine: str
    model: str
    width: int
    height: int
    num_frames: int
    fps: float
    steps: int
    guidance: float | None
    seed: int
    prompt: str
    negative_prompt: str
    device: str = ""
    elapsed_s: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)
    # The engine's speed switches for this clip (attention backend, compile, step cache, fp8, ...),
    # every one on or off; empty for engines that have none. Records written before this field
    # existed simply lack the key: readers take the "render" section as a plain dict.
    speed: dict[str, Any] = field(default_factory=dict)
    # The LoRAs the clip was rendered with, so a take can be made again: a camera LoRA's registry id
    # and strength, each of the user's files by name, sha256, strength and expert.
    loras: tuple[dict[str, Any], ...] = ()

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["notes"] = list(self.notes)
        data["loras"] = [dict(lora) for lora in self.loras]
        data["duration"] = round(self.duration, 4)
        return data


@dataclass(frozen=True)
class Audio:
    """Sound made with the picture: float32 samples in [-1, 1], one column per channel.

    Like a clip's frames, the array is taken over (made read-only), not copied."""

    samples: np.ndarray  # (n, channels) float32, read-only
    rate: int  # samples per second

    def __post_init__(self) -> None:
        samples = np.asarray(self.samples)
        if samples.ndim == 1:
            samples = samples[:, None]
        if samples.dtype != np.float32 or samples.ndim != 2 or not 1 <= samples.shape[1] <= 2 or not len(samples):
            raise ValueError(f"audio must be (n, 1 or 2) float32 samples, got {samples.dtype} {samples.shape}")
        if not isinstance(self.rate, int) or not 8000 <= self.rate <= 192000:
            raise ValueError(f"audio rate must be 8000..192000 Hz, got {self.rate!r}")
        if samples.flags.writeable:
            samples.setflags(write=False)
        object.__setattr__(self, "samples", samples)

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate


@dataclass(frozen=True)
class Clip:
    # (T, H, W, 3) uint8, read-only; None for a render whose frames went to its file as they were
    # made and were not kept (a sink lent the memory, see FrameLender): its size is in `info`.
    frames: np.ndarray | None
    fps: float
    request: GenerationRequest
    info: RenderInfo
    audio: Audio | None = None  # the model's sound for the clip, when the request asked for it

    def __post_init__(self) -> None:
        if self.frames is not None:
            object.__setattr__(self, "frames", frozen_frames(self.frames))

    @property
    def num_frames(self) -> int:
        return self.info.num_frames if self.frames is None else int(self.frames.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        if self.frames is None:
            return self.info.width, self.info.height
        return int(self.frames.shape[2]), int(self.frames.shape[1])

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps
