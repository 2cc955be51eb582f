"""RayPool on a local Ray instance: the pool's own rules with workers that only sleep, then whole
batches with the instant engine through LocalStudio, against a local run of the same rows."""

from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import dataclass

import pytest

ray = pytest.importorskip("ray")

from i2v_desktop.core.batch import DONE, BatchRow, RowResult, keyed  # noqa: E402
from i2v_desktop.core.errors import I2VError  # noqa: E402
from i2v_desktop.core.request import GenerationRequest  # noqa: E402
from i2v_desktop.studio.batch import Task, worker_name  # noqa: E402
from i2v_desktop.studio.cluster import RayPool  # noqa: E402

# The actors unpickle this module's workers: send them whole, as pytest's module name means
# nothing in an actor process.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning", log_to_driver=True,
             object_store_memory=80 * 1024 * 1024)
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


def test_gpu_rows_on_a_cluster_without_a_gpu_share_one_cpu_actor(cluster, caplog):
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
