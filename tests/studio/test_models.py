"""The Studio's hardware profile, models table and default model, on the real registry and disk."""

from __future__ import annotations

import json
import sys

import pytest

from i2v_desktop.core.presets import load_presets
from i2v_desktop.core.studio import (
    BUILT_IN, FITS, FITS_OFFLOADED, LOCAL_FOLDER, NOT_DOWNLOADED, TOO_BIG, Hardware, memory_text,
)
from i2v_desktop.engine import hardware as hw
from i2v_desktop.engine.registry import load_registry
from i2v_desktop.export.social import load_export_presets
from i2v_desktop.storage.history import History
from i2v_desktop.studio.local import LocalStudio
from i2v_desktop.studio.render import Engines


def made_up(vram: float | None, ram: float = 128.0) -> Hardware:
    device = "cuda" if vram is not None else "cpu"
    return Hardware(device, "Made-up GPU" if vram else "", vram, vram, "8.9" if vram else "", ram, ram - 4, 321.0,
                    "/cache/hub", "2.13.0+cu130", bf16=vram is not None)


@pytest.fixture
def local_model(tmp_path):
    """A user models.json with a model in a folder of the user's (a Wan2.2 5B layout, 3 kB of files)."""
    folder = tmp_path / "my-wan"
    folder.mkdir()
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "WanPipeline"}))
    (folder / "weights.bin").write_bytes(b"x" * 3000)
    user = tmp_path / "models.json"
    user.write_text(json.dumps({"models": [{"id": "my-wan", "base": "wan2.2-ti2v-5b", "name": "My Wan",
                                            "path": str(folder)}]}))
    return user


def studio_on(tmp_path, user_file=None, device=None) -> LocalStudio:
    registry = load_registry(user_file=user_file)
    return LocalStudio(Engines(registry, load_presets(), device=device), History(tmp_path / "history"),
                       load_export_presets(), tmp_path / "data")


def on_machine(monkeypatch, profile: Hardware) -> None:
    monkeypatch.setattr(hw, "read_hardware", lambda prefer=None: profile)


def test_the_profile_of_this_machine_is_read_without_torch(tmp_path, monkeypatch):
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    studio = studio_on(tmp_path, device="cpu")
    profile = studio.hardware()
    assert "torch" not in sys.modules
    assert profile.device == "cpu" and profile.ram_gb and profile.disk_free_gb is not None
    assert profile.cache_dir.endswith("hub") and profile.torch


def test_model_infos_on_a_machine_without_gpu(tmp_path, monkeypatch):
    on_machine(monkeypatch, made_up(None, ram=32.0))
    studio = studio_on(tmp_path)
    infos = studio.model_infos()
    registry = load_registry()
    assert [info.id for info in infos] == list(registry.models) + list(registry.addons)
    instant, *diffusion, depth = infos
    assert (instant.state, instant.fit.verdict, instant.default, instant.download_gb) == (BUILT_IN, FITS, True, 0)
    # The instant engine's depth add-on: listed to download, runs anywhere, never the default.
    assert (depth.id, depth.state, depth.fit.verdict, depth.default, depth.download_gb) == \
        ("depth-anything-v2-small", NOT_DOWNLOADED, FITS, False, 0.1)
    for info in diffusion:
        entry = registry.get(info.id)
        assert info.state == NOT_DOWNLOADED and info.disk_bytes == 0 and not info.default
        assert info.fit.verdict == TOO_BIG and "this machine has none" in info.fit.reason
        assert info.fit.cost.startswith("on the processor: hours per clip")
        assert (info.summary, info.licence, info.commercial, info.terms) == \
            (entry.summary, entry.licence, entry.commercial, entry.terms)
        assert info.summary and info.commercial
    wan = next(info for info in infos if info.id == "wan2.2-ti2v-5b")
    assert wan.download_gb == 34.2 and wan.fit.memory == "48 / 24 / 16 GB"  # weights + its tiny decoder
    a14b = next(info for info in infos if info.id == "wan2.2-i2v-a14b")
    assert a14b.download_gb == 127.6  # 126.2 GB of weights + 1.37 GB of fast-tier LoRAs + the tiny decoder
    svd = next(info for info in infos if info.id == "svd-xt")
    assert "US$1M" in svd.terms


def test_a_folder_of_the_users_is_the_default_where_it_fits(tmp_path, monkeypatch, local_model):
    on_machine(monkeypatch, made_up(24))
    studio = studio_on(tmp_path, local_model)
    infos = {info.id: info for info in studio.model_infos()}
    mine = infos["my-wan"]
    assert (mine.state, mine.disk_bytes, mine.path) == (LOCAL_FOLDER, 3000 + len('{"_class_name": "WanPipeline"}'),
                                                        str((tmp_path / "my-wan").resolve()))
    assert mine.fit.verdict == FITS_OFFLOADED and mine.default and mine.download_gb == 0  # nothing to fetch
    machine = studio.machine()
    assert (machine.default_model, machine.default_quality) == ("my-wan", "standard")
    assert machine.hardware == made_up(24) and machine.summary == "Made-up GPU, 24 GB GPU memory free"
    chosen = {choice.id: choice for choice in machine.models}
    assert chosen["my-wan"].fit == mine.fit and chosen["my-wan"].fits is True
    assert chosen["my-wan"].note.startswith(f"in {mine.path}, GPU memory 48 / 24 / 16 GB")
    # The registry default is not downloaded: it is offered, with its fit, but is not the default.
    assert chosen["wan2.2-ti2v-5b"].installed is False and chosen["wan2.2-ti2v-5b"].fits is True


def test_on_a_small_gpu_the_user_model_too_big_there_is_not_the_default(tmp_path, monkeypatch, local_model):
    on_machine(monkeypatch, made_up(12))
    studio = studio_on(tmp_path, local_model)
    machine = studio.machine()
    assert machine.default_model == "instant"
    mine = studio.model("my-wan")
    assert mine.fits is False and mine.fit.verdict == TOO_BIG and "10x slower" in mine.fit.cost


def test_the_picker_tooltip_and_the_models_table_say_the_same_memory_figures(tmp_path, monkeypatch):
    on_machine(monkeypatch, made_up(48))
    studio = studio_on(tmp_path)
    studio.machine()
    infos = {info.id: info for info in studio.model_infos()}
    for choice in studio.models(look=False):
        if choice.engine != "diffusion":
            continue
        figures = memory_text(infos[choice.id].fit.needs)
        assert f"GPU memory {figures} (full / model offload / group offload)" in choice.note
        assert choice.fit.memory == figures
    assert "48 / 24 / 16 GB" in studio.model("wan2.2-ti2v-5b").note
    assert "20 / 10 / 8 GB" in studio.model("svd-xt").note  # the issue: the picker said 8 GB, the CLI 10/20
