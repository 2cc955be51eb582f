"""The batch benchmark (scripts/batch_bench.py) in its quick mode: every row done through the real
run_batch, and figures that agree with what the rows did."""

from __future__ import annotations

from dataclasses import replace

import pytest

from i2v_desktop.bench.batch import QUICK, Run, SleepWorker, bench, ray_available, sleep_plan, speedups, summary, table
from i2v_desktop.core.batch import DONE
from i2v_desktop.studio.batch import Task


def test_sleep_worker_waits_and_reports_the_row_done(tmp_path):
    row = sleep_plan(3).rows[2]
    result = SleepWorker(0.02).do(Task(row, str(tmp_path)))
    assert (result.row, result.name, result.status, result.key) == (3, "row-00003", DONE, row.key)
    assert result.seconds >= 0.02 and result.worker
    assert list(tmp_path.iterdir()) == []  # it makes no file


def test_sleep_rows_are_distinct_rows_of_a_catalogue():
    rows = sleep_plan(50).rows
    assert [row.row for row in rows] == list(range(1, 51))
    assert len({row.key for row in rows}) == len({row.name for row in rows}) == 50


def test_cost_speed_up_and_efficiency_from_the_timings():
    one = Run("local", "sleep 20 ms", 1, 100, 100, wall_s=3.0, steady_s=99 / 40, sleep_s=0.02)
    two = Run("local", "sleep 20 ms", 2, 100, 100, wall_s=2.0, steady_s=99 / 80, sleep_s=0.02)
    instant = Run("local", "instant", 2, 12, 12, wall_s=30.0, steady_s=20.0)
    assert one.steady_rate == pytest.approx(40) and one.cost_ms == pytest.approx(5.0)  # 25 ms a row, 20 asleep
    assert two.cost_ms == pytest.approx(12.5 - 10.0)
    assert one.start_s == pytest.approx(3.0 - 99 / 40)
    assert instant.cost_ms is None and instant.rate == pytest.approx(0.4)
    gains = dict((run.workers, gain) for run, gain in speedups([one, two]))
    assert gains == {1: pytest.approx(1.0), 2: pytest.approx(2.0)}
    assert speedups([instant]) == [(instant, None)]  # no 1-worker run to compare with
    text = table([one, two, instant])
    assert "| local | sleep 20 ms | 2 | 100 | 100 | 2.0 | 0.8 | 80.00 | 4800 | 2.50 | 2.00x | 100 % |" in text
    assert "| local | instant | 2 | 12 | 12 | 30.0 | 10.0 | 0.40 | 24 | - | - | - |" in text
    assert any("scheduling cost 5.00 ms per row on 1 worker" in line for line in summary([one, two]))


def check(runs: list[Run]) -> None:
    for run in runs:
        assert run.done == run.rows, run
        assert run.wall_s >= run.steady_s > 0 and run.rate > 0 and run.steady_rate > 0
        if run.sleep_s is not None:
            # No run can beat its workers' sleeping, and one worker's rows follow one another.
            assert run.wall_s >= run.rows * run.sleep_s / run.workers
            if run.workers == 1:
                assert run.cost_ms >= 0
    text = table(runs)
    assert len(text.splitlines()) == 2 + len(runs)


def test_quick_mode_on_local_processes():
    said: list[str] = []
    runs = bench(replace(QUICK, ray=False), say=said.append)
    assert [(run.label, run.workers, run.sleep_s is None, run.rows) for run in runs] == [
        ("local", 1, True, QUICK.instant_rows), ("local", 2, True, QUICK.instant_rows),
        ("local", 1, False, QUICK.sleep_rows), ("local", 2, False, QUICK.sleep_rows)]
    check(runs)
    assert len(said) == 4
    assert any("scheduling cost" in line for line in summary(runs))


@pytest.mark.skipif(not ray_available(),
                    reason="ray or the Ray pool (studio/cluster.py) is not importable (pip install .[cluster])")
def test_quick_mode_on_ray():
    # The instant rows on Ray are the Ray pool's own tests' (file for file against a local run);
    # here, the sleep rows on actors against the same rows on local processes, in one run.
    runs = bench(replace(QUICK, instant=False), say=lambda _line: None)
    assert [(run.label, run.workers) for run in runs] == [("local", 1), ("local", 2), ("ray", 1), ("ray", 2)]
    check(runs)
    assert any(line.startswith("ray / local, sleep 5 ms on 2 worker(s)") for line in summary(runs))
