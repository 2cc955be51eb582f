from pathlib import Path

from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.storage.queue import FILE_NAME, load_queue, save_queue


def requests(n: int) -> list[GenerationRequest]:
    return [GenerationRequest(image=f"/photos/p{i}.jpg", preset="orbit", seed=i) for i in range(n)]


def test_round_trip_keeps_order_and_every_field(tmp_path: Path) -> None:
    jobs = requests(3)
    save_queue(tmp_path, jobs)
    assert load_queue(tmp_path) == jobs


def test_empty_queue_removes_the_file(tmp_path: Path) -> None:
    save_queue(tmp_path, requests(2))
    save_queue(tmp_path, [])
    assert not (tmp_path / FILE_NAME).exists()
    assert load_queue(tmp_path) == []


def test_damaged_file_is_set_aside_not_lost(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text("{not json", encoding="utf-8")
    assert load_queue(tmp_path) == []
    kept = [p for p in tmp_path.iterdir() if p.name.startswith(FILE_NAME + ".damaged")]
    assert len(kept) == 1 and kept[0].read_text(encoding="utf-8") == "{not json"


def test_unreadable_job_is_dropped_and_the_others_kept(tmp_path: Path) -> None:
    jobs = requests(2)
    save_queue(tmp_path, jobs)
    path = tmp_path / FILE_NAME
    path.write_text(path.read_text(encoding="utf-8").replace('"preset": "orbit"', '"preset": 7', 1),
                    encoding="utf-8")
    assert load_queue(tmp_path) == jobs[1:]
