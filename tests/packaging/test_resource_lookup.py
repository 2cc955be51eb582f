"""One lookup for the app's data files, wherever the package runs from, and a package list in
pyproject.toml that holds every package (setuptools is told them, not left to find them)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from i2v_desktop.core.errors import I2VError
from i2v_desktop.core.resources import MARKER, find_root, resource_path, resource_root

REPO = Path(__file__).resolve().parents[2]


def _data_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / MARKER).write_text(json.dumps({"models": []}))
    return folder


def test_a_checkout_reads_the_top_level_folder():
    assert resource_root() == REPO / "resources"
    assert resource_path("presets", "orbit.json") == REPO / "resources" / "presets" / "orbit.json"
    assert resource_path("samples", "coffee.jpg").is_file()


def test_an_installed_package_reads_its_own_folder_before_one_beside_it(tmp_path):
    package = tmp_path / "site-packages" / "i2v_desktop"
    inside = _data_folder(package / "resources")
    _data_folder(tmp_path / "site-packages" / "resources")
    assert find_root(package) == inside


def test_a_clone_reads_the_folder_beside_the_package(tmp_path):
    package = tmp_path / "clone" / "i2v_desktop"
    package.mkdir(parents=True)
    beside = _data_folder(tmp_path / "clone" / "resources")
    assert find_root(package) == beside


def test_a_folder_named_resources_without_the_registry_is_someone_elses(tmp_path):
    package = tmp_path / "site-packages" / "i2v_desktop"
    package.mkdir(parents=True)
    (tmp_path / "site-packages" / "resources").mkdir()  # another distribution's top-level folder
    with pytest.raises(I2VError) as caught:
        find_root(package)
    message = str(caught.value)
    assert "\n" not in message and f"no {MARKER} in " in message
    assert str(package / "resources") in message and str(tmp_path / "site-packages" / "resources") in message


def test_pyproject_lists_every_package_and_maps_the_data_folder():
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    on_disk = {".".join(init.parent.relative_to(REPO).parts) for init in (REPO / "i2v_desktop").rglob("__init__.py")}
    assert set(config["packages"]) == on_disk | {"i2v_desktop.resources"}
    assert config["package-dir"] == {"i2v_desktop.resources": "resources"}
    # No data file in the package's own folder: it would be in a clone and missing from a wheel.
    assert not (REPO / "i2v_desktop" / "resources").exists()
