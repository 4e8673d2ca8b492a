"""core.lines: ruled and squared paper's lines found in an ink mask, strokes kept."""
import numpy as np
import pytest

from core import preprocess as P
from core import styles
from core.lines import long_runs, page_edges, without_printed_lines, without_ruling
from tests.images import stroke_digit
from tests.test_styles import a_digit


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


def graph_paper(h: int = 300, w: int = 400, gap: int = 24, line: float = 0.15) -> np.ndarray:
    """An ink map of graph paper: faint lines every `gap` px, 2 px wide and blurred, their strength
    uneven along them (0.5-1.5 x `line`, as lighting leaves it), and a ring of ink (0.9); with each
    pixel's distance from the ring's middle line and the lines' mask."""
    yy, xx = np.mgrid[0:h, 0:w]
    strength = line * (0.5 + xx / w) * (0.5 + yy / h) * 1.33
    lines = ((yy % gap) < 2) | ((xx % gap) < 2)
    ink = np.where(lines, strength, 0.01)
    off_ring = np.abs(np.hypot(yy - 150, xx - 200) - 60)
    return np.where(off_ring < 6, 0.9, ink).astype(np.float32), off_ring, lines


def test_a_printed_grid_is_taken_off_and_the_ink_kept():
    ink, off_ring, lines = graph_paper()
    out = without_printed_lines(ink)
    ring, away = off_ring < 6, lines & (off_ring > 12)
    assert np.percentile(ink[away], 90) > 0.1  # the lines before: up to 0.3
    assert np.percentile(out[away], 99) < 0.05
    assert np.median(out[ring]) > 0.8  # where a line crosses the ring, the ring keeps its ink


def test_a_single_faint_band_is_not_a_printed_line():
    """One raised band (the page's edge, a table's shadow): not a family of evenly spaced lines."""
    ink = np.full((300, 400), 0.01, np.float32)
    ink[100:103, :] = 0.15
    ink[140:200, 180:190] = 0.9
    assert (without_printed_lines(ink) == ink).all()


def test_lines_at_uneven_spacing_are_not_printed_lines():
    ink = np.full((300, 400), 0.01, np.float32)
    for y in (40, 90, 101, 230):  # four faint bands, no common spacing
        ink[y: y + 2, :] = 0.15
    ink[140:200, 180:190] = 0.9
    assert (without_printed_lines(ink) == ink).all()


def test_ink_as_strong_as_the_pen_is_not_a_printed_line():
    ink = np.full((300, 400), 0.01, np.float32)
    for y in range(20, 300, 30):  # evenly spaced bars as strong as the ink: strokes, not print
        ink[y: y + 3, :] = 0.9
    assert (without_printed_lines(ink) == ink).all()


def test_photos_on_graph_paper_prepare_as_the_clean_page(monkeypatch):
    def alike() -> int:  # of 10 pages, how many prepare as their clean page does
        def prepared(seed, **kw):
            image = styles.page_photo(edge=False, shadow=False, **kw)(a_digit(), 7, np.random.default_rng(seed))
            return P.prepare(image).image.astype(float).ravel()
        return sum(np.corrcoef(prepared(s), prepared(s, grid=True))[0, 1] > 0.8 for s in range(10))
    assert alike() >= 9
    monkeypatch.setattr(P, "without_printed_lines", lambda ink: ink)
    assert alike() <= 7  # 7 when this was written (10 with it): the test can fail


def test_explain_shows_the_printed_lines_taken_off():
    image = styles.page_photo(edge=False, shadow=False, grid=True)(a_digit(), 7, np.random.default_rng(0))
    names = [name for name, _ in P.explain(image)]
    assert "printed lines taken off: graph or ruled paper" in names
    np.testing.assert_array_equal(P.explain(image)[-1][1], P.prepare(image).image)
    plain = styles.page_photo(edge=False, shadow=False)(a_digit(), 7, np.random.default_rng(0))
    assert len(P.explain(plain)) == len(names) - 1  # no lines: no such step
