"""Several trained networks as one: their logits (the evidence before the softmax) averaged.

The members are trained apart (`python -m core train cnn --seed 0`, `--seed 1`, ...) and joined
here into one Keras model saved as an ordinary bundle, so everything that predicts, calibrates or
explains reads it like any other: its last Dense layer reads every member's features side by
side (the novelty test and the Map use them), and each member stays whole inside it (the Inside
view opens the first). Averaging logits is one linear layer: logits = sum_i (W_i f_i + b_i) / n.
With `read_at` the networks read each image shrunk (the shipped CNN: one network, 26 px).
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np

from . import bundle, gate, models, train
from .data import Mnist
from .evaluate import predict_proba


def combine(member_dirs: list, mnist: Mnist, out_dir: str | Path, read_at: int = 28) -> dict:
    """Average the bundles at `member_dirs` into a bundle at `out_dir`; returns its meta. The
    validation split is the first member's (every member must have held out the same images: the
    same val_split), so the ensemble's validation figure is as honest as a member's. `read_at`:
    the networks read the image shrunk to that many pixels (models.average); one member is fine.
    The first member's digit-or-not gate, if it has one, comes along (it reads the image, not the
    networks); the thresholds do not: calibrate the new bundle."""
    loaded = [bundle.load(d) for d in member_dirs]
    first = loaded[0][1]
    if any(m.config.get("val_split") != first.config.get("val_split") or m.name != first.name for _, m in loaded):
        raise models.EnsembleError("members must be the same network with the same validation split")
    start = time.perf_counter()
    model = models.average([m for m, _ in loaded], name=first.name, read_at=read_at)
    cfg = models.TrainConfig(**first.config)
    _, (x_val, y_val) = train.split(mnist, cfg)
    test_pred = predict_proba(model, mnist.x_test).argmax(axis=1)
    meta = {
        **{k: v for k, v in first.raw.items() if k not in ("calibration", "bundle_version")},
        "parameters": int(model.count_params()),
        "train_accuracy": None,  # each member's is in "members"; the joined model never trained
        "val_accuracy": train.accuracy(model, x_val, y_val) if len(x_val) else None,
        "test_accuracy": float(np.mean(test_pred == mnist.y_test)),
        "test_per_class": train.per_class_accuracy(test_pred, mnist.y_test),
        "train_seconds": round(sum(m.train_seconds for _, m in loaded), 1),
        "read_at": read_at,
        "members": [{"bundle": str(d), "seed": m.config.get("seed"), "val_accuracy": m.val_accuracy,
                     "test_accuracy": m.test_accuracy, "train_seconds": m.train_seconds,
                     "traced_letters": m.traced_letters > 0, "styled": m.styled[0]}
                    for d, (_, m) in zip(member_dirs, loaded)],
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "join_seconds": round(time.perf_counter() - start, 1),
    }
    files = {}
    gate_file = Path(member_dirs[0]) / gate.GATE_FILE
    if gate_file.is_file():
        files[gate.GATE_FILE] = lambda path: shutil.copyfile(gate_file, path)
    else:
        meta.pop("gate", None)  # no gate comes along: its description neither
    saved = bundle.save(model, meta, out_dir, files=files)
    return {**meta, "bundle": str(saved)}
