"""The evaluation report of a bundle: metrics on the MNIST test set, the dashboard's figures, one
self-contained HTML page (plus CSV and JSON), as `python -m core evaluate --report DIR` writes it."""
from __future__ import annotations

import html
import json
from pathlib import Path

from . import bundle, figures, suite
from .evaluate import metrics, predict_proba
from .recognizer import Recognizer


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


def refusals(bundle_dir, mnist, per_style: int, cache_dir=None) -> dict:
    """The bundle on the style-shift suite (core.suite.report): what the Refusals view shows."""
    rec = Recognizer(bundle_dir)
    cols = [suite.column(name, mnist, per_style, cache_dir) for name in suite.names()]
    return suite.report(cols, rec.classify)


def evaluate_bundle(bundle_dir, mnist, report_dir=None, styles: int = 0, cache_dir=None) -> dict:
    """Metrics of the bundle on `mnist`'s test set; with `report_dir`, also CSV, JSON and HTML.
    `styles` > 0: also that many images per style of the style-shift suite (the Refusals figures)."""
    model, meta = bundle.load(bundle_dir)
    probs = predict_proba(model, mnist.x_test)
    report = {"model": meta.name, "bundle": str(bundle_dir), "data_sha256": mnist.sha256,
              "train_seconds": meta.train_seconds, "train_images": meta.train_images,
              **metrics(probs, mnist.y_test)}
    if report_dir is not None:
        out = Path(report_dir)
        out.mkdir(parents=True, exist_ok=True)
        figs = {
            "confusion matrix": figures.confusion(report["confusion_matrix"],
                                                  f"{report['model']}: {report['accuracy']:.2%} on MNIST test"),
            "worst mistakes": figures.mistakes(mnist.x_test, report["worst_mistakes"]),
        }
        if meta.history:
            figs["training curves"] = figures.history(meta.history)
        if styles:
            rep = refusals(bundle_dir, mnist, styles, cache_dir)
            report["styles"] = rep["rows"]
            figs[f"refusals per style ({styles} images each; ◆ held out of training)"] = figures.refusals(rep["rows"])
            figs["risk-coverage over every digit style"] = figures.risk_coverage(rep["curve"], rep["point"])
        (out / "confusion_matrix.csv").write_text(
            "\n".join(",".join(map(str, row)) for row in report["confusion_matrix"]) + "\n")
        (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        (out / "report.html").write_text(render_html(report, figs))
    return report
