"""The user's own model entries (models.json in the config folder), changed one entry at a time.

The file is the user's too: entries this app did not write and keys it does not know are kept as
they are, and it is replaced through core.durable (a temporary file, on disk, renamed over it),
so a crash or a full disk never leaves half a file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..core.durable import write_durably
from ..core.errors import ModelError, os_reason


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"models": []}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelError(f"{path}: cannot be read ({exc}); fix or move it, then try again") from None
    if not isinstance(data, dict) or not isinstance(data.setdefault("models", []), list):
        raise ModelError(f"{path}: not a models file (it needs a \"models\" list); fix or move it")
    return data


def _write(path: Path, data: dict[str, Any]) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_durably(path, text.encode("utf-8"))
    except OSError as exc:
        raise ModelError(f"{path}: cannot be written ({os_reason(exc)})") from None


def put_model(path: Path, item: dict[str, Any]) -> None:
    """Add `item` to the user's models, or replace the entry with its id; everything else stays."""
    data = _read(path)
    models = data["models"]
    for index, old in enumerate(models):
        if isinstance(old, dict) and old.get("id") == item["id"]:
            models[index] = item
            break
    else:
        models.append(item)
    _write(path, data)


def drop_model(path: Path, model_id: str) -> bool:
    """Take the entry with `model_id` out of the user's models; whether there was one."""
    data = _read(path)
    kept = [item for item in data["models"] if not (isinstance(item, dict) and item.get("id") == model_id)]
    if len(kept) == len(data["models"]):
        return False
    data["models"] = kept
    _write(path, data)
    return True
