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
