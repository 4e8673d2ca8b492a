"""Digits photographed with the table beyond the page's edge and/or a cast shadow, on a white
desk, or on graph paper (`core.styles.page_photo`, not in the suite): how the shipped CNN reads
them, and how often preprocessing keeps the shadow, the table or the grid as ink.

    python benchmarks/page_photos.py [--n 500] [--bundle artifacts/cnn]

Made as a diagnosis for the held-out `phone` and `squared` refusals (README, "What the refused
held-out digits are"); since preprocessing 5, the benchmark its edges-of-light step
(`core.shading`) was designed on, and since preprocessing 7 (its graph-paper variant) the
printed-lines step's (`core.lines.without_printed_lines`). The images are made from MNIST test digits. Each variant draws the same pages,
digits and places as "clean page" (the shadow and the table are drawn last), so "changed" counts
the prepared 28x28 images that are no longer the clean page's (correlation below 0.8): the network
was shown something else than the digit.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere: core/ is beside
import numpy as np

from core import bundle, preprocess, styles, suite
from core.data import load_mnist
from core.recognizer import Recognizer

VARIANTS = {"clean page": dict(edge=False, shadow=False), "table beyond the edge": dict(edge=True, shadow=False),
            "cast shadow": dict(edge=False, shadow=True), "both": dict(edge=True, shadow=True),
            "light table": dict(edge=True, shadow=False, light=True),
            "light table and shadow": dict(edge=True, shadow=True, light=True),
            "graph paper": dict(edge=False, shadow=False, grid=True)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--bundle", default=str(bundle.PRETRAINED))
    args = ap.parse_args()
    mnist = load_mnist()
    rec = Recognizer(args.bundle)
    idx = np.random.default_rng(0).choice(len(mnist.x_test), args.n, replace=False)
    x, y = mnist.x_test[idx], mnist.y_test[idx].astype(int)
    print(f"{args.bundle}: {args.n} MNIST test digits per variant")
    print(f"{'variant':24} read right  misread  refused  changed  refused by")
    clean = None
    for name, kw in VARIANTS.items():
        t = time.time()
        make = styles.page_photo(**kw)
        rng = np.random.default_rng(1)  # every variant: the same pages, digits and places
        images, blank = preprocess.prepare_all([make(d, 0, rng) for d in x])
        if clean is None:
            clean = images
        col = suite.Column(name, "digit", False, images, blank, y, idx)
        row = suite.score(col, suite.judge(rec.classify, col))
        changed = np.mean([np.corrcoef(a.ravel(), b.ravel())[0, 1] < 0.8 if a.any() and b.any() else True
                           for a, b in zip(images.astype(float), clean.astype(float))])
        by = ", ".join(f"{k} {100 * v:.1f}" for k, v in row["by"].items())
        print(f"{name:24} {100 * row['read_right']:9.1f}% {100 * row['misread']:7.1f}% {100 * row['refused']:7.1f}%"
              f" {100 * changed:7.1f}%  {by}   ({time.time() - t:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
