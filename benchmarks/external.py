"""Accuracy on realistic images made from the MNIST *test* digits, per kind, beside the naive method.

    python benchmarks/external.py [--bundle DIR] [--per-kind 300] [--seed 1] [--ablation]

Kinds (see digitrec.synth): photos of ink on paper, canvas drawings, 2-6 digit numbers, blank pages
and non-digits. The naive method resizes the whole image to 28x28 grayscale, as most demos do.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path
import time
from dataclasses import replace

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere: core/ is beside
import numpy as np
from PIL import Image

from core import preprocess, synth
from core.data import load_mnist
from core.recognizer import Recognizer, decide


def naive_input(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("L").resize((28, 28)), np.float32)


def score(samples, digit_of, read_of) -> dict:
    """Per-kind figures. digit_of(sample) -> (guess, status); read_of(sample) -> (text, status)."""
    rows = {}
    for kind in synth.KINDS:
        group = [s for s in samples if s.kind == kind]
        if kind in ("photo", "canvas"):
            res = [digit_of(s) for s in group]
            rows[kind] = {"n": len(group),
                          "accuracy": np.mean([st == "ok" and str(g) == s.label for (g, st), s in zip(res, group)]),
                          "guess_accuracy": np.mean([str(g) == s.label for (g, _), s in zip(res, group)]),
                          "refused": np.mean([st != "ok" for _, st in res])}
        elif kind == "number":
            res = [read_of(s) for s in group]
            rows[kind] = {"n": len(group), "exact": np.mean([t == s.label for (t, _), s in zip(res, group)])}
        else:
            res = [digit_of(s) for s in group]
            rows[kind] = {"n": len(group), "no_digit": np.mean([st == "no_digit" for _, st in res]),
                          "not_given_a_digit": np.mean([st != "ok" for _, st in res])}
    return rows


def evaluate(rec: Recognizer, samples) -> dict:
    def digit_of(s):
        p = rec.predict(s.data)
        return p.guess, p.status

    def read_of(s):
        r = rec.read(s.data)
        return r.text, r.status

    return score(samples, digit_of, read_of)


def evaluate_naive(rec: Recognizer, samples) -> dict:
    def digit_of(s):
        p = rec.probabilities(naive_input(s.data)[None])[0]
        return int(p.argmax()), decide(float(p.max()), rec.calibration)

    def read_of(s):  # the naive method has no segmentation: one digit for the whole image
        g, st = digit_of(s)
        return str(g), st

    return score(samples, digit_of, read_of)


def print_table(title: str, rows: dict) -> None:
    print(f"\n{title}")
    print(f"{'kind':<10} {'n':>5}  figures")
    for kind, r in rows.items():
        figs = "  ".join(f"{k} {v:.1%}" for k, v in r.items() if k != "n")
        print(f"{kind:<10} {r['n']:>5}  {figs}")


ABLATIONS = {  # each switches one preprocessing step off
    "no polarity": dict(polarity=False),
    "no lighting": dict(flatten=False),
    "no specks": dict(despeckle=False),
    "no stroke fix": dict(stroke=False),
    "no centring": dict(centre=False),
    "no paper step": dict(paper=False),  # ruled lines and the page's edge taken for ink
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", default=None, help="model bundle [default: the shipped model]")
    ap.add_argument("--per-kind", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ablation", action="store_true", help="also run with each preprocessing step off")
    ap.add_argument("--digits", choices=["test", "val"], default="test",
                    help="make the images from MNIST test digits, or from the last 5,000 training digits "
                         "(for choosing settings without looking at the test set)")
    args = ap.parse_args(argv)

    mnist = load_mnist()
    rec = Recognizer(args.bundle)
    start = time.perf_counter()
    x, y = (mnist.x_test, mnist.y_test) if args.digits == "test" else (mnist.x_train[-5000:], mnist.y_train[-5000:])
    samples = synth.generate(x, y, args.per_kind, seed=args.seed)
    print(f"bundle {rec.bundle_dir} ({rec.meta.name}); {len(samples)} images generated from MNIST "
          f"{args.digits} digits in {time.perf_counter() - start:.1f} s; calibration {rec.calibration}")
    start = time.perf_counter()
    print_table("digitrec", evaluate(rec, samples))
    print(f"({(time.perf_counter() - start) / len(samples) * 1000:.1f} ms per image, one at a time)")
    print_table("naive: whole image resized to 28x28", evaluate_naive(rec, samples))
    if args.ablation:
        for name, off in ABLATIONS.items():
            variant = rec.with_options(replace(preprocess.DEFAULT_OPTIONS, **off))
            print_table(f"ablation: {name}", evaluate(variant, samples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
