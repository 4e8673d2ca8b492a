import numpy as np
import pytest

from core import decode, preprocess
from core.recognizer import Recognizer, decide, scale_temperature
from tests.conftest import synthetic_arrays


@pytest.fixture(scope="module")
def rec(tiny_bundle):
    return Recognizer(tiny_bundle)


@pytest.fixture
def bundle_copy(tiny_bundle, tmp_path):
    """The tiny bundle copied, for a test that adds to it."""
    import shutil

    return shutil.copytree(tiny_bundle, tmp_path / "bundle")


def test_predict_array_and_batch(rec, tiny_mnist):
    x, y = tiny_mnist.x_test[:20], tiny_mnist.y_test[:20]
    one = rec.predict(x[0])
    assert one.input.shape == (28, 28) and len(one.probabilities) == 10
    assert abs(sum(one.probabilities) - 1) < 1e-4
    many = rec.predict_many(list(x))
    assert many[0].guess == one.guess and many[0].probabilities == one.probabilities
    # The synthetic classes are bar positions, which preprocessing centres away: classify the
    # MNIST-form arrays directly to check the network path.
    direct = rec.classify(x)
    assert np.mean([p.guess == t for p, t in zip(direct, y)]) > 0.8


def test_predict_bytes_and_path(rec, tmp_path):
    from PIL import Image

    x = synthetic_arrays(0, 1)[2][0]
    Image.fromarray(x).save(tmp_path / "d.png")
    by_path = rec.predict(tmp_path / "d.png")
    by_bytes = rec.predict((tmp_path / "d.png").read_bytes())
    by_pil = rec.predict(Image.open(tmp_path / "d.png"))
    assert by_path.guess == by_bytes.guess == by_pil.guess


def test_blank_is_no_digit(rec):
    p = rec.predict(np.zeros((100, 100), np.uint8))
    assert p.status == "no_digit" and p.digit is None and p.guess is None
    r = rec.read(np.full((100, 300), 240, np.uint8))
    assert r.text is None and r.status == "no_digit" and r.digits == []


def test_digit_only_when_ok(rec, tiny_mnist):
    for p in rec.predict_many(list(tiny_mnist.x_test[:30])):
        assert (p.digit is not None) == (p.status == "ok")
        assert p.status in ("ok", "uncertain", "no_digit")


def test_read_several(rec, tiny_mnist):
    x = tiny_mnist.x_test
    row = np.concatenate([x[0], np.zeros((28, 10), np.uint8), x[1]], axis=1)
    r = rec.read(row)
    assert len(r.digits) >= 1 and r.to_json()["digits"][0]["box"][2] > 0


def test_bad_input_raises_image_error(rec):
    with pytest.raises(decode.ImageError):
        rec.predict(b"not an image")


def test_temperature_and_decision():
    p = np.array([[0.9, 0.1] + [0] * 8])
    soft = scale_temperature(p, 2.0)
    assert soft[0, 0] < 0.9 and abs(soft.sum() - 1) < 1e-9
    cal = {"ok_threshold": 0.8, "uncertain_threshold": 0.4}
    assert [decide(c, cal) for c in (0.9, 0.5, 0.1)] == ["ok", "uncertain", "no_digit"]


def test_card(rec):
    card = rec.card()
    assert card["name"] == "linear" and 0 <= card["test_accuracy"] <= 1


def test_blank_with_novelty_detector(bundle_copy):
    from core import novelty

    rng = np.random.default_rng(0)
    feats, y = rng.normal(size=(500, 784)), rng.integers(0, 10, 500)
    novelty.Novelty.fit(feats, y).save(bundle_copy / novelty.OOD_FILE)
    rec = Recognizer(bundle_copy)
    assert rec.novelty is not None
    assert rec.predict(np.zeros((40, 40), np.uint8)).status == "no_digit"
    assert rec.predict_many([]) == []
    # novelty is asked where calibration recorded it (as the model card says), not wherever ood.npz is
    assert "novelty" not in rec.tests_asked()
    calibrated = rec.with_calibration({**rec.calibration, "novelty_threshold": 1.0}, rec.novelty)
    assert "novelty" in calibrated.tests_asked()


def test_filled_blob_is_no_digit(bundle_copy, tiny_mnist):
    from core import bundle
    from core.recognizer import DEFAULT_CALIBRATION
    from tests.images import filled_disk

    meta = bundle.read_meta(bundle_copy)
    # every answer is "ok" except what the thickness test refuses
    bundle.write_meta(bundle_copy, {**meta.raw, "calibration": dict(DEFAULT_CALIBRATION, ok_threshold=0,
                                                                    uncertain_threshold=0, max_thickness=6.8)})
    rec = Recognizer(bundle_copy)
    assert rec.predict(255 - filled_disk(200)).status == "no_digit"  # dark ink on paper
    assert rec.predict(tiny_mnist.x_test[0]).status == "ok"
    # calibration may switch a test off (core.calibrate.LAST_NETS): then it refuses nothing
    off = rec.with_calibration(dict(rec.calibration, switched_off=["thickness"]), rec.novelty)
    assert off.predict(255 - filled_disk(200)).status == "ok"
    # no gate network, no ood.npz in this bundle: their tests are not asked
    assert rec.tests_asked() == ["thickness"] and off.tests_asked() == []


def test_a_few_specks_are_too_little_ink(bundle_copy, tiny_mnist):
    from core import bundle
    from core.recognizer import DEFAULT_CALIBRATION
    from tests.images import specks

    meta = bundle.read_meta(bundle_copy)
    bundle.write_meta(bundle_copy, {**meta.raw, "calibration": dict(DEFAULT_CALIBRATION, ok_threshold=0,
                                                                    uncertain_threshold=0, min_ink=15.0)})
    rec = Recognizer(bundle_copy)
    p = rec.predict(specks())
    assert (p.status, p.reason) == ("no_digit", "sparse") and p.guess is not None
    assert rec.predict(tiny_mnist.x_test[0]).status == "ok" and rec.tests_asked() == ["sparse"]


def test_refused_is_where_classify_does_not_answer_ok(rec, tiny_mnist):
    """Recognizer.refused, which calibration measures with, says what classify says: low confidence
    and every refusal test, with or without the forward pass at hand."""
    x = np.concatenate([tiny_mnist.x_test[:40], 255 - tiny_mnist.x_test[:20]])  # some the network doubts
    conf, ink = rec.probabilities(x).max(axis=1), preprocess.ink_amount(x)
    strict = rec.with_calibration(dict(rec.calibration, ok_threshold=float(np.median(conf)),
                                       min_ink=float(np.quantile(ink, 0.3))), rec.novelty)
    statuses = np.array([p.status != "ok" for p in strict.classify(x)])
    assert 0 < statuses.sum() < len(x)
    assert np.array_equal(strict.refused(x), statuses)
    assert np.array_equal(strict.refused(x, strict.forward(x)), statuses)
