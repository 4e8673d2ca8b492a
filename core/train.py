"""Train a network by name on MNIST and save it as a bundle."""
from __future__ import annotations

import math
import platform
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from . import bundle, gate, inside, models, nondigits, preprocess, styles, synth
from .data import Mnist
from .evaluate import predict_proba


def split_sizes(cfg: models.TrainConfig, total: int) -> tuple[int, int]:
    """(training images, validation images) that `split` gives from `total` MNIST training images."""
    n_val = min(cfg.val_split, total // 5) if cfg.val_split else 0
    n_tr = total - n_val
    return (min(n_tr, cfg.limit) if cfg.limit else n_tr), n_val


def limit_for(images: int, cfg: models.TrainConfig, total: int = 60000) -> int:
    """`TrainConfig.limit` for "train on `images` images": 0 (all) when that is every image the
    split leaves for training (the dashboard's largest choice), else `images`."""
    return 0 if images >= split_sizes(cfg, total)[0] else images


def split(mnist: Mnist, cfg: models.TrainConfig):
    """Train / validation arrays: the validation images are the *last* `val_split` training images."""
    x, y = mnist.x_train, mnist.y_train
    n_tr, n_val = split_sizes(cfg, len(x))
    return (x[:n_tr], y[:n_tr]), (x[len(x) - n_val:], y[len(y) - n_val:])


NOT_A_DIGIT = 10  # the label of the 11th class (TrainConfig.nondigits)


def extra_sources(traced_letters: bool = False):
    """What extra_image draws from: the seen digit styles (the brush has its own kind), the seen
    non-digit families (the traced letters only with `traced_letters`), and the seen fonts."""
    seen = [name for name, st in styles.DIGIT_STYLES.items() if st.seen and st.family != "brush"]
    families = [fam.make for fam in nondigits.trained_nondigits(traced_letters)]
    return seen, families, styles.fonts(seen=True)


def extra_image(kind: str, digit, label: int, x, rng, sources):
    """One image of `kind`, as a person sends it (before preprocessing): "drawn" (round brush on the
    canvas), "styled" (a seen style of core.styles) or "nondigit"; `sources` from extra_sources."""
    seen, families, fonts = sources
    if kind == "drawn":
        return synth.brush_drawing(digit, rng, float(rng.integers(8, 41)))
    if kind == "styled":
        return styles.digit_image(seen[rng.integers(len(seen))], digit, label, rng)
    if rng.random() < 0.5:  # the gate's generator: glyphs, traced strokes, curves, digit pairs
        return gate.present(gate.nondigit_ink(rng, x, fonts), rng)
    # a seen family of the suite, on a canvas or on paper like any upload
    return gate.present(np.asarray(families[rng.integers(len(families))](rng).convert("L")), rng)


def _extra_chunk(args):
    """Prepared images of one kind made from the digits `x` (runs in a worker process)."""
    kind, x, y, seed, traced_letters = args
    rng = np.random.default_rng(seed)
    sources = extra_sources(traced_letters)
    images, labels = [], []
    for i, digit in enumerate(x):
        img = extra_image(kind, digit, y[i], x, rng, sources)
        p = preprocess.prepare(img)
        if p.blank and kind != "drawn":
            continue  # a style that lost all its ink teaches nothing
        images.append(preprocess.BLANK if p.blank else p.image)
        labels.append(NOT_A_DIGIT if kind == "nondigit" else int(y[i]))
    return np.stack(images) if images else np.zeros((0, 28, 28), np.uint8), np.asarray(labels, np.int64)


def extra_images(kind: str, x, y, n: int, seed: int, workers: int = 2, traced_letters: bool = False):
    """(images, labels): `n` images of `kind` (see _extra_chunk) from the digits (x, y), prepared
    exactly as the dashboard prepares what people send; what the network will be shown.
    `traced_letters`: TrainConfig's."""
    rng = np.random.default_rng(seed + {"drawn": 7, "styled": 11, "nondigit": 13}[kind])
    pick = rng.choice(len(x), n, replace=n > len(x))
    chunks = [c for c in np.array_split(pick, max(1, workers * 4)) if len(c)]
    jobs = [(kind, x[c], y[c], seed * 1000 + i, traced_letters) for i, c in enumerate(chunks)]
    return in_processes(_extra_chunk, jobs, workers)


def in_processes(make, jobs: list, workers: int = 2):
    """(images, labels): `make(job)` of every job, each an (images, labels) pair, joined in the
    jobs' order; in `workers` processes (`make` must be a module-level function)."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    if workers > 1:  # spawn: the caller may already run TensorFlow's threads
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            parts = list(pool.map(make, jobs))
    else:
        parts = [make(j) for j in jobs]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def drawn_digits(x, y, n: int, seed: int, workers: int = 2):
    """`n` of the digits `x` drawn with a round brush on the canvas, then preprocessed."""
    return extra_images("drawn", x, y, n, seed, workers)


def affine_params(tf, batch: int, cfg: models.TrainConfig):
    """One random affine map per image, as the 8 numbers ImageProjectiveTransform takes.

    The map sends an output pixel to the input pixel it samples: rotation, scale and shear about
    the image centre, then a shift.
    """
    def uniform(limit):
        return tf.random.uniform([batch], -limit, limit)

    angle = uniform(cfg.rotate_deg * math.pi / 180)
    scale = 1.0 + uniform(cfg.zoom)
    shear = uniform(cfg.shear)
    tx, ty = uniform(cfg.shift_px), uniform(cfg.shift_px)
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    # inverse of (rotate, then shear along x, then scale)
    a0, a1 = cos, sin + shear * cos
    b0, b1 = -sin, cos - shear * sin
    c = 13.5  # centre of a 28x28 image
    a2 = c - a0 * (c + tx) - a1 * (c + ty)
    b2 = c - b0 * (c + tx) - b1 * (c + ty)
    zeros = tf.zeros([batch])
    return tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)


def augment_batch(tf, images, cfg: models.TrainConfig):
    """Random affine distortion of a (B, 28, 28) batch in one graph op (no per-image Python)."""
    batch = tf.shape(images)[0]
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=images[..., None], transforms=affine_params(tf, batch, cfg),
        output_shape=tf.constant([28, 28]), fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT")
    return out[..., 0]


def make_dataset(tf, x, y, cfg: models.TrainConfig, training: bool):
    x = x.astype(np.float32)
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if training:
        ds = ds.shuffle(len(x), seed=cfg.seed, reshuffle_each_iteration=True)
    ds = ds.batch(cfg.batch_size)
    if training and cfg.augment:
        ds = ds.map(lambda a, b: (augment_batch(tf, a, cfg), b), num_parallel_calls=tf.data.AUTOTUNE)
    if cfg.label_smoothing:
        ds = ds.map(lambda a, b: (a, tf.one_hot(tf.cast(b, tf.int32), cfg.classes)))
    return ds.prefetch(tf.data.AUTOTUNE)


def compile_model(keras, model, cfg: models.TrainConfig, steps_per_epoch: int):
    lr = cfg.learning_rate
    if cfg.schedule == "onecycle":
        total = max(1, steps_per_epoch * cfg.epochs)
        warm = max(1, total // 5)
        lr = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=cfg.learning_rate / 20, decay_steps=total - warm, alpha=0.002,
            warmup_target=cfg.learning_rate, warmup_steps=warm)
    elif cfg.schedule != "constant":
        raise ValueError(f"unknown schedule {cfg.schedule!r}")
    optimizer = keras.optimizers.Adam(learning_rate=lr, use_ema=cfg.ema, ema_momentum=0.999)
    if cfg.label_smoothing:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing)
        metric = keras.metrics.CategoricalAccuracy(name="accuracy")
    else:
        loss = keras.losses.SparseCategoricalCrossentropy()
        metric = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    model.compile(optimizer=optimizer, loss=loss, metrics=[metric])


def accuracy(model, x, y) -> float:
    return float(np.mean(predict_proba(model, x).argmax(axis=1) == y))


def per_class_accuracy(pred, y) -> list[float]:
    """Share of each digit's images read right (recall), digit 0 to 9."""
    y = np.asarray(y)
    return [float(np.mean(pred[y == d] == d)) if np.any(y == d) else 0.0 for d in range(10)]


def library_versions() -> dict:
    import keras
    import tensorflow as tf

    return {"python": platform.python_version(), "keras": keras.__version__,
            "tensorflow": tf.__version__, "numpy": np.__version__}


def train(cfg: models.TrainConfig, mnist: Mnist, out_dir: str | Path, verbose: int = 0,
          callbacks=(), extra_meta: dict | None = None, replace: bool = True, on_snapshot=None) -> dict:
    """Train `cfg.model` and save the bundle at `out_dir`; returns its meta, with "bundle" (where it
    went: `replace=False` never replaces a folder, see bundle.save). `callbacks`: Keras callbacks
    (progress, stop); `extra_meta` is merged into meta.json (how the run was made). The bundle
    keeps snapshots of what the network learned epoch by epoch (core.inside); `on_snapshot(
    Snapshots)` sees them as they are taken (the dashboard's live view)."""
    cfg.check()  # fail on an unknown name or a setting out of range before the slow imports
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(cfg.seed)
    (x_tr, y_tr), (x_val, y_val) = split(mnist, cfg)
    for kind, n in (("drawn", cfg.drawn), ("styled", cfg.styled), ("nondigit", cfg.nondigits)):
        if n:
            x_more, y_more = extra_images(kind, x_tr, y_tr, n, cfg.seed, traced_letters=cfg.traced_letters)
            x_tr, y_tr = np.concatenate([x_tr, x_more]), np.concatenate([y_tr, y_more])
    model = models.build(cfg)
    steps = math.ceil(len(x_tr) / cfg.batch_size)
    compile_model(keras, model, cfg, steps)
    train_ds = make_dataset(tf, x_tr, y_tr, cfg, training=True)
    val_ds = make_dataset(tf, x_val, y_val, cfg, training=False) if len(x_val) else None

    recording = inside.Recording(x_val, y_val)
    record = inside.recorder(keras, recording, inside.every(cfg.epochs),
                             on_epoch=(lambda r: on_snapshot(r.result())) if on_snapshot else None)
    start = time.perf_counter()
    history = model.fit(train_ds, validation_data=val_ds, epochs=cfg.epochs, verbose=verbose, shuffle=False,
                        callbacks=[record, *callbacks])  # the dataset shuffles itself, with the seed
    train_seconds = time.perf_counter() - start
    snaps = recording.result()
    test_pred = predict_proba(model, mnist.x_test).argmax(axis=1)

    meta = {
        "name": cfg.model,
        "config": asdict(cfg),
        "data_sha256": mnist.sha256,
        "parameters": int(model.count_params()),
        "train_images": int(len(x_tr)),
        "val_images": int(len(x_val)),
        "train_accuracy": accuracy(model, x_tr[y_tr < 10], y_tr[y_tr < 10]),  # digits only
        "val_accuracy": accuracy(model, x_val, y_val) if len(x_val) else None,
        "test_accuracy": float(np.mean(test_pred == mnist.y_test)),
        "test_per_class": per_class_accuracy(test_pred, mnist.y_test),
        "train_seconds": round(train_seconds, 1),
        "history": {k: [float(v) for v in vals] for k, vals in history.history.items()},
        "epochs_done": len(history.history.get("loss", [])),
        # stopped early (the dashboard's Stop button): the figures are those of a shorter run
        "stopped": bool(model.stop_training),
        "preprocess_version": preprocess.PREPROCESS_VERSION,
        "versions": library_versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **(extra_meta or {}),
    }
    saved = bundle.save(model, meta, out_dir, replace=replace,
                        files={inside.SNAPSHOT_FILE: lambda path: inside.write_snapshots(path, snaps)})
    return {**meta, "bundle": str(saved)}
