"""The shipped model: present, small, and as good on the full MNIST test set as its meta.json says."""
import math
from pathlib import Path

import numpy as np
import pytest

from core import bundle, gate, nondigits, styles, synth
from core.report import evaluate_bundle
from core.preprocess import PREPROCESS_VERSION


def test_shipped_bundle_is_complete_and_small():
    meta = bundle.read_meta(bundle.PRETRAINED)
    assert meta.name == "cnn" and meta.config["seed"] == 0
    # `make pretrained`: five networks, four with letters traced by hand, reading at 26 px
    assert (meta.networks, meta.traced_letters, meta.read_at) == (5, 4, 26)
    assert meta.calibration is not None and (bundle.PRETRAINED / "ood.npz").is_file()
    # calibration gave the whole refusal budget to the 11th class; the gate stays in the bundle, so
    # that a recalibration (`calibrate --keep-gate`) can weigh it again
    assert (bundle.PRETRAINED / gate.GATE_FILE).is_file() and meta.calibration["budgets"] == {"other": 0.008, "gate": 0.0}
    assert "gate_threshold" not in meta.calibration
    assert meta.nondigits and "other_threshold" in meta.calibration  # its 11th class
    assert "max_thickness" in meta.calibration and "min_ink" in meta.calibration
    # thresholds were measured on this preprocessing: change the pipeline, run `make pretrained`
    assert meta.calibration["preprocess_version"] == PREPROCESS_VERSION
    size = sum(f.stat().st_size for f in bundle.PRETRAINED.iterdir())
    # five networks: the novelty model's PCA reads their 16,000 features side by side (3.0 MiB)
    assert size < 8 * 1024 * 1024


@pytest.mark.mnist
def test_shipped_accuracy_is_as_stated(mnist):
    meta = bundle.read_meta(bundle.PRETRAINED)
    assert meta.raw["data_sha256"] == mnist.sha256
    report = evaluate_bundle(bundle.PRETRAINED, mnist)
    assert report["accuracy"] >= meta.test_accuracy - 1e-9
    assert report["accuracy"] >= 0.9965  # issue 17's floor: a retrain below it does not ship


@pytest.mark.mnist
def test_shipped_bundle_refuses_non_digits_not_digits(mnist):
    """On fresh realistic images (validation digits, another seed than calibration's)."""
    from core.recognizer import Recognizer

    rec = Recognizer(bundle.PRETRAINED)
    samples = synth.generate(mnist.x_train[-5000:], mnist.y_train[-5000:], 150, seed=4242)
    digits = [s for s in samples if s.kind in ("photo", "canvas")]
    others = [s for s in samples if s.kind == "nondigit"]
    refused = np.mean([p.status != "ok" for p in rec.predict_many([s.data for s in digits])])
    given = np.mean([p.status == "ok" for p in rec.predict_many([s.data for s in others])])
    # given: 12% for the CNN of 2026-11-25, 46% when this was written on 2026-11-26 (non-digit
    # refusals regressed while the CNN learned bold, pixelated and printed digits: README, "An
    # honest no_digit"), 37% for the second retrain read at 28 px, 31% as shipped (read at 26 px)
    assert refused < 0.03 and given < 0.4


@pytest.mark.mnist
def test_reference_networks_reach_the_recipe(mnist, tmp_path):
    """The baseline trained here from its recipe (15 s); the improved network (10 epochs of batch
    32, 69 s, the suite's slowest test) as shipped: made by its recipe, and as good as it says."""
    from core import models, train

    assert train.train(models.spec("linear").defaults, mnist, tmp_path / "linear")["test_accuracy"] >= 0.92
    improved = bundle.ARTIFACTS / "improved"
    meta = bundle.read_meta(improved)
    assert models.TrainConfig(**meta.config) == models.spec("mlp").defaults  # settings added since: their defaults
    assert evaluate_bundle(improved, mnist)["accuracy"] >= max(0.97, meta.test_accuracy - 1e-9)


STYLE_SAMPLES = Path(__file__).resolve().parent / "data" / "styles"  # tests/data/make_style_samples.py


# Styles the shipped CNN may refuse more than one of 20 digits of. Empty since preprocessing 3:
# pencil on ruled paper and phone photos showing the page's edge had 3 and 2 (10.0% and 5.8% of
# the suite), when ruled lines and the shaded edge were taken for ink.
KNOWN_REFUSED: dict[str, int] = {}
# Share of each non-digit family the shipped CNN still gives a digit (`python benchmarks/styles.py`,
# 2026-11-27 18:00, five networks reading at 26 px, preprocessing 4, calibrated on 1,000 images per
# style): the committed ten may get no more than that share plus one image. The issue asks for at
# most 15% per family. Of the committed ten, the shipped bundle gives a digit to 3 scribbles (the
# limit), 1 hand-drawn letter and nothing else.
GIVEN_A_DIGIT = {"letters_sans": 0.0, "letters_other": 0.039, "letters_hand": 0.14, "scribble": 0.105,
                 "shapes": 0.031, "blobs": 0.068, "texture": 0.0, "blank_paper": 0.0, "noisy_paper": 0.027,
                 "letters_hand_sans": 0.054}


@pytest.fixture(scope="module")
def shipped():
    from core.recognizer import Recognizer

    return Recognizer(bundle.PRETRAINED)


@pytest.mark.parametrize("style", list(styles.DIGIT_STYLES))
def test_shipped_bundle_reads_the_committed_style_samples(shipped, style):
    """20 digits per style, generated once and committed: a retrain must keep reading them."""
    files = sorted((STYLE_SAMPLES / style).iterdir())
    assert len(files) == 20
    preds = shipped.predict_many([f.read_bytes() for f in files])
    labels = [int(f.stem.split("label")[1]) for f in files]
    refused = [f.name for f, p in zip(files, preds) if p.status != "ok"]
    misread = [f.name for f, p, y in zip(files, preds, labels) if p.status == "ok" and p.digit != y]
    assert len(refused) <= KNOWN_REFUSED.get(style, 1), refused
    assert len(misread) <= (2 if style in ("pixel8", "slant20") else 1), misread


@pytest.mark.parametrize("family", list(nondigits.NONDIGIT_FAMILIES))
def test_shipped_bundle_refuses_the_committed_non_digits(shipped, family):
    files = sorted((STYLE_SAMPLES / family).iterdir())
    given = [f.name for f, p in zip(files, shipped.predict_many([f.read_bytes() for f in files])) if p.status == "ok"]
    assert len(given) <= math.ceil(len(files) * GIVEN_A_DIGIT[family]) + 1, given
