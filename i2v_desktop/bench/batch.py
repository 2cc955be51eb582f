"""The batch benchmark (scripts/batch_bench.py): how fast `i2v batch` goes, and what the scheduler
itself costs per row.

Two kinds of run, both through the real `run_batch` into a fresh folder (so the results file,
written and synced line by line, is part of the cost):

- instant rows: real renders of the sample photos with the instant engine (the BatchWorker a
  batch runs), on 1 and 2 workers: the throughput a user gets and the speed-up a second worker
  brings on this machine;
- sleep rows: a `SleepWorker` that only waits, so that what is left of a row's wall time beyond
  the wait is the scheduling itself (submit, collect, the results line), and so that many
  simulated workers can run on a machine with few cores (they wait, they do not compute).

A run's steady rate is taken between its first and its last result: starting the workers
(spawning processes, creating actors, loading a model) is shown apart, as "start s", because it
is paid once per batch, not per row.

Ray is imported only when a Ray run is asked for (`ray_pool`, `ray_session`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from ..core.batch import DONE, BatchPlan, BatchRow, RowResult, keyed
from ..core.cancel import CancelToken
from ..core.request import GenerationRequest
from ..core.resources import resource_path
from ..studio.batch import BatchWorker, Pool, Task, Worker, run_batch, worker_name

INSTANT_PRESETS = ("push-in", "orbit", "wind")  # a camera move, a turn with parallax, motion in the scene
INSTANT_MODEL = "instant"


class SleepWorker:
    """A worker whose every row takes `seconds` of waiting and makes no file: it stands in for an
    engine, so that a batch's own cost shows. Picklable and importable by any worker process."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def do(self, task: Task) -> RowResult:
        row, started = task.row, time.perf_counter()
        time.sleep(self.seconds)
        return RowResult(row.row, row.name, row.photo, DONE, seconds=time.perf_counter() - started,
                         worker=worker_name(), key=row.key)


def sleep_plan(rows: int) -> BatchPlan:
    """`rows` distinct rows for a SleepWorker: instant-engine requests of photos that need not exist
    (the worker never opens them), each with its own name and key, as a manifest would give."""
    made = tuple(keyed(BatchRow(n, f"row-{n:05d}", GenerationRequest(image=f"/catalogue/sku-{n:05d}.jpg",
                                                                     model=INSTANT_MODEL, seed=n)))
                 for n in range(1, rows + 1))
    return BatchPlan("sleep rows", made)


def samples() -> list[Path]:
    folder = resource_path("samples")
    return sorted(folder.glob("*.jpg"))


def instant_plan(rows: int, duration: float, quality: str, aspect: str = "9:16") -> BatchPlan:
    """`rows` instant-engine rows: each sample photo with each of INSTANT_PRESETS in turn (4 photos
    x 3 presets for 12 rows), at the default aspect."""
    photos = samples()
    pairs = [(photo, preset) for preset in INSTANT_PRESETS for photo in photos]
    made = []
    for n in range(1, rows + 1):
        photo, preset = pairs[(n - 1) % len(pairs)]
        request = GenerationRequest(image=str(photo), preset=preset, duration=duration, aspect=aspect,
                                    quality=quality, model=INSTANT_MODEL, seed=n)
        made.append(keyed(BatchRow(n, f"{photo.stem}_{preset}_{n}", request)))
    return BatchPlan("sample photos", tuple(made))


def instant_worker() -> Callable[[], Worker]:
    """The BatchWorker a batch of instant rows runs, on the built-in presets and models only (the
    benchmark must not depend on this machine's user files)."""
    from ..studio.process import EngineSettings

    return partial(BatchWorker, EngineSettings(None, None, "cpu"))


@dataclass(frozen=True)
class Run:
    """One batch run, timed."""

    label: str  # "local", "ray"
    work: str  # what each row does: "instant 2 s 9:16 standard", "sleep 20 ms"
    workers: int
    rows: int
    done: int
    wall_s: float  # run_batch from call to return (workers started and stopped included)
    steady_s: float  # from the first result to the last
    sleep_s: float | None = None  # what each row waits (sleep runs); None: real renders

    @property
    def rate(self) -> float:
        """Rows per second over the whole run."""
        return self.rows / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def steady_rate(self) -> float:
        """Rows per second once every worker runs (the first row's end to the last's)."""
        return (self.rows - 1) / self.steady_s if self.rows > 1 and self.steady_s > 0 else self.rate

    @property
    def start_s(self) -> float:
        """What the run spent besides its steady stretch: starting workers, the first row, closing."""
        return self.wall_s - self.steady_s

    @property
    def cost_ms(self) -> float | None:
        """Scheduling cost per row: the time between results beyond what the workers' waits
        explain (sleep / workers); on 1 worker, a row's wall time minus its sleep. None for real
        renders (their work is not known apart from the scheduling)."""
        if self.sleep_s is None or self.steady_rate <= 0:
            return None
        return 1000 * (1 / self.steady_rate - self.sleep_s / self.workers)


def measure(plan: BatchPlan, pool: Pool, make_worker: Callable[[], Worker], workers: int, label: str,
            work: str, sleep_s: float | None = None, say: Callable[[str], object] = print) -> Run:
    """Run `plan` on `pool` with `workers` workers into a fresh folder, and time it. A row that did
    not end done is said in its one line (a benchmark of failing rows measures nothing)."""
    ended: list[float] = []
    out = tempfile.mkdtemp(prefix="i2v-batch-bench-")
    try:
        report = run_batch(plan, out, lambda _result: ended.append(time.perf_counter()), CancelToken(), pool,
                           make_worker, gpu=False, workers=workers)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    for result in report.failed[:5]:
        say(f"  {result.line()}")
    if len(report.failed) > 5:
        say(f"  … and {len(report.failed) - 5} more rows not done")
    steady = ended[-1] - ended[0] if len(ended) > 1 else report.seconds
    return Run(label, work, workers, len(plan.rows), report.done, report.seconds, steady, sleep_s)


def speedups(runs: Sequence[Run]) -> list[tuple[Run, float | None]]:
    """Each run with its speed-up over the 1-worker run of the same pool and work (None when there
    is none): steady rates for sleep rows, whole-run rates for instant rows (a dozen renders have
    no steady stretch worth the name, and a user waits for the whole run)."""
    base = {(run.label, run.work): run for run in runs if run.workers == 1}
    paired = []
    for run in runs:
        one = base.get((run.label, run.work))
        if one is None:
            paired.append((run, None))
        elif run.sleep_s is not None:
            paired.append((run, run.steady_rate / one.steady_rate))
        else:
            paired.append((run, run.rate / one.rate))
    return paired


def table(runs: Sequence[Run]) -> str:
    """The runs as a Markdown table (printed, and pasted into the README as is)."""
    lines = ["| pool | work | workers | rows | done | wall s | start s | rows/s | rows/min | cost ms/row "
             "| speed-up | efficiency |",
             "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for run, gain in speedups(runs):
        rate = run.steady_rate if run.sleep_s is not None else run.rate
        cost = f"{run.cost_ms:.2f}" if run.cost_ms is not None else "-"
        gain_text = f"{gain:.2f}x" if gain is not None else "-"
        efficiency = f"{100 * gain / run.workers:.0f} %" if gain is not None else "-"
        lines.append(f"| {run.label} | {run.work} | {run.workers} | {run.rows} | {run.done} | {run.wall_s:.1f} "
                     f"| {run.start_s:.1f} | {rate:.2f} | {rate * 60:.0f} | {cost} | {gain_text} | {efficiency} |")
    return "\n".join(lines)


def summary(runs: Sequence[Run]) -> list[str]:
    """The ratios the table holds, one line each: what more workers bring, what a row costs the
    scheduler, and Ray against local processes on the same work."""
    lines = []
    for run, gain in speedups(runs):
        if gain is not None and run.workers > 1:
            lines.append(f"{run.label}, {run.work}: {run.workers} workers give {gain:.2f}x the rows/s of 1 "
                         f"({100 * gain / run.workers:.0f} % efficiency)")
    for run in runs:
        if run.workers == 1 and run.cost_ms is not None:
            lines.append(f"{run.label}, {run.work}: scheduling cost {run.cost_ms:.2f} ms per row on 1 worker "
                         f"({run.rows} rows in {run.steady_s:.1f} s, {run.rows * run.sleep_s:.1f} s of it sleeping)")
    local = {(run.work, run.workers): run for run in runs if run.label == "local"}
    for run in runs:
        twin = local.get((run.work, run.workers))
        if run.label != "local" and twin is not None:
            mine = run.rate if run.sleep_s is None else run.steady_rate
            theirs = twin.rate if twin.sleep_s is None else twin.steady_rate
            lines.append(f"{run.label} / local, {run.work} on {run.workers} worker(s): {mine / theirs:.2f}x the rows/s")
    return lines


# -- the runs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchConfig:
    """What a benchmark run does (the script's options)."""

    instant_rows: int = 12  # the 4 sample photos x 3 presets
    duration: float = 2.0
    quality: str = "standard"  # the default: 1080x1920 at 9:16
    aspect: str = "9:16"
    workers: tuple[int, ...] = (1, 2)  # instant rows, and sleep rows on LocalPool
    sleep_rows: int = 10_000
    sleep_ms: float = 20.0
    actors: tuple[int, ...] = (1, 2, 4, 8)  # sleep rows on Ray: simulated workers
    instant: bool = True
    sleep: bool = True
    ray: bool = True  # when Ray is importable


# A run that checks the benchmark itself in well under a minute: a few small renders, 40 short sleeps.
QUICK = BenchConfig(instant_rows=2, duration=0.5, quality="draft", aspect="1:1", sleep_rows=40, sleep_ms=5.0,
                    actors=(1, 2))


def bench(config: BenchConfig, say: Callable[[str], object] = print) -> list[Run]:
    """Every run `config` asks for: instant rows then sleep rows, on LocalPool and (when asked and
    importable) on a Ray instance on this machine."""
    use_ray = config.ray and ray_available()
    if config.ray and not use_ray:
        say("ray (or i2v_desktop.studio.cluster) is not importable: the Ray runs are left out")
    runs: list[Run] = []
    if config.instant:
        runs += instant_runs([("local", local_pool)], config.workers, config, say)
        if use_ray:
            with ray_session(max(config.workers)):
                runs += instant_runs([("ray", ray_pool)], config.workers, config, say)
    if config.sleep:
        sleep_s = config.sleep_ms / 1000
        runs += sleep_runs([("local", local_pool)], config.workers, config.sleep_rows, sleep_s, say)
        if use_ray:
            with ray_session(max(config.actors)):
                runs += sleep_runs([("ray", ray_pool)], config.actors, config.sleep_rows, sleep_s, say)
    return runs


def local_pool() -> Pool:
    from ..studio.pool import LocalPool

    return LocalPool()


def instant_runs(pools: Sequence[tuple[str, Callable[[], Pool]]], counts: Sequence[int], config: BenchConfig,
                 say: Callable[[str], object] = print) -> list[Run]:
    plan = instant_plan(config.instant_rows, config.duration, config.quality, config.aspect)
    work = f"instant {config.duration:g} s {config.aspect} {config.quality}"
    runs = []
    for label, make_pool in pools:
        for workers in counts:
            say(f"{label}: {len(plan.rows)} rows of {work} on {workers} worker(s)…")
            runs.append(measure(plan, make_pool(), instant_worker(), workers, label, work, say=say))
    return runs


def sleep_runs(pools: Sequence[tuple[str, Callable[[], Pool]]], counts: Sequence[int], rows: int, sleep_s: float,
               say: Callable[[str], object] = print) -> list[Run]:
    plan, runs, work = sleep_plan(rows), [], f"sleep {sleep_s * 1000:g} ms"
    for label, make_pool in pools:
        for workers in counts:
            say(f"{label}: {rows} rows of {work} on {workers} worker(s)…")
            runs.append(measure(plan, make_pool(), partial(SleepWorker, sleep_s), workers, label, work, sleep_s, say))
    return runs


def ray_available() -> bool:
    """Whether ray and our Ray pool can be imported here (found, not imported: importing ray is slow)."""
    try:
        return importlib.util.find_spec("ray") is not None and \
            importlib.util.find_spec("i2v_desktop.studio.cluster") is not None
    except (ImportError, ValueError):
        return False


@contextlib.contextmanager
def ray_session(cpus: int) -> Iterator[None]:
    """A Ray instance on this machine with `cpus` logical CPUs (for sleep workers, more than the
    cores: they wait), shut down at the end. Its worker processes import this checkout's package,
    whatever another install of it says."""
    import ray

    root = str(Path(__file__).resolve().parents[2])
    before = os.environ.get("PYTHONPATH")
    paths = [root, *(p for p in (before or "").split(os.pathsep) if p and p != root)]
    # The local instance's processes inherit the environment ray.init sees.
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    try:
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, logging_level="warning")
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before
    try:
        yield
    finally:
        ray.shutdown()


def ray_pool() -> Pool:
    from ..studio.cluster import RayPool

    return RayPool(None)  # the instance ray_session started


__all__ = [
    "INSTANT_PRESETS", "QUICK", "BenchConfig", "Run", "SleepWorker", "bench", "instant_plan", "instant_runs",
    "instant_worker", "local_pool", "measure", "ray_available", "ray_pool", "ray_session", "sleep_plan", "sleep_runs",
    "speedups", "summary", "table",
]
