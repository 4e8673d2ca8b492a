"""Ink that is not a digit, in families: the style-shift suite's non-digits, and what a CNN's
11th class ("not a digit") trains on. `NonDigit.seen` names the families the shipped CNN trains on;
every other family is held out, so its figure estimates the next thing a person sends that is no
digit. Fonts: the DejaVu Sans family is seen, every other font is held out (`styles.fonts`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage as ndi

from . import synth
from .styles import CANVAS, font_at, fonts

# Characters that no careful reader takes for a digit (no O, I, l, S, Z, B, G, q, g, b ...).
LETTERS = "ACEFHKLMNPRTUVWXYacefhkmnrtuvwxy#%&@?*+=$<>!"


def _glyph_image(ch: str, path, rng) -> np.ndarray:
    pt = int(rng.integers(70, 150))
    img = Image.new("L", (pt * 2, pt * 2), 0)
    ImageDraw.Draw(img).text((pt, pt), ch, fill=255, font=font_at(path, pt), anchor="mm")
    return np.asarray(img.rotate(float(rng.uniform(-10, 10)), resample=Image.Resampling.BILINEAR))


def _signed(img: Image.Image, sign: str) -> Image.Image:
    img.info["sign"] = sign  # which sign of LETTERS it is (benchmarks/styles.py --signs)
    return img


def letters_font(seen: bool):
    def make(rng):
        choices = fonts(seen)
        sign = LETTERS[rng.integers(len(LETTERS))]
        return _signed(Image.fromarray(_glyph_image(sign, choices[rng.integers(len(choices))], rng)), sign)
    return make


def _traced(sign: str, path, rng) -> Image.Image:
    """A sign as a hand draws it: the font's glyph traced along its centre line with a round
    brush, each separate part of it drawn (the dot of ! and ?)."""
    glyph = np.asarray(Image.fromarray(_glyph_image(sign, path, rng)).resize((28, 28), Image.Resampling.BOX))
    return _signed(Image.fromarray(synth.brush_drawing(glyph, rng, float(rng.integers(8, 30)), parts=True)), sign)


def letters_hand(rng):
    """Letters traced as a hand draws them, from Pillow's own font (held out)."""
    return _traced(LETTERS[rng.integers(len(LETTERS))], None, rng)


def letters_hand_sans(rng):
    """Letters traced as a hand draws them, from the DejaVu Sans family (seen as type)."""
    sign, choices = LETTERS[rng.integers(len(LETTERS))], fonts(seen=True)
    return _traced(sign, choices[rng.integers(len(choices))], rng)


def scribble(rng):
    """A random walk with momentum: pen wandering over the canvas."""
    img = Image.new("L", (CANVAS, CANVAS), 0)
    pts, p, v = [], np.array([140.0, 140.0]), rng.normal(0, 15, 2)
    for _ in range(int(rng.integers(30, 80))):
        v = 0.8 * v + rng.normal(0, 12, 2)
        p = np.clip(p + v, 15, CANVAS - 15)
        pts.append(tuple(p))
    ImageDraw.Draw(img).line(pts, fill=255, width=int(rng.integers(5, 20)), joint="curve")
    return img


def shapes(rng):
    """Outlines: a rectangle, ellipse, triangle or cross, one or two of them."""
    img = Image.new("L", (CANVAS, CANVAS), 0)
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(1, 3))):
        x0, y0 = rng.uniform(20, 120, 2)
        x1, y1 = x0 + rng.uniform(80, 140), y0 + rng.uniform(80, 140)
        w = int(rng.integers(5, 16))
        kind = rng.integers(4)
        if kind == 0:
            draw.rectangle((x0, y0, x1, y1), outline=255, width=w)
        elif kind == 1:
            draw.ellipse((x0, y0, x1, y1), outline=255, width=w)
        elif kind == 2:
            draw.line([(x0, y1), ((x0 + x1) / 2, y0), (x1, y1), (x0, y1)], fill=255, width=w, joint="curve")
        else:
            draw.line((x0, y0, x1, y1), fill=255, width=w)
            draw.line((x0, y1, x1, y0), fill=255, width=w)
    return img


def blobs(rng):
    """Filled shapes: a smudge, a thumb print, a coloured-in area."""
    field = ndi.gaussian_filter(rng.normal(0, 1, (CANVAS, CANVAS)), rng.uniform(15, 30))
    yy, xx = np.mgrid[0:CANVAS, 0:CANVAS] / CANVAS - rng.uniform(0.35, 0.65, 2)[:, None, None]
    field -= (xx ** 2 + yy ** 2) * rng.uniform(20, 60) * field.std()
    return Image.fromarray(((field > np.quantile(field, rng.uniform(0.7, 0.9))) * 255).astype(np.uint8))


def texture(rng):
    """Paper full of pattern: a grid, hatching, dots or wood-grain stripes."""
    kind = rng.integers(4)
    yy, xx = np.mgrid[0:CANVAS, 0:CANVAS]
    period = rng.uniform(12, 30)
    if kind == 0:
        ink = ((xx % period) < 3) | ((yy % period) < 3)
    elif kind == 1:
        ink = ((xx + yy * rng.uniform(-1, 1)) % period) < 4
    elif kind == 2:
        ink = ((xx % period - period / 2) ** 2 + (yy % period - period / 2) ** 2) < (period / 4) ** 2
    else:
        ink = np.sin(xx / period + 3 * np.sin(yy / (3 * period))) > 0.6
    return Image.fromarray((ink * 255).astype(np.uint8))


def blank_paper(rng):
    """A photo of empty paper: uneven light, tint, JPEG."""
    w, h = int(rng.integers(160, 640)), int(rng.integers(160, 640))
    return synth.ink_on_paper(np.zeros((h, w)), rng)


def noisy_paper(rng):
    """Empty paper with sensor noise and a few specks of dirt."""
    w, h = int(rng.integers(160, 480)), int(rng.integers(160, 480))
    ink = np.zeros((h, w))
    for _ in range(int(rng.integers(0, 6))):
        y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
        ink[y: y + 2, x: x + 2] = 1.0
    img = np.asarray(synth.ink_on_paper(ink, rng), float) + rng.normal(0, rng.uniform(8, 20), (h, w, 1))
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


@dataclass(frozen=True)
class NonDigit:
    make: object  # callable(rng) -> PIL image
    seen: bool  # its generator (or font family) is in the CNN's "not a digit" training class
    about: str
    traced: bool = False  # trained on only by a recipe with TrainConfig.traced_letters


NONDIGIT_FAMILIES = {
    "letters_sans": NonDigit(letters_font(True), True, "letters and signs, DejaVu Sans family"),
    "letters_other": NonDigit(letters_font(False), False, "letters and signs, other fonts"),
    "letters_hand": NonDigit(letters_hand, False, "letters traced as a hand draws them"),
    "scribble": NonDigit(scribble, True, "random-walk scribbles"),
    "shapes": NonDigit(shapes, True, "outlined rectangles, ellipses, triangles, crosses"),
    "blobs": NonDigit(blobs, True, "filled smudges"),
    "texture": NonDigit(texture, False, "grids, hatching, dots, stripes"),
    "blank_paper": NonDigit(blank_paper, False, "empty paper, photographed"),
    "noisy_paper": NonDigit(noisy_paper, False, "empty paper, noise and specks"),
    # last, so that every other family keeps its seed (suite_nondigits seeds by position). Seen: the
    # shipped CNN's second network trains on it (TrainConfig.traced_letters)
    "letters_hand_sans": NonDigit(letters_hand_sans, True, "letters traced as a hand draws them, DejaVu Sans family",
                                  traced=True),
}


def trained_nondigits(traced_letters: bool) -> list[NonDigit]:
    """The families a CNN's 11th class trains on, in order: the seen ones, and the traced letters
    only for a recipe with TrainConfig.traced_letters (training draws and calibration judges these)."""
    return [fam for fam in NONDIGIT_FAMILIES.values() if (traced_letters if fam.traced else fam.seen)]


def suite_nondigits(family: str, n: int, seed: int) -> list:
    rng = np.random.default_rng([seed, 100 + list(NONDIGIT_FAMILIES).index(family)])
    return [NONDIGIT_FAMILIES[family].make(rng) for _ in range(n)]
