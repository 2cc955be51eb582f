"""The render queue kept on disk, so jobs still waiting when the app stops (or is killed) can resume.

The queue lives in the history database (`historydb`, table `queue`: one request per row, in
order), beside the clips it will become: one file to keep safe, and a save is one transaction
that replaces the whole queue, so a reader sees the old queue or the new one. The `queue.json` of
earlier versions is imported once (and kept as it was); a request that no longer reads (an old or
edited record) is dropped with a logged line naming its row, and the others are kept.

`folder` is the data folder; the database is the history's, in its `history` folder
(`paths.history_dir`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..core.errors import I2VError, os_reason
from ..core.request import GenerationRequest
from .historydb import DB_NAME, IMPORTED_QUEUE, Damaged, HistoryError, get_meta, open_store, set_meta, transaction

SCHEMA = "i2v_desktop.queue"
VERSION = 1
FILE_NAME = "queue.json"  # where earlier versions kept the queue
HISTORY_FOLDER = "history"  # paths.history_dir() is data_dir() / this
log = logging.getLogger(__name__)


def database(folder: Path) -> Path:
    return Path(folder) / HISTORY_FOLDER / DB_NAME


def save_queue(folder: Path, requests: Sequence[GenerationRequest]) -> None:
    """Keep `requests` (in order) as the queue. HistoryError (one line) when it cannot be written."""
    rows = [(position, json.dumps(request.to_dict(), ensure_ascii=False, allow_nan=False))
            for position, request in enumerate(requests)]
    path = database(folder)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HistoryError(f"{path.parent}: cannot create the folder ({os_reason(exc)})") from None
    with _opened(path) as conn:
        try:
            _import_once(conn, Path(folder))
            with transaction(conn):
                conn.execute("DELETE FROM queue")
                conn.executemany("INSERT INTO queue (position, request) VALUES (?, ?)", rows)
        except sqlite3.Error as exc:
            raise HistoryError(f"{path}: the queue cannot be written ({exc})") from None


def load_queue(folder: Path) -> list[GenerationRequest]:
    """The queue a previous session left, or [] (nothing there, or a database that cannot be read:
    logged; the history says more when it opens)."""
    path = database(folder)
    legacy = Path(folder) / FILE_NAME
    if not path.exists() and not legacy.exists():
        return []
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _opened(path) as conn:
            _import_once(conn, Path(folder))
            rows = conn.execute("SELECT position, request FROM queue ORDER BY position").fetchall()
    except (OSError, sqlite3.Error, I2VError) as exc:
        log.warning("%s: the queue cannot be read (%s); it starts empty", path, exc)
        return []
    requests = []
    for number, (_, text) in enumerate(rows, 1):
        try:
            requests.append(GenerationRequest.from_dict(json.loads(text)))
        except (I2VError, ValueError) as exc:
            log.warning("%s: job %d dropped: %s", path, number, exc)
    return requests


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[sqlite3.Connection]:
    """A short visit to the database; closed after, so no file stays open between saves."""
    try:
        conn = open_store(path)
    except (Damaged, sqlite3.Error) as exc:
        raise HistoryError(f"{path}: cannot be opened ({exc})") from None
    try:
        yield conn
    finally:
        conn.close()


def _import_once(conn: sqlite3.Connection, folder: Path) -> None:
    """Take in the queue.json of earlier versions, once, unless the database has a queue already."""
    legacy = folder / FILE_NAME
    if get_meta(conn, IMPORTED_QUEUE) is not None or not legacy.exists():
        return
    jobs, problem = _read_legacy(legacy)
    with transaction(conn):
        if get_meta(conn, IMPORTED_QUEUE) is not None:
            return  # another process did it meanwhile
        empty = conn.execute("SELECT COUNT(*) FROM queue").fetchone()[0] == 0
        if empty:
            conn.executemany("INSERT INTO queue (position, request) VALUES (?, ?)", list(enumerate(jobs)))
        set_meta(conn, IMPORTED_QUEUE, json.dumps({"at": time.time(), "jobs": len(jobs) if empty else 0,
                                                   "problem": problem}))
    if problem:
        log.warning("%s %s; nothing imported from it (the file is kept)", legacy, problem)
    else:
        log.warning("%s: imported %d jobs into the history database (the file is kept)", legacy, len(jobs))


def _read_legacy(path: Path) -> tuple[list[str], str | None]:
    """The jobs of a queue.json as request texts, or ([], why not)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [], f"cannot be read ({type(exc).__name__})"
    if not isinstance(document, dict) or document.get("schema") != SCHEMA or not isinstance(document.get("jobs"), list):
        return [], "is not an i2v_desktop queue"
    return [json.dumps(job, ensure_ascii=False) for job in document["jobs"]], None
