"""A catalogue batch as plain data: the manifest's rows, each one's result, and the results file.

A manifest is CSV (a header row naming the columns) or JSON Lines (one object per line), one row
per clip. Only `photo` is required; every other column falls back to the batch's defaults (the
command line's, or the window's current settings). A row that cannot be made is one `BadRow` naming
the row and the reason; it never stops the others.

Every row has a `name` (its clips' file stem, unique in the batch) and a `key`: a digest of all that
makes its files (the request, the exports, the encoder quality, the name). Running a batch again
skips the rows whose key the results file already records as done, so an interrupted catalogue
resumes; a row whose settings changed has a new key and renders again.

A row without a seed gets one derived from its photo's file name and its name: the same manifest
gives the same seeds, and so the same frames, wherever and however often it runs.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .durable import fit_stem
from .errors import I2VError, InputError
from .request import MAX_SEED, GenerationRequest

# Manifest columns: `photo`, then the request's fields a catalogue sets per row, then ours.
REQUEST_COLUMNS = ("preset", "intensity", "prompt", "negative_prompt", "aspect", "duration", "fps", "model",
                   "quality", "variants", "seed", "loop", "steps", "guidance", "sound")
COLUMNS = ("photo", *REQUEST_COLUMNS, "exports", "name")
_NUMBERS = {"intensity": float, "duration": float, "fps": float, "guidance": float,
            "variants": int, "seed": int, "steps": int}
_FLAGS = ("loop", "sound")

# A row's status in the results file.
DONE = "done"
FAILED = "failed"
INVALID = "invalid"  # the row itself is wrong (a bad value, a missing photo): fix the manifest
STATUSES = (DONE, FAILED, INVALID)

RESULT_COLUMNS = ("row", "name", "photo", "status", "clips", "exports", "scores", "seconds", "reason", "worker",
                  "key")
RESULTS_FILE = "results.csv"
MANIFEST_SUFFIXES = (".csv", ".jsonl", ".ndjson", ".json")  # .csv is CSV, the others JSON Lines


class ManifestError(InputError):
    """The manifest as a whole cannot be read (not one of its rows: those are BadRows)."""


@dataclass(frozen=True)
class BatchRow:
    """One clip of the catalogue, ready to render: `row` is its number as the user counts it
    (the first data row is 1)."""

    row: int
    name: str  # the file stem of its clips (NAME.mp4, or NAME_v1.mp4… with variants)
    request: GenerationRequest
    exports: tuple[str, ...] = ()  # export preset ids
    crf: int = 18
    key: str = ""  # filled in by `keyed`

    @property
    def photo(self) -> str:
        return self.request.image


@dataclass(frozen=True)
class BadRow:
    row: int
    photo: str  # as the manifest wrote it ("" when it did not)
    reason: str

    def line(self) -> str:
        """The one line a front end prints: "row 7 (coffee.jpg): duration must be …"."""
        where = f"row {self.row}" + (f" ({self.photo})" if self.photo else "")
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class BatchPlan:
    """What a batch will do: where the rows came from, the rows, and the rows it cannot do."""

    source: str  # the manifest or folder, as the user named it
    rows: tuple[BatchRow, ...]
    bad: tuple[BadRow, ...] = ()


@dataclass(frozen=True)
class RowResult:
    """How one row went: a line of the results file."""

    row: int
    name: str
    photo: str
    status: str  # one of STATUSES
    clips: tuple[str, ...] = ()  # where its clips are (paths or URLs), best-scoring first
    exports: tuple[str, ...] = ()
    scores: tuple[float, ...] = ()  # each clip's overall score, 0–100, in the order of `clips`
    seconds: float = 0.0  # wall time on its worker
    reason: str = ""  # why it failed, one line; notes (a snapped frame count) when done
    worker: str = ""  # which worker made it ("host:pid"), for a cluster's operator
    key: str = ""

    def to_row(self) -> list[str]:
        return [str(self.row), self.name, self.photo, self.status, ";".join(self.clips), ";".join(self.exports),
                ";".join(f"{s:.1f}" for s in self.scores), f"{self.seconds:.2f}", self.reason, self.worker, self.key]

    @classmethod
    def from_row(cls, cells: Sequence[str]) -> RowResult:
        """One line of a results file; ValueError when it is not one (a line cut short by a kill)."""
        if len(cells) != len(RESULT_COLUMNS):
            raise ValueError(f"expected {len(RESULT_COLUMNS)} cells, got {len(cells)}")
        values = dict(zip(RESULT_COLUMNS, cells))
        if values["status"] not in STATUSES:
            raise ValueError(f"unknown status {values['status']!r}")

        def split(text: str) -> tuple[str, ...]:
            return tuple(part for part in text.split(";") if part)

        return cls(int(values["row"]), values["name"], values["photo"], values["status"], split(values["clips"]),
                   split(values["exports"]), tuple(float(s) for s in split(values["scores"])),
                   float(values["seconds"]), values["reason"], values["worker"], values["key"])

    def line(self) -> str:
        """One line for a terminal: "row 7 coffee: done in 4.1 s, 2 clips, score 81"."""
        head = f"row {self.row} " + (self.name or self.photo.replace("\\", "/").rsplit("/", 1)[-1])
        if self.status == DONE:
            score = f", score {max(self.scores):.0f}" if self.scores else ""
            return f"{head}: done in {self.seconds:.1f} s, {len(self.clips)} clip(s){score}"
        return f"{head}: {self.status}: {self.reason}"


@dataclass(frozen=True)
class BatchReport:
    """How a batch run went: `skipped` rows were done by an earlier run and left alone."""

    results: tuple[RowResult, ...] = ()
    skipped: int = 0
    cancelled: bool = False
    results_file: str = ""
    seconds: float = 0.0

    @property
    def done(self) -> int:
        return sum(result.status == DONE for result in self.results)

    @property
    def failed(self) -> tuple[RowResult, ...]:
        return tuple(result for result in self.results if result.status != DONE)


@dataclass
class Tally:
    """Progress of a run, for a terminal line or a progress bar: rate and time left count only the
    rows rendered in this run (skipped rows cost nothing and would flatter the rate)."""

    total: int  # rows to render in this run
    started: float  # time.monotonic() at the start
    done: int = 0
    failed: int = 0
    finished: list[float] = field(default_factory=list)

    def add(self, result: RowResult, now: float) -> None:
        if result.status == DONE:
            self.done += 1
        else:
            self.failed += 1
        self.finished.append(now)

    @property
    def count(self) -> int:
        return self.done + self.failed

    def rate(self, now: float) -> float:
        """Rows per second so far (0 until the first row ends)."""
        elapsed = now - self.started
        return self.count / elapsed if self.count and elapsed > 0 else 0.0

    def eta(self, now: float) -> float | None:
        rate = self.rate(now)
        return (self.total - self.count) / rate if rate > 0 else None

    def line(self, now: float) -> str:
        """"37/120 rows, 2 failed, 1.6 rows/min, 0:51:40 left"."""
        text = f"{self.count}/{self.total} rows"
        if self.failed:
            text += f", {self.failed} failed"
        rate = self.rate(now)
        if rate > 0:
            text += f", {rate:.1f} rows/s" if rate >= 1 else f", {rate * 60:.1f} rows/min"
            eta = self.eta(now)
            text += f", {clock(eta)} left" if eta is not None else ""
        return text


def clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


# -- reading a manifest ---------------------------------------------------------------------------


def manifest_kind(name: str) -> str:
    """"csv" or "jsonl" from a manifest's name; ManifestError naming it otherwise."""
    lower = name.lower()
    if lower.endswith(MANIFEST_SUFFIXES):
        return "csv" if lower.endswith(".csv") else "jsonl"
    raise ManifestError(f"{name}: a manifest is a .csv or a .jsonl file")


def manifest_items(text: str, kind: str, name: str) -> list[tuple[int, dict[str, Any] | str]]:
    """(row number, the row's cells) per data row, or (row number, why it cannot be read).

    CSV: a header names the columns (an unknown column stops the manifest, naming it: a misspelt
    "promt" must not be silently ignored); blank lines are skipped; `#` starts a comment line.
    JSON Lines: one object per line."""
    items: list[tuple[int, dict[str, Any] | str]] = []
    if kind == "csv":
        lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        reader = csv.reader(lines)
        try:
            header = [cell.strip().lower() for cell in next(reader)]
        except StopIteration:
            raise ManifestError(f"{name}: the manifest is empty") from None
        except csv.Error as exc:
            raise ManifestError(f"{name}: not CSV ({exc})") from None
        _check_columns(header, name)
        if "photo" not in header:
            raise ManifestError(f"{name}: the header has no photo column (it has {', '.join(header)})")
        for number, cells in enumerate(reader, start=1):
            if len(cells) > len(header):
                items.append((number, f"{len(cells)} cells for {len(header)} columns"))
                continue
            items.append((number, {column: cell.strip() for column, cell in zip(header, cells) if cell.strip()}))
        return items
    number = 0
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        number += 1
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            items.append((number, f"not JSON ({exc.msg}, column {exc.colno})"))
            continue
        if not isinstance(data, dict):
            items.append((number, "not a JSON object"))
            continue
        unknown = sorted(set(data) - set(COLUMNS))
        items.append((number, f"unknown field(s) {', '.join(unknown)} (known: {', '.join(COLUMNS)})" if unknown
                      else {key: value for key, value in data.items() if value not in (None, "")}))
    if not items:
        raise ManifestError(f"{name}: the manifest has no rows")
    return items


def _check_columns(header: list[str], name: str) -> None:
    unknown = [column for column in header if column not in COLUMNS]
    if unknown:
        raise ManifestError(f"{name}: unknown column(s) {', '.join(unknown)} (known: {', '.join(COLUMNS)})")
    repeated = sorted({column for column in header if header.count(column) > 1})
    if repeated:
        raise ManifestError(f"{name}: column(s) {', '.join(repeated)} appear more than once")


def row_request(cells: Mapping[str, Any], photo: str, defaults: GenerationRequest) -> GenerationRequest:
    """The request a row asks for: `defaults` with the row's cells over it. I2VError naming the
    column for a value that is not one ("duration: not a number: 'abc'")."""
    values: dict[str, Any] = {"image": photo}
    for column in REQUEST_COLUMNS:
        if column not in cells:
            continue
        value = cells[column]
        try:
            if column in _NUMBERS:
                value = _number(value, _NUMBERS[column])
            elif column in _FLAGS:
                value = _flag(value)
            elif not isinstance(value, str):
                raise ValueError(f"not text: {value!r}")
        except ValueError as exc:
            raise I2VError(f"{column}: {exc}") from None
        values[column] = value
    return replace(defaults, **values)


def _number(value: Any, kind: type) -> int | float:
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, str):
        try:
            value = float(value) if kind is float else int(value.strip())
        except ValueError:
            raise ValueError(f"not {'a number' if kind is float else 'a whole number'}: {value!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"not a number: {value!r}")
    if kind is int and isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"not a whole number: {value!r}")
        value = int(value)
    if not isinstance(value, (int, float)):
        raise ValueError(f"not a number: {value!r}")
    return kind(value)


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "y", "on"):
        return True
    if text in ("0", "false", "no", "n", "off"):
        return False
    raise ValueError(f"not yes or no: {value!r}")


def export_ids(value: Any) -> tuple[str, ...]:
    """A row's exports: "reels;tiktok" (or "reels tiktok", "reels,tiktok"), or a JSON list."""
    if isinstance(value, list):
        return tuple(str(item).strip() for item in value if str(item).strip())
    return tuple(part for part in re.split(r"[;,\s]+", str(value)) if part)


# -- names, seeds and keys ------------------------------------------------------------------------


_UNSAFE = re.compile(r"[^\w.-]+")
# A row's name, with the -N that makes it unique and a variant's _vN, stays within the stem every
# file name is made from (core.durable.fit_stem): two rows' files never end up cut to one name.
NAME_BYTES = 160


def safe_name(text: str) -> str:
    """A file stem any storage takes: letters, digits, `.`, `-`, `_` (others become `-`), at most 120
    characters and NAME_BYTES bytes (a letter may take four), never empty or hidden."""
    name = fit_stem(_UNSAFE.sub("-", text).strip("-.")[:120], NAME_BYTES).strip("-.")
    return name or "clip"


def unique_names(wanted: Sequence[str]) -> list[str]:
    """The wanted stems, made unique in order: the second "coffee" is "coffee-2" (a third, "coffee-3"),
    never a name another row asks for. Decided from the manifest alone, so every run and every
    worker names a row's files the same."""
    asked = {name.lower() for name in wanted}
    used: set[str] = set()
    names = []
    for name in wanted:
        candidate, n = name, 1
        while candidate.lower() in used or (n > 1 and candidate.lower() in asked):
            n += 1
            candidate = f"{name}-{n}"
        used.add(candidate.lower())
        names.append(candidate)
    return names


def row_seed(photo: str, name: str) -> int:
    """The seed of a row that gives none: from its photo's file name and its name, so it does not
    change when the catalogue moves to another folder or another storage."""
    base = photo.replace("\\", "/").rsplit("/", 1)[-1]
    return zlib.crc32(f"{base}|{name}".encode()) % (MAX_SEED + 1)


def row_key(row: BatchRow) -> str:
    """What makes a row's files, as a short digest: a result recorded under this key is this row done."""
    data = {"request": row.request.to_dict(), "exports": list(row.exports), "crf": row.crf, "name": row.name}
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:20]


def keyed(row: BatchRow) -> BatchRow:
    return replace(row, key=row_key(row))


# -- the results file -----------------------------------------------------------------------------


def results_header() -> str:
    return _csv_line(list(RESULT_COLUMNS))


def result_line(result: RowResult) -> str:
    return _csv_line(result.to_row())


def _csv_line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


def read_results(text: str) -> list[RowResult]:
    """The results a file holds, in order. Lines that are not results (a header, a line cut short by
    a kill) are passed over: the rows they would have recorded simply render again."""
    results = []
    for cells in csv.reader(io.StringIO(text)):
        if not cells or cells[0] == RESULT_COLUMNS[0]:
            continue
        try:
            results.append(RowResult.from_row(cells))
        except (ValueError, TypeError):
            continue
    return results


def latest_results(results: Iterable[RowResult]) -> dict[str, RowResult]:
    """The latest result recorded under each key (a failed row that a second run made is done; bad
    rows, which have no key, are left out)."""
    return {result.key: result for result in results if result.key}


__all__ = [
    "COLUMNS", "DONE", "FAILED", "MANIFEST_SUFFIXES", "INVALID", "REQUEST_COLUMNS", "RESULTS_FILE", "RESULT_COLUMNS",
    "STATUSES", "BadRow", "BatchPlan", "BatchReport", "BatchRow", "ManifestError", "RowResult", "Tally", "clock",
    "export_ids", "latest_results", "keyed", "manifest_items", "manifest_kind", "read_results", "result_line",
    "results_header", "row_key", "row_request", "row_seed", "safe_name", "unique_names",
]
