"""`i2v batch`: a catalogue from a manifest or a folder, on this machine's GPUs or cores, or on a Ray
cluster; resumable (running the same command again skips the rows already done)."""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from typing import TextIO

from ..core.batch import DONE, INVALID, RowResult, Tally
from ..core.cancel import CancelToken
from ..core.errors import I2VError
from ..core.request import GenerationRequest


def cmd_batch(args: argparse.Namespace) -> int:
    from ..studio.local import user_studio
    from . import _skipped

    pool = None
    if args.ray is not None:
        pool = _ray_pool(args.ray)
    studio, problems = user_studio(device=args.device, offload=args.offload, speed=args.speed, open_history=False,
                                   pool=pool)
    _skipped(problems)
    model = args.model or studio.machine().default_model
    defaults = GenerationRequest(
        image="-", preset=args.preset, intensity=args.intensity, prompt=args.prompt, duration=args.duration,
        fps=args.fps, aspect=args.aspect, quality=args.quality, variants=args.variants, model=model, loop=args.loop,
        sound=args.sound)
    plan = studio.read_batch(args.source, defaults, exports=args.export, crf=args.crf)
    where = f"on Ray ({args.ray})" if args.ray is not None else "on this machine"
    print(f"i2v: {len(plan.rows)} row(s) from {plan.source}" + (f", {len(plan.bad)} that cannot be made" if plan.bad
                                                                 else "") + f", into {args.out}, {where}",
          file=sys.stderr)
    done_before = sum(r.status == DONE for r in studio.earlier_results(plan, args.out).values())
    if done_before:
        print(f"i2v: {done_before} of them done by an earlier run: skipped", file=sys.stderr)
    display = BatchDisplay(len(plan.rows) - done_before, sys.stderr)
    cancel = CancelToken()
    try:
        report = studio.run_batch(plan, args.out, display, cancel, workers=args.workers)
    except KeyboardInterrupt:
        cancel.cancel()
        display.finish()
        print(f"\ni2v: interrupted after {display.tally.done} row(s); the same command resumes where it stopped",
              file=sys.stderr)
        return 130
    finally:
        studio.close()
    display.finish()
    failed = [result for result in report.results if result.status != DONE]
    print(f"i2v: {report.done} row(s) done, {len(failed)} not, {report.skipped} done before (skipped) "
          f"in {report.seconds:.1f} s; results in {report.results_file}", file=sys.stderr)
    for result in failed:
        print(f"  {result.line()}", file=sys.stderr)
    return 1 if failed else 0


def _ray_pool(address: str):
    try:
        from ..studio.cluster import RayPool
    except ImportError as exc:
        raise I2VError(f"--ray needs Ray: pip install 'i2v_desktop[cluster]' ({exc})") from None
    return lambda: RayPool(address)


class BatchDisplay:
    """A line per finished row, and on a terminal a status line under them with rate and time left."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.tally = Tally(total, time.monotonic())
        self._status = False

    def __call__(self, result: RowResult) -> None:
        now = time.monotonic()
        if result.status != INVALID:  # a bad row never ran: it does not count in the rate
            self.tally.add(result, now)
        self._clear()
        self.stream.write(result.line() + "\n")
        if self.tty:
            self.stream.write(self.tally.line(now))
            self._status = True
        elif self.tally.count and self.tally.count % 10 == 0:
            self.stream.write(f"i2v: {self.tally.line(now)}\n")
        self.stream.flush()

    def finish(self) -> None:
        self._clear()
        self.stream.flush()

    def _clear(self) -> None:
        if self._status:
            width = shutil.get_terminal_size((100, 20)).columns - 1
            self.stream.write("\r" + " " * width + "\r")
            self._status = False
