"""`i2v bench` on the CPU: per denoising step, our engine against plain diffusers on tiny pipelines.

Both sides use the very same components in the same run: the baseline is the pipeline called
the way the diffusers docs show (no callback), ours is DiffusionEngine.generate with its step
events, previews and cancel checks. The components are tiny random-weight pipelines (fast enough
to run anywhere).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..core.cancel import CancelToken
from ..core.presets import load_presets
from ..core.request import GenerationRequest
from ..engine.diffusion import DiffusionEngine
from ..engine.registry import ModelEntry
from .measure import PeakMemory, median_time
from .tiny_registry import TINY_ENTRY, tiny_registry


def bench_tiny(kinds: tuple[str, ...], steps: int, repeats: int = 5) -> list[dict[str, Any]]:
    from PIL import Image

    from .tiny import save_tiny_pipeline

    import diffusers
    import transformers

    diffusers.utils.logging.disable_progress_bar()  # save_pretrained's bars would bury the table
    transformers.utils.logging.disable_progress_bar()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folders = {k: save_tiny_pipeline(k, Path(tmp) / k) for k in kinds}
        registry = tiny_registry(folders)
        photo = Path(tmp) / "photo.png"
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)).save(photo)
        presets = load_presets()
        for kind in kinds:
            entry = registry.get(TINY_ENTRY[kind])
            engine = DiffusionEngine(registry, presets, device="cpu")
            request = GenerationRequest(image=str(photo), model=entry.id, steps=steps, preset="orbit", duration=1.0)
            events: list[Any] = []
            engine.generate(request, events.append, CancelToken())  # warm-up: loads the pipeline

            def ours() -> None:
                engine.generate(request, events.append, CancelToken())

            with PeakMemory("cpu") as ours_mem:
                ours_s = median_time(ours, repeats)
            step_ms = 1000 * float(np.median(engine.stats.step_s[1:] or engine.stats.step_s))
            preview_share = engine.stats.preview_s / max(sum(engine.stats.step_s), 1e-9)
            previews = engine.stats.previews
            pipe = engine._pipe
            call_args = plain_args(engine, entry, request)

            def plain() -> None:
                pipe(**call_args)

            plain()
            with PeakMemory("cpu") as plain_mem:
                plain_s = median_time(plain, repeats)
            rows.append(
                dict(kind=kind, steps=steps, ours_s=ours_s, plain_s=plain_s, ratio=ours_s / plain_s,
                     step_ms=step_ms, previews=previews, preview_share=preview_share,
                     ours_peak_mb=ours_mem.peak / 2**20, plain_peak_mb=plain_mem.peak / 2**20)
            )
            engine.close()
    return rows


def plain_args(engine: DiffusionEngine, entry: ModelEntry, request: GenerationRequest) -> dict[str, Any]:
    """The same call our engine makes, as a user of diffusers would write it: prompt text, no callback."""
    import torch

    from ..core.framing import fit_image
    from ..core.image import load_image
    from ..engine.families import FAMILIES

    source = load_image(request.image)
    family = FAMILIES[entry.family]
    plan = engine.plan(entry, request, source.size)  # at the size the pipeline renders, camera LoRA's words in
    frame, _, box = fit_image(source, (plan.width, plan.height))
    from PIL import Image

    last = None
    if request.end_image is not None:
        from ..core.framing import fit_end_frame

        last = Image.fromarray(fit_end_frame(load_image(request.end_image), (plan.width, plan.height), source, box))
    args = family.call_args(engine._pipe, entry, plan, Image.fromarray(frame), last)
    if family.uses_prompt:
        args.update(prompt=plan.prompt, negative_prompt=plan.negative_prompt)
    args.update(output_type="np", generator=torch.Generator("cpu").manual_seed(plan.seed))
    return args
