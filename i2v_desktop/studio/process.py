"""Renders in a process of their own, behind the same call as in this one.

The window's engine thread calls `RenderProcess.render`; a child process started with spawn (never
fork: the parent holds Qt and threads) keeps its engines, and so a loaded model, from job to job.
The closed event stream comes back over a pipe. Arrays (previews, a finished clip's frames) cross
through shared memory, one block per array, never pickled (a clip's sound, a few megabytes at
most, crosses pickled with its event). A child that dies (a segfault, a CUDA error, the OS
killing it) fails its job in one line, and the next job starts a fresh child.

Shared-memory blocks are named after the child and numbered in the order they are sent, so the
parent, which frees every block it reads, also knows the one a dying child may have made but not
sent, and frees that too.
"""

from __future__ import annotations

import atexit
import logging
import mmap
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from multiprocessing import resource_tracker, shared_memory
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.cancel import CancelToken
from ..core.clip import Audio, Clip, populate
from ..core.errors import Cancelled as CancelledError
from ..core.errors import I2VError, first_line
from ..core.events import Event, Finished, Preview, StepProgress
from ..core.record import ClipRecord
from ..core.request import GenerationRequest

if TYPE_CHECKING:
    from .render import Engines, Output

log = logging.getLogger(__name__)

POLL_S = 0.02  # how often the waiting parent looks at the job's cancel token
STOP_S = 5.0  # how long a child gets to end by itself before it is ended
CANCEL_GRACE_S = 60.0  # a child that has not stopped this long after a cancel is stuck: it is ended
NICE = 10  # how much lower the render process's CPU priority is than the window's
# Tests make the child die mid-render: "exit:STEP" (os._exit(3)) or "segv:STEP" (SIGSEGV) at that
# step. Read in the parent for every job and sent along, so a running child sees a change.
CRASH_VARIABLE = "I2V_RENDER_CRASH"
SHM_FOLDER = Path("/dev/shm")  # where Linux keeps shared memory as files


@dataclass(frozen=True)
class EngineSettings:
    """What the child needs to make the same engines as this process would (picklable)."""

    presets_dir: Path | None = None  # the user's motion presets
    models_file: Path | None = None  # the user's model entries
    device: str | None = None
    offload: str = "auto"
    speed: str = "auto"


def make_engines(settings: EngineSettings) -> Engines:
    """The engines another process makes from `settings`: the same as this process has."""
    from ..core.presets import load_presets
    from ..engine.registry import load_registry
    from .render import Engines

    return Engines(load_registry(user_file=settings.models_file), load_presets(settings.presets_dir),
                   settings.device, settings.offload, settings.speed)


@dataclass(frozen=True)
class Rendered:
    """One clip the child has saved: its files, its record, and its frames for playback."""

    mp4: Path
    sidecar: Path
    record: ClipRecord
    frames: np.ndarray  # (T, H, W, 3) uint8, read-only
    fps: float


class RenderProcessDied(I2VError):
    """The render process ended in the middle of a job."""


# -- arrays through shared memory -----------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """An array waiting in a shared-memory block; `seq` numbers a child's blocks in sending order."""

    seq: int
    name: str
    shape: tuple[int, ...]
    dtype: str


def block_name(pid: int, seq: int | str) -> str:
    return f"i2v_{pid}_{seq}"  # short: macOS allows 31 characters


# A clip rendered straight into shared memory has a block of its own, made before the previews
# that are sent while it renders: it is not numbered in sending order (seq -1) and is named apart.
UNNUMBERED = -1


def _room_for(nbytes: int) -> bool:
    """Whether /dev/shm can hold nbytes more: writing past a full tmpfs kills the writer (SIGBUS).
    Containers often give it 64 MB. Where there is no /dev/shm (macOS), the system decides."""
    try:
        stat = os.statvfs(SHM_FOLDER)
    except OSError:
        return True
    return stat.f_bavail * stat.f_frsize >= nbytes + (64 << 20)


def park(array: np.ndarray, pid: int, seq: int) -> Block | None:
    """Copy an array into a new block (the child's side); None when shared memory has no room."""
    if not _room_for(array.nbytes):
        return None
    name = block_name(pid, seq)
    try:
        block = shared_memory.SharedMemory(name=name, create=True, size=max(1, array.nbytes))
    except FileExistsError:  # left by an earlier process with this id whose parent was killed
        discard(name)
        block = shared_memory.SharedMemory(name=name, create=True, size=max(1, array.nbytes))
    try:
        view = np.ndarray(array.shape, array.dtype, buffer=block.buf)
        view[...] = array
        del view  # the block cannot close while an array still points into it
    finally:
        block.close()
    return Block(seq, block.name, tuple(array.shape), array.dtype.str)


def take(block: Block) -> np.ndarray:
    """The array in a block, read-only, and the block's name freed (the parent's side).

    Where shared memory is a file (Linux's /dev/shm) the array maps that memory itself and the
    system frees it with the array's last reference: a finished 1080p clip (hundreds of MB) is not
    copied a second time. Elsewhere the array is copied out and the block freed at once."""
    path = SHM_FOLDER / block.name
    if path.is_file():
        with open(path, "rb") as file:
            memory = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        path.unlink()  # the name goes now; the mapping stays valid until the array is dropped
        # The block was registered (by the child, with the tracker it shares with us) when it was
        # made: it is freed, so the tracker must not try again at exit.
        resource_tracker.unregister(f"/{block.name}", "shared_memory")
        count = int(np.prod(block.shape, dtype=np.int64))
        return np.frombuffer(memory, np.dtype(block.dtype), count=count).reshape(block.shape)
    shm = shared_memory.SharedMemory(name=block.name)
    try:
        view = np.ndarray(block.shape, np.dtype(block.dtype), buffer=shm.buf)
        array = view.copy()
        del view
    finally:
        shm.close()
        shm.unlink()
    array.setflags(write=False)
    return array


def discard(name: str) -> bool:
    """Free a block that will never be read; False when there is none by that name."""
    try:
        shm = shared_memory.SharedMemory(name=name)
    except FileNotFoundError:
        return False
    shm.close()
    shm.unlink()
    return True


def encode(event: Event, park_array: Callable[[np.ndarray], Block | None], saved: np.ndarray | None,
           previewed: int = 0) -> tuple:
    """An event as it crosses the pipe: its arrays parked, the rest pickled as it is.

    A Finished clip whose frames were just sent with its saved files refers to them (None) rather
    than crossing twice; a preview with no room in shared memory is dropped (the step is kept).
    Of a preview that extends the last one, only the frames after the first `previewed` (those the
    other side has: see PreviewFrames) cross. The clip's sound crosses as (samples, rate) and is
    made an Audio again on the other side (an unpickled array is writable: the Audio makes it
    read-only)."""
    match event:
        case StepProgress(preview=Preview(frames=frames, fps=fps, extends=extends)):
            start = min(extends, previewed)
            return ("step", replace(event, preview=None), park_array(frames[start:]), fps, start)
        case Finished(clip=clip):
            block = None if clip.frames is saved else park_array(clip.frames)
            sound = None if clip.audio is None else (clip.audio.samples, clip.audio.rate)
            return ("finished", block, clip.fps, clip.request, clip.info, sound)
    return ("plain", event)


def decode(message: tuple, take_array: Callable[[Block], np.ndarray], saved: np.ndarray | None,
           previews: PreviewFrames | None = None) -> Event:
    """The event `encode` made `message` from; every block it names is read and freed. A preview
    that extends the last one is put together in `previews`."""
    match message:
        case ("step", event, block, fps, start):
            if block is None:
                return event
            frames = take_array(block)
            if previews is not None:
                frames = previews.add(start, frames)
            elif start:
                raise ValueError("a preview that extends the last one needs the frames before it")
            return replace(event, preview=Preview(frames, fps))
        case ("finished", block, fps, request, info, sound):
            audio = None if sound is None else Audio(np.array(sound[0], np.float32), sound[1])
            return Finished(Clip(saved if block is None else take_array(block), fps, request, info, audio))
        case ("plain", event):
            return event
    raise ValueError(f"not an encoded event: {message[0]!r}")


class PreviewFrames:
    """A render's preview frames as they arrive. A message brings a whole preview (start 0: a
    model's new look at the clip, shown as it came), or the frames after the `start` the window
    has already (the instant engine's growing preview). Those are put together in one buffer that
    grows only at its end (doubling when full), so a view handed out never changes."""

    def __init__(self) -> None:
        self._buffer: np.ndarray | None = None  # the taken array itself until a preview extends it
        self._count = 0

    def add(self, start: int, frames: np.ndarray) -> np.ndarray:
        if start == 0:
            self._buffer, self._count = frames, len(frames)
            return frames
        if self._buffer is None or start != self._count or self._buffer.shape[1:] != frames.shape[1:]:
            raise ValueError(f"a preview extends {start} frames, {self._count} of that size are here")
        count = start + len(frames)
        if count > len(self._buffer) or not self._buffer.flags.writeable:
            grown = np.empty((max(count, 2 * start), *frames.shape[1:]), frames.dtype)
            grown[:start] = self._buffer[:start]
            self._buffer = grown
        self._buffer[start:count] = frames
        self._count = count
        view = self._buffer[:count]
        view.setflags(write=False)
        return view


def _blocks(message: object) -> list[Block]:
    if isinstance(message, Block):
        return [message]
    if isinstance(message, tuple):
        return [block for item in message for block in _blocks(item)]
    return []


# -- the parent's side ----------------------------------------------------------------------------


class RenderProcess:
    """A render worker process, started on the first job and kept; the same call as an in-process render.

    `render` runs on one thread at a time (the engine thread); `close` may come from any thread.
    """

    def __init__(self, settings: EngineSettings | None = None) -> None:
        self.settings = settings or EngineSettings()
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()  # one job at a time; close waits for the job to end
        self._process: Any = None
        self._conn: Any = None
        self._flag: Any = None  # the child's cancel flag (a multiprocessing.Event)
        self._next_block = 0  # the first block number not yet read from this child
        self._saved: np.ndarray | None = None  # frames of the clip last saved in this job
        self._previews = PreviewFrames()  # the job's preview frames so far
        self._enhanced: str | None = None  # the text of the last prompt enhancement

    @property
    def pid(self) -> int | None:
        """The child's process id while one runs (it changes after a crash)."""
        return self._process.pid if self._process is not None and self._process.is_alive() else None

    def render(self, request: GenerationRequest, out_dir: Path, on_event: Callable[[Event], object],
               cancel: CancelToken, on_output: Callable[[Rendered], object]) -> None:
        """Render every variant of `request` into out_dir in the child. Events reach `on_event` and
        saved clips `on_output` on the calling thread, in order. Raises RenderProcessDied (one line)
        when the child dies; the next call starts a fresh one."""
        with self._lock:
            if self._process is None or not self._process.is_alive():
                self._stop()
                self._start()
            self._flag.clear()
            self._saved = None
            self._previews = PreviewFrames()
            try:
                self._conn.send((request, Path(out_dir), os.environ.get(CRASH_VARIABLE)))
            except OSError:
                raise self._died(request) from None
            try:
                error = self._follow(request, on_event, cancel, on_output)
            except (RenderProcessDied, CancelledError):
                raise
            except BaseException:
                # on_event or on_output failed here: stop the job and read it to its end, so no
                # block is left behind and the next job starts in step (a stuck child is ended).
                self._flag.set()
                try:
                    if self._process is not None:
                        self._follow(request, lambda event: None, CancelToken(self._flag),
                                     lambda output: None)
                except I2VError:
                    pass
                raise
            if error is not None:
                raise error

    def enhance(self, model: str, image: str, prompt: str, cancel: CancelToken) -> str:
        """The model's prompt enhancer's rewrite of `prompt` for the photo `image`, made in the child,
        where the model is loaded for rendering: the window never holds a second copy of a model
        of tens of GB. Raises what the child's enhancer raised, Cancelled included."""
        job = GenerationRequest(image=image, model=model)  # names the photo if the child dies
        with self._lock:
            if self._process is None or not self._process.is_alive():
                self._stop()
                self._start()
            self._flag.clear()
            self._saved = self._enhanced = None
            try:
                self._conn.send(("enhance", model, image, prompt))
            except OSError:
                raise self._died(job) from None
            error = self._follow(job, lambda event: None, cancel, lambda output: None)
            if error is not None:
                raise error
            if self._enhanced is None:
                raise I2VError(f"{Path(image).name}: the render process sent no enhanced prompt")
            return self._enhanced

    def close(self) -> None:
        """End the child: ask it, wait a little, then end it. A running job is cancelled first."""
        if self._flag is not None:
            self._flag.set()
        with self._lock:
            atexit.unregister(self.close)
            if self._process is None:
                return
            try:
                self._conn.send(None)
            except OSError:
                pass  # already gone
            self._stop()
            self._flag = None  # its semaphores are freed with it

    # -- inside ------------------------------------------------------------------------------

    def _start(self) -> None:
        ours, theirs = self._context.Pipe()
        self._flag = self._context.Event()
        level = logging.getLogger().getEffectiveLevel()
        self._process = self._context.Process(target=serve, args=(theirs, self._flag, self.settings, level),
                                              name="i2v render")
        started = time.perf_counter()
        self._process.start()
        theirs.close()  # only the child holds the sending end now: its death reads as end of file
        self._conn, self._next_block = ours, 0
        # Ends the child when the interpreter exits without close(), before multiprocessing's own
        # exit hook would wait for it (hooks run last registered first).
        atexit.register(self.close)
        log.info("render process %d started in %.2f s", self._process.pid, time.perf_counter() - started)

    def _follow(self, request: GenerationRequest, on_event: Callable[[Event], object], cancel: CancelToken,
                on_output: Callable[[Rendered], object]) -> I2VError | None:
        """Hand on the job's messages until it ends; returns the error the child reported."""
        cancelled_at: float | None = None
        while True:
            if cancelled_at is None and cancel.cancelled:
                self._flag.set()  # the child's token reads this flag at its next step
                cancelled_at = time.monotonic()
            if cancelled_at is not None and time.monotonic() - cancelled_at > CANCEL_GRACE_S:
                log.error("render process %d did not stop when cancelled; ending it", self._process.pid)
                self._stop()
                raise CancelledError()
            message = self._receive(request)
            if message is None:
                continue
            match message:
                case ("event", encoded):
                    on_event(decode(encoded, self._take, self._saved, self._previews))
                case ("output", mp4, sidecar, record, block, fps):
                    if block is None:  # no room in shared memory: the saved file has the frames
                        from ..export.mp4 import read_frames

                        frames = read_frames(mp4)[0]
                        frames.setflags(write=False)
                    else:
                        frames = self._take(block)
                    self._saved = frames
                    on_output(Rendered(mp4, sidecar, ClipRecord(record), frames, fps))
                case ("enhanced", text):
                    self._enhanced = text
                case ("done", error):
                    return error

    def _receive(self, request: GenerationRequest) -> tuple | None:
        """The child's next message, or None when it has said nothing for POLL_S."""
        try:
            # The pipe reads as ended once the child is gone, after whatever it sent before;
            # is_alive() covers a pipe that stays open without it.
            if not self._conn.poll(POLL_S):
                if self._process.is_alive() or self._conn.poll(0):
                    return None
                raise EOFError
            return self._conn.recv()
        except (EOFError, OSError):
            raise self._died(request) from None

    def _take(self, block: Block) -> np.ndarray:
        if block.seq != UNNUMBERED:
            self._next_block = block.seq + 1
        return take(block)

    def _died(self, request: GenerationRequest) -> RenderProcessDied:
        code = self._stop()
        how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        line = (f"{Path(request.image).name}: the render process stopped unexpectedly ({how}); "
                f"the next job starts a fresh one")
        log.error("%s", line)
        return RenderProcessDied(line)

    def _stop(self) -> int | None:
        """End the child if it still runs, free every block it left, forget it; its exit code."""
        process, conn = self._process, self._conn
        if process is None:
            return None
        process.join(STOP_S)
        for end in (process.terminate, process.kill):
            if process.is_alive():
                end()
                process.join(STOP_S)
        try:
            while conn.poll(0):  # sent but never read: free its blocks
                for block in _blocks(conn.recv()):
                    discard(block.name)
                    self._next_block = max(self._next_block, block.seq + 1)
        except Exception:  # EOFError, or a message cut short by the child's death
            pass
        conn.close()
        # A child dies between making a block and sending it at most once; and it may leave the
        # clip it was rendering into shared memory.
        discard(block_name(process.pid, self._next_block))
        for path in SHM_FOLDER.glob(f"{block_name(process.pid, 'c')}*") if SHM_FOLDER.is_dir() else ():
            discard(path.name)
        code = process.exitcode
        process.close()
        self._process = self._conn = None
        return code


# -- the child's side -----------------------------------------------------------------------------


def serve(conn: Any, flag: Any, settings: EngineSettings, level: int) -> None:
    """The render process's main: jobs in, messages out, until the parent says stop or goes away."""
    # Ctrl+C in a terminal reaches the whole process group; the window decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A stop (the parent ending a stuck child, a shutdown) unwinds like an exit: the clip being
    # encoded loses its temporary part and its ffmpeg, instead of leaving both behind.
    signal.signal(signal.SIGTERM, _stopped)
    if hasattr(os, "nice"):
        # The render gives way to the window: on a machine with few cores, a render at the same
        # priority (its encoder threads included) starves the window's event loop.
        os.nice(NICE)
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s (render process): %(message)s")
    child = _Child(conn, CancelToken(flag), settings)
    if SHM_FOLDER.is_dir():  # Linux: a clip rendered into shared memory reaches the window without a copy
        from ..core.clip import use_frame_allocator

        use_frame_allocator(child.allocate)
    try:
        while (job := conn.recv()) is not None:
            if job[0] == "enhance":
                conn.send(("done", child.enhance(*job[1:])))
            else:
                conn.send(("done", child.run(*job)))
    except (EOFError, BrokenPipeError):
        pass  # the parent is gone
    finally:
        if child.engines is not None:
            child.engines.close()


def _stopped(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


class _Child:
    def __init__(self, conn: Any, cancel: CancelToken, settings: EngineSettings) -> None:
        self.conn, self.cancel, self.settings = conn, cancel, settings
        self.engines: Any = None
        self.seq = 0
        self.saved: np.ndarray | None = None
        self.previewed = 0  # preview frames the window has from this job (see encode)
        self.clips: dict[str, np.ndarray] = {}  # clips of this job rendered into shared memory, not yet sent
        self.made = 0

    def run(self, request: GenerationRequest, out_dir: Path, crash: str | None) -> I2VError | None:
        """One job; returns the error that ended it, as the parent should raise it."""
        from .render import render_to_files

        self.saved = None
        self.previewed = 0

        def work() -> None:
            sink = self.send_event if not crash else self.crashing(crash)
            # out_dir is the history's: the clips' files may name the photo by its full path.
            render_to_files(self._engines().for_model(request.model), request, out_dir, sink, self.cancel,
                            on_saved=self.send_output, private=True)

        try:
            return self._guarded(request.image, work)
        finally:
            for name in self.clips:  # never sent (a cancel, a failure): nobody else will free them
                discard(name)
            self.clips.clear()

    def allocate(self, shape: tuple[int, int, int, int]) -> np.ndarray | None:
        """A clip's frames in a new shared-memory block (None, for ordinary memory, when there is
        no room): when the clip is sent, the window maps this very memory."""
        size = int(np.prod(shape, dtype=np.int64))
        if size == 0 or not _room_for(size):
            return None
        name = block_name(os.getpid(), f"c{self.made}")
        self.made += 1
        fd = os.open(SHM_FOLDER / name, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.ftruncate(fd, size)
            memory = mmap.mmap(fd, size, flags=mmap.MAP_SHARED)
        finally:
            os.close(fd)
        populate(memory)
        # Registered as a SharedMemory block would be: the window's `take` unregisters it.
        resource_tracker.register(f"/{name}", "shared_memory")
        frames = np.frombuffer(memory, np.uint8).reshape(shape)
        self.clips[name] = frames
        return frames

    def enhance(self, model: str, image: str, prompt: str) -> I2VError | None:
        """One prompt enhancement on the engine renders use (its loaded model is reused)."""

        def work() -> None:
            self.conn.send(("enhanced", self._engines().enhance_prompt(model, image, prompt, self.cancel)))

        return self._guarded(image, work)

    def _engines(self) -> Any:
        if self.engines is None:  # kept from job to job: a loaded model stays loaded
            self.engines = make_engines(self.settings)
        return self.engines

    def _guarded(self, image: str, work: Callable[[], None]) -> I2VError | None:
        """Run a job; the error that ended it, as the parent should raise it (one line)."""
        try:
            work()
        except BrokenPipeError:
            raise
        except I2VError as exc:
            try:
                return pickle.loads(pickle.dumps(exc))
            except Exception:
                return I2VError(first_line(exc))
        except Exception as exc:
            log.exception("job on %s failed", image)
            return I2VError(f"{Path(image).name}: internal error ({type(exc).__name__}: {first_line(exc)})")
        return None

    def park(self, array: np.ndarray) -> Block | None:
        for name, frames in self.clips.items():
            if array is frames:  # already in shared memory: the window takes it as it is
                del self.clips[name]
                return Block(UNNUMBERED, name, tuple(array.shape), array.dtype.str)
        block = park(array, os.getpid(), self.seq)
        if block is not None:
            self.seq += 1
        return block

    def send_event(self, event: Event) -> None:
        message = encode(event, self.park, self.saved, self.previewed)
        if isinstance(event, StepProgress) and event.preview is not None:
            _, _, block, _, start = message
            # The window now has the whole preview or, dropped for want of room, its first frames.
            self.previewed = len(event.preview.frames) if block is not None else start
        self.conn.send(("event", message))

    def send_output(self, output: Output) -> None:
        from .records import make_record

        clip = output.clip
        self.saved = clip.frames
        record = make_record(clip, output.score).to_dict()  # plain data: it crosses pickled
        self.conn.send(("output", output.mp4, output.sidecar, record, self.park(clip.frames), clip.fps))

    def crashing(self, spec: str) -> Callable[[Event], None]:
        how, _, step = spec.partition(":")

        def sink(event: Event) -> None:
            if isinstance(event, StepProgress) and event.step == int(step):
                try:
                    import resource

                    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file from a deliberate crash
                except (ImportError, ValueError, OSError):
                    pass
                if how == "segv":
                    os.kill(os.getpid(), signal.SIGSEGV)
                os._exit(3)
            self.send_event(event)

        return sink
