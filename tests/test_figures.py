import numpy as np
import pytest
from PIL import Image

from core import figures
from tests.test_preprocess import png_bytes, stroke_digit


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
