"""Canvas drawings with brushes from 8 to 40 px: read right, refused, read wrong, per brush width.

    python benchmarks/drawings.py [--bundle DIR ...] [-n 1000] [--seed 7] [--digits test|val]

Each drawing is an MNIST digit's centre line traced with a round brush on a 280x280 canvas, white
on black, sent as the canvas sends it (RGBA PNG); see core.synth.drawings. "read right" counts a
digit only when the status is `ok` and the digit is right; "refused" is `uncertain` or `no_digit`.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere: core/ is beside
import numpy as np

from core import bundle, synth
from core.data import load_mnist
from core.recognizer import Recognizer

BANDS = ((8, 15), (16, 23), (24, 31), (32, 40))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", action="append", help="bundle(s) [default: every shipped bundle]")
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--digits", choices=["test", "val"], default="test",
                    help="MNIST test digits, or the last 5,000 training digits (to choose settings)")
    args = ap.parse_args(argv)
    m = load_mnist()
    x, y = (m.x_test, m.y_test) if args.digits == "test" else (m.x_train[-5000:], m.y_train[-5000:])
    start = time.perf_counter()
    samples = synth.drawings(x, y, args.n, seed=args.seed)
    print(f"{len(samples)} drawings from MNIST {args.digits} digits (seed {args.seed}) in "
          f"{time.perf_counter() - start:.1f} s")
    brushes = np.array([b for _, _, b in samples])
    for path in args.bundle or [str(bundle.ARTIFACTS / n) for n in bundle.SHIPPED]:
        rec = Recognizer(path)
        start = time.perf_counter()
        preds = rec.predict_many([png for png, _, _ in samples])
        secs = time.perf_counter() - start
        ok = np.array([p.status == "ok" for p in preds])
        right = np.array([p.guess == label for p, (_, label, _) in zip(preds, samples)])
        print(f"\n{path}: {secs / len(samples) * 1000:.1f} ms per drawing")
        print(f"{'brush px':<10} {'n':>5} {'read right':>11} {'refused':>8} {'read wrong':>11} {'best guess right':>17}")
        for lo, hi in BANDS + ((8, 40),):
            sel = (brushes >= lo) & (brushes <= hi)
            print(f"{f'{lo}-{hi}':<10} {sel.sum():>5} {np.mean(ok[sel] & right[sel]):>11.1%} "
                  f"{np.mean(~ok[sel]):>8.1%} {np.mean(ok[sel] & ~right[sel]):>11.1%} {np.mean(right[sel]):>17.1%}")
        by_status = {s: sum(p.status == s for p in preds) for s in ("uncertain", "no_digit")}
        print(f"refused as: {by_status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
