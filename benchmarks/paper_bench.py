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

from core import bundle, nondigits, preprocess, styles, suite, synth, train
from core.data import load_mnist
from core.recognizer import Recognizer

OFF = preprocess.Options(paper=False)


def training_images(kind: str, x, y, n: int, rng) -> list:
    """Raw images as core.train (drawn, styled, nondigit) and core.calibrate (photo) draw them."""
    sources = train.extra_sources()
    return [synth.photo(x[i], rng) if kind == "photo" else train.extra_image(kind, x[i], y[i], x, rng, sources)
            for i in rng.choice(len(x), n, replace=False)]


def differ(on, off) -> np.ndarray:
    """Which images came out different; `on` and `off` are (images, blank) from prepare_all."""
    return np.any(on[0] != off[0], axis=(1, 2)) | (on[1] != off[1])


def outcome(rec, name: str, prepared, labels) -> tuple:
    """(read right, misread or given a digit, refused), scored as benchmarks/styles.py does."""
    images, blank = prepared
    col = suite.Column(name, "digit" if name in styles.DIGIT_STYLES else "nondigit", False, images, blank,
                       labels, np.full(len(labels), -1))
    row = suite.score(col, suite.judge(rec.classify, col))
    return (row["read_right"], row["misread"], row["refused"]) if col.kind == "digit" else \
        (0.0, row["given_a_digit"], row["refused"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-kind", type=int, default=1000)
    ap.add_argument("--bundle", type=Path, default=bundle.PRETRAINED)
    args = ap.parse_args()
    mnist = load_mnist()
    x, y = mnist.x_train[:55000], mnist.y_train[:55000]
    print(f"training images (core.train's generators), {args.per_kind} each: changed by the paper step")
    for k, kind in enumerate(("drawn", "styled", "photo", "nondigit")):
        raw = training_images(kind, x, y, args.per_kind, np.random.default_rng(k))
        on, off = preprocess.prepare_all(raw), preprocess.prepare_all(raw, OFF)
        diff = differ(on, off)
        n = int(diff.sum())
        mad = float(np.abs(on[0][diff].astype(float) - off[0][diff]).mean()) if n else 0.0
        print(f"  {kind:<10} {n:5d} of {args.per_kind} ({100 * n / args.per_kind:.1f}%), "
              f"mean difference of those {mad:.2f} grey levels")
    rec = Recognizer(args.bundle)
    print(f"\nthe suite (MNIST test digits, seed {suite.SUITE_SEED}), {args.per_kind} each, {args.bundle}:")
    print(f"  {'style':<14} {'changed':>7}   off: right / misread / refused     on: right / misread / refused")
    for name in suite.names():
        if name in styles.DIGIT_STYLES:
            raw, labels, _ = styles.suite_digits(name, mnist.x_test, mnist.y_test, args.per_kind, suite.SUITE_SEED)
        else:
            raw, labels = nondigits.suite_nondigits(name, args.per_kind, suite.SUITE_SEED), np.full(args.per_kind, -1)
        start = time.perf_counter()
        on = preprocess.prepare_all(raw)
        t_on = time.perf_counter() - start
        off = preprocess.prepare_all(raw, OFF)
        t_off = time.perf_counter() - start - t_on
        fmt = lambda r: " / ".join(f"{100 * v:5.1f}%" for v in r)  # noqa: E731
        print(f"  {name:<14} {int(differ(on, off).sum()):7d}   {fmt(outcome(rec, name, off, labels))}     "
              f"{fmt(outcome(rec, name, on, labels))}"
              f"   ({1000 * t_off / len(raw):.1f} / {1000 * t_on / len(raw):.1f} ms an image)", flush=True)


if __name__ == "__main__":
    main()
