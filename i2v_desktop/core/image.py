"""Loading the user's source photo: upright, 8-bit sRGB, within a pixel budget, with its alpha mask.

Anything wrong with the file becomes an InputError whose one line names the file and the reason.
"""

from __future__ import annotations

import io
import math
import os
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from PIL import ExifTags, Image, ImageCms, ImageFile, UnidentifiedImageError

from .errors import InputError

SUPPORTED_EXTENSIONS = (".jpg", ".jpeg", ".jfif", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif")
_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF")
# Pillow's JPEG reader returns many phone and camera photos as MPO (extra pictures after the first).
_JPEG_FORMATS = frozenset({"JPEG", "MPO"})
DEFAULT_MAX_PIXELS = 40_000_000
# A file may claim any size in its header. Past these we refuse before allocating anything: no
# camera takes a billion-pixel photo, and a full decode of 200 MP already needs 0.6-1.2 GB.
MAX_CLAIMED_PIXELS = 1_000_000_000
MAX_DECODED_PIXELS = 200_000_000

_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_WIDE_GRAY_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# What Pillow's decoders raise on bad data (beyond OSError, which covers truncation).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error)
# Magic numbers of the formats we read, to tell a damaged image from a file that is no image at all.
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*", b"BM")
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis")

_pillow_lock = threading.Lock()

# Past 4x each pixel of the photo covers 16 or more of the clip's: the resampler can only blur, and
# every edge shows as a soft step (a 16x12 icon made a 1280x720 clip is 80x). Warned, not refused.
UPSCALE_WARN = 4.0
# A frame of another shape crops the photo; keeping less than half of it (a 15:1 banner in a 3:1
# clip keeps a fifth) loses what the user probably meant to show.
CROP_KEEPS_WARN = 0.5


@dataclass(frozen=True, eq=False)  # eq=False: comparing numpy arrays with == has no single answer
class SourceImage:
    path: str
    rgb: np.ndarray  # (H, W, 3) uint8, read-only
    alpha: np.ndarray | None  # (H, W) uint8 subject mask from the alpha channel, read-only
    original_size: tuple[int, int]  # (width, height) in the file, after EXIF orientation

    def __post_init__(self) -> None:
        rgb, alpha = self.rgb, self.alpha
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"rgb must be an (H, W, 3) uint8 array, got {rgb.dtype} {rgb.shape}")
        if alpha is not None and (alpha.dtype != np.uint8 or alpha.shape != rgb.shape[:2]):
            raise ValueError(f"alpha must be an (H, W) uint8 array, got {alpha.dtype} {alpha.shape}")
        rgb.setflags(write=False)
        if alpha is not None:
            alpha.setflags(write=False)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the loaded pixels (smaller than original_size if it was downscaled)."""
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])


def load_image(
    path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS, need: tuple[int, int] | None = None
) -> SourceImage:
    """Read a photo as upright 8-bit sRGB, downscaled (aspect kept) to at most `max_pixels` pixels.

    JPEG, PNG, WebP, TIFF, BMP and the first frame of a GIF. The alpha channel, if the image has
    one that is not fully opaque, becomes `alpha`. A large JPEG is decoded at a reduced scale
    straight away, so its full-size pixels are never in memory.

    `need`: the (width, height) of the largest frame the caller will make from the photo by
    cropping it to that frame's aspect and scaling (core.framing.fit_image). A JPEG is then decoded
    at the smallest of its reduced scales (1/2, 1/4, 1/8) that still covers that frame, and not
    resampled again here: the caller's own resize to the frame is the only one. Reduced decoding
    skips most of the inverse DCT, so a 12 MP photo needed at 640 pixels decodes about ten times
    faster. Other formats have no reduced decoding and load at full size.
    """
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1:
        raise ValueError(f"max_pixels must be a positive whole number, got {max_pixels!r}")
    if need is not None and (
        len(need) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in need)
    ):
        raise ValueError(f"need must be a (width, height) of positive whole numbers, got {need!r}")
    name = os.fspath(path)
    stream = _open_photo(name)
    with stream:
        if os.fstat(stream.fileno()).st_size == 0:
            raise InputError(f"{name}: file is empty")
        with _pillow_limits():
            image, original_size = _decode(stream, name, max_pixels, need)

    image = _to_rgb(image, name)
    if image.size[0] * image.size[1] > max_pixels:
        # Pillow premultiplies alpha while resampling RGBA, so cut-out edges do not darken.
        image = image.resize(_fit(*image.size, max_pixels), Image.Resampling.LANCZOS, reducing_gap=3.0)

    pixels = np.asarray(image)
    alpha = None
    if image.mode == "RGBA":
        alpha = np.ascontiguousarray(pixels[..., 3])
        pixels = np.ascontiguousarray(pixels[..., :3])
        low, high = int(alpha.min()), int(alpha.max())
        # All-opaque alpha carries no mask; all-transparent alpha is an unused channel (common in
        # 32-bit BMPs), not a photo of nothing.
        if low == 255 or high == 0:
            alpha = None
    return SourceImage(path=name, rgb=pixels, alpha=alpha, original_size=original_size)


def _decode(
    stream: BinaryIO, name: str, max_pixels: int, need: tuple[int, int] | None = None
) -> tuple[Image.Image, tuple[int, int]]:
    """The decoded, upright image (JPEGs already reduced towards max_pixels and `need`) and its
    full size."""
    image = _header(stream, name)
    width, height = image.size
    if width * height > MAX_CLAIMED_PIXELS:
        raise InputError(f"{name}: image claims to be {width}x{height} pixels, too large to load")
    if image.format in _JPEG_FORMATS:
        turned = need is not None and _orientation(image) >= 5  # a JPEG's EXIF comes before its pixels
        target = _draft_size(width, height, max_pixels, need, turned)
        if target is not None:
            image.draft(image.mode, target)  # decodes at 1/2, 1/4 or 1/8 scale
    if image.size[0] * image.size[1] > max(MAX_DECODED_PIXELS, max_pixels):
        raise InputError(f"{name}: image is {width}x{height} pixels, too large to load")
    try:
        image.load()
    except MemoryError:
        raise InputError(f"{name}: not enough memory to load this image") from None
    except _DECODE_ERRORS:
        raise InputError(f"{name}: truncated or corrupt image data") from None
    orientation = _orientation(image)  # after load: a PNG may keep its EXIF after the pixels
    if orientation not in _TRANSPOSE:
        return image, (width, height)
    if orientation >= 5:  # the quarter turns
        width, height = height, width
    return image.transpose(_TRANSPOSE[orientation]), (width, height)


@contextmanager
def _pillow_limits() -> Iterator[None]:
    """Pillow's process-wide decoding switches, set our way for one load and then restored.

    Its decompression-bomb limit (warn above 89 MP, refuse above 179 MP) would refuse a 200 MP
    phone JPEG that we can decode at 1/4 scale; load_image applies its own limits instead, which
    look at what will actually be decoded. Truncated files must always fail, even if other code in
    the process has asked Pillow to accept them. The lock keeps two loads from interleaving.
    """
    with _pillow_lock:
        saved = Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES
        Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES = None, False
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES = saved


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except _DECODE_ERRORS:  # damaged EXIF must not cost the user the photo itself
        return 1
    return value if isinstance(value, int) else 1


def _draft_size(
    width: int, height: int, max_pixels: int, need: tuple[int, int] | None, turned: bool
) -> tuple[int, int] | None:
    """The size (in the file's own orientation) a JPEG must at least decode to, or None for full size.

    Pillow's draft picks the largest reduction whose result is still at least this size. Without
    `need` that is max_pixels' size (the image is then resized down to max_pixels); with it, the
    smaller of that and the size at which a crop to need's aspect still covers `need`.
    """
    limit = _fit(width, height, max_pixels) if width * height > max_pixels else None
    if need is None:
        return limit
    need_w, need_h = (need[1], need[0]) if turned else need  # EXIF turns the file a quarter
    cover = max(need_w / width, need_h / height)  # fit_image's scale: crop to aspect, then fill
    if cover >= 1.0:
        return limit
    size = (max(1, math.ceil(width * cover)), max(1, math.ceil(height * cover)))
    return size if limit is None or size[0] < limit[0] else limit


def _fit(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """The largest size with the same aspect ratio and at most max_pixels pixels."""
    scale = math.sqrt(max_pixels / (width * height))
    new_width, new_height = max(1, int(width * scale)), max(1, int(height * scale))
    while new_width * new_height > max_pixels:  # float rounding
        if new_width >= new_height:
            new_width -= 1
        else:
            new_height -= 1
    return new_width, new_height


def _to_rgb(image: Image.Image, name: str) -> Image.Image:
    """The image as 8-bit sRGB, in mode RGB, or RGBA when it has an alpha channel."""
    mode = image.mode
    if mode in _WIDE_GRAY_MODES:
        gray = Image.fromarray(_gray_to_uint8(np.asarray(image), mode))
        return gray.convert("RGB")
    has_alpha = mode in _ALPHA_MODES or "transparency" in image.info
    icc = image.info.get("icc_profile")
    if icc and mode == "CMYK":
        converted = _icc_to_srgb(image, icc)  # naive CMYK maths is far off for print-ready files
        if converted is not None:
            return converted
    try:
        wanted = "RGBA" if has_alpha else "RGB"
        # (convert copies even when the mode is already right: 36 MB and 50 ms for a 12 MP photo.)
        image = image if image.mode == wanted else image.convert(wanted)
    except ValueError:
        raise InputError(f"{name}: unsupported colour mode {mode}") from None
    if icc and mode not in ("L", "LA", "La", "1"):
        converted = _icc_to_srgb(image, icc)
        if converted is not None:
            return converted
    return image


def _icc_to_srgb(image: Image.Image, icc: bytes) -> Image.Image | None:
    """Convert through the embedded colour profile (Display P3, Adobe RGB, CMYK) to sRGB.

    None if the profile is unusable or does not fit the image; its values are then taken as sRGB.
    """
    alpha = image.getchannel("A") if image.mode == "RGBA" else None
    colour = image.convert("RGB") if alpha is not None else image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(colour, source, _srgb_profile(), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None
    assert converted is not None
    if alpha is not None:
        converted.putalpha(alpha)
    return converted


_srgb: ImageCms.ImageCmsProfile | None = None


def _srgb_profile() -> ImageCms.ImageCmsProfile:
    global _srgb
    if _srgb is None:
        _srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return _srgb


def _gray_to_uint8(values: np.ndarray, mode: str) -> np.ndarray:
    """16-bit, 32-bit and float grayscale scaled to 0..255 (Pillow's own convert would clip)."""
    if mode == "F":
        values = np.nan_to_num(values.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        low, high = float(values.min()), float(values.max())
        if low < 0.0 or high > 1.0:  # not the usual 0..1 range: stretch what is there
            values = (values - low) / (high - low) if high > low else np.zeros_like(values)
        return np.rint(values * 255.0).astype(np.uint8)
    low, high = int(values.min()), int(values.max())
    if low < 0 or high > 65535:  # 32-bit data of unknown scale: stretch what is there
        span = max(high - low, 1)
        return ((values.astype(np.int64) - low) * 255 // span).astype(np.uint8)
    # 16-bit full scale, rounded: 65535 -> 255, 32768 -> 128. uint32 holds 65535 * 255 + 32767.
    wide = values.astype(np.uint32)
    wide *= 255
    wide += 32767
    wide //= 65535
    return wide.astype(np.uint8)


def _unidentified_reason(stream: BinaryIO) -> str:
    try:
        stream.seek(0)
        head = stream.read(32)
    except OSError:
        head = b""
    if head.startswith(_SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "truncated or corrupt image data"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "HEIC/HEIF/AVIF images are not supported; save it as JPEG or PNG first"
    if head.startswith(b"8BPS"):
        return "Photoshop files are not supported; save it as JPEG, PNG or TIFF first"
    return "not an image file"


def _header(stream: BinaryIO, name: str) -> Image.Image:
    """The image opened from `stream` (its header read, its pixels not yet); InputError naming the
    file when it is no image we read."""
    try:
        return Image.open(stream, formats=_FORMATS)
    except UnidentifiedImageError:
        raise InputError(f"{name}: {_unidentified_reason(stream)}") from None
    except _DECODE_ERRORS:
        raise InputError(f"{name}: truncated or corrupt image data") from None


def _open_photo(name: str) -> BinaryIO:
    """The photo's file, opened for reading (our own handle, not a path: Pillow then leaves a
    decoded image usable after it is closed); InputError naming the file and why not."""
    if os.path.isdir(name):
        raise InputError(f"{name}: is a folder, not an image file")
    try:
        return open(name, "rb")  # noqa: SIM115 (the caller closes it)
    except (FileNotFoundError, NotADirectoryError):
        raise InputError(f"{name}: no such file") from None
    except PermissionError:
        raise InputError(f"{name}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None


def photo_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """(width, height) of a photo as it is shown (after EXIF orientation), from its header alone;
    InputError naming the file when it cannot be read as an image."""
    name = os.fspath(path)
    with _open_photo(name) as stream, _pillow_limits():
        image = _header(stream, name)
        width, height = image.size
        turned = image.format in _JPEG_FORMATS and _orientation(image) >= 5
    return (height, width) if turned else (width, height)


def framing_notes(name: str, photo: tuple[int, int], frame: tuple[int, int]) -> list[str]:
    """What the user should hear before a `photo`-sized picture is framed into a `frame`-sized clip
    (core.framing.fit_image crops it to the frame's shape, then scales it to cover the frame):
    an upscale past UPSCALE_WARN, a crop that keeps less than CROP_KEEPS_WARN of the photo."""
    (pw, ph), (fw, fh) = photo, frame
    if min(pw, ph, fw, fh) <= 0:
        return []
    notes = []
    scale = max(fw / pw, fh / ph)
    if scale > UPSCALE_WARN:
        notes.append(f"{name}: {pw}x{ph} pixels enlarged {scale:.0f}x to {fw}x{fh}; above {UPSCALE_WARN:g}x "
                     "the clip can only be blurred: use a larger photo")
    kept = min(pw / ph, fw / fh) / max(pw / ph, fw / fh)
    if kept < CROP_KEEPS_WARN:
        notes.append(f"{name}: the {fw}x{fh} frame keeps {kept:.0%} of this {pw}x{ph} photo "
                     f"(less than {CROP_KEEPS_WARN:.0%}): choose another aspect or crop it first")
    return notes
