"""A model bundle: a folder with `model.keras` and `meta.json`. Saved atomically, checked on load."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BUNDLE_VERSION = 1  # bump when the folder's layout or meta.json's meaning changes
MODEL_FILE = "model.keras"
META_FILE = "meta.json"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"  # shipped bundles, tracked by git
SHIPPED = ("cnn", "improved", "baseline")  # artifacts/<name>, made by `make pretrained`; best first
PRETRAINED = ARTIFACTS / "cnn"  # the default model: the calibrated CNN
# bundles trained from the dashboard; not tracked. DIGITREC_RUNS moves them (tests use a scratch folder)
# (resolved once: a relative path must not change meaning with the worker's or server's folder)
RUNS = Path(os.environ.get("DIGITREC_RUNS") or ARTIFACTS / "runs").resolve()


class BundleError(Exception):
    """The folder is not a bundle this version of digitrec can use."""


def save(model, meta: dict, out_dir: str | Path, replace: bool = True, files: dict | None = None) -> Path:
    """Write the bundle to a fresh folder beside `out_dir`, then swap it in; returns where it went.

    A crash or Ctrl-C before the swap leaves any earlier bundle at `out_dir` as it was. With
    `replace=False` a folder already at `out_dir` (a run renamed to this name meanwhile) is never
    touched: the bundle goes to `out_dir-2`, `-3`, ... instead. `files`: {name: write(path)}, more
    files of the bundle (snapshots), written before the swap like the model.
    """
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}-new-"))
    try:
        model.save(tmp / MODEL_FILE)
        write_meta(tmp, {"bundle_version": BUNDLE_VERSION, **meta})
        for name, write in (files or {}).items():
            write(tmp / name)
        _sync(tmp / MODEL_FILE)
        if not replace:
            base, k = out, 2
            while True:
                try:
                    os.rename(tmp, out)  # fails if `out` exists (and is not empty): never replaces
                    _sync(out.parent)
                    return out
                except OSError:
                    if not out.exists():
                        raise
                    out, k = base.with_name(f"{base.name}-{k}"), k + 1
        old = None
        if out.exists():
            old = out.parent / f".{out.name}-old-{os.getpid()}"
            os.replace(out, old)
        os.replace(tmp, out)
        _sync(out.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def write_meta(bundle_dir: str | Path, meta: dict) -> None:
    """Replace meta.json atomically: readers see the old file or the new one, never half of one."""
    write_text_atomic(Path(bundle_dir) / META_FILE, json.dumps(meta, indent=2, sort_keys=True) + "\n")


def write_atomic(path: str | Path, write) -> None:
    """`write(tmp)` writes a file beside `path` (its folder made if missing), which then replaces
    `path` at once: readers see the old content or the new, never half of it. `tmp` keeps the
    name's ending, so writers that add one (numpy's) leave it as it is."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        write(tmp)
        _sync(tmp)  # on disk before the rename: a power cut must not leave a 0-byte file under the name
        os.replace(tmp, path)
        _sync(path.parent)  # and the rename itself
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _sync(path: Path) -> None:
    """fsync a file or a folder (the folder holds the names: a rename is durable once it is synced)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def cached_arrays(path: str | Path | None, keys: tuple, make) -> dict:
    """{key: array} kept as an .npz at `path`: loaded when it holds every key, else made by
    `make()` (a dict of arrays) and written atomically. A file that will not load (0 bytes after a
    crash, a damaged zip) is made anew; `path` None keeps nothing."""
    if path is not None and Path(path).is_file():
        try:
            with np.load(path) as z:
                return {k: z[k] for k in keys}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            Path(path).unlink(missing_ok=True)
    arrays = make()
    if path is not None:
        write_atomic(path, lambda tmp: np.savez(tmp, **arrays))
    return arrays


def write_text_atomic(path: str | Path, text: str) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(text))


@dataclass(frozen=True)
class Meta:
    """A bundle's meta.json, read and checked once (read_meta): what every page, table and card
    shows of a model comes from here, never from the raw file."""
    name: str  # the network (a key of models.MODELS)
    config: dict  # the TrainConfig it was trained with, as saved (asdict)
    test_accuracy: float | None  # on the 10,000 MNIST test images, measured after training
    val_accuracy: float | None  # on the validation split: what settings were chosen on
    train_accuracy: float | None
    test_per_class: tuple  # test accuracy of each digit 0-9 (empty if not recorded)
    parameters: int
    train_images: int  # images of one epoch, made images included
    val_images: int  # the last N training images held out (0: none; calibration is then optimistic)
    train_seconds: float
    epochs: int  # passes done: fewer than planned when the run was stopped
    epochs_planned: int
    stopped: bool  # stopped early (the dashboard's Stop): the figures are those of a shorter run
    history: dict  # per-epoch loss and accuracy, as Keras reports them
    calibration: dict | None  # thresholds of core.calibrate; None: answers from 50% and no checks
    created: str  # UTC, ISO 8601
    preprocess_version: int | None  # the pipeline that made the images it learned from
    read_at: int  # the side in px of the image its networks read (28: as prepared; core.ensemble)
    networks: int  # trained networks whose logits it averages (core.ensemble); 1: one network
    traced_letters: int  # of those, how many also learned letters traced by hand (TrainConfig.traced_letters)
    styled: tuple  # per network, the digits in the seen styles it learned (TrainConfig.styled; 0: unknown)
    raw: dict  # the whole file: fields no page reads (gate, versions, made_by) and what a writer keeps

    @property
    def hidden(self) -> int | None:
        """Hidden units, for the one network that has a hidden-units slider."""
        return int(self.config.get("hidden", 100)) if self.name == "mlp" else None

    @property
    def nondigits(self) -> int:
        """Images of the 11th class it trained on (0: ten classes)."""
        return int(self.config.get("nondigits") or 0)


def read_meta(bundle_dir: str | Path) -> Meta:
    d = Path(bundle_dir)
    if not d.is_dir():
        raise BundleError(f"{d}: no such bundle folder")
    meta_path, model_path = d / META_FILE, d / MODEL_FILE
    if not meta_path.is_file() or not model_path.is_file():
        raise BundleError(f"{d}: not a model bundle (needs {MODEL_FILE} and {META_FILE})")
    try:
        meta = json.loads(meta_path.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise BundleError(f"{meta_path}: unreadable ({e})") from None
    except OSError as e:  # permissions, a vanished file
        raise BundleError(f"{meta_path}: cannot be read ({e.strerror or e})") from None
    if not isinstance(meta, dict):
        raise BundleError(f"{meta_path}: not a JSON object")
    version = meta.get("bundle_version")
    if version != BUNDLE_VERSION:
        raise BundleError(f"{d}: bundle format version {version!r}, this digitrec reads version "
                          f"{BUNDLE_VERSION}; retrain it with `python -m core train`")
    return parse_meta(meta, meta_path)


_NUMBER = (int, float)
_NONE = (type(None),)
# The JSON types each field may have (None: may be null). A field of another type is a damaged
# file: refused here, once, with its name, not on every page.
META_TYPES = {
    "name": (str,), "config": (dict,), "test_accuracy": _NUMBER + _NONE, "val_accuracy": _NUMBER + _NONE,
    "train_accuracy": _NUMBER + _NONE, "parameters": (int,), "train_images": (int,), "val_images": (int,),
    "train_seconds": _NUMBER, "epochs_done": (int,), "stopped": (bool,), "history": (dict,),
    "test_per_class": (list,), "calibration": (dict,) + _NONE, "created": (str,),
    "preprocess_version": (int,) + _NONE, "made_by": (str,), "read_at": (int,), "members": (list,),
}
CONFIG_TYPES = {"model": (str,), "epochs": (int,), "batch_size": (int,), "hidden": (int,),
                "learning_rate": _NUMBER, "seed": (int,), "nondigits": (int,), "traced_letters": (bool,)}


def parse_meta(meta: dict, path: str | Path = META_FILE) -> Meta:
    """Meta from a meta.json's object; BundleError naming `path` and the field when one is wrong."""
    for fields, where in ((META_TYPES, meta), (CONFIG_TYPES, meta.get("config") or {})):
        for key, types in fields.items():
            value = where.get(key)
            if key in where and (not isinstance(value, types) or (isinstance(value, bool) and bool not in types)):
                raise BundleError(f"{path}: {key!r} is {value!r}, not a {'/'.join(t.__name__ for t in types)}")
    per_class = meta.get("test_per_class", [])
    if not all(isinstance(v, _NUMBER) and not isinstance(v, bool) for v in per_class):
        raise BundleError(f"{path}: 'test_per_class' must hold numbers")
    cfg = meta.get("config") or {}
    planned = int(cfg.get("epochs") or 0)
    members = meta.get("members") or [cfg]
    if not all(isinstance(m, dict) for m in members):
        raise BundleError(f"{path}: 'members' must hold objects")
    styled = tuple(m.get("styled") or 0 for m in members)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in styled):
        raise BundleError(f"{path}: a network's 'styled' must be a whole number")
    return Meta(
        name=meta.get("name", "?"), config=cfg, test_accuracy=meta.get("test_accuracy"),
        val_accuracy=meta.get("val_accuracy"), train_accuracy=meta.get("train_accuracy"),
        test_per_class=tuple(per_class), parameters=meta.get("parameters", 0),
        train_images=meta.get("train_images", 0), val_images=meta.get("val_images", 0),
        train_seconds=float(meta.get("train_seconds", 0.0)), epochs=meta.get("epochs_done", planned),
        epochs_planned=planned, stopped=meta.get("stopped", False), history=meta.get("history") or {},
        calibration=meta.get("calibration"), created=meta.get("created", ""),
        preprocess_version=meta.get("preprocess_version"), read_at=meta.get("read_at", 28),
        networks=len(members), traced_letters=sum(m.get("traced_letters") is True for m in members), styled=styled, raw=meta)


def load(bundle_dir: str | Path):
    """(keras model, Meta). The model is loaded for inference only."""
    meta = read_meta(bundle_dir)
    import keras

    try:
        model = keras.saving.load_model(Path(bundle_dir) / MODEL_FILE, compile=False)
    except Exception as e:  # a truncated zip, a foreign file: all mean "cannot use this bundle"
        raise BundleError(f"{bundle_dir}: {MODEL_FILE} cannot be loaded ({e.__class__.__name__}: {e})") from None
    return model, meta


def default_bundle() -> Path:
    """The shipped model when present."""
    return PRETRAINED


def checksum(bundle_dir: str | Path) -> str:
    """Changes whenever any file of the bundle changes (size and mtime): a cache key, not a hash."""
    d = Path(bundle_dir)
    if not d.is_dir():
        return "missing"  # loading it will say why
    parts = sorted(f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in d.iterdir() if f.is_file())
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def cache_name(bundle_dir: str | Path, what: str) -> str:
    """The file name of something computed from this version of the bundle (scores on a set):
    `<bundle name>-<checksum>-<what>`. A retrained bundle gets new names; runs.delete and runs.clean
    remove a gone bundle's files by this prefix."""
    return f"{Path(bundle_dir).name}-{checksum(bundle_dir)}-{what}"


def is_shipped(bundle_dir: str | Path) -> bool:
    """A bundle of artifacts/ (made by `make pretrained`), not a run."""
    return Path(bundle_dir).resolve().parent == ARTIFACTS.resolve()


def available(runs_dir: str | Path | None = None) -> list[Path]:
    """The shipped bundles, then every run (newest first): folders that hold a meta.json."""
    runs = Path(runs_dir) if runs_dir else RUNS
    shipped = [ARTIFACTS / n for n in SHIPPED if (ARTIFACTS / n / META_FILE).is_file()]
    made = [d for d in runs.iterdir() if d.is_dir() and not d.name.startswith(".")
            and (d / META_FILE).is_file()] if runs.is_dir() else []
    return shipped + sorted(made, key=lambda d: (d / META_FILE).stat().st_mtime, reverse=True)
