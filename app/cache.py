"""Cached loading for the dashboard (app-side: core/ never imports streamlit).

Models live in the worker process (service.py); what is cached here is the handle on that worker
(one per server), each bundle's card keyed by path and checksum (a retrained bundle is a new key,
so it is loaded anew), and the list of bundles.
"""
from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from core import bundle, evaluate, figures, inside, runs, suite
from core.data import home_dir, load_mnist
from core.service import Service, ServiceError


@st.cache_resource(show_spinner=False)
def service() -> Service:
    """The model worker, shared by every session. It starts at once and loads the shipped models in
    the background, so the first answer, a switch of model and "compare all" do not wait."""
    worker = Service().start()
    runs.clean(bundle.RUNS, runs.predictions_dir())  # once per server: what crashes left behind

    def warm():  # the shipped models only: runs load when someone picks one
        for path in [bundle.ARTIFACTS / n for n in bundle.SHIPPED]:
            try:
                worker.load(path)
            except Exception:  # noqa: BLE001 - a bad bundle is reported when a page loads it
                pass
    threading.Thread(target=warm, name="digitrec-warm", daemon=True).start()
    return worker


@dataclass(frozen=True)
class Model:
    path: str  # the bundle folder, what every prediction names
    label: str  # for pickers: name and test accuracy
    meta: bundle.Meta | None  # the bundle's meta.json; None when it cannot be read
    card: dict | None  # what the worker reports once the model is loaded; None if it failed
    error: str | None  # why the bundle cannot be used, in one line


FAILED: dict[str, tuple] = {}  # {bundle folder: (checksum, why it cannot be loaded)}, for every session


@st.cache_resource(show_spinner="Loading the model…", max_entries=64)
def _load(path: str, checksum: str) -> Model:
    try:
        meta = bundle.read_meta(path)
        card = service().load(path)  # loads it in the worker: later predictions are fast
    except bundle.BundleError as e:
        FAILED[path] = (checksum, str(e))
        return Model(path, Path(path).name, None, None, str(e))
    return Model(path, label(Path(path).name, meta), meta, card, None)


def load(path: str | Path) -> Model:
    """The bundle loaded in the worker, once per version of its files. A worker that does not
    answer is an error for this run only (not cached): the next run tries again."""
    try:
        return _load(str(path), bundle.checksum(path))
    except ServiceError as e:
        return Model(str(path), Path(path).name, None, None, f"the model worker failed: {e}")


def label(name: str, meta: bundle.Meta) -> str:
    acc, stopped = meta.test_accuracy, ", stopped" if meta.stopped else ""
    return f"{name} ({acc:.2%}{stopped})" if acc is not None else name


def meta(path: str | Path) -> bundle.Meta | None:
    """The bundle's meta.json (None when unreadable), cached per version of its files."""
    return _meta(str(path), bundle.checksum(path))


@st.cache_data(show_spinner=False, max_entries=256)
def _meta(path: str, checksum: str) -> bundle.Meta | None:
    try:
        return bundle.read_meta(path)
    except bundle.BundleError:
        return None


def feature_map(path: str, set_name: str) -> dict:
    """The set on the model's main feature axes ({"coords", "refused"}), computed once per model
    version and set in the model worker and kept on disk like the scores."""
    return _feature_map(str(path), bundle.checksum(path), set_name)


@st.cache_data(show_spinner="Placing every image by what the network sees in it…", max_entries=8)
def _feature_map(path: str, checksum: str, set_name: str) -> dict:
    x = evaluation_set(set_name)[0]
    where = runs.predictions_dir() / bundle.cache_name(path, f"map-{evaluate.set_key(set_name)}.npz")
    return bundle.cached_arrays(where, ("coords", "refused"), lambda: service().map(path, x))


def snapshots(path: str | Path):
    """(what the bundle's network learned epoch by epoch, a core.inside.Snapshots or None if it
    kept none; why its file cannot be read, or None)."""
    return _snapshots(str(path), bundle.checksum(path))


@st.cache_data(show_spinner=False, max_entries=32)
def _snapshots(path: str, checksum: str):
    try:
        return inside.read_snapshots(Path(path) / inside.SNAPSHOT_FILE), None
    except inside.SnapshotError as e:
        return None, str(e)


def choices() -> dict[str, str]:
    """{bundle folder: label} for every bundle: shipped ones first, then runs, newest first.
    Listed anew whenever the runs folder changes (a run saved, renamed or deleted), at once."""
    runs = bundle.RUNS
    return _choices(str(runs), runs.stat().st_mtime_ns if runs.is_dir() else 0)


@st.cache_data(show_spinner=False, max_entries=16)
def _choices(runs: str, stamp: int) -> dict[str, str]:
    out = {}
    for p in bundle.available(runs):
        try:
            out[str(p)] = label(p.name, bundle.read_meta(p))
        except bundle.BundleError:
            out[str(p)] = f"{p.name} (unusable)"
    return out


def usable() -> tuple[dict[str, str], dict[str, str]]:
    """({bundle folder: label} of the bundles a picker offers, {name: why} of those left out: an
    unreadable meta.json, or a model that failed to load)."""
    good, bad = {}, {}
    for path, name in choices().items():
        if FAILED.get(path, ("",))[0] == bundle.checksum(path):
            bad[Path(path).name] = FAILED[path][1]
        elif name.endswith("(unusable)"):
            try:
                bundle.read_meta(path)
            except bundle.BundleError as e:
                bad[Path(path).name] = str(e)
        else:
            good[path] = name
    return good, bad


@st.cache_resource(show_spinner="Loading MNIST…")
def mnist():
    """MNIST, once per server (read-only: shared by every session)."""
    return load_mnist()


@st.cache_resource(show_spinner="Making the evaluation images (the first time only; about 15 s)…", max_entries=8)
def evaluation_set(name: str):
    """(images, labels, MNIST test index) of an evaluation set; read-only."""
    return evaluate.evaluation_set(name, mnist(), home_dir() / "evalsets")


@st.cache_resource(show_spinner="Scoring the model on every image (once per model and set)…", max_entries=32)
def _probabilities(path: str, checksum: str, set_name: str):
    x = evaluation_set(set_name)[0]
    return evaluate.cached_predictions(path, evaluate.set_key(set_name), lambda: service().probabilities(path, x),
                                       runs.predictions_dir())


def probabilities(path: str | Path, set_name: str):
    """The bundle's calibrated probabilities on every image of the set (read-only), computed once
    per version of the bundle (in memory, and on disk across restarts)."""
    return _probabilities(str(path), bundle.checksum(path), set_name)


def flags_path() -> Path:
    """Where the labels a user flagged as wrong are kept (their digitrec folder, not the repository)."""
    return home_dir() / "label_flags.json"


# images per style in the Refusals view: ~2 min to make the first time, then on disk (tests use fewer)
REFUSALS_N = int(os.environ.get("DIGITREC_REFUSALS_N") or 200)


@st.cache_resource(show_spinner=False, max_entries=8)
def _columns(n: int) -> list:
    return [suite.column(name, mnist(), n, home_dir() / "suite") for name in suite.names()]


@st.cache_resource(show_spinner=False, max_entries=8)
def _refusals(path: str, checksum: str) -> dict:
    cached = runs.predictions_dir() / bundle.cache_name(path, f"refusals-{REFUSALS_N}-{suite.tag()}.json")
    try:
        report = json.loads(cached.read_text())
        if [row["style"] for row in report["rows"]] == suite.names():
            return report
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not made yet, damaged, or of a suite with other columns: made anew
    cols = _columns(REFUSALS_N)
    report = suite.report(cols, lambda x: service().judge(path, x))
    bundle.write_text_atomic(cached, json.dumps(report))
    return report


def refusals(path: str | Path) -> tuple[list, dict]:
    """(the suite's columns, the bundle's report on them: see core.suite.report), computed once per
    version of the bundle (in memory, and on disk across restarts)."""
    with st.spinner(f"Making {REFUSALS_N} images of every style and reading them (the first time only; "
                    "about 2 min)…"):
        return _columns(REFUSALS_N), _refusals(str(path), bundle.checksum(path))


@st.cache_data(show_spinner=False, max_entries=100)
def _answer(path: str, checksum: str, op: str, data: bytes):
    return getattr(service(), op)(path, data)


def answer(path: str | Path, data: bytes, number: bool = False):
    """The worker's answer to an uploaded file (a Prediction, or a Reading in number mode), kept
    per bundle version and file content: a rerun (a toggle, an expander) does not read it again."""
    return _answer(str(path), bundle.checksum(path), "read" if number else "predict", data)


@st.cache_data(show_spinner=False, max_entries=100)
def thumbnail(data: bytes, side: int = 320):
    """A small RGB copy of an uploaded file, for showing it (decoded once per file)."""
    return figures.thumbnail(data, side)[0]
