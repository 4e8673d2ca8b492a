"""How good a bundle is on the MNIST test set: metrics, plots and a self-contained report."""
from __future__ import annotations

import base64
import html
import io
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
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    y = np.asarray(y).astype(int)
    pred = probs.argmax(axis=1)
    correct = pred == y
    p_true = np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0)
    precision, recall, f1, support = precision_recall_fscore_support(y, pred, labels=range(10), zero_division=0)
    wrong = np.flatnonzero(~correct)
    wrong = wrong[np.argsort(-probs[wrong, pred[wrong]], kind="stable")][:worst]
    out = {
        "images": int(len(y)),
        "accuracy": float(correct.mean()),
        "errors": int((~correct).sum()),
        "loss": float(-np.log(p_true).mean()),
        "confusion_matrix": confusion_matrix(y, pred, labels=range(10)).tolist(),
        "per_class": [{"digit": d, "precision": float(precision[d]), "recall": float(recall[d]),
                       "f1": float(f1[d]), "support": int(support[d])} for d in range(10)],
        "worst_mistakes": [{"index": int(i), "true": int(y[i]), "predicted": int(pred[i]),
                            "confidence": float(probs[i, pred[i]])} for i in wrong],
    }
    if len(y) == 2 * HALF:
        out["accuracy_first_half"] = float(correct[:HALF].mean())
        out["accuracy_last_half"] = float(correct[HALF:].mean())
    return out


def _figure(width, height):
    from matplotlib.figure import Figure  # no pyplot: no global state, no display needed

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def plot_confusion(cm, title: str) -> bytes:
    import seaborn as sns

    cm = np.asarray(cm)
    fig = _figure(7.5, 6.2)
    ax = fig.subplots()
    # Colour by the log of the count so that the few errors show next to the large diagonal.
    sns.heatmap(np.log10(cm + 1), annot=cm, fmt="d", cmap="Blues", cbar=False, square=True,
                linewidths=0.5, linecolor="#ddd", annot_kws={"size": 9}, ax=ax)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    return _png(fig)


def plot_mistakes(x: np.ndarray, mistakes: list) -> bytes:
    cols = 9
    rows = max(1, -(-len(mistakes) // cols))
    fig = _figure(cols * 1.1, rows * 1.35)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax in axes:
        ax.axis("off")
    for ax, m in zip(axes, mistakes):
        ax.imshow(x[m["index"]], cmap="gray_r", vmin=0, vmax=255)
        ax.set_title(f"{m['true']}→{m['predicted']} {m['confidence']:.0%}", fontsize=8)
    if not mistakes:
        axes[0].text(0.5, 0.5, "no mistakes", ha="center", va="center")
    fig.suptitle("worst mistakes: true→predicted, confidence", fontsize=10)
    return _png(fig)


def plot_history(history: dict) -> bytes:
    fig = _figure(9, 3.4)
    ax_loss, ax_acc = fig.subplots(1, 2)
    for key, ax in (("loss", ax_loss), ("accuracy", ax_acc)):
        for prefix, label in (("", "train"), ("val_", "validation")):
            values = history.get(prefix + key)
            if values:
                ax.plot(range(1, len(values) + 1), values, marker="o", ms=3, label=label)
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    return _png(fig)


def _img(name: str, png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode()
    return f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}"><figcaption>{name}</figcaption></figure>'


def render_html(report: dict, pictures: dict) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td>{c['digit']}</td><td>{c['precision']:.4f}</td><td>{c['recall']:.4f}</td>"
        f"<td>{c['f1']:.4f}</td><td>{c['support']}</td></tr>" for c in report["per_class"])
    halves = ""
    if "accuracy_first_half" in report:
        halves = (f"<li>first 5,000: {report['accuracy_first_half']:.2%}, "
                  f"last 5,000: {report['accuracy_last_half']:.2%}</li>")
    figures = "".join(_img(name, png, name) for name, png in pictures.items())
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>digitrec report: {e(report['model'])}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.25em .7em;text-align:right}}
figure{{margin:1.5em 0}}img{{max-width:100%}}figcaption{{color:#555}}</style></head><body>
<h1>{e(report['model'])} on the MNIST test set</h1>
<ul><li>accuracy <b>{report['accuracy']:.2%}</b> ({report['errors']} errors in {report['images']:,} images),
loss {report['loss']:.4f}</li>{halves}
<li>bundle: {e(str(report['bundle']))}; trained in {report.get('train_seconds', '?')} s on
{report.get('train_images', '?')} images</li></ul>
<h2>Per class</h2><table><tr><th>digit</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>{rows}</table>
{figures}</body></html>
"""


def evaluate_bundle(bundle_dir, mnist, report_dir=None) -> dict:
    """Metrics of the bundle on `mnist`'s test set; with `report_dir`, also the PNGs, JSON and HTML."""
    from . import bundle

    model, meta = bundle.load(bundle_dir)
    probs = predict_proba(model, mnist.x_test)
    report = {"model": meta.get("name"), "bundle": str(bundle_dir), "data_sha256": mnist.sha256,
              "train_seconds": meta.get("train_seconds"), "train_images": meta.get("train_images"),
              **metrics(probs, mnist.y_test)}
    if report_dir is not None:
        out = Path(report_dir)
        out.mkdir(parents=True, exist_ok=True)
        pictures = {
            "confusion_matrix.png": plot_confusion(report["confusion_matrix"],
                                                   f"{report['model']}: {report['accuracy']:.2%} on MNIST test"),
            "mistakes.png": plot_mistakes(mnist.x_test, report["worst_mistakes"]),
        }
        if meta.get("history"):
            pictures["training_curves.png"] = plot_history(meta["history"])
        for name, png in pictures.items():
            (out / name).write_bytes(png)
        (out / "confusion_matrix.csv").write_text(
            "\n".join(",".join(map(str, row)) for row in report["confusion_matrix"]) + "\n")
        (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        (out / "report.html").write_text(render_html(report, pictures))
    return report


def compare_rows(bundle_dirs) -> list[dict]:
    """One row per bundle, from what its meta.json states."""
    from . import bundle

    rows = []
    for d in bundle_dirs:
        meta = bundle.read_meta(d)
        rows.append({"bundle": str(d), "model": meta.get("name"), "parameters": meta.get("parameters"),
                     "epochs": meta.get("config", {}).get("epochs"), "train_seconds": meta.get("train_seconds"),
                     "val_accuracy": meta.get("val_accuracy"), "test_accuracy": meta.get("test_accuracy")})
    return rows
