"""The history's database: one SQLite file (`history.sqlite` in the history root) holding the clips,
their stars and records, and the render queue.

SQLite rather than a JSON index rewritten whole: one change is one small transaction (an add costs
the same at ten thousand clips as at ten), and two processes on one data folder (two windows, the
window and the command line) each change rows under SQLite's own locks instead of overwriting each
other's copy. WAL mode lets readers go on while one process writes; `synchronous=FULL` makes every
committed change survive a power cut, not only a crash; `busy_timeout` makes a writer wait for the
other process's transaction instead of failing at once.

The schema has a version table with one row per migration applied. Opening runs the migrations a
file lacks, in one transaction each time; a file from a newer version of the app is refused, never
changed. Every schema change to come is one more function in MIGRATIONS.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from ..core.durable import fsync_folder
from ..core.errors import I2VError

DB_NAME = "history.sqlite"
VERSION = 1
# FULL: each commit waits for one fsync of the log, so a change survives a power cut, not only a
# crash (NORMAL would lose the last commits then; the bench measures what each costs an add).
SYNCHRONOUS = "FULL"
BUSY_MS = 15_000  # a writer waits this long for another process's transaction (an import, a rebuild)
# `quick_check` reads every page like `integrity_check` but skips matching each index against its
# table, the slow half; see scripts/history_bench.py for what each costs at ten thousand clips.
CHECK_PRAGMA = "quick_check"
IMPORTED_INDEX = "imported index.json"  # meta keys: when a legacy file was imported, and what it gave
IMPORTED_QUEUE = "imported queue.json"

Migration = Callable[[sqlite3.Connection], None]


class HistoryError(I2VError):
    """The history database, its index or a thumbnail strip cannot be used (the message names the file
    and why)."""


class Damaged(Exception):
    """The file is not a usable SQLite database (the message says why, for the notice)."""


def _create_v1(conn: sqlite3.Connection) -> None:
    # `folder` is the clip's folder relative to the root (NULL for a clip outside it), so a start-up
    # re-scans only the folders whose contents changed, and finds their rows by index.
    conn.execute("""CREATE TABLE clips (
        id TEXT PRIMARY KEY, mp4 TEXT NOT NULL UNIQUE, thumbs TEXT NOT NULL, folder TEXT,
        photo TEXT NOT NULL, created REAL NOT NULL, starred INTEGER NOT NULL DEFAULT 0,
        record TEXT NOT NULL)""")
    # No index by time or photo: the History reads every row once and keeps them, and each index is
    # pages the integrity check at every start reads too.
    conn.execute("CREATE INDEX clips_by_folder ON clips (folder)")
    conn.execute("CREATE TABLE folders (folder TEXT PRIMARY KEY, mtime_ns INTEGER NOT NULL)")
    # Clips whose sidecar could not be read, with the sidecar's time: said once, tried again when it changes.
    conn.execute("CREATE TABLE skipped (mp4 TEXT PRIMARY KEY, folder TEXT NOT NULL, sidecar_ns INTEGER NOT NULL)")
    conn.execute("CREATE TABLE queue (position INTEGER PRIMARY KEY, request TEXT NOT NULL)")
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


MIGRATIONS: Mapping[int, Migration] = {1: _create_v1}  # version reached -> the step that reaches it


def connect(path: Path) -> sqlite3.Connection:
    """A connection to the database at `path` (created empty when missing), in WAL mode.

    Autocommit (`isolation_level=None`): every change goes through `transaction`, so nothing is
    left open by accident. `check_same_thread=False`: the History shares one connection between the
    GUI thread and a worker thread and orders them with its own lock.
    Raises Damaged when the file is not a database, sqlite3.Error for anything else."""
    conn = sqlite3.connect(path, timeout=BUSY_MS / 1000, isolation_level=None, check_same_thread=False)
    with closed_on_failure(conn):
        conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
    return conn


@contextlib.contextmanager
def closed_on_failure(conn: sqlite3.Connection) -> Iterator[None]:
    """Close `conn` when the block fails; a file SQLite calls damaged becomes Damaged."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        conn.close()
        if is_damage(exc):
            raise Damaged(str(exc)) from None
        raise
    except BaseException:
        conn.close()
        raise


def is_damage(exc: BaseException) -> bool:
    """Whether SQLite says the file itself is bad (not a database, or malformed), as opposed to a
    file it cannot reach now (locked, no permission, an I/O error): only the first is set aside."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One change, all or nothing. IMMEDIATE takes the write lock at the start, so two processes
    never both read and then both try to write (which SQLite would refuse to one of them)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise


def schema_version(conn: sqlite3.Connection) -> int:
    """The highest migration the file has had; 0 for a file without the version table."""
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()
    if found is None:
        return 0
    return int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, path: Path, migrations: Mapping[int, Migration] = MIGRATIONS,
            latest: int = VERSION) -> list[int]:
    """Bring the file to `latest`; returns the versions applied (none at all in the common case,
    which takes no write lock). HistoryError naming `path` for a file from a newer version."""
    current = schema_version(conn)
    if current > latest:
        raise newer(path, current, latest)
    if current == latest:
        return []
    with transaction(conn):
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied REAL NOT NULL)")
        current = schema_version(conn)  # again under the lock: another process may have migrated meanwhile
        if current > latest:
            raise newer(path, current, latest)
        applied = list(range(current + 1, latest + 1))
        for version in applied:
            migrations[version](conn)
            conn.execute("INSERT INTO schema_version (version, applied) VALUES (?, ?)", (version, time.time()))
    return applied


def newer(path: Path, found: int, latest: int) -> HistoryError:
    return HistoryError(f"{path}: written by a newer version of i2v_desktop (history version {found}, this app "
                        f"reads {latest}); update the app to open it")


def check(conn: sqlite3.Connection) -> None:
    """Raises Damaged with SQLite's first complaint when the file's pages do not hold together."""
    try:
        rows = conn.execute(f"PRAGMA {CHECK_PRAGMA}").fetchall()
    except sqlite3.DatabaseError as exc:
        if is_damage(exc):
            raise Damaged(str(exc)) from None
        raise
    # One row may hold several lines ("*** in database main ***", then a line per problem): one line out.
    problems = [line.strip() for row in rows if row[0] != "ok" for line in str(row[0]).splitlines()
                if line.strip() and not line.startswith("***")]
    if problems:
        more = f", and {len(problems) - 1} more problems" if len(problems) > 1 else ""
        raise Damaged(problems[0] + more)


def open_store(path: Path) -> sqlite3.Connection:
    """Connect and migrate, without the integrity check: the queue's short visits. Raises Damaged,
    HistoryError (newer version) or sqlite3.Error."""
    conn = connect(path)
    with closed_on_failure(conn):
        migrate(conn, path)
    return conn


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def set_aside(path: Path) -> Path:
    """Move a damaged database out of the way, with its write-ahead log, under a `.damaged-` name,
    so it is kept for the user (or a recovery tool) and a fresh one can take its name. The log goes
    first: a fresh file must never meet the old log under the old name. Raises OSError."""
    target = damaged_name(path)
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        os.replace(wal, target.with_name(target.name + "-wal"))
    os.replace(path, target)
    with contextlib.suppress(OSError):  # the shared-memory index is rebuilt from the log; nothing in it to keep
        path.with_name(path.name + "-shm").unlink()
    fsync_folder(path.parent)
    return target


def damaged_name(path: Path) -> Path:
    """A free name beside `path` for keeping a damaged file: NAME.damaged-<timestamp>[-n]."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target, n = path.with_name(f"{path.name}.damaged-{stamp}"), 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    return target
