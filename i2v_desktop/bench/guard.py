"""The bench's safety net: one row that fails (out of memory, or anything else) never ends the run."""

from __future__ import annotations

import gc
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable

from ..core.errors import first_line
from .measure import GB

if TYPE_CHECKING:
    import torch


def out_of_memory(exc: BaseException) -> bool:
    """A GPU or host allocation failure, in any of the forms torch raises it.

    CUDA raises torch.OutOfMemoryError; cuDNN and cuBLAS failing to get workspace arrive as a plain
    RuntimeError, and so does the CPU allocator.
    """
    import torch

    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and any(
        mark in text for mark in ("out of memory", "ALLOC_FAILED", "can't allocate memory")
    )


def memory_limit_gb(device: torch.device, fraction: float = 1.0) -> float:
    """What this process may use on `device`: the card (times the simulated fraction), or the RAM."""
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory * fraction / GB
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / GB


def release(device: torch.device) -> None:
    """Give back what a finished (or failed) row held, so the next row starts from empty."""
    import torch

    # Compiled graphs are cached per module; a later row builds its own model, so drop them.
    torch.compiler.reset()
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.empty_cache()


def guarded(row: dict[str, Any], work: Callable[[], Mapping[str, Any]], device: torch.device,
            limit_gb: float) -> dict[str, Any]:
    """Run one row's `work`; whatever goes wrong is written in the row and the bench goes on.

    Every tensor a row makes lives in `work`'s frame, so once the exception (and the traceback that
    holds that frame) is gone, release() can really free it.
    """
    try:
        row.update(work())
        row["status"] = "ok"
    except NotImplementedError as exc:
        row["status"] = f"skipped: {first_line(exc)}"
    except Exception as exc:  # noqa: BLE001 -- a bench reports a failed row and measures the rest
        if out_of_memory(exc):
            row["status"] = f"out of memory at {limit_gb:.0f} GB"
        else:
            row["status"] = f"error: {type(exc).__name__}: {first_line(exc)}"
    finally:
        release(device)
        label = row.get("variant") or row.get("decoder") or row.get("offload") or ""
        print(f"  {row.get('name', row.get('model', ''))} {label}: {row.get('status', 'interrupted')}", flush=True)
    return row
