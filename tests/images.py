"""Images the tests build: drawn digits, shapes, encoded files. One place, imported by any test."""
import io

import numpy as np
from PIL import Image, ImageDraw


def stroke_digit(size=200, width=14, shape="7"):
    """White strokes on black: a 7, or a 5 with a detached top bar."""
    img = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(img)
    s = size / 200
    if shape == "7":
        d.line([(50 * s, 40 * s), (150 * s, 40 * s), (90 * s, 170 * s)], fill=255, width=width)
    else:  # 5 with its top bar apart
        d.line([(80 * s, 40 * s), (150 * s, 40 * s)], fill=255, width=width)
        d.line([(75 * s, 52 * s), (70 * s, 95 * s)], fill=255, width=width)
        d.arc([(60 * s, 80 * s), (150 * s, 170 * s)], start=-120, end=150, fill=255, width=width)
    return np.asarray(img)


def filled_disk(size=300):
    """A white filled disk on black, three fifths of the image wide: ink, but no stroke."""
    img = Image.new("L", (size, size), 0)
    ImageDraw.Draw(img).ellipse((size // 5, size // 5, size - size // 5, size - size // 5), fill=255)
    return np.asarray(img)


def specks():
    """Grey paper, 300 px square, with three dark 4-px specks far apart: ink, but far too little
    for a digit."""
    img = np.full((300, 300), 235, np.uint8)
    for y, x in ((40, 50), (150, 240), (260, 120)):
        img[y: y + 4, x: x + 4] = 40
    return img


def png_bytes(img, fmt="PNG", **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def photo_of_seven(size=(900, 700), noise: float = 0.0) -> bytes:
    """Dark ink on uneven grey paper, off-centre, as JPEG: what a phone gives. `noise`: the
    sensor's grain (grey levels), which makes the file as big as a phone's."""
    ink = np.zeros(size[::-1], float)
    digit = stroke_digit(size=300, width=22) / 255.0
    ink[100:400, 450:750] = digit
    light = np.linspace(0.75, 0.95, size[0])[None, :] * 255
    img = light * (1 - ink) + 30 * ink
    if noise:
        img = img + np.random.default_rng(0).normal(0, noise, img.shape)
    rgb = np.repeat(np.clip(img, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    return png_bytes(Image.fromarray(rgb), "JPEG", quality=90)


def photo_beside_the_table() -> bytes:
    """A 7 on a page photographed with a dark table over the left 55% of the picture, as JPEG:
    preprocessing 4 took the page's edge for the digit and read a 1."""
    h, w = 400, 600
    yy, xx = np.mgrid[0:h, 0:w]
    page = np.where(xx < 330 + 0.15 * (yy - 200), 70.0, 225.0)
    ink = np.zeros((h, w))
    ink[130:270, 400:540] = stroke_digit(140, width=10) / 255.0
    img = page * (1 - 0.85 * ink) + np.random.default_rng(0).normal(0, 3, (h, w))
    return png_bytes(Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)), "JPEG", quality=85)
