"""The shipped model: present, small, and as good on the full MNIST test set as its meta.json says."""
import pytest

from digitrec import bundle
from digitrec.evaluate import evaluate_bundle


def test_shipped_bundle_is_complete_and_small():
    meta = bundle.read_meta(bundle.PRETRAINED)
    assert meta["name"] == "cnn" and meta["config"]["seed"] == 0
    assert "calibration" in meta and (bundle.PRETRAINED / "ood.npz").is_file()
    size = sum(f.stat().st_size for f in bundle.PRETRAINED.iterdir())
    assert size < 5 * 1024 * 1024


@pytest.mark.mnist
def test_shipped_accuracy_is_as_stated(mnist):
    meta = bundle.read_meta(bundle.PRETRAINED)
    assert meta["data_sha256"] == mnist.sha256
    report = evaluate_bundle(bundle.PRETRAINED, mnist)
    assert report["accuracy"] >= meta["test_accuracy"] - 1e-9
    assert report["accuracy"] >= 0.995


@pytest.mark.mnist
@pytest.mark.parametrize("name,floor", [("linear", 0.92), ("mlp", 0.97)])
def test_reference_networks_reach_the_recipe(mnist, tmp_path, name, floor):
    from digitrec import models, train

    meta = train.train(models.spec(name).defaults, mnist, tmp_path / name)
    assert meta["test_accuracy"] >= floor
