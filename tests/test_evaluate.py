import json

import numpy as np
import pytest

from core import bundle, evaluate, flags, report


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
    r = report.evaluate_bundle(tiny_bundle, tiny_mnist, tmp_path / "rep")
    names = {p.name for p in (tmp_path / "rep").iterdir()}
    assert {"report.json", "report.html", "confusion_matrix.csv"} <= names
    saved = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert saved["accuracy"] == r["accuracy"] and np.array(saved["confusion_matrix"]).sum() == len(tiny_mnist.y_test)
    page = (tmp_path / "rep" / "report.html").read_text()
    # three Plotly figures, plotly.js inlined once, nothing fetched from elsewhere: opens offline
    assert page.count('class="plotly-graph-div"') == 3 and page.count("<script src=") == 0
    assert page.count("plotly.js v") >= 1 and len(page) > 1_000_000


def test_report_with_the_style_suite(tiny_bundle, tiny_mnist, tmp_path):
    from core import suite

    r = report.evaluate_bundle(tiny_bundle, tiny_mnist, tmp_path / "rep", styles=3, cache_dir=tmp_path / "suite")
    assert [row["style"] for row in r["styles"]] == suite.names()
    page = (tmp_path / "rep" / "report.html").read_text()
    assert page.count('class="plotly-graph-div"') == 5 and "refusals per style" in page


def test_compare_rows(tiny_bundle):
    rows = evaluate.compare_rows([tiny_bundle, tiny_bundle])
    assert len(rows) == 2 and rows[0]["model"] == "linear" and rows[0]["parameters"] == 7850


# ---------------------------------------------------------------- the explorer's arithmetic
Y = np.array([0, 0, 0, 1, 1, 2])
PRED = np.array([0, 0, 1, 1, 2, 2])  # one 0 read as 1, one 1 read as 2


def test_matrix_and_both_normalisations_by_hand():
    cm = evaluate.confusion_matrix(Y, PRED, classes=3)
    assert cm.tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    np.testing.assert_allclose(evaluate.normalised(cm, "recall"), [[2 / 3, 1 / 3, 0], [0, .5, .5], [0, 0, 1]])
    np.testing.assert_allclose(evaluate.normalised(cm, "precision"), [[1, .5, 0], [0, .5, .5], [0, 0, .5]])
    assert evaluate.normalised(np.zeros((2, 2)), "recall").tolist() == [[0, 0], [0, 0]]  # no 0/0


def test_confused_pairs_most_first():
    cm = np.array([[5, 1, 3], [0, 4, 0], [2, 0, 6]])
    pairs = evaluate.confused_pairs(cm)
    assert [(p["true"], p["predicted"], p["count"]) for p in pairs] == [(0, 2, 3), (2, 0, 2), (0, 1, 1)]
    assert pairs[0]["share of true"] == pytest.approx(3 / 9)


def test_mistake_rows_most_confident_first_and_by_cell():
    probs = one_hot_probs(PRED)
    probs[4] = [0.05, 0.25, 0.7] + [0] * 7  # the 1 read as 2, less sure; its second choice is 1
    rows = evaluate.mistake_rows(probs, Y, index=np.arange(100, 106))
    assert [(r["true"], r["predicted"]) for r in rows] == [(0, 1), (1, 2)]
    assert rows[1]["second choice"] == 1 and rows[1]["test index"] == 104 and rows[1]["confidence"] == 0.7
    assert [r["position"] for r in evaluate.mistake_rows(probs, Y, true=0, predicted=0)] == [0, 1]


def test_difference_counts_what_the_second_model_fixes_and_breaks():
    b = np.array([0, 0, 0, 2, 2, 2])  # fixes the 0 (position 2), breaks the 1 (position 3)
    d = evaluate.difference(Y, one_hot_probs(PRED), one_hot_probs(b))
    assert d["fixed"].tolist() == [2] and d["broken"].tolist() == [3]
    assert d["matrix"][:3, :3].tolist() == [[1, -1, 0], [0, -1, 1], [0, 0, 0]]


def test_saliency_lights_the_pixels_that_matter():
    def probs(batch):  # "class 1" is as likely as the top-left 8x8 corner is bright
        p1 = batch[:, :8, :8].mean(axis=(1, 2)) / 255
        return np.stack([1 - p1, p1], axis=1)

    img = np.zeros((28, 28), np.uint8)
    img[:8, :8] = 255
    heat = evaluate.saliency(probs, img, target=1)
    assert heat.shape == (28, 28) and heat[:8, :8].mean() > 0.05 and heat[14:, 14:].max() == 0


def test_predictions_are_cached_and_invalidated_when_the_bundle_changes(tiny_bundle, tmp_path):
    import shutil

    b = tmp_path / "b"
    shutil.copytree(tiny_bundle, b)
    calls = []

    def compute():
        calls.append(1)
        return np.full((4, 10), 0.1)

    first = evaluate.cached_predictions(b, "mnist", compute, tmp_path / "cache")
    again = evaluate.cached_predictions(b, "mnist", compute, tmp_path / "cache")
    assert len(calls) == 1 and np.array_equal(first, again)
    (b / "meta.json").write_text((b / "meta.json").read_text() + " ")  # retrained: a new version
    evaluate.cached_predictions(b, "mnist", compute, tmp_path / "cache")
    assert len(calls) == 2


def test_evaluation_sets_are_made_once_and_kept(tiny_mnist, tmp_path, monkeypatch):
    monkeypatch.setitem(evaluate.SETS, "photos", ("photos", 6))
    x, y, index = evaluate.evaluation_set("photos", tiny_mnist, tmp_path)
    assert x.shape == (6, 28, 28) and x.dtype == np.uint8 and (y == tiny_mnist.y_test[index]).all()
    assert len(list(tmp_path.glob("photos-6-*.npz"))) == 1
    x2, _, _ = evaluate.evaluation_set("photos", tiny_mnist, tmp_path)
    assert np.array_equal(x, x2)
    full = evaluate.evaluation_set("mnist", tiny_mnist)
    assert full[0] is tiny_mnist.x_test and len(full[2]) == len(tiny_mnist.y_test)
    with pytest.raises(ValueError, match="unknown evaluation set"):
        evaluate.evaluation_set("emnist", tiny_mnist)


def test_a_model_from_other_preprocessing_is_flagged():
    from core.preprocess import PREPROCESS_VERSION as now

    def mismatch(**meta):
        return evaluate.preprocessing_mismatch(bundle.parse_meta(meta))

    assert mismatch(config={"drawn": 0}, preprocess_version=1) is None
    assert "learned from drawings" in mismatch(config={"drawn": 100}, preprocess_version=1)
    assert mismatch(config={"drawn": 100}, preprocess_version=2) is None  # 2 and 3 prepare training images alike
    assert "calibrated" in mismatch(calibration={"preprocess_version": now + 1})
    assert mismatch(calibration={"preprocess_version": now}) is None


def test_label_flags_round_trip(tmp_path):
    path = tmp_path / "flags.json"
    assert flags.read_flags(path) == {}
    flags.set_flag(path, 1234, {"label": 5, "model said": 3})
    flags.set_flag(path, 7, {"label": 1, "model said": 7})
    assert list(flags.read_flags(path)) == ["7", "1234"]
    flags.set_flag(path, 7, None)
    assert flags.read_flags(path) == {"1234": {"label": 5, "model said": 3}}
    path.write_text("not json")
    assert flags.read_flags(path) == {}


def test_a_sets_cache_key_names_how_its_images_were_made(monkeypatch):
    from core import preprocess, suite

    before = {name: evaluate.set_key(name) for name in ("mnist", "drawings", "style:thin")}
    monkeypatch.setattr(suite, "GENERATORS", suite.GENERATORS + 1)  # a style draws other images
    assert evaluate.set_key("style:thin") != before["style:thin"]
    monkeypatch.setattr(preprocess, "PREPROCESS_VERSION", preprocess.PREPROCESS_VERSION + 1)
    assert evaluate.set_key("drawings") != before["drawings"] and evaluate.set_key("mnist") == before["mnist"]
