"""`i2v compare`: the same photos through two to four models, presets or quality tiers, side by side."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.cancel import CancelToken
from ..core.errors import I2VError
from ..core.request import ASPECTS, QUALITIES, GenerationRequest, random_seed
from ..core.settings import DEFAULTS
from ..studio.catalog import OFFLOAD_MODES, SPEED_MODES
from . import options


def names(what: str, allowed: tuple[str, ...] | None = None):
    """A comma-separated list of ids ("wan2.2-ti2v-5b,instant"), each once."""

    def parse(text: str) -> list[str]:
        items = [item.strip() for item in text.split(",") if item.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"must name at least one {what}, got {text!r}")
        if len(set(items)) != len(items):
            raise argparse.ArgumentTypeError(f"names a {what} twice: {text!r}")
        bad = [item for item in items if allowed is not None and item not in allowed]
        if bad:
            raise argparse.ArgumentTypeError(f"{', '.join(bad)} is not a {what} (choose from {', '.join(allowed or ())})")
        return items

    return parse


def add_parser(sub: argparse._SubParsersAction) -> None:
    compare = sub.add_parser(
        "compare", help="the same photos through 2 to 4 models (or presets, or quality tiers): a labelled "
                        "side-by-side MP4, a contact sheet and a table of scores and times per photo")
    compare.add_argument("images", nargs="+", metavar="IMAGE", help="photos to compare the takes on")
    compare.add_argument("--models", type=names("model"), default=None,
                         help="model ids, comma-separated (default: the best one here)")
    compare.add_argument("--preset", type=names("preset"), default=[DEFAULTS.preset],
                         help=f"motion preset id, or several comma-separated (default {DEFAULTS.preset})")
    compare.add_argument("--quality", type=names("quality", QUALITIES), default=[DEFAULTS.quality],
                         help=f"quality tier, or several comma-separated (default {DEFAULTS.quality})")
    compare.add_argument("--intensity", type=options.intensity, default=DEFAULTS.intensity, help="0–1")
    compare.add_argument("--duration", type=options.duration, default=DEFAULTS.duration, help="seconds")
    compare.add_argument("--fps", type=options.fps, default=DEFAULTS.fps, help="default: each model's own")
    compare.add_argument("--aspect", choices=list(ASPECTS), default=DEFAULTS.aspect)
    compare.add_argument("--prompt", default="", help="describe the subject; each preset adds the motion")
    compare.add_argument("--loop", action="store_true", default=DEFAULTS.loop)
    compare.add_argument("--seed", type=options.seed, default=None, help="one seed for every take (default: a new one)")
    compare.add_argument("--out", type=Path, default=Path("."), help="output folder (default: current folder)")
    compare.add_argument("--crf", type=options.crf, default=18, help="H.264 quality of the takes (default 18)")
    compare.add_argument("--try-anyway", action="store_true",
                         help="also run models too big for this machine (see `i2v doctor`), at the cost it states")
    compare.add_argument("--device", choices=("cuda", "mps", "cpu"), default=None)
    compare.add_argument("--offload", choices=OFFLOAD_MODES, default="auto", help="memory saving (default auto)")
    compare.add_argument("--speed", choices=SPEED_MODES, default="auto",
                         help="speed switches chosen for this GPU (auto), or plain diffusers (off)")


def cmd_compare(args: argparse.Namespace) -> int:
    from ..studio.compare import plan_comparison, run_comparison, table_rows, write_comparison
    from ..studio.local import user_studio
    from ..studio.render import render_to_files
    from . import _Progress, _skipped, _table, _writable

    studio, problems = user_studio(device=args.device, offload=args.offload, speed=args.speed, open_history=False)
    _skipped(problems)
    machine = studio.machine()
    looked = {choice.id: choice for choice in machine.models}
    models = [looked.get(m) or studio.model(m) for m in (args.models or [machine.default_model])]
    seed = random_seed() if args.seed is None else args.seed
    _writable(args.out)
    cancel = CancelToken()
    failed = 0
    for image in args.images:
        base = GenerationRequest(
            image=str(Path(image).resolve()), preset=args.preset[0], intensity=args.intensity, prompt=args.prompt,
            duration=args.duration, fps=args.fps, aspect=args.aspect, seed=seed, loop=args.loop,
            try_anyway=args.try_anyway)
        try:
            planned = plan_comparison(base, models, args.preset, args.quality, studio.check)
        except ValueError as exc:
            raise I2VError(f"{Path(image).name}: {exc}") from None
        for line in planned.skipped:
            print(f"i2v: {line}", file=sys.stderr)
        print(f"i2v: {Path(image).name}: {len(planned.takes)} takes, seed {seed}", file=sys.stderr)

        def render(request: GenerationRequest, on_event):
            return render_to_files(studio.engines.for_model(request.model), request, args.out, on_event, cancel,
                                   crf=args.crf)

        display = _Progress(Path(image).name, len(planned.takes), sys.stderr)
        try:
            names = {m.id: m.name for m in models} | {p.id: p.name for p in studio.presets()}
            results = run_comparison(planned.takes, names, args.out, render, display, cancel)
        except KeyboardInterrupt:
            cancel.cancel()
            raise
        except (I2VError, OSError, ValueError) as exc:  # one photo's trouble: the others still compare
            print(f"i2v: {Path(image).name}: {exc}", file=sys.stderr)
            failed += 1
            continue
        mp4, png, table = write_comparison(results, args.out, Path(image).stem)
        rows = table_rows(results)
        columns = ("model", "preset", "quality", "seconds", "overall", "move_match", "subject", "clip")
        _table([columns, *[tuple(row[c] or "-" for c in columns) for row in rows]])
        best = max(results, key=lambda r: r.score.overall if r.score is not None else -1.0)
        if best.score is not None:
            print(f"  best: {best.model_name}, {best.preset_name}, {best.request.quality} "
                  f"(overall {best.score.overall:.2f})")
        print(f"  → {mp4}\n  → {png}\n  → {table}")
    return 1 if failed else 0
