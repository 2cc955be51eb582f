"""`i2v loras` and `i2v render --lora`: the user's LoRA files checked against a model, and the camera
LoRA each preset uses on it, through the Studio (the same checks and lines as the window's)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from ..core.errors import I2VError
from ..core.request import LoraUse
from ..core.studio import ModelChoice, Studio
from . import _skipped, _table


def chosen_loras(studio: Studio, model: ModelChoice, picked: Sequence[tuple[str, float]]) -> tuple[LoraUse, ...]:
    """The request entries for `--lora FILE[:STRENGTH]`: each file (a path, or the name of a file in
    the LoRA folder) read, hashed and checked against the model; the first that does not fit is
    refused in its one line."""
    if not picked:
        return ()
    folder = studio.lora_folder()
    files = []
    for path, _ in picked:
        file = Path(path).expanduser()
        if not file.exists() and (folder / file).is_file():
            file = folder / file
        files.append(file.resolve() if file.exists() else file.absolute())
    choices = {choice.path: choice for choice in studio.loras(model.id, extra=[str(file) for file in files])}
    uses = []
    for file, (_, strength) in zip(files, picked):
        choice = choices[str(file)]
        if not choice.fits:
            raise I2VError(choice.reason)
        uses.append(choice.use(strength))
    return tuple(uses)


def cmd_loras(args: argparse.Namespace) -> int:
    from ..studio.local import user_studio

    studio, problems = user_studio(open_history=False)
    _skipped(problems)
    try:
        model = studio.model(args.model or studio.machine().default_model)
        folder = studio.lora_folder()
        choices = studio.loras(model.id)
        print(f"Your LoRAs, in {folder}, against {model.name} ({model.id}):")
        if choices:
            rows = [("file", "fits", "made for", "layout", "expert")]
            rows += [(c.name, "yes" if c.fits else "no", c.base or "-", c.layout or "-", c.expert)
                     for c in choices]
            _table(rows)
            for choice in choices:
                if not choice.fits:
                    print(f"  {choice.reason}")
        else:
            print("  none yet: put .safetensors LoRA files there, or pass one to `i2v render --lora FILE`")
        print()
        print(f"Camera LoRAs of the presets on {model.name}:")
        for preset in studio.presets():
            camera = studio.camera_lora(model.id, preset.id)
            print(f"  {preset.id}: {camera.note}" + (f" ({camera.licence})" if camera.licence else ""))
    finally:
        studio.close()
    return 0
