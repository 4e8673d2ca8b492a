"""MNIST accuracy of networks reading each image shrunk to N px (models.average's `read_at`), on the
validation digits (what chooses) and the test set (what is reported).

    python benchmarks/read_at.py BUNDLE [BUNDLE ...] [--sizes 28 27 26 25 24] [--together] [--tta]

Each BUNDLE is a trained network (e.g. bundles/cnn-s0, not the shipped artifacts/cnn that wraps
it) read at each size; --together
also averages all of them; --tta prints test-time augmentation (shifted, rotated, scaled copies
averaged) for the first BUNDLE at 28 px, the experiment that led to reading smaller.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from scipy import ndimage as ndi  # noqa: E402

from core import bundle, data, models, train  # noqa: E402
from core.evaluate import predict_proba  # noqa: E402


def percent(model, x, y) -> str:
    if not len(x):
        return "-"  # a network trained on all 60,000 images has no validation digits
    return f"{np.mean(predict_proba(model, x).argmax(axis=1) == y) * 100:.2f}"


def copies(x: np.ndarray) -> dict:
    """The augmented copies of a (N, 28, 28) batch that --tta averages."""
    def affine(a, deg=0.0, scale=1.0):
        t = np.deg2rad(deg)
        m = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]) / scale
        off = 13.5 - m @ [13.5, 13.5]
        return np.stack([ndi.affine_transform(i.astype(np.float32), m, offset=off, order=1) for i in a])

    return {"as is": x, "right 1": np.roll(x, 1, 2), "left 1": np.roll(x, -1, 2), "down 1": np.roll(x, 1, 1),
            "up 1": np.roll(x, -1, 1), "rotated +6": affine(x, 6), "rotated -6": affine(x, -6),
            "shrunk 10%": affine(x, scale=0.9), "grown 10%": affine(x, scale=1.1)}


def tta(net, sets):
    import keras

    head = models.head(net)
    features = keras.Model(net.inputs, head.input)
    w, b = head.get_weights()
    for name, (x, y) in sets.items():
        logits = {k: features.predict(v.astype(np.float32), batch_size=1000, verbose=0) @ w + b
                  for k, v in copies(x).items()}
        acc = {k: np.mean(v[:, :10].argmax(axis=1) == y) * 100 for k, v in logits.items()}
        print(f"{name}, each copy alone: " + ", ".join(f"{k} {v:.2f}" for k, v in acc.items()))
        for group in (["as is", "right 1", "left 1", "down 1", "up 1"], ["as is", "rotated +6", "rotated -6"],
                      ["as is", "shrunk 10%", "grown 10%"], list(logits)):
            mean = sum(logits[k] for k in group)[:, :10]
            print(f"  {' + '.join(group)}: {np.mean(mean.argmax(axis=1) == y) * 100:.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bundles", nargs="+", type=Path)
    ap.add_argument("--sizes", nargs="+", type=int, default=[28, 27, 26, 25, 24])
    ap.add_argument("--together", action="store_true", help="also all the networks averaged")
    ap.add_argument("--tta", action="store_true", help="test-time augmentation of the first bundle")
    args = ap.parse_args()
    mnist = data.load_mnist()
    nets = {str(d): bundle.load(d)[0] for d in args.bundles}
    cfg = models.TrainConfig(**bundle.read_meta(args.bundles[0]).config)
    _, (x_val, y_val) = train.split(mnist, cfg)
    sets = {"validation": (x_val, y_val), "test": (mnist.x_test, mnist.y_test)}
    groups = {name: [net] for name, net in nets.items()}
    if args.together and len(nets) > 1:
        groups["all averaged"] = list(nets.values())
    print(f"MNIST accuracy (%), validation / test ({len(x_val)} / {len(mnist.x_test)} images), read at N px")
    print(f"{'network':<28}" + "".join(f"{n:>16}" for n in args.sizes))
    for name, group in groups.items():
        cells = [" / ".join(percent(models.average(group, read_at=n), x, y) for x, y in sets.values())
                 for n in args.sizes]
        print(f"{name:<28}" + "".join(f"{c:>16}" for c in cells), flush=True)
    if args.tta:
        tta(next(iter(nets.values())), sets)


if __name__ == "__main__":
    main()
