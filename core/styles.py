"""How people write and capture digits that MNIST never shows: the style-shift suite.

Each digit style turns an MNIST digit (28x28, white on black) into the image a person would send:
thin pen, bold marker, pixelated scan, out of focus, pencil on lined paper, a phone photo with
perspective, slanted, rotated, squeezed, printed in a font, drawn with the canvas brush (the
suite's non-digits are `core/nondigits.py`). `Style.seen` names the styles the shipped CNN trains
on (as random augmentation); every other style is held out, so its figure estimates the next
person's handwriting. Fonts: the DejaVu Sans family is seen, every other font is held out.
"""
from __future__ import annotations

import functools
import glob
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from scipy import ndimage as ndi

from . import synth
from .preprocess import disk

CANVAS = 280  # the dashboard's canvas side: "canvas scale"


@functools.cache
def _font_files() -> tuple[str, ...]:
    return tuple(sorted(glob.glob("/usr/share/fonts/**/*.[ot]tf", recursive=True)))  # once, not per image


def fonts(seen: bool) -> list[str | None]:
    """Font files on this machine: the DejaVu Sans family (seen in training) or all others (held
    out). None stands for Pillow's own font, always there and never trained on."""
    files = _font_files()
    sans = [f for f in files if "DejaVuSans" in f and "Mono" not in f and "ExtraLight" not in f]
    others = [f for f in files if f not in sans and "Math" not in f and "ExtraLight" not in f]
    return sans if seen else others + [None]


def font_at(path, pt: int):
    return ImageFont.truetype(path, pt) if path else ImageFont.load_default(size=pt)


def _up(a: np.ndarray, side: int, resample=Image.Resampling.BICUBIC) -> np.ndarray:
    return np.asarray(Image.fromarray(a).resize((side, side), resample))


def _on_canvas(ink: np.ndarray, rng, side: int = CANVAS) -> Image.Image:
    """White ink somewhere on a black canvas of `side` (it must fit)."""
    h, w = ink.shape
    side = max(side, h + 4, w + 4)
    out = np.zeros((side, side), np.uint8)
    y, x = int(rng.integers(0, side - h + 1)), int(rng.integers(0, side - w + 1))
    out[y: y + h, x: x + w] = ink
    return Image.fromarray(out)


def _placed(digit: np.ndarray, side: int, h: int, w: int, rng) -> np.ndarray:
    """Ink strength (0..1) of an h x w page with the digit, `side` px square, at a random place."""
    ink = np.zeros((h, w))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    ink[y: y + side, x: x + side] = _up(digit, side) / 255.0
    return ink


def _affine(digit: np.ndarray, matrix) -> np.ndarray:
    """The digit at 4x scale mapped by a 2x2 matrix about its centre, on a field big enough."""
    big = _up(digit, 112).astype(float)
    m = np.asarray(matrix, float)
    c = np.array([56.0, 56.0])
    out_side = 168
    offset = c - m @ np.array([out_side / 2, out_side / 2])
    return ndi.affine_transform(big, m, offset=offset, output_shape=(out_side, out_side), order=1).clip(0, 255).astype(np.uint8)


# ---------------------------------------------------------------- digit styles
def thin(digit, label, rng):
    """A fine pen: the stroke eroded to 1/3-1/2 of its width."""
    big = _up(digit, 112) > 100
    r = int(rng.integers(2, 4))
    eroded = ndi.binary_erosion(big, disk(r))
    eroded = eroded if eroded.sum() > 30 else big
    return _on_canvas((ndi.binary_dilation(eroded) * 255).astype(np.uint8), rng)


def bold(px: int, canvas_scale: bool = False):
    """A fat marker: dilated by a disk of radius `px` at 28x28 scale, or on a 200 px digit."""
    def make(digit, label, rng):
        if canvas_scale:
            big = _up(digit, 200) > 100
            return _on_canvas((ndi.binary_dilation(big, disk(px)) * 255).astype(np.uint8), rng)
        fat = ndi.grey_dilation(digit, footprint=disk(px))
        return _on_canvas(_up(fat, int(rng.integers(150, 250))), rng)
    return make


def pixelated(px: int):
    """A small digit (a low-resolution scan, a screenshot) scaled up with nearest-neighbour."""
    def make(digit, label, rng):
        ys, xs = np.nonzero(digit > 30)
        crop = digit[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1] if ys.size else digit
        h, w = crop.shape
        s = px / max(h, w)
        small = Image.fromarray(crop).resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.BOX)
        k = int(rng.integers(12, 24))  # screen pixels per image pixel
        big = small.resize((small.width * k, small.height * k), Image.Resampling.NEAREST)
        return _on_canvas(np.asarray(big), rng, side=int(rng.integers(300, 500)))
    return make


def blurred(digit, label, rng):
    """Out of focus: a Gaussian blur of 2-5% of the digit's height."""
    side = int(rng.integers(120, 250))
    img = Image.fromarray(_up(digit, side)).filter(ImageFilter.GaussianBlur(side * rng.uniform(0.02, 0.05)))
    return _on_canvas(np.asarray(img), rng)


def pencil(digit, label, rng):
    """Low-contrast grey pencil on grey or lined paper."""
    side = int(rng.integers(100, 220))
    w, h = side + int(rng.integers(60, 200)), side + int(rng.integers(60, 200))
    paper = np.full((h, w), rng.uniform(150, 215))
    if rng.random() < 0.6:  # ruled lines, blue-grey, every ~30-50 px
        gap = int(rng.integers(28, 50))
        paper[int(rng.integers(0, gap))::gap, :] -= rng.uniform(25, 45)
    ink = _placed(digit, side, h, w, rng)
    img = paper - ink * rng.uniform(50, 90) + rng.normal(0, 4, (h, w))
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def phone(digit, label, rng):
    """A phone photo: ink on shaded paper seen at an angle (perspective), JPEG-compressed."""
    w, h = int(rng.integers(240, 640)), int(rng.integers(240, 640))
    size = int(rng.uniform(0.3, 0.7) * min(w, h))
    ink = _placed(digit, size, h, w, rng)
    img = synth.ink_on_paper(ink, rng)
    d = 0.12 * min(w, h)
    quad = [float(v) for v in np.array([0, 0, 0, h, w, h, w, 0]) + rng.uniform(-d, d, 8)]
    img = img.transform((w, h), Image.Transform.QUAD, quad, Image.Resampling.BILINEAR, fillcolor=(200, 200, 200))
    return synth.jpeg(img, int(rng.integers(30, 75)))


def squared(digit, label, rng):
    """Pen on squared (graph) paper, scanned in colour: light blue or grey lines both ways every
    4-8 mm, 1-2 px, crossing the digit; dark blue or black ink; JPEG. Held out: preprocessing's
    ruled-line step was made on `pencil`'s ruled paper, not on this."""
    side = int(rng.integers(100, 240))
    w, h = side + int(rng.integers(40, 260)), side + int(rng.integers(40, 260))
    paper = np.ones((h, w, 3)) * rng.uniform(225, 252)
    line = np.array([[150, 185, 230], [170, 170, 170], [130, 200, 200]][rng.integers(3)], float)
    gap, width = int(rng.integers(18, 40)), int(rng.integers(1, 3))
    grid = np.zeros((h, w), bool)
    for k in range(width):
        grid[int(rng.integers(0, gap)) + k::gap, :] = True
        grid[:, int(rng.integers(0, gap)) + k::gap] = True
    paper[grid] = line
    ink = _placed(digit, side, h, w, rng)
    colour = np.array([[20, 25, 90], [25, 25, 30]][rng.integers(2)], float)
    a = (ink * rng.uniform(0.8, 1.0))[..., None]
    img = Image.fromarray(np.clip(paper * (1 - a) + colour * a + rng.normal(0, 3, (h, w, 1)), 0, 255).astype(np.uint8))
    return synth.jpeg(img, int(rng.integers(60, 92)))


def page_photo(edge: bool = True, shadow: bool = True, light: bool = False, grid: bool = False):
    """A phone photo of the page taken too close or in poor light: the table shows beyond one edge
    of the page, and/or a soft cast shadow (a hand, the phone) crosses the page near the digit.
    The table is dark or mid grey, drawn over the shadow (as in the variants preprocessing 4-6 was
    designed on; a dark surface shows little of it), or with `light` a white desk, often lighter
    than the page, on which the shadow falls too. With `grid` the page is graph paper: a printed
    grid under the ink.
    Not in the suite, in no training or calibration: made without the held-out `phone` and
    `squared` code, it is what preprocessing's edges-of-light step (`core.shading`) was designed
    on (benchmarks/page_photos.py; tests/test_shading.py)."""
    def make(digit, label, rng):
        w, h = int(rng.integers(240, 640)), int(rng.integers(240, 640))
        side = int(rng.uniform(0.3, 0.6) * min(w, h))
        ink = _placed(digit, side, h, w, rng)
        img = np.asarray(synth.ink_on_paper(ink, rng), float)
        yy, xx = np.mgrid[0:h, 0:w].astype(float)
        ys, xs = np.nonzero(ink > 0.3)
        cy, cx = (ys.mean(), xs.mean()) if len(ys) else (h / 2, w / 2)

        def beyond(gap):  # pixels past a straight line at `gap` px from the digit's centre, any angle
            a = rng.uniform(0, 2 * np.pi)
            return (np.cos(a) * (xx - cx) + np.sin(a) * (yy - cy)) - gap

        shade = 1.0
        if shadow:
            d = beyond(rng.uniform(0.4, 1.2) * side / 2)
            soft = rng.uniform(3, 25)
            depth = rng.uniform(0.25, 0.55)  # the shadow keeps 45-75% of the light
            shade = (1 - depth / (1 + np.exp(-d / soft)))[..., None]
        if not light:
            img = img * shade  # a dark table is drawn over the shadow
        if edge:
            table = rng.uniform(*((170, 255) if light else (30, 150))) + rng.uniform(-15, 15, 3)
            past = beyond(rng.uniform(1.1, 2.0) * side / 2) > 0  # beyond the ink: the digit stays whole
            img[past] = table + rng.normal(0, 6, (int(past.sum()), 3))
        if light:
            img = img * shade  # the shadow falls on the white desk too
        if grid:  # drawn last, on the page only: every variant draws the same pages, digits and places
            lines = _grid(h, w, rng)
            if edge:
                lines &= ~past
            colour = np.array([[0.75, 0.85, 1.0], [0.8, 0.8, 0.8], [0.7, 0.9, 0.9], [1.0, 0.8, 0.8]][rng.integers(4)])
            dim = 1 - (1 - colour * rng.uniform(0.85, 1.0)) * (1 - ink[..., None])  # the ink covers the line
            img = np.where(lines[..., None], img * dim, img)
        return synth.jpeg(Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)), int(rng.integers(40, 85)))
    return make


def _grid(h: int, w: int, rng) -> np.ndarray:
    """The lines of graph paper as a photo shows them: every 4-7% of the picture, 1-3 px wide."""
    gap, width = max(4, int(rng.uniform(0.04, 0.07) * max(w, h))), int(rng.integers(1, 4))
    oy, ox = int(rng.integers(0, gap)), int(rng.integers(0, gap))
    lines = np.zeros((h, w), bool)
    for k in range(width):
        lines[oy + k::gap, :] = True
        lines[:, ox + k::gap] = True
    return lines


def slanted(digit, label, rng):
    """Italic writing: sheared by 20 degrees either way."""
    s = np.tan(np.deg2rad(20)) * rng.choice([-1, 1])
    return _on_canvas(_affine(digit, [[1, 0], [s, 1]]), rng)


def rotated(digit, label, rng):
    """The page or the hand turned: 10-15 degrees either way."""
    a = np.deg2rad(rng.uniform(10, 15) * rng.choice([-1, 1]))
    return _on_canvas(_affine(digit, [[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]), rng)


def squeezed(digit, label, rng):
    """Narrow or wide handwriting: width scaled by 0.6-0.75 or 1.35-1.6."""
    aspect = rng.uniform(0.6, 0.75) if rng.random() < 0.5 else rng.uniform(1.35, 1.6)
    return _on_canvas(_affine(digit, [[1, 0], [0, 1 / aspect]]), rng)


def printed(seen: bool):
    """The digit's label typed in a font of this machine (regular or bold), on paper or screen."""
    def make(digit, label, rng):
        choices = fonts(seen)
        path = choices[int(rng.integers(len(choices)))]
        pt = int(rng.integers(60, 160))
        img = Image.new("L", (pt * 2, pt * 2), 0)
        ImageDraw.Draw(img).text((pt, pt), str(label), fill=255, font=font_at(path, pt), anchor="mm")
        if rng.random() < 0.5:
            return Image.fromarray(255 - np.asarray(img))  # black print on white paper
        return img
    return make


def brush(digit, label, rng):
    """The dashboard's canvas: the digit's centre line traced with a round brush 8-40 px wide."""
    return Image.fromarray(synth.brush_drawing(digit, rng, float(rng.integers(8, 41))))


@dataclass(frozen=True)
class Style:
    make: object  # callable(digit 28x28 uint8, label int, rng) -> PIL image as a person sends it
    family: str  # styles of one family are seen or held out together
    seen: bool  # the shipped CNN trains on this family (random augmentation); else held out
    about: str


DIGIT_STYLES = {
    "thin": Style(thin, "thin", True, "fine pen (eroded)"),
    "bold2": Style(bold(2), "bold", True, "marker, dilated 2 px at 28x28"),
    "bold3": Style(bold(3), "bold", True, "marker, dilated 3 px at 28x28"),
    "bold4": Style(bold(4), "bold", True, "marker, dilated 4 px at 28x28"),
    "bold_canvas": Style(bold(18, canvas_scale=True), "bold", True, "marker, dilated 18 px on a 200 px digit"),
    "pixel8": Style(pixelated(8), "pixelated", True, "8 px tall, scaled up (nearest)"),
    "pixel10": Style(pixelated(10), "pixelated", True, "10 px tall, scaled up (nearest)"),
    "pixel12": Style(pixelated(12), "pixelated", True, "12 px tall, scaled up (nearest)"),
    "pixel16": Style(pixelated(16), "pixelated", True, "16 px tall, scaled up (nearest)"),
    "brush": Style(brush, "brush", True, "canvas brush 8-40 px"),
    "print_sans": Style(printed(True), "print_sans", True, "typed, DejaVu Sans family"),
    "print_other": Style(printed(False), "print_other", False, "typed, every other font (serif, mono, Pillow's)"),
    "blur": Style(blurred, "blur", False, "out of focus"),
    "pencil": Style(pencil, "pencil", False, "faint pencil on grey or lined paper"),
    "phone": Style(phone, "phone", False, "phone photo: shading, perspective, JPEG"),
    "slant20": Style(slanted, "slant", False, "sheared 20 degrees"),
    "rotate15": Style(rotated, "rotate", False, "rotated 10-15 degrees"),
    "aspect": Style(squeezed, "aspect", False, "squeezed or stretched 0.6-1.6"),
    "squared": Style(squared, "squared", False, "pen on squared paper, colour scan, JPEG"),  # last: the others keep their seeds
}


def digit_image(style: str, digit: np.ndarray, label: int, rng) -> Image.Image:
    return DIGIT_STYLES[style].make(digit, int(label), rng)


def suite_digits(style: str, x: np.ndarray, y: np.ndarray, n: int, seed: int):
    """`n` images of one digit style from digits (x, y): (PIL images, labels, index into x).
    Deterministic by seed."""
    rng = np.random.default_rng([seed, list(DIGIT_STYLES).index(style)])
    idx = np.sort(rng.choice(len(x), n, replace=n > len(x)))
    return [digit_image(style, x[i], y[i], rng) for i in idx], np.asarray(y[idx]), idx
