"""What the export tests share: the photo their clip is made from and the metadata it carries."""

from __future__ import annotations

import json

from i2v_desktop.core.resources import resource_path

SAMPLE = resource_path("samples", "astronaut.jpg")
METADATA = {
    "i2v_desktop": json.dumps(
        {"request": {"prompt": 'a "quoted"\nprompt, 日本語 🎬'}, "score": {"overall": 0.8}}
    ),
    "comment": "Café; key=value # not a comment",
}
