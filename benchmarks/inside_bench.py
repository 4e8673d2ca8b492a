"""What the inside-the-network views cost on this machine, and prints one line per figure:

- the per-epoch snapshots' share of a training (baseline and improved, their recipes);
- the snapshots' file size in each shipped bundle;
- one image through the model worker's `inside` call (what the Draw page's Inside view waits for);
- the Map: the test set placed on each shipped model's main feature axes, first time and from disk.

    python benchmarks/inside_bench.py [--repeats 50] [--skip-training]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere: core/ is beside
from core import bundle, inside, models, train  # noqa: E402
from core.data import load_mnist  # noqa: E402
from core.service import Service  # noqa: E402


def training_overhead(mnist) -> None:
    """The snapshots' cost measured where it is paid: the time spent taking them (a validation
    pass and a copy of the weights) and writing the live file after each epoch, as the training
    worker does, against the whole training. Timing two whole trainings against each other on
    this shared 2-core machine moved by more than the cost itself (+/-10% between equal runs)."""
    spent = [0.0]

    class Timed(inside.Recording):
        def take(self, model, epoch):
            start = time.perf_counter()
            super().take(model, epoch)
            spent[0] += time.perf_counter() - start

    def write_live(path, snaps):
        start = time.perf_counter()
        inside.write_snapshots(path, snaps)
        spent[0] += time.perf_counter() - start

    for kind in ("linear", "mlp"):
        cfg = models.spec(kind).defaults
        spent[0] = 0.0
        with tempfile.TemporaryDirectory() as tmp:
            recording, inside.Recording = inside.Recording, Timed
            try:
                start = time.perf_counter()
                train.train(cfg, mnist, Path(tmp) / kind, on_snapshot=lambda s: write_live(Path(tmp) / "live.npz", s))
                total = time.perf_counter() - start
            finally:
                inside.Recording = recording
        print(f"train {kind} ({cfg.epochs} epochs): {total:.1f} s, of which {spent[0]:.2f} s taking and writing "
              f"snapshots: {spent[0] / (total - spent[0]):+.1%}", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--skip-training", action="store_true")
    args = ap.parse_args(argv)
    mnist = load_mnist()
    if not args.skip_training:
        training_overhead(mnist)
    shipped = [bundle.ARTIFACTS / n for n in bundle.SHIPPED]
    for b in shipped:
        f = b / inside.SNAPSHOT_FILE
        print(f"{b.name}: {f.stat().st_size / 1e6:.2f} MB of snapshots" if f.is_file() else f"{b.name}: no snapshots")
    service = Service().start()
    try:
        for b in shipped:
            service.inside(b, mnist.x_test[0])  # loads the model, builds its probe
            times = []
            for i in range(args.repeats):
                start = time.perf_counter()
                service.inside(b, mnist.x_test[i])
                times.append((time.perf_counter() - start) * 1000)
            print(f"{b.name}: inside view of one image through the model worker: median {statistics.median(times):.0f} ms, "
                  f"p95 {sorted(times)[int(0.95 * len(times)) - 1]:.0f} ms", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            for b in shipped:
                where = Path(tmp) / f"{b.name}.npz"
                start = time.perf_counter()
                bundle.cached_arrays(where, ("coords", "refused"), lambda: service.map(b, mnist.x_test))
                first = time.perf_counter() - start
                start = time.perf_counter()
                bundle.cached_arrays(where, ("coords", "refused"), lambda: service.map(b, mnist.x_test))
                print(f"{b.name}: map of the 10,000 test images {first:.1f} s first time, "
                      f"{(time.perf_counter() - start) * 1000:.0f} ms from disk", flush=True)
    finally:
        service.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
