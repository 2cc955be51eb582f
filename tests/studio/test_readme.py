"""README.md's models table is the registry's, as scripts/models_table.py writes it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from i2v_desktop.engine.registry import load_registry
from i2v_desktop.studio.table import README_BEGIN, README_END, readme_section, rewrite_readme

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "models_table.py"


def script(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=120)


def test_the_readme_table_is_the_registrys():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_section(load_registry().listed.values()) in text
    assert script("--check").returncode == 0


def test_every_model_is_a_row_with_the_registrys_figures():
    section = readme_section(load_registry().listed.values())
    for entry in load_registry().listed.values():
        row = next(line for line in section.splitlines() if f"(`{entry.id}`)" in line)
        figures = " / ".join(f"{entry.vram_gb.get(k, 0):g}" for k in ("full", "model_offload", "group_offload"))
        assert (f"| {figures} GB |" if entry.engine == "diffusion" else "| none |") in row
        assert f"| {entry.licence} |" in row
        if entry.terms:
            assert entry.terms in row


def test_check_fails_on_a_stale_table_and_the_script_rewrites_only_its_part(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nBefore.\n\n{README_BEGIN}\n| old | table |\n{README_END}\n\nAfter.\n")
    readme.chmod(0o644)
    stale = script("--check", "--readme", str(readme))
    assert stale.returncode == 1 and "differs from the registry" in stale.stderr
    assert script("--readme", str(readme)).returncode == 0
    text = readme.read_text()
    assert text.startswith("# Title\n\nBefore.\n\n") and text.endswith(f"{README_END}\n\nAfter.\n")
    assert "| old | table |" not in text and "48 / 24 / 16 GB" in text
    assert readme.stat().st_mode & 0o777 == 0o644
    assert script("--check", "--readme", str(readme)).returncode == 0


def test_a_readme_without_the_markers_is_refused_in_one_line(tmp_path):
    with pytest.raises(ValueError, match="no models table markers"):
        rewrite_readme("# no table here\n", load_registry().models.values())
    readme = tmp_path / "README.md"
    readme.write_text("# no table here\n")
    result = script("--check", "--readme", str(readme))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
