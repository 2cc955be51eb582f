"""A small reader of MP4/MOV boxes, enough to see what a player that trusts the file sees: the
tracks' edit lists (`elst`) and composition offsets (`ctts`)."""

from __future__ import annotations

import struct
from pathlib import Path

# Boxes that hold other boxes, on the way from the file to a track's sample table.
CONTAINERS = frozenset({"moov", "trak", "edts", "mdia", "minf", "stbl"})


def boxes(path: Path) -> list[tuple[str, bytes]]:
    """Every box on the way to the sample tables, as ("moov/trak/edts/elst", body) in file order."""
    data = Path(path).read_bytes()
    found: list[tuple[str, bytes]] = []

    def walk(start: int, end: int, prefix: str) -> None:
        offset = start
        while offset + 8 <= end:
            size, kind = struct.unpack(">I4s", data[offset : offset + 8])
            header = 8
            if size == 1:
                (size,) = struct.unpack(">Q", data[offset + 8 : offset + 16])
                header = 16
            elif size == 0:
                size = end - offset
            if size < header:
                raise ValueError(f"{path}: a box of {size} bytes at {offset}")
            name = prefix + kind.decode("latin-1")
            found.append((name, data[offset + header : offset + size]))
            if kind.decode("latin-1") in CONTAINERS:
                walk(offset + header, offset + size, name + "/")
            offset += size

    walk(0, len(data), "")
    return found


def edit_lists(path: Path) -> list[list[tuple[int, int]]]:
    """Each `elst` box in the file as its (segment duration, media time) entries."""
    lists = []
    for name, body in boxes(path):
        if name.endswith("/elst"):
            version, (count,) = body[0], struct.unpack(">I", body[4:8])
            entry, layout = (20, ">Qq") if version == 1 else (12, ">Ii")
            lists.append([struct.unpack(layout, body[8 + entry * i : 8 + entry * i + struct.calcsize(layout)])
                          for i in range(count)])
    return lists


def first_frame_delays(path: Path) -> list[float]:
    """For each track with composition offsets (`ctts`), the seconds before its first frame shows
    to a player that ignores edit lists (0: no reordering delay to skip)."""
    delays, timescale = [], 1
    for name, body in boxes(path):
        if name.endswith("/mdhd"):  # each track's media header comes before its sample table
            (timescale,) = struct.unpack(">I", body[20:24] if body[0] == 1 else body[12:16])
        elif name.endswith("/ctts") and struct.unpack(">I", body[4:8])[0]:
            (offset,) = struct.unpack(">i" if body[0] == 1 else ">I", body[12:16])
            delays.append(offset / timescale)
    return delays
