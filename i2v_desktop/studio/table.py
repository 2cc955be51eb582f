"""The models table: what `i2v models` prints and the README lists, from the one registry.

Every memory figure goes through `core.studio.memory_text`, the same function the window's
models page and picker use, so a model needs the same GB wherever it is read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from ..core.studio import MEMORY_PLANS, ModelInfo, memory_text
from ..engine.fit import needs
from ..engine.registry import ModelEntry

# Where scripts/models_table.py writes the table in README.md.
README_BEGIN = "<!-- models table: scripts/models_table.py writes this part -->"
README_END = "<!-- end of the models table -->"


def download_gb(entry: ModelEntry) -> float:
    """Everything a download of `entry` fetches: weights, the fast tier's LoRA, the tiny decoder, the
    camera LoRAs (nothing for a folder of the user's: a user entry based on a built-in keeps the built-in's size)."""
    if entry.local_path:
        return 0.0
    total = entry.download_gb
    if entry.lora is not None:
        total += entry.lora.download_gb
    if entry.tiny_decoder is not None:
        total += entry.tiny_decoder.download_gb
    total += sum(lora.download_gb for lora in entry.camera_loras)
    return round(total, 1)


def addon_lines(entry: ModelEntry, look: bool = True) -> tuple[str, ...]:
    """What a download of `entry` brings besides its weights, one line each: the camera LoRAs, the
    fast tier's LoRA, the tiny video decoder, with size and licence; `look` adds whether each is on
    this disk (never the network)."""
    from ..engine.weights import camera_lora_path, loras_downloaded, tiny_decoder_file

    def here(done: bool) -> str:
        return ("" if not look else ", downloaded" if done else ", not downloaded")

    lines = []
    if entry.camera_loras:
        names = [lora.name for lora in entry.camera_loras]
        common = os.path.commonprefix(names)
        common = common[:common.rfind(" ") + 1]  # "LTX-2 Dolly In", "LTX-2 Static": say "Dolly In, Static"
        size = round(sum(lora.download_gb for lora in entry.camera_loras), 2)
        licences = ", ".join(dict.fromkeys(lora.licence for lora in entry.camera_loras))
        done = look and all(camera_lora_path(lora) is not None for lora in entry.camera_loras)
        lines.append(f"camera LoRAs: {', '.join(name[len(common):] for name in names)} ({size:g} GB, {licences})"
                     + here(done))
    if entry.lora is not None:
        done = look and loras_downloaded(entry)
        lines.append(f"fast tier: {entry.lora.name} LoRA ({entry.lora.download_gb:g} GB, {entry.lora.licence})"
                     + here(done))
    if entry.tiny_decoder is not None:
        tiny = entry.tiny_decoder
        done = look and tiny_decoder_file(entry) is not None
        lines.append(f"tiny video decoder for previews and drafts: {tiny.arch} ({tiny.download_gb * 1000:.0f} MB, "
                     f"{tiny.licence})" + here(done))
    return tuple(lines)


def size_text(gb: float) -> str:
    return f"{gb:g} GB" if gb else "none"


def disk_text(size: int) -> str:
    if not size:
        return "-"
    return f"{size / 1e9:.1f} GB" if size >= 1e8 else f"{size / 1e6:.0f} MB"


def info_rows(infos: Iterable[ModelInfo]) -> list[tuple[str, ...]]:
    """`i2v models`: the window's models page as text, a header row first."""
    rows = [("id", "name", "download", "on disk", f"GPU memory ({MEMORY_PLANS})", "here", "licence", "state")]
    for info in infos:
        rows.append((info.id + (" (default)" if info.default else ""), info.name, size_text(info.download_gb),
                     disk_text(info.disk_bytes), info.fit.memory, info.fit.verdict, info.licence, info.state))
    return rows


def readme_rows(entries: Iterable[ModelEntry]) -> list[tuple[str, ...]]:
    """The README's table: only what is the same on every machine."""
    rows = [("Model", "Good at", "Clip", "Download", f"GPU memory ({MEMORY_PLANS})", "RAM to load", "Licence",
             "Commercial use", "Terms that depend on you", "Sound")]
    for entry in entries:
        ram = "-" if entry.engine != "diffusion" else size_text(entry.ram_gb)
        sizes = " or ".join(f"{w}×{h}" for w, h in dict.fromkeys(entry.resolutions.values()))
        low, high = entry.fps_range
        rate = f"{entry.fps:g} fps" + (f" ({low:g}–{high:g})" if low != high else "")
        clip = f"{sizes}, {rate}" if entry.tiers else "add-on: makes no clip itself"
        rows.append((f"{entry.name} (`{entry.id}`)", entry.summary, clip, size_text(download_gb(entry)),
                     memory_text(needs(entry)), ram, entry.licence, entry.commercial, entry.terms or "-",
                     "yes" if entry.sound else "no"))
    return rows


def markdown(rows: list[tuple[str, ...]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(cell(c) for c in rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def readme_section(entries: Iterable[ModelEntry]) -> str:
    """The part of README.md between the markers, markers included."""
    return f"{README_BEGIN}\n{markdown(readme_rows(entries))}\n{README_END}"


def rewrite_readme(text: str, entries: Iterable[ModelEntry]) -> str:
    """README.md's text with the models table regenerated; ValueError when the markers are missing."""
    start, end = text.find(README_BEGIN), text.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"README.md has no models table markers ({README_BEGIN} ... {README_END})")
    return text[:start] + readme_section(entries) + text[end + len(README_END):]
