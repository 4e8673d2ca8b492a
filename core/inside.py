"""Inside the network: what it has learned while it trains (snapshots of its weights and of its
validation confusion matrix, epoch by epoch) and what it makes of one image (activations).

Snapshots are kept in the bundle as `snapshots.npz` (read back through `read_snapshots`, checked
once); the training worker also writes them to its job folder after each epoch for the live view.
"""
from __future__ import annotations

import math
import weakref
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import bundle, models

SNAPSHOT_FILE = "snapshots.npz"
MAX_UNITS = 64  # hidden units whose weight images are kept: a grid a person can take in at once
MAX_SNAPSHOTS = 32  # the start, then at most this many epochs (evenly spread): the file stays < 5 MB


class SnapshotError(ValueError):
    """A snapshots file that cannot be read; the message names it."""


@dataclass(frozen=True)
class Snapshots:
    """What a dense network had learned after each recorded epoch (epoch 0: before training)."""
    epochs: np.ndarray  # (S,) int: the epoch each snapshot was taken after
    confusion: np.ndarray  # (S, 10, 10) int: validation counts[true, predicted]
    accuracy: np.ndarray  # (S,) float: validation accuracy (digits only)
    images: np.ndarray  # (S, K, 28, 28) float16: class templates (baseline) or hidden units' input weights
    units: np.ndarray  # (K,) int: which hidden units `images` shows (baseline: the classes 0-9)
    leans: np.ndarray  # (S, K, 10) float16: each shown unit's outgoing weight to each class (baseline: empty)
    how: str  # how the units were chosen, for the page to say

    def __len__(self) -> int:
        return len(self.epochs)


def dense_kernels(model) -> list[np.ndarray]:
    """The kernels of the model's Dense layers, first to last; none for a convolutional network
    (its one Dense layer reads feature maps, not pixels)."""
    if models.members(model)[0] is not model or any(layer.__class__.__name__ == "Conv2D" for layer in model.layers):
        return []  # networks averaged or wrapped (core.ensemble), or a convolutional network
    return [layer.get_weights()[0] for layer in model.layers if layer.__class__.__name__ == "Dense"]


def validation_confusion(model, x_val, y_val, batch: int = 1000) -> np.ndarray:
    pred = np.concatenate([np.asarray(model(x_val[i: i + batch].astype(np.float32), training=False))
                           for i in range(0, len(x_val), batch)]).argmax(axis=1)
    keep = y_val < 10
    cm = np.zeros((10, 10), np.int64)
    np.add.at(cm, (y_val[keep], np.minimum(pred[keep], 9)), 1)  # an 11th-class answer counts as its own miss
    return cm


def every(epochs: int) -> int:
    """Record after every k-th epoch so that at most MAX_SNAPSHOTS epochs are kept."""
    return max(1, math.ceil(epochs / MAX_SNAPSHOTS))


class Recording:
    """Snapshots taken during training (`take`), then stacked (`result`). Hidden units: all of them
    up to MAX_UNITS, else the MAX_UNITS with the largest outgoing weights at the end."""

    def __init__(self, x_val, y_val):
        self.x_val, self.y_val = x_val, y_val
        self.epochs, self.confusion, self.kernels = [], [], []

    def take(self, model, epoch: int) -> None:
        self.epochs.append(epoch)
        self.confusion.append(validation_confusion(model, self.x_val, self.y_val) if len(self.y_val)
                              else np.zeros((10, 10), np.int64))
        self.kernels.append([k.astype(np.float16) for k in dense_kernels(model)])

    def result(self) -> Snapshots:
        cm = np.stack(self.confusion)
        total = cm.sum(axis=(1, 2))
        acc = np.divide(np.trace(cm, axis1=1, axis2=2), total, out=np.zeros(len(cm)), where=total > 0)
        last = self.kernels[-1]
        if len(last) == 1:  # baseline: one template per class
            images = np.stack([k[0].T.reshape(10, 28, 28) for k in self.kernels])
            units, leans, how = np.arange(10), np.zeros((len(cm), 10, 0), np.float16), "the ten classes"
        elif len(last) == 2:  # improved: the hidden units' input weights
            hidden = last[0].shape[1]
            if hidden <= MAX_UNITS:
                units, how = np.arange(hidden), f"all {hidden} hidden units"
            else:
                strength = np.abs(last[1].astype(np.float32)).sum(axis=1)
                units = np.sort(np.argsort(-strength)[:MAX_UNITS])
                how = (f"the {MAX_UNITS} of {hidden} hidden units with the largest outgoing weights "
                       "(summed over the ten classes) at the end of training")
            images = np.stack([k[0][:, units].T.reshape(len(units), 28, 28) for k in self.kernels])
            leans = np.stack([k[1][units, :10] for k in self.kernels])
        else:  # a convolutional network: its confusion matrices only
            images, units = np.zeros((len(cm), 0, 28, 28), np.float16), np.zeros(0, int)
            leans, how = np.zeros((len(cm), 0, 10), np.float16), "no weight images for this network"
        return Snapshots(np.asarray(self.epochs), cm, acc, images.astype(np.float16), units,
                         leans.astype(np.float16), how)


def write_snapshots(path: str | Path, snaps: Snapshots) -> None:
    arrays = {k: getattr(snaps, k) for k in ("epochs", "confusion", "accuracy", "images", "units", "leans")}
    bundle.write_atomic(path, lambda tmp: np.savez_compressed(tmp, how=np.asarray(snaps.how), **arrays))


def read_snapshots(path: str | Path) -> Snapshots | None:
    """The snapshots at `path` (a bundle's or a job's), None if there are none; SnapshotError
    naming the file when it is damaged."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path) as z:
            s = Snapshots(z["epochs"].astype(int), z["confusion"].astype(int), z["accuracy"].astype(float),
                          z["images"], z["units"].astype(int), z["leans"], str(z["how"]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise SnapshotError(f"{path}: cannot be read ({e.__class__.__name__}: {e})") from None
    n = len(s.epochs)
    if not (s.confusion.shape == (n, 10, 10) and s.accuracy.shape == (n,) and s.images.ndim == 4
            and s.images.shape[0] == n and s.images.shape[2:] == (28, 28) and s.images.shape[1] == len(s.units)
            and s.leans.shape[:2] == (n, len(s.units))):
        raise SnapshotError(f"{path}: arrays of inconsistent shapes")
    return s


def recorder(keras, recording: Recording, every_k: int, on_epoch=None):
    """A Keras callback that takes a snapshot before training and after every `every_k`-th epoch
    (and the last); `on_epoch(recording)` runs after each one (the worker writes the live file)."""
    class Recorder(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            recording.take(self.model, 0)
            if on_epoch:
                on_epoch(recording)

        def on_epoch_end(self, epoch, logs=None):
            done = epoch + 1
            if done % every_k == 0 or done == self.params.get("epochs") or self.model.stop_training:
                recording.take(self.model, done)
                if on_epoch:
                    on_epoch(recording)

    return Recorder()


# ---------------------------------------------------------------- one image, inside
def activations(model, image: np.ndarray) -> dict:
    """What each layer makes of one prepared 28x28 image (uint8, white on black).

    Returns {"kind": "dense" | "conv", ...}: for a network of Dense layers, the input, the hidden
    activations and the kernels; for a convolutional one, every convolution's feature maps
    (after its activation) and the probabilities.
    """
    import keras

    x = image.astype(np.float32)[None]
    nets = models.members(model)
    net = nets[0]  # of several networks averaged, the first: they all see alike
    conv = [layer for layer in net.layers if layer.__class__.__name__ == "Conv2D"]
    if not conv:
        kernels = dense_kernels(model)
        probs = np.asarray(model(x, training=False))[0]
        pixels = x[0].reshape(-1) / 255.0
        if len(kernels) == 1:
            return {"kind": "dense", "contributions": (kernels[0] * pixels[:, None]).T.reshape(-1, 28, 28),
                    "templates": kernels[0].T.reshape(-1, 28, 28), "probs": probs}
        hidden = np.maximum(pixels @ kernels[0] + _bias(model, 0), 0)
        return {"kind": "dense", "hidden": hidden, "w_in": kernels[0], "w_out": kernels[1], "probs": probs}
    probe, names = _probe(keras, model, net)
    result = [np.asarray(o)[0] for o in probe(x)]  # one image: drop the batch axis
    return {"kind": "conv", "layers": [(n, np.moveaxis(a, -1, 0).astype(np.float16)) for n, a in zip(names, result[:-1])],
            "probs": result[-1], "networks": len(nets), "read_at": models.reading_size(model)}


_PROBES = weakref.WeakKeyDictionary()  # model -> (a function giving every convolution's output, names)


def _probe(keras, model, net):
    """Each convolution's output in `net` (the model, or its first averaged network) after what
    follows it (batch norm, ReLU), and the model's probabilities; built once per model."""
    if model in _PROBES:
        return _PROBES[model]
    names, outputs, layers = [], [], net.layers
    for i, layer in enumerate(layers):
        if layer.__class__.__name__ != "Conv2D":
            continue
        j = i
        while j + 1 < len(layers) and layers[j + 1].__class__.__name__ in ("BatchNormalization", "Activation", "ReLU"):
            j += 1
        names.append(layer.name)
        outputs.append(layers[j].output)
    import tensorflow as tf

    if net is model:  # one graph: the convolutions' outputs and the probabilities in one pass
        probe = keras.Model(model.inputs, outputs + [model.outputs[0]])
        run = lambda x: probe(x, training=False)  # noqa: E731
    else:  # the first network's insides are not tensors of the averaged model: two calls
        inner, seen = keras.Model(net.inputs, outputs), models.view(model)
        run = lambda x: [*inner(seen(x), training=False), model(x, training=False)]  # noqa: E731
    # traced once: an eager call costs ~25 ms of Python, the graph ~3 ms
    _PROBES[model] = tf.function(run, reduce_retracing=True), names
    return _PROBES[model]


def _bias(model, k: int) -> np.ndarray:
    dense = [layer for layer in model.layers if layer.__class__.__name__ == "Dense"]
    return dense[k].get_weights()[1]


# ---------------------------------------------------------------- what to show
@dataclass(frozen=True)
class Panel:
    """A grid of small images with a title per tile, and a sentence saying what it shows."""
    title: str
    images: np.ndarray  # (N, h, w)
    labels: list
    about: str
    cols: int = 10
    diverging: bool = True  # signed values (weights, contributions) rather than activations


def learned(snaps: Snapshots, k: int) -> Panel | None:
    """What the network had learned at snapshot `k`: templates or hidden units' weight images."""
    if snaps.images.shape[1] == 0:
        return None
    if snaps.leans.shape[2] == 0:
        return Panel(f"The ten templates after epoch {snaps.epochs[k]}", snaps.images[k], [str(d) for d in range(10)],
                     "Each class's weights on the 784 pixels: ink on red pixels raises that digit's score, ink on "
                     "blue lowers it.")
    best = np.asarray(snaps.leans[k], np.float32).argmax(axis=1)
    return Panel(f"Hidden units after epoch {snaps.epochs[k]}", snaps.images[k],
                 [f"#{u}→{d}" for u, d in zip(snaps.units, best)],
                 f"The input weights of {snaps.how}; '#u→d': unit u pushes digit d most.", cols=16)


def leaned_on(snaps: Snapshots, k: int, top: int = 3) -> dict[int, list[int]]:
    """For each digit, the shown hidden units it leans on most at snapshot `k` (largest weights)."""
    if snaps.leans.shape[2] == 0:
        return {}
    w = np.asarray(snaps.leans[k], np.float32)
    return {d: [int(snaps.units[i]) for i in np.argsort(-w[:, d])[:top]] for d in range(10)}


def inside_panels(act: dict, top: int = 16) -> list[Panel]:
    """What one image does inside the network (from `activations`), as panels in layer order."""
    probs = np.asarray(act["probs"], np.float32)
    guess = int(probs[:10].argmax())
    if act["kind"] == "conv":
        n = act.get("networks", 1)
        which = f" These are the first of the {n} networks whose answers are averaged." if n > 1 else ""
        side = act.get("read_at", 28)
        which += (f" The network reads your digit shrunk to {side} px in its 28x28 frame (it reads MNIST's test "
                  "digits best so), so these are the maps of that image." if side != 28 else "")
        out = []
        for name, maps in act["layers"]:
            maps = np.asarray(maps, np.float32)
            order = np.argsort(-maps.mean(axis=(1, 2)))[:top]
            out.append(Panel(f"{name}: {maps.shape[1]}x{maps.shape[2]}, the {len(order)} of {len(maps)} filters "
                             "that respond most", maps[order], [f"f{i}" for i in order],
                             "Each filter's response over the image (after batch norm and ReLU): bright where it "
                             "found its pattern." + which, cols=8, diverging=False))
        return out
    if "contributions" in act:
        c = np.asarray(act["contributions"], np.float32)
        return [Panel("Your digit times each class's template", c, [f"{d}: {c[d].sum():+.1f}" for d in range(10)],
                      f"Pixel by pixel, what pushed each digit's score up (red) or down (blue); the sums (plus a bias) "
                      f"decide: {guess} won.", cols=5)]
    hidden, w_in, w_out = (np.asarray(act[k], np.float32) for k in ("hidden", "w_in", "w_out"))
    push = hidden * w_out[:, guess]
    units = np.argsort(-np.abs(push))[:top]
    return [Panel(f"The {len(units)} hidden units that moved the answer {guess} most", w_in[:, units].T.reshape(-1, 28, 28),
                  [f"#{u}: {push[u]:+.1f}" for u in units],
                  f"Each unit's input weights; '#u: +x': how much unit u, as active as your digit made it, added to "
                  f"{guess}'s score ({int((hidden > 0).sum())} of {len(hidden)} units were active).", cols=8)]


# ---------------------------------------------------------------- a map of a set
def pca(feats: np.ndarray, dims: int = 32, seed: int = 0) -> np.ndarray:
    """The features projected on their `dims` main axes (randomised SVD: seconds for 10,000 x
    3,200 on 2 cores, deterministic by seed); column 0 varies most."""
    f = feats.astype(np.float32) - feats.mean(axis=0, dtype=np.float64).astype(np.float32)
    k = min(dims, *f.shape)
    q = f.T @ np.random.default_rng(seed).standard_normal((len(f), min(k + 10, f.shape[1], len(f)))).astype(np.float32)
    for _ in range(2):  # power iterations sharpen the main axes
        q, _ = np.linalg.qr(f.T @ (f @ q))
    u, s, vt = np.linalg.svd(f @ q, full_matrices=False)
    axes = q @ vt.T[:, :k]
    out = f @ axes
    return out * np.sign(out[np.abs(out).argmax(axis=0), range(k)])  # a fixed sign per axis


def neighbours(coords: np.ndarray, i: int, k: int = 8) -> np.ndarray:
    """The `k` images nearest image `i` in feature space (by their main axes), nearest first."""
    d = ((coords - coords[i]) ** 2).sum(axis=1)
    d[i] = np.inf
    return np.argsort(d)[:k]
