"""How well can a network of the shipped kind read one style at all? A specialist per style.

    python benchmarks/specialist.py [--styles bold4 bold2] [--images 30000] [--epochs 8] [--width 32] [--bundle artifacts/cnn]

For each style: the `cnn` network (ten classes, same augmentation) trained on that style alone,
made from MNIST *training* digits (the first 55,000; validation and test digits stay out), then
scored on the suite's column of that style (MNIST *test* digits), beside the bundle's best guess on
the same images. A specialist's top-1 is what one network of this size reaches when the style is all
it sees: where the shipped bundle is far below it, more of that style in training can help; where
the specialist itself is far from the targets, the images have lost what tells the digits apart,
or the network is too small to find it: `--width 64` (twice the channels, about four times the
computation) and more `--epochs` tell which.
Images are made once and cached in $DIGITREC_HOME/specialist.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere: core/ is beside
import numpy as np

from core import bundle, models, preprocess, styles, suite, train
from core.data import home_dir, load_mnist
from core.evaluate import predict_proba
from core.recognizer import Recognizer


def _make(args):
    style, x, y, seed = args
    raw, labels, _ = styles.suite_digits(style, x, y, len(x), seed)
    images, blank = preprocess.prepare_all(raw)
    return images[~blank], labels[~blank]


def style_images(style: str, x, y, n: int, seed: int, workers: int = 2):
    """`n` images of `style` from the digits (x, y), prepared as the dashboard prepares them."""
    pick = np.random.default_rng(seed).choice(len(x), n, replace=n > len(x))
    jobs = [(style, x[c], y[c], seed * 100 + i) for i, c in enumerate(np.array_split(pick, workers * 4))]
    return train.in_processes(_make, jobs, workers)


def specialist(x, y, epochs: int, seed: int, width: int):
    import keras
    import tensorflow as tf

    cfg = models.spec("cnn").defaults.with_(epochs=epochs, seed=seed, width=width, drawn=0, styled=0, nondigits=0)
    keras.utils.set_random_seed(seed)
    model = models.build(cfg)
    train.compile_model(keras, model, cfg, math.ceil(len(x) / cfg.batch_size))
    model.fit(train.make_dataset(tf, x, y, cfg, training=True), epochs=cfg.epochs, verbose=0)
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--styles", nargs="+", default=["bold4", "bold2", "bold_canvas", "thin"])
    ap.add_argument("--images", type=int, default=30000)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--width", type=int, default=models.spec("cnn").defaults.width, help="channels of the first block")
    ap.add_argument("--bundle", type=Path, default=bundle.PRETRAINED)
    args = ap.parse_args()

    mnist = load_mnist()
    (x_tr, y_tr), _ = train.split(mnist, models.spec("cnn").defaults)
    rec = Recognizer(args.bundle)
    cache = home_dir() / "specialist"
    print(f"{'style':<12} {'specialist top-1':>16} {'bundle top-1':>12} {'bundle read right':>17}  images, minutes")
    for style in args.styles:
        start = time.perf_counter()
        path = cache / f"{style}-{args.images}-{args.seed}-pre{preprocess.PREPROCESS_VERSION}.npz"
        a = bundle.cached_arrays(path, ("x", "y"), lambda: dict(zip(("x", "y"), style_images(
            style, x_tr, y_tr, args.images, args.seed))))
        model = specialist(a["x"], a["y"], args.epochs, args.seed, args.width)
        col = suite.column(style, mnist, cache_dir=home_dir() / "suite")
        live = ~col.blank
        guess = np.full(len(col.labels), -1)
        guess[live] = predict_proba(model, col.images[live]).argmax(axis=1)
        row = suite.score(col, suite.judge(rec.classify, col))
        print(f"{style:<12} {100 * np.mean(guess == col.labels):>15.1f}% {100 * row['guess_right']:>11.1f}% "
              f"{100 * row['read_right']:>16.1f}%  {len(a['x'])}, {(time.perf_counter() - start) / 60:.1f}", flush=True)


if __name__ == "__main__":
    main()
