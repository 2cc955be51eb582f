"""The `i2v` command line: batch renders on the same core and engines as the window."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Sequence, TextIO

from .. import __version__
from ..core.cancel import CancelToken
from ..core.errors import I2VError, ModelError
from ..core.events import (
    Cancelled,
    DownloadProgress,
    Event,
    Failed,
    Finished,
    StageChanged,
    StepProgress,
    Warned,
)
from ..core.request import ASPECTS, QUALITIES, GenerationRequest, random_seed
from ..core.settings import DEFAULTS
from ..core.studio import ExportJob, Studio
from ..studio.catalog import FAMILIES, OFFLOAD_MODES, SPEED_MODES
from . import options
from .options import OneLineParser, one_line


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="i2v", description="Turn still photos into short video clips.")
    parser.add_argument("--version", action="version", version=f"i2v_desktop {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    render = sub.add_parser("render", help="render photos into MP4 clips")
    render.add_argument("images", nargs="+", metavar="IMAGE", help="photos to animate (JPEG, PNG, WebP, TIFF, BMP, GIF)")
    _clip_options(render, "")
    render.add_argument("--motion-prompt", default=None,
                        help="your own motion words (default: the preset's, for the chosen model)")
    render.add_argument("--negative-prompt", default="", help="what to avoid (default: the model's own)")
    render.add_argument("--end-image", type=Path, default=None, metavar="IMAGE",
                        help="the photo the clip ends on (a second photo, or an edited copy of the first), on "
                             "the models that can (see `i2v models`)")
    render.add_argument("--keyframes", type=options.keyframes, default=(), metavar="X,Y,W;X,Y,W",
                        help="the instant engine's camera as framings of the photo: start;[middle;]end, each a "
                             "centre (0-1) and a width (0.05-1 of the widest crop), e.g. 0.5,0.5,1;0.6,0.4,0.4")
    render.add_argument("--enhance-prompt", action="store_true",
                        help="let the model's prompt enhancer rewrite the prompt and motion for each photo "
                             "(printed), then render with it")
    render.add_argument("--seed", type=options.seed, default=None, help="random seed (default: a new one, printed)")
    render.add_argument("--steps", type=options.steps, default=None, help="denoising steps (default: the model's)")
    render.add_argument("--guidance", type=options.guidance, default=None, help="guidance scale (default: the model's)")
    render.add_argument("--out", type=Path, default=Path("."), help="output folder (default: current folder)")
    render.add_argument("--lora", type=options.lora_file, action="append", default=[], metavar="FILE[:STRENGTH]",
                        help="one of your own LoRA files (.safetensors: a path, or a file's name in the LoRA "
                             "folder) at STRENGTH (default 1, from -2 to 2), checked against the model first; "
                             "repeatable (see `i2v loras`)")
    render.add_argument("--camera-lora", type=options.camera_strength, default=None, metavar="STRENGTH|off",
                        help="the preset's camera-control LoRA at this strength, or off for its prompt words "
                             "alone (default: the preset's strength, where the model has one downloaded)")
    render.add_argument("--try-anyway", action="store_true",
                        help="run a model too big for this machine anyway (see `i2v doctor`): on the processor "
                             "it takes hours per clip, with sequential offload 10x longer or more")

    from .compare import add_parser as add_compare

    add_compare(sub)

    batch = sub.add_parser("batch", help="render a catalogue: a manifest (CSV or JSON Lines, a row per clip) or a "
                           "folder of photos, on every GPU or core here or on a Ray cluster; resumable")
    batch.add_argument("source", metavar="MANIFEST",
                       help="a .csv or .jsonl manifest (columns: photo, then any of preset, prompt, aspect, duration, "
                            "fps, model, quality, variants, seed, loop, exports, …) or a folder of photos; "
                            "a path or a storage URL (s3://…)")
    batch.add_argument("--out", required=True, metavar="DIR",
                       help="where the clips, exports, sidecars and results.csv go (a folder or a storage URL)")
    _clip_options(batch, " for rows that do not say")
    batch.add_argument("--workers", type=options.workers, default=None, metavar="N",
                       help="at most N workers (default: one per GPU for diffusion models, one per core for the "
                            "instant engine)")
    batch.add_argument("--ray", default=None, metavar="ADDRESS",
                       help="run on a Ray cluster: its address, `auto` for the one this machine belongs to, or "
                            "`local` for one on this machine (needs `pip install 'i2v_desktop[cluster]'`)")

    export = sub.add_parser("export", help="export clips for Reels, TikTok, Shorts, editors or the web")
    export.add_argument("clips", nargs="*", metavar="CLIP", help="clips to export")
    export.add_argument("--preset", action="append", default=[], help="export preset id; repeatable")
    export.add_argument("--out", type=Path, default=Path("."), help="output folder (default: current folder)")
    export.add_argument("--fps", type=options.fps, default=None, help="frame rate (default: the preset's)")
    export.add_argument("--loop", action="store_true", default=None, help="the clip loops (default: from its metadata)")
    export.add_argument("--duration", type=options.export_duration, default=None, help="length in seconds (default: the clip's, "
                        "extended to the platform's minimum)")
    export.add_argument("--fill", choices=("frame", "blur"), default="frame",
                        help="another aspect: frame around the subject, or fill with a blurred copy")
    export.add_argument("--extend", choices=("repeat", "boomerang"), default="repeat",
                        help="how a short clip is lengthened when it does not loop by itself")
    export.add_argument("--match-colour", action="store_true",
                        help="pull the clip's colours back to its photo's (for a take that drifted)")
    export.add_argument("--list", action="store_true", help="list the export presets")

    score = sub.add_parser("score", help="score clips: motion, flicker, subject, colour drift, loop seam")
    score.add_argument("clips", nargs="+", metavar="CLIP", help="MP4 files")
    score.add_argument("--source", type=Path, default=None,
                       help="the photo (default: the one named in the clip's own metadata)")
    score.add_argument("--loop", action="store_true", help="score the loop seam too (default: from the metadata)")
    score.add_argument("--json", action="store_true", help="print the scores as JSON")

    info = sub.add_parser("info", help="the settings and scores a clip was made with (from its own metadata)")
    info.add_argument("clips", nargs="+", metavar="CLIP", help="MP4 or MOV files made by i2v")
    info.add_argument("--json", action="store_true", help="print the whole record as JSON")

    sub.add_parser("models", help="list the models: size, memory, whether they fit here, licence, state")
    sub.add_parser("doctor", help="this machine's GPU, memory, disk and torch, and which models fit it")
    sub.add_parser("presets", help="list the motion presets")
    loras = sub.add_parser("loras", help="your LoRA folder's files and whether each fits a model, and the camera "
                           "LoRA each preset uses on it")
    loras.add_argument("--model", default=None, help="model id (see `i2v models`) or a local diffusers folder "
                                                     "(default: the best one here, as `i2v doctor` says)")
    download = sub.add_parser("download", help="download a model's weights (and its fast tier's LoRA, tiny "
                              "decoder and camera LoRAs) into the Hugging Face cache; Ctrl+C pauses, running it "
                              "again resumes")
    download.add_argument("model", help="model id (see `i2v models`)")
    remove = sub.add_parser("remove", help="delete a model's downloaded files (those no other model here uses)")
    remove.add_argument("model", help="model id (see `i2v models`), or a folder or checkpoint you added")

    bench = sub.add_parser("bench", help="measure step time, preview overhead and memory on this machine")
    bench.add_argument("--family", choices=(*FAMILIES, "all"), default="all")
    bench.add_argument("--steps", type=options.steps, default=8)
    bench.add_argument("--real", action="store_true", help="real model architectures (random weights; needs a GPU)")
    bench.add_argument("--dry-run", action="store_true",
                       help="with --real: plan on the CPU with meta tensors (shapes, FLOPs, what would run)")
    bench.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the results as JSON")
    bench.add_argument("--memory-gb", type=options.memory_gb, default=None, metavar="GB",
                       help="with --real: use at most this much GPU memory, as on a smaller card")
    bench.add_argument("--seed-clips", type=options.seed_clips, default=12, metavar="N",
                       help="with --real: clips of the seed job to run (all 12 cost the same; 0 leaves it out)")
    bench.add_argument("--instant", action="store_true",
                       help="the instant engine on a 12 MP photo against ffmpeg's zoompan")
    bench.add_argument("--export", action="store_true",
                       help="a 3 s 720p clip exported for Reels at 30 fps, against a plain ffmpeg re-encode")
    bench.add_argument("--score", action="store_true", help="scoring a 3 s 720p clip")
    return parser


def _clip_options(parser: argparse.ArgumentParser, where: str) -> None:
    """The clip settings `render` and `batch` share (for a batch, the defaults of rows that do not say)."""
    add = parser.add_argument
    add("--preset", default=DEFAULTS.preset, help=f"motion preset id{where} (see `i2v presets`; default {DEFAULTS.preset})")
    add("--intensity", type=options.intensity, default=DEFAULTS.intensity,
        help=f"how strong the motion is, 0–1 (default {DEFAULTS.intensity:g})")
    add("--duration", type=options.duration, default=DEFAULTS.duration, help=f"clip length in seconds (default {DEFAULTS.duration:g})")
    add("--fps", type=options.fps, default=DEFAULTS.fps, help="frame rate (default: the model's own)")
    add("--aspect", choices=list(ASPECTS), default=DEFAULTS.aspect, help=f"frame shape (default {DEFAULTS.aspect})")
    add("--quality", choices=QUALITIES, default=DEFAULTS.quality,
        help="draft, standard or final; fast: 4 steps, on the models that offer it (see `i2v models`)")
    add("--prompt", default="", help="describe the subject; the preset adds the motion")
    add("--variants", type=options.variants, default=DEFAULTS.variants, help="clips per photo, seeds seed, seed+1, …")
    add("--model", default=None, help=f"model id{where} (see `i2v models`) or a local diffusers folder "
                                      "(default: the best one here, as `i2v doctor` says)")
    add("--loop", action="store_true", default=DEFAULTS.loop, help="ask for a clip that loops")
    add("--sound", action="store_true",
        help="make sound with the picture, an AAC track in the MP4 (models that can: see `i2v models`)")
    add("--crf", type=options.crf, default=18, help="H.264 quality, lower is better (default 18)")
    add("--device", choices=("cuda", "mps", "cpu"), default=None, help="default: best available")
    add("--offload", choices=OFFLOAD_MODES, default="auto", help="memory saving (default auto)")
    add("--speed", choices=SPEED_MODES, default="auto",
        help="speed switches chosen for this GPU (auto), or plain diffusers (off)")
    add("--export", metavar="PRESET", action="append", default=[],
        help=f"also export each clip for a platform{where} (see `i2v export --list`); repeatable")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from .stop import stop_on_sigterm

    stop_on_sigterm()
    try:
        code = _command(args)
        sys.stdout.flush()  # a reader that went away shows here, not as a traceback at exit
        return code
    except BrokenPipeError:
        return _reader_gone()
    except I2VError as exc:
        print(f"i2v: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except OSError as exc:  # the disk or the file system said no: one line naming the file
        print(f"i2v: {_os_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ni2v: interrupted", file=sys.stderr)
        return 130


def _command(args: argparse.Namespace) -> int:
    if args.command == "render":
        return cmd_render(args)
    if args.command == "compare":
        from .compare import cmd_compare

        return cmd_compare(args)
    if args.command == "batch":
        from .batch import cmd_batch

        return cmd_batch(args)
    if args.command == "export":
        return cmd_export(args)
    if args.command == "info":
        return cmd_info(args)
    if args.command == "score":
        return cmd_score(args)
    if args.command == "models":
        from .models import cmd_models

        return cmd_models()
    if args.command == "doctor":
        from .models import cmd_doctor

        return cmd_doctor()
    if args.command == "presets":
        return cmd_presets()
    if args.command == "loras":
        from .loras import cmd_loras

        return cmd_loras(args)
    if args.command == "download":
        from .models import cmd_download

        return cmd_download(args.model)
    if args.command == "remove":
        from .models import cmd_remove

        return cmd_remove(args.model)
    if args.command == "bench" and args.export:
        from ..bench.export import run

        return run()
    if args.command == "bench" and args.score:
        from ..bench.score import run as run_score

        return run_score()
    if args.command == "bench" and args.instant:
        from ..bench.instant import run_benchmark

        return run_benchmark()
    if args.command == "bench":
        from ..bench.run import run_bench

        return run_bench(args.family, args.steps, args.real, json_path=args.json, memory_gb=args.memory_gb,
                         dry=args.dry_run, seed_clips=args.seed_clips)
    return 2


def _reader_gone() -> int:
    """`i2v info CLIP | head -3`: the reader closed the pipe. End quietly like a standard tool,
    with the status a shell shows for SIGPIPE. Python would otherwise flush stdout again at exit
    into the closed pipe and print a second error (see "Note on SIGPIPE" in Python's signal docs)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is no real file (a test's capture)
        pass
    return 141


def _os_line(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    return f"{exc.filename}: {reason}" if exc.filename else reason


# -- render -----------------------------------------------------------------------------------


def cmd_render(args: argparse.Namespace) -> int:
    from ..studio.local import user_studio
    from ..studio.render import render_to_files

    studio, problems = user_studio(device=args.device, offload=args.offload, speed=args.speed, open_history=False)
    _skipped(problems)
    model = studio.model(args.model or studio.machine().default_model)
    if not model.qualities:  # an add-on (the depth model) makes no clip of its own
        raise I2VError(f"{model.name} is an add-on of the instant engine, not a video model: choose another model")
    if args.quality not in model.qualities:
        others = [choice.id for choice in studio.models(look=False) if args.quality in choice.qualities]
        raise I2VError(f"{model.name} has no {args.quality} quality (it offers {', '.join(model.qualities)}); "
                       f"{args.quality} is offered by {', '.join(others) or 'no installed model'}")
    formats = {choice.id: choice for choice in studio.export_choices()}
    for name in args.export:
        if name not in formats:
            raise I2VError(f"unknown export preset {name!r} (choose from {', '.join(sorted(formats))})")
    from .loras import chosen_loras

    uses = chosen_loras(studio, model, args.lora)  # a file that does not fit stops here, in one line
    seed = random_seed() if args.seed is None else args.seed
    base = dict(
        preset=args.preset, intensity=args.intensity, prompt=args.prompt, motion_prompt=args.motion_prompt,
        negative_prompt=args.negative_prompt,
        duration=args.duration, fps=args.fps, aspect=args.aspect, quality=args.quality, seed=seed,
        variants=args.variants, model=model.id, steps=args.steps, guidance=args.guidance, loop=args.loop,
        sound=args.sound, loras=uses, camera_lora=args.camera_lora,
        try_anyway=args.try_anyway, end_image=None if args.end_image is None else str(args.end_image.resolve()),
        keyframes=args.keyframes,
    )
    requests = [GenerationRequest(image=str(Path(image).resolve()), **base) for image in args.images]
    studio.check(requests[0])  # what the model cannot make at all, before anything loads
    if args.enhance_prompt and not model.enhancer:
        raise ModelError(f"{model.name} ships no prompt enhancer")
    one_clip = next(p for p in studio.presets() if p.id == args.preset).one_clip_reason(model.family)
    if one_clip and args.variants > 1:  # copies of one clip would only cost time
        print(f"i2v: {one_clip}, not {args.variants}", file=sys.stderr)
        args.variants = 1
        requests = [replace(request, variants=1) for request in requests]
    out: Path = args.out
    _writable(out)
    print(f"i2v: {len(requests)} photo(s) × {args.variants} variant(s) with {model.name}, seed {seed}", file=sys.stderr)
    for use in uses:
        expert = f" ({use.expert} noise)" if use.expert != "both" else ""
        print(f"i2v: LoRA {Path(use.path).name} at {use.strength:g}{expert}", file=sys.stderr)
    camera = studio.camera_lora(model.id, args.preset)
    if camera.id or args.camera_lora is not None:  # what makes the move: its camera LoRA, or why words only
        if args.camera_lora == 0:
            line = "off: the preset's prompt words alone"
        elif args.camera_lora is not None and camera.ready:
            line = f"{camera.name} at strength {args.camera_lora:g} makes the move, with the prompt words"
        else:
            line = camera.note
        print(f"i2v: camera: {line}", file=sys.stderr)

    engine = studio.engines.for_model(model.id)
    # Everything loaded so far lives as long as the command: the garbage collector's passes (while
    # rendering, and the several at exit) need not walk it again. That is 0.07 s off the end of
    # a render, where the user waits for the prompt.
    gc.freeze()
    cancel = CancelToken()
    written, failed = [], []
    started = time.perf_counter()
    try:
        for request in requests:
            display = _Progress(Path(request.image).name, request.variants, sys.stderr)
            try:  # one photo's trouble is its own line in the summary: the others still render
                for note in studio.framing_notes(request):  # before the render, what it will do badly
                    print(f"i2v: ⚠ {note}", file=sys.stderr)
                if args.enhance_prompt:
                    request = _enhanced(studio, request)
                # Only the files are wanted: the frames are not kept once written (less memory).
                outputs = render_to_files(engine, request, out, display, cancel, crf=args.crf,
                                          keep_frames=False)
            except (I2VError, OSError) as exc:
                line = str(exc) if isinstance(exc, I2VError) else f"{request.image}: {_os_line(exc)}"
                display(Failed(line))
                failed += display.failures
                continue
            written += outputs
            failed += display.failures
    except KeyboardInterrupt:
        cancel.cancel()
        raise
    elapsed = time.perf_counter() - started
    print(f"\ni2v: {len(written)} clip(s) written to {out} in {elapsed:.1f} s", file=sys.stderr)
    for output in written:
        info = output.clip.info
        print(f"  {output.mp4}  {info.width}×{info.height}, {info.num_frames} frames, {info.duration:.2f} s @ {info.fps:g} fps")
        for note in info.notes:
            print(f"    note: {note}")
        if output.score is not None:
            flags = [s.reason for s in output.score.scores().values() if s.flagged]
            print(f"    {output.score.summary()}" + (f"  ⚠ {'; '.join(flags)}" if flags else ""))
        if args.export:
            report = studio.export_many([ExportJob(output.mp4, name, out) for name in args.export], cancel)
            for path in report.written:
                print(f"    → {path}")
            for note in report.notes:
                print(f"    note: {note}")
            failed += report.failed
    if failed:
        print(f"i2v: {len(failed)} failed:", file=sys.stderr)
        for reason in failed:
            print(f"  {one_line(reason)}", file=sys.stderr)
        return 1
    return 0


def _enhanced(studio: Studio, request: GenerationRequest) -> GenerationRequest:
    """The request with its prompt rewritten by the model's enhancer for its photo, printed.

    The enhancer is given the subject and the preset's motion words together and writes one prompt
    for both, so the render adds no motion words of its own."""
    words = (studio.motion_words(request.model, request.preset, request.intensity)
             if request.motion_prompt is None else request.motion_prompt)
    raw = ". ".join(p.strip().rstrip(".") for p in (request.prompt, words) if p.strip())
    print(f"i2v: improving the prompt for {Path(request.image).name} with {request.model}…", file=sys.stderr)
    text = studio.enhance_prompt(request.model, request.image, raw, CancelToken())
    print(f"{Path(request.image).name}: {text}")
    return replace(request, prompt=text, motion_prompt="")


def _skipped(problems: list[str]) -> None:
    for problem in problems:
        print(f"i2v: skipped {problem}", file=sys.stderr)


class _Progress:
    """One progress line per clip on a terminal; plain stage lines when output is redirected."""

    def __init__(self, name: str, variants: int, stream: TextIO) -> None:
        self.name, self.variants, self.stream = name, variants, stream
        self.tty = stream.isatty()
        self.variant = 1
        self.stage = ""
        self.failures: list[str] = []

    def _label(self) -> str:
        return f"{self.name}" + (f" [{self.variant}/{self.variants}]" if self.variants > 1 else "")

    def _line(self, text: str, final: bool = False) -> None:
        if self.tty:
            width = shutil.get_terminal_size((100, 20)).columns - 1
            self.stream.write("\r" + text[:width].ljust(width) + ("\n" if final else ""))
        elif final or not text.startswith(" "):
            self.stream.write(text + "\n")
        self.stream.flush()

    def __call__(self, event: Event) -> None:
        match event:
            case StageChanged(stage=stage, detail=detail):
                self.stage = stage.value
                text = f"{self._label()}: {stage.value}" + (f" ({detail})" if detail else "")
                self._line(text, final=not self.tty)
            case DownloadProgress(done_bytes=done, total_bytes=total):
                bar = _bar(done / total if total else 0)
                self._line(f"{self._label()}: downloading {bar} {done / 1e9:.2f}/{total / 1e9:.2f} GB")
            case StepProgress(step=step, total=total, elapsed_s=elapsed, eta_s=eta):
                if self.tty:
                    self._line(
                        f"{self._label()}: {self.stage} {_bar(step / total)} {step}/{total}"
                        f"  {_clock(elapsed)} elapsed, {_clock(eta)} left"
                    )
            case Warned(reason=reason):
                self._line(f"{self._label()}: ⚠ {one_line(reason)}", final=True)
            case Finished(clip=clip):
                self._line(f"{self._label()}: done in {clip.info.elapsed_s:.1f} s", final=True)
                self.variant += 1
            case Failed(reason=reason):
                self._line(f"{self._label()}: failed: {one_line(reason)}", final=True)
                self.failures.append(reason)
                self.variant += 1
            case Cancelled():
                self._line(f"{self._label()}: cancelled", final=True)


def _writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise I2VError(f"{out}: cannot create output folder ({exc.strerror})") from None
    if not os.access(out, os.W_OK):
        raise I2VError(f"{out}: folder is not writable")


def cmd_export(args: argparse.Namespace) -> int:
    from ..studio.catalog import user_exports
    from ..studio.exports import export_many

    library = user_exports()
    _skipped([f"export preset {problem}" for problem in library.problems])
    if args.list:
        rows = [("id", "name", "size", "fps", "length", "description")]
        for preset in library.presets.values():
            size = f"{preset.width or 'clip'}×{preset.height or 'clip'}" if preset.width or preset.height else "clip's own"
            length = f"{preset.min_duration:g}–{preset.max_duration:g} s"
            rows.append((preset.id, preset.name, size, f"{preset.fps:g}" if preset.fps else "clip's", length,
                         preset.description))
        _table(rows)
        return 0
    if not args.clips:
        raise I2VError("export: name the clips to export (or --list the presets)")
    if not args.preset:
        raise I2VError(f"export: choose --preset from {', '.join(library.ids())}")
    presets = [library.get(name) for name in args.preset]
    _writable(args.out)
    jobs = [ExportJob(Path(clip), preset.id, args.out, loop=args.loop, fps=args.fps, duration=args.duration,
                      fill=args.fill, extend=args.extend, match_colour=args.match_colour)
            for clip in args.clips for preset in presets]
    tty = sys.stderr.isatty()

    def progress(index: int, fraction: float) -> None:
        if tty:
            job = jobs[index]
            sys.stderr.write(f"\r{job.clip.name} → {library.get(job.preset).name}: {_bar(fraction)} {fraction:4.0%}")
            sys.stderr.flush()

    cancel = CancelToken()
    try:
        report = export_many(jobs, cancel, progress, library=library)
    except KeyboardInterrupt:
        cancel.cancel()
        raise
    if tty:
        sys.stderr.write("\r" + " " * shutil.get_terminal_size((100, 20)).columns + "\r")
    for path in report.written:
        print(path)
    for note in report.notes:
        print(f"i2v: note: {note}", file=sys.stderr)
    for line in report.failed:
        print(f"i2v: {one_line(line)}", file=sys.stderr)
    if report.failed:
        print(f"i2v: {len(report.failed)} export(s) failed", file=sys.stderr)
    return 1 if report.failed else 0


def cmd_info(args: argparse.Namespace) -> int:
    import json

    from ..studio.intact import truncation
    from ..studio.records import read_record, score_summary, sound_summary

    failed = 0
    for path in args.clips:
        try:
            record = read_record(Path(path))
        except I2VError as exc:
            print(f"i2v: {one_line(str(exc))}", file=sys.stderr)
            failed += 1
            continue
        if args.json:
            print(json.dumps(record.to_dict(), indent=2, ensure_ascii=False))
            continue
        try:
            request = record.request()
        except I2VError as exc:  # the settings are there but no longer read: say so, show the rest
            print(f"{path}: made by {record.app}; its settings cannot be read ({exc})")
            continue
        made = record.render
        print(f"{path}: made by {record.app}")
        print(f"  photo     {request.image}")
        print(f"  motion    {request.preset} at {request.intensity:g}" + (", looping" if request.loop else ""))
        if request.prompt:
            print(f"  prompt    {request.prompt}")
        print(f"  model     {record.model} ({made.get('engine')}), seed {record.seed}, {made.get('steps')} steps")
        print(f"  clip      {made.get('width')}×{made.get('height')}, {made.get('num_frames')} frames, "
              f"{record.duration or 0:.2f} s @ {record.fps or 0:g} fps")
        print(f"  sound     {sound_summary(Path(path))}")
        if (cut := truncation(Path(path), made.get("num_frames"))) is not None:
            print(f"i2v: {one_line(cut)}", file=sys.stderr)
            failed += 1
        if (summary := score_summary(record)) is not None:
            print(f"  score     {summary}")
    return 1 if failed else 0


def cmd_score(args: argparse.Namespace) -> int:
    import json

    from ..studio.render import score_file

    results, failed = {}, 0
    damaged: list[str] = []  # scored all the same, but the status says the file is not whole

    def note(line: str) -> None:
        print(f"i2v: {one_line(line)}", file=sys.stderr)
        damaged.append(line)

    for path in args.clips:
        try:
            score = score_file(Path(path), args.source, args.loop, on_note=note)
        except I2VError as exc:
            print(f"i2v: {one_line(str(exc))}", file=sys.stderr)
            failed += 1
            continue
        results[path] = score
        if not args.json:
            print(f"{path}: {score.summary()}")
            for name, item in score.scores().items():
                print(f"  {name:12} {item.reason}" + ("  ⚠" if item.flagged else ""))
    if args.json:
        data = {path: score.to_dict() for path, score in results.items()}
        print(json.dumps(next(iter(data.values())) if len(data) == 1 else data, indent=2, ensure_ascii=False))
    return 1 if failed or damaged else 0


def _bar(fraction: float, width: int = 24) -> str:
    filled = int(round(max(0.0, min(1.0, fraction)) * width))
    return "█" * filled + "░" * (width - filled)


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


# -- listings ---------------------------------------------------------------------------------


def cmd_presets() -> int:
    from ..studio.catalog import user_presets

    library = user_presets()
    rows = [("id", "name", "loops", "description")]
    for preset in library.presets.values():
        rows.append((preset.id, preset.name, "yes" if preset.loops else "", preset.description))
    _table(rows)
    _skipped([f"preset {problem}" for problem in library.problems])
    return 0


def _registry():
    from ..studio.catalog import user_registry

    registry = user_registry()
    _skipped([f"model {problem}" for problem in registry.problems])
    return registry


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


if __name__ == "__main__":
    raise SystemExit(main())
