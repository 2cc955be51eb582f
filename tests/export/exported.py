"""What the export tests share: the photo their clip is made from and the metadata it carries."""

from __future__ import annotations

import json
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[2] / "i2v_desktop" / "resources" / "samples" / "astronaut.jpg"
METADATA = {
    "i2v_desktop": json.dumps(
        {"request": {"prompt": 'a "quoted"\nprompt, 日本語 🎬'}, "score": {"overall": 0.8}}
    ),
    "comment": "Café; key=value # not a comment",
}
