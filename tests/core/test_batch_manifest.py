"""The catalogue batch as data: manifest rows, names, seeds, keys and the results file."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from i2v_desktop.core.batch import (
    DONE, FAILED, INVALID, RESULT_COLUMNS, BatchRow, ManifestError, RowResult, Tally, export_ids, keyed, latest_results,
    manifest_items, manifest_kind, read_results, result_line, results_header, row_request, row_seed, safe_name,
    unique_names,
)
from i2v_desktop.core.errors import I2VError
from i2v_desktop.core.request import MAX_SEED, GenerationRequest

DEFAULTS = GenerationRequest(image="-", preset="push-in", duration=3.0, model="instant")


def test_manifest_kind_from_the_name():
    assert manifest_kind("Cat.CSV") == "csv"
    assert manifest_kind("s3://b/cat.jsonl") == "jsonl"
    with pytest.raises(ManifestError, match=r"cat\.xlsx: a manifest is a \.csv or a \.jsonl file"):
        manifest_kind("cat.xlsx")


def test_csv_rows_skip_blank_and_comment_lines_and_trim_cells():
    text = "Photo, preset ,prompt\n# a comment\n\na.jpg, orbit ,\"red mug, steam\"\nb.jpg,,\n"
    items = manifest_items(text, "csv", "cat.csv")
    assert items == [(1, {"photo": "a.jpg", "preset": "orbit", "prompt": "red mug, steam"}), (2, {"photo": "b.jpg"})]


def test_csv_unknown_or_repeated_columns_stop_the_manifest_naming_them():
    with pytest.raises(ManifestError, match=r"cat\.csv: unknown column\(s\) promt"):
        manifest_items("photo,promt\na.jpg,x\n", "csv", "cat.csv")
    with pytest.raises(ManifestError, match="preset appear more than once"):
        manifest_items("photo,preset,preset\n", "csv", "cat.csv")
    with pytest.raises(ManifestError, match="has no photo column"):
        manifest_items("preset\norbit\n", "csv", "cat.csv")
    with pytest.raises(ManifestError, match="is empty"):
        manifest_items("\n# nothing\n", "csv", "cat.csv")


def test_csv_row_with_too_many_cells_is_a_bad_row_not_a_stop():
    items = manifest_items("photo,preset\na.jpg,orbit,extra\nb.jpg,wind\n", "csv", "cat.csv")
    assert items[0] == (1, "3 cells for 2 columns")
    assert items[1] == (2, {"photo": "b.jpg", "preset": "wind"})


def test_jsonl_rows_each_stand_alone():
    text = '{"photo": "a.jpg", "variants": 2, "loop": true}\nnot json\n[1]\n{"photo": "c.jpg", "colour": 1}\n'
    items = manifest_items(text, "jsonl", "cat.jsonl")
    assert items[0] == (1, {"photo": "a.jpg", "variants": 2, "loop": True})
    assert items[1][0] == 2 and items[1][1].startswith("not JSON")
    assert items[2] == (3, "not a JSON object")
    assert items[3][0] == 4 and "unknown field(s) colour" in items[3][1]
    with pytest.raises(ManifestError, match="has no rows"):
        manifest_items("\n", "jsonl", "cat.jsonl")


def test_row_request_puts_the_cells_over_the_defaults():
    request = row_request({"duration": "2.5", "variants": "2", "loop": "yes", "prompt": "a mug"}, "/p/a.jpg", DEFAULTS)
    assert (request.image, request.duration, request.variants, request.loop) == ("/p/a.jpg", 2.5, 2, True)
    assert request.prompt == "a mug" and request.preset == "push-in"
    assert row_request({"fps": 24, "seed": 7.0}, "/p/a.jpg", DEFAULTS).seed == 7


@pytest.mark.parametrize("cells, message", [
    ({"duration": "abc"}, "duration: not a number: 'abc'"),
    ({"variants": "1.5"}, "variants: not a whole number: '1.5'"),
    ({"seed": 2.5}, "seed: not a whole number: 2.5"),
    ({"fps": "nan"}, "fps: not a number"),
    ({"loop": "maybe"}, "loop: not yes or no: 'maybe'"),
    ({"duration": True}, "duration: not a number: True"),
    ({"prompt": 5}, "prompt: not text: 5"),
    ({"duration": "600"}, "duration must be between 0.2 and 60 seconds"),
])
def test_row_request_names_the_column_of_a_bad_value(cells, message):
    with pytest.raises(I2VError, match=message.replace("(", r"\(").replace(")", r"\)")):
        row_request(cells, "/p/a.jpg", DEFAULTS)


def test_export_ids_take_any_separator_or_a_list():
    assert export_ids("reels; tiktok,shorts web") == ("reels", "tiktok", "shorts", "web")
    assert export_ids(["reels", " ", "gif"]) == ("reels", "gif")


def test_names_are_safe_and_unique_in_manifest_order():
    assert safe_name("Mug 01 (red)/x") == "Mug-01-red-x"
    assert safe_name("...") == "clip"
    assert unique_names(["a", "b", "a", "a-2", "a"]) == ["a", "b", "a-3", "a-2", "a-4"]
    assert unique_names(["A", "a"]) == ["A", "a-2"]  # names that differ only in case collide on some disks


def test_seed_depends_on_the_photo_file_name_and_the_row_name_only():
    seed = row_seed("/shoot/a.jpg", "a")
    assert 0 <= seed <= MAX_SEED
    assert row_seed("s3://bucket/other/a.jpg", "a") == seed  # the catalogue moved: same seed
    assert row_seed("/shoot/a.jpg", "a-2") != seed


def test_key_changes_with_anything_that_makes_the_files():
    row = keyed(BatchRow(1, "a", replace(DEFAULTS, image="/p/a.jpg"), ("reels",)))
    assert len(row.key) == 20 and keyed(row).key == row.key
    for changed in (replace(row, request=replace(row.request, duration=2.0)), replace(row, exports=()),
                    replace(row, crf=20), replace(row, name="b")):
        assert keyed(changed).key != row.key
    assert keyed(replace(row, row=9)).key == row.key  # moving a row in the manifest keeps it done


def test_results_round_trip_and_a_line_cut_short_is_passed_over():
    done = RowResult(3, "a, b", "/p/a.jpg", DONE, ("/o/a_v1.mp4", "/o/a_v2.mp4"), ("/o/a_v1_reels.mp4",),
                     (81.25, 77.0), 4.5, "", "host:12", "k1")
    failed = RowResult(4, "c", "/p/c.jpg", FAILED, reason='unreadable "photo"', key="k2")
    text = results_header() + result_line(done) + result_line(failed) + result_line(done)[:25]
    back = read_results(text)
    assert back[0] == replace(done, scores=(81.2, 77.0), seconds=4.5)
    assert back[1] == failed
    assert len(back) == 2
    assert results_header().strip().split(",") == list(RESULT_COLUMNS)


def test_the_latest_result_of_each_row_wins():
    first = RowResult(1, "a", "a.jpg", FAILED, key="k")
    second = replace(first, status=DONE, clips=("a.mp4",))
    assert latest_results([first, second]) == {"k": second}
    assert latest_results([second, first])["k"].status == FAILED  # done, then failed again: not done
    assert latest_results([RowResult(2, "", "b.jpg", INVALID, reason="bad")]) == {}


def test_tally_rate_and_time_left_count_only_this_runs_rows():
    start = time.monotonic()
    tally = Tally(10, start)
    assert tally.line(start) == "0/10 rows"
    tally.add(RowResult(1, "a", "a.jpg", DONE), start + 2)
    tally.add(RowResult(2, "b", "b.jpg", FAILED), start + 4)
    assert tally.rate(start + 4) == pytest.approx(0.5)
    assert tally.eta(start + 4) == pytest.approx(16.0)
    assert tally.line(start + 4) == "2/10 rows, 1 failed, 30.0 rows/min, 0:16 left"


def test_row_result_lines():
    assert RowResult(2, "mug", "/p/mug.jpg", DONE, ("m.mp4",), scores=(80.4,), seconds=4.06).line() == \
        "row 2 mug: done in 4.1 s, 1 clip(s), score 80"
    assert RowResult(3, "", "/p/x.jpg", INVALID, reason="photo not found").line() == \
        "row 3 x.jpg: invalid: photo not found"
