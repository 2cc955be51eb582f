"""Render the app icon's PNG sizes, Windows .ico and macOS .icns from its SVG source.

    python scripts/make_icons.py            # rewrites resources/icons/i2v-desktop-*.png, .ico, .icns
    python scripts/make_icons.py --out DIR  # somewhere else (the tests compare against the committed set)

The SVG is the only hand-made file; everything else is made here, so a change to the design is a
change to the SVG and one run of this script. Qt's own SVG renderer (QtSvg, part of
PySide6-Essentials) draws each size from the vector source, rather than Pillow scaling one bitmap
down, so the small sizes stay sharp. It runs offscreen: no display is needed.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "resources" / "icons"
SOURCE = ICONS / "i2v-desktop.svg"
NAME = "i2v-desktop"
# The sizes desktops ask for: hicolor's usual set (16-256), 512 for high-DPI docks and stores.
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
# A Windows icon holds at most 256 px; Explorer, the taskbar and the Start menu pick from these.
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# macOS draws up to 512 pt at 2x, so the .icns carries a 1024 px picture as well.
ICNS_EXTRA = 1024
_APP = None  # the application made here, if any: kept for as long as the module is loaded


def render(svg: Path, size: int):  # -> PIL.Image.Image (RGBA)
    """The SVG drawn into a transparent size x size RGBA picture."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    # QPainter needs a GUI application in the process; a test's QApplication serves as well.
    global _APP
    if QGuiApplication.instance() is None:
        _APP = QGuiApplication([sys.argv[0]])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg}: not an SVG that Qt can draw")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    # Straight (not premultiplied) RGBA, byte order R, G, B, A, rows without padding (4 * size bytes).
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    pixels = bytes(image.constBits())
    return Image.frombytes("RGBA", (size, size), pixels, "raw", "RGBA", image.bytesPerLine())


def _write(path: Path, data: bytes) -> None:
    """Write through a temporary file and a rename, so an interrupted run leaves no half icon."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; an icon is read by everyone
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _encode(image, fmt: str, **options) -> bytes:  # noqa: ANN001 - PIL.Image.Image
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def make_icons(svg: Path = SOURCE, out: Path = ICONS) -> list[Path]:
    """Render every icon file from `svg` into `out`; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    pictures = {size: render(svg, size) for size in (*PNG_SIZES, ICNS_EXTRA)}
    written = []
    for size in PNG_SIZES:
        path = out / f"{NAME}-{size}.png"
        _write(path, _encode(pictures[size], "PNG", optimize=True))
        written.append(path)
    largest_ico = pictures[max(ICO_SIZES)]
    # append_images hands Pillow our own rendering of each size; without it Pillow scales one down.
    ico = _encode(largest_ico, "ICO", sizes=[(s, s) for s in ICO_SIZES],
                  append_images=[pictures[s] for s in ICO_SIZES if s != max(ICO_SIZES)])
    _write(out / f"{NAME}.ico", ico)
    icns = _encode(pictures[ICNS_EXTRA], "ICNS",
                   append_images=[pictures[s] for s in PNG_SIZES if s in (16, 32, 64, 128, 256, 512)])
    _write(out / f"{NAME}.icns", icns)
    return [*written, out / f"{NAME}.ico", out / f"{NAME}.icns"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--svg", type=Path, default=SOURCE, help="the source drawing (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=ICONS, help="folder to write into (default: %(default)s)")
    args = parser.parse_args(argv)
    if not args.svg.is_file():
        print(f"make_icons: {args.svg}: no such file", file=sys.stderr)
        return 1
    try:
        written = make_icons(args.svg, args.out)
    except (OSError, ValueError) as exc:
        print(f"make_icons: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
