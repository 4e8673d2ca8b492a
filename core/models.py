"""Networks built by name, each with the training settings it was designed for."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class TrainConfig:
    model: str = "mlp"  # a name in MODELS
    epochs: int = 10  # the reference recipes' counts; the CNNs set their own
    batch_size: int = 32  # Keras's default, which the reference recipes used
    learning_rate: float = 1e-3  # Adam's default; peak rate when a schedule is used
    schedule: str = "constant"  # "constant" as in the recipes, or "onecycle" (warm-up then cosine) for the CNNs
    val_split: int = 5000  # images held out of the *training* set to choose settings; the test set never is
    seed: int = 0  # fixes initial weights, shuffling, dropout and augmentation
    limit: int = 0  # train on only the first N images (0 = all): quick smoke runs
    label_smoothing: float = 0.0  # >0 keeps the CNN from over-confident outputs, which calibration needs
    ema: bool = False  # average weights over the last steps: a cheap, smoother final model
    rotate_deg: float = 0.0  # augmentation: max rotation; real handwriting slants
    shift_px: float = 0.0  # augmentation: max shift; demos fail on digits not dead centre
    zoom: float = 0.0  # augmentation: max relative scale change; stroke sizes differ
    shear: float = 0.0  # augmentation: max shear (radians); italic writing
    output: str = "softmax"  # "sigmoid" keeps the reference recipes faithful
    width: int = 32  # CNN channels in the first block; cost grows with its square
    hidden: int = 100  # units in the MLP's hidden layer: the recipe's 100; the dashboard's slider sweeps it
    # extra training images: training digits drawn with a round brush (8-40 px) on the 280 canvas
    # and preprocessed as the dashboard does. MNIST alone never shows the even, fat strokes of a
    # canvas drawing; the shipped CNN read 98.9% of them at best before
    drawn: int = 0
    # extra training digits in the styles of core.styles marked `seen` (thin, bold, pixelated,
    # printed in the DejaVu Sans family), prepared as the dashboard does: MNIST's pen is one pen,
    # and the shipped CNN refused ~10% of pixelated and ~3.5% of bold digits without them
    styled: int = 0
    # images of an 11th class, "not a digit" (half the gate's generator: letters of one font family,
    # hand-drawn letters and signs, curves, shapes, overlapping digits; half the suite's seen
    # families: letters typed in one font family, scribbles, shapes, blobs): the classifier itself
    # learns what a digit is not. 0 keeps ten outputs
    nondigits: int = 0
    # letters traced by hand in the DejaVu Sans family (nondigits.letters_hand_sans) join those seen
    # families: typed letters alone taught the CNN to refuse type, not a hand's letters (README)
    traced_letters: bool = False

    @property
    def classes(self) -> int:
        return 11 if self.nondigits else 10

    def with_(self, **changes) -> "TrainConfig":
        """A copy with `changes`, ignoring None values (CLI options left unset)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def check(self) -> "TrainConfig":
        """Itself, or InvalidConfig naming the first setting out of range (the dashboard's sliders
        cannot go there; scripts and the CLI can)."""
        spec(self.model)
        for name, (lo, hi) in LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
                raise InvalidConfig(f"{name} must be between {lo:g} and {hi:g}, not {value!r}")
        return self

    @property
    def augment(self) -> bool:
        return any((self.rotate_deg, self.shift_px, self.zoom, self.shear))


def _inputs(keras):
    """Images enter as 28x28 floats in 0..255 (white ink on black); scaling lives in the model."""
    inputs = keras.Input((28, 28), name="image")
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    return inputs, x


def build_linear(keras, cfg: TrainConfig):
    inputs, x = _inputs(keras)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(10, activation=cfg.output)(x)
    return keras.Model(inputs, outputs, name="linear")


def build_mlp(keras, cfg: TrainConfig):
    inputs, x = _inputs(keras)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(cfg.hidden, activation="relu")(x)
    outputs = keras.layers.Dense(10, activation=cfg.output)(x)
    return keras.Model(inputs, outputs, name="mlp")


def build_keras_example(keras, cfg: TrainConfig):
    """Keras's "Simple MNIST convnet" example, layer for layer (34,826 parameters)."""
    L = keras.layers
    inputs, x = _inputs(keras)
    x = L.Reshape((28, 28, 1))(x)
    x = L.Conv2D(32, 3, activation="relu")(x)
    x = L.MaxPooling2D(2)(x)
    x = L.Conv2D(64, 3, activation="relu")(x)
    x = L.MaxPooling2D(2)(x)
    x = L.Flatten()(x)
    x = L.Dropout(0.5)(x)
    outputs = L.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="keras_example")


def _conv_bn(L, x, filters, kernel, **kw):
    x = L.Conv2D(filters, kernel, use_bias=False, **kw)(x)  # BN supplies the bias
    x = L.BatchNormalization()(x)
    return L.ReLU()(x)


def build_cnn(keras, cfg: TrainConfig):
    """Our CNN: conv-BN blocks sized for a 2-core CPU (about 4M multiply-adds per image).

    Resolution is cut early (28 -> 14 -> 7) because on this CPU the cost of a convolution
    grows with its area; the channels are spent where the feature map is small.
    """
    L, width = keras.layers, cfg.width
    inputs, x = _inputs(keras)
    x = L.Reshape((28, 28, 1))(x)
    x = _conv_bn(L, x, width, 3, padding="same")
    x = _conv_bn(L, x, width, 3, strides=2, padding="same")  # learned downsampling: 14x14
    x = L.Dropout(0.1)(x)
    x = _conv_bn(L, x, 2 * width, 3, padding="same")
    x = L.MaxPooling2D(2)(x)  # 7x7
    x = L.Dropout(0.2)(x)
    x = _conv_bn(L, x, 4 * width, 3)  # 5x5
    x = L.Flatten()(x)
    x = L.Dropout(0.4)(x)
    x = L.Dense(cfg.classes)(x)
    outputs = L.Activation("softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="cnn")


@dataclass(frozen=True)
class ModelSpec:
    build: object  # callable(keras, TrainConfig) -> keras.Model
    defaults: TrainConfig  # the settings this network was designed and measured with
    about: str


CNN_AUG = dict(rotate_deg=12.0, shift_px=3.0, zoom=0.12, shear=0.15)

MODELS = {
    "linear": ModelSpec(build_linear, TrainConfig(model="linear", epochs=5, output="sigmoid"),
                        "784 -> Dense(10, sigmoid): the original recipe's baseline (about 92.5%)"),
    "mlp": ModelSpec(build_mlp, TrainConfig(model="mlp", epochs=10, output="sigmoid"),
                     "784 -> Dense(100, relu) -> Dense(10, sigmoid): the original recipe (about 97.7%)"),
    "keras_example": ModelSpec(build_keras_example,
                               TrainConfig(model="keras_example", epochs=15, batch_size=128, val_split=6000),
                               "Keras's simple MNIST convnet, its published settings (reports 99.22%)"),
    "cnn": ModelSpec(build_cnn, TrainConfig(model="cnn", epochs=16, batch_size=128, learning_rate=3e-3,
                                            schedule="onecycle", label_smoothing=0.1, drawn=20000,
                                            styled=20000, nondigits=30000, **CNN_AUG),
                     "digitrec's CNN: conv + batch norm, augmentation, one-cycle LR, weight averaging"),
    "cnn_fast": ModelSpec(build_cnn, TrainConfig(model="cnn_fast", epochs=6, batch_size=128, learning_rate=3e-3,
                                                 schedule="onecycle", label_smoothing=0.1, width=16,
                                                 rotate_deg=8.0, shift_px=2.0, zoom=0.08),
                          "the same CNN, a few epochs: the fast setting"),
}


# What a training run may ask for: wide enough for any sensible experiment, narrow enough that a
# typo cannot start a week-long run or exhaust memory.
LIMITS = {
    "epochs": (1, 100),
    "batch_size": (1, 4096),
    "learning_rate": (1e-6, 1.0),
    "val_split": (0, 12000),
    "limit": (0, 60000),
    "hidden": (1, 4096),
    "width": (1, 256),
    "drawn": (0, 100000),
    "styled": (0, 100000),
    "nondigits": (0, 100000),
}


class EnsembleError(ValueError):
    """Members that cannot be averaged (different outputs, or a head that is not linear)."""


READ_VIEW = "read_view"  # the layer of an averaged model that gives what its networks read
READ_AT_RANGE = (8, 28)  # sides a network may read at: below 8 px no digit keeps its shape


def average(members: list, name: str = "cnn", read_at: int = 28):
    """One model whose output is softmax(mean of the members' logits). Each member must end in a
    linear Dense layer (the logits) followed by a softmax. `read_at` < 28: the members read the
    image shrunk to read_at x read_at pixels (box-averaged) in the middle of the 28x28 frame."""
    import keras

    L = keras.layers
    inputs = keras.Input((28, 28), name="image")
    seen = _shrunk(L, inputs, read_at) if read_at != 28 else inputs
    feats, kernels, biases = [], [], []
    for i, member in enumerate(members):
        heads = [layer for layer in member.layers if isinstance(layer, L.Dense)]
        if not heads or any(isinstance(layer, keras.Model) for layer in member.layers):
            raise EnsembleError(f"member {i} ({member.name}) is itself averaged or wraps a network: "
                                "join the trained networks it was made from (its meta.json lists them)")
        head = heads[-1]
        if head.get_config().get("activation") != "linear":
            raise EnsembleError(f"member {i} ({member.name}): its last Dense layer is not linear; "
                                "its logits cannot be averaged")
        feats.append(keras.Model(member.inputs, head.input, name=f"member_{i}")(seen))
        w, b = head.get_weights()
        kernels.append(w / len(members))
        biases.append(b / len(members))
    if len({k.shape[1] for k in kernels}) != 1:
        raise EnsembleError(f"members have different numbers of outputs: {[k.shape[1] for k in kernels]}")
    x = L.Concatenate(name="features")(feats) if len(feats) > 1 else feats[0]
    head = L.Dense(kernels[0].shape[1], name="averaged_logits")
    logits = head(x)
    head.set_weights([np.concatenate(kernels), np.sum(biases, axis=0)])
    return keras.Model(inputs, L.Activation("softmax", dtype="float32")(logits), name=name)


def _shrink_matrix(side: int) -> np.ndarray:
    """P (28x28) such that P @ image @ P.T is the image box-averaged to side x side pixels and
    centred in the 28x28 frame: output row i averages the input rows its 28/side-wide band covers."""
    scale = 28 / side
    lo, hi = np.arange(side)[:, None] * scale, (np.arange(side)[:, None] + 1) * scale
    band = np.clip(np.minimum(hi, np.arange(1, 29)) - np.maximum(lo, np.arange(28)), 0, None) / scale
    before = (28 - side) // 2
    p = np.zeros((28, 28), np.float32)
    p[before: before + side] = band
    return p


def _shrunk(L, x, side: int):
    """`x` shrunk by two fixed linear maps (rows, then columns): plain Dense layers, so the bundle
    needs no custom layer and reads the same in every Keras call path."""
    if not READ_AT_RANGE[0] <= side <= READ_AT_RANGE[1]:
        raise EnsembleError(f"read_at must be between {READ_AT_RANGE[0]} and {READ_AT_RANGE[1]} pixels, not {side}")
    p = _shrink_matrix(side)
    cols = L.Dense(28, use_bias=False, trainable=False, name="read_cols")
    rows = L.Dense(28, use_bias=False, trainable=False, name="read_rows")
    x = L.Permute((2, 1))(cols(x))  # (N, 28, 28) @ P.T: each row shrunk, then rows and columns swapped
    x = L.Permute((2, 1), name=READ_VIEW)(rows(x))
    cols.set_weights([p.T])
    rows.set_weights([p.T])
    return x


def _shrinks(model) -> bool:
    return READ_VIEW in [layer.name for layer in model.layers]


def view(model):
    """A function giving, for a (N, 28, 28) batch, the images the model's networks read: the batch
    itself, or (an averaged model with `read_at`) the batch shrunk."""
    import keras

    if not _shrinks(model):
        return lambda x: x
    return keras.Model(model.inputs, model.get_layer(READ_VIEW).output)


def reading_size(model) -> int:
    """The side in pixels of the image the model's networks read (28: the image as it is)."""
    if not _shrinks(model):
        return 28
    return int((model.get_layer("read_rows").get_weights()[0].sum(axis=0) > 0).sum())  # rows it fills


def head(model):
    """The model's last Dense layer: the logits, read from the features (the Map, novelty) it takes."""
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)][-1]


def members(model) -> list:
    """The networks inside an averaged model (the model itself when it is a single network)."""
    import keras

    inner = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return inner or [model]


class UnknownModel(ValueError):
    pass


class InvalidConfig(ValueError):
    """A training setting out of range."""


def spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise UnknownModel(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}") from None


def build(cfg: TrainConfig):
    import keras

    return spec(cfg.model).build(keras, cfg)
