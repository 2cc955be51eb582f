"""A catalogue batch behind the Studio: read the manifest into rows, render the rows on a pool of
workers, write the results as they come.

The pool is where the rows run: `pool.LocalPool` (a process per GPU, or per core for the instant
engine, on this machine) or `cluster.RayPool` (an actor per GPU on a Ray cluster). Both run the
same `BatchWorker` on the same `Task`s, so a row gives the same files wherever it runs. The worker
is made by a picklable factory in each worker process and keeps its engines, and so a loaded
model, from row to row.

A worker that dies (a crash, a kill, a lost node) costs the row it was on, not the batch: the row
is tried again, up to MAX_ATTEMPTS times, and then reported failed with the reason. Each pool keeps
only a few rows in flight per worker, so 10,000 rows never sit in a queue or an object store at once.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from ..core.batch import (
    DONE, FAILED, INVALID, RESULTS_FILE, BadRow, BatchPlan, BatchReport, BatchRow, ManifestError, RowResult,
    export_ids, keyed, latest_results, manifest_items, manifest_kind, read_results, result_line, row_request,
    row_seed, safe_name, unique_names,
)
from ..core.cancel import CancelToken
from ..core.errors import I2VError, first_line
from ..core.events import Event, Failed
from ..core.request import GenerationRequest
from .store import ResultsFile, Store, is_url

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # a row whose worker died this many times is reported failed
# Tests make a worker process die as it starts a row: "ROW" on the row's first try, "ROW:always" on every try.
CRASH_VARIABLE = "I2V_BATCH_CRASH"
POLL_S = 0.2  # how often the scheduler looks at the cancel token while rows run


# -- reading a catalogue --------------------------------------------------------------------------


def read_plan(source: str, defaults: GenerationRequest, exports: Sequence[str], crf: int,
              check: Callable[[GenerationRequest], None], export_choices: set[str]) -> BatchPlan:
    """The rows of a manifest or a folder of photos (see `Studio.read_batch`). `check` refuses what
    a request's model or preset cannot make; `export_choices` are the export preset ids there are."""
    store = Store(source)
    if store.is_folder():
        photos = store.images()
        if not photos:
            raise ManifestError(f"{source}: no photos in this folder")
        items: list[tuple[int, dict | str]] = [(n, {"photo": photo}) for n, photo in enumerate(photos, start=1)]
        base = store.root
    else:
        name = source.rstrip("/").rsplit("/", 1)[-1]
        items = manifest_items(store.read_text(), manifest_kind(name), source)
        base = store.root.rsplit("/", 1)[0] if store.url else str(Path(store.root).resolve().parent)
    bad: list[BadRow] = []
    cells_of: list[tuple[int, dict, str]] = []
    for number, cells in items:
        if isinstance(cells, str):
            bad.append(BadRow(number, "", cells))
            continue
        photo = str(cells.get("photo", "")).strip()
        if not photo:
            bad.append(BadRow(number, "", "no photo"))
            continue
        cells_of.append((number, cells, _located(photo, base)))
    # Names first, from every row, so they do not depend on which rows are good.
    stems = [_stem(photo) for _, _, photo in cells_of]
    wanted = [safe_name(str(cells["name"])) if "name" in cells
              else stems[i] if stems.count(stems[i]) == 1
              else safe_name(f"{stems[i]}_{cells.get('preset', defaults.preset)}")
              for i, (_, cells, _) in enumerate(cells_of)]
    rows: list[BatchRow] = []
    for (number, cells, photo), name in zip(cells_of, unique_names(wanted)):
        shown = str(cells["photo"])
        try:
            if not is_url(photo) and not Path(photo).is_file():
                raise I2VError(f"{photo}: photo not found")
            request = row_request(cells, photo, replace(defaults, seed=row_seed(photo, name)))
            check(request)
            row_exports = export_ids(cells["exports"]) if "exports" in cells else tuple(exports)
            unknown = [e for e in row_exports if e not in export_choices]
            if unknown:
                raise I2VError(f"unknown export preset(s) {', '.join(unknown)} "
                               f"(choose from {', '.join(sorted(export_choices))})")
        except I2VError as exc:
            bad.append(BadRow(number, shown, _reason(exc)))
            continue
        rows.append(keyed(BatchRow(number, name, request, row_exports, crf)))
    return BatchPlan(source, tuple(rows), tuple(sorted(bad, key=lambda b: b.row)))


def _located(photo: str, base: str) -> str:
    """A photo as the manifest names it, made absolute against the manifest's own folder."""
    if is_url(photo):
        return photo
    if is_url(base):
        return photo if photo.startswith("/") else f"{base}/{photo}"
    path = Path(photo).expanduser()
    return str(path if path.is_absolute() else (Path(base) / path).resolve())


def _stem(photo: str) -> str:
    return safe_name(Path(photo.rstrip("/").rsplit("/", 1)[-1]).stem)


def _reason(exc: I2VError) -> str:
    """An error's line without a leading "request: " (the row already says where)."""
    text = first_line(exc)
    return text.removeprefix("request: ")


# -- a worker -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One row for a worker: where the batch's files go, and which try this is."""

    row: BatchRow
    out: str
    attempt: int = 1


class Worker(Protocol):
    def do(self, task: Task) -> RowResult: ...


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class BatchWorker:
    """Renders rows with engines it keeps from row to row (a loaded model stays loaded).

    Made in the worker process by `pool` from `settings`, the same engine settings a render
    process takes. A row's clips, sidecars and exports are made in a staging folder and published
    into the batch's output only when they are all there."""

    def __init__(self, settings) -> None:  # settings: process.EngineSettings
        self.settings = settings
        self._engines = None
        self._exports = None

    def do(self, task: Task) -> RowResult:
        row, started = task.row, time.perf_counter()
        crash, _, when = os.environ.get(CRASH_VARIABLE, "").partition(":")
        if crash == str(row.row) and (task.attempt == 1 or when == "always"):
            os._exit(3)
        try:
            clips, exports, scores, notes = self._render(task)
        except I2VError as exc:
            return self._result(task, FAILED, started, reason=first_line(exc))
        except Exception as exc:  # a bug must cost one row, not the batch: said, and logged whole
            log.exception("row %s (%s) failed", row.row, row.photo)
            return self._result(task, FAILED, started, reason=f"internal error: {type(exc).__name__}: {first_line(exc)}")
        return self._result(task, DONE, started, clips, exports, scores, "; ".join(notes))

    def _result(self, task: Task, status: str, started: float, clips=(), exports=(), scores=(),
                reason: str = "") -> RowResult:
        row = task.row
        return RowResult(row.row, row.name, row.photo, status, tuple(clips), tuple(exports), tuple(scores),
                         time.perf_counter() - started, reason, worker_name(), row.key)

    def _render(self, task: Task) -> tuple[list[str], list[str], list[float], list[str]]:
        from ..core.studio import ExportJob
        from .exports import export_many
        from .render import render_to_files

        row, store = task.row, Store(task.out)
        staging = store.staging()
        try:
            local = store.fetch(row.photo, staging) if is_url(row.photo) else Path(row.photo)
            request = replace(row.request, image=str(local))
            failures: list[str] = []

            def on_event(event: Event) -> None:
                if isinstance(event, Failed):
                    failures.append(event.reason)

            engine = self._engine_for(request.model)
            outputs = render_to_files(engine, request, staging, on_event, CancelToken(), crf=row.crf,
                                      name=row.name, photo=row.photo, keep_frames=False)
            if failures or len(outputs) < request.variants:
                raise I2VError(failures[0] if failures else f"{len(outputs)} of {request.variants} clips were made")
            notes = sorted({note for output in outputs for note in output.clip.info.notes})
            jobs = [ExportJob(output.mp4, preset, staging) for output in outputs for preset in row.exports]
            report = export_many(jobs, CancelToken(), library=self._export_library()) if jobs else None
            if report is not None and report.failed:
                raise I2VError(f"export failed: {report.failed[0]}")
            # Exports, then sidecars, then clips: a clip in the output is a row whose files are all there.
            exported = [store.publish(path, path.name) for path in (report.written if report else ())]
            for output in outputs:
                store.publish(output.sidecar, output.sidecar.name)
            clips = [store.publish(output.mp4, output.mp4.name) for output in outputs]
            scores = [round(output.score.overall * 100, 1) for output in outputs if output.score is not None]
            if len(scores) != len(clips):
                scores = []
            return clips, exported, scores, notes
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _engine_for(self, model: str):
        if self._engines is None:
            from .process import make_engines

            self._engines = make_engines(self.settings)
        return self._engines.for_model(model)

    def _export_library(self):
        if self._exports is None:
            from .catalog import user_exports

            self._exports = user_exports()
        return self._exports

    def close(self) -> None:
        if self._engines is not None:
            self._engines.close()


# -- the pool and the scheduler -------------------------------------------------------------------


class Pool(Protocol):
    """Workers that run Tasks: on this machine (`pool.LocalPool`) or a Ray cluster (`cluster.RayPool`)."""

    def open(self, make_worker: Callable[[], Worker], gpu: bool, workers: int | None, rows: int) -> int:
        """Start the workers (`gpu`: one per GPU; else one per core, or `workers` when given, never
        more than `rows`); how many there are."""

    def room(self) -> bool:
        """Whether another task may be submitted now (a few per worker at most)."""

    def submit(self, task: Task) -> None: ...

    def busy(self) -> int:
        """Tasks submitted and not yet collected."""

    def collect(self, timeout: float) -> list[tuple[Task, RowResult | str]]:
        """Tasks that ended within `timeout` seconds, each with its result, or with why its worker
        was lost (then the task did not finish, and may be submitted again)."""

    def close(self) -> None:
        """Stop every worker; running tasks end unfinished."""


def earlier_results(plan: BatchPlan, out: str) -> dict[int, RowResult]:
    """What an earlier run into `out` recorded for the plan's rows, by row number: the latest result
    under each row's key. A run skips the DONE ones; a row recorded done whose clips are no longer
    there (looked at in a folder, where looking is cheap) is reported FAILED with that reason."""
    store = Store(out)
    if not store.exists(RESULTS_FILE):
        return {}
    latest = latest_results(read_results(store.read_text(RESULTS_FILE)))
    found: dict[int, RowResult] = {}
    for row in plan.rows:
        result = latest.get(row.key)
        if result is None:
            continue
        if result.status == DONE and not store.url and not all(Path(clip).is_file() for clip in result.clips):
            result = replace(result, status=FAILED, reason="its clips were made, then removed")
        found[row.row] = replace(result, row=row.row)
    return found


def run_batch(plan: BatchPlan, out: str, on_result: Callable[[RowResult], object], cancel: CancelToken,
              pool: Pool, make_worker: Callable[[], Worker], gpu: bool, workers: int | None = None,
              on_start: Callable[[int], object] | None = None) -> BatchReport:
    """Render the plan's rows into `out` on `pool` (see `Studio.run_batch`)."""
    started = time.perf_counter()
    store = Store(out)
    store.make()
    tidied = store.tidy()
    if tidied:
        log.info("removed %d file(s) an interrupted run left in %s", tidied, out)
    earlier = earlier_results(plan, out)
    results_file = ResultsFile(store, RESULTS_FILE)
    results: list[RowResult] = []

    def record(result: RowResult) -> None:
        results_file.add(result_line(result))
        results.append(result)
        on_result(result)

    # A bad row is said on every run, and written once: the results file does not grow by it each time.
    written = {(r.row, r.photo, r.reason) for r in read_results(results_file.text) if r.status == INVALID}
    try:
        for bad in plan.bad:
            result = RowResult(bad.row, "", bad.photo, INVALID, reason=bad.reason)
            if (bad.row, bad.photo, bad.reason) in written:
                results.append(result)
                on_result(result)
            else:
                record(result)
        todo = [row for row in plan.rows if row.row not in earlier or earlier[row.row].status != DONE]
        skipped = len(plan.rows) - len(todo)
        # Rows of one model together: a worker keeps a model loaded, so it changes models rarely.
        order = {model: i for i, model in enumerate(dict.fromkeys(row.request.model for row in todo))}
        pending = deque(Task(row, out) for row in sorted(todo, key=lambda row: order[row.request.model]))
        if pending:
            pool.open(make_worker, gpu, workers, len(pending))
            try:
                _schedule(pending, pool, record, cancel, on_start or (lambda row: None))
            finally:
                pool.close()
                store.tidy()
    finally:
        results_file.flush()
    return BatchReport(tuple(results), skipped, cancel.cancelled, results_file.location,
                       time.perf_counter() - started)


def _schedule(pending: deque[Task], pool: Pool, record: Callable[[RowResult], None], cancel: CancelToken,
              on_start: Callable[[int], object]) -> None:
    while (pending or pool.busy()) and not cancel.cancelled:
        while pending and pool.room():
            task = pending.popleft()
            pool.submit(task)
            on_start(task.row.row)
        for task, outcome in pool.collect(POLL_S):
            if isinstance(outcome, RowResult):
                record(outcome)
            elif task.attempt < MAX_ATTEMPTS:
                log.warning("row %d: its worker was lost (%s); trying again", task.row.row, outcome)
                pending.appendleft(replace(task, attempt=task.attempt + 1))
            else:
                row = task.row
                record(RowResult(row.row, row.name, row.photo, FAILED,
                                 reason=f"its worker was lost {MAX_ATTEMPTS} times (last: {outcome})", key=row.key))


__all__ = ["CRASH_VARIABLE", "MAX_ATTEMPTS", "BatchWorker", "Pool", "Task", "Worker", "earlier_results", "read_plan", "run_batch",
           "worker_name"]
