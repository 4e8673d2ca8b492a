"""How good a bundle is on the MNIST test set: metrics, plots and a self-contained report."""
from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

HALF = 5000  # MNIST's test set: first and last 5,000 come from different writer pools


def predict_proba(model, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Class probabilities that sum to 1 (sigmoid outputs of the reference recipes are normalised)."""
    out = np.asarray(model.predict(np.asarray(x, np.float32), batch_size=batch_size, verbose=0), np.float64)
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


def render_html(report: dict, figures: dict) -> str:
    """One self-contained page (plotly.js inlined once): opens offline."""
    e = html.escape
    rows = "".join(
        f"<tr><td>{c['digit']}</td><td>{c['precision']:.4f}</td><td>{c['recall']:.4f}</td>"
        f"<td>{c['f1']:.4f}</td><td>{c['support']}</td></tr>" for c in report["per_class"])
    halves = ""
    if "accuracy_first_half" in report:
        halves = (f"<li>first 5,000: {report['accuracy_first_half']:.2%}, "
                  f"last 5,000: {report['accuracy_last_half']:.2%}</li>")
    figures = "".join(f"<figure>{fig.to_html(full_html=False, include_plotlyjs=i == 0)}<figcaption>{e(name)}"
                      "</figcaption></figure>" for i, (name, fig) in enumerate(figures.items()))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>digitrec report: {e(report['model'])}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.25em .7em;text-align:right}}
figure{{margin:1.5em 0}}figcaption{{color:#555}}</style></head><body>
<h1>{e(report['model'])} on the MNIST test set</h1>
<ul><li>accuracy <b>{report['accuracy']:.2%}</b> ({report['errors']} errors in {report['images']:,} images),
loss {report['loss']:.4f}</li>{halves}
<li>bundle: {e(str(report['bundle']))}; trained in {report.get('train_seconds', '?')} s on
{report.get('train_images', '?')} images</li></ul>
<h2>Per class</h2><table><tr><th>digit</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>{rows}</table>
{figures}</body></html>
"""


def evaluate_bundle(bundle_dir, mnist, report_dir=None) -> dict:
    """Metrics of the bundle on `mnist`'s test set; with `report_dir`, also CSV, JSON and HTML."""
    from . import bundle, figures

    model, meta = bundle.load(bundle_dir)
    probs = predict_proba(model, mnist.x_test)
    report = {"model": meta.get("name"), "bundle": str(bundle_dir), "data_sha256": mnist.sha256,
              "train_seconds": meta.get("train_seconds"), "train_images": meta.get("train_images"),
              **metrics(probs, mnist.y_test)}
    if report_dir is not None:
        out = Path(report_dir)
        out.mkdir(parents=True, exist_ok=True)
        figs = {
            "confusion matrix": figures.confusion(report["confusion_matrix"],
                                                  f"{report['model']}: {report['accuracy']:.2%} on MNIST test"),
            "worst mistakes": figures.mistakes(mnist.x_test, report["worst_mistakes"]),
        }
        if meta.get("history"):
            figs["training curves"] = figures.history(meta["history"])
        (out / "confusion_matrix.csv").write_text(
            "\n".join(",".join(map(str, row)) for row in report["confusion_matrix"]) + "\n")
        (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        (out / "report.html").write_text(render_html(report, figs))
    return report


def compare_rows(bundle_dirs) -> list[dict]:
    """One row per bundle, from what its meta.json states (nothing is recomputed)."""
    from . import bundle

    rows = []
    for d in bundle_dirs:
        meta = bundle.read_meta(d)
        cfg = meta.get("config", {})
        rows.append({"bundle": str(d), "name": Path(d).name, "model": meta.get("name"),
                     "hidden units": cfg.get("hidden", 100) if meta.get("name") == "mlp" else None,
                     "epochs": meta.get("epochs_done", cfg.get("epochs")), "stopped": bool(meta.get("stopped")),
                     "train images": meta.get("train_images"), "parameters": meta.get("parameters"),
                     "train_seconds": meta.get("train_seconds"), "val_accuracy": meta.get("val_accuracy"),
                     "test_accuracy": meta.get("test_accuracy"), "per_class": meta.get("test_per_class"),
                     "shipped": Path(d).resolve().parent == bundle.ARTIFACTS.resolve(),
                     "history": meta.get("history") or {}})
    return rows
