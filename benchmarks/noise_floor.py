"""Could a noise floor tell empty, grainy paper from a faint digit? Prints, per style and family,
the ink's signal-to-noise ratio as preprocessing finds it: the median ink on the ink mask over the
spread of the ink map on the paper around it (at least 2 px away).

    python benchmarks/noise_floor.py [--per-style 200]

Digits come from the validation digits (the last 5,000 training images), as calibration makes
them: synth's photos and canvases, and every style of core.styles (held-out styles marked *);
then four non-digit families (marked #). A floor set the principled way (the worst calibration
style's lowest quantile) is read off the first rows; what it would cost the held-out styles and
what it would refuse of noisy paper, off the others.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from scipy import ndimage as ndi  # noqa: E402

from core import data, nondigits, preprocess, styles, synth  # noqa: E402


def snr(image) -> float:
    _, _, ink, _, mask, _ = preprocess._analyse(image, preprocess.DEFAULT_OPTIONS)
    if not mask.any():
        return np.inf  # blank already
    paper = ~ndi.binary_dilation(mask, iterations=2)
    noise = float(ink[paper].std()) if paper.any() else 0.0
    return float(np.median(ink[mask])) / max(noise, 1e-6)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-style", type=int, default=200)
    args = ap.parse_args()
    n = args.per_style
    mnist = data.load_mnist()
    x, y = mnist.x_train[-5000:], mnist.y_train[-5000:]
    rows = {}
    made = synth.generate(x, y, n, seed=12345)
    for kind in ("photo", "canvas"):
        rows[kind] = [snr(s.data) for s in made if s.kind == kind]
    rng = np.random.default_rng(5)
    for name, style in styles.DIGIT_STYLES.items():
        if name != "number":
            images, _, _ = styles.suite_digits(name, x, y, n, int(rng.integers(1 << 30)))
            rows[name + ("" if style.seen else " *")] = [snr(i) for i in images]
    for family in ("noisy_paper", "blank_paper", "texture", "scribble"):
        frng = np.random.default_rng(99)
        rows[family + " #"] = [snr(nondigits.NONDIGIT_FAMILIES[family].make(frng)) for _ in range(n)]
    print(f"signal-to-noise of the ink, {n} images each (* held-out digit style, # non-digit family)")
    print(f"{'':16}{'0.5%':>9}{'1%':>9}{'median':>10}{'<4':>8}{'<6':>8}{'<8':>8}")
    for name, values in rows.items():
        a = np.asarray(values)
        if not np.isfinite(a).any():
            print(f"{name:16}  every image blank (no ink found)")
            continue
        low = [np.quantile(a, q) for q in (0.005, 0.01, 0.5)]  # blank images count as +inf
        print(f"{name:16}" + "".join(f"{v:9.1f}" for v in low[:2]) + f"{low[2]:10.1f}"
              + "".join(f"{np.mean(a < t):8.1%}" for t in (4, 6, 8)), flush=True)


if __name__ == "__main__":
    main()
