"""A render, an export and a history save killed with SIGKILL inside their writes: nothing half
written under a final name, nothing lost, and (once the parallel changes land) no stale parts, no
ffmpeg outliving its parent, orphans re-indexed. scripts/fault_bench.py runs the same cycles at
random moments, many times."""

from __future__ import annotations

import json
import shutil
import sys

import pytest

from i2v_desktop.bench import fault_checks as checks
from i2v_desktop.bench.faults import Harness

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the harness watches processes through /proc")

# What must hold today, whatever the moment of the kill.
SOUND = {checks.HALF_FILE, checks.BAD_JSON, checks.FRAMES_CLAIMED, checks.TRACEBACK, checks.RESTART_FAILED,
         checks.FAILED_UNKILLED, checks.HISTORY_LOAD, checks.LOST_ENTRY}

# (kind, trigger, seed): each kill inside the window that shows its invariant; the seeds fix where.
PLAN = [("render", "part", 1), ("render", "encoder", 2), ("export", "part", 1), ("export", "encoder", 2),
        ("history", "hold", 1), ("history", "part", 2), ("history", "random", 3)]


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    return Harness(tmp_path_factory.mktemp("faults"))


@pytest.fixture(scope="module")
def cycles(harness):
    return {(kind, trigger): harness.cycle(kind, trigger, seed) for kind, trigger, seed in PLAN}


def of(cycles, kind):
    return [cycle for (k, _), cycle in cycles.items() if k == kind]


def broken(cycles, kind, invariants):
    return [str(v) for cycle in of(cycles, kind) for v in cycle.failed(*invariants)]


# -- the checks themselves catch what they look for ----------------------------------------------


def test_checks_find_a_truncated_clip_a_broken_sidecar_and_a_lost_entry(harness, tmp_path):
    clip = harness.source()
    shutil.copy(clip, tmp_path / "whole.mp4")
    shutil.copy(clip.with_suffix(".json"), tmp_path / "whole.json")
    (tmp_path / "half.mp4").write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    (tmp_path / "half.json").write_text(clip.with_suffix(".json").read_text())
    (tmp_path / "broken.json").write_text('{"schema": ')
    claims = json.loads(clip.with_suffix(".json").read_text())
    claims["render"]["num_frames"] += 5
    shutil.copy(clip, tmp_path / "claims.mp4")
    (tmp_path / "claims.json").write_text(json.dumps(claims))
    (tmp_path / ".half.mp4.part-00000000.mp4").write_bytes(b"hidden parts are not final files")

    found = {(v.invariant, v.detail.split(":")[0]) for v in checks.check_files(tmp_path)}
    assert found == {(checks.HALF_FILE, str(tmp_path / "half.mp4")),
                     (checks.BAD_JSON, str(tmp_path / "broken.json")),
                     (checks.FRAMES_CLAIMED, str(tmp_path / "claims.mp4"))}

    lost = checks.check_history(tmp_path / "history", [tmp_path / "whole.mp4"])
    assert [v.invariant for v in lost.violations] == [checks.LOST_ENTRY] and lost.lost == 1


# -- render --------------------------------------------------------------------------------------


def test_item11_killed_render_leaves_no_half_file(cycles):
    assert all(cycle.injected and cycle.parts_left for cycle in of(cycles, "render"))
    assert cycles["render", "encoder"].encoder_killed is not None  # the kill found ffmpeg encoding
    assert broken(cycles, "render", SOUND) == []


def test_item11_killed_render_parts_gone_after_the_next_render(cycles):
    assert all(cycle.parts_left for cycle in of(cycles, "render"))  # shown only where a kill left parts
    assert broken(cycles, "render", {checks.STALE_PART}) == []


def test_item11_killed_render_takes_its_ffmpeg_with_it(cycles):
    assert cycles["render", "encoder"].encoder_killed is True


# -- export --------------------------------------------------------------------------------------


def test_item11_killed_export_leaves_no_half_file(cycles):
    assert all(cycle.injected and cycle.parts_left for cycle in of(cycles, "export"))
    assert cycles["export", "encoder"].encoder_killed is not None
    assert broken(cycles, "export", SOUND) == []


def test_item11_killed_export_parts_gone_after_the_next_export(cycles):
    assert all(cycle.parts_left for cycle in of(cycles, "export"))
    assert broken(cycles, "export", {checks.STALE_PART}) == []


def test_item11_killed_export_takes_its_ffmpeg_with_it(cycles):
    assert cycles["export", "encoder"].encoder_killed is True


# -- history save --------------------------------------------------------------------------------


def test_item10_killed_history_save_loses_nothing(cycles):
    assert all(cycle.injected for cycle in of(cycles, "history"))
    assert cycles["history", "hold"].orphans == 1  # saved, never added: the case re-indexing is for
    assert cycles["history", "part"].parts_left
    assert broken(cycles, "history", SOUND) == []


def test_item4_clip_saved_but_never_added_is_reindexed_once(cycles):
    assert cycles["history", "hold"].orphans == 1
    orphan = (checks.ORPHAN_KEPT, checks.ORPHAN_SILENT, checks.ORPHAN_TWICE)
    assert cycles["history", "hold"].failed(*orphan) == []


def test_item11_killed_history_save_parts_gone_after_the_next_start(cycles):
    assert cycles["history", "part"].parts_left
    assert cycles["history", "part"].failed(checks.STALE_PART) == []
