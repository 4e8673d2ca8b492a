"""Which score tells a digit from a non-digit best? The 11th class against scores on the
classifier's own features, alone and beside it.

    python benchmarks/scores.py [--bundle artifacts/cnn] [--per-style 1000]

Only calibration's side is looked at: the bundle's validation digits in every seen style
(calibrate.calibration_set, calibration's seed) and fresh images of the seen non-digit families.
Each candidate gets its threshold as calibration sets the shape tests (calibrate.split_budgets):
alone in the 11th class's place, or beside the 11th class in the gate's place, the budgets that
refuse the most seen non-digits (seed + 2) while no calibration style loses more than 1% of its
digits to all tests together. Then, with those thresholds: the worst style, seen non-digits drawn
anew (seed + 3) and calibration's generated non-digits (`synth`, seed + 1), the figures the shipped
calibration records. The images are made once and kept in $DIGITREC_HOME/scores.

Candidates (high = unlike a digit): `other` (the 11th class's probability, what ships), `energy`
(minus the log-sum-exp of the ten digit logits), `max_logit` (minus the largest digit logit),
`novelty` (the bundle's Mahalanobis distance to the nearest digit class), `rel_novelty` (that
distance squared less the distance to all digits as one Gaussian: relative Mahalanobis) and `gate`
(the bundle's digit-or-not network).
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

from core import bundle, calibrate, models, preprocess, styles, synth
from core.data import home_dir, load_mnist
from core.recognizer import Recognizer


def digit_logits(rec: Recognizer, feats: np.ndarray) -> np.ndarray:
    """The ten digit logits, from the features the last (linear) Dense layer reads."""
    w, b = (np.asarray(v, np.float64) for v in models.head(rec.model).get_weights())
    return (feats @ w + b)[:, :10]


class Relative:
    """Relative Mahalanobis: the bundle's class-conditional distance squared, less the distance to
    the training digits' features as one Gaussian (in the same PCA space)."""

    def __init__(self, novelty, feats: np.ndarray):
        self.novelty = novelty
        z = novelty.project(feats)
        self.centre = z.mean(axis=0)
        cov = np.cov(z - self.centre, rowvar=False) + 1e-6 * np.eye(z.shape[1])
        self.precision = np.linalg.inv(cov)

    def score(self, feats: np.ndarray) -> np.ndarray:
        z = self.novelty.project(feats) - self.centre
        background = np.einsum("nd,de,ne->n", z, self.precision, z)
        return self.novelty.score(feats) ** 2 - background


def candidates(rec: Recognizer, relative: Relative, images: np.ndarray) -> dict:
    """{candidate: score per image} and where the tests before the shape tests refuse (`fixed`)."""
    p, feats, other = rec.forward(images)
    logits = digit_logits(rec, feats)
    top = logits.max(axis=1)
    before = {k: v for k, v in rec.calibration.items() if k not in ("other_threshold", "gate_threshold")}
    out = {"fixed": rec.with_calibration(before, rec.novelty).refused(images, (p, feats, other)), "other": other,
           "energy": -(top + np.log(np.exp(logits - top[:, None]).sum(axis=1))),
           "max_logit": -top}
    if rec.novelty is not None:
        out["novelty"] = rec.novelty.score(feats)
        out["rel_novelty"] = relative.score(feats)
    if rec.has_gate:
        out["gate"] = 1 - rec.digit_scores(images)
    return out


def sets(rec: Recognizer, mnist, per_style: int, cache: Path) -> dict:
    """{name: prepared images}: calibration's digits per style ("digits.<style>") and the three
    non-digit sets."""
    n_val = rec.meta.val_images or 5000
    x, y = mnist.x_train[-n_val:], mnist.y_train[-n_val:]

    def make():
        out = {f"digits.{k}": v for k, v in calibrate.calibration_images(rec, x, y, per_style, calibrate.SEED).items()}
        out["choice"] = calibrate.seen_nondigits(rec, per_style // 2, calibrate.SEED + 2)
        out["fresh"] = calibrate.seen_nondigits(rec, per_style // 2, calibrate.SEED + 3)
        rng = np.random.default_rng(calibrate.SEED + 1)
        out["synth"] = np.stack([rec.prepare(synth.nondigit(rng)).image for _ in range(per_style)])
        return out

    keys = [f"digits.{k}" for k in ("photo", "canvas", *(n for n, s in styles.DIGIT_STYLES.items() if s.seen))]
    name = f"sets-{per_style}-val{n_val}-traced{int(rec.meta.traced_letters > 0)}-pre{preprocess.PREPROCESS_VERSION}.npz"
    return bundle.cached_arrays(cache / name, (*keys, "choice", "fresh", "synth"), make)


def judge(chosen: dict, scored: dict) -> dict:
    """Worst style refused, and the share of each non-digit set refused, with `chosen`
    ({candidate: threshold}, high refuses)."""
    def refused(s):
        r = s["fixed"].copy()
        for name, t in chosen.items():
            r |= s[name] > t
        return r

    digits = {k: float(np.mean(refused(s))) / calibrate.WIDER.get(k.split(".", 1)[1], 1.0)
              for k, s in scored.items() if k.startswith("digits.")}
    worst = max(digits, key=digits.get)
    return {"worst": digits[worst], "worst_style": worst.split(".", 1)[1],
            **{k: float(np.mean(refused(scored[k]))) for k in ("choice", "fresh", "synth")}}


def choose(scored: dict, first: str, second: str | None) -> tuple[dict, dict]:
    """The thresholds split_budgets picks for `first` (the 11th class's place) and `second` (the
    gate's place, or None), and their budgets."""
    styles_ = {k.split(".", 1)[1]: s for k, s in scored.items() if k.startswith("digits.")}
    nd = scored["choice"]
    # split_budgets's gate slot refuses low scores: hand it the negated candidate
    picked = calibrate.split_budgets(
        {k: s["fixed"] for k, s in styles_.items()},
        {k: s[first] for k, s in styles_.items()},
        {k: -s[second] for k, s in styles_.items()} if second else None,
        (nd["fixed"], nd[first], -nd[second] if second else None))
    (bo, to), (bg, tg) = picked["other"], picked["gate"]
    chosen = {first: to} if to is not None else {}
    if second and tg is not None:
        chosen[second] = -tg
    return chosen, {first: bo, **({second: bg} if second else {})}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", type=Path, default=bundle.PRETRAINED)
    ap.add_argument("--per-style", type=int, default=calibrate.PER_STYLE)
    args = ap.parse_args()
    start = time.perf_counter()
    mnist = load_mnist()
    rec = Recognizer(args.bundle)
    images = sets(rec, mnist, args.per_style, home_dir() / "scores")
    relative = Relative(rec.novelty, rec.forward(mnist.x_train[:10000])[1]) if rec.novelty else None
    scored = {k: candidates(rec, relative, v) for k, v in images.items()}
    names = [k for k in next(iter(scored.values())) if k != "fixed"]
    print(f"{args.bundle}: calibration's images ({args.per_style} validation digits per seen style); "
          "thresholds chosen on seen non-digits (seed + 2)")
    print(f"{'tests':<22} {'budgets':<22} {'worst style':>18} {'choice':>7} {'fresh seen':>10} {'synth':>6}")
    rows = [(n, None) for n in names] + [("other", n) for n in names if n != "other"]
    for first, second in rows:
        chosen, budgets = choose(scored, first, second)
        r = judge(chosen, scored)
        label = first + (f" + {second}" if second else "")
        spent = ", ".join(f"{v:.2%}" for v in budgets.values())
        print(f"{label:<22} {spent:<22} {r['worst_style']:>11} {r['worst']:>6.1%} {r['choice']:>7.1%} "
              f"{r['fresh']:>10.1%} {r['synth']:>6.1%}", flush=True)
    print(f"({(time.perf_counter() - start) / 60:.1f} min)")


if __name__ == "__main__":
    main()
