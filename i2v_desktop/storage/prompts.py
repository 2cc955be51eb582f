"""The user's prompt library: phrases that worked, saved to reuse (creators keep such lists).

A library that cannot be read is never written over: it is moved aside as
`prompts.json.damaged-STAMP` (as the history keeps a damaged index), the library starts empty, and
`problems` says so in one line for the window to show. Every save goes through
core.durable.write_durably, so a crash leaves the old list or the new one, never half of one.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

from ..core.durable import commit_new, temp_beside, write_durably
from ..core.errors import InputError

SCHEMA = "i2v_desktop.prompts"
log = logging.getLogger(__name__)


class PromptLibrary:
    """An ordered list of unique phrases in one JSON file, newest first.

    `problems`: one line for what was wrong with the file when it was opened ([] when nothing was)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[str] = []
        self._lock = threading.Lock()
        self._unmoved: str | None = None  # why the file is damaged, while it could not be moved aside
        self._phrases = self._read()

    def phrases(self) -> list[str]:
        return list(self._phrases)

    def add(self, phrase: str) -> None:
        phrase = " ".join(phrase.split())
        if not phrase:
            raise InputError("prompt library: an empty prompt cannot be saved")
        with self._lock:
            self._write([phrase] + [p for p in self._phrases if p != phrase])

    def remove(self, phrase: str) -> None:
        with self._lock:
            if phrase not in self._phrases:
                raise InputError(f"prompt library: no saved prompt {phrase!r}")
            self._write([p for p in self._phrases if p != phrase])

    def _read(self) -> list[str]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            return self._damaged(f"cannot be read ({exc.strerror or exc})")
        try:
            data = json.loads(raw.decode("utf-8"))
        except ValueError:  # UnicodeDecodeError is one too
            return self._damaged("not valid JSON")
        phrases = data.get("prompts") if isinstance(data, dict) and data.get("schema") == SCHEMA else None
        if not isinstance(phrases, list):
            return self._damaged("not a prompt library")
        kept = [p for p in phrases if isinstance(p, str) and p.strip()]
        if len(kept) < len(phrases):
            # The next save would drop what could not be read: the original is kept first.
            self._keep_copy(f"{len(phrases) - len(kept)} of its entries are not text")
        return kept

    def _damaged(self, reason: str) -> list[str]:
        self._unmoved = reason
        self._set_aside()
        return []

    def _set_aside(self) -> None:
        """Move the damaged file to a `.damaged-STAMP` name nobody holds (never replacing one)."""
        reason = self._unmoved
        try:
            kept = commit_new(self.path, _aside(self.path))
        except FileNotFoundError:
            self._unmoved = None  # gone meanwhile: nothing left to protect
            return
        except OSError as exc:
            self._tell(f"prompt library {self.path} is damaged ({reason}) and cannot be moved aside "
                       f"({exc.strerror or exc}); it is left as it is and nothing is saved over it")
            return
        self._unmoved = None
        self._tell(f"prompt library damaged ({reason}), set aside as {kept.name}; "
                   "starting with no saved prompts")

    def _keep_copy(self, reason: str) -> None:
        tmp = None
        try:
            data = self.path.read_bytes()
            tmp = temp_beside(self.path)
            tmp.write_bytes(data)  # commit_new puts it on disk before it takes the name
            target = commit_new(tmp, _aside(self.path))
        except OSError as exc:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
            self._unmoved = reason  # no copy: the file must not be rewritten without its entries
            self._tell(f"prompt library {self.path}: {reason}, and no copy could be kept "
                       f"({exc.strerror or exc}); nothing is saved over it")
            return
        self._tell(f"prompt library: {reason}; skipped them, the original kept as {target.name}")

    def _tell(self, line: str) -> None:
        log.warning("%s", line)
        self.problems.append(line)

    def _write(self, phrases: list[str]) -> None:
        """Save `phrases` (then take them as the library). Called with the lock held."""
        if self._unmoved is not None:
            self._set_aside()  # it may be movable now (a permission fixed, a disk remounted)
            if self._unmoved is not None:
                raise InputError(f"{self.path}: the prompt library is damaged ({self._unmoved}) and could "
                                 "not be moved aside, so it is not saved over; move it away and try again")
        document = {"schema": SCHEMA, "version": 1, "prompts": phrases}
        text = json.dumps(document, ensure_ascii=False, indent=1) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_durably(self.path, text.encode("utf-8"))
        self._phrases = phrases


def _aside(path: Path) -> Path:
    return path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
