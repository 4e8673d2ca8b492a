"""What the inside-the-network views cost on this machine, and prints one line per figure:

- training with and without the per-epoch snapshots (baseline and improved, their recipes);
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
    class NoRecording(inside.Recording):  # the same training, nothing taken
        def take(self, model, epoch):
            if not self.epochs:
                super().take(model, epoch)

    for kind in ("linear", "mlp"):
        cfg = models.spec(kind).defaults
        times = {"without": [], "with": []}
        with tempfile.TemporaryDirectory() as tmp:
            # without, with, with, without: the first run of a process pays TensorFlow's warm-up
            for i, (label, recording) in enumerate((("without", NoRecording), ("with", inside.Recording),
                                                    ("with", inside.Recording), ("without", NoRecording))):
                inside_recording, inside.Recording = inside.Recording, recording
                try:
                    start = time.perf_counter()
                    train.train(cfg, mnist, Path(tmp) / f"{label}-{i}")
                    times[label].append(time.perf_counter() - start)
                finally:
                    inside.Recording = inside_recording
        best = {k: min(v) for k, v in times.items()}
        print(f"train {kind} ({cfg.epochs} epochs), best of 2: {best['without']:.1f} s without snapshots, "
              f"{best['with']:.1f} s with: {best['with'] / best['without'] - 1:+.1%}", flush=True)


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
