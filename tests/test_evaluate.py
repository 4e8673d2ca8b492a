import json

import numpy as np
import pytest

from core import evaluate


def one_hot_probs(pred, confidence=0.9):
    p = np.full((len(pred), 10), (1 - confidence) / 9)
    p[np.arange(len(pred)), pred] = confidence
    return p


def test_metrics_against_hand_computed():
    y = np.array([0, 0, 1, 1, 1, 2, 2, 3, 3, 3])
    pred = np.array([0, 1, 1, 1, 2, 2, 2, 3, 0, 3])
    m = evaluate.metrics(one_hot_probs(pred), y)
    assert m["accuracy"] == pytest.approx(0.7) and m["errors"] == 3
    cm = np.array(m["confusion_matrix"])
    want = np.zeros((10, 10), int)
    want[0, 0], want[0, 1] = 1, 1
    want[1, 1], want[1, 2] = 2, 1
    want[2, 2] = 2
    want[3, 3], want[3, 0] = 2, 1
    np.testing.assert_array_equal(cm, want)
    c0, c1 = m["per_class"][0], m["per_class"][1]
    assert c0["precision"] == pytest.approx(1 / 2) and c0["recall"] == pytest.approx(1 / 2)
    assert c1["precision"] == pytest.approx(2 / 3) and c1["recall"] == pytest.approx(2 / 3)
    assert c1["f1"] == pytest.approx(2 / 3) and c1["support"] == 3
    assert m["loss"] == pytest.approx(-(7 * np.log(0.9) + 3 * np.log(0.1 / 9)) / 10)
    assert {w["index"] for w in m["worst_mistakes"]} == {1, 4, 8}


def test_worst_mistakes_most_confident_first():
    y = np.array([1, 2, 3])
    p = np.vstack([one_hot_probs([0], 0.6), one_hot_probs([0], 0.99), one_hot_probs([3], 0.9)])
    m = evaluate.metrics(p, y)
    assert [w["index"] for w in m["worst_mistakes"]] == [1, 0]


def test_halves_on_full_size_test_set():
    y = np.zeros(10000, int)
    pred = y.copy()
    pred[:50] = 1
    m = evaluate.metrics(one_hot_probs(pred), y)
    assert m["accuracy_first_half"] == pytest.approx(0.99) and m["accuracy_last_half"] == 1.0


def test_report_files(tiny_bundle, tiny_mnist, tmp_path):
    r = evaluate.evaluate_bundle(tiny_bundle, tiny_mnist, tmp_path / "rep")
    names = {p.name for p in (tmp_path / "rep").iterdir()}
    assert {"report.json", "report.html", "confusion_matrix.csv"} <= names
    saved = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert saved["accuracy"] == r["accuracy"] and np.array(saved["confusion_matrix"]).sum() == len(tiny_mnist.y_test)
    page = (tmp_path / "rep" / "report.html").read_text()
    # three Plotly figures, plotly.js inlined once, nothing fetched from elsewhere: opens offline
    assert page.count('class="plotly-graph-div"') == 3 and page.count("<script src=") == 0
    assert page.count("plotly.js v") >= 1 and len(page) > 1_000_000


def test_compare_rows(tiny_bundle):
    rows = evaluate.compare_rows([tiny_bundle, tiny_bundle])
    assert len(rows) == 2 and rows[0]["model"] == "linear" and rows[0]["parameters"] == 7850
