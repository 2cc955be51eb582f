"""What the batch dialog works out before a run, with no Qt: where the clips go by default, and the
words for the plan and for how a run ended."""

from __future__ import annotations

import os
from pathlib import Path

from ..core.batch import MANIFEST_SUFFIXES, BatchReport, clock
from ..core.request import GenerationRequest

OUTPUT_NAME = "batch"


def is_manifest(path: Path) -> bool:
    return path.suffix.lower() in MANIFEST_SUFFIXES


def default_output(source: str, videos: str) -> str:
    """A "batch" folder in the folder of photos, or next to the manifest: the clips stay with the
    catalogue they were made from (a folder's photos are the files directly in it, so the clips'
    folder inside it is never read as photos). Where that folder cannot be written (a shared
    catalogue, a card), a folder named after the source in `videos` (the user's Videos)."""
    path = Path(source)
    home = path if path.is_dir() else path.parent
    if os.access(home, os.W_OK):
        return str(home / OUTPUT_NAME)
    return str(Path(videos) / f"{path.stem or OUTPUT_NAME} {OUTPUT_NAME}")


def defaults_text(request: GenerationRequest, preset: str, model: str) -> str:
    """The window's clip settings that every row starts from, in one line."""
    parts = [preset, f"{request.duration:g} s", request.aspect, f"{request.quality} quality", model]
    if request.variants > 1:
        parts.append(f"{request.variants} variants")
    if request.loop:
        parts.append("looping")
    if request.prompt:
        prompt = request.prompt if len(request.prompt) <= 40 else request.prompt[:39] + "…"
        parts.append(f"“{prompt}”")
    return ", ".join(parts)


def plan_text(rows: int, to_render: int, earlier: int, bad: int) -> str:
    """"12 rows: 9 to render, 2 done by an earlier run (skipped), 1 cannot be made"."""
    text = f"{rows} row{'s' if rows != 1 else ''}: {to_render} to render"
    if earlier:
        text += f", {earlier} done by an earlier run (skipped)"
    if bad:
        text += f", {bad} cannot be made (see the reason)"
    return text


def ended_text(report: BatchReport | None, made: int, failed: int, total: int, seconds: float) -> str:
    """How a run went, in one line. `report` is None when the run was cancelled (the counts are
    then those of the rows that ended before it stopped)."""
    failures = f", {failed} failed" if failed else ""
    if report is None:
        return (f"Cancelled after {made} of {total} rows{failures} ({clock(seconds)}); "
                "Start goes on with the rest")
    skipped = f", {report.skipped} done earlier" if report.skipped else ""
    return f"Finished: {made} of {total} rows made{failures}{skipped} in {clock(seconds)}"
