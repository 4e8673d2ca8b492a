"""The style-shift suite: MNIST *test* digits in every style of core.styles and every non-digit
family, prepared as the dashboard prepares what people send, and scored per style: read right,
misread, refused, and which test refused."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import bundle, nondigits, preprocess, styles
from .recognizer import REASONS, blank_prediction

SUITE_SEED = 2026  # fixed: the same images for every model and every run
PER_STYLE = 1000
# Bump when a style's or family's generator makes other images (2: letters_hand draws the dot of
# ! and ?), so that no cache of the suite's images, or of a model's answers on them, is reused.
GENERATORS = 2


def tag() -> str:
    """What the suite's images are, besides their number: part of every cache name for them."""
    return f"seed{SUITE_SEED}-gen{GENERATORS}-pre{preprocess.PREPROCESS_VERSION}"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "digit" or "nondigit"
    seen: bool  # in the shipped CNN's training (and calibration); else held out
    images: np.ndarray  # (N, 28, 28) uint8 as the network sees them (BLANK where no ink was found)
    blank: np.ndarray  # (N,) bool: preprocessing found no ink
    labels: np.ndarray  # (N,) true digits; -1 for non-digits
    index: np.ndarray  # (N,) MNIST test index of each digit; -1 for non-digits


def column(name: str, mnist, n: int = PER_STYLE, cache_dir: str | Path | None = None) -> Column:
    """One style's (or non-digit family's) images, made once and kept as .npz in `cache_dir`
    (keyed by size and `tag()`)."""
    is_digit = name in styles.DIGIT_STYLES
    if not is_digit and name not in nondigits.NONDIGIT_FAMILIES:
        raise ValueError(f"unknown style {name!r}")
    seen = (styles.DIGIT_STYLES[name] if is_digit else nondigits.NONDIGIT_FAMILIES[name]).seen
    path = Path(cache_dir) / f"style-{name}-{n}-{tag()}.npz" if cache_dir else None

    def make() -> dict:
        if is_digit:
            raw, labels, index = styles.suite_digits(name, mnist.x_test, mnist.y_test, n, SUITE_SEED)
            labels, index = labels.astype(int), index.astype(int)
        else:
            raw = nondigits.suite_nondigits(name, n, SUITE_SEED)
            labels = index = np.full(n, -1)
        images, blank = preprocess.prepare_all(raw)
        return {"x": images, "blank": blank, "y": labels, "index": index}

    a = bundle.cached_arrays(path, ("x", "blank", "y", "index"), make)
    return Column(name, "digit" if is_digit else "nondigit", seen, a["x"], a["blank"], a["y"], a["index"])


def names(kind: str | None = None) -> list[str]:
    """Every column of the suite: digit styles first, then non-digit families."""
    out = []
    if kind in (None, "digit"):
        out += list(styles.DIGIT_STYLES)
    if kind in (None, "nondigit"):
        out += list(nondigits.NONDIGIT_FAMILIES)
    return out


def judge(classify, col: Column) -> list:
    """A Prediction for every image of the column (blank ones too). `classify`: a recognizer's
    `classify`, or anything that maps a batch of 28x28 images to their Predictions."""
    live = np.flatnonzero(~col.blank)
    preds = [blank_prediction() for _ in range(len(col.images))]
    for i, p in zip(live, classify(col.images[live]) if len(live) else []):
        preds[i] = p
    return preds


def score(col: Column, preds) -> dict:
    """One row of the table: shares of read right, misread and refused, refusals split by test."""
    n = max(1, len(preds))
    refused = [p.reason for p in preds if p.status != "ok"]
    row = {"style": col.name, "kind": col.kind, "seen": col.seen, "n": len(preds),
           "refused": len(refused) / n,
           "by": {r: refused.count(r) / n for r in REASONS if r in refused}}
    if col.kind == "digit":
        ok = np.array([p.status == "ok" for p in preds])
        guess = np.array([-1 if p.guess is None else p.guess for p in preds])
        row["read_right"] = float(np.mean(ok & (guess == col.labels)))
        row["misread"] = float(np.mean(ok & (guess != col.labels)))
        row["guess_right"] = float(np.mean(guess == col.labels))
    else:
        row["given_a_digit"] = 1 - row["refused"]
    return row


def risk_coverage(confidences, correct, refused, thresholds=None) -> dict:
    """As the confidence threshold moves (the other tests fixed): the share of digits answered
    (coverage) and the share of those answers that are wrong (risk)."""
    conf, correct, refused = (np.asarray(a) for a in (confidences, correct, refused))
    ts = np.unique(np.concatenate([[0.0], np.quantile(conf, np.linspace(0, 1, 101))])) if thresholds is None else thresholds
    cov, risk = [], []
    for t in ts:
        answered = (conf >= t) & ~refused
        cov.append(float(answered.mean()) if len(conf) else 0.0)
        risk.append(float(1 - correct[answered].mean()) if answered.any() else 0.0)
    return {"threshold": [float(t) for t in ts], "coverage": cov, "risk": risk}


def report(cols: list, classify) -> dict:
    """Everything the Refusals view shows, as plain data (it is cached as JSON): a row per column,
    per image its outcome, and the risk-coverage curve over every digit style with the point
    where the model operates. `classify`: as for `judge`."""
    preds = {c.name: judge(classify, c) for c in cols}
    rows = [score(c, preds[c.name]) for c in cols]
    images = {c.name: {"status": [p.status for p in preds[c.name]], "reason": [p.reason for p in preds[c.name]],
                       "guess": [-1 if p.guess is None else p.guess for p in preds[c.name]],
                       "confidence": [p.confidence for p in preds[c.name]]} for c in cols}
    digits = [c for c in cols if c.kind == "digit"]
    conf = np.concatenate([images[c.name]["confidence"] for c in digits]) if digits else np.zeros(0)
    correct = np.concatenate([np.asarray(images[c.name]["guess"]) == c.labels for c in digits]) if digits else np.zeros(0, bool)
    reasons = np.concatenate([images[c.name]["reason"] for c in digits]) if digits else np.zeros(0)
    by_other_test = ~np.isin(reasons, ["", "low_confidence"])
    answered = (reasons == "") if digits else np.zeros(0, bool)
    point = (float(answered.mean()), float(1 - correct[answered].mean()) if answered.any() else 0.0) if digits else None
    return {"rows": rows, "images": images, "curve": risk_coverage(conf, correct, by_other_test), "point": point}


def outcome_of(report_: dict, col: Column, outcome: str) -> np.ndarray:
    """Positions of the column's images with that outcome ("read right", "misread", or a test's
    name), most confident guess first."""
    im = report_["images"][col.name]
    status, reason = np.asarray(im["status"]), np.asarray(im["reason"])
    guess, conf = np.asarray(im["guess"]), np.asarray(im["confidence"])
    if outcome in ("read right", "misread"):
        right = guess == col.labels if col.kind == "digit" else np.zeros(len(guess), bool)
        hit = (status == "ok") & (right if outcome == "read right" else ~right)
    else:
        hit = (status != "ok") & (reason == outcome)
    idx = np.flatnonzero(hit)
    return idx[np.argsort(-conf[idx], kind="stable")]
