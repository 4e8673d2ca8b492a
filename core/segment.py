"""A number's ink mask -> one mask per digit, left to right."""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .decode import ImageError

MAX_DIGITS = 12  # a number longer than this, or a row of more marks, is not a number digitrec reads
MIN_PART = 4  # px (work resolution): a cut narrower than this is no digit (a thin line is not a row of 1s)


def segment(mask: np.ndarray, overlap: float = 0.5) -> list[np.ndarray]:
    """Masks of the digits left to right: connected pieces, merged where they share columns.

    The top bar of a 5 or the two strokes of a broken 4 overlap in x with the rest of their digit;
    neighbouring digits of a (slightly sloped) number hardly do.
    """
    labels, n = ndi.label(mask, structure=np.ones((3, 3)))
    if n == 0:
        return []
    slices = ndi.find_objects(labels)
    groups = []  # [x0, x1, [label ids]]
    for i in sorted(range(n), key=lambda i: slices[i][1].start):
        x0, x1 = slices[i][1].start, slices[i][1].stop
        for g in groups:
            shared = min(x1, g[1]) - max(x0, g[0])
            if shared > overlap * min(x1 - x0, g[1] - g[0]):
                g[0], g[1] = min(g[0], x0), max(g[1], x1)
                g[2].append(i + 1)
                break
        else:
            groups.append([x0, x1, [i + 1]])
    groups.sort(key=lambda g: g[0])
    if len(groups) > MAX_DIGITS:
        raise ImageError(f"{len(groups)} separate marks side by side: not a number of up to {MAX_DIGITS} digits")
    masks = [np.isin(labels, g[2]) for g in groups]
    rows = [np.flatnonzero(m.any(axis=1)) for m in masks]
    height = float(np.median([r[-1] + 1 - r[0] for r in rows]))  # the number's digit height
    parts = [part for m in masks for part in split_touching(m, height)]
    if len(parts) > MAX_DIGITS:
        raise ImageError(f"more than {MAX_DIGITS} digits side by side: not a number digitrec reads")
    return parts


def split_touching(mask: np.ndarray, height: float, aspect: float = 1.35) -> list[np.ndarray]:
    """A piece much wider than the number's digits are tall is several touching digits: cut it
    where the ink is thinnest near evenly spaced positions."""
    xs = np.flatnonzero(mask.any(axis=0))
    x0, x1 = xs[0], xs[-1] + 1
    w = x1 - x0
    if w <= aspect * height:
        return [mask]
    n = max(2, round(w / (0.75 * height)))
    if n > MAX_DIGITS or w / n < MIN_PART:
        return [mask]  # a long line or a flat stroke, not a row of touching digits: one piece
    column_ink = mask[:, x0:x1].sum(axis=0)
    cuts, step = [], w / n
    for k in range(1, n):
        lo, hi = int(k * step - 0.3 * step), int(k * step + 0.3 * step)
        hi = max(hi, lo + 1)
        cuts.append(x0 + lo + int(np.argmin(column_ink[lo:hi])))
    parts = []
    for a, b in zip([x0] + cuts, cuts + [x1]):
        part = np.zeros_like(mask)
        part[:, a:b] = mask[:, a:b]
        if part.any():
            parts.append(part)
    return parts
