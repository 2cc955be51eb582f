"""Kill a render, an export and a history save with SIGKILL at seeded random moments, then check
that nothing was lost or left half-written (issue 14's proof; scripts/fault_bench.py runs it).

The three commands, each in its own process, as a user's would be:

- render: `i2v render PHOTO` with the instant engine, a one-second draft clip, into a fresh folder;
- export: `i2v export CLIP --preset square` of a rendered clip, into a fresh folder (of the social
  presets the cheapest to encode, so that a cycle stays short);
- history: bench/history_writer.py adding clips to a fresh `History` the way the studio does.

A kill lands at a moment drawn from the cycle's seed, either anywhere in the command's run
("random": uniform over the time a clean run takes) or just inside a chosen window: "part" (a
hidden part exists, the clip is being written), "encoder" (ffmpeg has frames to encode) or "hold" (the
history's clip files are saved and `add` was never called). After the kill, every invariant of
bench/fault_checks.py is checked, the parts the kill left are aged past any staleness threshold,
the same command is started again and must succeed, and the parts must then be gone.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..core.resources import resource_path
from . import fault_checks as checks
from .processes import Proc, await_end, children, descendants, reap, reaping

KINDS = ("render", "export", "history")
TRIGGERS = {"render": ("random", "part", "encoder"), "export": ("random", "part", "encoder"),
            "history": ("random", "part", "hold")}
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding i2v_desktop/
PHOTO = resource_path("samples", "coffee.jpg")
CLI = "import sys; from i2v_desktop.cli import main; sys.exit(main())"
HISTORY_COUNT = 3  # clips one killed history save sets out to add
ORPHAN_WAIT_S = 30.0  # how long an orphaned ffmpeg may take to end before it is killed here
RUN_TIMEOUT_S = 300.0


@dataclass
class Cycle:
    kind: str
    trigger: str
    seed: int
    injected: bool = False  # False: the command finished before the moment came
    at_s: float = 0.0  # when the kill landed, after the start
    violations: list[checks.Violation] = field(default_factory=list)
    lost: int = 0
    orphans: int = 0
    parts_left: int = 0  # hidden parts the kill left behind
    # An ffmpeg encoder had frames at the kill: did it die with its parent? None: none had any.
    encoder_killed: bool | None = None

    def failed(self, *invariants: str) -> list[checks.Violation]:
        return [v for v in self.violations if not invariants or v.invariant in invariants]


@dataclass
class Run:
    rc: int
    out: str
    err: str


class _Child:
    """A command in its own session (so its leftovers can be ended together), its output read as
    it comes so that the harness can act on a line."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True)
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [threading.Thread(target=self._read, args=(stream, lines), daemon=True)
                         for stream, lines in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream, lines: list[str]) -> None:
        for raw in stream:
            lines.append(raw.decode("utf-8", errors="replace").rstrip("\n"))
        stream.close()

    def running(self) -> bool:
        return self.proc.poll() is None

    def finish(self, timeout: float = RUN_TIMEOUT_S) -> Run:
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.end_all()
            rc = self.proc.wait()
        for reader in self._readers:
            reader.join(10)
        return Run(rc, "\n".join(self.out), "\n".join(self.err))

    def end_all(self) -> None:
        """SIGKILL whatever is left of the command's session (the command itself included)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)


class Harness:
    """Fault cycles in `workdir` (a folder of its own: every cycle gets a fresh subfolder)."""

    def __init__(self, workdir: Path, python: str = sys.executable) -> None:
        self.workdir = Path(workdir).resolve()
        self.python = python
        home = self.workdir / "user"
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT),
                                                                            os.environ.get("PYTHONPATH")])),
                    "XDG_CONFIG_HOME": str(home / "config"), "XDG_DATA_HOME": str(home / "data"),
                    "XDG_CACHE_HOME": str(home / "cache"), "HF_HUB_OFFLINE": "1", "PYTHONHASHSEED": "0"}
        self._clean_s: dict[str, float] = {}
        self._source: Path | None = None
        self._count = 0

    # -- commands ----------------------------------------------------------------------------

    def _argv(self, kind: str, folder: Path, seed: int, hold_at: int | None = None,
              count: int = HISTORY_COUNT) -> list[str]:
        if kind == "render":
            return [self.python, "-c", CLI, "render", str(PHOTO), "--model", "instant", "--quality", "draft",
                    "--duration", "1", "--fps", "12", "--seed", str(seed), "--out", str(folder)]
        if kind == "export":
            return [self.python, "-c", CLI, "export", str(self.source()), "--preset", "square", "--fps", "12",
                    "--out", str(folder)]
        argv = [self.python, "-m", "i2v_desktop.bench.history_writer", str(folder), str(PHOTO),
                "--count", str(count), "--seed", str(seed)]
        return argv + ([] if hold_at is None else ["--hold-at", str(hold_at)])

    def _run(self, argv: list[str]) -> Run:
        return _Child(argv, self.env, self.workdir).finish()

    def source(self) -> Path:
        """The clip every export cycle exports: a real render, made once."""
        if self._source is None:
            folder = self._fresh("source")
            started = time.monotonic()
            run = self._run(self._argv("render", folder, 1))
            if run.rc != 0:
                raise RuntimeError(f"the source clip could not be rendered (exit {run.rc}): {run.err[-500:]}")
            self._clean_s.setdefault("render", time.monotonic() - started)
            self._source = folder / f"{PHOTO.stem}.mp4"
        return self._source

    def clean_seconds(self, kind: str) -> float:
        """How long a clean run of the command takes here (measured once): the span random kills
        are drawn from."""
        if kind not in self._clean_s:
            if kind == "export":
                self.source()
            folder = self._fresh(f"clean-{kind}")
            started = time.monotonic()
            run = self._run(self._argv(kind, folder, 0))
            if run.rc != 0:
                raise RuntimeError(f"a clean {kind} fails (exit {run.rc}): {run.err[-500:]}")
            self._clean_s[kind] = time.monotonic() - started
        return self._clean_s[kind]

    def _fresh(self, name: str) -> Path:
        self._count += 1
        folder = self.workdir / f"{self._count:03d}-{name}"
        folder.mkdir(parents=True)
        return folder

    # -- one cycle ---------------------------------------------------------------------------

    def cycle(self, kind: str, trigger: str, seed: int) -> Cycle:
        """Start the command, kill it at the moment `trigger` and `seed` choose, check everything."""
        if trigger not in TRIGGERS[kind]:
            raise ValueError(f"{kind}: no trigger {trigger!r} (choose from {', '.join(TRIGGERS[kind])})")
        rng = random.Random(f"{kind}/{trigger}/{seed}")
        horizon = self.clean_seconds(kind) if trigger == "random" else 0.0
        if kind == "export":
            self.source()
        folder = self._fresh(f"{kind}-{trigger}-{seed}")
        result = Cycle(kind, trigger, seed)
        left: list[Proc] = []
        hold_at = rng.randrange(HISTORY_COUNT) if trigger == "hold" else None
        with reaping():
            ours = children()
            child = _Child(self._argv(kind, folder, seed, hold_at), self.env, self.workdir)
            try:
                if self._wait_for_moment(child, trigger, rng, horizon, folder):
                    result.injected, result.at_s = True, time.monotonic() - child.started
                    left = descendants(child.proc.pid)
                    os.kill(child.proc.pid, signal.SIGKILL)
                    killed = child.finish()
                    # Also what it started after the snapshot: adopted here since, whatever it was.
                    seen = {proc.pid for proc in left}
                    left += [Proc(pid, ()) for pid in sorted(children() - ours - seen - {child.proc.pid})]
                    self._orphans_end(left, result)
                else:
                    killed = child.finish()
            finally:
                child.end_all()  # whatever the command left running, once its end has been watched
                child.proc.wait()
                reap([proc.pid for proc in left], block=True)
        result.violations += checks.check_output(killed.err, f"{kind} (killed)")
        if not result.injected and killed.rc != 0:
            result.violations.append(checks.Violation(checks.FAILED_UNKILLED, f"{kind} exited {killed.rc}: "
                                                      f"{killed.err.strip()[-300:]}"))
        self._check_after(kind, folder, killed, result)
        return result

    def _wait_for_moment(self, child: _Child, trigger: str, rng: random.Random, horizon: float,
                         folder: Path) -> bool:
        """True once the moment to kill has come; False when the command ended first."""
        if trigger == "random":
            moment = child.started + rng.uniform(0.0, horizon)
            while time.monotonic() < moment:
                if not child.running():
                    return False
                time.sleep(0.002)
            return child.running()
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while child.running() and time.monotonic() < deadline:
            if trigger == "hold":
                found = any(line.startswith("holding ") for line in child.out)
            elif trigger == "part":
                found = bool(checks.parts(self._folders(folder)))
            else:
                found = any(proc.encoder and proc.fed() for proc in descendants(child.proc.pid))
            if found:
                # Somewhere inside the window, not always at its first millisecond.
                time.sleep(rng.uniform(0.0, 0.15) if trigger == "encoder" else rng.uniform(0.0, 0.02))
                return child.running()
            time.sleep(0.002)
        return False

    def _orphans_end(self, left: list[Proc], result: Cycle) -> None:
        encoders = [proc for proc in left if proc.encoder]
        ends = [(proc, await_end(proc.pid, ORPHAN_WAIT_S)) for proc in encoders]
        if any(end.finished for _, end in ends):
            result.encoder_killed = False
        elif ends and all(end.killed for _, end in ends):
            result.encoder_killed = True  # else it failed on an empty input: it tells nothing either way
        for proc, end in ends:
            if end.finished:
                how = "was still running" if end.overstayed else "finished its clip (exit 0)"
                result.violations.append(checks.Violation(
                    checks.FFMPEG_OUTLIVED, f"ffmpeg {proc.pid} {how} after its parent was killed"))
        reap([proc.pid for proc in left])

    def _folders(self, folder: Path) -> list[Path]:
        """Where the command writes (its parts lie beside what they become)."""
        found = [folder]
        for sub in ("clips", "thumbs"):
            base = folder / sub
            if base.is_dir():
                found += [base] + [path for path in base.iterdir() if path.is_dir()]
        return found

    def _check_after(self, kind: str, folder: Path, killed: Run, result: Cycle) -> None:
        result.violations += checks.check_files(folder)
        added = _said(killed.out, "added ")
        held = next(iter(_said(killed.out, "holding ")), None)
        if kind == "history":
            found = checks.check_history(folder, added, held)
            result.violations += found.violations
            result.lost, result.orphans = found.lost, found.orphans

        stale = checks.parts(self._folders(folder))
        result.parts_left = len(stale)
        checks.age(stale)
        again = self._run(self._argv(kind, folder, result.seed, count=1))
        result.violations += checks.check_output(again.err, f"{kind} (next start)")
        if again.rc != 0:
            result.violations.append(checks.Violation(
                checks.RESTART_FAILED, f"{kind} exited {again.rc}: {again.err.strip()[-300:]}"))
        result.violations += checks.check_parts_gone(stale)
        if kind == "history":
            # The next start's own clip goes in beside the others, and nothing went missing meanwhile.
            added += _said(again.out, "added ")
            result.violations += [v for v in checks.check_history(folder, added).violations
                                  if v.invariant in (checks.HISTORY_LOAD, checks.LOST_ENTRY)]
        result.violations += [v for v in checks.check_files(folder) if v not in result.violations]


def _said(output: str, word: str) -> list[Path]:
    """The paths the history writer announced with `word` (see bench/history_writer.py)."""
    return [Path(line[len(word):]) for line in output.splitlines() if line.startswith(word)]


# -- many cycles ---------------------------------------------------------------------------


def plan(cycles: int, seed: int, kinds: tuple[str, ...] = KINDS) -> list[tuple[str, str, int]]:
    """`cycles` (kind, trigger, seed) triples: the kinds in turn; two kills in three at a random
    moment, the third inside the kind's narrowest window."""
    rng = random.Random(seed)
    out = []
    for index in range(cycles):
        kind = kinds[index % len(kinds)]
        trigger = "random" if rng.random() < 2 / 3 else rng.choice(TRIGGERS[kind][1:])
        out.append((kind, trigger, rng.randrange(1 << 30)))
    return out


@dataclass
class Tally:
    cycles: list[Cycle] = field(default_factory=list)

    def add(self, cycle: Cycle) -> None:
        self.cycles.append(cycle)

    def report(self) -> list[str]:
        injected = Counter(c.kind for c in self.cycles if c.injected)
        early = Counter(c.kind for c in self.cycles if not c.injected)
        broken = Counter((v.invariant, c.kind) for c in self.cycles for v in c.violations)
        lines = [f"cycles: {len(self.cycles)}; faults injected (SIGKILL): {sum(injected.values())} "
                 f"({', '.join(f'{k} {injected[k]}' for k in KINDS)}); finished before the moment: "
                 f"{sum(early.values())}"]
        lines.append(f"lost entries: {sum(c.lost for c in self.cycles)}; tracebacks: "
                     f"{sum(n for (inv, _), n in broken.items() if inv == checks.TRACEBACK)}")
        lines.append(f"parts left by kills: {sum(c.parts_left for c in self.cycles)}; clips on disk whose "
                     f"add never returned: {sum(c.orphans for c in self.cycles)}; ffmpeg encoders caught "
                     f"mid-clip: {sum(c.encoder_killed is not None for c in self.cycles)} (died with their "
                     f"parent: {sum(c.encoder_killed is True for c in self.cycles)})")
        lines.append("invariant violations (render / export / history):")
        for invariant in sorted({inv for inv, _ in broken}):
            lines.append(f"  {invariant}: " + " / ".join(str(broken[invariant, k]) for k in KINDS))
        if not broken:
            lines.append("  none")
        return lines
