"""The one way files are written: whole or not at all, on disk, never over another's file."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest

from i2v_desktop.core.durable import (
    MAX_STEM_BYTES, commit_new, fit_stem, stale_parts, temp_beside, write_durably,
)


def test_write_durably_replaces_whole_and_leaves_no_part(tmp_path: Path) -> None:
    target = tmp_path / "library.json"
    write_durably(target, b"first")
    write_durably(target, b"second, longer")
    assert target.read_bytes() == b"second, longer"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["library.json"]


def test_write_durably_failure_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "library.json"
    write_durably(target, b"old")

    def no_space(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_space)
    with pytest.raises(OSError):
        write_durably(target, b"new")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["library.json"]


def test_commit_new_never_replaces_and_keeps_companions_free(tmp_path: Path) -> None:
    (tmp_path / "coffee.mp4").write_bytes(b"someone else's clip")
    (tmp_path / "coffee-2.json").write_bytes(b"{}")  # a sidecar whose clip is gone still holds its name
    tmp = temp_beside(tmp_path / "coffee.mp4")
    tmp.write_bytes(b"ours")
    final = commit_new(tmp, tmp_path / "coffee.mp4", companions=(".mp4", ".json"))
    assert final == tmp_path / "coffee-3.mp4"
    assert final.read_bytes() == b"ours"
    assert (tmp_path / "coffee.mp4").read_bytes() == b"someone else's clip"
    assert not tmp.exists()


def _commit_same_name(folder: str, payload: bytes, start: float, out: multiprocessing.Queue) -> None:
    target = Path(folder) / "coffee.mp4"
    tmp = temp_beside(target)
    tmp.write_bytes(payload)
    while time.time() < start:
        pass
    out.put(str(commit_new(tmp, target)))


def test_two_processes_committing_one_name_both_survive(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    start = time.time() + 1.5
    procs = [ctx.Process(target=_commit_same_name, args=(str(tmp_path), bytes([i]) * 10, start, out))
             for i in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0
    names = sorted(Path(out.get(timeout=5)).name for _ in procs)
    assert names == ["coffee-2.mp4", "coffee-3.mp4", "coffee-4.mp4", "coffee.mp4"]
    assert sorted({(tmp_path / name).read_bytes() for name in names}) == sorted(bytes([i]) * 10 for i in range(4))


def test_commit_new_without_hard_links_still_never_replaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(src: object, dst: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    (tmp_path / "a.mp4").write_bytes(b"theirs")
    tmp = temp_beside(tmp_path / "a.mp4")
    tmp.write_bytes(b"ours")
    assert commit_new(tmp, tmp_path / "a.mp4") == tmp_path / "a-2.mp4"
    assert (tmp_path / "a.mp4").read_bytes() == b"theirs"
    assert (tmp_path / "a-2.mp4").read_bytes() == b"ours"


@pytest.mark.parametrize("stem", ["x" * 300, "é" * 200, "日本語の写真" * 40, "a" * 179 + "é"])
def test_fit_stem_fits_every_derived_name(tmp_path: Path, stem: str) -> None:
    fitted = fit_stem(stem)
    assert len(fitted.encode("utf-8")) <= MAX_STEM_BYTES
    assert stem.startswith(fitted)
    for name in (f"{fitted}-999.thumbs.npz", f".{fitted}-999.mp4.part-0123abcd.mp4"):
        (tmp_path / name).write_bytes(b"")  # raises "File name too long" if the budget is wrong


def test_fit_stem_leaves_short_names_alone() -> None:
    assert fit_stem("coffee") == "coffee"
    assert fit_stem("." * 300) == "clip"


def test_stale_parts_finds_only_old_hidden_parts(tmp_path: Path) -> None:
    old = tmp_path / ".coffee.mp4.part-0123abcd.mp4"
    fresh = tmp_path / ".tea.mp4.part-4567ef01.mp4"
    for path in (old, fresh, tmp_path / "coffee.mp4"):
        path.write_bytes(b"x")
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    assert stale_parts(tmp_path) == [old]
    assert stale_parts(tmp_path / "missing") == []
