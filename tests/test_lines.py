"""core.lines: ruled and squared paper's lines found in an ink mask, strokes kept."""
import numpy as np
import pytest

from core import preprocess as P
from core.lines import long_runs, page_edges, without_ruling
from tests.images import stroke_digit


def test_long_runs_keep_only_runs_of_the_span():
    m = np.zeros((4, 10), bool)
    m[1, 2:9] = True  # 7 long
    m[2, 0:3] = True  # 3 long
    m[3, :] = True
    assert long_runs(m, 5).sum() == 7 + 10
    assert (long_runs(m.T, 5, axis=0) == long_runs(m, 5).T).all()


def test_a_stroke_crossing_a_ruled_line_stays_whole():
    mask = np.zeros((100, 200), bool)
    mask[50, :] = True  # a ruled line
    mask[20:80, 90:94] = True  # a stroke across it
    out = without_ruling(mask)
    assert out[20:80, 90:94].all() and not out[50, :80].any() and not out[50, 100:].any()


@pytest.mark.parametrize("width", [5, 30])
def test_the_bar_of_a_tightly_cropped_seven_is_kept(width):
    a = stroke_digit(width=width)
    ys, xs = np.nonzero(a > 128)
    crop = a[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]  # the 7's bar runs from edge to edge
    mask = crop > 128
    assert (without_ruling(mask) == mask).all()
    assert (P.prepare(crop).image == P.prepare(crop, P.Options(paper=False)).image).all()


def test_a_faint_line_broken_by_noise_is_still_a_line():
    mask = np.zeros((100, 200), bool)
    mask[50, :] = True
    mask[50, 40:42] = mask[50, 120] = False  # gaps of 2 and 1 px
    mask[20:80, 90:94] = True
    out = without_ruling(mask)
    assert not out[50, :80].any() and out[20:80, 90:94].all()


def edge_and_digit(edge_ink: float) -> tuple:
    """Labels of a band along the left border (label 1, ink `edge_ink`) and a stroke inside (label 2, ink 0.6)."""
    labels = np.zeros((200, 200), int)
    labels[:, :20] = 1
    labels[60:140, 90:100] = 2
    ink = np.where(labels == 1, edge_ink, np.where(labels == 2, 0.6, 0.0))
    return labels, ink


def test_a_faint_band_along_the_border_is_the_pages_edge():
    labels, ink = edge_and_digit(0.2)
    assert page_edges(labels, np.array([False, True, True]), ink).tolist() == [False, True, False]


def test_a_dark_stroke_reaching_the_border_is_kept():
    labels, ink = edge_and_digit(0.6)  # as dark as the digit: the pen's, a stroke cut by the frame
    assert not page_edges(labels, np.array([False, True, True]), ink).any()


def test_the_edge_is_kept_when_nothing_else_would_be_left():
    labels, ink = edge_and_digit(0.2)
    assert not page_edges(labels, np.array([False, True, False]), ink).any()
