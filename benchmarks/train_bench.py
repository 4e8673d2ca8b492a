"""Train the networks side by side on this machine and print one table.

    python benchmarks/train_bench.py [--models linear,mlp,keras_example,cnn_fast,cnn] [--out DIR]

Each model trains with its own defaults (digitrec.models.MODELS) on the 55,000-image training
part, validates on the last 5,000 training images, and is scored once on the 10,000 test images.
`cnn` here is the shipped model's recipe (which `make pretrained` then fits on all 60,000).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere: core/ is beside
from core import bundle, models, train
from core.data import load_mnist
from core.evaluate import predict_proba


def inference_rate(bundle_dir, x) -> float:
    model, _ = bundle.load(bundle_dir)
    predict_proba(model, x[:1000])  # warm up
    start = time.perf_counter()
    predict_proba(model, x)
    return len(x) / (time.perf_counter() - start)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="linear,mlp,keras_example,cnn_fast,cnn")
    ap.add_argument("--out", default="bundles/bench")
    args = ap.parse_args(argv)
    mnist = load_mnist()
    rows = []
    for name in args.models.split(","):
        cfg = models.spec(name).defaults
        out = os.path.join(args.out, name)
        start = time.perf_counter()
        meta = train.train(cfg, mnist, out)
        wall = time.perf_counter() - start
        rows.append((name, meta["parameters"], cfg.epochs, meta["train_seconds"], wall,
                     meta["val_accuracy"], meta["test_accuracy"], inference_rate(out, mnist.x_test)))
        print(f"done {name}: test {meta['test_accuracy']:.2%} in {wall:.0f} s", file=sys.stderr, flush=True)
    print(f"\n{time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, no GPU")
    print("| model | parameters | epochs | fit s | wall s | val acc | test acc | inference img/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, params, epochs, fit, wall, val, test, rate in rows:
        print(f"| {name} | {params:,} | {epochs} | {fit:.0f} | {wall:.0f} | {val:.2%} | {test:.2%} | {rate:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
