import json
import logging
import sqlite3
from contextlib import closing
from pathlib import Path

from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.storage.history import History
from i2v_desktop.storage.queue import FILE_NAME, database, load_queue, save_queue


def requests(n: int) -> list[GenerationRequest]:
    return [GenerationRequest(image=f"/photos/p{i}.jpg", preset="orbit", seed=i) for i in range(n)]


def legacy_queue(folder: Path, jobs: list) -> str:
    text = json.dumps({"schema": "i2v_desktop.queue", "version": 1, "jobs": jobs})
    (folder / FILE_NAME).write_text(text, encoding="utf-8")
    return text


def test_round_trip_keeps_order_and_every_field(tmp_path: Path) -> None:
    jobs = requests(3)
    save_queue(tmp_path, jobs)
    assert load_queue(tmp_path) == jobs
    save_queue(tmp_path, jobs[::-1])
    assert load_queue(tmp_path) == jobs[::-1]


def test_the_queue_lives_in_the_history_database(tmp_path: Path) -> None:
    save_queue(tmp_path, requests(2))
    assert database(tmp_path) == tmp_path / "history" / "history.sqlite"
    assert History(tmp_path / "history").index_path == database(tmp_path)
    assert not (tmp_path / FILE_NAME).exists()
    save_queue(tmp_path, [])
    assert load_queue(tmp_path) == []
    assert load_queue(tmp_path / "nothing") == [] and not (tmp_path / "nothing").exists()


def test_a_queue_file_of_earlier_versions_is_imported_once_and_kept(tmp_path: Path) -> None:
    jobs = requests(2)
    text = legacy_queue(tmp_path, [job.to_dict() for job in jobs])
    assert load_queue(tmp_path) == jobs
    save_queue(tmp_path, [])  # the jobs ran: the file must not bring them back
    assert load_queue(tmp_path) == []
    assert (tmp_path / FILE_NAME).read_text(encoding="utf-8") == text


def test_a_damaged_queue_file_is_kept_and_not_imported(tmp_path: Path, caplog) -> None:
    (tmp_path / FILE_NAME).write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="i2v_desktop.storage.queue"):
        assert load_queue(tmp_path) == []
    assert any(FILE_NAME in message and "cannot be read" in message for message in caplog.messages)
    assert (tmp_path / FILE_NAME).read_text(encoding="utf-8") == "{not json"
    save_queue(tmp_path, requests(1))
    assert load_queue(tmp_path) == requests(1)


def test_unreadable_job_is_dropped_and_the_others_kept(tmp_path: Path, caplog) -> None:
    jobs = requests(3)
    save_queue(tmp_path, jobs)
    with closing(sqlite3.connect(database(tmp_path))) as conn, conn:
        conn.execute("UPDATE queue SET request = replace(request, '\"preset\": \"orbit\"', '\"preset\": 7') "
                     "WHERE position = 0")
        conn.execute("UPDATE queue SET request = 'not json' WHERE position = 2")
    with caplog.at_level(logging.WARNING, logger="i2v_desktop.storage.queue"):
        assert load_queue(tmp_path) == jobs[1:2]
    assert sum("dropped" in message for message in caplog.messages) == 2
    assert any("job 1 dropped" in message for message in caplog.messages)
