"""How good a bundle is on the MNIST test set: metrics, plots and a self-contained report."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import bundle, preprocess, styles, suite, synth

HALF = 5000  # MNIST's test set: first and last 5,000 come from different writer pools

# What a model can be scored on: MNIST's own test set, or test digits made to look like what
# people send (core.synth), then preprocessed as the dashboard does. {name: (label, size)}
SETS = {
    "mnist": ("MNIST test set (10,000 digits)", 10000),
    "drawings": ("canvas drawings of test digits, brushes 8-40 px (1,000)", 1000),
    "photos": ("phone photos of test digits (500)", 500),
}
# ... and MNIST test digits in each style of the style-shift suite (core/styles.py, core/suite.py)
SETS.update({f"style:{name}": (f"style {name}: {st.about}{'' if st.seen else ' (held out)'} (1,000)", suite.PER_STYLE)
             for name, st in styles.DIGIT_STYLES.items()})
SET_SEED = 2024  # fixed: the same images for every model, every run


def predict_proba(model, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Digit probabilities that sum to 1 (sigmoid outputs of the reference recipes are normalised;
    a model with an 11th "not a digit" class gives the ten digits' share, given it is a digit)."""
    out = np.asarray(model.predict(np.asarray(x, np.float32), batch_size=batch_size, verbose=0), np.float64)[:, :10]
    return out / np.clip(out.sum(axis=1, keepdims=True), 1e-12, None)


def metrics(probs: np.ndarray, y: np.ndarray, worst: int = 36) -> dict:
    """Everything the report states, from probabilities and true labels."""
    y = np.asarray(y).astype(int)
    pred = probs.argmax(axis=1)
    correct = pred == y
    p_true = np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0)
    cm = confusion_matrix(y, pred)
    precision, recall, f1, support = per_class(cm)
    wrong = np.flatnonzero(~correct)
    wrong = wrong[np.argsort(-probs[wrong, pred[wrong]], kind="stable")][:worst]
    out = {
        "images": int(len(y)),
        "accuracy": float(correct.mean()),
        "errors": int((~correct).sum()),
        "loss": float(-np.log(p_true).mean()),
        "confusion_matrix": cm.tolist(),
        "per_class": [{"digit": d, "precision": float(precision[d]), "recall": float(recall[d]),
                       "f1": float(f1[d]), "support": int(support[d])} for d in range(10)],
        "worst_mistakes": [{"index": int(i), "true": int(y[i]), "predicted": int(pred[i]),
                            "confidence": float(probs[i, pred[i]])} for i in wrong],
    }
    if len(y) == 2 * HALF:
        out["accuracy_first_half"] = float(correct[:HALF].mean())
        out["accuracy_last_half"] = float(correct[HALF:].mean())
    return out


def set_key(name: str) -> str:
    """What a set's images are, for cache names: its name and size, and for a made set how it was
    made (seed, generators, preprocessing), so that nothing cached about them outlives them."""
    n = SETS[name][1]
    if name == "mnist":
        return f"{name}-{n}"
    if name.startswith("style:"):
        return f"{name}-{n}-{suite.tag()}"
    return f"{name}-{n}-seed{SET_SEED}-pre{preprocess.PREPROCESS_VERSION}"


def evaluation_set(name: str, mnist, cache_dir: str | Path | None = None):
    """(images (N, 28, 28) uint8 as the network sees them, true labels, MNIST test index of each).
    The realistic sets take ~15 s to make, so they are kept as .npz in `cache_dir` (keyed by
    seed, size and preprocessing version: a new pipeline makes them anew)."""
    if name not in SETS:
        raise ValueError(f"unknown evaluation set {name!r}; choose one of: {', '.join(SETS)}")
    if name == "mnist":
        return mnist.x_test, mnist.y_test.astype(int), np.arange(len(mnist.y_test))
    if name.startswith("style:"):
        col = suite.column(name.split(":", 1)[1], mnist, SETS[name][1], cache_dir)
        return col.images, col.labels, col.index
    n = SETS[name][1]
    path = Path(cache_dir) / f"{set_key(name)}.npz" if cache_dir else None

    def make() -> dict:
        rng = np.random.default_rng(SET_SEED)
        index = np.sort(rng.choice(len(mnist.y_test), n, replace=False))
        x, y = mnist.x_test[index], mnist.y_test[index].astype(int)
        if name == "drawings":  # synth.drawings picks its own digits: one at a time keeps the index
            sources = [synth.drawings(x[i: i + 1], y[i: i + 1], 1, seed=SET_SEED + i)[0][0] for i in range(n)]
        else:
            sources = [synth.photo(d, rng) for d in x]
        return {"x": preprocess.prepare_all(sources)[0], "y": y, "index": index}

    a = bundle.cached_arrays(path, ("x", "y", "index"), make)
    return a["x"], a["y"], a["index"]


def cached_predictions(bundle_dir, set_name: str, compute, cache_dir: str | Path | None = None) -> np.ndarray:
    """A model's probabilities on a set, computed once by `compute()` and kept under `cache_dir`,
    keyed by the bundle's checksum: a retrained or replaced bundle is scored anew."""
    path = None if cache_dir is None else Path(cache_dir) / bundle.cache_name(bundle_dir, f"{set_name}.npz")
    return bundle.cached_arrays(path, ("probs",), lambda: {"probs": np.asarray(compute(), np.float32)})["probs"]


def normalised(cm, how: str = "count") -> np.ndarray:
    """The matrix as counts, or as shares of each row ("recall": where each true digit went) or of
    each column ("precision": what each answer really was)."""
    cm = np.asarray(cm, float)
    if how == "count":
        return cm
    axis = {"recall": 1, "precision": 0}[how]
    total = cm.sum(axis=axis, keepdims=True)
    return np.divide(cm, total, out=np.zeros_like(cm), where=total > 0)


def confused_pairs(cm, top: int = 10) -> list[dict]:
    """The off-diagonal cells with the most images, most first."""
    cm = np.asarray(cm)
    cells = [(int(cm[t, p]), t, p) for t in range(len(cm)) for p in range(len(cm)) if t != p and cm[t, p]]
    return [{"true": t, "predicted": p, "count": c, "share of true": c / max(1, int(cm[t].sum()))}
            for c, t, p in sorted(cells, key=lambda c: (-c[0], c[1], c[2]))[:top]]


def mistake_rows(probs: np.ndarray, y, index=None, true: int | None = None, predicted: int | None = None) -> list[dict]:
    """Every image read wrong (or, with `true` and `predicted`, every image of that cell, right
    or wrong), most confident first: position, MNIST test index, true, predicted, confidence,
    second choice."""
    y = np.asarray(y).astype(int)
    pred = probs.argmax(axis=1)
    if true is None:
        sel = np.flatnonzero(pred != y)
    else:
        sel = np.flatnonzero((y == true) & (pred == predicted))
    order = np.argsort(-probs[sel, pred[sel]], kind="stable")
    index = np.arange(len(y)) if index is None else np.asarray(index)
    rows = []
    for i in sel[order]:
        ranked = np.argsort(-probs[i])
        second = int(ranked[1]) if ranked[0] == pred[i] else int(ranked[0])
        rows.append({"position": int(i), "test index": int(index[i]), "true": int(y[i]), "predicted": int(pred[i]),
                     "confidence": float(probs[i, pred[i]]), "second choice": second,
                     "second confidence": float(probs[i, second])})
    return rows


def difference(y, probs_a: np.ndarray, probs_b: np.ndarray) -> dict:
    """What model B changes over model A on the same images: B's matrix minus A's, and the
    positions B fixes (A wrong, B right) and breaks (A right, B wrong)."""
    y = np.asarray(y).astype(int)
    a, b = probs_a.argmax(axis=1), probs_b.argmax(axis=1)
    return {"matrix": confusion_matrix(y, b) - confusion_matrix(y, a),
            "fixed": np.flatnonzero((a != y) & (b == y)), "broken": np.flatnonzero((a == y) & (b != y))}


def saliency(probabilities, image: np.ndarray, target: int, patch: int = 6, stride: int = 2) -> np.ndarray:
    """Occlusion saliency: how much the probability of `target` drops when a `patch`-pixel square
    of the 28x28 image is blanked, averaged over the squares covering each pixel (0..1). Large
    where the ink that drove the answer is. `probabilities`: (N, 28, 28) -> (N, 10)."""
    image = np.asarray(image, np.float32)
    spots = [(r, c) for r in range(0, 28 - patch + 1, stride) for c in range(0, 28 - patch + 1, stride)]
    batch = np.repeat(image[None], len(spots) + 1, axis=0)
    for k, (r, c) in enumerate(spots, start=1):
        batch[k, r: r + patch, c: c + patch] = 0
    p = np.asarray(probabilities(batch))[:, target]
    drop, count = np.zeros((28, 28)), np.zeros((28, 28))
    for k, (r, c) in enumerate(spots, start=1):
        drop[r: r + patch, c: c + patch] += max(0.0, p[0] - p[k])
        count[r: r + patch, c: c + patch] += 1
    return drop / np.maximum(count, 1)


def preprocessing_mismatch(meta: bundle.Meta) -> str | None:
    """Why a model's figures on the realistic sets could mislead, or None: it learned from (or was
    calibrated on) images prepared by another version of the pipeline than the one making them."""
    now = preprocess.PREPROCESS_VERSION
    trained = meta.preprocess_version
    alike = {trained, now} <= preprocess.SAME_TRAINING_IMAGES
    if meta.config.get("drawn") and trained != now and not alike:
        return (f"this model learned from drawings prepared by preprocessing version {trained}; these images are "
                f"prepared by version {now}, so its figures here may be off. Retrain it.")
    calibrated = (meta.calibration or {}).get("preprocess_version")
    if calibrated is not None and calibrated != now:
        return (f"this model's thresholds were calibrated on images prepared by preprocessing version {calibrated}; "
                f"these are prepared by version {now}. Recalibrate it (`python -m core calibrate`).")
    return None


def confusion_matrix(y_true, y_pred, classes: int = 10) -> np.ndarray:
    """counts[true, predicted]."""
    cm = np.zeros((classes, classes), np.int64)
    np.add.at(cm, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return cm


def per_class(cm: np.ndarray):
    """(precision, recall, F1, support) per class from a confusion matrix; 0 where undefined."""
    cm = np.asarray(cm, float)
    tp, predicted, support = np.diag(cm), cm.sum(axis=0), cm.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(tp), where=both > 0)
    return precision, recall, f1, support.astype(int)


def compare_rows(bundle_dirs) -> list[dict]:
    """One row per bundle, from what its meta.json states (nothing is recomputed)."""
    rows = []
    for d in bundle_dirs:
        m = bundle.read_meta(d)
        rows.append({"bundle": str(d), "name": Path(d).name, "model": m.name, "hidden units": m.hidden,
                     "epochs": m.epochs, "stopped": m.stopped, "train images": m.train_images,
                     "parameters": m.parameters, "train_seconds": m.train_seconds,
                     "val_accuracy": m.val_accuracy, "test_accuracy": m.test_accuracy,
                     "per_class": list(m.test_per_class), "shipped": bundle.is_shipped(d), "history": m.history})
    return rows
