"""The lines of ruled or squared paper, found in an ink mask so that they are not taken for ink.

A ruled line is straight, thin and runs across most of the picture; a stroke of a digit is none of
these at once (a 7's bar, cropped tight, runs across but is as thick as the pen). Where a stroke
crosses a line, the stroke keeps its pixels. In a photo, the page's edge (the table past it, or
its shadow) can be left as ink along a border: faint beside the pen's ink, it is dropped too.
Before the ink is thresholded, faint printed lines (graph paper in a photo, whose lines the
lighting leaves uneven and the threshold keeps only here and there) are taken off the ink map.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

RULE_SPAN = 0.8  # a ruled line runs straight across at least this share of the image ...
RULE_WIDTH = 0.006  # ... and is at most this thick (share of the image's longer side, >= 2 px)


def without_ruling(low: np.ndarray) -> np.ndarray:
    """`low` without the lines of ruled or squared paper: straight, thin, axis-aligned runs across
    most of the image (a ring's arc is not one). Where a stroke crosses a line, the stroke keeps
    its pixels."""
    thick = max(2, round(RULE_WIDTH * max(low.shape)))
    out = low
    for axis in (1, 0):  # horizontal lines, then vertical ones
        span = int(RULE_SPAN * low.shape[axis])
        if span < 8:
            continue
        lines = thin(long_runs(out, span, axis, gap=thick), thick, axis)
        if not lines.any():
            continue
        rest = out & ~lines
        # a stroke crossing the line: the line pixels right above and below (or beside) its ink
        near = rest.copy()
        for k in range(1, thick + 1):
            ahead, behind = [slice(None)] * 2, [slice(None)] * 2
            ahead[1 - axis], behind[1 - axis] = slice(k, None), slice(None, -k)
            near[tuple(behind)] |= rest[tuple(ahead)]
            near[tuple(ahead)] |= rest[tuple(behind)]
        out = rest | (near & lines)
    return out


GRID_FAINT = 0.5  # a printed line is fainter than this share of the ink's peak: a pen's stroke is not
GRID_LINES = 4  # ... and comes with others at one spacing: at least this many across the picture


def without_printed_lines(ink: np.ndarray) -> np.ndarray:
    """`ink` less the faint lines printed across the whole page (graph or ruled paper, in a photo
    as well as a scan): rows (or columns) whose median stands above the paper's around them, in
    bands no thicker than a printed line, evenly spaced, have the line's own strength along them (a
    running median) taken off. A digit is a minority of any such stretch, so where a line crosses
    it the digit loses only the line's faint share. Left alone: rows a stroke keeps as strong as
    ink, and those beside them (a bar cropped tight, and its blurred rim), and a lone band (the
    page's edge, a table's shadow). `without_ruling` still takes off, from the mask, lines strong
    enough to pass for ink."""
    peak = float(ink.max(initial=0))
    if peak <= 0:
        return ink
    thick = 2 * max(2, round(RULE_WIDTH * max(ink.shape))) + 1  # a printed line, blurred
    out = ink
    for axis in (1, 0):  # rows, then columns
        med = np.median(out, axis=axis)
        base = ndi.median_filter(med, size=max(15, med.size // 10) | 1, mode="reflect")  # the paper's
        strong = ndi.binary_dilation(med >= GRID_FAINT * peak, iterations=thick)  # a stroke, and its blurred rim
        raised = (med - base > 0.02) & ~strong
        labels, n = ndi.label(raised)
        if n == 0:
            continue
        sizes = np.bincount(labels, minlength=n + 1)
        thin_band = sizes <= thick
        thin_band[0] = False
        if not _evenly_spaced(ndi.center_of_mass(raised, labels, np.flatnonzero(thin_band))):
            continue  # printed lines come as a family, evenly spaced; a table's edge, a stroke do not
        rows = np.flatnonzero(thin_band[labels])
        m = out if axis == 1 else out.T
        # the line's own strength along it (lighting leaves it uneven): a running median, a digit
        # being a minority of any stretch an eighth of the picture long
        win = max(9, m.shape[1] // 8) | 1
        line = ndi.median_filter(m[rows], size=(1, win), mode="nearest")
        m = m.copy()
        m[rows] = np.clip(m[rows] - line, 0, None)
        out = m if axis == 1 else m.T
    return out


def _evenly_spaced(centres) -> bool:
    """Whether at least GRID_LINES of these line centres follow each other at one spacing (within
    15%, or 2 px)."""
    gaps = np.diff(np.sort(np.ravel(centres)))
    if gaps.size < GRID_LINES - 1:
        return False
    step = np.median(gaps)
    return np.count_nonzero(np.abs(gaps - step) <= max(2, 0.15 * step)) >= GRID_LINES - 1


def thin(lines: np.ndarray, thick: int, axis: int) -> np.ndarray:
    """The pieces of `lines` (running along `axis`) at most `thick` thick on average: a thick bar
    (a 7's, cropped tight) is a stroke, not a ruled line."""
    if not lines.any():
        return lines
    labels, n = ndi.label(lines)
    area = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    length = np.array([sl[axis].stop - sl[axis].start for sl in ndi.find_objects(labels)])
    return np.concatenate([[False], area <= thick * length])[labels]


def long_runs(mask: np.ndarray, span: int, axis: int = 1, gap: int = 0) -> np.ndarray:
    """The pixels of `mask` in runs of at least `span` along `axis` (1: rows), broken by no more
    than `gap` pixels at a time (noise breaks a faint line)."""
    m = mask if axis == 1 else mask.T
    out = np.zeros_like(m)
    # A cheap first cut: rows with fewer ink pixels than this are passed over (a line that noise
    # has broken into more than 20% gaps is not found).
    rows = np.flatnonzero(np.count_nonzero(m, axis=1) >= span * (1 - 0.2 * bool(gap)))
    if rows.size:
        sub = m[rows]
        if gap:  # close the gaps, on these rows only
            closed = ndi.binary_closing(np.pad(sub, ((0, 0), (gap, gap))), structure=np.ones((1, gap + 1), bool))
            sub = closed[:, gap:-gap]
        flat = np.pad(sub, ((0, 0), (1, 1))).ravel()  # a False on both ends: runs never join rows
        d = np.diff(flat.astype(np.int8))
        starts, ends = np.flatnonzero(d == 1) + 1, np.flatnonzero(d == -1) + 1
        long = ends - starts >= span
        marks = np.zeros(flat.size + 1, np.int32)
        np.add.at(marks, starts[long], 1)
        np.add.at(marks, ends[long], -1)
        out[rows] = (np.cumsum(marks)[:-1] > 0).reshape(rows.size, m.shape[1] + 2)[:, 1:-1] & m[rows]
    return out if axis == 1 else out.T


EDGE_DEPTH = 0.25  # the page's edge in a photo: 95% of its ink within this share of the image from the borders ...
EDGE_CONTACT = 0.05  # ... touching a border along at least this share of it ...
EDGE_FAINT = 0.7  # ... and is fainter than the rest's ink (median below this share): not a pen stroke


def page_edges(labels: np.ndarray, candidates: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """Which of the `candidates` (bool per label, 0 = paper) are the page's edge in a photo: the
    table showing past the page, or its shadow, left as faint ink along a border. A stroke that
    reaches the border is as dark as the rest of the digit and is kept; nothing is dropped when
    nothing else would be left."""
    h, w = labels.shape
    sides = (labels[0], labels[-1], labels[:, 0], labels[:, -1])
    edge, boxes = np.zeros(candidates.size, bool), ndi.find_objects(labels)
    for i, sl in enumerate(boxes, start=1):
        if sl is None or not candidates[i] or \
                not any(np.count_nonzero(side == i) >= EDGE_CONTACT * side.size for side in sides):
            continue
        ys, xs = np.nonzero(labels[sl] == i)
        ys, xs = ys + sl[0].start, xs + sl[1].start
        depth = np.minimum(np.minimum(ys, h - 1 - ys) / h, np.minimum(xs, w - 1 - xs) / w)
        edge[i] = np.percentile(depth, 95) <= EDGE_DEPTH
    rest = candidates & ~edge
    if not rest.any() or not edge.any():
        return np.zeros(candidates.size, bool)
    level = np.median(ink[rest[labels]])
    faint = np.zeros(candidates.size, bool)
    for i in np.flatnonzero(edge):  # within its box: not the whole image once per piece
        sl = boxes[i - 1]
        faint[i] = np.median(ink[sl][labels[sl] == i]) < EDGE_FAINT * level
    return faint
