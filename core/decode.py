"""Any file, bytes or array -> a grey image of at most WORK_SIDE px, or a clear ImageError.

Decoding is where a damaged or hostile upload meets the app: sizes are checked before pixels are
decoded, big JPEGs decode straight to a reduced size, and nothing makes a full-size copy.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 50_000_000  # larger images are refused before decoding: a 20000x20000 PNG would need GBs
# ... and lossless files (PNG, TIFF, ...) and arrays above this: a JPEG decodes straight to a reduced
# size (draft), they decode whole: a 110 KB 7000x7000 16-bit PNG cost 1.2 GB before this limit.
# 16 MP still takes an A4 page scanned at 400 dpi, and decodes in <= 64 MB (RGBA)
MAX_PIXELS_LOSSLESS = 16_000_000
WORK_SIDE = 1024  # images are reduced to this before any work: bounds the cost, keeps thin strokes


class ImageError(ValueError):
    """The input is not an image digitrec can read; the message says why."""


def open_image(source, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """A PIL image from a path, bytes, file object, PIL image or array; EXIF orientation applied."""
    if isinstance(source, Image.Image):
        img = source
    elif isinstance(source, np.ndarray):
        return _from_array(source)
    else:
        if isinstance(source, (bytes, bytearray, memoryview)):
            if not len(source):
                raise ImageError("empty file")
            source = io.BytesIO(bytes(source))
        elif isinstance(source, (str, Path)):
            if Path(source).is_file() and Path(source).stat().st_size == 0:
                raise ImageError("empty file")
        try:
            img = Image.open(source)
        except FileNotFoundError:
            raise ImageError(f"no such file: {source}") from None
        except Image.DecompressionBombError as e:
            raise ImageError(f"image is too large; the limit is {MAX_PIXELS:,} pixels ({e})") from None
        except (UnidentifiedImageError, OSError, ValueError) as e:
            raise ImageError(f"not an image Pillow can read ({e.__class__.__name__})") from None
    w, h = img.size
    limit = max_pixels if img.format == "JPEG" else min(max_pixels, MAX_PIXELS_LOSSLESS)
    if w * h > limit:
        raise ImageError(f"image is too large: {w}x{h} pixels; the limit is {limit:,} pixels"
                         f"{'' if img.format == 'JPEG' else ' for an uncompressed or lossless image'}")
    if w < 1 or h < 1:
        raise ImageError("image has no pixels")
    try:
        if hasattr(img, "draft") and img.format == "JPEG":
            img.draft("RGB", (WORK_SIDE, WORK_SIDE))  # let the decoder shrink big JPEGs for free
        img.load()
        ImageOps.exif_transpose(img, in_place=True)  # in place: no full-size copy of an upright image
        return img
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise ImageError(f"image data is broken ({e.__class__.__name__}: {e})") from None


def _from_array(a: np.ndarray) -> Image.Image:
    a = np.asarray(a)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)) or a.size == 0:
        raise ImageError(f"array of shape {a.shape} is not an image (H,W), (H,W,3) or (H,W,4)")
    if a.shape[0] * a.shape[1] > MAX_PIXELS_LOSSLESS:
        raise ImageError(f"image is too large: {a.shape[1]}x{a.shape[0]} pixels; the limit is "
                         f"{MAX_PIXELS_LOSSLESS:,} pixels")
    if a.dtype != np.uint8:
        a = a.astype(np.float32)
        a = a * 255 if a.max(initial=0) <= 1.0 else a
        a = np.clip(a, 0, 255).astype(np.uint8)
    return Image.fromarray(a)


def to_gray(img: Image.Image) -> np.ndarray:
    """Float32 luminance in [0, 1] at most WORK_SIDE wide; transparency composited keeping the ink."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        if max(img.size) > WORK_SIDE:  # reduce first, in its own mode: never a full-size float copy
            k = int(np.ceil(max(img.size) / WORK_SIDE))
            img = img.resize((max(1, img.width // k), max(1, img.height // k)), Image.Resampling.BOX)
        a = np.asarray(img, dtype=np.float32)
        a = a / (65535.0 if a.max(initial=0) > 255 else 255.0)
        img = Image.fromarray(np.clip(a * 255, 0, 255).astype(np.uint8))
    if img.mode == "LAB":  # CIELAB (some TIFFs): its L channel is the lightness
        img = img.getchannel("L")
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    if img.mode in ("L", "LA", "RGB", "RGBA"):  # area-average down in its own mode: no full-size copy
        img = _reduced(img)
    target = "RGBA" if has_alpha else "L"
    try:
        img = img.convert(target) if img.mode != target else img
    except (ValueError, OSError) as e:
        raise ImageError(f"colour mode {img.mode} is not one digitrec reads ({e})") from None
    img = _reduced(img)  # palettes and the rest convert first: all later work is bounded by WORK_SIDE
    if has_alpha:
        rgba = np.asarray(img, dtype=np.float32) / 255.0
        lum = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
        alpha = rgba[..., 3]
        opaque = alpha > 0.5
        # Composite on the background that contrasts with the drawn pixels: white strokes on a
        # transparent canvas go onto black, dark strokes onto white. Either way the ink survives.
        bg = 0.0 if opaque.any() and lum[opaque].mean() > 0.5 else 1.0
        gray = lum * alpha + bg * (1 - alpha)
    else:
        gray = np.asarray(img, dtype=np.float32) / 255.0
    return gray.astype(np.float32)


def _reduced(img: Image.Image) -> Image.Image:
    return reduce(img, int(np.ceil(max(img.size) / WORK_SIDE)))


def reduce(img: Image.Image, k: int) -> Image.Image:
    """`img.reduce(k)` (each k x k block averaged), a band of rows at a time: the same pixels, but
    never a full-size copy (Pillow premultiplies RGBA into one: 64 MB for a 16 MP image)."""
    if k <= 1:
        return img
    out = Image.new(img.mode, (-(-img.width // k), -(-img.height // k)))
    band = 64 * k  # rows per band, a multiple of k: the blocks are those of the whole image
    for top in range(0, img.height, band):
        out.paste(img.crop((0, top, img.width, min(img.height, top + band))).reduce(k), (0, top // k))
    return out
