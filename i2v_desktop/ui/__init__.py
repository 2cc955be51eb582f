"""The desktop window (PySide6): the only package that imports Qt.

PySide6 6.12.0's stable-ABI wheel, on Python 3.10/3.11, drops a reference it never took on the
values its calls return: None for every method that returns nothing, True for every signal
emitted. A window makes thousands of such calls a second, and Python aborts ("none_dealloc",
"bool_dealloc") once a count reaches zero. Python 3.12 made these objects immortal; where the
leak is seen on an older Python, they are given counts no session can use up. Where it is not
seen, nothing is touched.
"""

from __future__ import annotations

import ctypes
import sys


def _keep_singletons_alive() -> bool:
    if sys.version_info >= (3, 12):
        return False
    from PySide6.QtCore import QObject

    probe, before = QObject(), sys.getrefcount(None)
    for _ in range(8):
        probe.setObjectName("probe")
    if sys.getrefcount(None) >= before:
        return False
    for value in (None, True, False):
        ctypes.c_ssize_t.from_address(id(value)).value += 1 << 40
    return True


SINGLETON_LEAK_GUARDED = _keep_singletons_alive()
