"""What preprocessing's paper step (ruled lines, the page's edge: `Options.paper`) changes.

    python benchmarks/paper_bench.py [--per-kind 1000] [--bundle artifacts/cnn]

Part 1, the images a network trains on (`core.train`'s generators: brush drawings, seen styles,
non-digits; the calibration photos): how many of them come out different with the step on.
Part 2, every style and family of the suite: read right / misread / refused with it off and on.
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

from core import bundle, preprocess, styles, suite, synth, train
from core.data import load_mnist
from core.recognizer import Recognizer

OFF = preprocess.Options(paper=False)


def training_images(kind: str, x, y, n: int, rng) -> list:
    """Raw images as core.train (drawn, styled, nondigit) and core.calibrate (photo) draw them."""
    sources = train.extra_sources()
    return [synth.photo(x[i], rng) if kind == "photo" else train.extra_image(kind, x[i], y[i], x, rng, sources)
            for i in rng.choice(len(x), n, replace=False)]


def changed(raw) -> tuple[int, float]:
    """(images whose prepared form differs, mean absolute difference of those, in grey levels)."""
    a, ba = preprocess.prepare_all(raw)
    b, bb = preprocess.prepare_all(raw, OFF)
    diff = np.any(a != b, axis=(1, 2)) | (ba != bb)
    mad = float(np.abs(a[diff].astype(float) - b[diff]).mean()) if diff.any() else 0.0
    return int(diff.sum()), mad


def outcome(rec, images, blank, labels) -> tuple:
    preds = rec.classify(images)
    ok = np.array([p.status == "ok" for p in preds]) & ~blank
    right = np.array([p.digit for p in preds]) == labels
    return (ok & right).mean(), (ok & ~right).mean(), 1 - ok.mean()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-kind", type=int, default=1000)
    ap.add_argument("--bundle", type=Path, default=bundle.PRETRAINED)
    args = ap.parse_args()
    mnist = load_mnist()
    x, y = mnist.x_train[:55000], mnist.y_train[:55000]
    print(f"training images (core.train's generators), {args.per_kind} each: changed by the paper step")
    for k, kind in enumerate(("drawn", "styled", "photo", "nondigit")):
        n, mad = changed(training_images(kind, x, y, args.per_kind, np.random.default_rng(k)))
        print(f"  {kind:<10} {n:5d} of {args.per_kind} ({100 * n / args.per_kind:.1f}%), "
              f"mean difference of those {mad:.2f} grey levels")
    rec = Recognizer(args.bundle)
    print(f"\nthe suite (MNIST test digits, seed {suite.SUITE_SEED}), {args.per_kind} each, {args.bundle}:")
    print(f"  {'style':<14} {'changed':>7}   off: right / misread / refused     on: right / misread / refused")
    for name in suite.names():
        if name in styles.DIGIT_STYLES:
            raw, labels, _ = styles.suite_digits(name, mnist.x_test, mnist.y_test, args.per_kind, suite.SUITE_SEED)
        else:
            raw, labels = styles.suite_nondigits(name, args.per_kind, suite.SUITE_SEED), np.full(args.per_kind, -1)
        start = time.perf_counter()
        on = preprocess.prepare_all(raw)
        t_on = time.perf_counter() - start
        off = preprocess.prepare_all(raw, OFF)
        t_off = time.perf_counter() - start - t_on
        n = int((np.any(on[0] != off[0], axis=(1, 2)) | (on[1] != off[1])).sum())
        fmt = lambda r: " / ".join(f"{100 * v:5.1f}%" for v in r)  # noqa: E731
        print(f"  {name:<14} {n:7d}   {fmt(outcome(rec, *off, labels))}     {fmt(outcome(rec, *on, labels))}"
              f"   ({1000 * t_off / len(raw):.1f} / {1000 * t_on / len(raw):.1f} ms an image)", flush=True)


if __name__ == "__main__":
    main()
