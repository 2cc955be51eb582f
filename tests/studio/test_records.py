"""The clip record on disk: a damaged or foreign one is named in one line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from i2v_desktop.core.errors import InputError
from i2v_desktop.export.mp4 import write_mp4
from i2v_desktop.studio.records import METADATA_KEY, read_record


def test_studio_records_name_a_damaged_or_foreign_clip(tmp_path):
    damaged = tmp_path / "damaged.mp4"
    write_mp4(np.zeros((2, 16, 16, 3), np.uint8), 24, damaged, metadata={METADATA_KEY: "{not json"})
    with pytest.raises(InputError, match=r"damaged.mp4: its i2v_desktop metadata is damaged$"):
        read_record(damaged)
    foreign = tmp_path / "foreign.mp4"
    write_mp4(np.zeros((2, 16, 16, 3), np.uint8), 24, foreign, metadata={METADATA_KEY: json.dumps({"a": 1})})
    with pytest.raises(InputError, match=r"foreign.mp4: its metadata is not an i2v_desktop clip record$"):
        read_record(foreign)
    plain = tmp_path / "plain.mp4"
    write_mp4(np.zeros((2, 16, 16, 3), np.uint8), 24, plain)
    with pytest.raises(InputError, match=r"plain.mp4: not made by i2v_desktop"):
        read_record(plain)


def test_an_unreadable_sidecar_is_one_line_naming_it(tmp_path):
    clip = tmp_path / "clip.mp4"
    write_mp4(np.zeros((2, 16, 16, 3), np.uint8), 24, clip)  # its tags lost: the sidecar is read
    (tmp_path / "clip.json").write_bytes(b"\xff\xfe\x00 not text")
    with pytest.raises(InputError, match=r"clip.json: the clip's sidecar cannot be read \(UnicodeDecodeError\)$"):
        read_record(clip)
