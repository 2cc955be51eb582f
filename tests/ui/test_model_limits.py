"""The clip controls show what the chosen model can do, as the Studio describes it: the instant
engine, a registry model and a local diffusers folder alike."""

import json


def test_a_local_folder_gets_its_familys_limits_not_the_instant_engines(make_window, tmp_path):
    window = make_window()
    folder = tmp_path / "my-wan"
    folder.mkdir()
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "WanPipeline", "expand_timesteps": True}))
    window.state.choose(model=str(folder), duration=3.0, fps=None)
    chosen = window.settings_panel.chosen_model(str(folder))
    assert chosen.family == "wan" and chosen.limits == window.studio.model("wan2.2-ti2v-5b").limits
    assert chosen.limits != window.studio.model("instant").limits
    assert window.controls.duration_label.text() == "3.04 s · 73 frames"  # Wan's 4k+1 frames at 24 fps


def test_the_instant_engines_limits_and_tiers_shape_the_controls(make_window):
    window = make_window()
    window.state.choose(model="instant", duration=2.5, fps=30.0)
    instant = window.studio.model("instant")
    assert window.settings_panel.chosen_model("") == instant  # before the app has chosen
    assert [window.controls.quality.itemData(i) for i in range(window.controls.quality.count())] == \
        ["draft", "standard", "final"]
    assert window.controls.duration_label.text() == "2.50 s · 75 frames"
    assert window.controls.duration.maximum() == round(instant.limits.max_duration * 10)


def test_a_folder_that_cannot_be_read_shows_the_instant_limits_until_generate_names_it(make_window, tmp_path):
    window = make_window()
    missing = str(tmp_path / "no-such-model")
    window.state.choose(model=missing)
    assert window.settings_panel.chosen_model(missing).limits == window.studio.model("instant").limits
