"""The render queue kept on disk, so jobs still waiting when the app stops (or is killed) can resume.

`queue.json` in the data folder holds the requests in order (schema "i2v_desktop.queue"). It is
rewritten atomically on every change; a damaged file is moved aside (never destroyed) and the
queue starts empty; a request that no longer reads (an old or edited record) is dropped with a
logged line and the others are kept.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from ..core.errors import I2VError
from ..core.request import GenerationRequest
from .history import atomic_write, damaged_name

SCHEMA = "i2v_desktop.queue"
VERSION = 1
FILE_NAME = "queue.json"
log = logging.getLogger(__name__)


def save_queue(folder: Path, requests: Sequence[GenerationRequest]) -> None:
    """Keep `requests` (in order) as the queue; an empty queue removes the file."""
    path = folder / FILE_NAME
    if not requests:
        path.unlink(missing_ok=True)
        return
    document = {"schema": SCHEMA, "version": VERSION, "jobs": [request.to_dict() for request in requests]}
    atomic_write(path, (json.dumps(document, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8"))


def load_queue(folder: Path) -> list[GenerationRequest]:
    """The queue a previous session left, or [] (nothing there, or a file that had to be set aside)."""
    path = folder / FILE_NAME
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        return _set_aside(path, f"cannot be read ({type(exc).__name__})")
    if not isinstance(document, dict) or document.get("schema") != SCHEMA or not isinstance(document.get("jobs"), list):
        return _set_aside(path, "is not an i2v_desktop queue")
    requests = []
    for number, item in enumerate(document["jobs"], 1):
        try:
            requests.append(GenerationRequest.from_dict(item))
        except I2VError as exc:
            log.warning("%s: job %d dropped: %s", path, number, exc)
    return requests


def _set_aside(path: Path, reason: str) -> list[GenerationRequest]:
    target = damaged_name(path)
    try:
        path.rename(target)
        log.warning("%s %s; moved aside to %s and the queue starts empty", path, reason, target.name)
    except OSError:
        log.warning("%s %s and could not be moved aside; the queue starts empty", path, reason)
    return []
