"""A catalogue batch on this machine's worker processes, through the Studio, with the instant engine:
every row rendered once, bad rows reported, resumed after a cancel, a killed worker's row retried,
and output on a storage URL."""

from __future__ import annotations

import json
import logging
import os
import signal
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from i2v_desktop.core.batch import DONE, FAILED, INVALID, RESULTS_FILE, BatchRow, RowResult, keyed, read_results
from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.presets import load_presets
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.engine.registry import load_registry
from i2v_desktop.export.mp4 import read_frames
from i2v_desktop.export.social import load_export_presets
from i2v_desktop.storage.history import History
from i2v_desktop.studio.batch import CRASH_VARIABLE, MAX_ATTEMPTS, Task
from i2v_desktop.studio.local import LocalStudio
from i2v_desktop.studio.pool import LocalPool, gpu_slots
from i2v_desktop.studio.render import Engines
from i2v_desktop.studio.store import PART_PREFIX, STAGING

DEFAULTS = GenerationRequest(image="-", model="instant", preset="push-in", duration=0.5, fps=8.0, aspect="1:1",
                             quality="draft")  # 720p: small frames, quick rows


@pytest.fixture
def pools() -> list[LocalPool]:
    return []


@pytest.fixture
def studio(tmp_path, pools):
    def pool() -> LocalPool:
        pools.append(LocalPool())
        return pools[-1]

    made = LocalStudio(Engines(load_registry(), load_presets(), device="cpu"), History(tmp_path / "history"),
                       load_export_presets(), tmp_path / "data", pool=pool)
    yield made
    made.close()


@pytest.fixture
def photos(tmp_path, samples) -> Path:
    """Six small photos, two of them the same picture under other names."""
    folder = tmp_path / "shoot"
    folder.mkdir()
    for name, sample in [("mug", "coffee"), ("cat", "chelsea"), ("astro", "astronaut"), ("rocket", "rocket"),
                         ("mug-b", "coffee"), ("cat-b", "chelsea")]:
        Image.open(samples / f"{sample}.jpg").convert("RGB").resize((160, 120)).save(folder / f"{name}.jpg", quality=90)
    (folder / "notes.txt").write_text("not a photo")
    return folder


def run(studio, source, out, defaults=DEFAULTS, cancel_after: int | None = None, workers=2, **options):
    plan = studio.read_batch(str(source), defaults, **options)
    seen, cancel, started = [], CancelToken(), []

    def on_result(result):
        assert result.status == INVALID or result.row in started  # a row is heard of as it starts, then ends
        seen.append(result)
        if cancel_after is not None and sum(r.status == DONE for r in seen) >= cancel_after:
            cancel.cancel()

    report = studio.run_batch(plan, str(out), on_result, cancel, workers=workers, on_start=started.append)
    assert list(report.results) == seen
    return plan, report


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith((PART_PREFIX, STAGING)))


def test_a_folder_renders_every_photo_once_with_its_record_and_the_results_file(studio, photos, tmp_path):
    out = tmp_path / "out"
    plan, report = run(studio, photos, out)
    started: list[int] = []
    again = studio.run_batch(plan, str(tmp_path / "again"), lambda result: None, CancelToken(), on_start=started.append)
    assert sorted(started) == [1, 2, 3, 4, 5, 6] and again.done == 6  # each row heard of once as it starts
    assert sorted(row.name for row in plan.rows) == ["astro", "cat", "cat-b", "mug", "mug-b", "rocket"]
    assert plan.bad == () and report.done == 6 and report.skipped == 0 and not report.cancelled
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{n}.{e}" for n in ("astro", "cat", "cat-b", "mug", "mug-b", "rocket") for e in ("mp4", "json")]
        + [RESULTS_FILE])
    by_row = {row.row: row for row in plan.rows}
    for result in report.results:
        row = by_row[result.row]
        assert result.clips == (str(out / f"{row.name}.mp4"),) and len(result.scores) == 1
        assert 0 <= result.scores[0] <= 100 and result.seconds > 0 and result.worker
        sidecar = json.loads((out / f"{row.name}.json").read_text())
        # The row's request, the photo named by its file name only (the clip leaves this machine).
        assert GenerationRequest.from_dict(sidecar["request"]) == replace(row.request, image=Path(row.photo).name)
        frames, fps = read_frames(out / f"{row.name}.mp4")
        assert frames.shape[0] == 4 and fps == 8.0
    recorded = read_results((out / RESULTS_FILE).read_text())
    assert sorted(r.row for r in recorded) == [1, 2, 3, 4, 5, 6] and {r.status for r in recorded} == {DONE}
    # Seeds come from the rows: the two copies of one picture under other names get other seeds.
    assert len({row.request.seed for row in plan.rows}) == 6


def test_the_same_rows_give_the_same_frames_on_one_worker_or_two(studio, photos, tmp_path):
    _, one = run(studio, photos, tmp_path / "one", workers=1)
    _, two = run(studio, photos, tmp_path / "two", workers=2)
    names = sorted(p.name for p in (tmp_path / "one").glob("*.mp4"))
    assert names == sorted(p.name for p in (tmp_path / "two").glob("*.mp4")) and len(names) == 6
    for name in names:
        assert np.array_equal(read_frames(tmp_path / "one" / name)[0], read_frames(tmp_path / "two" / name)[0]), name


def test_bad_rows_are_reported_in_one_line_each_and_the_others_render(studio, photos, tmp_path):
    manifest = photos / "catalogue.csv"
    manifest.write_text(
        "photo,preset,duration,exports,name\n"
        "mug.jpg,orbit,,reels,\n"                   # 1 good, with an export
        "missing.jpg,orbit,,,\n"                    # 2 no such photo
        "cat.jpg,orbitt,,,\n"                       # 3 unknown preset
        "astro.jpg,,abc,,\n"                        # 4 not a number
        "astro.jpg,,90,,\n"                         # 5 out of range
        "rocket.jpg,,,instagram-story,\n"           # 6 unknown export
        ",orbit,,,\n"                               # 7 no photo
        "notes.txt,,,,\n"                           # 8 not an image: fails when rendered
        "cat.jpg,wind,,,the cat\n")                 # 9 good, named
    plan, report = run(studio, manifest, tmp_path / "out")
    lines = {bad.row: bad.line() for bad in plan.bad}
    assert sorted(lines) == [2, 3, 4, 5, 6, 7]
    assert lines[2].startswith("row 2 (missing.jpg): ") and lines[2].endswith("missing.jpg: photo not found")
    assert lines[3].startswith("row 3 (cat.jpg): unknown motion preset 'orbitt'")
    assert lines[4] == "row 4 (astro.jpg): duration: not a number: 'abc'"
    assert lines[5] == "row 5 (astro.jpg): duration must be between 0.2 and 60 seconds, got 90.0"
    assert lines[6].startswith("row 6 (rocket.jpg): unknown export preset(s) instagram-story")
    assert lines[7] == "row 7: no photo"
    status = {result.row: result for result in report.results}
    assert {row: status[row].status for row in status} == {
        1: DONE, 2: INVALID, 3: INVALID, 4: INVALID, 5: INVALID, 6: INVALID, 7: INVALID, 8: FAILED, 9: DONE}
    assert "notes.txt" in status[8].reason and "\n" not in status[8].reason
    assert status[1].exports == (str(tmp_path / "out" / "mug_reels.mp4"),)
    assert Path(status[1].exports[0]).is_file()
    assert status[9].clips == (str(tmp_path / "out" / "the-cat.mp4"),)
    assert leftovers(tmp_path / "out") == []
    lines = (tmp_path / "out" / RESULTS_FILE).read_text()
    _, again = run(studio, manifest, tmp_path / "out")  # the bad rows are said again, not written again
    assert sorted(r.row for r in again.results if r.status == INVALID) == [2, 3, 4, 5, 6, 7]
    added = (tmp_path / "out" / RESULTS_FILE).read_text().removeprefix(lines)
    assert [r.row for r in read_results(added)] == [8]  # only the row that failed, tried again


def test_a_cancelled_batch_resumes_where_it_stopped_and_changed_rows_render_again(studio, photos, tmp_path):
    out = tmp_path / "out"
    plan, first = run(studio, photos, out, cancel_after=1)
    assert first.cancelled and 1 <= first.done < 6
    assert leftovers(out) == []  # the rows cut short left nothing behind
    earlier = studio.earlier_results(plan, str(out))
    assert sorted(earlier) == sorted(r.row for r in first.results) and sum(r.status == DONE for r in earlier.values()) == first.done
    _, second = run(studio, photos, out)
    assert second.skipped == first.done and second.done == 6 - first.done and not second.cancelled
    assert {r.row for r in first.results if r.status == DONE}.isdisjoint(r.row for r in second.results)
    _, third = run(studio, photos, out)
    assert third.skipped == 6 and third.results == ()
    # A row whose clip was deleted, and rows asked for at another length, are not done.
    (out / "mug.mp4").unlink()
    _, fourth = run(studio, photos, out)
    assert [r.name for r in fourth.results] == ["mug"] and fourth.skipped == 5
    _, fifth = run(studio, photos, out, defaults=replace(DEFAULTS, duration=0.75))
    assert fifth.skipped == 0 and fifth.done == 6


def test_a_killed_worker_process_costs_a_retry_not_the_batch(studio, photos, tmp_path, pools):
    killed = []

    def kill_every_worker(result):
        if not killed:
            killed.extend(pools[0].pids())
            for pid in killed:
                os.kill(pid, signal.SIGKILL)

    plan = studio.read_batch(str(photos), DEFAULTS)
    report = studio.run_batch(plan, str(tmp_path / "out"), kill_every_worker, CancelToken(), workers=2)
    assert len(killed) == 2
    assert sorted(r.row for r in report.results) == [1, 2, 3, 4, 5, 6]  # each row once
    assert {r.status for r in report.results} == {DONE}
    assert not {r.worker.rsplit(":", 1)[1] for r in report.results[1:]} & {str(pid) for pid in killed}
    assert leftovers(tmp_path / "out") == []


def test_a_row_whose_worker_dies_is_retried_and_failed_after_the_last_try(studio, photos, tmp_path, monkeypatch,
                                                                         caplog):
    monkeypatch.setenv(CRASH_VARIABLE, "2")  # the worker dies as it starts row 2, the first time only
    with caplog.at_level(logging.WARNING, logger="i2v_desktop.studio"):
        _, report = run(studio, photos, tmp_path / "once")
    assert {r.status for r in report.results} == {DONE} and len(report.results) == 6
    assert any("row 2: its worker was lost (worker process" in m and "exited with status 3" in m
               for m in caplog.messages)
    monkeypatch.setenv(CRASH_VARIABLE, "2:always")
    plan = studio.read_batch(str(photos), DEFAULTS)
    started: list[int] = []
    report = studio.run_batch(plan, str(tmp_path / "always"), lambda result: None, CancelToken(),
                              on_start=started.append)
    assert started.count(2) == MAX_ATTEMPTS  # heard of at each try
    status = {r.row: r for r in report.results}
    assert status[2].status == FAILED and status[2].reason.startswith(f"its worker was lost {MAX_ATTEMPTS} times")
    assert all(status[row].status == DONE for row in (1, 3, 4, 5, 6))


def test_photos_and_output_on_a_storage_url(studio, photos, tmp_path):
    manifest = tmp_path / "catalogue.jsonl"
    manifest.write_text("".join(json.dumps({"photo": f"file://{photos / name}", "variants": variants}) + "\n"
                                for name, variants in (("mug.jpg", 2), ("cat.jpg", 1))))
    out = f"file://{tmp_path / 'bucket' / 'run'}"
    plan, report = run(studio, f"file://{manifest}", out)
    assert report.done == 2 and report.results_file == f"{out}/{RESULTS_FILE}"
    clips = {r.name: r.clips for r in report.results}
    assert clips["mug"] in ((f"{out}/mug_v1.mp4", f"{out}/mug_v2.mp4"), (f"{out}/mug_v2.mp4", f"{out}/mug_v1.mp4"))
    folder = tmp_path / "bucket" / "run"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["cat.json", "cat.mp4", "mug_v1.json", "mug_v1.mp4", "mug_v2.json", "mug_v2.mp4", RESULTS_FILE])
    sidecar = json.loads((folder / "cat.json").read_text())
    assert sidecar["request"]["image"] == "cat.jpg"  # by its file name; results.csv says where it is
    assert len(read_results((folder / RESULTS_FILE).read_text())) == 2
    _, again = run(studio, f"file://{manifest}", out)
    assert again.skipped == 2 and again.results == ()


def test_a_manifest_that_cannot_be_read_is_one_line(studio, tmp_path):
    from i2v_desktop.core.errors import I2VError

    (tmp_path / "c.csv").write_bytes(b"\xff\xfephoto\n")
    with pytest.raises(I2VError, match=r"c\.csv: not UTF-8 text"):
        studio.read_batch(str(tmp_path / "c.csv"), DEFAULTS)
    with pytest.raises(I2VError, match=r"nope\.csv: not found"):
        studio.read_batch(str(tmp_path / "nope.csv"), DEFAULTS)
    (tmp_path / "empty").mkdir()
    with pytest.raises(I2VError, match="no photos in this folder"):
        studio.read_batch(str(tmp_path / "empty"), DEFAULTS)


class DeviceWorker:
    """Says which CUDA devices its process sees (in the result's reason)."""

    def do(self, task):
        from i2v_desktop.studio.batch import worker_name

        row = task.row
        return RowResult(row.row, row.name, row.photo, DONE, reason=os.environ.get("CUDA_VISIBLE_DEVICES", "-"),
                         worker=worker_name(), key=row.key)


def test_one_local_worker_per_visible_gpu_each_seeing_only_its_own(monkeypatch, tmp_path):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert gpu_slots() == ["3", "5"]
    pool = LocalPool()
    assert pool.open(DeviceWorker, gpu=True, workers=None, rows=10) == 2
    try:
        for n in (1, 2):
            pool.submit(Task(keyed(BatchRow(n, f"r{n}", replace(DEFAULTS, image=str(tmp_path / f"{n}.jpg")))),
                             str(tmp_path)))
        assert not pool.room() and pool.busy() == 2  # one row at a time each
        ended = []
        while len(ended) < 2:
            ended += pool.collect(5.0)
    finally:
        pool.close()
    assert sorted(result.reason for _, result in ended) == ["3", "5"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert gpu_slots() == []  # no GPU visible: the diffusion rows share one worker
    single = LocalPool()
    try:
        assert single.open(DeviceWorker, gpu=True, workers=None, rows=10) == 1
    finally:
        single.close()
