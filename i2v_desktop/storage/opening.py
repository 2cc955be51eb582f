"""Opening the history: check the database, set a damaged one aside, import the JSON index of
earlier versions once, and compare the clips folders with the database.

The comparison is what keeps the database honest against the files (a process killed between
saving a clip and recording it, a clip deleted in a file manager, a database rebuilt from nothing)
and it must stay cheap at ten thousand clips: each clips folder's modification time is recorded
when it was last compared, and only folders whose time changed since are listed again. Adding or
removing a file changes its folder's time, so an unchanged folder holds what the database says.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from pathlib import Path

from ..core.durable import clear_stale_parts, fsync_folder
from ..core.errors import os_reason
from .historydb import (IMPORTED_INDEX, Damaged, HistoryError, check, closed_on_failure, connect, damaged_name,
                        get_meta, migrate, open_store, set_aside, set_meta, transaction)
from .reindex import CLIPS, COLUMNS, INDEX_NAME, Layout, Legacy, read_legacy_index, scan_folder

log = logging.getLogger("i2v_desktop.storage.history")
SETTLE_S = 2.0  # a folder changed this recently is listed again next time (file systems with 2 s times)
INSERT = f"INSERT OR IGNORE INTO clips ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"


def open_history(layout: Layout, path: Path) -> tuple[sqlite3.Connection | None, list[str]]:
    """The connection to the history database at `path` (None when there is nothing yet: the first
    write creates it) and the notices for the user, one line each."""
    root, legacy = layout.root, layout.root / INDEX_NAME
    notices: list[str] = []
    conn = None
    damaged = None  # the notice's start when the database had to be set aside
    if path.exists():
        try:
            conn = _checked(path)
        except sqlite3.Error as exc:  # locked past the busy timeout, no permission, an I/O error
            raise HistoryError(f"{path}: cannot be opened ({exc})") from None
        except Damaged as exc:
            try:
                aside = set_aside(path)
            except OSError as error:
                raise HistoryError(f"{path}: is damaged ({exc}) and cannot be moved aside ({os_reason(error)}); "
                                   f"move it away") from None
            damaged = f"{path}: damaged ({exc}); kept as {aside.name}"
    elif not legacy.exists() and not (root / CLIPS).is_dir():
        return None, []

    found_legacy = None
    if conn is None:
        found_legacy = _read_legacy(layout, legacy, notices)  # before creating anything: a newer index stops here
        try:
            root.mkdir(parents=True, exist_ok=True)
            conn = open_store(path)
        except OSError as exc:
            raise HistoryError(f"{root}: cannot create the folder ({os_reason(exc)})") from None
        except (Damaged, sqlite3.Error) as exc:
            raise HistoryError(f"{path}: cannot be created ({exc})") from None
    elif legacy.exists() and get_meta(conn, IMPORTED_INDEX) is None:
        try:
            found_legacy = _read_legacy(layout, legacy, notices)
        except BaseException:
            conn.close()
            raise

    try:
        imported = _import(conn, legacy, found_legacy) if found_legacy is not None else None
        added, unreadable = rescan(conn, layout)
        found = len(added)
    except sqlite3.Error as exc:
        conn.close()
        raise HistoryError(f"{path}: cannot be written ({exc})") from None

    if imported is not None:
        extra = "".join([f"; {found_legacy.unreadable} unreadable entries skipped" if found_legacy.unreadable else "",
                         f"; {found_legacy.gone} clips whose MP4 is gone left out" if found_legacy.gone else ""])
        notices.append(f"{legacy}: imported {imported} clips into {path.name} (the file is kept as it was{extra})")
    if damaged is not None:
        notices.append(f"{damaged}; the history is rebuilt from the clips on disk ({found} clips from their sidecars)")
    elif found and imported is None and not _had_rows_before(conn, found):
        notices.append(f"{root}: the history is rebuilt from the clips' sidecars ({found} clips)")
    elif found:
        named = ", ".join(added[:3]) + (f" and {found - 3} more" if found > 3 else "")
        notices.append(f"{root}: re-indexed {found} clips found on disk ({named})")
    if unreadable:
        notices.append(f"{root / CLIPS}: {unreadable} clips have no readable sidecar and stay out of the history "
                       f"(each is named in the log)")
    for notice in notices:
        log.warning("history: %s", notice)
    return conn, notices


def _checked(path: Path) -> sqlite3.Connection:
    """Connect, check the pages and migrate. Damaged for a file that is not a sound database of ours."""
    conn = connect(path)
    try:
        with closed_on_failure(conn):
            check(conn)
            migrate(conn, path)
    except sqlite3.DatabaseError as exc:  # not damage (that is Damaged): a file it cannot use now
        raise HistoryError(f"{path}: cannot be opened ({exc})") from None
    return conn


def _read_legacy(layout: Layout, legacy: Path, notices: list[str]) -> Legacy | None:
    """The JSON index to import, or None (none there, or damaged: then kept aside, with a notice)."""
    try:
        return read_legacy_index(layout, legacy)
    except FileNotFoundError:
        return None
    except OSError as exc:
        reason = f"cannot be read ({os_reason(exc)})"
    except Damaged as exc:
        reason = str(exc)
    target = damaged_name(legacy)
    try:
        os.replace(legacy, target)
        fsync_folder(legacy.parent)
    except OSError as exc:
        notices.append(f"{legacy}: damaged ({reason}) and cannot be moved aside ({os_reason(exc)}); not imported")
        return None
    notices.append(f"{legacy}: damaged ({reason}); kept as {target.name}")
    return None


def _import(conn: sqlite3.Connection, legacy: Path, found: Legacy) -> int | None:
    """Put the JSON index's clips in, once (None when another process did it meanwhile)."""
    with transaction(conn):
        if get_meta(conn, IMPORTED_INDEX) is not None:
            return None
        before = conn.total_changes
        conn.executemany(INSERT, found.rows)
        count = conn.total_changes - before
        set_meta(conn, IMPORTED_INDEX, json.dumps({"at": time.time(), "file": str(legacy), "clips": count,
                                                   "unreadable": found.unreadable, "gone": found.gone}))
    return count


def rescan(conn: sqlite3.Connection, layout: Layout) -> tuple[list[str], int]:
    """Compare the clips folders that changed since they were last compared (and clips outside the
    root) with the database, clearing the hidden parts a killed writer left in them (a part makes
    its folder change); returns (the file names of the clips re-indexed, how many clips were
    left out for an unreadable sidecar).
    Takes the write lock only when there is something to compare."""
    clips = layout.root / CLIPS
    times: dict[str, int] = {}
    try:
        with os.scandir(clips) as listing:  # times first: a change after this is seen next time
            for item in listing:
                if item.is_dir(follow_symlinks=False):
                    times[f"{CLIPS}/{item.name}"] = item.stat().st_mtime_ns
    except FileNotFoundError:
        pass
    recorded = dict(conn.execute("SELECT folder, mtime_ns FROM folders"))
    changed = sorted(folder for folder, mtime in times.items() if recorded.get(folder) != mtime)
    changed += sorted(set(recorded) - set(times))  # a whole folder deleted
    outside = conn.execute("SELECT mp4, id FROM clips WHERE folder IS NULL").fetchall()
    gone_outside = [(stored, entry_id) for stored, entry_id in outside if not layout.resolved(stored).exists()]
    clear_stale_parts(layout.root / "thumbs")  # the strips of clips outside the root
    if not changed and not gone_outside:
        return [], 0

    added: list[str] = []
    unreadable = 0
    now = time.time()
    with transaction(conn):
        for folder in changed:
            clear_stale_parts(layout.root / folder)  # what a render or a save killed there left
            try:
                names = os.listdir(layout.root / folder)
            except FileNotFoundError:
                names = []
            except OSError as exc:
                log.warning("history: %s cannot be listed (%s); its clips are kept as they are",
                            layout.root / folder, os_reason(exc))
                continue
            known = dict(conn.execute("SELECT mp4, id FROM clips WHERE folder = ?", (folder,)))
            skipped = dict(conn.execute("SELECT mp4, sidecar_ns FROM skipped WHERE folder = ?", (folder,)))
            scan = scan_folder(layout, folder, names, known, skipped)
            conn.execute("DELETE FROM skipped WHERE folder = ?", (folder,))
            conn.executemany("INSERT INTO skipped (mp4, folder, sidecar_ns) VALUES (?, ?, ?)",
                             [(stored, folder, ns) for stored, ns in scan.skipped.items()])
            for row in scan.found:
                before = conn.total_changes
                conn.execute(INSERT, row)
                if conn.total_changes > before:
                    added.append(Path(row[1]).name)
            unreadable += scan.unreadable
            conn.executemany("DELETE FROM clips WHERE id = ?", [(entry_id,) for entry_id in scan.gone])
            mtime = times.get(folder)
            if mtime is not None and now - mtime / 1e9 > SETTLE_S:
                conn.execute("INSERT OR REPLACE INTO folders (folder, mtime_ns) VALUES (?, ?)", (folder, mtime))
            else:
                conn.execute("DELETE FROM folders WHERE folder = ?", (folder,))
        for stored, entry_id in gone_outside:
            log.warning("history: %s is gone; dropping it from the history", stored)
            conn.execute("DELETE FROM clips WHERE id = ?", (entry_id,))
    return added, unreadable


def _had_rows_before(conn: sqlite3.Connection, found: int) -> bool:
    """Whether the database held clips besides the `found` ones just re-indexed (else: a rebuild)."""
    return conn.execute("SELECT COUNT(*) FROM clips").fetchone()[0] > found
