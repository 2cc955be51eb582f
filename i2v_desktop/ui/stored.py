"""Every value the window keeps in its settings file, checked once when the window opens.

The file is the user's to edit, and it outlives what it names: a user preset deleted, a model
folder moved, a hand-typed `duration=600`. A value that makes no sense is removed before any
panel reads it, so every reader gets that key's default, and the window says which value it
dropped, once, in one line (the next save writes the good value back). Nothing a settings file
holds can stop the window from opening.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

from ..core.errors import I2VError, RequestError
from ..core.request import GenerationRequest

log = logging.getLogger(__name__)
MAX_TEXT = 4096  # longer than any path or template a user types; a longer value is a damaged file
MAX_PROMPT = 20_000
TRUE, FALSE = ("true", "1"), ("false", "0")  # as QSettings writes bools, and as people type them
# What a default that is no value means, in the line that falls back to it.
UNSET = {"fps": "the model's own rate", "seed": "a new seed for each render",
         "model": "the model the app chooses", "motion_prompt": "the preset's words",
         "camera_lora": "the preset's strength", "loras": "no LoRAs"}


@dataclass(frozen=True)
class Known:
    """What the values may name: the studio's presets, models and export formats."""

    presets: frozenset[str]
    model: Callable[[str], bool]  # whether a model id or folder can be used here
    formats: frozenset[str]


def known_to(studio: Any) -> Known:
    offered = {choice.id for choice in studio.models(look=False)}

    def usable(model: str) -> bool:
        if model in offered:
            return True
        try:
            studio.model(model)  # a local folder the user added: it must still be readable
        except (I2VError, OSError):
            return False
        return True

    return Known(frozenset(p.id for p in studio.presets()), usable,
                 frozenset(choice.id for choice in studio.export_choices()))


# -- one parser per kind of value: the value, or ValueError(why) -------------------------------


def flag(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    word = raw.strip().lower() if isinstance(raw, str) else None
    if word in TRUE or word in FALSE:
        return word in TRUE
    raise ValueError("must be true or false")


def text(raw: Any, limit: int = MAX_TEXT) -> str:
    if not isinstance(raw, str):
        raise ValueError("must be one piece of text (put it in quotes if it holds a comma)")
    if "\0" in raw or len(raw) > limit:
        raise ValueError("is not text the app could have written")
    return raw


def count(raw: Any) -> int:
    value = number(raw, whole=True)
    if value is None or not 0 <= value <= 1_000_000:
        raise ValueError("must be a whole number from 0 to 1000000")
    return value


def number(raw: Any, whole: bool) -> int | float | None:
    """A number as the file holds it (text; a number where this session wrote it), None for ""."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        value: Any = raw
    else:
        entered = text(raw).strip()
        if entered == "":
            return None
        try:
            value = int(entered) if whole else float(entered)
        except ValueError:
            raise ValueError("must be a whole number" if whole else "must be a number") from None
    if whole and isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be a whole number")
        value = int(value)
    return value


def layout(raw: Any) -> QByteArray:
    if not isinstance(raw, QByteArray) or raw.isEmpty():
        raise ValueError("is not a saved window layout")
    return raw


def choice(name: str, raw: Any, default: Any, known: Known | None = None) -> Any:
    """One of the clip settings (the [choices] group, whose `default` tells its type) as the file
    holds it: its value, checked with the same rules as a render's request and, given `known`,
    against what this app has."""
    if isinstance(default, bool):
        value: Any = flag(raw)
    elif name == "loras":
        value = lora_uses(raw)
    elif name in ("prompt", "motion_prompt", "model", "preset", "aspect", "quality"):
        value = text(raw, MAX_PROMPT if name.endswith("prompt") else MAX_TEXT)
        if name == "motion_prompt":
            value = value or None
    else:
        value = number(raw, whole=name in ("seed", "variants"))
        if value is None:
            if default is not None:
                raise ValueError("must not be empty")
            return None  # fps and seed: "" stands for None (the model's rate, a new seed each time)
    if value is not None and value != default and name != "model":
        try:
            GenerationRequest(image="photo.png", **{name: value})
        except RequestError as exc:
            raise ValueError(str(exc).removeprefix(f"request: {name} ")) from None
    if known is not None:
        if name == "preset" and value not in known.presets:
            raise ValueError("names a motion preset that does not exist (deleted, or a user preset that "
                             "could not be read)")
        if name == "model" and value and not known.model(value):
            raise ValueError("names a model this app does not know, or a model folder it cannot read")
    return value


def _json(raw: Any) -> Any:
    try:
        return json.loads(text(raw))
    except json.JSONDecodeError:
        raise ValueError("is not the JSON list the app writes") from None


def lora_uses(raw: Any) -> tuple[Any, ...]:
    """The LoRAs of the clip settings, as JSON: [{"path", "sha256", "strength", "expert"}, …]."""
    data = _json(raw)
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ValueError("must be a JSON list of LoRA entries")
    try:
        return GenerationRequest(image="photo.png", loras=data).loras
    except TypeError:  # a field a LoRA entry does not have, or one it needs left out
        raise ValueError("holds an entry that is not path, sha256, strength and expert") from None
    except RequestError as exc:
        raise ValueError(str(exc).removeprefix("request: loras ").removeprefix("request: ")) from None


def lora_files(raw: Any) -> list[str]:
    """The LoRA files picked outside the LoRA folder, as JSON: a list of paths."""
    data = _json(raw)
    if not isinstance(data, list) or not all(isinstance(item, str) and item for item in data):
        raise ValueError("must be a JSON list of file paths")
    return [text(item) for item in data]


def formats(raw: Any, known: Known) -> list[str]:
    """Export format ids, as the exporter writes them ("reels,square"; Qt reads a list where the
    commas are not quoted)."""
    names = [str(name).strip() for name in (raw if isinstance(raw, list) else text(raw).split(","))]
    unknown = [name for name in names if name not in known.formats]
    if unknown:
        raise ValueError(f"names export formats that do not exist ({', '.join(unknown)})")
    return names


# -- the keys -------------------------------------------------------------------------------


def keys(defaults: Any) -> dict[str, Callable[[Any, Known], Any]]:
    """Every key the window reads, and how its value is checked; `defaults`: the window's Choices()."""
    checks: dict[str, Callable[[Any, Known], Any]] = {
        f"choices/{item.name}": (
            lambda raw, known, name=item.name: choice(name, raw, getattr(defaults, name), known))
        for item in fields(defaults)
    }
    for key in ("window/photos_shown", "window/settings_shown", "first_steps/done", "machine/shown",
                "export/open_folder"):
        checks[key] = lambda raw, known: flag(raw)
    for key in ("window/geometry", "window/splitter"):
        checks[key] = lambda raw, known: layout(raw)
    for key in ("batch/source", "batch/out", "paths/photos", "paths/loras", "export/folder",
                "export/template"):
        checks[key] = lambda raw, known: text(raw)
    checks["queue/closed_with"] = lambda raw, known: count(raw)
    checks["loras/extra"] = lambda raw, known: lora_files(raw)
    checks["export/formats"] = checks["export/preset"] = formats
    return checks


def check_settings(settings: QSettings, known: Known, defaults: Any, remove: bool = True) -> list[str]:
    """One line (logged too) for each value in `settings` that makes no sense, removed from the
    file so that every reader gets its default. `remove=False` (a read-only window: the file is
    another window's) leaves the file alone: the clip settings are checked again as they are
    restored, and no other reader stops on a bad value (it opens a dialog less well filled)."""
    lines = []
    if settings.status() == QSettings.Status.FormatError:
        lines.append(f"{_file(settings)}: parts of it are not in the settings format; what could not be "
                     "read uses its defaults")
        log.warning("%s", lines[-1])
    for key, check in keys(defaults).items():
        if not settings.contains(key):
            continue
        raw = settings.value(key)
        try:
            check(raw, known)
        except ValueError as exc:
            group, name = key.split("/", 1)
            default = getattr(defaults, name) if group == "choices" else None
            if group == "choices" and default in (None, "", ()):
                default = UNSET.get(name)
            lines.append(bad_value(settings, key, raw, str(exc), default))
            if remove:
                settings.remove(key)
    if lines and remove:
        settings.sync()
    return lines


def bad_value(settings: QSettings, key: str, raw: Any, why: str, default: Any = None) -> str:
    """The line that says a stored value is dropped (logged here): file, key, value, why, fallback."""
    fallback = "" if default in (None, "") else f" ({default})"
    line = f"{_file(settings)}: {key} = {_shown(raw)} {why}; using the default{fallback}"
    log.warning("%s", line)
    return line


def _file(settings: QSettings) -> str:
    return settings.fileName().rsplit("/", 1)[-1] or "settings"


def _shown(raw: Any) -> str:
    shown = repr(raw if not isinstance(raw, QByteArray) else bytes(raw.data()))
    return shown if len(shown) <= 60 else shown[:57] + "…"
