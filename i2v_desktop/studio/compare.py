"""Compare: the same photo through two to four models, presets or quality tiers, side by side.

Each take is a normal render (its clip and sidecar go where renders go, scored as always); the
comparison adds a labelled grid MP4 that plays the takes in sync, a contact sheet, and a table of
scores and render times, written as CSV. A take that cannot run here (a model too big for this
machine, one not downloaded, a setting the model cannot make) is skipped with the one-line reason.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..core.cancel import CancelToken
from ..core.errors import I2VError
from ..core.events import EventSink
from ..core.request import GenerationRequest
from ..core.studio import ModelChoice
from ..export.compare import MAX_TAKES, Take, contact_sheet, write_compare, write_png
from ..export.files import check_destination, commit, create_temp, remove
from ..quality.scorecard import Scorecard
from .render import Output

MEASURES = ("motion", "flicker", "subject", "colour_drift", "loop_seam", "motion_adherence")


@dataclass(frozen=True)
class Planned:
    """What a comparison will render: its takes (one request each) and the ones it skips, with why."""

    takes: tuple[GenerationRequest, ...]
    skipped: tuple[str, ...]


@dataclass(frozen=True)
class Result:
    """One take as rendered: what it was, how long it took, how it scored, where its clip is."""

    request: GenerationRequest
    model_name: str
    preset_name: str
    seconds: float  # the engine's time for the clip (loading included the first time a model runs)
    clip: Path
    score: Scorecard | None
    frames: np.ndarray  # the clip's frames, for the grid (not read back from the MP4)
    fps: float

    def label(self, axes: Sequence[str]) -> tuple[str, str]:
        """Two lines for the grid: what differs between the takes first, then time and score."""
        words = {"model": self.model_name, "preset": self.preset_name, "quality": self.request.quality}
        head = " | ".join(words[a] for a in axes) or self.model_name
        score = f" | score {self.score.overall:.2f}" if self.score is not None else " | no score"
        return head, f"{self.seconds:.1f} s{score}"


def plan_comparison(base: GenerationRequest, models: Sequence[ModelChoice], presets: Sequence[str],
                    qualities: Sequence[str], check: Callable[[GenerationRequest], None]) -> Planned:
    """Every model × preset × quality take of `base` (one variant each, the same seed), minus those
    that cannot run here; ValueError when fewer than two or more than MAX_TAKES remain."""
    takes, skipped = [], []
    for model, preset, quality in itertools.product(models, presets, qualities):
        why = _cannot_run(model, quality, base.try_anyway)
        request = replace(base, model=model.id, preset=preset, quality=quality, variants=1)
        if not why:
            try:
                check(request)
            except I2VError as exc:
                why = str(exc)
        if why:
            skipped.append(f"skipped {model.id} {preset} {quality}: {why}")
        else:
            takes.append(request)
    if not 2 <= len(takes) <= MAX_TAKES:
        asked = len(models) * len(presets) * len(qualities)
        raise ValueError(f"a comparison needs 2 to {MAX_TAKES} takes that can run here: {asked} asked, "
                         f"{len(takes)} can run" + (f" ({'; '.join(skipped)})" if skipped else ""))
    return Planned(tuple(takes), tuple(skipped))


def _cannot_run(model: ModelChoice, quality: str, try_anyway: bool) -> str:
    if not model.qualities:
        return f"{model.name} is an add-on, not a video model"
    if quality not in model.qualities:
        return f"{model.name} has no {quality} quality (it offers {', '.join(model.qualities)})"
    if model.installed is False:  # a comparison never starts a download of tens of GB
        return f"{model.name} is not downloaded (i2v download {model.id})"
    if model.fit is not None and model.fit.runs is False and not try_anyway:
        return f"{model.name} does not fit this machine ({model.fit.reason}; try anyway to run it: {model.fit.cost})"
    return ""


def axes(takes: Sequence[GenerationRequest]) -> tuple[str, ...]:
    """What differs between the takes ("model", "preset", "quality"), in that order."""
    return tuple(a for a in ("model", "preset", "quality") if len({getattr(t, a) for t in takes}) > 1)


def run_comparison(takes: Sequence[GenerationRequest], names: dict[str, str], out: Path,
                   render: Callable[[GenerationRequest, EventSink], list[Output]], on_event: EventSink,
                   cancel: CancelToken) -> list[Result]:
    """Render each take in order (`render` writes its clip into `out`); the results, in take order.
    `names`: model and preset names by id, for the labels."""
    results = []
    for request in takes:
        cancel.raise_if_cancelled()
        [output] = render(request, on_event)
        results.append(Result(request, names.get(request.model, request.model),
                              names.get(request.preset, request.preset), output.clip.info.elapsed_s,
                              output.mp4, output.score, output.clip.frames, output.clip.fps))
    return results


def write_comparison(results: Sequence[Result], folder: Path, stem: str) -> tuple[Path, Path, Path]:
    """The grid MP4, the contact sheet (PNG) and the table (CSV) of one photo's comparison, as
    STEM-compare.*; the names they were saved under."""
    labels = axes([r.request for r in results])
    takes = [Take(r.frames, r.fps, r.label(labels)) for r in results]
    mp4 = write_compare(takes, folder / f"{stem}-compare.mp4")
    png = write_png(contact_sheet(takes), folder / f"{stem}-compare.png")
    table = folder / f"{stem}-compare.csv"
    check_destination(table)
    tmp = create_temp(table)
    try:
        tmp.write_text(table_csv(results), encoding="utf-8", newline="")
        table = commit(tmp, table)
    except BaseException:
        remove(tmp)
        raise
    return mp4, png, table


def table_rows(results: Sequence[Result]) -> list[dict[str, str]]:
    """The comparison's table: a row per take, its settings, time, overall score and each measure."""
    rows = []
    for r in results:
        scores = r.score.scores() if r.score is not None else {}
        row = {"photo": Path(r.request.image).name, "model": r.request.model, "preset": r.request.preset,
               "quality": r.request.quality, "seed": str(r.request.seed), "seconds": f"{r.seconds:.1f}",
               "overall": f"{r.score.overall:.3f}" if r.score is not None else ""}
        row.update({m: f"{scores[m].value:.3f}" if m in scores else "" for m in MEASURES})
        # Whether the take did the move asked for, 0..1: the measure creators compare models on.
        adherence = scores.get("motion_adherence")
        row["move_match"] = f"{adherence.rating:.2f}" if adherence is not None else ""
        row["clip"] = r.clip.name
        rows.append(row)
    return rows


def table_csv(results: Sequence[Result]) -> str:
    rows = table_rows(results)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue()
