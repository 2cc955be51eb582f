"""The history: what is added comes back after a restart, and messy disks never lose it."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from i2v_desktop.core.errors import I2VError
from i2v_desktop.core.record import ClipEntry, ClipRecord
from i2v_desktop.storage.history import History, HistoryError, read_thumbnails, thumbnail_frames
from i2v_desktop.storage.paths import data_dir, history_dir


def record(photo: str = "/photos/cat.jpg", seed: int = 7, preset: str = "orbit", score: float | None = 0.91):
    rec = {
        "schema": "i2v_desktop.clip",
        "version": 1,
        "app": "i2v_desktop 0.1.0",
        "request": {"image": photo, "seed": seed, "preset": preset},
        "render": {"model": "tiny", "width": 64, "height": 48, "num_frames": 24, "fps": 12.0, "seed": seed,
                   "elapsed_s": 1.5},
    }
    if score is not None:
        rec["score"] = {"overall": score}
    return rec


def strip(count: int = 6, height: int = 24, width: int = 32) -> np.ndarray:
    """Smooth frames (JPEG keeps them close) that differ from one another."""
    y, x = np.mgrid[0:height, 0:width]
    frames = np.empty((count, height, width, 3), np.uint8)
    for t in range(count):
        frames[t, ..., 0] = x * 200 // (width - 1) + 5 * t
        frames[t, ..., 1] = y * 255 // (height - 1)
        frames[t, ..., 2] = 40 + 10 * t
    return frames


def save_clip(history: History, name: str, **kwargs) -> tuple[ClipEntry, Path]:
    """What the app does: an MP4 and its sidecar in today's folder, then into the history."""
    folder = history.new_clip_folder()
    mp4 = folder / f"{name}.mp4"
    mp4.write_bytes(b"\x00\x00\x00\x18ftypisom fake")
    rec = record(**kwargs)
    mp4.with_suffix(".json").write_text(json.dumps(rec), encoding="utf-8")
    return history.add(mp4, ClipRecord(rec), strip()), mp4


def stored(history: History) -> list[tuple[str, str]]:
    """The MP4 and strip paths as the database holds them."""
    with closing(sqlite3.connect(history.index_path)) as conn:
        return conn.execute("SELECT mp4, thumbs FROM clips ORDER BY created").fetchall()


def legacy_index(root: Path, entries: list) -> str:
    """An index.json as earlier versions wrote it; returns its text."""
    root.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"schema": "i2v_desktop.history", "version": 1, "entries": entries}, indent=1)
    (root / "index.json").write_text(text, encoding="utf-8")
    return text


def test_history_dir_is_under_the_data_folder():
    assert history_dir() == data_dir() / "history"


def test_add_survives_a_restart(tmp_path):
    root = tmp_path / "history"
    history = History(root)
    assert not root.exists()  # created on the first write, not before
    first, mp4 = save_clip(history, "cat", seed=7, score=0.91)
    second, _ = save_clip(history, "cat_v2", seed=8, score=None)

    assert mp4.parent.parent == root / "clips"
    assert first.mp4 == mp4.resolve() and first.mp4.is_absolute()
    assert first.thumbs.is_file() and first.thumbs.parent == mp4.parent.resolve()
    assert (first.seed, first.preset, first.score, first.label) == (7, "orbit", 0.91, "seed 7 · 0.91")
    assert (second.score, second.label) == (None, "seed 8")
    assert first.duration == 2.0
    with pytest.raises(TypeError):
        first.record.data["seed"] = 1  # a read-only view

    reopened = History(root).entries()
    assert [entry.id for entry in reopened] == [first.id, second.id]
    assert reopened == [first, second]
    assert reopened[0].record.photo == "/photos/cat.jpg"
    assert reopened[0].record.render["elapsed_s"] == 1.5

    assert history.index_path == root / "history.sqlite"
    mp4_stored, thumbs_stored = stored(history)[0]
    assert not Path(mp4_stored).is_absolute() and not Path(thumbs_stored).is_absolute()


def test_a_moved_data_folder_still_resolves(tmp_path):
    history = History(tmp_path / "old" / "history")
    entry, _ = save_clip(history, "cat")
    shutil.move(str(tmp_path / "old"), str(tmp_path / "new"))

    moved = History(tmp_path / "new" / "history")
    [again] = moved.entries()
    assert again.id == entry.id
    assert again.mp4 == (tmp_path / "new" / "history").resolve() / entry.mp4.relative_to(history.root)
    assert again.mp4.is_file()
    assert moved.thumbnails(again).shape == (6, 24, 32, 3)


def test_an_mp4_outside_the_root_is_stored_absolute(tmp_path):
    history = History(tmp_path / "history")
    outside = tmp_path / "elsewhere" / "mine.mp4"
    outside.parent.mkdir()
    outside.write_bytes(b"fake")
    entry = history.add(outside, ClipRecord(record()), strip())
    assert not (outside.parent / "mine.thumbs.npz").exists()  # the user's folder is left alone
    assert entry.thumbs.is_relative_to(history.root)

    assert stored(history)[0][0] == str(outside.resolve())
    [again] = History(tmp_path / "history").entries()
    assert again.mp4 == outside.resolve()
    assert History(tmp_path / "history").thumbnails(again).shape == (6, 24, 32, 3)


def test_for_photo_groups_the_variants_of_one_photo(tmp_path):
    history = History(tmp_path)
    cat1, _ = save_clip(history, "cat1", photo="/p/cat.jpg", seed=1)
    dog, _ = save_clip(history, "dog", photo="/p/dog.jpg", seed=2)
    cat2, _ = save_clip(history, "cat2", photo="/p/cat.jpg", seed=3)
    assert history.for_photo("/p/cat.jpg") == [cat1, cat2]
    assert History(tmp_path).for_photo("/p/dog.jpg") == [dog]
    assert history.for_photo("/p/bird.jpg") == []


def test_starred_persists_after_a_restart(tmp_path):
    history = History(tmp_path)
    entry, _ = save_clip(history, "cat")
    other, _ = save_clip(history, "cat2")
    assert not entry.starred
    starred = history.set_starred(entry.id, True)
    assert starred.starred and starred.id == entry.id
    assert history.get(entry.id).starred

    reopened = History(tmp_path)
    assert [e.starred for e in reopened.entries()] == [True, False]
    assert not reopened.set_starred(entry.id, False).starred
    assert [e.starred for e in History(tmp_path).entries()] == [False, False]
    assert History(tmp_path).get(other.id) == other


def test_remove_deletes_the_three_files_and_the_entry(tmp_path):
    history = History(tmp_path)
    entry, mp4 = save_clip(history, "cat")
    kept, _ = save_clip(history, "dog")
    sidecar, thumbs = mp4.with_suffix(".json"), entry.thumbs
    assert mp4.is_file() and sidecar.is_file() and thumbs.is_file()

    history.remove(entry.id)
    assert not mp4.exists() and not sidecar.exists() and not thumbs.exists()
    assert history.entries() == [kept]
    assert History(tmp_path).entries() == [kept]
    assert kept.mp4.is_file() and kept.thumbs.is_file()


def test_a_forgotten_clip_keeps_its_files_and_comes_back_where_it_was(tmp_path):
    history = History(tmp_path)
    first, _ = save_clip(history, "cat")
    middle, mp4 = save_clip(history, "cat2")
    last, _ = save_clip(history, "cat3")
    middle = history.set_starred(middle.id, True)

    forgotten = history.forget(middle.id)
    assert forgotten == middle
    files = (mp4, mp4.with_suffix(".json"), middle.thumbs)
    assert all(path.is_file() for path in files)
    assert history.entries() == [first, last]
    # What a front end does: the files go to the trash (else the next start finds them on disk and
    # takes the clip back in), and come back before the entry does.
    trash = tmp_path / "trash"
    trash.mkdir()
    for path in files:
        path.rename(trash / path.name)
    assert History(tmp_path).entries() == [first, last]
    for path in files:
        (trash / path.name).rename(path)

    assert history.restore(forgotten) == middle
    assert history.entries() == [first, middle, last]
    assert History(tmp_path).entries() == [first, middle, last]  # id, time and star, as they were


def test_a_clip_comes_back_only_with_its_mp4_and_only_once(tmp_path):
    history = History(tmp_path)
    entry, mp4 = save_clip(history, "cat")
    history.forget(entry.id)
    moved = mp4.with_name("elsewhere.mp4")
    mp4.rename(moved)
    with pytest.raises(HistoryError, match="cat.mp4: no such file") as info:
        history.restore(entry)
    assert "\n" not in str(info.value) and history.entries() == []
    moved.rename(mp4)
    history.restore(entry)
    with pytest.raises(HistoryError, match="cat.mp4: is in the history already"):
        history.restore(entry)
    assert history.entries() == [entry]


def test_unknown_ids_are_one_line_errors_naming_the_id(tmp_path):
    history = History(tmp_path)
    save_clip(history, "cat")
    for call in (lambda: history.remove("nope123"), lambda: history.set_starred("nope123", True),
                 lambda: history.forget("nope123")):
        with pytest.raises(HistoryError, match="nope123") as info:
            call()
        assert isinstance(info.value, I2VError) and "\n" not in str(info.value)
    assert len(history.entries()) == 1


def test_vanished_mp4_is_dropped_on_load(tmp_path, caplog):
    history = History(tmp_path)
    gone, mp4 = save_clip(history, "cat")
    kept, _ = save_clip(history, "dog")
    mp4.unlink()
    with caplog.at_level(logging.WARNING, logger="i2v_desktop.storage.history"):
        reopened = History(tmp_path)
    assert reopened.entries() == [kept]
    assert any(str(gone.mp4) in message for message in caplog.messages)


def test_a_missing_index_is_an_empty_history(tmp_path):
    history = History(tmp_path / "nothing-here")
    assert history.entries() == [] and history.for_photo("/p/cat.jpg") == []


@pytest.mark.parametrize(
    "content",
    [
        b'{"schema": "i2v_desktop.history", "version": 1, "entries": [',  # cut short
        b"\xff\xfe not text",
        b'["a list"]',
        b'{"schema": "something.else", "version": 1, "entries": []}',
        b'{"schema": "i2v_desktop.history", "version": 1, "entries": {}}',
    ],
)
def test_a_damaged_index_is_kept_aside_and_the_history_starts_empty(tmp_path, caplog, content):
    index = tmp_path / "index.json"
    index.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="i2v_desktop.storage.history"):
        history = History(tmp_path)
    assert history.entries() == []
    [aside] = tmp_path.glob("index.json.damaged-*")
    assert aside.read_bytes() == content
    assert any("damaged" in message for message in caplog.messages)

    entry, _ = save_clip(history, "cat")  # the history works on, with a fresh index
    assert History(tmp_path).entries() == [entry]
    assert aside.read_bytes() == content


def test_an_index_of_earlier_versions_is_imported_once_and_kept(tmp_path):
    folder = tmp_path / "clips" / "2025-01-02"
    folder.mkdir(parents=True)
    (folder / "cat.mp4").write_bytes(b"fake")
    (folder / "gone.mp4").write_bytes(b"fake")
    good = {"id": "a1", "mp4": "clips/2025-01-02/cat.mp4", "thumbs": "clips/2025-01-02/cat.thumbs.npz",
            "photo": "/photos/cat.jpg", "created": 100.0, "starred": True, "record": record(),
            "future_key": {"anything": [1, 2]}}  # unknown keys are ignored
    gone = {**good, "id": "b2", "mp4": "clips/2025-01-02/gone.mp4", "created": 101.0}
    original = legacy_index(tmp_path, [good, {"id": 5, "mp4": None}, gone])
    (folder / "gone.mp4").unlink()

    history = History(tmp_path)
    [entry] = history.entries()
    assert (entry.id, entry.mp4, entry.starred, entry.created, entry.seed) == (
        "a1", (folder / "cat.mp4").resolve(), True, 100.0, 7)
    assert history.notices == [f"{tmp_path.resolve() / 'index.json'}: imported 1 clips into history.sqlite (the file "
                               "is kept as it was; 1 unreadable entries skipped; 1 clips whose MP4 is gone left out)"]
    history.set_starred("a1", False)
    again = History(tmp_path)  # imported once: the star stays off, and nothing is said
    assert again.notices == [] and [e.starred for e in again.entries()] == [False]
    assert (tmp_path / "index.json").read_text(encoding="utf-8") == original
    assert list(tmp_path.glob("index.json.damaged-*")) == []


def test_an_index_from_a_newer_version_is_refused_and_left_alone(tmp_path):
    index = tmp_path / "index.json"
    content = json.dumps({"schema": "i2v_desktop.history", "version": 2, "entries": [{"id": "x"}]})
    index.write_text(content, encoding="utf-8")
    with pytest.raises(HistoryError, match="newer version") as info:
        History(tmp_path)
    assert str(index) in str(info.value) and "\n" not in str(info.value)
    assert index.read_text(encoding="utf-8") == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.json"]  # no database made either


def test_thumbnails_round_trip(tmp_path):
    history = History(tmp_path)
    folder = history.new_clip_folder()
    mp4 = folder / "cat.mp4"
    mp4.write_bytes(b"fake")
    frames = strip(count=9, height=40, width=64)
    entry = history.add(mp4, ClipRecord(record()), frames)

    back = History(tmp_path).thumbnails(History(tmp_path).get(entry.id))
    assert back.shape == frames.shape and back.dtype == np.uint8
    error = np.abs(back.astype(np.int16) - frames.astype(np.int16))
    assert error.mean() < 3 and error.max() < 40  # JPEG at quality 85 on smooth frames
    # Red and blue are not swapped (cv2 works in BGR).
    assert abs(back[..., 2].mean() - frames[..., 2].mean()) < 2
    assert entry.thumbs.stat().st_size < frames.nbytes


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "missing"])
def test_a_damaged_thumbnail_strip_is_a_one_line_error(tmp_path, damage):
    history = History(tmp_path)
    entry, _ = save_clip(history, "cat")
    data = entry.thumbs.read_bytes()
    if damage == "garbage":
        entry.thumbs.write_bytes(b"this is not a zip file at all" * 10)
    elif damage == "truncated":
        entry.thumbs.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        entry.thumbs.write_bytes(b"")
    else:
        entry.thumbs.unlink()
    with pytest.raises(HistoryError) as info:
        history.thumbnails(entry)
    message = str(info.value)
    assert message.startswith(str(entry.thumbs)) and "\n" not in message


def test_a_strip_with_bad_jpeg_data_is_an_error(tmp_path):
    history = History(tmp_path)
    entry, _ = save_clip(history, "cat")
    with np.load(entry.thumbs, allow_pickle=False) as archive:
        parts = {key: archive[key] for key in archive.files}
    parts["jpeg"] = np.full_like(parts["jpeg"], 7)
    np.savez(entry.thumbs, **parts)
    with pytest.raises(HistoryError, match="damaged"):
        history.thumbnails(entry)


def test_concurrent_adds_are_all_kept(tmp_path):
    history = History(tmp_path)
    folder = history.new_clip_folder()
    frames = strip(count=2, height=8, width=8)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(20):
                mp4 = folder / f"t{n}_{i}.mp4"
                mp4.write_bytes(b"fake")
                history.add(mp4, ClipRecord(record(photo=f"/p/{n}.jpg", seed=i)), frames)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    for current in (history, History(tmp_path)):
        entries = current.entries()
        assert len(entries) == 80 and len({e.id for e in entries}) == 80
        assert {e.mp4.name for e in entries} == {f"t{n}_{i}.mp4" for n in range(4) for i in range(20)}
        for n in range(4):
            assert [e.seed for e in current.for_photo(f"/p/{n}.jpg")] == list(range(20))
    assert not list(tmp_path.glob("**/.*.part-*"))  # no temporary files left behind
    assert not list(tmp_path.glob("index.json.damaged-*"))


def test_adding_the_same_mp4_again_replaces_its_entry(tmp_path):
    history = History(tmp_path)
    first, mp4 = save_clip(history, "cat", seed=1)
    second = history.add(mp4, ClipRecord(record(seed=2)), strip(count=3))
    assert history.entries() == [second] and second.id != first.id
    assert history.thumbnails(second).shape[0] == 3


def test_add_checks_its_arguments(tmp_path):
    history = History(tmp_path)
    mp4 = history.new_clip_folder() / "cat.mp4"
    with pytest.raises(HistoryError, match="no such file"):
        history.add(mp4, ClipRecord(record()), strip())
    mp4.write_bytes(b"fake")
    with pytest.raises(ValueError, match="request.image"):
        history.add(mp4, ClipRecord({"schema": "i2v_desktop.clip"}), strip())
    with pytest.raises(ValueError, match="ClipRecord"):
        history.add(mp4, record(), strip())  # a plain dict: the record is typed
    with pytest.raises(ValueError, match="thumbs"):
        history.add(mp4, ClipRecord(record()), np.zeros((4, 8, 8), np.uint8))
    assert history.entries() == []
    # A NaN score (or numpy numbers) must not cost the user the entry.
    rec = record()
    rec["score"]["overall"] = float("nan")
    rec["render"]["seed"] = np.int64(5)
    entry = history.add(mp4, ClipRecord(rec), strip())
    assert entry.score is None and entry.seed == 5 and entry.label == "seed 5"


def test_thumbnail_frames_subsamples_evenly_and_resizes():
    clip = np.zeros((120, 480, 640, 3), np.uint8)
    clip[:] = np.arange(120, dtype=np.uint8)[:, None, None, None]  # each frame shows its own index

    thumbs = thumbnail_frames(clip, fps=24.0)
    assert thumbs.shape == (48, 144, 192, 3) and thumbs.dtype == np.uint8
    picked = thumbs[:, 0, 0, 0].astype(int)
    assert picked[0] <= 2 and picked[-1] >= 117  # spans the whole clip
    steps = np.diff(picked)
    assert steps.min() >= 2 and steps.max() <= 3  # evenly spread

    short = thumbnail_frames(clip[:10], fps=24.0, width=160)
    assert short.shape == (10, 120, 160, 3)
    assert list(short[:, 0, 0, 0]) == list(range(10))

    odd = thumbnail_frames(np.zeros((5, 101, 199, 3), np.uint8), fps=8, width=64, max_frames=3)
    assert odd.shape[0] == 3 and odd.shape[2] == 64 and odd.shape[1] % 2 == 0 and odd.shape[1] == 32

    with pytest.raises(ValueError):
        thumbnail_frames(clip[..., 0], fps=24.0)
    with pytest.raises(ValueError):
        thumbnail_frames(clip, fps=0)


def test_a_clip_from_request_schema_1_reads_back_after_a_restart(tmp_path):
    """Before schema 2 the window put the preset's motion words at the end of the one prompt."""
    from i2v_desktop.core.presets import load_presets

    words = load_presets().get("orbit").for_family("ltx").prompt_for(0.5)
    history = History(tmp_path / "history")
    folder = history.new_clip_folder()
    mp4 = folder / "old.mp4"
    mp4.write_bytes(b"\x00\x00\x00\x18ftypisom fake")
    rec = record()
    rec["request"] = {"schema": "i2v_desktop.request", "version": 1, "image": "/photos/cat.jpg", "seed": 7,
                      "preset": "orbit", "intensity": 0.5, "prompt": f"A cat on a sofa. {words}"}
    history.add(mp4, ClipRecord(rec), strip())
    (entry,) = History(tmp_path / "history").entries()
    request = entry.request()
    assert (request.prompt, request.motion_prompt, request.seed) == ("A cat on a sofa.", None, 7)


@pytest.mark.parametrize("damage", ["garbage", "empty", "missing"])
def test_a_damaged_strip_of_a_real_clip_is_made_again_from_its_mp4(tmp_path, damage):
    from i2v_desktop.export.mp4 import write_mp4

    history = History(tmp_path)
    folder = history.new_clip_folder()
    mp4 = folder / "wave.mp4"
    t = np.arange(12)[:, None, None, None]
    frames = np.broadcast_to((np.arange(64)[None, None, :, None] * 4 + t * 10) % 256, (12, 48, 64, 3))
    write_mp4(np.ascontiguousarray(frames, dtype=np.uint8), 12, mp4, encoder_preset="ultrafast")
    entry = history.add(mp4, ClipRecord(record()), strip())
    if damage == "garbage":
        entry.thumbs.write_bytes(b"not a strip" * 20)
    elif damage == "empty":
        entry.thumbs.write_bytes(b"")
    else:
        entry.thumbs.unlink()
    again = history.thumbnails(entry)
    assert again.shape[0] == 12 and again.shape[2] == 160 and again.dtype == np.uint8
    kept = read_thumbnails(entry.thumbs)  # kept: the next look reads it (JPEG-coded, so close, not equal)
    assert kept.shape == again.shape and np.abs(kept.astype(int) - again).mean() < 3
