"""What the batch dialog works out without a window: the default folder for the clips, what an earlier
run finished (as the Studio reports it), the lines of the table, and the words it says."""

from __future__ import annotations

from pathlib import Path

import pytest

from i2v_desktop.core.batch import DONE, FAILED, RESULTS_FILE, BadRow, BatchPlan, BatchReport, BatchRow, RowResult
from i2v_desktop.core.batch import keyed, result_line, results_header
from i2v_desktop.core.errors import I2VError
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.studio.batch import earlier_results
from i2v_desktop.ui.batchplan import default_output, defaults_text, ended_text, plan_text
from i2v_desktop.ui.batchtable import (
    CLIPS, DONE_EARLIER, REASON, RENDERING, SCORE, STATUS, TO_RENDER, BatchRows, plan_lines, short_reason,
)


def test_the_clips_go_into_a_batch_folder_in_the_photos_folder_or_next_to_the_manifest(tmp_path):
    (tmp_path / "shots").mkdir()
    videos = str(tmp_path / "Videos")
    assert default_output(str(tmp_path / "shots"), videos) == str(tmp_path / "shots" / "batch")
    assert default_output(str(tmp_path / "catalogue.csv"), videos) == str(tmp_path / "batch")


def test_a_catalogue_in_a_folder_that_cannot_be_written_has_its_clips_in_videos(tmp_path, monkeypatch):
    (tmp_path / "shared").mkdir()
    # A read-only share, as this user sees it (chmod would not stop a test run as root).
    monkeypatch.setattr("i2v_desktop.ui.batchplan.os.access", lambda path, mode: Path(path) != tmp_path / "shared")
    videos = str(tmp_path / "Videos")
    assert default_output(str(tmp_path / "shared" / "spring.csv"), videos) == str(tmp_path / "Videos" / "spring batch")
    assert default_output(str(tmp_path / "shared"), videos) == str(tmp_path / "Videos" / "shared batch")


def row(number: int, photo: Path) -> BatchRow:
    return keyed(BatchRow(number, photo.stem, GenerationRequest(image=str(photo), model="instant")))


def write_results(out: Path, results: list[RowResult]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    text = results_header() + "".join(result_line(result) for result in results)
    (out / RESULTS_FILE).write_text(text + "3,cut,short", encoding="utf-8")  # a line a kill cut short


def test_an_earlier_run_s_rows_are_done_while_their_clips_are_there_and_failed_ones_say_why(tmp_path):
    out = tmp_path / "batch"
    first, second, third = (row(n, tmp_path / f"{name}.jpg") for n, name in ((1, "a"), (2, "b"), (3, "c")))
    (out).mkdir()
    (out / "a.mp4").write_bytes(b"clip")
    write_results(out, [
        RowResult(1, "a", first.photo, FAILED, reason="out of memory", key=first.key),
        RowResult(1, "a", first.photo, DONE, (str(out / "a.mp4"),), scores=(81.0,), seconds=2.5, key=first.key),
        RowResult(2, "b", second.photo, DONE, (str(out / "b.mp4"),), key=second.key),  # its clip was removed
        RowResult(3, "c", third.photo, FAILED, reason="the photo is 1 pixel wide", key=third.key),
    ])
    plan = BatchPlan("catalogue.csv", (first, second, third), (BadRow(4, "gone.jpg", f"{tmp_path}/gone.jpg: photo "
                                                                                     "not found"),))
    earlier = earlier_results(plan, str(out))
    assert earlier[1].status == DONE  # the latest result of a key wins
    assert (earlier[2].status, earlier[2].reason) == (FAILED, "its clips were made, then removed")
    assert earlier_results(plan, str(tmp_path / "nothing-yet")) == {}
    lines = plan_lines(plan, earlier)
    assert [line.status for line in lines] == [DONE_EARLIER, TO_RENDER, TO_RENDER, "invalid"]
    assert [line.cell(STATUS) for line in lines] == ["done earlier", "to render", "to render", "cannot be made"]
    assert (lines[0].cell(CLIPS), lines[0].cell(SCORE)) == ("a.mp4", "81")
    assert lines[1].cell(REASON) == "last run: its clips were made, then removed"
    assert lines[3].cell(REASON) == "gone.jpg: photo not found"  # the whole line is its tooltip
    assert lines[3].tip(REASON) == f"{tmp_path}/gone.jpg: photo not found"


def test_an_unreadable_results_file_is_named(tmp_path):
    out = tmp_path / "batch"
    out.mkdir()
    (out / RESULTS_FILE).write_bytes(b"\xff\xfe\x00 not text")
    with pytest.raises(I2VError, match=r"results\.csv: not UTF-8 text"):
        earlier_results(BatchPlan("catalogue.csv", ()), str(out))


def test_the_words_for_a_plan_a_run_and_the_settings():
    assert plan_text(12, 9, 2, 1) == "12 rows: 9 to render, 2 done by an earlier run (skipped), 1 cannot be made " \
                                     "(see the reason)"
    assert plan_text(1, 1, 0, 0) == "1 row: 1 to render"
    report = BatchReport(skipped=2)
    assert ended_text(report, 3, 1, 4, 75) == "Finished: 3 of 4 rows made, 1 failed, 2 done earlier in 1:15"
    assert ended_text(None, 1, 0, 4, 9) == "Cancelled after 1 of 4 rows (0:09); Start goes on with the rest"
    request = GenerationRequest(image="x.jpg", model="instant", duration=2.0, aspect="9:16", quality="draft",
                                variants=3, loop=True, prompt="steam rising from the cup, soft morning light")
    assert defaults_text(request, "Orbit", "Instant") == \
        "Orbit, 2 s, 9:16, draft quality, Instant, 3 variants, looping, “steam rising from the cup, soft morning…”"
    assert short_reason("C:\\shots\\a.jpg: photo not found") == "a.jpg: photo not found"
    assert short_reason("duration: not a number: 'abc'") == "duration: not a number: 'abc'"


def test_a_row_shows_rendering_from_when_it_goes_to_a_worker_until_it_ends(qapp, tmp_path):
    first, second = row(1, tmp_path / "a.jpg"), row(2, tmp_path / "b.jpg")
    earlier = {1: RowResult(1, "a", first.photo, DONE, (str(tmp_path / "a.mp4"),), key=first.key)}
    rows = BatchRows()
    rows.show(plan_lines(BatchPlan("c.csv", (first, second)), earlier))
    rows.started(1)  # done by an earlier run: a late signal must not say otherwise
    rows.started(2)
    rows.started(9)  # not a row on show
    assert [line.status for line in rows.lines] == [DONE_EARLIER, RENDERING]
    assert rows.lines[1].cell(STATUS) == "rendering"
    rows.ended(RowResult(2, "b", second.photo, DONE, (str(tmp_path / "b.mp4"),), key=second.key))
    rows.started(2)  # a retry's start after the row ended cannot take it back
    assert rows.lines[1].status == DONE
    third = row(3, tmp_path / "c.jpg")
    rows.show(plan_lines(BatchPlan("c.csv", (first, second, third)), earlier))
    rows.started(3)
    rows.stopped()  # cancelled while it rendered: it is to render again
    assert rows.lines[2].status == TO_RENDER
