"""The desktop app's entry point (`i2v-desktop`): wires paths, settings, engine choice and window."""

from __future__ import annotations

import sys


def main() -> int:
    # The window is not built yet; say so plainly rather than open an empty one.
    print("i2v-desktop: the desktop window is not available in this version yet; use the `i2v` command line.",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
