"""How the window words a model's figures: sizes, memory per plan against this machine, a download's
progress. The models page, This machine and the picker's tooltips all say them through these, so
the same model never shows two different figures."""

from __future__ import annotations

from ..core.studio import FITS, FITS_OFFLOADED, TOO_BIG, Fit, Hardware, ModelChoice, ModelInfo, Transfer

DEVICES = {"cuda": "NVIDIA GPU (CUDA)", "mps": "Apple GPU (Metal)"}
VERDICT_WORDS = {FITS: "fits", FITS_OFFLOADED: "fits with offload", TOO_BIG: "too big for this machine"}


def size(n_bytes: float) -> str:
    """Bytes as a person reads them: "850 MB", "12.3 GB"."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= scale:
            value = n_bytes / scale
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{int(n_bytes)} B"


def gb(value: float | None) -> str:
    return "unknown" if value is None else f"{value:g} GB"


def needs(fit: Fit | None) -> str:
    """The GPU memory each plan needs, fastest first, as `i2v models` and the README write it:
    "48 / 24 / 16 GB (full / model offload / group offload)"; "" with no GPU need."""
    if fit is None or not fit.needs:
        return ""
    return f"{fit.memory} ({' / '.join(plan for plan, _ in fit.needs)})"


def verdict(fit: Fit | None) -> str:
    """One line: the verdict and its reason ("fits with offload: needs 16 GB …")."""
    if fit is None:
        return "not checked against this machine yet"
    words = VERDICT_WORDS.get(fit.verdict, "not checked against this machine yet")
    return f"{words}: {fit.reason}" if fit.reason else words


def too_big(choice: ModelChoice) -> bool:
    """A model that needs a "try anyway" before it may be picked."""
    return choice.fit.verdict == TOO_BIG if choice.fit is not None else choice.fits is False


def memory_tip(choice: ModelChoice) -> str:
    """The memory lines of a picker tooltip: the same figures as the models page."""
    said = needs(choice.fit)
    lines = [f"GPU memory {said}"] if said and choice.fit and choice.fit.memory not in choice.note else []
    return "\n".join(lines + [f"On this machine: {verdict(choice.fit)}"] if choice.fit else lines)


def transfer(progress: Transfer) -> str:
    """"1.2 GB of 34 GB · 45.0 MB/s · 12 min left"."""
    parts = [f"{size(progress.done_bytes)} of {size(progress.total_bytes)}" if progress.total_bytes
             else size(progress.done_bytes)]
    if progress.bytes_per_s > 0:
        parts.append(f"{size(progress.bytes_per_s)}/s")
    if progress.eta_s is not None:
        parts.append(f"{duration(progress.eta_s)} left")
    return " · ".join(parts)


def duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def licence(info: ModelInfo) -> str:
    """The licence, what it allows commercially, and its terms where the user's revenue matters."""
    text = f"{info.licence}: {info.commercial}" if info.commercial else info.licence
    return f"{text}. Terms: {info.terms}" if info.terms else text


def hardware_rows(hardware: Hardware) -> list[tuple[str, str]]:
    """The profile as (label, value) rows, for This machine."""
    gpu = hardware.gpu or "none"
    vram = gb(hardware.vram_gb) if hardware.vram_gb is not None else "no GPU"
    if hardware.vram_gb is not None and hardware.vram_free_gb is not None:
        vram += f" ({gb(round(hardware.vram_free_gb, 1))} free)"
    ram = gb(hardware.ram_gb and round(hardware.ram_gb, 1))
    if hardware.ram_gb is not None and hardware.ram_free_gb is not None:
        ram += f" ({gb(round(hardware.ram_free_gb, 1))} free)"
    disk = gb(hardware.disk_free_gb and round(hardware.disk_free_gb, 1))
    return [
        ("Renders on", DEVICES.get(hardware.device, "processor (CPU)")),
        ("GPU", gpu),
        ("GPU memory", vram),
        ("Compute capability", hardware.compute_capability or "—"),
        ("RAM", ram),
        ("Free disk", f"{disk} in {hardware.cache_dir}" if hardware.cache_dir else disk),
        ("torch", hardware.torch),
    ]
