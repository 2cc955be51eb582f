"""The user's prompt library: phrases that worked, saved to reuse (creators keep such lists)."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from pathlib import Path

from ..core.errors import InputError

SCHEMA = "i2v_desktop.prompts"
log = logging.getLogger(__name__)


class PromptLibrary:
    """An ordered list of unique phrases in one JSON file, newest first."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._phrases = self._read()

    def phrases(self) -> list[str]:
        return list(self._phrases)

    def add(self, phrase: str) -> None:
        phrase = " ".join(phrase.split())
        if not phrase:
            raise InputError("prompt library: an empty prompt cannot be saved")
        with self._lock:
            self._phrases = [phrase] + [p for p in self._phrases if p != phrase]
            self._write()

    def remove(self, phrase: str) -> None:
        with self._lock:
            if phrase not in self._phrases:
                raise InputError(f"prompt library: no saved prompt {phrase!r}")
            self._phrases.remove(phrase)
            self._write()

    def _read(self) -> list[str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            log.warning("%s: unreadable prompt library, starting empty (%s)", self.path, exc)
            return []
        phrases = data.get("prompts") if isinstance(data, dict) and data.get("schema") == SCHEMA else None
        if not isinstance(phrases, list):
            log.warning("%s: not a prompt library, starting empty", self.path)
            return []
        return [p for p in phrases if isinstance(p, str) and p.strip()]

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"schema": SCHEMA, "version": 1, "prompts": self._phrases}, out, ensure_ascii=False,
                          indent=1)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
