"""Motion adherence in the scorecard, in the early warning and in the presets; and a slice of the
confusion table of scripts/motion_confusion.py (every preset on every sample and aspect)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from test_motion import SYNTHETIC

from i2v_desktop.core.resources import resource_path
from i2v_desktop.core.errors import PresetError
from i2v_desktop.core.presets import MOVES, load_preset_file, load_presets
from i2v_desktop.quality.scorecard import Scorecard, early_warning, load_weights, score_clip

ROOT = Path(__file__).resolve().parents[2]
FPS = 24.0


def confusion_script():
    spec = importlib.util.spec_from_file_location("motion_confusion", ROOT / "scripts" / "motion_confusion.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def test_every_builtin_preset_names_the_move_it_asks_for() -> None:
    presets = load_presets().presets
    moves = {pid: preset.move for pid, preset in presets.items()}
    assert all(move in MOVES for move in moves.values()), moves
    assert moves["push-in"] == "zoom-in" and moves["pull-out"] == "zoom-out" and moves["orbit"] == "orbit"
    assert moves["pan-left"] == "pan-left" and moves["tilt-up"] == "tilt-up"
    assert moves["wind"] == moves["turntable"] == "local" and moves["static"] == moves["subtle"] == "static"


def test_the_instant_pans_move_the_content_as_the_camera_convention_says() -> None:
    """Pan left: the camera turns left, the content moves right (as the LTX-2 words say: "the scene
    sliding across the frame from left to right")."""
    presets = load_presets()
    assert presets.get("pan-left").for_family("instant").controls_for(0.5)["pan_x"] > 0
    assert presets.get("pan-right").for_family("instant").controls_for(0.5)["pan_x"] < 0


def test_a_preset_with_an_unknown_move_is_refused_naming_the_file(tmp_path: Path) -> None:
    data = json.loads(resource_path("presets", "orbit.json").read_text(encoding="utf-8"))
    data["move"] = "dolly-zoom"
    path = tmp_path / "orbit.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(PresetError, match="move 'dolly-zoom' is not a camera move") as info:
        load_preset_file(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    del data["move"]  # a user's preset written before moves existed still loads, unchecked
    path.write_text(json.dumps(data), encoding="utf-8")
    assert load_preset_file(path).move is None


def test_adherence_enters_the_scorecard_and_the_overall_rank() -> None:
    clip = np.ascontiguousarray(SYNTHETIC["pan-right"]())
    weights = load_weights()
    right = score_clip(clip, FPS, move="pan-right")
    wrong = score_clip(clip, FPS, move="orbit")
    plain = score_clip(clip, FPS)
    assert plain.motion_adherence is None
    assert right.motion_adherence is not None and wrong.motion_adherence is not None
    assert right.motion_adherence.rating > 0.7 and not right.motion_adherence.flagged
    assert wrong.motion_adherence.rating < 0.35 and wrong.motion_adherence.flagged
    assert wrong.motion_adherence.reason.startswith("asked orbit, clip pans right")
    assert right.overall > plain.overall > wrong.overall  # variants rank on it
    ratings = {name: score.rating for name, score in right.scores().items()}
    expected = sum(weights[n] * r for n, r in ratings.items()) / sum(weights[n] for n in ratings)
    assert right.overall == pytest.approx(expected, abs=1e-4)
    assert right.summary().endswith(f"move {right.motion_adherence.rating:.2f}")
    assert wrong.summary().endswith(f"move {wrong.motion_adherence.rating:.2f}!")
    back = Scorecard.from_dict(json.loads(json.dumps(wrong.to_dict())))
    assert back == wrong


def preview(frames: np.ndarray, height: int = 40) -> np.ndarray:
    """What a diffusion preview looks like: a few dozen pixels high."""
    import cv2

    width = round(frames.shape[2] * height / frames.shape[1])
    return np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in frames])


def test_the_early_warning_says_not_orbiting_or_the_wrong_way() -> None:
    pan = preview(SYNTHETIC["pan-right"]()[:16], 64)  # the first two thirds of the take, previewed
    assert early_warning(pan, None, "orbit").startswith("not orbiting")
    assert early_warning(pan, None, "pan-left").startswith("moving the wrong way")
    assert early_warning(pan, None, "pan-right") is None
    assert early_warning(pan, None) is None
    zoom = preview(SYNTHETIC["zoom-in"]()[:16], 64)
    assert early_warning(zoom, None, "zoom-out").startswith("moving the wrong way")
    assert early_warning(zoom, None, "zoom-in") is None


def test_a_slice_of_the_confusion_table_is_right() -> None:
    """Every camera move the instant engine makes, on one photo at one aspect, and the table."""
    script = confusion_script()
    cases = script.run(["push-in", "pull-out", "pan-left", "pan-right", "tilt-up", "orbit", "wind", "static"],
                       ["coffee.jpg"], ["9:16"], 1)
    assert [c.found for c in cases] == [c.rendered for c in cases] == [c.asked for c in cases]
    table = script.table(cases)
    assert table.splitlines()[0].startswith("| asked \\ found | zoom-in | zoom-out |")
    assert "| orbit | " in table and script.accuracy(cases) == 100.0
