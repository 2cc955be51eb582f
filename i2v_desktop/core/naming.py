"""Export file names from a template such as "{photo}_{motion}_{format}"."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping

from .durable import fit_stem
from .errors import InputError

FIELDS = ("photo", "motion", "format", "seed", "model", "date")
DEFAULT_TEMPLATE = "{photo}_{motion}_{format}"
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def check_template(template: str) -> None:
    """Refuse a template with unknown fields or broken braces, in one line the user can act on."""
    try:
        names = [field for _, field, spec, _ in string.Formatter().parse(template) if field is not None]
    except ValueError as exc:
        raise InputError(f"file name template {template!r}: {exc}") from None
    unknown = [name for name in names if name not in FIELDS]
    if unknown:
        raise InputError(f"file name template {template!r}: unknown field {{{unknown[0]}}}; "
                         f"use {', '.join('{' + f + '}' for f in FIELDS)}")
    if not template.strip():
        raise InputError("file name template is empty")


def file_stem(template: str, values: Mapping[str, object]) -> str:
    """The file name (no extension) for one export: fields filled in, unsafe characters replaced."""
    check_template(template)
    stem = template.format(**{name: values.get(name, "") for name in FIELDS})
    stem = _UNSAFE.sub("-", stem).strip(" .")
    if not stem:
        raise InputError(f"file name template {template!r} gives an empty name")
    return fit_stem(stem)  # room for the extension and a -NN when the name is taken, in 255 bytes
