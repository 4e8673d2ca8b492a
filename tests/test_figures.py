import numpy as np
import pytest
from PIL import Image

from core import figures
from tests.images import png_bytes, stroke_digit


def test_confusion_keeps_the_counts_in_z():
    cm = np.array([[5, 1], [0, 4]])
    fig = figures.confusion(np.pad(cm, (0, 8)), "t")
    heat = fig.data[0]
    assert heat.type == "heatmap" and np.asarray(heat.z)[:2, :2].tolist() == cm.tolist()
    assert list(heat.x) == [str(d) for d in range(10)] and "% of row" in heat.hovertemplate
    assert np.asarray(heat.customdata)[0, 1].tolist() == pytest.approx([1, 100 / 6])  # count, share of the row


def test_probabilities_highlight_the_answer():
    p = np.full(10, 0.02)
    p[3] = 0.82
    bars = figures.probabilities(p, highlight=3).data[0]
    assert list(bars.y) == list(p) and bars.marker.color[3] != bars.marker.color[0]


def test_history_has_train_and_validation_curves():
    fig = figures.history({"loss": [1, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.8, 0.9]})
    assert sorted(t.name for t in fig.data) == ["train", "train", "validation"]


def test_mistakes_grid_titles():
    x = np.zeros((3, 28, 28), np.uint8)
    fig = figures.mistakes(x, [{"index": 2, "true": 4, "predicted": 9, "confidence": 0.97}])
    assert fig.layout.annotations[0].text == "4→9 97%" and len(fig.data) == 1


def test_boxed_and_thumbnail_shrink_big_images():
    big = Image.fromarray(np.tile(255 - stroke_digit(), (10, 15)))  # 2000x3000
    img, scale = figures.thumbnail(png_bytes(big), 300)
    assert max(img.size) == 300 and scale == 0.1
    out = figures.boxed(png_bytes(big), [(0, 0, 200, 200)], ["7"], max_side=300)
    assert out.shape == (200, 300, 3) and (out[0, :20] == [0xE4, 0x57, 0x2E]).all()  # the box's edge


@pytest.mark.parametrize("mode", ["RGBA", "I;16", "P"])
def test_a_thumbnail_is_made_small_before_it_is_converted(mode, monkeypatch):
    big = Image.fromarray(np.tile(255 - stroke_digit(), (10, 15)))
    big = Image.frombytes("I;16", big.size, (np.asarray(big).astype(np.uint16) * 257).tobytes()) if mode == "I;16" \
        else big.convert(mode)
    data, sizes, convert = png_bytes(big), [], Image.Image.convert
    monkeypatch.setattr(Image.Image, "convert", lambda self, *a, **k: sizes.append((self.mode, self.size)) or convert(self, *a, **k))
    img, _ = figures.thumbnail(data, 300)
    assert img.mode == "RGB" and max(img.size) == 300 and np.asarray(img).max() > 200  # the ink survives
    assert all(w * h <= 1e6 for m, (w, h) in sizes if m != "P")  # only a palette converts at full size


def test_clickable_confusion_keeps_counts_and_puts_a_marker_on_every_cell():
    cm = np.diag(np.arange(10, 20))
    cm[4, 9] = 3
    fig = figures.confusion(cm, clickable=True, selected=(4, 9))
    heat, cells = fig.data
    assert np.asarray(heat.z).tolist() == cm.tolist() and heat.hoverinfo == "skip"
    assert cells.type == "scatter" and len(cells.x) == 100
    k = [tuple(c[:2]) for c in cells.customdata].index((4, 9))
    assert (cells.x[k], cells.y[k]) == ("9", "4") and cells.customdata[k][2] == 3
    assert cells.marker.line.width[k] > 0 and sum(w > 0 for w in cells.marker.line.width) == 1
    assert list(fig.layout.xaxis.range) == [-0.5, 9.5]  # the cells are where the markers are


def test_confusion_views_and_hidden_diagonal():
    cm = np.array([[8, 2], [1, 9]])
    recall = figures.confusion(np.pad(cm, (0, 8)), how="recall").data[0]
    assert np.asarray(recall.z, float)[0, :2].tolist() == [0.8, 0.2] and recall.text[0][1] == "20.0%"
    hidden = figures.confusion(np.pad(cm, (0, 8)), hide_diagonal=True).data[0]
    z = np.asarray(hidden.z, object)
    assert z[0, 0] is None and z[0, 1] == 2


def test_curves_and_sweep():
    hist = {"loss": [0.5, 0.3], "val_loss": [0.6, 0.4], "accuracy": [0.8, 0.9], "val_accuracy": [0.7, 0.85]}
    fig = figures.curves({"a": hist, "b": {"loss": [0.4], "accuracy": [0.9]}})
    assert [t.name for t in fig.data] == ["a (train)", "a (validation)", "a (train)", "a (validation)",
                                          "b (train)", "b (train)"]
    rows = [{"model": "mlp", "hidden units": h, "epochs": 10, "test_accuracy": a, "name": f"r{h}"}
            for h, a in ((400, 0.98), (100, 0.975), (16, 0.95))] + [
        {"model": "linear", "hidden units": None, "epochs": 5, "test_accuracy": 0.925, "name": "base"}]
    by_hidden = figures.sweep(rows, "hidden units")
    assert [t.name for t in by_hidden.data] == ["mlp"] and list(by_hidden.data[0].x) == [16, 100, 400]
    assert sorted(t.name for t in figures.sweep(rows, "epochs").data) == ["linear", "mlp"]


def test_difference_colours_improvement_blue():
    diff = np.zeros((10, 10), int)
    diff[4, 4], diff[4, 9] = 3, -3  # more 4s read right, fewer read as 9: both better
    heat = figures.difference(diff).data[0]
    z = np.asarray(heat.z)
    assert z[4, 4] > 0 and z[4, 9] > 0 and np.asarray(heat.customdata)[4, 9] == -3


def test_tiles_keep_every_pixel_a_block_on_one_scale():
    weights = np.array([[[-1.0, 0.0], [0.0, 2.0]], [[2.0, 2.0], [2.0, 2.0]]])
    a, b = figures.tiles(weights, diverging=True, side=8)
    assert a.shape == (8, 8, 3) and a.dtype == np.uint8
    assert a[0, 0].tolist() != a[7, 7].tolist() and a[0, 4].tolist() == [255, 255, 255]  # blue-ish, red, white at 0
    assert a[7, 7].tolist() == b[0, 0].tolist()  # one scale for the lot: 2.0 is the same red in both
    grey = figures.tiles(np.array([[[0.0, 5.0]]]), diverging=False, side=2)[0]
    assert grey[0, 0].tolist() == [0, 0, 0] and grey[0, 1].tolist() == [255, 255, 255]


def test_a_tile_grid_is_one_picture_with_a_label_over_each_tile():
    grid = figures.tile_grid(np.ones((10, 5, 5)), [f"f{i}" for i in range(10)], cols=4, side=20)
    assert grid.shape == (3 * (20 + 14 + 4), 4 * (20 + 4), 3)  # 3 rows of 4
    assert (grid[14:34, :20] == [178, 24, 43]).all()  # the first tile, under its label
    assert (grid[:14, :20] < 200).any()  # the label is drawn
    assert (grid[2 * 38 + 14:, 2 * 24:] == 255).all()  # no tiles past the tenth

