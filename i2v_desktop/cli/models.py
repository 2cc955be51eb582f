"""`i2v models`, `i2v doctor`, `i2v download` and `i2v remove`: the models as the command line
shows and fetches them (the same table and verdicts as the window's Models page)."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import TextIO

from ..core.cancel import CancelToken
from . import _bar, _skipped, _table


def cmd_models() -> int:
    from ..studio.local import user_studio
    from ..studio.table import info_rows

    studio, problems = user_studio(open_history=False)
    _skipped(problems)
    infos = studio.model_infos()
    _table(info_rows(infos))
    print()
    choices = {choice.id: choice for choice in studio.models(look=False)}
    qualities = {choice.id: choice.qualities for choice in choices.values()}
    for info in infos:
        print(f"{info.id}: {info.name}: {info.summary}.")
        print(f"  here: {info.fit.verdict}: {info.fit.reason}" + (f"; try anyway: {info.fit.cost}" if info.fit.cost else ""))
        if info.id in qualities:  # else an add-on (the depth model): it renders nothing itself
            print(f"  qualities: {', '.join(qualities[info.id])}" + _fast_tier(studio.engines.registry.resolve(info.id))
                  + ("; with sound" if info.sound else "") + ("; prompt enhancer" if info.enhancer else "")
                  + _end_frame(choices[info.id]))
        for line in info.addons:  # what its download brings besides the weights
            print(f"  with it: {line}")
        print(f"  {info.commercial}")
        if info.terms:
            print(f"  Terms: {info.terms}")
        if info.gated:
            print("  Gated: accept its terms on its Hugging Face page, then log in (`hf auth login`, or set "
                  "HF_TOKEN) before `i2v download`")
    return 0


def _end_frame(choice) -> str:  # choice: core.studio.ModelChoice
    """Whether it ends on a chosen frame (`render --end-image`): needs one, takes one, experimentally, or not."""
    if choice.needs_end_frame:
        return "; needs an end frame (--end-image) or --loop"
    if choice.end_frame:
        return "; end frame (experimental)" if choice.end_frame_note else "; end frame"
    return ""


def _fast_tier(entry) -> str:  # entry: engine.registry.ModelEntry
    """What the fast tier runs on: a step-distilled LoRA (its size, and whether it is here) or the
    model's own distilled weights."""
    if "fast" not in entry.qualities:
        return ""
    if entry.lora is None:
        return " (fast: distilled, built in)"
    from ..studio.catalog import downloaded

    here = ", downloaded" if downloaded(entry)[1] else ""
    return f" (fast: {entry.lora.name} LoRA {entry.lora.download_gb:g} GB{here})"


def cmd_doctor() -> int:
    from ..studio.local import user_studio

    studio, problems = user_studio(open_history=False)
    _skipped(problems)
    machine = studio.machine()
    hw = machine.hardware
    assert hw is not None

    def gb(value: float | None, what: str = "") -> str:
        return "unknown" if value is None else f"{value:.1f} GB{what}"

    print("This machine")
    if hw.gpu:
        capability = f"compute capability {hw.compute_capability}, " if hw.compute_capability else ""
        print(f"  GPU         {hw.gpu} ({capability}{'bfloat16' if hw.bf16 else 'no bfloat16'})")
        print(f"  GPU memory  {gb(hw.vram_gb)}, {gb(hw.vram_free_gb, ' free')}")
    else:
        print("  GPU         none: renders run on the processor")
    print(f"  RAM         {gb(hw.ram_gb)}, {gb(hw.ram_free_gb, ' available')}")
    print(f"  disk        {gb(hw.disk_free_gb, ' free')} where models are downloaded ({hw.cache_dir})")
    print(f"  torch       {hw.torch}")
    print(f"  renders on  {hw.device}")
    print()
    print("Models")
    width = max(len(choice.id) for choice in machine.models)
    for choice in machine.models:
        fit = choice.fit
        assert fit is not None
        state = "" if choice.installed else " (not downloaded)"
        print(f"  {choice.id.ljust(width)}  {fit.verdict}{state}: {fit.reason}")
        if fit.cost:
            print(f"  {' ' * width}  try anyway: {fit.cost}")
    print()
    default = next(choice for choice in machine.models if choice.id == machine.default_model)
    print(f"Default: {default.name} ({default.id}) at {machine.default_quality} quality")
    return 0


def cmd_download(model: str) -> int:
    from ..studio.catalog import camera_files, on_disk
    from ..studio.local import user_studio

    studio, problems = user_studio(open_history=False)
    _skipped(problems)
    try:
        choice = studio.model(model)
        line = _TransferLine(choice.name, sys.stderr)
        cancel = CancelToken()
        try:
            studio.download(choice.id, line, cancel)
        except KeyboardInterrupt:
            cancel.cancel()  # the download threads stop at their next chunk; what arrived stays on disk
            line.end()
            print(f"i2v: paused; what arrived of {choice.name} is kept, and `i2v download {model}` resumes it",
                  file=sys.stderr)
            return 130
        line.end()
        entry = studio.engines.registry.resolve(choice.id)
    finally:
        studio.close()
    weights, loras, tiny = on_disk(entry)
    if weights is not None:
        print(f"{choice.name} is ready in {weights.folder}")
    if entry.lora is not None and loras:
        folders = ", ".join(str(folder) for folder in dict.fromkeys(path.parent for path in loras))
        print(f"its fast tier's {entry.lora.name} LoRA is ready in {folders}")
    if tiny is not None:
        print(f"its tiny video decoder (previews, drafts) is ready in {tiny.parent}")
    cameras = camera_files(entry)
    if cameras:
        names = ", ".join(lora.name for lora in entry.camera_loras)
        print(f"its {len(cameras)} camera LoRAs ({names}) are ready in {_common_folder(cameras)}")
    return 0


def _common_folder(paths) -> str:  # paths: a sequence of Path
    """The folder every path lies under (each camera LoRA has its own repo in the download cache)."""
    return os.path.commonpath([str(path.parent) for path in paths])


def cmd_remove(model: str) -> int:
    from ..studio.local import user_studio

    studio, problems = user_studio(open_history=False)
    _skipped(problems)
    try:
        choice = studio.model(model)
        freed = studio.remove(choice.id)
    finally:
        studio.close()
    if os.path.isabs(choice.id) and Path(choice.id).exists():  # the user's own folder or checkpoint
        print(f"{choice.name} is off your models; its files at {choice.id} are left as they are")
    else:
        print(f"{choice.name}: {_bytes(freed)} freed")
    return 0


def _bytes(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}" if unit == "GB" else f"{n / size:.0f} {unit}"
    return f"{n:.0f} bytes"


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class _TransferLine:
    """A download's progress line: bytes, speed and time left. Called from the download threads."""

    def __init__(self, name: str, stream: TextIO, every_s: float = 10.0) -> None:
        import threading

        self.name, self.stream, self.every_s = name, stream, every_s
        self.tty = stream.isatty()
        self._lock = threading.Lock()  # the download threads call in turn, never at once
        self._last = -every_s
        self._text = ""

    def __call__(self, transfer) -> None:  # transfer: core.studio.Transfer
        total = max(transfer.total_bytes, 1)
        speed = f"{_bytes(transfer.bytes_per_s)}/s" if transfer.bytes_per_s else "…"
        left = _duration(transfer.eta_s) + " left" if transfer.eta_s is not None else "time left unknown"
        text = (f"{self.name}: {_bar(transfer.done_bytes / total)} {_bytes(transfer.done_bytes)} of "
                f"{_bytes(transfer.total_bytes)}  {speed}  {left}")
        with self._lock:
            self._text = text
            if self.tty:
                width = shutil.get_terminal_size((100, 20)).columns - 1
                self.stream.write("\r" + text[:width].ljust(width))
            elif time.monotonic() - self._last >= self.every_s or transfer.done_bytes >= transfer.total_bytes:
                self._last = time.monotonic()
                self.stream.write(text + "\n")  # redirected: a line now and then
            self.stream.flush()

    def end(self) -> None:
        with self._lock:
            if self.tty and self._text:
                self.stream.write("\n")
                self.stream.flush()
