import io

import numpy as np
from PIL import Image

from core import preprocess, synth
from tests.images import stroke_digit


def test_skeleton_is_one_pixel_wide_and_connected():
    from scipy import ndimage as ndi

    thick = stroke_digit(size=112, width=12) > 0
    line = synth.skeleton(thick)
    assert line.sum() < thick.sum() / 5 and (line <= thick).all()
    assert ndi.label(line, structure=np.ones((3, 3)))[1] == 1
    assert not (ndi.binary_erosion(line, np.ones((2, 2)))).any()  # no 2x2 block left


def test_brush_drawing_strokes_have_the_brush_width():
    rng = np.random.default_rng(0)
    digit = np.asarray(Image.fromarray(stroke_digit()).resize((28, 28), Image.Resampling.BOX))
    for brush in (8, 40):
        ink = synth.brush_drawing(digit, rng, brush) > 127
        assert ink.shape == (280, 280) and ink.any()
        width = preprocess.stroke_width(ink)
        assert 0.7 * brush < width < 1.3 * brush, (brush, width)


def test_drawings_are_rgba_pngs_like_the_canvas_sends(tiny_mnist):
    out = synth.drawings(tiny_mnist.x_test, tiny_mnist.y_test, 6, brushes=(10, 12), seed=1)
    assert len(out) == 6 and all(10 <= b <= 12 for _, _, b in out)
    img = Image.open(io.BytesIO(out[0][0]))
    assert img.mode == "RGBA" and img.size == (280, 280)
    assert [label for _, label, _ in out] == [label for _, label, _ in
                                               synth.drawings(tiny_mnist.x_test, tiny_mnist.y_test, 6,
                                                              brushes=(10, 12), seed=1)]


def test_a_signs_small_part_is_drawn_only_when_asked():
    from scipy import ndimage as ndi

    bang = np.zeros((28, 28), np.uint8)  # "!": a bar and, apart from it, a dot
    bang[3:19, 12:16] = 255
    bang[22:25, 12:16] = 255
    pieces = lambda img: ndi.label(img > 127)[1]  # noqa: E731
    assert pieces(synth.brush_drawing(bang, np.random.default_rng(0), 12)) == 1  # a digit's speck: dropped
    assert pieces(synth.brush_drawing(bang, np.random.default_rng(0), 12, parts=True)) == 2
    broken = bang.copy()  # a bar whose end a faint gap (above 3/4 of the threshold) nearly cuts off
    broken[19:22, 12:16], broken[22:25, 12:16] = 110, 255
    assert pieces(synth.brush_drawing(broken, np.random.default_rng(0), 12, parts=True)) == 1
