"""A settings file the app cannot use never stops the window: each bad value falls back to its
default, said once in one line (item 5 of issue 14). Driven through the real window."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

import i2v_desktop.ui
from i2v_desktop.core.request import LoraUse
from i2v_desktop.ui.state import Choices
from i2v_desktop.ui.stored import keys

# (key, the value as a hand-edited or damaged file holds it): every key the window reads.
BAD = [
    ("choices/preset", "a-deleted-user-preset"),
    ("choices/intensity", "nan"),
    ("choices/intensity", "7"),
    ("choices/prompt", "x" * 30_000),
    ("choices/motion_prompt", "slow, steady"),  # unquoted: Qt reads a list
    ("choices/duration", "-5"),
    ("choices/duration", "600"),
    ("choices/duration", "three"),
    ("choices/fps", "0"),
    ("choices/fps", "1000"),
    ("choices/fps", "nan"),
    ("choices/aspect", "7:3"),
    ("choices/quality", "ultra"),
    ("choices/variants", "0"),
    ("choices/variants", "2.5"),
    ("choices/seed", "-1"),
    ("choices/seed", "99999999999999999999999"),
    ("choices/seed", "lucky"),
    ("choices/model", "no-such-model"),
    ("choices/model", "/a/model/folder/that/is/gone"),
    ("choices/loop", "maybe"),
    ("choices/sound", "2"),
    ("choices/try_anyway", "yes please"),
    ("choices/loras", "style.safetensors"),
    ("choices/loras", '"[{\\"path\\": \\"a.safetensors\\", \\"sha256\\": \\"abc\\"}]"'),
    ("choices/camera_lora", "9"),
    ("choices/camera_lora", "strong"),
    ("loras/extra", "my.safetensors"),
    ("loras/extra", "[1, 2]"),
    ("paths/loras", "a, b"),
    ("window/geometry", "@ByteArray(not a geometry)"),
    ("window/geometry", "large"),
    ("window/splitter", "@ByteArray(xx)"),
    ("window/splitter", "wide"),
    ("window/photos_shown", "perhaps"),
    ("window/settings_shown", "7"),
    ("first_steps/done", "later"),
    ("machine/shown", "x"),
    ("queue/closed_with", "-3"),
    ("queue/closed_with", "many"),
    ("batch/source", "photos, more photos"),
    ("batch/out", "out, put"),
    ("paths/photos", "one, two"),
    ("export/formats", "no-such-format"),
    ("export/formats", "tiktok, ghost"),
    ("export/preset", "ghost"),
    ("export/folder", "a, b"),
    ("export/template", "{stem}, {preset}"),
    ("export/open_folder", "sometimes"),
]


def write_ini(path, key: str, raw: str) -> None:
    """The file as a person or a damaged disk left it: the raw line, not what QSettings would write."""
    group, name = key.split("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"[{group}]\n{name}={raw}\n", encoding="utf-8")


def test_item5_every_key_the_window_reads_is_checked_and_has_a_bad_value_here():
    assert {key for key, _ in BAD} == set(keys(Choices()))
    assert {f"choices/{item.name}" for item in fields(Choices)} <= {key for key, _ in BAD}
    # A key a panel starts to read is written as a "group/name" literal: it must be checked too.
    ui = Path(i2v_desktop.ui.__file__).parent
    source = "\n".join(path.read_text() for path in [*ui.glob("*.py"), ui.parent / "app.py"]
                       if path.name != "stored.py")
    literals = set(re.findall(r'"([a-z_]+/[a-z_]+)"', source.replace("{name}_shown", "photos_shown")))
    assert literals and literals <= set(keys(Choices()))


@pytest.mark.parametrize("key, raw", BAD, ids=[f"{key}={raw[:20]}" for key, raw in BAD])
def test_item5_a_bad_stored_value_falls_back_to_its_default_with_one_line(make_window, settings_path, caplog,
                                                                           key, raw):
    write_ini(settings_path, key, raw)
    window = make_window()
    assert window.isVisible()
    (line,) = window.banner.lines  # one line, in the window...
    assert line.startswith(f"settings.ini: {key} = ") and line.endswith(
        ("using the default", ")")) and "using the default" in line
    assert caplog.text.count(line) == 1  # ...and in the log, once
    group, name = key.split("/")
    if group == "choices":
        assert getattr(window.state.choices, name) == getattr(window_defaults(window), name)
        assert f"{name}={raw}" not in settings_path.read_text()  # dropped at once, not at the next start
    window.close()
    again = make_window()  # said once: the next start finds the default written back, or nothing
    assert again.banner.lines == []


def window_defaults(window) -> Choices:
    """The defaults as the window fills them in: the model the app starts with where none is stored."""
    return Choices(model=window.studio.fallback_model)


def test_item5_what_the_app_writes_itself_reads_back_without_a_word(make_window, settings_path, samples):
    window = make_window()
    window.state.choose(preset="orbit", intensity=0.8, prompt="rain, wind, and light", duration=5.0,
                        fps=24.0, aspect="1:1", quality="draft", variants=3, seed=42, loop=True,
                        motion_prompt="slow, steady", camera_lora=0.5,
                        loras=(LoraUse("/loras/a, b.safetensors", "0" * 64, -0.35, "high"),))
    window.state.add_lora_files(["/elsewhere/style.safetensors"])
    window.settings.setValue("paths/loras", "/elsewhere, too")
    window.settings.setValue("export/formats", "reels,square")  # as the exporter keeps them
    window.settings.setValue("export/folder", "/tmp/clips, final")
    window.settings.setValue("export/template", "{stem}-{preset}")
    window.settings.setValue("export/open_folder", "false")
    window.settings.setValue("batch/source", str(samples))
    window.settings.setValue("paths/photos", str(samples))
    window.settings.setValue("queue/closed_with", 0)
    chosen = window.state.choices
    window.close()
    again = make_window()
    assert again.banner.lines == []
    assert again.state.choices == chosen
    assert again.state.lora_files == ("/elsewhere/style.safetensors",)


def test_item5_a_read_only_window_says_the_bad_value_but_leaves_the_file_alone(make_window, settings_path):
    write_ini(settings_path, "choices/duration", "600")
    window = make_window(read_only="another window has this data folder")
    assert any(line.startswith("settings.ini: choices/duration = '600'") for line in window.banner.lines)
    assert window.state.choices.duration == Choices().duration
    assert "duration=600" in settings_path.read_text()


@pytest.mark.parametrize("content", [b"[choices\nduration=\x00\xff\n", bytes(range(256)) * 8],
                         ids=["broken-format", "random-bytes"])
def test_item5_a_settings_file_of_garbage_opens_the_window_with_the_defaults(make_window, settings_path, content):
    settings_path.parent.mkdir(parents=True, exist_ok=True)
    settings_path.write_bytes(content)
    window = make_window()
    assert window.isVisible()
    assert window.state.choices == window_defaults(window)
    assert all(line.startswith("settings.ini: ") for line in window.banner.lines)
