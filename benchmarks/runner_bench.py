"""Training from the dashboard against the command line: the same settings, wall time each.

    python benchmarks/runner_bench.py [--repeat 1]

For the baseline (5 epochs) and the improved network (10 epochs), with the recipe's settings:
- CLI: `python -m core train MODEL --out DIR`, timed from the command's start to its exit;
- page: `core.runner.start` (what the Train button calls), timed from the call to the worker's
  `end` event. Both include TensorFlow's import, loading MNIST, training, scoring and saving.
Runs go to a scratch folder, not artifacts/runs.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from core import models, runner  # noqa: E402


def cli(model: str, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "core", "train", model, "--seed", "0", "--out", str(out)], cwd=ROOT,
                   check=True, capture_output=True)
    return time.perf_counter() - start


def page(model: str, runs: Path) -> tuple[float, dict]:
    start = time.perf_counter()
    runner.start([models.spec(model).defaults.with_(seed=0)], runs)
    while True:
        job = runner.latest(runs)
        if job.state != "running":
            break
        time.sleep(0.05)
    assert job.state == "done", job.error
    return time.perf_counter() - start, job.of("saved")[0]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print(f"{'model':<8} {'CLI s':>7} {'page s':>7} {'ratio':>6}  test accuracy (CLI / page)")
        for model in ("linear", "mlp"):
            for i in range(args.repeat):
                t_cli = cli(model, tmp / f"cli-{model}-{i}")
                t_page, saved = page(model, tmp / "runs")
                from core.bundle import read_meta

                acc = read_meta(tmp / f"cli-{model}-{i}").test_accuracy
                print(f"{model:<8} {t_cli:>7.1f} {t_page:>7.1f} {t_page / t_cli:>6.2f}  "
                      f"{acc:.2%} / {saved['test_accuracy']:.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
