"""The committed third-party notices are what scripts/third_party_notices.py makes from the installed
distributions.

What must match: the set of libraries and each one's licence, since that is what the notices owe a
user, and a dependency added, dropped or relicensed must show up in the file. What may differ: the
versions and home pages, which are whatever pip resolved on a given machine within pyproject's
ranges; a CI machine with a newer patch release is not a reason to fail."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from i2v_desktop.core.resources import resource_path

REPO = Path(__file__).resolve().parents[2]
REMAKE = "run `python scripts/third_party_notices.py` and commit resources/THIRD_PARTY_NOTICES.md"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("third_party_notices", REPO / "scripts" / "third_party_notices.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


@pytest.fixture(scope="module")
def committed() -> str:
    return resource_path("THIRD_PARTY_NOTICES.md").read_text(encoding="utf-8")


def test_the_committed_file_names_the_libraries_and_licences_installed_here(script, committed):
    listed = {(row.name, row.licence) for row in script.parse(committed)}
    here = {(row.name, row.licence) for row in script.notices()}
    assert listed == here, f"missing {sorted(here - listed)}, no longer so {sorted(listed - here)}: {REMAKE}"


def test_every_runtime_dependency_is_listed_and_no_extra_is(script, committed):
    names = {row.name for row in script.parse(committed)}
    for requirement in script.runtime_requirements():
        assert script.normalise(requirement.name) in names, f"{requirement.name}: {REMAKE}"
    for test_only in ("pytest", "pytest-qt", "import-linter", "hypothesis", "ray"):
        assert test_only not in names  # the test and cluster extras are no part of the app's runtime


def test_the_committed_file_is_the_scripts_own_text_and_the_script_is_deterministic(script, committed):
    rows = script.parse(committed)
    assert script.render(rows) == committed  # nothing edited by hand around the table
    assert rows == sorted(rows) and len({row.name for row in rows}) == len(rows)
    assert script.render(script.notices()) == script.render(script.notices())


def test_a_requirement_not_installed_is_named_with_what_wanted_it(script):
    with pytest.raises(SystemExit) as caught:
        script.closure([Requirement("no-such-distribution-here>=1")])
    message = str(caught.value)
    assert "\n" not in message and "no-such-distribution-here (required by pyproject.toml)" in message


def test_markers_that_do_not_hold_here_and_gpu_runtimes_are_left_out(script):
    assert script.closure([Requirement('numpy; python_version < "3"'), Requirement("nvidia-cublas-cu12")]) == []
    assert script.notices([Requirement("numpy")])[0].name == "numpy"


def test_a_table_line_of_the_wrong_shape_is_named(script, committed):
    broken = committed.replace("| numpy |", "| numpy | extra |", 1)
    lines = broken.splitlines()
    number = lines.index(next(line for line in lines if line.startswith("| numpy |"))) + 1
    with pytest.raises(ValueError, match=f"THIRD_PARTY_NOTICES.md, line {number}: 5 cells, not 4"):
        script.parse(broken)
