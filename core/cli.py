"""`python -m core`: a thin layer that parses options, calls the library and prints."""
from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path

import click

from . import models
from . import train as training
from .bundle import BundleError, read_meta
from .calibrate import PER_STYLE, calibrate_bundle
from .data import MNIST_SHA256, DataError, home_dir, load_mnist
from .ensemble import combine as join
from .evaluate import compare_rows
from .gate import GateConfig
from .models import EnsembleError, InvalidConfig, UnknownModel
from .decode import ImageError
from .recognizer import Recognizer
from .report import evaluate_bundle

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter is not for users


def friendly_errors(fn):
    """Known failures become one line and exit code 1, never a traceback."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):

        try:
            return fn(*args, **kwargs)
        except (BundleError, DataError, UnknownModel, InvalidConfig, EnsembleError) as e:
            raise click.ClickException(str(e)) from None
    return wrapper


def data_option(fn):
    fn = click.option("--unverified", is_flag=True,
                      help="With --data: accept a data set that is not MNIST (its checksum differs).")(fn)
    return click.option("--data", "data_path", type=click.Path(path_type=Path),
                        help="MNIST from this .npz (Keras layout) or folder of IDX files.")(fn)


def load_data(data_path, unverified=False):

    expected = None if (unverified and data_path) else MNIST_SHA256
    return load_mnist(path=data_path, expected_sha256=expected)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """Read handwritten digits: train, evaluate and use MNIST networks."""


@main.command()
@data_option
@friendly_errors
def data(data_path, unverified):
    """Fetch and verify MNIST; print where it lives."""
    m = load_data(data_path, unverified)
    click.echo(f"MNIST: {len(m.x_train)} training and {len(m.x_test)} test images, sha256 {m.sha256[:16]}…")
    click.echo(f"source: {m.source}")


@main.command()
@click.argument("model")
@click.option("--out", type=click.Path(path_type=Path), help="Bundle folder [default: bundles/MODEL].")
@click.option("--epochs", type=click.IntRange(1), help="Passes over the training set.")
@click.option("--hidden", type=click.IntRange(1), help="Hidden units of the mlp [default: 100].")
@click.option("--batch-size", type=click.IntRange(1))
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True))
@click.option("--seed", type=int)
@click.option("--val-split", type=click.IntRange(0), help="Training images held out for validation (0: none).")
@click.option("--limit", type=click.IntRange(1), help="Train on only the first N images (smoke runs).")
@click.option("--drawn", type=click.IntRange(0), help="Extra digits drawn with the canvas brush.")
@click.option("--styled", type=click.IntRange(0), help="Extra digits in the seen styles (core.styles).")
@click.option("--nondigits", type=click.IntRange(0), help="Images of the 11th class, not a digit (0: ten classes).")
@click.option("--traced-letters", is_flag=True, default=None,
              help="Letters traced by hand (DejaVu Sans) among the non-digits.")
@click.option("--report", "report_dir", type=click.Path(path_type=Path), help="Also write the evaluation report here.")
@data_option
@friendly_errors
def train(model, out, data_path, unverified, report_dir, **options):
    """Train MODEL (linear, mlp, keras_example, cnn, cnn_fast) and save a bundle."""

    cfg = models.spec(model).defaults.with_(**options)
    m = load_data(data_path, unverified)
    out = out or Path("bundles") / model
    click.echo(f"training {model} on {m.source}: {cfg}", err=True)
    meta = training.train(cfg, m, out, verbose=1 if sys.stderr.isatty() else 2)
    click.echo(f"{model}: test accuracy {meta['test_accuracy']:.2%}, validation "
               f"{_pct(meta['val_accuracy'])}, {meta['train_seconds']:.0f} s; bundle {out}")
    if report_dir:
        _report(out, m, report_dir)


def _pct(value):
    return "n/a" if value is None else f"{value:.2%}"


def _report(bundle_dir, m, report_dir, styles: int = 0):
    r = evaluate_bundle(bundle_dir, m, report_dir, styles, home_dir() / "suite")
    halves = ""
    if "accuracy_first_half" in r:
        halves = f" (first 5,000: {r['accuracy_first_half']:.2%}, last 5,000: {r['accuracy_last_half']:.2%})"
    click.echo(f"{r['model']}: accuracy {r['accuracy']:.2%}{halves}, loss {r['loss']:.4f}, {r['errors']} errors")
    if report_dir:
        click.echo(f"report: {Path(report_dir) / 'report.html'}")


@main.command()
@click.argument("bundle_dir", type=click.Path(path_type=Path))
@click.option("--report", "report_dir", type=click.Path(path_type=Path), help="Write PNGs, report.json and report.html here.")
@click.option("--styles", type=click.IntRange(0), default=0, show_default=True,
              help="With --report: also score N images of every style of the style-shift suite (Refusals figures).")
@data_option
@friendly_errors
def evaluate(bundle_dir, report_dir, styles, data_path, unverified):
    """Test accuracy, confusion matrix, per-class metrics and mistakes of a bundle."""
    read_meta(bundle_dir)  # a bad bundle fails before MNIST is loaded
    _report(bundle_dir, load_data(data_path, unverified), report_dir, styles)


@main.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.argument("members", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--read-at", type=click.IntRange(*models.READ_AT_RANGE), default=28, show_default=True,
              help="The networks read the image shrunk to N x N pixels in its 28x28 frame.")
@data_option
@friendly_errors
def ensemble(out, members, read_at, data_path, unverified):
    """Join trained bundles (MEMBERS: the same network, other seeds or recipes; one is fine) into
    one bundle at OUT that averages their logits; then calibrate OUT."""
    for member in members:
        read_meta(member)
    meta = join(list(members), load_data(data_path, unverified), out, read_at)
    each = ", ".join(f"{_pct(m['test_accuracy'])} (seed {m['seed']})" for m in meta["members"])
    how = f"{len(members)} networks averaged" if len(members) > 1 else "1 network"
    how += f", reading at {read_at} px" if read_at != 28 else ""
    click.echo(f"{meta['name']}: {how}: test accuracy {meta['test_accuracy']:.2%}, "
               f"validation {_pct(meta['val_accuracy'])}; members: {each}; bundle {out}")


@main.command()
@click.argument("bundles", nargs=-1, required=True, type=click.Path(path_type=Path))
@friendly_errors
def compare(bundles):
    """A table of bundles side by side, from their meta.json."""

    rows = compare_rows(bundles)
    head = f"{'model':<14} {'params':>9} {'epochs':>6} {'train s':>8} {'val acc':>8} {'test acc':>8}  bundle"
    click.echo(head)
    for r in rows:
        click.echo(f"{r['model'] or '?':<14} {r['parameters'] or 0:>9,} {r['epochs'] or 0:>6} "
                   f"{r['train_seconds'] or 0:>8.0f} {_pct(r['val_accuracy']):>8} {_pct(r['test_accuracy']):>8}  {r['bundle']}")


@main.command()
@click.argument("bundle_dir", type=click.Path(path_type=Path))
@click.option("--per-kind", type=click.IntRange(20), default=PER_STYLE, show_default=True,
              help="Images of validation digits per calibration style (the worst style sets each threshold).")
@click.option("--gate/--keep-gate", default=False, show_default=True,
              help="Train the separate digit-or-not gate anew (a few minutes), or keep the bundle's own "
                   "(none: the network's own \"not a digit\" class does that work).")
@click.option("--gate-images", type=click.IntRange(100), default=None,
              help="Generated non-digits for the gate [default: 24000].")
@data_option
@friendly_errors
def calibrate(bundle_dir, per_kind, gate, gate_images, data_path, unverified):
    """Train the digit-or-not gate, fit temperature, novelty detector and thresholds on held-out
    digits; store them in the bundle."""

    read_meta(bundle_dir)
    gate_config = GateConfig().with_(nondigits=gate_images) if gate else None
    cal = calibrate_bundle(bundle_dir, load_data(data_path, unverified), per_kind=per_kind,
                           gate_config=gate_config)
    click.echo(json.dumps(cal, indent=2))


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".jfif"}


def expand(paths):
    """Files as given; folders walked for image files, sorted."""
    for p in paths:
        if p.is_dir():
            yield from sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        else:
            yield p


def _run_images(paths, bundle_dir, as_json, fn, show):
    """Apply fn(recognizer, path) to each image; one line each; per-file errors do not abort."""

    files = list(expand(paths))
    if not files:
        raise click.ClickException("no image files found in: " + ", ".join(map(str, paths)))
    rec = Recognizer(bundle_dir)
    failed = 0
    with click.progressbar(files, label="reading", file=sys.stderr,
                           hidden=len(files) < 20 or not sys.stderr.isatty()) as bar:
        for f in bar:
            try:
                result = fn(rec, f)
            except (ImageError, OSError) as e:
                failed += 1
                line = {"file": str(f), "error": str(e)}
                click.echo(json.dumps(line) if as_json else f"{f}: error: {e}")
                continue
            click.echo(json.dumps({"file": str(f), **result.to_json()}) if as_json else f"{f}: {show(result)}")
    if failed:
        raise click.exceptions.Exit(1)


bundle_option = click.option("--bundle", "bundle_dir", type=click.Path(path_type=Path),
                             help="Model bundle [default: the shipped model].")


def image_command(fn):
    """A command over IMAGES... with --bundle and --json."""
    fn = friendly_errors(fn)
    fn = click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")(fn)
    fn = bundle_option(fn)
    fn = click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))(fn)
    return main.command()(fn)


@image_command
def predict(images, bundle_dir, as_json):
    """The digit in each image (files or folders)."""
    def show(p):
        if p.status == "ok":
            return f"{p.digit} ({p.confidence:.1%})"
        if p.guess is None or p.status == "no_digit":
            return "no digit"
        return f"uncertain: maybe {p.guess} ({p.confidence:.1%})"

    _run_images(images, bundle_dir, as_json, lambda rec, f: rec.predict(f), show)


@image_command
def read(images, bundle_dir, as_json):
    """The number (several digits) in each image."""
    def show(r):
        if r.text is None:
            return "no digit"
        digits = " ".join(f"{p.guess}:{p.confidence:.0%}" for p in r.digits)
        return f"{r.text}" + ("" if r.status == "ok" else " (uncertain)") + f"  [{digits}]"

    _run_images(images, bundle_dir, as_json, lambda rec, f: rec.read(f), show)


if __name__ == "__main__":  # pragma: no cover
    main()
