"""The style-shift suite: how a bundle reads digits in every style and refuses every non-digit family.

    python benchmarks/styles.py [--bundle artifacts/cnn] [--per-style 1000] [--numbers 1000] [--variants] [--signs] [--json F]
    python benchmarks/styles.py --calibration [--bundle artifacts/cnn]

Images are made from MNIST *test* digits (core/styles.py, core/suite.py), prepared as the dashboard
does, and cached in $DIGITREC_HOME/suite. "seen" styles are in the shipped CNN's training and
calibration; "HELD OUT" ones are not: they estimate the next person's handwriting. Columns: read
right (answered ok, right digit), misread (answered ok, wrong digit), refused (uncertain or
no_digit), then which test refused (sparse = too little ink, thickness, other = the network's
"not a digit" class, gate, novelty, low_confidence, blank = no ink found). --variants repeats the
table's summary with each refusal test switched off, to show what each is worth. --signs lists,
for each letter family, how often each sign is given a digit and as which. --calibration scores
instead the images calibration chooses the thresholds on (the bundle's validation digits, 1,000 in
each seen style, calibration's seed): the figures a choice between bundles may look at.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere: core/ is beside
import numpy as np

from core import bundle, calibrate, nondigits, styles, suite, synth
from core.data import home_dir, load_mnist
from core.recognizer import Recognizer


def pct(v) -> str:
    return f"{100 * v:5.1f}%"


def table(rows) -> str:
    w = max([len("style")] + [len(r["style"]) for r in rows])  # the longest name sets the first column
    out = [f"{'style':<{w}} {'':<8} {'read right':>10} {'misread':>8} {'refused':>8}  refused by"]
    for r in rows:
        by = ", ".join(f"{k} {100 * v:.1f}" for k, v in r["by"].items())
        tag = "seen" if r["seen"] else "HELD OUT"
        if r["kind"] == "digit":
            out.append(f"{r['style']:<{w}} {tag:<8} {pct(r['read_right']):>10} {pct(r['misread']):>8} "
                       f"{pct(r['refused']):>8}  {by}")
        elif r["kind"] == "number":
            out.append(f"{r['style']:<{w}} {tag:<8} {pct(r['read_right']):>10} {'':>8} {'':>8}  read exactly")
        else:
            out.append(f"{r['style']:<{w}} {tag:<8} {'':>10} {'':>8} {pct(r['refused']):>8}  {by}")
    return "\n".join(out)


def summary(rows) -> dict:
    digits = [r for r in rows if r["kind"] == "digit"]
    others = [r for r in rows if r["kind"] == "nondigit"]
    worst = lambda rs, key: max(rs, key=lambda r: r[key]) if rs else None  # noqa: E731
    out = {}
    for name, group in (("seen", [r for r in digits if r["seen"]]), ("held_out", [r for r in digits if not r["seen"]])):
        if group:
            w, m = worst(group, "refused"), worst(group, "misread")
            out[f"{name}_worst_refused"] = (w["style"], w["refused"])
            out[f"{name}_worst_misread"] = (m["style"], m["misread"])
    if others:
        out["nondigits_refused"] = float(np.mean([r["refused"] for r in others]))
        low = min(others, key=lambda r: r["refused"])
        out["nondigit_family_lowest"] = (low["style"], low["refused"])
    return out


def signs(cols, preds: dict, per_style: int) -> str:
    """For each letter family: per sign, how many of its images were given a digit, and which.
    `preds`: each column's Predictions, by name."""
    out = []
    for col in cols:
        if not col.name.startswith("letters_"):
            continue
        sign = [im.info["sign"] for im in nondigits.suite_nondigits(col.name, per_style, suite.SUITE_SEED)]
        total, given = Counter(sign), {ch: Counter() for ch in set(sign)}
        for ch, p in zip(sign, preds[col.name]):
            if p.status == "ok":
                given[ch][p.guess] += 1
        rows = sorted(total, key=lambda ch: (-given[ch].total() / total[ch], ch))
        out.append(f"{col.name}, given a digit (most often as): " + "  ".join(
            f"{ch} {given[ch].total()}/{total[ch]}"
            + (f" ({','.join(str(d) for d, _ in given[ch].most_common(2))})" if given[ch] else "")
            for ch in rows))
    return "\n".join(out)


def numbers_row(rec, mnist, n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    right = 0
    for _ in range(n):
        idx = rng.integers(len(mnist.x_test), size=int(rng.integers(2, 7)))
        reading = rec.read(synth.number([mnist.x_test[k] for k in idx], rng))
        right += reading.text == "".join(str(mnist.y_test[k]) for k in idx)
    return {"style": "number", "kind": "number", "seen": False, "n": n, "read_right": right / max(1, n), "by": {}}


def calibration_table(bundle_dir: Path) -> None:
    """Read right / misread / refused on the images calibration chose the bundle's thresholds on."""
    rec = Recognizer(bundle_dir)
    mnist = load_mnist()
    n_val = rec.meta.val_images or 5000  # calibrate_bundle's validation digits
    x, y = mnist.x_train[-n_val:], mnist.y_train[-n_val:]
    rows = []
    for name, (images, labels) in calibrate.calibration_set(rec, x, y, calibrate.PER_STYLE, calibrate.SEED).items():
        col = suite.Column(name, "digit", True, images, np.zeros(len(images), bool), labels, np.full(len(images), -1))
        rows.append(suite.score(col, suite.judge(rec.classify, col)))
    print(f"{bundle_dir}: calibration's images ({n_val} validation digits, {calibrate.PER_STYLE} per style)")
    print(table(rows))
    bold = [r["misread"] for r in rows if r["style"].startswith("bold")]
    print(f"bold styles misread, summed: {100 * sum(bold):.1f} points")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", type=Path, default=bundle.PRETRAINED)
    ap.add_argument("--per-style", type=int, default=suite.PER_STYLE)
    ap.add_argument("--numbers", type=int, default=1000, help="2-6 digit numbers read (0: none)")
    ap.add_argument("--variants", action="store_true", help="also each refusal test switched off")
    ap.add_argument("--signs", action="store_true", help="also, per sign of the letter families, how often it is given a digit")
    ap.add_argument("--json", type=Path, help="write the rows here")
    ap.add_argument("--calibration", action="store_true", help="score calibration's validation images instead")
    args = ap.parse_args()
    if args.calibration:
        return calibration_table(args.bundle)

    start = time.perf_counter()
    mnist = load_mnist()
    cache = home_dir() / "suite"
    cols = [suite.column(name, mnist, args.per_style, cache) for name in suite.names()]
    made = time.perf_counter() - start
    rec = Recognizer(args.bundle)
    preds = {c.name: suite.judge(rec.classify, c) for c in cols}
    rows = [suite.score(c, preds[c.name]) for c in cols]
    if args.numbers:
        rows.append(numbers_row(rec, mnist, args.numbers, suite.SUITE_SEED))
    print(f"{args.bundle}: {args.per_style} images per style from MNIST test digits "
          f"(suite made or loaded in {made:.0f} s, scored in {time.perf_counter() - start - made:.0f} s)")
    print(table(rows))
    s = summary(rows)
    print(json.dumps(s, indent=1))
    if args.signs:
        print(signs(cols, preds, args.per_style))
    variants = {}
    if args.variants:
        cal = rec.calibration
        for test in rec.tests_asked():  # each one switched off as calibration does it
            judged = rec.with_calibration({**cal, "switched_off": [*cal.get("switched_off", ()), test]}, rec.novelty)
            variants[f"without {test}"] = summary([suite.score(c, suite.judge(judged.classify, c)) for c in cols])
            print(f"without {test}:", json.dumps(variants[f"without {test}"]))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "summary": s, "variants": variants}, indent=1))


if __name__ == "__main__":
    main()
