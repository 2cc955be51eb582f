"""The app icon: the committed PNG/ICO/ICNS files are what scripts/make_icons.py makes from the SVG
today, each the size its name says with a transparent outside, and the window wears it."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from i2v_desktop.app import app_icon, icon_folder, keep_singletons_alive

ROOT = Path(__file__).resolve().parents[2]
ICONS = ROOT / "resources" / "icons"


def load_make_icons():
    spec = importlib.util.spec_from_file_location("make_icons", ROOT / "scripts" / "make_icons.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_icons = load_make_icons()


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, qapp) -> Path:
    """The whole icon set rendered again from the SVG, into a folder of its own."""
    keep_singletons_alive()
    out = tmp_path_factory.mktemp("icons")
    written = make_icons.make_icons(make_icons.SOURCE, out)
    assert sorted(p.name for p in written) == sorted(p.name for p in out.iterdir())
    return out


@pytest.mark.parametrize("size", make_icons.PNG_SIZES)
def test_each_png_is_its_size_with_a_transparent_outside_and_an_opaque_middle(fresh, size) -> None:
    for folder in (fresh, ICONS):
        with Image.open(folder / f"i2v-desktop-{size}.png") as image:
            assert image.format == "PNG" and image.mode == "RGBA" and image.size == (size, size)
            alpha = np.asarray(image)[..., 3]
        # The tile's rounded corners leave the corners see-through, whatever the background.
        assert alpha[0, 0] == alpha[0, -1] == alpha[-1, 0] == alpha[-1, -1] == 0, folder
        assert alpha[size // 2, size // 2] == 255, folder
        assert 0.6 < (alpha > 0).mean() < 0.98, folder  # a tile, not an empty or a full square


@pytest.mark.parametrize("size", make_icons.PNG_SIZES)
def test_the_committed_png_is_a_current_rendering_of_the_svg(fresh, size) -> None:
    """A design change in the SVG without `python scripts/make_icons.py` fails here. The tolerance
    allows another Qt's antialiasing, not another drawing."""
    name = f"i2v-desktop-{size}.png"
    with Image.open(fresh / name) as a, Image.open(ICONS / name) as b:
        diff = np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16))
    assert diff.mean() < 0.5, f"resources/icons/i2v-desktop-{size}.png is stale: run scripts/make_icons.py"


def test_the_windows_icon_holds_every_size_up_to_256_and_the_mac_one_up_to_1024(fresh) -> None:
    for folder in (fresh, ICONS):
        with Image.open(folder / "i2v-desktop.ico") as ico:
            assert ico.format == "ICO"
            assert ico.ico.sizes() == {(s, s) for s in make_icons.ICO_SIZES}
            ico.size = (16, 16)
            ico.load()
            # Our own 16 px rendering went in, not Pillow's reduction of the 256 px one.
            with Image.open(ICONS / "i2v-desktop-16.png") as png:
                assert np.array_equal(np.asarray(ico.convert("RGBA")), np.asarray(png))
        chunks = icns_chunks(folder / "i2v-desktop.icns")
        # Finder and the Dock read these: 16-512 pt at 1x and 2x (16 pt at 1x is drawn from ic11).
        assert {kind: Image.open(io.BytesIO(png)).size[0] for kind, png in chunks.items()} == {
            "ic07": 128, "ic08": 256, "ic09": 512, "ic10": 1024,
            "ic11": 32, "ic12": 64, "ic13": 256, "ic14": 512}
        with Image.open(io.BytesIO(chunks["ic11"])) as small, Image.open(ICONS / "i2v-desktop-32.png") as png:
            assert np.array_equal(np.asarray(small.convert("RGBA")), np.asarray(png))


def icns_chunks(path: Path) -> dict[str, bytes]:
    """An .icns file's PNG pictures by chunk type (the table of contents left out)."""
    data, chunks, at = path.read_bytes(), {}, 8
    assert data[:4] == b"icns" and int.from_bytes(data[4:8], "big") == len(data)
    while at < len(data):
        kind, length = data[at:at + 4].decode("ascii"), int.from_bytes(data[at + 4:at + 8], "big")
        if kind != "TOC ":
            assert data[at + 8:at + 16] == b"\x89PNG\r\n\x1a\n", kind
            chunks[kind] = data[at + 8:at + length]
        at += length
    return chunks


def test_make_icons_refuses_a_file_that_is_not_an_svg(tmp_path, capsys) -> None:
    bad = tmp_path / "icon.svg"
    bad.write_text("not a drawing")
    assert make_icons.main(["--svg", str(bad), "--out", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err.strip() == f"make_icons: {bad}: not an SVG that Qt can draw"
    assert make_icons.main(["--svg", str(tmp_path / "none.svg"), "--out", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err.strip() == f"make_icons: {tmp_path / 'none.svg'}: no such file"


def test_the_window_gets_the_app_icon_at_every_size(qapp, qtbot) -> None:
    from PySide6.QtCore import QSize
    from PySide6.QtWidgets import QWidget

    keep_singletons_alive()
    assert icon_folder() == ICONS  # a clone: the folder beside the package
    icon = app_icon()
    assert {(s.width(), s.height()) for s in icon.availableSizes()} == {(s, s) for s in make_icons.PNG_SIZES}
    before = qapp.windowIcon()
    qapp.setWindowIcon(icon)  # what app.main does before it makes the window
    try:
        window = QWidget()
        qtbot.addWidget(window)
        # A window with no icon of its own shows the application's: the title bar, taskbar, Alt+Tab.
        shown = window.windowIcon().pixmap(QSize(48, 48)).toImage()
        assert not shown.isNull() and shown.width() == 48
        corner, middle = shown.pixelColor(0, 0), shown.pixelColor(24, 24)
        assert corner.alpha() == 0 and middle.alpha() == 255
    finally:
        qapp.setWindowIcon(before)
