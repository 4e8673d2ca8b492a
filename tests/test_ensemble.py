"""Networks averaged into one bundle (core.ensemble): the logits' mean, read by everything that
reads a bundle. Tiny CNNs trained for one epoch on synthetic digits."""
import numpy as np
import pytest
from click.testing import CliRunner

from core import bundle, cli, ensemble, inside, models, train
from core.recognizer import Recognizer

TINY = dict(epochs=1, width=2, limit=200, val_split=100, drawn=0, styled=0, nondigits=0)


@pytest.fixture(scope="module")
def members(tiny_mnist, tmp_path_factory):
    out = tmp_path_factory.mktemp("members")
    dirs = []
    for seed in (0, 1):  # the second as the traced-letters recipe (no non-digits here: same data)
        cfg = models.spec("cnn").defaults.with_(seed=seed, traced_letters=seed == 1, **TINY)
        dirs.append(train.train(cfg, tiny_mnist, out / f"cnn-{seed}")["bundle"])
    return dirs


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def logits(model, x):
    import keras

    head = models.head(model)
    return np.asarray(keras.Model(model.inputs, head.output)(x.astype(np.float32)))


def test_the_average_is_the_softmax_of_the_mean_logits(members, tiny_mnist):
    nets = [bundle.load(d)[0] for d in members]
    joined = models.average(nets)
    x = tiny_mnist.x_test[:20]
    expected = softmax((logits(nets[0], x) + logits(nets[1], x)) / 2)
    assert np.allclose(np.asarray(joined(x.astype(np.float32))), expected, atol=1e-5)
    assert models.members(joined) != [joined] and len(models.members(joined)) == 2
    assert models.members(nets[0]) == [nets[0]]


def test_the_joined_bundle_is_read_like_any_other(members, tiny_mnist, tmp_path):
    meta = ensemble.combine(members, tiny_mnist, tmp_path / "joined")
    assert [(m["seed"], m["traced_letters"], m["styled"]) for m in meta["members"]] == [(0, False, 0), (1, True, 0)]
    read = bundle.read_meta(tmp_path / "joined")
    assert (read.read_at, read.networks, read.traced_letters) == (28, 2, 1)
    assert read.name == "cnn" and 0 <= read.test_accuracy <= 1 and read.calibration is None
    rec = Recognizer(tmp_path / "joined")
    x = tiny_mnist.x_test[:8]
    preds, feats = rec.classify_with_features(x)
    one = Recognizer(members[0]).classify_with_features(x)[1]
    assert feats.shape == (8, 2 * one.shape[1])  # both networks' features, side by side
    act = inside.activations(rec.model, x[0])
    assert act["kind"] == "conv" and act["networks"] == 2 and len(act["layers"]) == 4  # the first network's convs
    assert np.allclose(act["probs"], np.asarray(rec.model(x[:1].astype(np.float32)))[0], atol=1e-6)
    assert "first of the 2 networks" in inside.inside_panels(act)[0].about
    assert inside.dense_kernels(rec.model) == []  # no weight templates for averaged networks


def test_members_that_cannot_be_averaged_are_refused(members, tiny_mnist, tiny_bundle, tmp_path):
    with pytest.raises(models.EnsembleError, match="same network"):
        ensemble.combine([members[0], tiny_bundle], tiny_mnist, tmp_path / "x")
    r = CliRunner().invoke(cli.main, ["ensemble", str(tmp_path / "y"), str(members[0]), str(tmp_path / "none")])
    assert r.exit_code == 1 and "no such bundle" in r.output and "Traceback" not in r.output


def test_read_at_shrinks_what_the_networks_read(members, tiny_mnist, tmp_path):
    net = bundle.load(members[0])[0]
    x = tiny_mnist.x_test[:6].astype(np.float32)
    wrapped = models.average([net], read_at=24)
    seen = np.asarray(models.view(wrapped)(x))
    assert seen.shape == x.shape
    assert not seen[:, :2].any() and not seen[:, -2:].any() and not seen[:, :, :2].any()  # a 2-px empty frame
    assert np.allclose(seen.sum(axis=(1, 2)), x.sum(axis=(1, 2)) * (24 / 28) ** 2, rtol=1e-3)  # ink averaged, not lost
    assert np.allclose(np.asarray(wrapped(x)), np.asarray(net(seen)), atol=1e-5)
    assert models.view(net)(x) is x  # a plain network reads the image as it is

    meta = ensemble.combine(members[:1], tiny_mnist, tmp_path / "one", read_at=24)
    assert meta["read_at"] == 24 and len(meta["members"]) == 1
    read = bundle.read_meta(tmp_path / "one")
    assert (read.read_at, read.networks) == (24, 1)
    assert (bundle.read_meta(members[0]).read_at, bundle.read_meta(members[0]).networks) == (28, 1)
    rec = Recognizer(tmp_path / "one")
    act = inside.activations(rec.model, tiny_mnist.x_test[0])
    assert act["kind"] == "conv" and act["networks"] == 1
    about = inside.inside_panels(act)[0].about
    assert "first of" not in about and "shrunk to 24 px" in about and models.reading_size(rec.model) == 24
    assert models.reading_size(net) == 28 and "shrunk" not in inside.inside_panels(inside.activations(net, x[0]))[0].about
    assert np.allclose(act["probs"], np.asarray(rec.model(x[:1]))[0], atol=1e-6)
    assert inside.dense_kernels(rec.model) == []  # the Dense layer outside reads features, not pixels
    first_maps = act["layers"][0][1].astype(np.float32)
    direct = inside.activations(net, models.view(rec.model)(x[:1]).numpy()[0].round().astype(np.uint8))
    assert np.allclose(first_maps, direct["layers"][0][1].astype(np.float32), atol=0.05)  # the shrunk image's maps


def test_read_at_out_of_range_is_a_clear_message(members, tmp_path):
    r = CliRunner().invoke(cli.main, ["ensemble", str(tmp_path / "z"), str(members[0]), "--read-at", "40"])
    assert r.exit_code == 2 and "40 is not in the range 8<=x<=28" in r.output and "Traceback" not in r.output
    with pytest.raises(models.EnsembleError, match="read_at"):
        models.average([bundle.load(members[0])[0]], read_at=4)


def test_an_averaged_bundle_is_not_a_member(members, tiny_mnist, tmp_path):
    ensemble.combine(members[:1], tiny_mnist, tmp_path / "one", read_at=26)
    with pytest.raises(models.EnsembleError, match="trained networks it was made from"):
        ensemble.combine([tmp_path / "one", members[1]], tiny_mnist, tmp_path / "two")


def test_a_damaged_read_at_names_the_field():
    with pytest.raises(bundle.BundleError, match="meta.json: 'read_at' is '26', not a int"):
        bundle.parse_meta({"name": "cnn", "read_at": "26"})
    with pytest.raises(bundle.BundleError, match="'members'"):
        bundle.parse_meta({"name": "cnn", "members": 2})
    with pytest.raises(bundle.BundleError, match="'members' must hold objects"):
        bundle.parse_meta({"name": "cnn", "members": [{"seed": 0}, "cnn-1"]})
    with pytest.raises(bundle.BundleError, match="'traced_letters' is 'yes', not a bool"):
        bundle.parse_meta({"name": "cnn", "config": {"traced_letters": "yes"}})
    one = bundle.parse_meta({"name": "cnn", "config": {"traced_letters": True}})
    assert (one.networks, one.traced_letters) == (1, 1)
