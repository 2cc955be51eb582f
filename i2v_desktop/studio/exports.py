"""Export: one clip for one platform (`export_to`), and the loop over many that the window and the
command line share (`export_many`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from .. import __version__
from ..core.cancel import CancelToken
from ..core.durable import MAX_STEM_BYTES, clear_stale_parts, fit_stem
from ..core.errors import Cancelled, ExportError, I2VError, InputError, os_reason
from ..core.framing import fit_image
from ..core.image import load_image
from ..core.studio import ExportJob, ExportProgress, ExportReport
from ..export.audio import read_audio
from ..export.mp4 import read_frames
from ..export.social import ExportLibrary, ExportPreset, export_clip
from ..quality.scorecard import correct_colour
from .records import METADATA_KEY, read_record, record_text
from .render import free_path, photo_beside


def export_to(
    clip_path: Path,
    preset: ExportPreset,
    out_dir: Path,
    *,
    loop: bool | None = None,
    fps: float | None = None,
    duration: float | None = None,
    fill: str = "frame",
    extend: str = "repeat",
    match_colour: bool = False,
    on_progress: Callable[[float], None] | None = None,
    on_note: Callable[[str], None] | None = None,
    name: str | None = None,
) -> Path:
    """Export one clip for a platform into out_dir as `name`.EXT (default NAME_PRESET), carrying
    its record and its sound along; the file's path. An existing file is never overwritten: the
    export goes to NAME-2.EXT… when the name is taken, even by another process exporting at once.

    `match_colour` pulls the clip's colours back to its photo's (for takes that drifted)."""
    clear_stale_parts(out_dir)  # what an export killed here earlier left behind
    frames, rate = read_frames(clip_path)
    audio = read_audio(clip_path)
    try:
        record = read_record(clip_path)
    except I2VError:
        record = None  # not one of ours: exported all the same, without settings to carry
    if loop is None:
        loop = record is not None and record.loop
    if match_colour:
        if record is None:
            raise InputError(f"{clip_path}: --match-colour needs the clip's photo, and this clip does not name it")
        request = photo_beside(record, clip_path).request()
        if not Path(request.image).is_file():
            raise InputError(f"{clip_path}: --match-colour needs the clip's photo, {request.image}, next to the clip")
        height, width = frames.shape[1:3]
        photo = load_image(request.image, max_pixels=max(4 * width * height, 2_000_000))
        frames = correct_colour(frames, fit_image(photo, (width, height), request.crop_center)[0])
    metadata = {}
    if record is not None:
        # The export leaves the history: it names the photo by its file name only.
        metadata = {METADATA_KEY: record_text(record.public()),
                    "comment": f"i2v_desktop {__version__}: exported for {preset.name}"}
    if name is None:  # the clip's name cut, never the preset's: each export of one clip keeps its own
        tail = f"_{preset.id}"
        name = fit_stem(clip_path.stem, MAX_STEM_BYTES - len(tail.encode("utf-8"))) + tail
    target = free_path(out_dir, name, preset.extension)
    return export_clip(frames, rate or 24.0, preset, target, metadata=metadata, loop=loop, fps_override=fps,
                       duration=duration, fill=fill, extend=extend, on_progress=on_progress,
                       on_note=on_note, audio=audio)


def export_many(jobs: Sequence[ExportJob], cancel: CancelToken, on_progress: ExportProgress | None = None, *,
                library: ExportLibrary) -> ExportReport:
    """Export clips one after the other. A clip that fails is one line in the report and the rest go
    on; a cancel stops the file being written at once (nothing of it is left) and the rest never start."""
    written: list[Path] = []
    failed: list[str] = []
    notes: list[str] = []
    for index, job in enumerate(jobs):
        if cancel.cancelled:
            return ExportReport(tuple(written), tuple(failed), cancelled=True, notes=tuple(notes))

        def progress(fraction: float, index: int = index) -> None:
            cancel.raise_if_cancelled()
            if on_progress is not None:
                on_progress(index, fraction)

        try:
            preset = library.get(job.preset)
            try:
                job.folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ExportError(f"{job.folder}: cannot create the folder ({os_reason(exc)})") from None
            written.append(export_to(job.clip, preset, job.folder, loop=job.loop, fps=job.fps,
                                     duration=job.duration, fill=job.fill, extend=job.extend,
                                     match_colour=job.match_colour, on_progress=progress, on_note=notes.append,
                                     name=job.stem))
        except Cancelled:
            return ExportReport(tuple(written), tuple(failed), cancelled=True, notes=tuple(notes))
        except I2VError as exc:
            line = str(exc)  # names the file it is about; an error about the preset is told which clip
            failed.append(line if job.clip.name in line else f"{job.clip}: {line}")
    return ExportReport(tuple(written), tuple(failed), cancelled=False, notes=tuple(notes))
