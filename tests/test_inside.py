"""Inside the network: snapshots while training (shapes, bounded size, damaged files), activations
of one image, and the panels the pages lay out. Tiny models, synthetic arrays."""
import numpy as np
import pytest

from core import bundle, inside, models, train
from core.recognizer import Recognizer

RNG = np.random.default_rng(0)
X = RNG.integers(0, 255, (60, 28, 28)).astype(np.uint8)
Y = np.arange(60) % 10


def built(kind: str, **settings):
    return models.build(models.spec(kind).defaults.with_(**settings))


def test_a_trained_bundle_keeps_a_snapshot_per_epoch(tiny_bundle):
    snaps = inside.read_snapshots(tiny_bundle / inside.SNAPSHOT_FILE)
    assert list(snaps.epochs) == [0, 1, 2, 3]  # before training, then after each of the 3 epochs
    assert snaps.images.shape == (4, 10, 28, 28) and snaps.confusion.shape == (4, 10, 10)
    assert snaps.confusion[-1].sum() == 100  # the validation split, every image counted once
    assert snaps.accuracy[-1] > snaps.accuracy[0]  # it learned
    model, meta = bundle.load(tiny_bundle)
    assert np.allclose(snaps.images[-1], inside.dense_kernels(model)[0].T.reshape(10, 28, 28), atol=1e-2)


def test_the_improved_network_keeps_the_64_units_that_matter_most():
    model = built("mlp", hidden=200)
    rec = inside.Recording(X, Y)
    rec.take(model, 0)
    w_in, w_out = inside.dense_kernels(model)
    w_out[7] *= 100  # unit 7 now weighs most on the output
    model.layers[-1].set_weights([w_out, model.layers[-1].get_weights()[1]])
    rec.take(model, 1)
    snaps = rec.result()
    assert snaps.images.shape == (2, inside.MAX_UNITS, 28, 28) and 7 in snaps.units
    assert "largest outgoing weights" in snaps.how
    assert set(inside.leaned_on(snaps, 1)) == set(range(10))
    top = inside.leaned_on(snaps, 1, top=1)
    assert all(top[d] == [7] for d in range(10) if w_out[7, d] > 0)  # where its weight is positive, it leads
    small = inside.Recording(X, Y)
    small.take(built("mlp", hidden=16), 0)
    assert small.result().units.tolist() == list(range(16))


def test_the_file_stays_small_at_the_page_s_largest_settings(tmp_path):
    model = built("mlp", hidden=1024)
    epochs = 30  # the page's largest
    rec = inside.Recording(X[:10], Y[:10])
    for e in range(0, epochs + 1, inside.every(epochs)):
        rec.take(model, e)
    inside.write_snapshots(tmp_path / "s.npz", rec.result())
    assert (tmp_path / "s.npz").stat().st_size < 5e6
    assert len(range(0, 101, inside.every(100))) <= inside.MAX_SNAPSHOTS + 1


def test_a_damaged_or_missing_file(tmp_path):
    assert inside.read_snapshots(tmp_path / "none.npz") is None
    (tmp_path / "bad.npz").write_bytes(b"")
    with pytest.raises(inside.SnapshotError, match="bad.npz"):
        inside.read_snapshots(tmp_path / "bad.npz")
    np.savez(tmp_path / "odd.npz", epochs=[0, 1], confusion=np.zeros((1, 10, 10)), accuracy=[0, 1],
             images=np.zeros((2, 1, 28, 28)), units=[0], leans=np.zeros((2, 1, 10)), how="x")
    with pytest.raises(inside.SnapshotError, match="inconsistent"):
        inside.read_snapshots(tmp_path / "odd.npz")


def test_a_convolutional_network_shows_its_feature_maps():
    model = built("cnn_fast")
    act = inside.activations(model, X[0])
    assert act["kind"] == "conv" and len(act["layers"]) == 4
    assert [maps.shape[1:] for _, maps in act["layers"]][:2] == [(28, 28), (14, 14)]
    assert np.allclose(act["probs"], np.asarray(model(X[:1].astype(np.float32)))[0], atol=1e-5)
    panels = inside.inside_panels(act)
    assert len(panels) == 4 and all(len(p.images) == len(p.labels) <= 16 for p in panels)
    rec = inside.Recording(X, Y)
    rec.take(model, 0)
    assert rec.result().images.shape[1] == 0 and inside.learned(rec.result(), 0) is None


def test_dense_networks_explain_the_answer():
    base = inside.inside_panels(inside.activations(built("linear"), X[0]))
    assert len(base) == 1 and base[0].images.shape == (10, 28, 28)
    sums = [float(label.split(": ")[1]) for label in base[0].labels]
    assert np.allclose(sums, base[0].images.reshape(10, -1).sum(axis=1), atol=0.05)
    improved = inside.inside_panels(inside.activations(built("mlp", hidden=32), X[0]))
    assert improved[0].images.shape == (16, 28, 28)


def test_training_reports_snapshots_as_it_goes(tiny_mnist, tmp_path):
    seen = []
    cfg = models.spec("mlp").defaults.with_(epochs=2, hidden=8, val_split=50)
    train.train(cfg, tiny_mnist, tmp_path / "mlp", on_snapshot=seen.append)
    assert [len(s) for s in seen] == [1, 2, 3]
    assert inside.read_snapshots(tmp_path / "mlp" / inside.SNAPSHOT_FILE).images.shape == (3, 8, 28, 28)


def test_the_map_is_deterministic_and_keeps_neighbours_near(tiny_bundle):
    rec = Recognizer(tiny_bundle)
    preds, feats = rec.classify_with_features(X)
    assert feats.shape == (60, 784)  # a linear model reads the pixels: they are its features
    assert [p.status for p in preds] == [p.status for p in rec.classify(X)]  # the same answers, one pass
    feats = np.maximum(feats @ RNG.normal(size=(784, 32)), 0)  # a hidden layer's worth of features
    a, b = inside.pca(feats, dims=8, seed=3), inside.pca(feats, dims=8, seed=3)
    assert a.shape == (60, 8) and np.allclose(a, b)
    assert a[:, 0].var() >= a[:, 1].var() >= a[:, 7].var()  # main axes first
    twin = np.vstack([feats, feats[5] + 1e-3])  # an image all but equal to #5
    coords = inside.pca(twin, dims=8)
    assert inside.neighbours(coords, 60, k=1)[0] == 5
