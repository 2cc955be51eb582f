#!/usr/bin/env python3
"""Provisions i2v_desktop's environment for this machine, then starts the app from it.

    python3 packaging/launcher/i2v_launcher.py [--venv DIR] [--wheelhouse DIR] [--extras test,cluster]
        [--check | --repair | --make-wheelhouse DIR] [--] [COMMAND ARGS...]

It picks the torch build the machine can use (the CUDA build the NVIDIA driver supports, ROCm, MPS on
Apple silicon, else the CPU build), creates or repairs the virtual environment, installs the app
(editable from a checkout, or the wheel beside the launcher), and runs COMMAND from the environment
(`i2v-desktop`, the window, when none is given). An environment already set up for this version
starts at once: no pip, no probe. Standard library only: it runs before any environment exists.
"""

from __future__ import annotations

import sys

if sys.version_info < (3, 10):
    sys.exit("i2v_desktop needs Python 3.10 or newer (this is Python %d.%d)" % sys.version_info[:2])

import argparse  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from i2v_env import (  # noqa: E402
    APP, WINDOWS, LauncherError, Progress, Source, clear_stamp, find_source, pip, probe, remove_venv,
    stamp_path, stamped_extras, venv_bin, venv_python, write_stamp)
from i2v_torch_choice import TORCH_VERSION, Choice, choose, gather_facts, misfit  # noqa: E402

NETWORK = "check the network connection, or install offline with --wheelhouse DIR (made on a connected " \
          "machine with --make-wheelhouse DIR)"
OFFLINE = "the wheelhouse lacks a package this machine needs: make it again with --make-wheelhouse DIR " \
          "on a connected machine of the same kind"


def user_venv() -> Path:
    """Where an installed app keeps its environment: the platform's per-user data folder."""
    if WINDOWS:
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / APP / "venv"


@dataclass
class Health:
    env: str | None          # None when its python runs
    torch: str | None
    app: str | None
    found: dict

    @property
    def ok(self) -> bool:
        return not (self.env or self.torch or self.app)


def examine(venv: Path, source: Source, choice: Choice) -> Health:
    found = probe(venv)
    if found.get("missing"):
        return Health(f"missing ({venv})", "not installed", "not installed", found)
    if "broken" in found:
        return Health(f"broken: {found['broken']}", "unknown", "unknown", found)
    torch = found.get("torch")
    if torch is None:
        error = found.get("torch_error", "")
        torch_problem = "not installed" if "No module named 'torch'" in error else f"import fails: {error}"
    else:
        torch_problem = misfit(choice, *torch)
    version = found.get("app_version")
    if version is None:
        app_problem = "not installed"
    elif "app_error" in found:
        app_problem = f"{version} installed but import fails: {found['app_error']}"
    elif version != source.version:
        kind = "checkout" if source.checkout else "wheel"
        app_problem = f"{version} installed; this {kind} is {source.version}"
    elif source.checkout and Path(found["app_path"]).resolve().parent.parent != source.checkout.resolve():
        app_problem = f"installed from {Path(found['app_path']).parent.parent}, not from this checkout"
    else:
        app_problem = None
    return Health(None, torch_problem, app_problem, found)


def report(health: Health, venv: Path, choice: Choice) -> None:
    found = health.found
    torch = found.get("torch") or ["", None, None]
    lines = [("environment", health.env, f"{venv} (Python {found.get('python')})"),
             ("torch", health.torch, f"{torch[0]} ({choice.label} build wanted: {choice.reason})"),
             (APP, health.app, f"{found.get('app_version')} from "
                               f"{Path(found.get('app_path') or '.').parent}")]
    for name, problem, fine in lines:
        print(f"  {name:<12} {'PROBLEM: ' + problem if problem else 'ok: ' + fine}")


def install_torch(progress: Progress, venv: Path, choice: Choice, wheelhouse: Path | None,
                  force: bool) -> None:
    extra = ["--force-reinstall"] if force else []
    if wheelhouse:
        # Any build this machine runs will do: a wheelhouse made on a machine like it may hold an older CUDA.
        tags = choice.runs or (choice.tag,)
        held = [tag for tag in tags if any(wheelhouse.glob(f"torch-{TORCH_VERSION}+{tag}-*.whl"))]
        requirement = f"torch=={TORCH_VERSION}+{held[0]}" if held and held[0] else choice.requirement
        progress.run(pip(venv, "install", *extra, requirement, wheelhouse=wheelhouse), OFFLINE)
    elif choice.flavour == "cpu":
        # Never the multi-GB CUDA stack: a local mirror or wheel cache may hold 2.13.0+cpu, and
        # PyTorch's CPU index always does.
        if not progress.attempt(pip(venv, "install", *extra, choice.requirement)):
            progress.run(pip(venv, "install", *extra, f"torch=={TORCH_VERSION}",
                             "--index-url", choice.index_url), NETWORK)
    elif choice.index_url:
        progress.run(pip(venv, "install", *extra, choice.requirement, "--index-url", choice.index_url),
                     NETWORK)
    else:
        progress.run(pip(venv, "install", *extra, choice.requirement), NETWORK)


def app_spec(source: Source, extras: set[str]) -> list[str]:
    target = str(source.checkout or source.wheel) + (f"[{','.join(sorted(extras))}]" if extras else "")
    return ["-e", target] if source.checkout else [target]


def provision(venv: Path, source: Source, choice: Choice, extras: set[str], wheelhouse: Path | None,
              health: Health) -> None:
    fresh = health.env is not None
    steps = (["Recreating the environment (its python is broken)" if "broken" in (health.env or "")
              else "Creating the environment"] if fresh else [])
    if fresh or health.torch:
        steps.append(f"torch {TORCH_VERSION} ({choice.label} build)")
    steps += [f"{source.describe()}" + (f" with {','.join(sorted(extras))}" if extras else ""),
              "Checking the environment"]
    progress = Progress(len(steps))
    if fresh:
        progress.step(steps[0])
        if venv.exists() or venv.is_symlink():
            remove_venv(venv)
        progress.run([sys.executable, "-m", "venv", str(venv)],
                     "install Python's venv module (Debian and Ubuntu: apt install python3-venv)")
    if fresh or health.torch:
        progress.step(f"torch {TORCH_VERSION} ({choice.label} build)")
        broken = not fresh and health.torch.startswith("import")       # same version, damaged files
        install_torch(progress, venv, choice, wheelhouse, force=broken)
    progress.step(steps[-2])
    hint = OFFLINE if wheelhouse else NETWORK
    if health.app and "import fails" in health.app:
        progress.run(pip(venv, "install", "--force-reinstall", "--no-deps", *app_spec(source, set()),
                         wheelhouse=wheelhouse), hint)
    progress.run(pip(venv, "install", *app_spec(source, extras), wheelhouse=wheelhouse), hint)
    progress.step(steps[-1])
    after = examine(venv, source, choice)
    if not after.ok:
        raise LauncherError(f"{progress.current}: the environment is still unhealthy "
                            f"({after.env or after.torch or after.app})",
                            f"delete {venv} and run again")
    recorded = stamped_extras(stamp_path(venv, source)) or set()
    write_stamp(venv, stamp_path(venv, source), extras | recorded, choice.tag or choice.flavour)


def make_wheelhouse(dest: Path, venv: Path, source: Source, choice: Choice, extras: set[str]) -> None:
    """Downloads everything this kind of machine needs into DEST, for --wheelhouse DEST offline."""
    health = probe(venv)
    fresh = bool(health.get("missing") or health.get("broken"))
    progress = Progress(3 + fresh)
    dest.mkdir(parents=True, exist_ok=True)
    if fresh:
        progress.step("Creating the environment (its pip downloads the wheels)")
        if venv.exists() or venv.is_symlink():
            remove_venv(venv)
        progress.run([sys.executable, "-m", "venv", str(venv)], "install Python's venv module")
    progress.step(f"Downloading torch {TORCH_VERSION} ({choice.label} build)")
    download = pip(venv, "download", "-d", str(dest), choice.requirement)
    if choice.flavour != "cpu" or not progress.attempt(download):
        index = ["--index-url", choice.index_url] if choice.index_url else []
        progress.run(pip(venv, "download", "-d", str(dest), choice.requirement, *index), NETWORK)
    progress.step(f"Building {source.describe()}")
    if source.checkout:
        progress.run(pip(venv, "wheel", "--no-deps", "-w", str(dest), str(source.checkout)), NETWORK)
        wheel = max(dest.glob(f"{APP}-{source.version}-*.whl"), key=lambda path: path.stat().st_mtime)
    else:
        wheel = dest / source.wheel.name
        if wheel.resolve() != source.wheel.resolve():
            shutil.copy2(source.wheel, wheel)
    progress.step("Downloading its dependencies" + (" and build tools" if source.build_requires else ""))
    with tempfile.TemporaryDirectory() as tmp:
        constraints = Path(tmp) / "constraints.txt"
        constraints.write_text(choice.requirement + "\n", encoding="utf-8")   # torch stays this build
        target = str(wheel) + (f"[{','.join(sorted(extras))}]" if extras else "")
        progress.run(pip(venv, "download", "-d", str(dest), "--find-links", str(dest), "-c", str(constraints),
                         target, *source.build_requires), NETWORK)
    print(f"Wheelhouse ready: {dest} ({sum(1 for _ in dest.glob('*.whl'))} wheels). On the offline machine: "
          f"python3 i2v_launcher.py --wheelhouse {dest}", file=sys.stderr)


def run_command(venv: Path, command: list[str]) -> int:
    name, *rest = command or ["i2v-desktop"]
    local = venv_bin(venv) / (name + (".exe" if WINDOWS and not name.endswith(".exe") else ""))
    program = str(local) if os.sep not in name and local.exists() else name
    env = {**os.environ, "VIRTUAL_ENV": str(venv),
           "PATH": str(venv_bin(venv)) + os.pathsep + os.environ.get("PATH", "")}
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        if WINDOWS:       # exec on Windows detaches the console from the waiting parent
            with subprocess.Popen([program, *rest], env=env) as child:
                try:
                    return child.wait()
                except KeyboardInterrupt:      # Ctrl+C reached the app too; wait for it to end
                    return child.wait()
        os.execvpe(program, [program, *rest], env)
    except OSError as error:
        raise LauncherError(f"cannot start {name}: {error}", f"check that {name} is a command of the app "
                            f"(in {venv_bin(venv)}) or on PATH") from None
    return 0


def parse(argv: list[str]) -> argparse.Namespace:
    command: list[str] = []
    if "--" in argv:
        argv, command = argv[:argv.index("--")], argv[argv.index("--") + 1:]
    parser = argparse.ArgumentParser(prog="i2v_launcher.py", description=__doc__.split("\n\n")[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--venv", type=Path, metavar="DIR", help="the environment (default: .venv in a checkout, else the "
                        "per-user data folder)")
    parser.add_argument("--wheelhouse", type=Path, metavar="DIR", default=os.environ.get("I2V_WHEELHOUSE") or None,
                        help="install offline from the wheels in DIR (also I2V_WHEELHOUSE)")
    parser.add_argument("--extras", default="", metavar="LIST",
                        help="the app's optional extras, comma-separated (test,cluster)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="report the environment's health; exit 1 if unhealthy")
    mode.add_argument("--repair", action="store_true", help="make the environment healthy, then stop")
    mode.add_argument("--make-wheelhouse", type=Path, metavar="DIR",
                      help="download the wheels this machine needs into DIR, for --wheelhouse DIR offline")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="what to run (default: i2v-desktop)")
    args = parser.parse_args(argv)
    args.command = args.command + command
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    extras = {extra.strip() for extra in args.extras.split(",") if extra.strip()}
    wheelhouse = args.wheelhouse.resolve() if args.wheelhouse else None
    try:
        if wheelhouse and not wheelhouse.is_dir():
            raise LauncherError(f"the wheelhouse {wheelhouse} is not a folder", "pass the folder made by "
                                "--make-wheelhouse")
        source = find_source(HERE, wheelhouse)
        venv = (args.venv or (source.checkout / ".venv" if source.checkout else user_venv())).absolute()
        stamp = stamp_path(venv, source)
        recorded = stamped_extras(stamp)
        if not (args.check or args.repair or args.make_wheelhouse) and recorded is not None \
                and extras <= recorded and venv_python(venv).exists():
            return run_command(venv, args.command)       # current: no pip, no probe
        choice = choose(gather_facts())
        print(f"torch: {choice.reason}", file=sys.stderr)
        if choice.flavour == "none":
            raise LauncherError(choice.reason, "run the app on Apple silicon, Linux or Windows")
        if args.make_wheelhouse:
            make_wheelhouse(args.make_wheelhouse.absolute(), venv, source, choice, extras)
            return 0
        health = examine(venv, source, choice)
        if args.check:
            print(f"{APP} environment {'healthy' if health.ok else 'needs repair'}:")
            report(health, venv, choice)
            if not health.ok and (venv / "pyvenv.cfg").is_file() and not venv.is_symlink():
                clear_stamp(venv)          # so the next start repairs it (a linked one is another's)
            return 0 if health.ok else 1
        provision(venv, source, choice, extras, wheelhouse, health)
        if args.repair:
            print(f"{APP} environment ready: {venv}", file=sys.stderr)
            return 0
        return run_command(venv, args.command)
    except LauncherError as error:
        print(f"{APP} set-up failed: {error}. Try: {error.hint}.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # The stamp is written last, so the next start picks the work up again.
        print(f"{APP} set-up interrupted; the next start finishes it.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
