"""Any image -> a 28x28 digit the way MNIST made its own, and a number -> its digits.

MNIST: white ink (255) on black (0); each digit scaled to fit 20x20 keeping its aspect ratio,
anti-aliased, then placed in 28x28 with its centre of mass at the centre. The steps below bring
photos, scans and canvas drawings to exactly that form.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from .decode import open_image, to_gray
from .lines import page_edges, without_printed_lines, without_ruling
from .segment import segment
from .shading import even_light

PREPROCESS_VERSION = 9  # recorded in every bundle; bump when the pipeline's output changes
# Versions that prepare the images a network trains on alike, so a model trained under one needs
# no retraining for the other. 3 (ruled lines, the page's edge) changed none of 1,000 of core.train's
# brush drawings, 1 of its styled digits, 1.2% of its non-digits, and 5.8% of the gate's photos by
# 3.8 grey levels on average (benchmarks/paper_bench.py, 2026-11-26). 4 (the page's edge left as
# faint ink along a border, lines.page_edges) changed none of 1,000 of each of those four kinds.
# 5 (straight edges of light divided out: the table beyond the page, a cast shadow; core.shading)
# changed none of 500 brush drawings or styled digits, 1.0% of 500 non-digits and 1.4% of 500
# calibration photos (a one-off comparison with it switched off, 2026-11-27). 6 (more of those edges
# divided out: a dark table, a strip of it, a soft shadow at the border) changed 1 of 500 non-digits
# and none of 500 of each other kind (against 5, 2026-12-03). 7 (faint printed lines taken off the
# ink: graph and ruled paper, lines.without_printed_lines) changed none of 500 of each of those
# four kinds (against 6, 2026-12-03). 8 (a band of page shaded darker towards a lighter table judged
# against the page beside it, _under_big_ink) changed none of 500 brush drawings, styled digits or
# non-digits, and 2 of 500 calibration photos (against 7, 2026-12-04). 9 (a stroke is thinned only
# if fat at half its darkness too, normalize_digit) changed none of 500 of each of those four kinds
# (against 8, 2026-12-04).
SAME_TRAINING_IMAGES = frozenset({2, 3, 4, 5, 6, 7, 8, 9})
BOX, FIELD = 20, 28  # MNIST's digit box and image size
SMALL = 64  # px: an image no wider is MNIST-sized already: no light to even out, no JPEG noise to smooth
MIN_CONTRAST = 0.15  # ink must differ from paper by this much (0..1) or the image is blank
STROKE = (1.2, 6.5, 2.7)  # stroke width in the 20x20 box: left alone within (MNIST: 2.0-4.9 for 98%), else set to 2.7
SHARP_CORE = 0.8  # a sharp stroke's half-darkness core is >= 0.88 of its width (bold styles), a blurred one's <= 0.76


@dataclass(frozen=True)
class Options:
    """Each step can be switched off, to measure what it is worth (benchmarks/external.py --ablation)."""

    polarity: bool = True  # find which side is ink; off: assume white ink on black, as MNIST
    flatten: bool = True  # remove uneven lighting; off: subtract one paper shade
    despeckle: bool = True  # drop specks far smaller than the digit
    stroke: bool = True  # bring stroke width into MNIST's range
    centre: bool = True  # centre by mass as MNIST did; off: centre the bounding box
    paper: bool = True  # drop ruled lines and the paper's edge in photos; off: all ink is the digit's


DEFAULT_OPTIONS = Options()


@dataclass(frozen=True)
class Prepared:
    image: np.ndarray  # (28, 28) uint8, white on black: exactly what the network sees
    box: tuple  # (x, y, w, h) of the ink in the input image's pixels
    blank: bool  # no ink found: nothing to classify


# ---------------------------------------------------------------- ink
def ink_side(gray: np.ndarray, options: Options = DEFAULT_OPTIONS) -> np.ndarray:
    """The image with ink bright and paper dark, whichever way round it came."""
    # Paper covers most of any picture of a digit, so the median is the paper's shade.
    sample = gray[:: max(1, gray.shape[0] // 64), :: max(1, gray.shape[1] // 64)]  # enough for a median
    return 1.0 - gray if options.polarity and np.median(sample) > 0.5 else gray.copy()


def evened(gray: np.ndarray, options: Options = DEFAULT_OPTIONS) -> np.ndarray:
    """`gray` with the straight edges of light in a photo divided out (the table beyond the page,
    a cast shadow: `core.shading`), before the polarity is judged: a table covering most of the
    picture would pass for the paper."""
    return even_light(gray) if options.paper and max(gray.shape) > SMALL else gray


def ink_map(gray: np.ndarray, options: Options = DEFAULT_OPTIONS) -> np.ndarray:
    """Ink strength in [0, 1] (0 = paper), whichever the polarity, with uneven light removed.
    `gray` is as `evened` returns it."""
    small = max(gray.shape) <= SMALL
    ink = ink_side(gray, options)
    if options.flatten and not small:
        # The paper's own shade, estimated on a thumbnail of about 32 px with a window a third
        # of the image wide: wider than any stroke, narrower than the light's own variations.
        # A low percentile, not the median, so that even a big fat digit is not taken for paper.
        step = max(1, max(ink.shape) // 32)
        thumb = ink[::step, ::step]
        size = max(5, max(thumb.shape) // 3)
        eroded = ndi.uniform_filter(ndi.percentile_filter(thumb, 20, size=size, mode="nearest"), 3, mode="nearest")
        # Then spread back (an opening): where the page ends in a photo, the lighter table beside
        # it would otherwise pull the paper's estimate down and leave a band of paper as "ink".
        opened = ndi.maximum_filter(eroded, size=size, mode="nearest") if options.paper else None
        background = _under_big_ink(thumb, eroded, opened)
        size = (ink.shape[1], ink.shape[0])
        ink = ink - np.asarray(Image.fromarray(background, mode="F").resize(size, Image.Resampling.BILINEAR))
    else:
        ink = ink - np.median(ink[:: max(1, ink.shape[0] // 64), :: max(1, ink.shape[1] // 64)])
    if not small:
        ink = ndi.gaussian_filter(ink, 0.8)  # photo noise and JPEG blocks, not strokes
    return np.clip(ink, 0, 1).astype(np.float32)


def _under_big_ink(thumb: np.ndarray, eroded: np.ndarray, opened: np.ndarray | None = None) -> np.ndarray:
    """The paper's shade, from the window-based estimate `eroded`, corrected where it fails.

    It takes the inside of a filled shape or a very fat stroke for paper and would leave only its
    outline: inside each inked region (holes filled) the paper is taken as the smooth
    interpolation of the paper pixels around it, when that is lower. And where the page ends in a
    photo, the lighter table beside it pulls the estimate down and leaves a band of shaded paper
    as "ink": an inked region that reaches the image's border, stands no higher than the page (its
    median, or the page's light beside the region: a page shaded darker towards a lighter table)
    and covers less than half the picture takes `opened` (the estimate spread back, when given),
    which follows the page up to its edge.
    """
    inked = ndi.binary_fill_holes(ndi.binary_dilation(thumb - eroded > MIN_CONTRAST))
    paper = (~inked).astype(np.float32)
    if not inked.any() or paper.sum() < 0.1 * paper.size:
        return eroded
    sigma = max(thumb.shape) / 4
    weight = ndi.gaussian_filter(paper, sigma, mode="nearest")
    around = ndi.gaussian_filter(thumb * paper, sigma, mode="nearest") / np.maximum(weight, 1e-6)
    background = np.where(inked, np.minimum(eroded, around), eroded)
    if opened is not None:
        labels, n = ndi.label(inked)
        regions = np.arange(1, n + 1)
        level = np.asarray(ndi.median(thumb, labels, regions))
        # the paper just around each region (its lighter side is the table's): a band of shaded page
        # stands no higher than the page beside it, a fat stroke on a dark canvas far higher; what
        # is nearer the ink's strength than the paper's beside a region (a blob's inside) is not paper
        ring = ndi.grey_dilation(labels, size=5) * ~inked  # (between two regions: the higher label's)
        beside = np.asarray(ndi.labeled_comprehension(thumb, ring, regions, lambda v: np.percentile(v, 90), float, -1.0))
        paper_level = np.median(thumb[~inked])
        page = np.where(beside < (paper_level + thumb.max()) / 2, np.maximum(paper_level, beside), paper_level)
        border = np.zeros(n + 1, bool)
        border[np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])] = True
        # (a region over half the picture: the polarity itself is in doubt, leave it)
        small = np.bincount(labels.ravel(), minlength=n + 1)[1:] < 0.5 * labels.size
        shade = np.concatenate([[False], (level <= page + MIN_CONTRAST) & small]) & border
        background = np.where(shade[labels], opened, background)
    return background.astype(np.float32)


def otsu(values: np.ndarray) -> float:
    hist, edges = np.histogram(values, bins=128, range=(0, 1))
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres)
    mu0 = m0 / np.maximum(w0, 1)
    mu1 = (m0[-1] - m0) / np.maximum(w1, 1)
    between = w0 * w1 * (mu0 - mu1) ** 2
    return float(centres[np.argmax(between)])


def ink_mask(ink: np.ndarray, options: Options = DEFAULT_OPTIONS) -> np.ndarray:
    """The ink pixels of `ink` (an ink map, faint printed lines already taken off: `_analyse`):
    above a contrast-relative threshold; specks, ruled lines and the page's edge dropped. Empty
    when blank."""
    peak = float(ink.max(initial=0))  # ink_map has smoothed single-pixel noise away
    if peak < MIN_CONTRAST:
        return np.zeros(ink.shape, bool)
    strong = ink[ink > 0.05 * peak]
    threshold = max(otsu(strong / peak) * peak if strong.size else 0, 0.3 * peak, MIN_CONTRAST * 0.8)
    # Hysteresis: faint parts of a stroke are kept when they connect to clearly inked pixels.
    low = ink > max(0.4 * threshold, 0.5 * MIN_CONTRAST)
    if options.paper:
        low = without_ruling(low)
    labels, n = ndi.label(low, structure=np.ones((3, 3)))
    if n == 0:
        return low
    areas = np.bincount(labels.ravel(), minlength=n + 1)
    seeded = np.zeros(n + 1, bool)
    seeded[labels[ink > threshold]] = True
    seeded[0] = False
    min_area = max(0.06 * areas[seeded].max(initial=0), 2e-5 * low.size, 2) if options.despeckle else 1
    if options.paper:  # after the specks' size is set: specks beside the page's edge stay specks
        seeded &= ~page_edges(labels, seeded, ink)
    return (seeded & (areas >= min_area))[labels]


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width in pixels: area over half the boundary length."""
    boundary = mask & ~ndi.binary_erosion(mask)
    return 2.0 * mask.sum() / max(int(boundary.sum()), 1)


def ink_amount(images: np.ndarray) -> np.ndarray:
    """For each (28, 28) image, how much ink it holds, in fully inked MNIST pixels. A few specks
    of noisy paper, spread over the 20x20 box, hold a fraction of what even a thin 1 does."""
    return np.asarray(images, np.float64).reshape(len(images), -1).sum(axis=1) / 255.0


def ink_thickness(images: np.ndarray) -> np.ndarray:
    """For each (28, 28) image, how far its deepest ink pixel lies from paper, in MNIST pixels.

    Half the widest stroke: a filled blob keeps its bulk through the stroke-width step (eroding a
    disk leaves a disk), and is far thicker than any handwritten digit.
    """
    return np.array([ndi.distance_transform_edt(im > 128).max(initial=0.0) for im in images])


def disk(r: int) -> np.ndarray:
    """A filled disk of radius `r` as a boolean footprint (for dilation and erosion)."""
    y, x = np.ogrid[-r: r + 1, -r: r + 1]
    return x * x + y * y <= r * r + r


def erode_disk(a: np.ndarray, r: int) -> np.ndarray:
    """`ndi.grey_erosion(a, footprint=disk(r))` (edges reflected) for r below both sides of `a`,
    as the minimum over the disk's rows, each a 1-D minimum filter: a fat blob's r = 35 costs
    20 ms instead of 380 (the footprint's 5,000 pixels per pixel)."""
    h, w = a.shape
    padded = np.pad(a, r, mode="symmetric")  # scipy's "reflect"
    out = None
    for dy, row in enumerate(disk(r), start=-r):
        half = int(np.flatnonzero(row).max()) - r
        band = ndi.minimum_filter1d(padded[r + dy: r + dy + h], 2 * half + 1, axis=1)[:, r: r + w]
        out = band if out is None else np.minimum(out, band)
    return out


# ---------------------------------------------------------------- one digit
def _resize(a: np.ndarray, h: int, w: int) -> np.ndarray:
    if a.shape == (h, w):
        return a
    down = h <= a.shape[0] and w <= a.shape[1]
    method = Image.Resampling.BOX if down else Image.Resampling.BILINEAR  # BOX = area average: anti-aliased
    return np.asarray(Image.fromarray(a.astype(np.float32), mode="F").resize((w, h), method), np.float32)


def normalize_digit(ink: np.ndarray, mask: np.ndarray, options: Options = DEFAULT_OPTIONS) -> np.ndarray:
    """Crop to the ink, fix the stroke width, fit into 20x20, centre by mass in 28x28 (uint8)."""
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    keep = ndi.binary_dilation(mask, iterations=1)[y0:y1, x0:x1]  # anti-aliased edge pixels too
    crop = np.where(keep, ink[y0:y1, x0:x1], 0)
    inked = mask[y0:y1, x0:x1]
    core = crop[inked]
    crop = np.clip(crop / max(float(np.percentile(core, 90)), 1e-6), 0, 1)

    h, w = crop.shape
    scale = BOX / max(h, w)
    width = stroke_width(inked) * scale
    # Fat only if fat at half its darkness too (crop's 90th percentile is 1): a blurred stroke's
    # faint rim widens the mask, and eroding by that width leaves a grey blob of the digit's outline.
    fat = width > STROKE[1] and stroke_width(inked & (crop >= 0.5)) * scale > SHARP_CORE * STROKE[1]
    if options.stroke and (width < STROKE[0] or fat):
        # Work at 4x the final size, where a 1-pixel change is a quarter of an MNIST pixel.
        big = 4 * BOX / max(h, w)
        crop = _resize(crop, max(1, round(h * big)), max(1, round(w * big)))
        crop = np.clip(crop / max(float(crop.max()), 1e-6), 0, 1)  # thin strokes fade when shrunk
        radius = int(round(abs(STROKE[2] - width) * 4 / 2))
        if radius:
            if width < STROKE[0]:
                thinned = ndi.grey_dilation(crop, footprint=disk(radius))
            else:
                thinned = erode_disk(crop, radius) if radius < min(crop.shape) else \
                    ndi.grey_erosion(crop, footprint=disk(radius))
            crop = thinned if thinned.max() > 0.5 else crop  # never erode a digit away
            rows, cols = np.flatnonzero(crop.max(axis=1) > 0.05), np.flatnonzero(crop.max(axis=0) > 0.05)
            crop = crop[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]  # the digit's new extent
        h, w = crop.shape
        scale = BOX / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    digit = np.clip(_resize(crop, nh, nw), 0, 1)

    cy, cx = ndi.center_of_mass(digit) if options.centre and digit.sum() > 0 else ((nh - 1) / 2, (nw - 1) / 2)
    top = int(np.clip(round(FIELD / 2 - cy), 0, FIELD - nh))
    left = int(np.clip(round(FIELD / 2 - cx), 0, FIELD - nw))
    out = np.zeros((FIELD, FIELD), np.float32)
    out[top: top + nh, left: left + nw] = digit
    return np.round(out * 255).astype(np.uint8)


def _box(mask, zoom) -> tuple:
    ys, xs = np.nonzero(mask)
    y0, x0 = ys.min(), xs.min()
    return (int(x0 * zoom[1]), int(y0 * zoom[0]), int(np.ceil((xs.max() + 1 - x0) * zoom[1])),
            int(np.ceil((ys.max() + 1 - y0) * zoom[0])))


def _analyse(source, options: Options):
    """(grey, grey evened, ink map, ink map without printed lines (the very same array when it
    had none), ink mask, zoom from work pixels to the input's) of an image."""
    img = open_image(source)
    gray = to_gray(img)
    even = evened(gray, options)
    ink = ink_map(even, options)
    unlined = without_printed_lines(ink) if options.paper else ink
    zoom = (img.size[1] / gray.shape[0], img.size[0] / gray.shape[1])
    return gray, even, ink, unlined, ink_mask(unlined, options), zoom


BLANK = np.zeros((FIELD, FIELD), np.uint8)


def prepare_all(sources, options: Options = DEFAULT_OPTIONS) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 28, 28) uint8, blank (N,) bool) of many images, each through `prepare`; an image
    with no ink is BLANK."""
    out = [prepare(s, options) for s in sources]
    images = np.stack([BLANK if p.blank else p.image for p in out]) if out else np.zeros((0, FIELD, FIELD), np.uint8)
    return images, np.array([p.blank for p in out], bool)


def prepare(source, options: Options = DEFAULT_OPTIONS) -> Prepared:
    """One digit: all the ink in the image, in MNIST's form."""
    _, _, ink, _, mask, zoom = _analyse(source, options)
    if not mask.any():
        return Prepared(BLANK, (0, 0, 0, 0), True)
    return Prepared(normalize_digit(ink, mask, options), _box(mask, zoom), False)


def explain(source, options: Options = DEFAULT_OPTIONS) -> list[tuple[str, np.ndarray]]:
    """Each step of `prepare` as an 8-bit picture, for people: (name, array) in order."""
    gray, even, ink, unlined, mask, _ = _analyse(source, options)
    as8 = lambda a: np.round(np.clip(a, 0, 1) * 255).astype(np.uint8)  # noqa: E731
    steps = [("original", as8(gray))]
    if even is not gray:
        steps.append(("edges of light divided out: the table beyond the page, a shadow", as8(even)))
    steps += [("ink side: ink bright, paper dark", as8(ink_side(even, options))), ("lighting evened out", as8(ink))]
    if unlined is not ink:
        steps.append(("printed lines taken off: graph or ruled paper", as8(unlined)))
    steps.append(("threshold: the ink pixels", as8(mask)))
    if mask.any():
        ys, xs = np.nonzero(mask)
        steps.append(("cropped to the ink", as8(ink[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1])))
        steps.append(("28x28, as MNIST: 20x20 box, centred by mass", normalize_digit(ink, mask, options)))
    return steps


def prepare_many(source, options: Options = DEFAULT_OPTIONS) -> list[Prepared]:
    """Each digit of a number, left to right; [] when the image is blank."""
    _, _, ink, _, mask, zoom = _analyse(source, options)
    return [Prepared(normalize_digit(ink, part, options), _box(part, zoom), False) for part in segment(mask)]
