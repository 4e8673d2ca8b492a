"""A straight edge of light across a photographed page, divided out before the ink is looked for.

Two things in a phone photo cross the whole picture in a straight line and are not ink: the table
beyond the page's edge, and the edge of a cast shadow (a hand, the phone). Preprocessing's
lighting step estimates the paper with a window a third of the image wide, so it follows neither:
a band along the line is left as ink, and a table covering most of the picture even flips which
side is ink. Here the line is found, and the light across it is measured piece by piece along it
(a median per row of pixels parallel to the line: a stroke crossing the row is a minority in it),
then divided out; the smooth light that is left is the lighting step's to remove, as before.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

THUMB = 128  # px: the line is looked for on a thumbnail this wide (fast; a page edge spans it)
ANGLES = np.deg2rad(np.arange(0, 180, 2.0))  # directions tried for the line's normal, then refined
SPANS = (2, 5, 10)  # thumbnail px each side of the line: a sharp table edge ... a soft shadow
MIN_STEP = 0.15  # the light changes by this much across the line, in log (14% darker)
MIN_LIGHT = 0.06  # beyond the line the page, table or shadow is lit: a black canvas is not
UNIFORM = 0.97  # share of the dark side's pixels (in the band) that follow their row's light:
# a shadow or a table all but the digit's few; a row of digits cut by a false line, 86-96%
STRONG = np.log(2)  # ... asked only of a change of light under this (half the light): a false line
# through a row of digits darkens its rows' medians by a quarter at most (ink is a minority in a
# row), while a dark table's noise and JPEG blocks keep 3-10% of its pixels off their row
MIN_BEYOND = 0.005  # share of the image beyond the line: less is too little to measure
PIECES = 8  # the line is measured in this many pieces along it: the light varies along it too
AGREE = 0.75  # share of the pieces that must see the light drop across the line: a fat stroke
# reaching the border makes a step in a few pieces only, a table or a shadow in all of them
MAX_EDGES = 2  # the table and a shadow
STROKE_FILL = 7  # thumbnail px: wider than a pen stroke in a photo of a digit (5% of the picture)
DENOISE = np.log(2.5)  # where the light is 40% or less, noise is 2.5 times wider: ...
FOLLOW = 0.25  # ... pixels within this (log) of the page's light are paper
EPS = 0.02  # log(gray + EPS): black stays finite


def even_light(gray: np.ndarray) -> np.ndarray:
    """`gray` (float in [0, 1], paper light) with up to MAX_EDGES straight edges of light divided
    out; the very same array when it has none."""
    for _ in range(MAX_EDGES):
        evened = next((e for e in (divide(gray, *c) for c in find_edges(gray)) if e is not None), None)
        if evened is None:
            break
        gray = evened
    return gray


def _normal(shape, angle: float) -> np.ndarray:
    """Each pixel's distance along the direction `angle` (from the image's corner)."""
    h, w = shape
    return (np.arange(w) + 0.5)[None, :] * np.cos(angle) + (np.arange(h) + 0.5)[:, None] * np.sin(angle)


def _trimmed(values: np.ndarray, bins: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per bin: the mean of the pixels near the bin's mean (a stroke crossing the row is left out),
    and the pixel count."""
    count = np.bincount(bins, minlength=n).astype(np.float64)
    mean = np.bincount(bins, values, minlength=n) / np.maximum(count, 1)
    keep = np.abs(values - mean[bins]) < 0.15
    kept = np.bincount(bins, keep, minlength=n)
    trimmed = np.bincount(bins, values * keep, minlength=n) / np.maximum(kept, 1)
    return np.where(kept > 0, trimmed, mean), count


def _steps(lg: np.ndarray, angles, width: float = 1.0) -> list:
    """Per angle, (score, angle, offset, span) of the largest change of light across a line."""
    found = []
    for a in angles:
        d = _normal(lg.shape, a) / width
        lo = d.min()
        bins = np.floor(d - lo).astype(np.int64).ravel()
        n = int(bins.max()) + 1
        p, count = _trimmed(lg.ravel(), bins, n)
        ok = count >= 8
        length = np.sqrt(count / count.max())  # a long edge is surer than a corner's short one
        best = (0.0, a, None, None)
        for s in SPANS:
            s = int(round(s / width))
            if n <= 2 * s:
                continue
            diff = np.abs(p[2 * s:] - p[:-2 * s])
            diff[~(ok[2 * s:] & ok[:-2 * s])] = 0
            weighted = diff * np.minimum(length[2 * s:], length[:-2 * s])
            i = int(np.argmax(weighted))
            score = weighted[i] / (1 + s * width / 10)  # a sharp edge before a soft one of the same height
            if diff[i] >= MIN_STEP and score > best[0]:
                best = (score, a, (lo + i + s) * width, s * width)
        if best[2] is not None:
            found.append(best)
    return found


def find_edges(gray: np.ndarray, most: int = 3) -> list:
    """Up to `most` straight edges of light across `gray`, strongest first, each (angle, offset,
    span) in its own pixels: the line x cos(a) + y sin(a) = offset, its light changing over about
    2 x span. [] when no line changes the light by MIN_STEP."""
    k = max(1, int(np.ceil(max(gray.shape) / THUMB)))
    thumb = np.asarray(Image.fromarray(gray.astype(np.float32), mode="F").reduce(k)) if k > 1 else gray
    if np.median(thumb) < MIN_LIGHT:  # a dark canvas or screen (the Draw page's): no page, no table
        return []
    # strokes are dark and thin: a closing fills them in and keeps the edges of light as they are
    lg = np.log(ndi.grey_closing(ndi.gaussian_filter(thumb, 0.7), size=STROKE_FILL) + EPS)
    coarse = sorted(_steps(lg, ANGLES), key=lambda c: -c[0])
    out = []
    for _, a, offset, _ in coarse:
        if any(abs(np.sin(a - b)) < 0.1 and abs(offset - o / k) < 10 for b, o, _ in out):
            continue  # the same line seen at a neighbouring angle
        fine = _steps(lg, a + np.deg2rad(np.arange(-1.5, 1.75, 0.25)), width=0.5)  # a quarter degree, half pixels
        _, a, offset, span = max(fine, key=lambda c: c[0]) if fine else (0, a, offset, SPANS[0])
        out.append((a, offset * k, max(span * k, 2.0)))
        if len(out) == most:
            break
    return out


def _line_fit(v: np.ndarray) -> np.ndarray:
    """`v` (one value per piece) as a straight line along the pieces, fitted twice: the second
    time without the pieces off the first line by more than 0.1 (a digit in them). The light
    along a page changes smoothly; a piece unlike its neighbours holds ink."""
    x = np.arange(v.size)
    keep = np.isfinite(v)
    for _ in range(2):
        if keep.sum() < 2:
            return np.full(v.size, np.nanmedian(v))
        fit = np.polyval(np.polyfit(x[keep], v[keep], 1), x)
        keep = np.isfinite(v) & (np.abs(v - fit) < 0.1)
    return fit


def _medians(values: np.ndarray, keys: np.ndarray, n: int) -> np.ndarray:
    """The median of `values` per key in range(n) (NaN where a key has none)."""
    order = np.lexsort((values, keys))
    keys, values = keys[order], values[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    counts = np.diff(np.r_[starts, keys.size])
    out = np.full(n, np.nan)
    out[keys[starts]] = values[starts + counts // 2]
    return out


def _level(quarter: np.ndarray, rows: np.ndarray) -> float:
    """The light on one side of the line in one piece: the median over the band's outer quarter
    `quarter`, else over `rows` (all that side's rows past the change), NaN when neither was seen."""
    for r in (quarter, rows):
        if np.isfinite(r).any():
            return float(np.nanmedian(r))
    return np.nan


def _along(per_piece: np.ndarray, p0: np.ndarray, f: np.ndarray, rows=None) -> np.ndarray:
    """Values per piece (and per row, when `rows` is given) at each pixel, interpolated between
    the pieces' centres."""
    at = (lambda p: per_piece[p]) if rows is None else (lambda p: per_piece[p, rows])
    return at(p0) * (1 - f) + at(np.minimum(p0 + 1, PIECES - 1)) * f


@dataclass(frozen=True)
class _Across:
    """A candidate line, measured across: what `_is_light` judges."""
    lg: np.ndarray  # log light of every pixel (flattened)
    beyond: np.ndarray  # each pixel's distance to the line, positive on its dark side
    near: np.ndarray  # the pixels in the measuring band
    rows: np.ndarray  # per pixel in the band: the median of its row parallel to the line
    page: np.ndarray  # per piece: the page's light (log); NaN where a piece has no pixels there
    drop: np.ndarray  # per piece seen on both sides: how much darker beyond the line (log)


def _is_light(a: _Across) -> bool:
    """Whether what is darker beyond the line is light (a table, a shadow), not ink."""
    drop = np.median(a.drop)
    if drop < MIN_STEP or np.mean(a.drop >= MIN_STEP / 2) < AGREE:
        return False  # too small a change, or in a few pieces only: a fat stroke's edge
    beyond = a.beyond > 0
    if beyond.mean() < MIN_BEYOND or np.exp(np.median(a.lg[beyond & a.near])) < MIN_LIGHT:
        return False
    past = beyond & ~a.near  # past the band: a table or a shadow goes on, a fat stroke has ended
    if past.mean() > 0.01 and np.median(a.lg[past]) > np.nanmedian(a.page) - drop / 2:
        return False
    if drop >= STRONG:
        return True  # most of each row beyond the line is dark: not a row of digits on paper
    # in the band, the dark side's pixels follow their row's median: light, not a row of digits
    dark_side = (a.beyond[a.near] > 0) & np.isfinite(a.rows)
    off = np.abs(a.lg[a.near][dark_side] - a.rows[dark_side])
    return np.mean(off < max(FOLLOW, 4 * np.median(off))) >= UNIFORM  # (a dark table's noise is wider)


def divide(gray: np.ndarray, angle: float, offset: float, span: float):
    """`gray` with the light across the line divided out; None when what is darker beyond it is
    not light (a table or a shadow) but ink, a row of digits or a black canvas (see the constants)."""
    h, w = gray.shape
    d = (_normal(gray.shape, angle) - offset).ravel()  # signed distance to the line
    t = _normal(gray.shape, angle + np.pi / 2).ravel()  # place along it
    band = max(3 * span, 0.12 * max(h, w))  # the change of light and some paper either side
    lg = np.log(gray.ravel().astype(np.float64) + EPS)
    near = np.abs(d) <= band
    on = np.abs(d) <= 1
    if on.sum() < 4 * PIECES:
        return None
    t0, t1 = t[on].min(), t[on].max() + 1e-6  # the pieces share the line's chord in the image
    piece = np.clip(((t - t0) / (t1 - t0) * PIECES).astype(np.int64), 0, PIECES - 1)
    dbin = np.clip(np.floor(d + band).astype(np.int64), 0, int(2 * band))
    nb = int(2 * band) + 1
    # per piece and row of pixels parallel to the line: the median (a stroke is a minority in it)
    table = _medians(lg[near], piece[near] * nb + dbin[near], PIECES * nb).reshape(PIECES, nb)
    quarter = max(1, nb // 4)  # the band's outer quarters: the light on either side ...
    settled = max(0, int(band - 2 * span - 2))  # ... or, where a side's quarter is outside the
    # image (a strip of table along the border), its rows past the change of light
    levels = np.array([[_level(q, r) for q, r in zip(*sides)]
                       for sides in ((table[:, :quarter], table[:, :settled + 1]),
                                     (table[:, nb - quarter:], table[:, nb - 1 - settled:]))])
    steps = levels[1] - levels[0]  # per piece: the side where d > 0 minus the other, in log
    valid = np.isfinite(steps)
    if valid.sum() < PIECES // 2:
        return None
    dark = 1 if np.median(steps[valid]) < 0 else -1  # the darker side: +1 where d > 0
    page, far = (levels[0], levels[1]) if dark > 0 else (levels[1], levels[0])
    across = _Across(lg, dark * d, near, table[piece[near], dbin[near]], page, -dark * steps[valid])
    if not _is_light(across):
        return None
    # The correction. In the band, each piece's own change of light, but away from the line no
    # more than the typical one (the median over the pieces, scaled to the piece's drop): a piece
    # darker than the rest there holds ink. Beyond the band, the piece's drop. The page's light
    # and the drop along the line are straight lines, as light is there.
    page, drop = _line_fit(page), np.minimum(_line_fit(far - page), 0)
    middle = np.median(drop)
    if not middle < 0:
        return None  # fitted along the line (a digit's pieces left out), no change is left
    own = np.minimum(table - page[:, None], 0)
    rel = own / middle
    seen = np.isfinite(rel).any(axis=0)
    shape = np.zeros(nb)
    shape[seen] = np.nanmedian(rel[:, seen], axis=0)
    shape = np.clip(shape, 0, 1)
    x = (t - t0) / (t1 - t0) * PIECES - 0.5
    p0 = np.clip(np.floor(x).astype(np.int64), 0, PIECES - 1)
    f = np.clip(x - p0, 0, 1)
    here = _along(drop, p0, f)
    typical = shape[dbin] * here
    own = _along(np.where(np.isfinite(own), own, shape[None, :] * drop[:, None]), p0, f, dbin)
    own = np.where(np.abs(d) <= 2 * span, own, np.maximum(own, typical - 0.1))
    corr = np.where(near, own, np.where(dark * d > 0, here, 0.0))
    out = lg - corr
    # a table much darker than the page: its noise, divided, would be specks of "ink"; where the
    # pixels follow the light they are paper-coloured after all
    lit = np.log(_along(np.exp(page), p0, f))
    flat = (corr < -DENOISE) & (np.abs(out - lit) < FOLLOW)
    out[flat] = lit[flat]
    return np.clip(np.exp(out) - EPS, 0, 1).reshape(h, w).astype(np.float32)
