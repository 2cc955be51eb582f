"""scripts/bootstrap.sh, which ./i2v, ./i2v-desktop and ./run-tests source: with a current stamp it
starts nothing at all (no Python, no pip); without one it hands the work to the launcher, which names
its stamp exactly as the shell does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "packaging" / "launcher"))

import i2v_env  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("bash") is None or shutil.which("cksum") is None,
                                reason="bootstrap.sh is a bash script using POSIX cksum")


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    shutil.copy2(REPO / "scripts" / "bootstrap.sh", root / "scripts")
    shutil.copy2(REPO / "pyproject.toml", root)
    (root / ".venv").mkdir()
    # A stand-in for python3 that records how it was called, so the test sees whether anything started.
    fake = tmp_path / "python"
    fake.write_text('#!/bin/sh\necho "$@" >> "$(dirname "$0")/calls"\n')
    fake.chmod(0o755)
    return root


def source_bootstrap(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": str(root.parent / "python")}
    return subprocess.run(["bash", "-c", f'source "{root}/scripts/bootstrap.sh" && echo sourced'],
                          capture_output=True, text=True, env=env, timeout=60)


def test_a_current_environment_starts_nothing(checkout: Path) -> None:
    source = i2v_env.Source("0.1.0", checkout=checkout)
    i2v_env.write_stamp(checkout / ".venv", i2v_env.stamp_path(checkout / ".venv", source), {"test"}, "cpu")
    result = source_bootstrap(checkout)
    assert result.returncode == 0 and result.stdout.strip() == "sourced", result.stderr
    assert not (checkout.parent / "calls").exists()


def test_a_stale_or_missing_stamp_hands_over_to_the_launcher(checkout: Path) -> None:
    venv = checkout / ".venv"
    (venv / ".installed-12345").write_text("")          # the stamp of an older pyproject.toml
    result = source_bootstrap(checkout)
    assert result.returncode == 0, result.stderr
    calls = (checkout.parent / "calls").read_text().splitlines()
    launcher = checkout / "packaging" / "launcher" / "i2v_launcher.py"
    assert calls[-1] == f"{launcher} --venv {venv} --extras test,cluster --repair"
