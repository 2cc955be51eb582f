"""resources/THIRD_PARTY_NOTICES.md: the libraries the app runs on, with their versions, licences and
home pages, read from the installed distributions (importlib.metadata).

The list is the runtime dependency closure: pyproject.toml's own `dependencies` (not the test or
cluster extras), then each installed distribution's Requires-Dist whose environment markers hold
here, following the extras a requirement asks for. The GPU runtime libraries a CUDA or ROCm build
of torch brings are left out by name and named in a fixed note instead, so the file is the same
whichever torch build made it. Sorted by name; the same environment gives the same bytes.

    python scripts/third_party_notices.py             # rewrite resources/THIRD_PARTY_NOTICES.md
    python scripts/third_party_notices.py --out FILE  # write elsewhere
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
OUT = ROOT / "resources" / "THIRD_PARTY_NOTICES.md"
# What only a GPU build of torch installs (normalised names): NVIDIA's CUDA libraries, Triton.
GPU_RUNTIMES = re.compile(r"^(nvidia-.+|triton|pytorch-triton(-.+)?|cuda-.+)$")
HOMEPAGE_LABELS = ("homepage", "home", "source", "sourcecode", "repository", "code")
NOT_STATED = "not stated in its metadata"
HEADER = "| Library | Version | Licence | Home page |"
INTRO = """\
# Third-party notices

i2v_desktop is licensed under the Apache License 2.0 (LICENSE). It runs on the libraries below, each
under its own licence, as the library's own package metadata states it: the runtime dependencies of
`pip install i2v_desktop` and what they require in turn. The versions are those this file was made
with; an installation may hold others within the ranges pyproject.toml allows.

Made by `python scripts/third_party_notices.py` from the installed distributions; do not edit by hand.
"""
OUTRO = """
GPU builds of torch also install NVIDIA's CUDA libraries (the `nvidia-*` distributions) or AMD's
ROCm libraries, and Triton, each under its own licence (`pip show NAME` names it); the CPU build has
none of them. The models' licences are shown in Help > About and by `i2v models`; the sample photos'
are in samples/LICENSES.md.
"""


@dataclass(frozen=True, order=True)
class Notice:
    name: str
    version: str
    licence: str
    homepage: str


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_requirements(pyproject: Path = PYPROJECT) -> list[Requirement]:
    """The app's own runtime requirements, as pyproject.toml states them (the checkout's truth,
    not the metadata of whatever install of the app happens to be on the path)."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    return [Requirement(line) for line in project["dependencies"]]


def _applies(requirement: Requirement, extras: frozenset[str]) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({"extra": extra}) for extra in extras | {""})


def closure(roots: list[Requirement]) -> list[metadata.Distribution]:
    """Every installed distribution the roots need here, each once; raises SystemExit naming a
    requirement that is not installed (the notices would be incomplete)."""
    found: dict[str, metadata.Distribution] = {}
    extras_seen: dict[str, frozenset[str]] = {}
    # (requirement, who asks for it, the extras it was asked for with): a marker is judged with those.
    pending = [(requirement, "pyproject.toml", frozenset[str]()) for requirement in roots]
    while pending:
        requirement, wanted_by, asked_with = pending.pop()
        key = normalise(requirement.name)
        if GPU_RUNTIMES.match(key) or key == "i2v-desktop" or not _applies(requirement, asked_with):
            continue
        extras = frozenset(requirement.extras)
        if key in extras_seen and extras <= extras_seen[key]:
            continue
        try:
            dist = found.get(key) or metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            raise SystemExit(f"third_party_notices: {requirement.name} (required by {wanted_by}) is not "
                             "installed here; install the app's dependencies first") from None
        found[key] = dist
        extras_seen[key] = extras_seen.get(key, frozenset()) | extras
        pending += [(Requirement(line), dist.metadata["Name"], extras_seen[key]) for line in dist.requires or []]
    return list(found.values())


def licence(meta: metadata.PackageMetadata) -> str:
    """The SPDX expression where the metadata has one, else a short License field, else the
    License classifiers."""
    expression = (meta.get("License-Expression") or "").strip()
    if expression:
        return expression
    text = (meta.get("License") or "").strip()
    if text and "\n" not in text and len(text) <= 80 and text.upper() != "UNKNOWN":
        return text
    classifiers = sorted({entry.split(" :: ")[-1] for entry in meta.get_all("Classifier") or []
                          if entry.startswith("License ::")})
    return "; ".join(classifiers) or NOT_STATED


def homepage(meta: metadata.PackageMetadata) -> str:
    urls: dict[str, str] = {}
    for entry in meta.get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        urls.setdefault(re.sub(r"[\s_-]+", "", label).lower(), url.strip())
    for label in HOMEPAGE_LABELS[:2]:
        if urls.get(label):
            return urls[label]
    if (meta.get("Home-page") or "").strip():
        return meta["Home-page"].strip()
    return next((urls[label] for label in HOMEPAGE_LABELS[2:] if urls.get(label)), "")


def notices(roots: list[Requirement] | None = None) -> list[Notice]:
    made = [Notice(normalise(dist.metadata["Name"]), dist.version, licence(dist.metadata), homepage(dist.metadata))
            for dist in closure(runtime_requirements() if roots is None else roots)]
    return sorted(made)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(rows: list[Notice]) -> str:
    lines = [INTRO, HEADER, "|---|---|---|---|"]
    lines += [f"| {_cell(n.name)} | {_cell(n.version)} | {_cell(n.licence)} | {_cell(n.homepage)} |" for n in rows]
    return "\n".join(lines) + "\n" + OUTRO


def parse(text: str, source: str = "THIRD_PARTY_NOTICES.md") -> list[Notice]:
    """The rows of a notices file; raises ValueError naming the line that is not one."""
    lines = text.splitlines()
    if HEADER not in lines:
        raise ValueError(f"{source}: no table (its header line is missing)")
    rows = []
    for number, line in enumerate(lines[lines.index(HEADER) + 2:], lines.index(HEADER) + 3):
        if not line.startswith("|"):
            break
        cells = [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) != 4:
            raise ValueError(f"{source}, line {number}: {len(cells)} cells, not 4")
        rows.append(Notice(*cells))
    return rows


def write(path: Path, text: str) -> None:
    """Temp file and rename: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write (default {OUT.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    rows = notices()
    write(args.out, render(rows))
    print(f"{args.out}: {len(rows)} libraries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
