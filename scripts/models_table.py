"""README.md's models table, generated from the registry (resources/models.json): the
part between the two marker comments is rewritten, the rest of README.md is left as it is.

    PYTHONPATH=$PWD .venv/bin/python scripts/models_table.py          # rewrite README.md
    PYTHONPATH=$PWD .venv/bin/python scripts/models_table.py --check  # exit 1 when README.md differs
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from i2v_desktop.engine.registry import load_registry
from i2v_desktop.studio.table import rewrite_readme

README = Path(__file__).resolve().parent.parent / "README.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when README.md's table is not the registry's")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    text = args.readme.read_text(encoding="utf-8")
    try:
        wanted = rewrite_readme(text, load_registry().listed.values())
    except ValueError as exc:
        print(f"{args.readme}: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if wanted != text:
            print(f"{args.readme}: the models table differs from the registry; run scripts/models_table.py",
                  file=sys.stderr)
            return 1
        return 0
    if wanted != text:
        # A temporary file in the same folder, then a rename: README.md is never left half written.
        fd, temp = tempfile.mkstemp(dir=args.readme.parent, prefix=".README.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(wanted)
        os.chmod(temp, args.readme.stat().st_mode & 0o777)  # mkstemp makes it private
        os.replace(temp, args.readme)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
