"""The typed clip record: read from files users edit, so no field is trusted."""

from __future__ import annotations

from pathlib import Path

import pytest

from i2v_desktop.core.errors import InputError, RequestError
from i2v_desktop.core.record import ClipEntry, ClipRecord, compare_labels
from i2v_desktop.core.request import GenerationRequest


def test_a_made_record_round_trips_and_keeps_sections_it_does_not_know():
    request = GenerationRequest(image="/photos/cat.jpg", preset="orbit", seed=5, loop=True)
    record = ClipRecord.make(request, {"model": "instant", "seed": 5, "num_frames": 24, "fps": 12.0},
                             {"overall": 0.8}, "i2v_desktop 9")
    data = {**record.to_dict(), "future": {"kept": [1, 2]}}
    again = ClipRecord.from_dict(data, "clip.mp4")
    assert again.to_dict() == data and again.request() == request
    assert (again.seed, again.preset, again.model, again.photo, again.loop) == (5, "orbit", "instant",
                                                                               "/photos/cat.jpg", True)
    assert (again.score, again.fps, again.duration, again.app) == (0.8, 12.0, 2.0, "i2v_desktop 9")
    with pytest.raises(TypeError):
        again.data["future"]["kept"] = []  # read-only, shared between threads


def test_ill_typed_fields_read_as_missing_and_a_foreign_document_is_refused():
    record = ClipRecord({"schema": "i2v_desktop.clip", "request": {"seed": True, "image": 3, "loop": "yes"},
                         "render": {"fps": float("nan"), "num_frames": "24", "seed": "7"}, "score": [0.5]})
    assert (record.seed, record.photo, record.loop, record.fps, record.duration, record.score) == \
        (None, None, False, None, None, None)
    assert record.app == "i2v_desktop"
    with pytest.raises(RequestError):
        record.request()
    with pytest.raises(InputError, match="^clip.mp4: its metadata is not an i2v_desktop clip record$"):
        ClipRecord.from_dict({"schema": "something else"}, "clip.mp4")


def test_an_entry_labels_itself_from_its_record():
    record = ClipRecord({"request": {"preset": "wind"}, "render": {}})
    entry = ClipEntry("id", Path("/h/cat.mp4"), Path("/h/cat.npz"), "/photos/cat.jpg", 0.0, record)
    assert entry.label == "wind" and entry.seed is None
    scored = ClipEntry("id", entry.mp4, entry.thumbs, entry.photo, 0.0,
                       ClipRecord({"render": {"seed": 3}, "score": {"overall": 0.5}}))
    assert scored.label == "seed 3 · 0.50"


def test_compare_labels_name_what_differs_then_time_score_and_move():
    def entry(model: str, elapsed: float, rating: float) -> ClipEntry:
        request = GenerationRequest(image="/p/cat.jpg", model=model, seed=3)
        score = {"overall": 0.8, "motion_adherence": {"value": 4.0, "rating": rating, "reason": "", "flagged": False}}
        record = ClipRecord.make(request, {"model": model, "seed": 3, "elapsed_s": elapsed}, score, "i2v_desktop")
        return ClipEntry(id=model, mp4=Path(f"/c/{model}.mp4"), thumbs=Path("/c/t"), photo="/p/cat.jpg", created=0,
                         record=record)

    labels = compare_labels([entry("instant", 2.14, 0.9), entry("wan2.2-ti2v-5b", 41.2, 0.5)],
                            {"wan2.2-ti2v-5b": "Wan2.2 TI2V-5B"})
    assert labels == ["instant · 2.1 s · score 0.80 · move 0.90", "Wan2.2 TI2V-5B · 41 s · score 0.80 · move 0.50"]
    same = compare_labels([entry("instant", 2.0, 0.9), entry("instant", 2.0, 0.9)])
    assert same[0].startswith("seed 3 · ")  # nothing differs: the seed is what tells variants apart
