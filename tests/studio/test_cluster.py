"""RayPool on a local Ray instance: the pool's own rules with workers that only sleep, then whole
batches with the instant engine through LocalStudio, against a local run of the same rows.

Each row renders in a second or so on an idle core; the batches are kept to a few rows each."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ray = pytest.importorskip("ray")

from i2v_desktop.core.batch import (  # noqa: E402
    DONE, FAILED, INVALID, RESULTS_FILE, BatchRow, RowResult, keyed, read_results,
)
from i2v_desktop.core.cancel import CancelToken  # noqa: E402
from i2v_desktop.core.errors import I2VError  # noqa: E402
from i2v_desktop.core.presets import load_presets  # noqa: E402
from i2v_desktop.core.request import GenerationRequest  # noqa: E402
from i2v_desktop.core.resources import resource_path  # noqa: E402
from i2v_desktop.engine.registry import load_registry  # noqa: E402
from i2v_desktop.export.mp4 import read_frames  # noqa: E402
from i2v_desktop.export.social import load_export_presets  # noqa: E402
from i2v_desktop.storage.history import History  # noqa: E402
from i2v_desktop.studio.batch import Task, worker_name  # noqa: E402
from i2v_desktop.studio.cluster import RESTARTS, RayPool  # noqa: E402
from i2v_desktop.studio.local import LocalStudio  # noqa: E402
from i2v_desktop.studio.pool import LocalPool  # noqa: E402
from i2v_desktop.studio.render import Engines  # noqa: E402
from i2v_desktop.studio.store import PART_PREFIX, STAGING  # noqa: E402

SAMPLES = resource_path("samples")

# The actors unpickle this module's workers: send them whole, as pytest's module name means
# nothing in an actor process.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> dict[str, str]:
    """Folders for the user's settings that the workers of the module's batches read."""
    folder = tmp_path_factory.mktemp("home")
    return {"XDG_CONFIG_HOME": str(folder / "config"), "XDG_DATA_HOME": str(folder / "data")}


@pytest.fixture(scope="module")
def cluster(home):
    # Two GPUs that Ray only counts (nothing here uses one): enough to see an actor placed on each.
    ray.init(num_cpus=2, num_gpus=2, include_dashboard=False, logging_level="warning",
             object_store_memory=80 * 1024 * 1024, runtime_env={"env_vars": home})
    yield
    ray.shutdown()


@dataclass(frozen=True)
class Sleeper:
    """A worker that only sleeps: the pool's rules without an engine."""

    seconds: float = 0.05

    def do(self, task: Task) -> RowResult:
        time.sleep(self.seconds)
        row = task.row
        return RowResult(row.row, row.name, row.photo, DONE, seconds=self.seconds, worker=worker_name(), key=row.key)


class Broken:
    def __init__(self) -> None:
        raise ValueError("no engine here")


def tasks(count: int, out: str = "/nowhere") -> list[Task]:
    return [Task(keyed(BatchRow(n, f"p{n}", GenerationRequest(image=f"/photos/p{n}.jpg"))), out)
            for n in range(1, count + 1)]


def drain(pool: RayPool, todo: list[Task], timeout_s: float = 60.0) -> list[tuple[Task, RowResult | str]]:
    """Submit while there is room, collect until every task has ended (the scheduler's loop, less
    its retries)."""
    pending, ended, most = list(todo), [], 0
    deadline = time.monotonic() + timeout_s
    while pending or pool.busy():
        assert time.monotonic() < deadline, f"{len(ended)} of {len(todo)} ended in {timeout_s} s"
        while pending and pool.room():
            pool.submit(pending.pop(0))
        most = max(most, pool.busy())
        ended += pool.collect(0.2)
    drain.most = most
    return ended


def test_no_address_and_no_ray_running_is_one_line():
    # First in the module: the cluster fixture has not started Ray yet.
    assert not ray.is_initialized()
    with pytest.raises(I2VError, match="Ray is not running here"):
        RayPool(None).open(Sleeper, gpu=False, workers=1, rows=1)


def test_one_actor_per_cpu_capped_by_workers_and_rows_and_two_rows_in_flight_each(cluster):
    pool = RayPool(None)
    try:
        assert pool.open(Sleeper, gpu=False, workers=None, rows=100) == 2  # ray.init(num_cpus=2)
        ended = drain(pool, tasks(30))
        assert drain.most == 4  # never more than two per actor in flight, so never a queue of 10,000
        assert sorted(task.row.row for task, _ in ended) == list(range(1, 31))
        assert all(isinstance(result, RowResult) and result.status == DONE for _, result in ended)
        assert {result.worker for _, result in ended} == {f"{os.uname().nodename}:{pid}" for pid in pool.pids()}
        assert all(name.startswith("i2v-batch-") for name in pool.names())
    finally:
        pool.close()
    for workers, rows, wanted in ((1, 100, 1), (5, 100, 2), (None, 1, 1)):
        pool = RayPool(None)
        try:
            assert pool.open(Sleeper, gpu=False, workers=workers, rows=rows) == wanted
        finally:
            pool.close()


@dataclass(frozen=True)
class Device(Sleeper):
    """Says which GPU Ray gave its actor."""

    def do(self, task: Task) -> RowResult:
        return replace(super().do(task), reason=os.environ.get("CUDA_VISIBLE_DEVICES", "none"))


def test_one_actor_per_gpu_each_with_its_own(cluster):
    pool = RayPool(None)
    try:
        assert pool.open(Device, gpu=True, workers=None, rows=10) == 2  # ray.init(num_gpus=2)
        devices = {result.worker: result.reason for _, result in drain(pool, tasks(8))}
        assert sorted(devices.values()) == ["0", "1"]  # two actors, a device each
    finally:
        pool.close()
    pool = RayPool(None)
    try:
        assert pool.open(Device, gpu=True, workers=1, rows=10) == 1
    finally:
        pool.close()


def test_gpu_rows_on_a_cluster_without_a_gpu_share_one_cpu_actor(cluster, caplog, monkeypatch):
    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 2.0})
    pool = RayPool(None)
    try:
        assert pool.open(Sleeper, gpu=True, workers=None, rows=10) == 1
        assert "no GPU" in caplog.text
        assert [result.status for _, result in drain(pool, tasks(3))] == [DONE] * 3
    finally:
        pool.close()


def test_an_actor_killed_mid_row_is_restarted_by_ray_and_its_rows_run_again(cluster):
    pool = RayPool(None)
    try:
        pool.open(lambda: Sleeper(0.3), gpu=False, workers=1, rows=10)
        victim = pool.pids()[0]
        pool.submit(tasks(1)[0])
        pool.submit(tasks(2)[1])
        time.sleep(0.1)  # the first row is running, the second waits on the same actor
        os.kill(victim, signal.SIGKILL)
        ended = drain(pool, [], timeout_s=90)
        assert sorted(task.row.row for task, _ in ended) == [1, 2]
        assert all(isinstance(result, RowResult) for _, result in ended), ended
        assert victim not in {int(result.worker.rsplit(":", 1)[1]) for _, result in ended}
    finally:
        pool.close()


def test_when_ray_gives_up_on_an_actor_its_rows_come_back_and_a_fresh_actor_takes_its_place(cluster):
    pool = RayPool(None, restarts=0)
    try:
        pool.open(lambda: Sleeper(0.3), gpu=False, workers=1, rows=10)
        first = pool.names()
        victim = pool.pids()[0]
        for task in tasks(2):
            pool.submit(task)
        time.sleep(0.1)
        os.kill(victim, signal.SIGKILL)
        lost = drain(pool, [], timeout_s=60)
        assert sorted(task.row.row for task, _ in lost) == [1, 2]
        assert all(isinstance(why, str) and "died" in why and "\n" not in why for _, why in lost), lost
        assert pool.names() != first  # a fresh actor, which takes the rows again
        again = drain(pool, [task for task, _ in lost])
        assert [result.status for _, result in again] == [DONE, DONE]
    finally:
        pool.close()


def test_a_worker_that_cannot_start_loses_its_rows_with_the_reason(cluster):
    pool = RayPool(None, restarts=0)
    try:
        pool.open(Broken, gpu=False, workers=1, rows=1)
        (task, why), = drain(pool, tasks(1))
        assert isinstance(why, str) and "no engine here" in why and "\n" not in why, why
    finally:
        pool.close()


# -- whole batches through the Studio ---------------------------------------------------------------

DEFAULTS = GenerationRequest(image="-", model="instant", preset="push-in", duration=0.5, fps=8.0, aspect="1:1",
                             quality="draft")
GOOD = [("mug", "coffee", "orbit"), ("cat", "chelsea", "wind"), ("astro", "astronaut", "pan-left"),
        ("rocket", "rocket", "push-in"), ("mug-m", "coffee", "tilt-up"), ("cat-m", "chelsea", "pull-out")]
MORE = ("static", "subtle")  # every photo again with these: a catalogue of 22 rows, 18 of them good
GOOD_ROWS = len(GOOD) * (1 + len(MORE))


@pytest.fixture(scope="module")
def shoot(tmp_path_factory) -> Path:
    """Six small photos (two of them mirrored samples) and a manifest of 22 rows: each photo with three
    presets, and four bad rows among them."""
    folder = tmp_path_factory.mktemp("shoot")
    for name, sample, _ in GOOD:
        image = Image.open(SAMPLES / f"{sample}.jpg").convert("RGB").resize((160, 120))
        if name.endswith("-m"):
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        image.save(folder / f"{name}.jpg", quality=90)
    (folder / "notes.txt").write_text("not a photo")
    rows = [f"{name}.jpg,{preset},," for name, _, preset in GOOD]
    rows[0] = "mug.jpg,orbit,,reels"  # an export too
    rows[3:3] = ["missing.jpg,orbit,,", "cat.jpg,orbitt,,", "astro.jpg,,abc,", "notes.txt,wind,,"]
    rows += [f"{name}.jpg,{preset},," for preset in MORE for name, _, _ in GOOD]
    (folder / "catalogue.csv").write_text("photo,preset,duration,exports\n" + "\n".join(rows) + "\n")
    return folder


@pytest.fixture(scope="module")
def four(shoot, tmp_path_factory) -> Path:
    """A folder of four of the photos: enough for two actors with rows in flight."""
    folder = tmp_path_factory.mktemp("four")
    for name in ("mug", "cat", "astro", "rocket"):
        (folder / f"{name}.jpg").write_bytes((shoot / f"{name}.jpg").read_bytes())
    return folder


def make_studio(folder: Path, pool) -> LocalStudio:
    return LocalStudio(Engines(load_registry(), load_presets(), device="cpu"), History(folder / "history"),
                       load_export_presets(), folder / "data", pool=pool)


def run(pool, source: Path | str, out: Path | str, cancel_after: int | None = None, on_result=None,
        workers: int = 2):
    """A batch as the command line runs it; (plan, report)."""
    studio = make_studio(Path(str(out).removeprefix("file://")).parent / "studio", pool)
    seen, cancel = [], CancelToken()

    def heard(result: RowResult) -> None:
        seen.append(result)
        if on_result is not None:
            on_result(result)
        if cancel_after is not None and sum(r.status == DONE for r in seen) >= cancel_after:
            cancel.cancel()

    try:
        plan = studio.read_batch(str(source), DEFAULTS)
        report = studio.run_batch(plan, str(out), heard, cancel, workers=workers)
    finally:
        studio.close()
    assert list(report.results) == seen
    return plan, report


@pytest.fixture(scope="module")
def both(cluster, home, shoot, tmp_path_factory):
    """The catalogue rendered by this machine's worker processes, and on Ray."""
    local = tmp_path_factory.mktemp("local") / "out"
    on_ray = tmp_path_factory.mktemp("ray") / "out"
    with pytest.MonkeyPatch.context() as patch:  # what the Ray actors have (see `cluster`)
        for name, value in home.items():
            patch.setenv(name, value)
        return (run(LocalPool, shoot / "catalogue.csv", local),
                run(lambda: RayPool(None), shoot / "catalogue.csv", on_ray))


def test_a_catalogue_on_ray_gives_the_same_files_as_on_this_machine(both):
    (plan, local), (_, on_ray) = both
    assert local.done == on_ray.done == GOOD_ROWS
    folders = [Path(report.results_file).parent for report in (local, on_ray)]
    names = [sorted(p.name for p in folder.iterdir()) for folder in folders]
    assert names[0] == names[1]
    assert "mug_orbit_reels.mp4" in names[0] and len([n for n in names[0] if n.endswith(".mp4")]) == GOOD_ROWS + 1
    for name in (n for n in names[0] if n.endswith(".mp4")):
        # The same seeds, the same engine, one OpenCV thread per worker in both: the same pixels.
        frames = [read_frames(folder / name)[0] for folder in folders]
        assert frames[0].shape == frames[1].shape and np.array_equal(frames[0], frames[1]), name
    assert len([n for n in names[0] if n.endswith(".json")]) == GOOD_ROWS  # a sidecar per clip, none per export
    for name in (n for n in names[0] if n.endswith(".json")):  # each clip's sidecar (an export has none)
        sidecars = [json.loads((folder / name).read_text()) for folder in folders]
        assert sidecars[0]["request"] == sidecars[1]["request"], name
    by_row = {result.row: result for result in local.results}
    for result in on_ray.results:
        twin = by_row[result.row]
        assert (result.status, result.name, result.key, result.scores) == (
            twin.status, twin.name, twin.key, twin.scores)
        assert [Path(c).name for c in result.clips] == [Path(c).name for c in twin.clips]


def test_bad_rows_on_ray_are_reported_in_one_line_each_and_the_others_render(both):
    (plan, _), (_, on_ray) = both
    assert [(bad.row, bad.photo) for bad in plan.bad] == [(4, "missing.jpg"), (5, "cat.jpg"), (6, "astro.jpg")]
    status = {result.row: result for result in on_ray.results}
    assert {row: result.status for row, result in status.items()} == {
        1: DONE, 2: DONE, 3: DONE, 4: INVALID, 5: INVALID, 6: INVALID, 7: FAILED, 8: DONE, 9: DONE, 10: DONE,
        **{row: DONE for row in range(11, 23)}}
    assert status[6].reason == "duration: not a number: 'abc'"
    assert status[4].reason.endswith("missing.jpg: photo not found")
    assert "notes.txt" in status[7].reason and "\n" not in status[7].reason  # failed where it rendered
    assert status[7].worker  # on an actor, as a result: not a lost worker
    recorded = read_results(Path(on_ray.results_file).read_text())
    assert sorted(r.row for r in recorded) == list(range(1, 23))


@pytest.mark.parametrize("restarts", [RESTARTS, 0], ids=["ray-restarts-it", "scheduler-retries"])
def test_an_actor_killed_mid_batch_costs_a_retry_not_the_batch(cluster, four, tmp_path, restarts, caplog):
    pools: list[RayPool] = []
    killed: list[int] = []
    started: list[int] = []

    def pool() -> RayPool:
        pools.append(RayPool(None, restarts=restarts))
        return pools[-1]

    def kill_one(result: RowResult) -> None:
        if not killed:  # the other actor has a row running, and one more waiting
            started.extend(pools[0].pids())
            killed.append(next(pid for pid in started if str(pid) != result.worker.rsplit(":", 1)[1]))
            os.kill(killed[0], signal.SIGKILL)

    with caplog.at_level(logging.WARNING, logger="i2v_desktop.studio"):
        plan, report = run(pool, four, tmp_path / "out", on_result=kill_one)
    assert killed and len(plan.rows) == 4
    assert sorted(r.row for r in report.results) == [1, 2, 3, 4]  # each row once
    assert {r.status for r in report.results} == {DONE}
    lost = [m for m in caplog.messages if "its worker was lost (Ray actor" in m]
    if restarts:  # Ray restarted the actor in a new process, which ran the killed one's rows again
        assert not lost and {int(r.worker.rsplit(":", 1)[1]) for r in report.results} - set(started)
    else:  # Ray gave up on the actor: the scheduler tried its rows again elsewhere
        assert lost and "died" in lost[0]
    assert leftovers(tmp_path / "out") == []


def test_a_cancelled_batch_on_ray_resumes_and_skips_the_rows_done(cluster, four, tmp_path):
    out = tmp_path / "out"
    plan, first = run(lambda: RayPool(None), four, out, cancel_after=1)
    assert first.cancelled and 1 <= first.done < 4
    assert leftovers(out) == []  # the rows cut short left nothing behind
    _, second = run(lambda: RayPool(None), four, out)
    assert second.skipped == first.done and second.done == 4 - first.done and not second.cancelled
    assert {r.row for r in first.results if r.status == DONE}.isdisjoint(r.row for r in second.results)
    assert len(list(out.glob("*.mp4"))) == 4


def test_output_on_a_storage_url_from_ray_actors(cluster, shoot, tmp_path):
    manifest = tmp_path / "catalogue.jsonl"
    manifest.write_text("".join(json.dumps({"photo": f"file://{shoot / name}.jpg"}) + "\n" for name in ("mug", "cat")))
    out = f"file://{tmp_path / 'bucket' / 'run'}"
    _, report = run(lambda: RayPool(None), manifest, out)
    assert report.done == 2 and report.results_file == f"{out}/{RESULTS_FILE}"
    assert sorted(c for r in report.results for c in r.clips) == [f"{out}/cat.mp4", f"{out}/mug.mp4"]
    folder = tmp_path / "bucket" / "run"
    assert sorted(p.name for p in folder.iterdir()) == ["cat.json", "cat.mp4", "mug.json", "mug.mp4", RESULTS_FILE]
    assert json.loads((folder / "cat.json").read_text())["request"]["image"] == "cat.jpg"  # the file name only
    _, again = run(lambda: RayPool(None), manifest, out)
    assert again.skipped == 2 and again.results == ()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith((PART_PREFIX, STAGING)))
