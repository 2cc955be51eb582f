"""The clip controls ask the registry what the chosen model can do, the instant engine included."""

import json

from i2v_desktop.engine.plan import limits as entry_limits
from i2v_desktop.engine.registry import load_registry
from i2v_desktop.ui.controls import limits, qualities, timing
from i2v_desktop.ui.state import Choices


def test_a_local_folder_gets_its_familys_limits_not_the_instant_engines(tmp_path):
    registry = load_registry()
    folder = tmp_path / "my-wan"
    folder.mkdir()
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "WanPipeline", "expand_timesteps": True}))
    wan = registry.get("wan2.2-ti2v-5b")
    assert limits(registry, str(folder)) == entry_limits(wan) != limits(registry, "instant")
    assert timing(registry, Choices(model=str(folder), duration=3.0)) == (73, 24.0)  # Wan's 4k+1 frames


def test_the_instant_engines_limits_come_from_its_entry():
    registry = load_registry()
    assert limits(registry, "instant") == entry_limits(registry.get("instant"))
    assert limits(registry, "") == limits(registry, "instant")  # before the app has chosen
    assert qualities(registry, "instant") == ("draft", "standard", "final")
    assert timing(registry, Choices(model="instant", duration=2.5, fps=30.0)) == (75, 30.0)
