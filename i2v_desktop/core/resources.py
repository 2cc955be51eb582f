"""Where the app's own data files are: presets, export presets, the model registry, samples, icons.

They live in the repository's top-level `resources/` folder. An installed wheel carries that folder
as the package's `i2v_desktop/resources` (pyproject.toml maps it there), so an installed app finds
it inside the package. A clone run straight from its folder (PYTHONPATH, or an editable install,
whose finder points at the clone's `i2v_desktop/`) has no such folder inside the package: there the
files are the clone's own `resources/`, next to the package. Both are looked at, in that order, and
nothing else, so a stray `resources/` elsewhere on the path is never picked up.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from .errors import I2VError

# A file every copy of the folder holds: a folder named `resources` without it is someone else's.
MARKER = "models.json"


@cache
def resource_root() -> Path:
    """The folder holding the app's data files; raises I2VError naming where it looked."""
    return find_root(Path(str(resources.files("i2v_desktop"))))


def find_root(package: Path) -> Path:
    """The data folder for the package in `package`: inside it (installed), else beside it (a clone)."""
    candidates = (package / "resources", package.parent / "resources")
    for folder in candidates:
        if (folder / MARKER).is_file():
            return folder
    looked = " or ".join(str(folder) for folder in candidates)
    raise I2VError(f"the app's data files are missing: no {MARKER} in {looked} (reinstall i2v_desktop)")


def resource_path(*parts: str) -> Path:
    """A file or folder among the app's data files, e.g. resource_path("presets", "orbit.json").

    The path is returned whether or not it exists: the caller says what a missing one means."""
    return resource_root().joinpath(*parts)
