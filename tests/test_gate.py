import json
import shutil

import numpy as np
import pytest

from core import gate, styles
from core.recognizer import Recognizer

TINY = gate.GateConfig(digits=120, drawn=30, nondigits=60, epochs=1, width=4, workers=1)


def test_nondigit_ink_is_ink_of_every_kind(tiny_mnist):
    rng, fonts = np.random.default_rng(0), styles.fonts(seen=True)
    for _ in range(40):
        ink = gate.nondigit_ink(rng, tiny_mnist.x_train, fonts)
        assert ink.dtype == np.uint8 and ink.ndim == 2
        assert (ink > 127).sum() > 20  # something visible was drawn


def test_the_gate_never_learns_a_held_out_font(tiny_mnist, monkeypatch):
    """Fonts other than the DejaVu Sans family are the suite's held-out print and letters."""
    used, truetype = [], gate.ImageFont.truetype
    monkeypatch.setattr(gate.ImageFont, "truetype", lambda path, pt: used.append(path) or truetype(path, pt))
    gate._drawn((200, 0, 0, tiny_mnist.x_train, 0.0))
    assert used and set(used) <= set(styles.fonts(seen=True))


def test_dataset_has_both_classes_in_mnist_form(tiny_mnist):
    images, labels = gate.make_dataset(TINY, tiny_mnist.x_train)
    assert images.shape == (210, 28, 28) and images.dtype == np.uint8
    assert labels.sum() == 150  # raw + drawn digits
    # prepared like MNIST: ink inside the 20x20 box, centred by mass
    drawn_not = images[labels == 0]
    assert drawn_not.max(axis=(1, 2)).min() > 150
    cy, cx = np.mean([np.argwhere(im > 64).mean(axis=0) for im in drawn_not], axis=0)
    assert abs(cy - 13.5) < 2.5 and abs(cx - 13.5) < 2.5


@pytest.fixture(scope="module")
def gated_bundle(tiny_bundle, tiny_mnist, tmp_path_factory):
    target = tmp_path_factory.mktemp("gated") / "b"
    shutil.copytree(tiny_bundle, target)
    meta = gate.train(TINY, tiny_mnist.x_train, target / gate.GATE_FILE)
    return target, meta


def test_train_saves_a_gate_and_says_how(gated_bundle):
    target, meta = gated_bundle
    assert meta["images"] == 210 and meta["config"]["width"] == 4 and meta["seconds"] > 0
    rec = Recognizer(target)
    assert rec.has_gate
    scores = rec.digit_scores(np.zeros((3, 28, 28), np.uint8))
    assert scores.shape == (3,) and ((scores >= 0) & (scores <= 1)).all()


def test_gate_threshold_decides_refusal(gated_bundle, tiny_mnist):
    target, _ = gated_bundle
    digits = tiny_mnist.x_test[:5]
    meta = json.loads((target / "meta.json").read_text())

    def statuses(**calibration):
        meta["calibration"] = dict(temperature=1.0, ok_threshold=0.0, uncertain_threshold=0.0, **calibration)
        (target / "meta.json").write_text(json.dumps(meta))
        return {p.status for p in Recognizer(target).classify(digits)}

    assert statuses() == {"ok"}  # without a threshold the gate is not consulted
    assert statuses(gate_threshold=0.0) == {"ok"}
    assert statuses(gate_threshold=1.01) == {"no_digit"}  # every score is below 1.01


def test_calibrate_bundle_trains_the_gate(tiny_bundle, tiny_mnist, tmp_path):
    from core import calibrate

    target = tmp_path / "b"
    shutil.copytree(tiny_bundle, target)
    cal = calibrate.calibrate_bundle(target, tiny_mnist, per_kind=20, gate_config=TINY)
    assert (target / gate.GATE_FILE).is_file() and not list(target.glob(".*tmp*"))
    meta = json.loads((target / "meta.json").read_text())
    assert meta["gate"]["config"]["digits"] == 120 and meta["calibration"] == cal
    # the gate is asked only if calibration gave it a share of the refusal budget
    assert ("gate_threshold" in cal) == (cal["budgets"]["gate"] > 0) and 0 <= cal.get("gate_threshold", 0) <= 1
    assert 0 <= cal["digits_refused"] <= 1
    assert 0 <= cal["seen_nondigits_refused"] <= 1
    assert 0 < cal["min_ink"] < 100  # the calibration digits' least ink, in MNIST pixels
