"""The history as a database: two processes share it, damage is rebuilt from the clips on disk,
clips the database lacks are re-indexed once, the schema migrates, and a newer one is refused."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import cv2
import numpy as np
import pytest

from i2v_desktop.bench.history import bench, two_processes
from i2v_desktop.core.record import ClipRecord
from i2v_desktop.storage import historydb
from i2v_desktop.storage.history import History, HistoryError
from i2v_desktop.storage.paths import history_dir


def record(photo: str = "/photos/cat.jpg", seed: int = 7) -> dict:
    return {"schema": "i2v_desktop.clip", "version": 1, "app": "i2v_desktop 0.1.0",
            "request": {"image": photo, "seed": seed, "preset": "orbit"},
            "render": {"model": "tiny", "num_frames": 10, "fps": 12.0, "seed": seed}}


STRIP = np.full((2, 8, 8, 3), 100, np.uint8)


def on_disk(folder: Path, name: str, seed: int = 7, sidecar: str | None = None, video: bool = False) -> Path:
    """A clip as a render leaves it, before (or without) its history entry."""
    folder.mkdir(parents=True, exist_ok=True)
    mp4 = folder / f"{name}.mp4"
    if video:
        writer = cv2.VideoWriter(str(mp4), cv2.VideoWriter_fourcc(*"mp4v"), 12, (64, 48))
        for i in range(10):
            writer.write(np.full((48, 64, 3), 20 * i, np.uint8))
        writer.release()
    else:
        mp4.write_bytes(b"\x00\x00\x00\x18ftypisom fake")
    mp4.with_suffix(".json").write_text(sidecar if sidecar is not None else json.dumps(record(seed=seed)),
                                        encoding="utf-8")
    return mp4


def added(history: History, name: str, seed: int = 7) -> Path:
    mp4 = on_disk(history.new_clip_folder(), name, seed)
    history.add(mp4, ClipRecord(record(seed=seed)), STRIP)
    return mp4


def settle(root: Path) -> None:
    """Date the clips folders a day back, as a user's earlier days are (a folder changed within the
    last seconds is listed again at every start)."""
    past = time.time() - 86_400
    for folder in (root / "clips").iterdir():
        os.utime(folder, (past, past))


def test_item2_two_processes_adding_at_once_lose_no_entry(tmp_path):
    root = tmp_path / "history"
    added(History(root), "first-clip")
    expected, found, _ = two_processes(root, 25)
    assert (expected, found) == (51, 51)
    entries = History(root).entries()
    assert len({entry.id for entry in entries}) == 51
    for tag in ("first", "second"):
        assert sorted(entry.seed for entry in entries if entry.photo == f"/photos/{tag}.jpg") == list(range(25))


def test_two_histories_on_one_folder_see_each_others_changes(tmp_path):
    one, other = History(tmp_path), History(tmp_path)
    assert other.entries() == []
    added(one, "cat")
    [entry] = other.entries()
    other.set_starred(entry.id, True)
    assert one.get(entry.id).starred and one.entries()[0].starred
    one.forget(entry.id)
    assert other.entries() == []


def test_item4_a_damaged_database_is_set_aside_and_rebuilt_from_the_sidecars(tmp_path, caplog):
    history = History(tmp_path)
    mp4s = {added(history, f"clip{i}", seed=i).resolve() for i in range(3)}
    history.close()
    database = tmp_path / "history.sqlite"
    database.write_bytes(b"this is no database at all" * 100)

    again = History(tmp_path)
    assert {entry.mp4 for entry in again.entries()} == mp4s
    assert sorted(entry.seed for entry in again.entries()) == [0, 1, 2]
    [aside] = tmp_path.glob("history.sqlite.damaged-*")
    assert aside.read_bytes() == b"this is no database at all" * 100
    [notice] = again.notices
    assert notice.startswith(f"{database.resolve()}: damaged (file is not a database); kept as {aside.name}")
    assert notice.endswith("rebuilt from the clips on disk (3 clips from their sidecars)") and "\n" not in notice
    assert any(notice in message for message in caplog.messages)
    assert History(tmp_path).notices == [] and len(History(tmp_path).entries()) == 3


def test_item4_a_database_with_a_damaged_page_is_rebuilt(tmp_path):
    root = tmp_path / "history"
    folder = root / "clips" / "2020-01-01"
    for i in range(150):  # enough rows for several pages
        on_disk(folder, f"clip{i:03d}", seed=i)
    settle(root)
    History(root).close()
    database = root / "history.sqlite"
    data = bytearray(database.read_bytes())
    data[4096 * 3 : 4096 * 4] = bytes(4096)  # a b-tree page zeroed, as a bad sector leaves it
    database.write_bytes(bytes(data))

    history = History(root)
    assert len(history.entries()) == 150
    [notice] = history.notices
    assert "damaged (Page 4" in notice and "kept as history.sqlite.damaged-" in notice and "\n" not in notice


def test_item4_a_damaged_json_index_is_rebuilt_from_the_sidecars(tmp_path):
    """Earlier versions showed an empty history, with no word, for a damaged index.json."""
    folder = tmp_path / "clips" / "2025-03-04"
    mp4s = {on_disk(folder, f"clip{i}", seed=i).resolve() for i in range(4)}
    (tmp_path / "index.json").write_text('{"schema": "i2v_desktop.history", "version": 1, "entr', encoding="utf-8")

    history = History(tmp_path)
    assert {entry.mp4 for entry in history.entries()} == mp4s
    [aside] = tmp_path.glob("index.json.damaged-*")
    assert history.notices == [
        f"{tmp_path.resolve() / 'index.json'}: damaged (not valid JSON); kept as {aside.name}",
        f"{tmp_path.resolve()}: the history is rebuilt from the clips' sidecars (4 clips)",
    ]


def test_a_missing_database_is_rebuilt_from_the_sidecars(tmp_path):
    history = History(tmp_path)
    kept = [added(history, f"clip{i}", seed=i) for i in range(2)]
    history.close()
    for name in ("history.sqlite", "history.sqlite-wal", "history.sqlite-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    again = History(tmp_path)
    assert sorted(entry.mp4.name for entry in again.entries()) == [mp4.name for mp4 in kept]
    assert again.notices == [f"{tmp_path.resolve()}: the history is rebuilt from the clips' sidecars (2 clips)"]
    assert again.thumbnails(again.entries()[0]).shape == STRIP.shape  # their strips were still there


def test_clips_on_disk_the_database_lacks_are_reindexed_once(tmp_path):
    history = History(tmp_path)
    added(history, "in-history")
    folder = history.new_clip_folder()
    killed = on_disk(folder, "killed-before-its-entry", seed=3, video=True)
    on_disk(tmp_path / "clips" / "2024-12-31", "older", seed=4)
    on_disk(folder, "bad-sidecar", sidecar="{not json")
    (folder / "no-sidecar.mp4").write_bytes(b"fake")  # not an i2v clip: nothing says what it is
    (folder / ".half.mp4.part-1234abcd.mp4").write_bytes(b"half")  # a render still writing
    history.close()
    settle(tmp_path)

    again = History(tmp_path)
    names = sorted(entry.mp4.name for entry in again.entries())
    assert names == ["in-history.mp4", "killed-before-its-entry.mp4", "older.mp4"]
    assert again.notices == [f"{tmp_path.resolve()}: re-indexed 2 clips found on disk "
                             "(older.mp4, killed-before-its-entry.mp4)",
                             f"{tmp_path.resolve() / 'clips'}: 1 clips have no readable sidecar and stay out of "
                             "the history (each is named in the log)"]
    entry = next(e for e in again.entries() if e.mp4 == killed.resolve())
    assert (entry.seed, entry.photo, entry.created) == (3, "/photos/cat.jpg", killed.stat().st_mtime)
    assert not entry.thumbs.exists()
    assert again.thumbnails(entry).shape == (10, 120, 160, 3)  # made from the MP4 once, and kept
    assert entry.thumbs.is_file()

    assert History(tmp_path).notices == []  # said once: the folders are unchanged since


def test_a_database_from_a_newer_version_is_refused_and_left_alone(tmp_path):
    added(History(tmp_path), "cat")
    database = tmp_path / "history.sqlite"
    with closing(sqlite3.connect(database)) as conn, conn:
        conn.execute("INSERT INTO schema_version (version, applied) VALUES (2, 0)")
    before = database.read_bytes()
    with pytest.raises(HistoryError, match="newer version") as info:
        History(tmp_path)
    assert str(info.value).startswith(f"{database.resolve()}: written by a newer version of i2v_desktop "
                                      "(history version 2, this app reads 1)")
    assert database.read_bytes() == before and not list(tmp_path.glob("*.damaged-*"))


def test_migrations_run_once_in_order_and_keep_the_data(tmp_path):
    path = tmp_path / "history.sqlite"
    with closing(historydb.connect(path)) as conn:
        assert historydb.schema_version(conn) == 0
        assert historydb.migrate(conn, path) == [1]  # a new file: from nothing to version 1
        historydb.set_meta(conn, "kept", "yes")

        def add_column(conn: sqlite3.Connection) -> None:  # what a version 2 could do
            conn.execute("ALTER TABLE clips ADD COLUMN rating INTEGER NOT NULL DEFAULT 0")

        steps = {**historydb.MIGRATIONS, 2: add_column}
        assert historydb.migrate(conn, path, steps, latest=2) == [2]
        assert historydb.migrate(conn, path, steps, latest=2) == []
        assert historydb.schema_version(conn) == 2 and historydb.get_meta(conn, "kept") == "yes"
        assert "rating" in [row[1] for row in conn.execute("PRAGMA table_info(clips)")]

        def broken(conn: sqlite3.Connection) -> None:
            conn.execute("ALTER TABLE clips ADD COLUMN stars INTEGER")
            raise sqlite3.OperationalError("disk I/O error")

        with pytest.raises(sqlite3.OperationalError):
            historydb.migrate(conn, path, {**steps, 3: broken}, latest=3)
        assert historydb.schema_version(conn) == 2  # all or nothing: the half step is rolled back
        assert "stars" not in [row[1] for row in conn.execute("PRAGMA table_info(clips)")]
        with pytest.raises(HistoryError, match="history version 2, this app reads 1"):
            historydb.migrate(conn, path)


def test_the_database_is_in_wal_mode_and_waits_for_other_writers(tmp_path):
    added(History(tmp_path), "cat")
    with closing(historydb.connect(tmp_path / "history.sqlite")) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == historydb.BUSY_MS
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: a commit survives a power cut


def test_the_window_hears_what_opening_the_history_repaired(tmp_path):
    from i2v_desktop.studio.local import user_studio

    on_disk(history_dir() / "clips" / "2025-05-06", "cat")
    studio, problems = user_studio(device="cpu")
    try:
        assert f"history {history_dir().resolve()}: the history is rebuilt from the clips' sidecars (1 clips)" in problems
        assert [entry.mp4.name for entry in studio.clips()] == ["cat.mp4"]
    finally:
        studio.close()


def test_the_history_bench_at_tiny_size(tmp_path):
    figures = bench(tmp_path, 50, adds=3, opens=2, each=10)
    assert figures.count == 50 and figures.expected == figures.found == 50 + 3 + 3 + 20
    assert figures.add_empty_ms > 0 and figures.add_full_ms > 0 and figures.open_full_ms > 0
    assert set(figures.checks_ms) == {"quick_check", "integrity_check"}
    lines = figures.lines()
    assert len(lines) == 7 and "0 lost" in lines[-1] and all("\n" not in line for line in lines)


def test_a_stored_record_is_read_on_use_and_travels_as_a_plain_one(tmp_path):
    added(History(tmp_path), "cat", seed=4)
    [entry] = History(tmp_path).entries()
    assert entry.record == ClipRecord(record(seed=4)) and ClipRecord(record(seed=4)) == entry.record
    assert entry.record != ClipRecord(record(seed=5))
    back = pickle.loads(pickle.dumps(entry))  # as an entry goes to a worker process
    assert type(back.record) is ClipRecord and back.record.seed == 4 and back == entry


def test_a_process_killed_while_adding_leaves_a_history_that_opens_with_every_clip(tmp_path):
    """SIGKILL at seeded random moments of a stream of adds (a clip's files are on disk before its
    entry, as a render leaves them): the history opens, and every clip on disk is in it."""
    root = tmp_path / "history"
    code = "import sys; from i2v_desktop.bench.history import adder; adder(sys.argv[1], sys.argv[2], 200, sys.argv[3])"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    rng = np.random.default_rng(14)
    for cycle in range(3):
        go = tmp_path / f"go{cycle}"
        process = subprocess.Popen([sys.executable, "-c", code, str(root), f"run{cycle}", str(go)], env=env)
        deadline = time.monotonic() + 60
        while len(list(root.glob(f"clips/*/run{cycle}-*.json"))) < 200:  # the clips' files, before their entries
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        go.touch()
        time.sleep(rng.uniform(0.05, 0.6))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

        history = History(root)
        on_disk_now = {mp4.resolve() for mp4 in root.glob("clips/*/*.mp4") if mp4.with_suffix(".json").exists()}
        assert {entry.mp4 for entry in history.entries()} == on_disk_now
        assert len(on_disk_now) == 200 * (cycle + 1)
        history.close()


def test_a_damaged_database_that_cannot_be_moved_aside_is_one_line_and_left_alone(tmp_path, monkeypatch):
    history = History(tmp_path)
    added(history, "cat")
    history.close()
    database = tmp_path / "history.sqlite"
    database.write_bytes(b"garbage" * 1000)

    def refuse(source, target):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(historydb.os, "replace", refuse)
    with pytest.raises(HistoryError) as info:
        History(tmp_path)
    message = str(info.value)
    assert message.startswith(f"{database.resolve()}: is damaged (file is not a database) and cannot be moved aside")
    assert message.endswith("; move it away") and "\n" not in message
    assert database.read_bytes() == b"garbage" * 1000
