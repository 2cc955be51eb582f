"""Loading source photos: formats, orientation, colour modes, alpha masks, size limits, bad files."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms, ImageFile

from i2v_desktop.core.errors import InputError
from i2v_desktop.core.image import SUPPORTED_EXTENSIONS, SourceImage, load_image
from i2v_desktop.core.resources import resource_path

REPO = Path(__file__).resolve().parents[2]
SAMPLES = sorted(resource_path("samples").glob("*.jpg"))


def pattern(width: int = 96, height: int = 64) -> np.ndarray:
    """Smooth colour ramps, so lossy formats stay close and orientation is easy to read."""
    x = np.linspace(0, 255, width)[None, :]
    y = np.linspace(0, 255, height)[:, None]
    red, green = np.broadcast_to(x, (height, width)), np.broadcast_to(y, (height, width))
    blue = np.full((height, width), 128.0)
    return np.rint(np.stack([red, green, blue], axis=-1)).astype(np.uint8)


def quadrants(width: int = 40, height: int = 20) -> np.ndarray:
    """Four flat colours: red top-left, green top-right, blue bottom-left, white bottom-right."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[: height // 2, : width // 2] = (255, 0, 0)
    pixels[: height // 2, width // 2 :] = (0, 255, 0)
    pixels[height // 2 :, : width // 2] = (0, 0, 255)
    pixels[height // 2 :, width // 2 :] = (255, 255, 255)
    return pixels


def corner_colours(rgb: np.ndarray) -> list[tuple[int, ...]]:
    """Colours at the centres of the four quadrants: top-left, top-right, bottom-left, bottom-right."""
    h, w = rgb.shape[:2]
    points = [(h // 4, w // 4), (h // 4, 3 * w // 4), (3 * h // 4, w // 4), (3 * h // 4, 3 * w // 4)]
    return [tuple(round(c / 255) * 255 for c in rgb[y, x]) for y, x in points]


RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def mode_of(path: Path) -> str:
    with Image.open(path) as image:
        return image.mode


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A tiny valid PNG whose header then claims another size (with a correct CRC)."""
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    struct.pack_into(">II", data, 16, width, height)  # IHDR data starts after 8 + 4 + 4 bytes
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))
    return path


# -- formats --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "options", "tolerance"),
    [
        ("photo.jpg", {"quality": 95}, 4.0),
        ("photo.png", {}, 0.0),
        ("photo.webp", {"lossless": True}, 0.0),
        ("photo.tiff", {"compression": "tiff_lzw"}, 0.0),
        ("photo.bmp", {}, 0.0),
    ],
)
def test_each_format_loads_as_rgb(tmp_path: Path, name: str, options: dict, tolerance: float) -> None:
    pixels = pattern()
    path = tmp_path / name
    Image.fromarray(pixels).save(path, **options)
    image = load_image(path)
    assert isinstance(image, SourceImage)
    assert image.path == str(path)
    assert image.size == image.original_size == (96, 64)
    assert image.rgb.shape == (64, 96, 3) and image.rgb.dtype == np.uint8
    assert image.alpha is None
    assert np.abs(image.rgb.astype(float) - pixels).mean() <= tolerance
    assert Path(name).suffix in SUPPORTED_EXTENSIONS


def test_arrays_are_read_only(tmp_path: Path) -> None:
    path = tmp_path / "cut.png"
    rgba = np.dstack([pattern(), np.full((64, 96), 200, np.uint8)])
    Image.fromarray(rgba).save(path)
    image = load_image(path)
    assert image.alpha is not None
    for array in (image.rgb, image.alpha):
        assert not array.flags.writeable
        with pytest.raises(ValueError):
            array[0, 0] = 0


def test_gif_gives_its_first_frame(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (32, 24), colour) for colour in (RED, BLUE, GREEN)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    image = load_image(path)
    assert image.size == (32, 24)
    assert np.all(image.rgb == RED)


def test_filename_extension_does_not_matter(tmp_path: Path) -> None:
    path = tmp_path / "really-a-png.jpg"
    Image.fromarray(pattern()).save(path, format="PNG")
    assert np.array_equal(load_image(path).rgb, pattern())


# -- orientation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("orientation", "size", "expected"),
    [
        (1, (40, 20), [RED, GREEN, BLUE, WHITE]),
        (3, (40, 20), [WHITE, BLUE, GREEN, RED]),
        (6, (20, 40), [BLUE, RED, WHITE, GREEN]),  # stored sideways: shown turned 90° clockwise
        (8, (20, 40), [GREEN, WHITE, RED, BLUE]),
    ],
)
def test_exif_orientation_is_applied(tmp_path: Path, orientation: int, size: tuple, expected: list) -> None:
    path = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(quadrants()).save(path, quality=95, exif=exif)
    image = load_image(path)
    assert image.size == image.original_size == size
    assert corner_colours(image.rgb) == expected


def test_orientation_and_downscale_together(tmp_path: Path) -> None:
    path = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(quadrants(400, 200)).save(path, quality=95, exif=exif)
    image = load_image(path, max_pixels=5000)
    assert image.original_size == (200, 400)
    width, height = image.size
    assert width * height <= 5000 and height > width
    assert corner_colours(image.rgb) == [BLUE, RED, WHITE, GREEN]


# -- colour modes ---------------------------------------------------------------------------


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    path = tmp_path / "print.jpg"
    cmyk = Image.new("CMYK", (40, 20), (0, 255, 255, 0))  # pure red ink mix
    cmyk.paste((255, 0, 255, 0), (20, 0, 40, 20))  # green
    cmyk.save(path, quality=95)
    assert mode_of(path) == "CMYK"
    image = load_image(path)
    assert image.rgb.shape == (20, 40, 3)
    assert np.abs(image.rgb[10, 5].astype(int) - RED).max() <= 6
    assert np.abs(image.rgb[10, 35].astype(int) - GREEN).max() <= 6


@pytest.mark.parametrize("suffix", [".png", ".tiff"])
def test_16_bit_grayscale_is_scaled_not_clipped(tmp_path: Path, suffix: str) -> None:
    values = np.linspace(0, 65535, 64 * 48).reshape(48, 64).astype(np.uint16)
    path = tmp_path / f"gray16{suffix}"
    Image.fromarray(values).save(path)
    assert mode_of(path).startswith("I;16")
    image = load_image(path)
    expected = (values.astype(np.int64) * 255 + 32767) // 65535
    assert np.array_equal(image.rgb[..., 0], expected.astype(np.uint8))
    assert np.array_equal(image.rgb[..., 0], image.rgb[..., 2])
    assert image.rgb.max() == 255 and image.rgb.min() == 0


@pytest.mark.parametrize("suffix", [".png", ".tiff"])
def test_16_bit_rgb_becomes_8_bit(tmp_path: Path, suffix: str) -> None:
    rgb16 = pattern().astype(np.uint16) * 257
    path = tmp_path / f"rgb16{suffix}"
    assert cv2.imwrite(str(path), np.ascontiguousarray(rgb16[..., ::-1]))  # OpenCV writes BGR
    image = load_image(path)
    assert np.abs(image.rgb.astype(int) - pattern()).max() <= 1


def test_float_tiff_in_unit_range(tmp_path: Path) -> None:
    values = np.linspace(0.0, 1.0, 32 * 16, dtype=np.float32).reshape(16, 32)
    path = tmp_path / "float.tiff"
    Image.fromarray(values).save(path)
    assert mode_of(path) == "F"
    image = load_image(path)
    assert image.rgb[0, 0, 0] == 0 and image.rgb[-1, -1, 0] == 255


def test_grayscale_and_grayscale_with_alpha(tmp_path: Path) -> None:
    gray = np.tile(np.arange(64, dtype=np.uint8) * 4, (32, 1))
    Image.fromarray(gray).save(tmp_path / "gray.png")
    image = load_image(tmp_path / "gray.png")
    assert np.array_equal(image.rgb, np.repeat(gray[..., None], 3, axis=2))
    assert image.alpha is None

    alpha = np.zeros_like(gray)
    alpha[8:24, 16:48] = 255
    Image.fromarray(np.dstack([gray, alpha]), "LA").save(tmp_path / "gray-alpha.png")
    image = load_image(tmp_path / "gray-alpha.png")
    assert np.array_equal(image.alpha, alpha)
    assert np.array_equal(image.rgb[..., 1], gray)


def test_palette_with_transparency_gives_an_alpha_mask(tmp_path: Path) -> None:
    indices = np.zeros((24, 32), np.uint8)
    indices[6:18, 8:24] = 1
    image = Image.fromarray(indices, "P")
    image.putpalette([0, 0, 0, 200, 30, 40] + [0] * (254 * 3))
    path = tmp_path / "sticker.png"
    image.save(path, transparency=0)
    loaded = load_image(path)
    assert loaded.alpha is not None
    assert np.array_equal(loaded.alpha, np.where(indices == 1, 255, 0).astype(np.uint8))
    assert tuple(loaded.rgb[12, 16]) == (200, 30, 40)


def test_cut_out_subject_gives_an_alpha_mask(tmp_path: Path) -> None:
    alpha = np.zeros((64, 96), np.uint8)
    alpha[16:48, 24:72] = 255
    alpha[16:48, 23] = 128  # a soft edge
    path = tmp_path / "subject.png"
    Image.fromarray(np.dstack([pattern(), alpha])).save(path)
    image = load_image(path)
    assert image.alpha is not None and image.alpha.shape == (64, 96)
    assert np.array_equal(image.alpha, alpha)
    assert np.array_equal(image.rgb, pattern())


def test_cut_out_webp_keeps_its_mask(tmp_path: Path) -> None:
    alpha = np.zeros((64, 96), np.uint8)
    alpha[10:50, 10:80] = 255
    path = tmp_path / "subject.webp"
    Image.fromarray(np.dstack([pattern(), alpha])).save(path, lossless=True)
    assert np.array_equal(load_image(path).alpha, alpha)


def test_downscaled_cut_out_keeps_colour_at_soft_edges(tmp_path: Path) -> None:
    rgba = np.zeros((200, 200, 4), np.uint8)
    rgba[..., :3] = (0, 0, 0)  # transparent pixels are black, as many editors save them
    rgba[50:150, 50:150] = (250, 250, 250, 255)
    path = tmp_path / "white-square.png"
    Image.fromarray(rgba).save(path)
    image = load_image(path, max_pixels=50 * 50)
    assert image.size == (50, 50) and image.alpha is not None
    edge = (image.alpha > 0) & (image.alpha < 255)
    assert edge.any()
    # Resampling premultiplied by alpha: half-covered edge pixels stay white, not grey.
    assert image.rgb[edge].min() >= 240


@pytest.mark.parametrize("value", [255, 0])
def test_alpha_that_masks_nothing_is_dropped(tmp_path: Path, value: int) -> None:
    path = tmp_path / "flat.png"
    Image.fromarray(np.dstack([pattern(), np.full((64, 96), value, np.uint8)])).save(path)
    image = load_image(path)
    assert image.alpha is None
    assert np.array_equal(image.rgb, pattern())


def test_embedded_srgb_profile_keeps_colours(tmp_path: Path) -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = tmp_path / "tagged.png"
    Image.fromarray(pattern()).save(path, icc_profile=profile)
    assert np.abs(load_image(path).rgb.astype(int) - pattern()).max() <= 2


def linear_light_profile() -> bytes:
    """A minimal ICC v2 RGB profile: sRGB primaries, but gamma 1.0 (linear light)."""

    def fixed(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + bytes(4) + fixed(x) + fixed(y) + fixed(z)

    curve = b"curv" + bytes(4) + struct.pack(">IH", 1, 256) + bytes(2)  # one u8.8 gamma: 1.0
    text = b"linear light\0"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(12 + 67)
    desc += bytes(-len(desc) % 4)
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.4361, 0.2225, 0.0139)),
        (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    start = 128 + 4 + 12 * len(tags)
    table, data = struct.pack(">I", len(tags)), b""
    for signature, body in tags:
        table += signature + struct.pack(">II", start + len(data), len(body))
        data += body
    header = (
        struct.pack(">I", start + len(data)) + bytes(4) + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ " + bytes(12) + b"acsp" + bytes(28)
        + fixed(0.9642) + fixed(1.0) + fixed(0.8249) + bytes(48)
    )  # fmt: skip
    assert len(header) == 128
    return header + table + data


@pytest.mark.parametrize("name", ["linear.png", "linear.jpg", "linear-cutout.png"])
def test_embedded_profile_is_converted_to_srgb(tmp_path: Path, name: str) -> None:
    rgba = np.full((16, 16, 4), 128, np.uint8)
    rgba[..., 3] = 255
    rgba[:4, :4, 3] = 0
    image = Image.fromarray(rgba if "cutout" in name else rgba[..., :3])
    image.save(
        tmp_path / name, icc_profile=linear_light_profile(), **({"quality": 100} if ".jpg" in name else {})
    )
    loaded = load_image(tmp_path / name)
    # 50 % linear light is 188 in sRGB: the profile was applied, not ignored (which would give 128).
    assert np.abs(loaded.rgb[8, 8].astype(int) - 188).max() <= 1
    if "cutout" in name:
        assert loaded.alpha is not None and loaded.alpha[0, 0] == 0 and loaded.alpha[8, 8] == 255


def test_samples_load(tmp_path: Path) -> None:
    assert SAMPLES, "no sample photos found"
    for path in SAMPLES:
        image = load_image(path)
        with Image.open(path) as reference:
            assert image.size == image.original_size == reference.size
            assert np.abs(image.rgb.astype(int) - np.asarray(reference.convert("RGB"))).max() <= 1
        assert image.alpha is None


# -- size limits ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def huge_jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("huge") / "huge.jpg"
    ramp = Image.linear_gradient("L").resize((8000, 6000))
    bands = (ramp, ramp.transpose(Image.Transpose.ROTATE_180), ramp.rotate(90))
    Image.merge("RGB", bands).save(path, quality=80)
    return path


def test_huge_jpeg_is_downscaled_to_the_pixel_cap(huge_jpeg: Path) -> None:
    image = load_image(huge_jpeg)  # 48 MP against the default 40 MP cap
    width, height = image.size
    assert width * height <= 40_000_000
    assert width / height == pytest.approx(8000 / 6000, rel=1e-3)
    assert image.original_size == (8000, 6000)


def test_huge_jpeg_is_decoded_at_reduced_scale(huge_jpeg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[tuple[int, int]] = []
    real_load = ImageFile.ImageFile.load

    def spy(self: ImageFile.ImageFile):  # type: ignore[no-untyped-def]
        decoded.append(self.size)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    image = load_image(huge_jpeg, max_pixels=2_000_000)
    # Decoded at 1/4 scale by the JPEG decoder itself: the smallest scale that still covers 2 MP.
    assert decoded[0] == (2000, 1500)
    width, height = image.size
    assert width * height <= 2_000_000 and width > 1600


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss is in KiB on Linux only")
def test_huge_jpeg_needs_little_memory(huge_jpeg: Path) -> None:
    code = (
        "import resource, sys\n"
        "from i2v_desktop.core.image import load_image\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "image = load_image(sys.argv[1], max_pixels=2_000_000)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", code, str(huge_jpeg)], capture_output=True, text=True, env=env, check=True
    )
    grown_mib = int(result.stdout) / 1024
    assert grown_mib < 60, f"peak memory grew by {grown_mib:.0f} MiB (a full decode needs 137 MiB)"


def test_absurd_dimensions_are_refused_without_allocating(tmp_path: Path) -> None:
    path = png_claiming(tmp_path / "bomb.png", 100_000, 100_000)
    limit_before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(InputError) as caught:
        load_image(path)
    assert str(caught.value) == f"{path}: image claims to be 100000x100000 pixels, too large to load"
    assert limit_before == Image.MAX_IMAGE_PIXELS


def test_dimensions_too_large_to_decode_are_refused(tmp_path: Path) -> None:
    path = png_claiming(tmp_path / "big.png", 20_000, 20_000)  # 400 MP: PNG has no reduced decode
    with pytest.raises(InputError, match=r"big\.png: image is 20000x20000 pixels, too large to load"):
        load_image(path)


def test_max_pixels_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        load_image(SAMPLES[0], max_pixels=0)


# -- bad files ------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    with pytest.raises(InputError) as caught:
        load_image(path)
    assert str(caught.value) == f"{path}: no such file"


def test_folder_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder"):
        load_image(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"")
    with pytest.raises(InputError) as caught:
        load_image(path)
    assert str(caught.value) == f"{path}: file is empty"


def test_text_file_renamed_to_jpg(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_text("these are my holiday notes, not a photo\n")
    with pytest.raises(InputError) as caught:
        load_image(path)
    assert str(caught.value) == f"{path}: not an image file"


@pytest.mark.parametrize("fraction", [0.5, 0.9])
def test_truncated_jpeg(tmp_path: Path, fraction: float) -> None:
    data = SAMPLES[0].read_bytes()
    path = tmp_path / "photo.jpg"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(InputError) as caught:
        load_image(path)
    assert str(caught.value) == f"{path}: truncated or corrupt image data"


def test_truncated_png(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 96, 3), np.uint8)).save(buffer, "PNG")
    path = tmp_path / "photo.png"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(InputError, match="truncated or corrupt image data"):
        load_image(path)


def test_jpeg_with_only_its_first_bytes(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(SAMPLES[0].read_bytes()[:20])
    with pytest.raises(InputError, match=r"photo\.jpg: truncated or corrupt image data"):
        load_image(path)


def test_truncated_jpeg_fails_even_if_pillow_was_told_to_accept_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # as some libraries do globally
    data = SAMPLES[0].read_bytes()
    path = tmp_path / "photo.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated"):
        load_image(path)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True


def test_heic_gets_a_helpful_message(tmp_path: Path) -> None:
    path = tmp_path / "IMG_0001.HEIC"
    path.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64)
    with pytest.raises(InputError, match="HEIC/HEIF/AVIF images are not supported"):
        load_image(path)


def test_core_image_does_not_import_qt_or_torch() -> None:
    code = "import sys, i2v_desktop.core.image; print(sorted({'PySide6', 'torch'} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert result.stdout.strip() == "[]"
