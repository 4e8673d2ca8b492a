"""Is it a digit at all? A small network that tells digits from other ink, after preprocessing.

A digit classifier must answer one of ten, so a letter or a scribble gets a digit, often confidently.
The gate sees the same 28x28 image as the classifier and answers "digit or not". It learns from
training digits (as MNIST has them, and drawn as photos and canvases then preprocessed) against
non-digits made here: letters in the machine's fonts and as hand-drawn strokes, curves, shapes and
overlapping digit pairs. The benchmark's non-digits (synth.nondigit: Pillow's built-in font, random
walks, a fixed blob and a grid) come from a different generator and are never trained on.
"""
from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from . import preprocess, styles, synth

GATE_FILE = "gate.keras"
# Characters no careful reader takes for a digit (no O, I, l, S, Z, B, G, q, g, b ...).
GLYPHS = "ACEFHKLMNPRTUVWXYacefhkmnrtuvwxy#%&@?*+=$<>!"
# Hand-drawn letters and signs as strokes in a unit box (x right, y down); jittered when drawn.
STROKES = {
    "A": [[(0, 1), (.5, 0), (1, 1)], [(.25, .6), (.75, .6)]],
    "E": [[(1, 0), (0, 0), (0, 1), (1, 1)], [(0, .5), (.7, .5)]],
    "F": [[(1, 0), (0, 0), (0, 1)], [(0, .5), (.7, .5)]],
    "H": [[(0, 0), (0, 1)], [(1, 0), (1, 1)], [(0, .5), (1, .5)]],
    "K": [[(0, 0), (0, 1)], [(1, 0), (0, .55), (1, 1)]],
    "M": [[(0, 1), (0, 0), (.5, .6), (1, 0), (1, 1)]],
    "N": [[(0, 1), (0, 0), (1, 1), (1, 0)]],
    "P": [[(0, 1), (0, 0), (.8, 0), (1, .2), (.8, .45), (0, .45)]],
    "R": [[(0, 1), (0, 0), (.8, 0), (1, .2), (.8, .45), (0, .45)], [(.4, .45), (1, 1)]],
    "V": [[(0, 0), (.5, 1), (1, 0)]],
    "W": [[(0, 0), (.25, 1), (.5, .4), (.75, 1), (1, 0)]],
    "X": [[(0, 0), (1, 1)], [(1, 0), (0, 1)]],
    "h": [[(0, 0), (0, 1)], [(0, .55), (.4, .4), (.8, .45), (1, .6), (1, 1)]],
    "m": [[(0, 1), (0, .3)], [(0, .45), (.2, .3), (.4, .35), (.5, .5), (.5, 1)],
          [(.5, .5), (.7, .3), (.9, .35), (1, .5), (1, 1)]],
    "#": [[(.3, 0), (.3, 1)], [(.7, 0), (.7, 1)], [(0, .3), (1, .3)], [(0, .7), (1, .7)]],
    "*": [[(.5, 0), (.5, 1)], [(0, .25), (1, .75)], [(1, .25), (0, .75)]],
    "arrow": [[(0, .5), (1, .5)], [(.7, .2), (1, .5), (.7, .8)]],
    "tick": [[(0, .6), (.35, 1), (1, 0)]],
    "triangle": [[(.5, 0), (1, 1), (0, 1), (.5, 0)]],
    "zigzag": [[(0, .2), (.25, .8), (.5, .2), (.75, .8), (1, .2)]],
}


@dataclass(frozen=True)
class GateConfig:
    digits: int = 24000  # MNIST training digits as they are: the classifier's own view of a digit
    drawn: int = 16000  # training digits drawn as photos/canvases and preprocessed: what users send
    # generated non-digits, drawn and preprocessed the same way. Data, not width, was the limit:
    # 8k/16k -> 16k/24k raised the non-digits the gate refuses from 79% to 85% (width 32: no better)
    nondigits: int = 24000
    # share of the drawn digits traced with a round brush 8-40 px wide on a 280 canvas, as people
    # draw on the dashboard: without them the gate refused ~1% of fat-brush drawings
    brushed: float = 0.35
    epochs: int = 6  # the small network converges in a few passes; more overfits the generator
    batch_size: int = 128  # Keras's usual size; a fraction of a second per step on 2 CPU cores
    width: int = 16  # channels of the first conv layer; ~60k parameters, negligible next to the classifier
    seed: int = 0  # fixes the generated images, the weights and the shuffling
    workers: int = 2  # processes that draw and preprocess the images (the slow part)

    def with_(self, **changes) -> "GateConfig":
        return GateConfig(**{**asdict(self), **{k: v for k, v in changes.items() if v is not None}})


# ---------------------------------------------------------------- ink that is not a digit
def _glyph(rng, fonts, size: int) -> np.ndarray:
    img = Image.new("L", (size, size), 0)
    pt = int(size * rng.uniform(0.5, 0.85))
    font = ImageFont.truetype(fonts[rng.integers(len(fonts))], pt) if fonts else ImageFont.load_default(size=pt)
    ImageDraw.Draw(img).text((size / 2, size / 2), GLYPHS[rng.integers(len(GLYPHS))], fill=255, font=font,
                             anchor="mm")
    return np.asarray(img.rotate(float(rng.uniform(-15, 15)), resample=Image.Resampling.BILINEAR))


def _polylines(lines, rng, size: int, width: int) -> np.ndarray:
    """Strokes in a unit box, slanted, stretched and wobbled like handwriting, drawn at `size`."""
    img = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(img)
    slant, aspect = rng.uniform(-0.3, 0.3), rng.uniform(0.6, 1.2)
    for line in lines:
        p = np.asarray(line, float) + rng.normal(0, 0.04, (len(line), 2))
        x = (p[:, 0] - 0.5) * aspect + slant * (p[:, 1] - 0.5) + 0.5
        pts = np.stack([x, p[:, 1]], 1) * size * 0.7 + size * 0.15
        draw.line([tuple(q) for q in pts], fill=255, width=width, joint="curve")
    return np.asarray(img)


def _curves(rng) -> list:
    """2-3 cubic Bezier curves with random control points (one alone is too often a 1, 2, 6 or 7)."""
    t = np.linspace(0, 1, 30)[:, None]
    out = []
    for _ in range(int(rng.integers(2, 4))):
        c = rng.uniform(0, 1, (4, 2))
        out.append((1 - t) ** 3 * c[0] + 3 * (1 - t) ** 2 * t * c[1] + 3 * (1 - t) * t ** 2 * c[2] + t ** 3 * c[3])
    return out


def _shape(rng, size: int) -> np.ndarray:
    img = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(img)
    kind = rng.integers(3)
    if kind == 0:  # a filled polygon or star
        n = int(rng.integers(3, 9))
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        r = size * (0.4 if rng.random() < 0.5 else np.where(np.arange(n) % 2, 0.18, 0.42))
        draw.polygon([(size / 2 + rr * np.cos(a), size / 2 + rr * np.sin(a))
                      for a, rr in zip(ang, np.broadcast_to(r, n))], fill=255)
    elif kind == 1:  # hatching
        k = int(rng.integers(3, 7))
        for i in range(k):
            y = size * (0.15 + 0.7 * i / (k - 1))
            draw.line((size * 0.1, y, size * 0.9, y + rng.uniform(-0.2, 0.2) * size), fill=255,
                      width=max(2, size // 25))
    else:  # a spiral
        t = np.linspace(0, rng.uniform(3, 6) * np.pi, 80)
        rad = size * 0.42 * t / t[-1]
        draw.line([(size / 2 + r * np.cos(a), size / 2 + r * np.sin(a)) for r, a in zip(rad, t)], fill=255,
                  width=max(2, size // 20))
    return np.asarray(img)


def _pair(rng, digits: np.ndarray, size: int) -> np.ndarray:
    """Two different training digits overlapping: ink, but no digit."""
    a, b = (np.asarray(Image.fromarray(digits[rng.integers(len(digits))]).resize((size, size)), float)
            for _ in range(2))
    dx, dy = (rng.uniform(0.2, 0.45) * size * rng.choice([-1, 1]) for _ in range(2))
    b = np.roll(b, (int(dy * rng.random()), int(dx)), axis=(0, 1))
    return np.maximum(a, b).astype(np.uint8)


def nondigit_ink(rng, digits: np.ndarray, fonts) -> np.ndarray:
    """White-on-black ink (uint8) of something that is not a digit."""
    size = int(rng.integers(60, 200))
    width = max(2, int(size * rng.uniform(0.04, 0.12)))
    kind = rng.choice(5, p=[0.3, 0.25, 0.15, 0.15, 0.15])
    if kind == 0:
        return _glyph(rng, fonts, size)
    if kind == 1:
        return _polylines(list(STROKES.values())[rng.integers(len(STROKES))], rng, size, width)
    if kind == 2:
        return _polylines([c.tolist() for c in _curves(rng)], rng, size, width)
    if kind == 3:
        return _shape(rng, size)
    return _pair(rng, digits, size)


def brushed_digit(rng, digits: np.ndarray) -> Image.Image:
    """A training digit drawn on the canvas with a round brush (synth.brush_drawing)."""
    return Image.fromarray(synth.brush_drawing(digits[rng.integers(len(digits))], rng, float(rng.integers(8, 41))))


def digit_ink(rng, digits: np.ndarray) -> np.ndarray:
    size = int(rng.integers(40, 200))
    return np.asarray(synth.digit_patch(digits[rng.integers(len(digits))], size, rng))


def present(ink: np.ndarray, rng) -> Image.Image:
    """Ink as a user sends it: on a dark canvas (any position) or on a photo of paper (maybe JPEG)."""
    h, w = ink.shape
    pad = [int(v) for v in rng.integers(2, max(3, h), 4)]
    canvas = np.pad(ink, ((pad[0], pad[1]), (pad[2], pad[3])))
    if rng.random() < 0.5:
        img = Image.fromarray(canvas)
        return img.filter(ImageFilter.MaxFilter(3)) if rng.random() < 0.3 else img
    img = synth.ink_on_paper(canvas.astype(float) / 255, rng)
    if rng.random() < 0.5:
        img = synth.jpeg(img, int(rng.integers(40, 90)))
    return img


def _drawn(args) -> np.ndarray:
    """`n` prepared images of one class (digits or not), generated from `seed` (runs in a worker)."""
    n, is_digit, seed, digits, brushed = args
    # the seen font family only: every other font on the machine is the suite's held-out print
    rng, fonts, out = np.random.default_rng(seed), styles.fonts(seen=True), []
    while len(out) < n:
        if is_digit and rng.random() < brushed:
            img = brushed_digit(rng, digits)
        else:
            img = present(digit_ink(rng, digits) if is_digit else nondigit_ink(rng, digits, fonts), rng)
        p = preprocess.prepare(img)
        if not p.blank:
            out.append(p.image)
    return np.stack(out) if out else np.zeros((0, 28, 28), np.uint8)


def make_dataset(cfg: GateConfig, x: np.ndarray):
    """(images, is_digit) from training digits `x` (never test digits)."""
    rng = np.random.default_rng(cfg.seed)
    chunks = max(1, cfg.workers * 4)
    jobs = [(n, is_digit, cfg.seed * 1000 + 2 * i + is_digit, x[rng.choice(len(x), min(len(x), 3000), replace=False)],
             cfg.brushed)
            for is_digit, total in ((1, cfg.drawn), (0, cfg.nondigits))
            for i, n in enumerate(np.diff(np.linspace(0, total, chunks + 1).astype(int))) if n]
    if cfg.workers > 1:  # spawn, not fork: the parent may already run TensorFlow's threads
        with ProcessPoolExecutor(cfg.workers, mp_context=get_context("spawn")) as pool:
            parts = list(pool.map(_drawn, jobs))
    else:
        parts = [_drawn(j) for j in jobs]
    raw = x[rng.choice(len(x), min(cfg.digits, len(x)), replace=False)]
    images = np.concatenate([raw, *parts])
    labels = np.concatenate([np.ones(len(raw))] + [np.full(len(p), float(j[1])) for p, j in zip(parts, jobs)])
    order = rng.permutation(len(images))
    return images[order], labels[order].astype(np.float32)


# ---------------------------------------------------------------- the network
def build(keras, width: int):
    L = keras.layers
    inputs = keras.Input((28, 28), name="image")
    x = L.Reshape((28, 28, 1))(L.Rescaling(1 / 255.0)(inputs))
    for w in (width, 2 * width, 4 * width):
        x = L.Conv2D(w, 3, padding="same", activation="relu")(x)
        x = L.MaxPooling2D()(x)
    x = L.Dropout(0.3)(L.Flatten()(x))
    x = L.Dense(64, activation="relu")(x)
    return keras.Model(inputs, L.Dense(1, activation="sigmoid", name="is_digit")(x), name="gate")


def train(cfg: GateConfig, x_digits: np.ndarray, out_path, verbose: int = 0) -> dict:
    """Fit the gate on training digits `x_digits` and generated non-digits; save it to `out_path`."""
    import keras

    start = time.perf_counter()
    images, labels = make_dataset(cfg, x_digits)
    made = time.perf_counter() - start
    keras.utils.set_random_seed(cfg.seed)
    model = build(keras, cfg.width)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"])
    pos = float(labels.mean())
    weights = {0: 0.5 / (1 - pos), 1: 0.5 / pos}  # balanced: each class counts as much
    hist = model.fit(images.astype(np.float32), labels, batch_size=cfg.batch_size, epochs=cfg.epochs,
                     class_weight=weights, verbose=verbose)
    model.save(out_path)
    return {"config": asdict(cfg), "images": int(len(images)), "digit_share": round(pos, 4),
            "train_accuracy": round(float(hist.history["accuracy"][-1]), 4),
            "generate_seconds": round(made, 1), "seconds": round(time.perf_counter() - start, 1)}
