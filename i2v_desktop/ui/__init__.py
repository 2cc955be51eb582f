"""The desktop window (PySide6): the only package that imports Qt.

PySide6 6.12.0's stable-ABI wheel drops one reference to None on every Qt method that returns
nothing, when it runs on Python 3.10/3.11 (3.12 made None immortal). A window makes thousands of
such calls a second while painting, and Python aborts once None's count reaches zero. Where the
leak is seen, None is given a count no session can use up; where it is not, nothing is touched.
"""

from __future__ import annotations

import ctypes
import sys


def _keep_none_alive() -> bool:
    if sys.version_info >= (3, 12):
        return False
    from PySide6.QtCore import QObject

    probe, before = QObject(), sys.getrefcount(None)
    for _ in range(8):
        probe.setObjectName("probe")
    if sys.getrefcount(None) >= before:
        return False
    ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40
    return True


NONE_LEAK_GUARDED = _keep_none_alive()
