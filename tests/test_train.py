import json

import numpy as np
import pytest

from core import bundle, models, nondigits, train


def test_bundle_is_complete(tiny_bundle, tiny_mnist):
    meta = bundle.read_meta(tiny_bundle)
    for key in ("name", "config", "data_sha256", "train_accuracy", "val_accuracy", "test_accuracy",
                "train_seconds", "versions", "preprocess_version", "history"):
        assert key in meta.raw, key
    assert meta.raw["data_sha256"] == tiny_mnist.sha256
    assert meta.epochs == meta.epochs_planned == 3 and len(meta.history["loss"]) == 3
    assert meta.test_accuracy > 0.9  # the synthetic bars are easy
    model, _ = bundle.load(tiny_bundle)
    assert model.output_shape == (None, 10)


def test_validation_comes_from_training_set(tiny_mnist):
    cfg = models.TrainConfig(val_split=100, limit=50)
    (x_tr, _), (x_val, _) = train.split(tiny_mnist, cfg)
    assert len(x_tr) == 50 and len(x_val) == 100
    np.testing.assert_array_equal(x_val, tiny_mnist.x_train[-100:])


def test_augmentation_keeps_shape_and_moves_pixels():
    import tensorflow as tf

    cfg = models.TrainConfig(rotate_deg=15, shift_px=3, zoom=0.1, shear=0.1)
    x = np.zeros((8, 28, 28), np.float32)
    x[:, 10:18, 12:16] = 255
    out = train.augment_batch(tf, tf.constant(x), cfg).numpy()
    assert out.shape == x.shape
    assert not np.allclose(out, x)
    assert abs(out.sum() / x.sum() - 1) < 0.35  # moved and scaled, not lost


def test_identity_augmentation_is_identity():
    import tensorflow as tf

    x = np.random.default_rng(0).uniform(0, 255, (4, 28, 28)).astype(np.float32)
    out = train.augment_batch(tf, tf.constant(x), models.TrainConfig()).numpy()
    np.testing.assert_allclose(out, x, atol=1e-3)


def test_failed_save_keeps_earlier_bundle(tiny_bundle, tmp_path, monkeypatch):
    import shutil

    target = tmp_path / "b"
    shutil.copytree(tiny_bundle, target)
    before = (target / bundle.META_FILE).read_text()
    model, _ = bundle.load(target)

    def crash(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(model, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        bundle.save(model, {"name": "x"}, target)
    assert (target / bundle.META_FILE).read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_bundle_of_other_version_is_refused(tiny_bundle, tmp_path):
    import shutil

    target = tmp_path / "old"
    shutil.copytree(tiny_bundle, target)
    meta = json.loads((target / bundle.META_FILE).read_text())
    meta["bundle_version"] = 0
    (target / bundle.META_FILE).write_text(json.dumps(meta))
    with pytest.raises(bundle.BundleError, match="version 0"):
        bundle.read_meta(target)


def test_same_seed_same_result(tiny_mnist, tmp_path):
    cfg = models.spec("mlp").defaults.with_(epochs=1, val_split=100, limit=300)
    a = train.train(cfg, tiny_mnist, tmp_path / "a")
    b = train.train(cfg, tiny_mnist, tmp_path / "b")
    assert a["test_accuracy"] == pytest.approx(b["test_accuracy"], abs=0.02)


@pytest.mark.mnist
def test_cnn_smoke_on_limit(mnist, tmp_path):
    cfg = models.spec("cnn_fast").defaults.with_(epochs=1, limit=512)
    meta = train.train(cfg, mnist, tmp_path / "cnn")
    assert meta["train_images"] == 512 and 0.1 < meta["test_accuracy"] <= 1


def test_drawn_digits_are_prepared_and_labelled(tiny_mnist):
    x, y = train.drawn_digits(tiny_mnist.x_train, tiny_mnist.y_train, 12, seed=0, workers=1)
    assert x.shape == (12, 28, 28) and x.dtype == np.uint8 and len(y) == 12
    assert set(y) <= set(tiny_mnist.y_train) and (x.reshape(12, -1).max(axis=1) > 200).all()


def test_traced_letters_join_the_nondigits_only_when_asked(tiny_mnist):
    """The traced-letters recipe adds nondigits.letters_hand_sans to the seen families, last, so the
    recipe without it draws exactly the images it drew before the option existed."""
    plain, traced = train.extra_sources()[1], train.extra_sources(traced_letters=True)[1]
    assert nondigits.letters_hand_sans not in plain and traced == [*plain, nondigits.letters_hand_sans]
    args = ("nondigit", tiny_mnist.x_train, tiny_mnist.y_train, 40)
    x0, y0 = train.extra_images(*args, seed=0, workers=1)
    x1, y1 = train.extra_images(*args, seed=0, workers=1, traced_letters=True)
    assert set(y0) == set(y1) == {train.NOT_A_DIGIT}
    assert not np.array_equal(x0, x1)  # the families are drawn among five, not four


def test_images_made_in_two_processes_are_those_made_in_one(tiny_mnist, monkeypatch):
    """train.in_processes joins the jobs' images in the jobs' order, whichever process made them."""
    import sys
    import types

    # a spawned process runs __main__ again: after an AppTest in this process that is the app
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    x, y = tiny_mnist.x_train, tiny_mnist.y_train
    jobs = [("styled", x[i: i + 5], y[i: i + 5], i, False) for i in (0, 5, 10)]
    x1, y1 = train.in_processes(train._extra_chunk, jobs, workers=1)
    x2, y2 = train.in_processes(train._extra_chunk, jobs, workers=2)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert list(y1) == list(y[:15])  # every job's images, in the jobs' order
