"""Load a model bundle once; predict digits and read numbers from images of any kind."""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import bundle, gate, models, preprocess
from .novelty import OOD_FILE, Novelty, scale_temperature

# Why an answer is not "ok", in the order the tests are applied (the first that fires is named),
# as the dashboard says it to the person who sent the image.
REASONS = {
    "blank": "No ink was found",
    "sparse": "Only a few specks of ink, too little for a digit",
    "thickness": "The ink is thicker than any digit's stroke (a filled blob or a smudge)",
    "other": "The network's own \"not a digit\" class says this is not a digit (a letter, a shape or a scribble)",
    "gate": "The digit-or-not gate finds this ink unlike the digits the network knows",
    "novelty": "What the network sees in it is unlike every digit it was trained on",
    "low_confidence": "Too unsure of the digit",
}

# Used when a bundle carries no calibration of its own (see calibrate.py).
DEFAULT_CALIBRATION = {"temperature": 1.0, "ok_threshold": 0.5, "uncertain_threshold": 0.3}
# The refusal tests, in the order they are asked: the calibration key that switches each on, and
# its name in the model card
REFUSAL_TESTS = {"sparse": ("min_ink", "a too-little-ink check"),
                 "thickness": ("max_thickness", "the thickness check"),
                 "other": ("other_threshold", "its own *not a digit* class"),
                 "gate": ("gate_threshold", "a digit-or-not gate"),
                 "novelty": ("novelty_threshold", "the novelty check")}


def tests_on(calibration: dict) -> list[str]:
    """The refusal tests a calibration switches on (and did not switch off), in their order."""
    off = calibration.get("switched_off", ())
    return [test for test, (key, _) in REFUSAL_TESTS.items() if key in calibration and test not in off]


@dataclass(frozen=True)
class Prediction:
    digit: int | None  # the answer, only when status is "ok"
    guess: int | None  # the most likely class whatever the status (None when blank)
    confidence: float  # calibrated probability of `guess`
    status: str  # "ok", "uncertain" or "no_digit"
    probabilities: list  # 10 calibrated probabilities
    box: tuple = (0, 0, 0, 0)  # (x, y, w, h) of the ink in the input image
    input: np.ndarray = field(default=None, repr=False)  # the 28x28 uint8 image the network saw
    # which test decided a status other than "ok": one of REASONS ("" when ok)
    reason: str = ""

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("input")
        d["box"] = list(self.box)
        return d


@dataclass(frozen=True)
class Reading:
    text: str | None  # the number, None when no digit was found
    status: str  # "ok" when every digit is, "no_digit" when none is found, else "uncertain"
    digits: list  # Prediction per digit, left to right

    def to_json(self) -> dict:
        return {"text": self.text, "status": self.status,
                "digits": [{"digit": p.guess, "confidence": p.confidence, "status": p.status,
                            "box": list(p.box)} for p in self.digits]}


class Recognizer:
    """One model, loaded once; thread-safe for prediction."""

    def __init__(self, bundle_dir: str | Path | None = None, options: preprocess.Options = preprocess.DEFAULT_OPTIONS):
        self.options = options
        self.bundle_dir = Path(bundle_dir) if bundle_dir else bundle.default_bundle()
        self.model, self.meta = bundle.load(self.bundle_dir)
        self.calibration = {**DEFAULT_CALIBRATION, **(self.meta.calibration or {})}
        ood = self.bundle_dir / OOD_FILE
        self.novelty = Novelty.load(ood) if ood.is_file() else None
        import keras
        import tensorflow as tf

        # The class probabilities and the features the last Dense layer sees, in one pass.
        both = keras.Model(self.model.inputs, [self.model.outputs[0], models.head(self.model).input])
        # One traced graph for any batch size: avoids model.predict's per-call set-up (~100 ms).
        self._forward = tf.function(lambda x: both(x, training=False), reduce_retracing=True,
                                    input_signature=[tf.TensorSpec([None, 28, 28], tf.float32)])
        self._forward(tf.zeros([1, 28, 28]))  # trace now, not on the first request
        self._gate = None
        if (self.bundle_dir / gate.GATE_FILE).is_file():
            gate_model = keras.saving.load_model(self.bundle_dir / gate.GATE_FILE, compile=False)
            self._gate = tf.function(lambda x: gate_model(x, training=False), reduce_retracing=True,
                                     input_signature=[tf.TensorSpec([None, 28, 28], tf.float32)])
            self._gate(tf.zeros([1, 28, 28]))

    def with_options(self, options: preprocess.Options) -> "Recognizer":
        """The same loaded model with other preprocessing options (for ablations)."""
        other = copy.copy(self)
        other.options = options
        return other

    def with_calibration(self, calibration: dict, novelty) -> "Recognizer":
        """The same loaded model judged by other thresholds (calibration measures its own)."""
        other = copy.copy(self)
        other.calibration, other.novelty = {**DEFAULT_CALIBRATION, **calibration}, novelty
        return other

    # ------------------------------------------------------------ the network
    def forward(self, images: np.ndarray, batch: int = 1024):
        """(digit probabilities summing to 1, features, "not a digit" probability) for a
        (N, 28, 28) batch, uncalibrated. A ten-class model's last part is zeros."""
        x = np.asarray(images, np.float32).reshape(-1, 28, 28)
        if len(x) == 0:
            return np.zeros((0, 10)), np.zeros((0, 0)), np.zeros(0)
        probs, feats = [], []
        for i in range(0, len(x), batch):
            p, f = self._forward(x[i: i + batch])
            probs.append(np.asarray(p, np.float64))
            feats.append(np.asarray(f, np.float64).reshape(len(p), -1))
        probs, feats = np.concatenate(probs), np.concatenate(feats)
        other = probs[:, 10] if probs.shape[1] > 10 else np.zeros(len(probs))
        probs = probs[:, :10]
        return probs / np.clip(probs.sum(axis=1, keepdims=True), 1e-12, None), feats, other

    @property
    def has_gate(self) -> bool:
        return self._gate is not None

    def digit_scores(self, images: np.ndarray, batch: int = 1024) -> np.ndarray:
        """The gate's belief (0..1) that each 28x28 image is a digit at all; ones without a gate."""
        x = np.asarray(images, np.float32).reshape(-1, 28, 28)
        if self._gate is None or len(x) == 0:
            return np.ones(len(x))
        return np.concatenate([np.asarray(self._gate(x[i: i + batch]), np.float64).reshape(-1)
                               for i in range(0, len(x), batch)])

    def refusal_tests(self, feats: np.ndarray, images: np.ndarray, other: np.ndarray) -> dict:
        """{test: where it fires}, in the order they are asked: less ink than digits hold (a few
        specks), ink thicker than any training digit's (a filled blob), the network's "not a
        digit" class, the gate, features unlike any MNIST digit's. Each test runs only when
        calibrated (and not switched off)."""
        cal, tests, asked = self.calibration, {}, self.tests_asked()
        if "sparse" in asked:
            tests["sparse"] = preprocess.ink_amount(images) < cal["min_ink"]
        if "thickness" in asked:
            tests["thickness"] = preprocess.ink_thickness(images) > cal["max_thickness"]
        if "other" in asked:
            tests["other"] = other > cal["other_threshold"]
        if "gate" in asked:
            tests["gate"] = self.digit_scores(images) < cal["gate_threshold"]
        if "novelty" in asked:
            tests["novelty"] = self.novelty.score(feats) > self.novelty.threshold
        return tests

    def tests_asked(self) -> list[str]:
        """The refusal tests this recognizer asks, in order: those its calibration switches on
        (`tests_on`, as the model card names them), the gate and novelty only with their models
        (gate.keras, ood.npz) loaded."""
        ready = {"gate": self._gate is not None, "novelty": self.novelty is not None}
        return [t for t in tests_on(self.calibration) if ready.get(t, True)]

    def refusals(self, feats: np.ndarray, images: np.ndarray, other: np.ndarray) -> np.ndarray:
        """Per image, the first test that finds it is not a digit ("" where none does)."""
        out = np.full(len(images), "", dtype=object)
        for name, fires in self.refusal_tests(feats, images, other).items():
            out[(out == "") & fires] = name
        return out

    def refused(self, images: np.ndarray, forward=None) -> np.ndarray:
        """Where classify's answer would not be "ok": a refusal test fires or the calibrated
        confidence is below the "ok" threshold. `forward`: forward(images), when already at hand."""
        raw, feats, other = forward or self.forward(images)
        conf = scale_temperature(raw, self.calibration["temperature"]).max(axis=1)
        return (self.refusals(feats, images, other) != "") | (conf < self.calibration["ok_threshold"])

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities for a (N, 28, 28) batch of MNIST-form images."""
        return scale_temperature(self.forward(images)[0], self.calibration["temperature"])

    def prepare(self, image) -> preprocess.Prepared:
        return preprocess.prepare(image, self.options)

    def classify(self, images: np.ndarray, boxes=None) -> list[Prediction]:
        return self.classify_with_features(images, boxes)[0]

    def classify_with_features(self, images: np.ndarray, boxes=None) -> tuple[list[Prediction], np.ndarray]:
        """The answers for a (N, 28, 28) batch, and the features the last Dense layer read for
        each (the pixels for a network without a hidden layer): one pass through the network."""
        if len(images) == 0:
            return [], np.zeros((0, 0))
        raw, feats, other = self.forward(images)
        probs = scale_temperature(raw, self.calibration["temperature"])
        refusals = self.refusals(feats, images, other)
        boxes = boxes or [(0, 0, 0, 0)] * len(probs)
        return [self._decide(p, img, box, r) for p, img, box, r in zip(probs, images, boxes, refusals)], feats

    def _decide(self, p, image, box, refusal: str) -> Prediction:
        guess = int(p.argmax())
        conf = float(p[guess])
        status = "no_digit" if refusal else decide(conf, self.calibration)
        reason = refusal or ("" if status == "ok" else "low_confidence")
        return Prediction(guess if status == "ok" else None, guess, round(conf, 6), status,
                          [round(float(v), 6) for v in p], tuple(box), image, reason)

    # ------------------------------------------------------------ images
    def predict(self, image) -> Prediction:
        """One digit from a path, bytes, PIL image or array. Raises decode.ImageError."""
        return self.predict_many([image])[0]

    def predict_many(self, images) -> list[Prediction]:
        """Many images through the network in one call."""
        prepared = [self.prepare(img) for img in images]
        live = [i for i, p in enumerate(prepared) if not p.blank]
        results = [blank_prediction() for _ in prepared]
        for i, pred in zip(live, self.classify(np.stack([prepared[i].image for i in live]) if live else [],
                                               [prepared[i].box for i in live])):
            results[i] = pred
        return results

    def read(self, image) -> Reading:
        """A number: each digit left to right."""
        parts = preprocess.prepare_many(image, self.options)
        if not parts:
            return Reading(None, "no_digit", [])
        preds = self.classify(np.stack([p.image for p in parts]), [p.box for p in parts])
        statuses = {p.status for p in preds}
        if statuses == {"no_digit"}:
            return Reading(None, "no_digit", preds)
        # The best reading, digit by digit; any digit short of "ok" makes the whole "uncertain".
        status = "ok" if statuses == {"ok"} else "uncertain"
        return Reading("".join(str(p.guess) for p in preds), status, preds)

    def card(self) -> dict:
        """What a user should know about the model: name, accuracy, where the figures come from."""
        m = self.meta
        return {"name": m.name, "test_accuracy": m.test_accuracy, "val_accuracy": m.val_accuracy,
                "parameters": m.parameters, "train_seconds": m.train_seconds, "train_images": m.train_images,
                "created": m.created, "calibration": self.calibration,
                "source": "test accuracy measured on the 10,000 MNIST test images after training; "
                          "settings were chosen on a validation split of the training images"}


def decide(confidence: float, calibration: dict) -> str:
    if confidence >= calibration["ok_threshold"]:
        return "ok"
    if confidence >= calibration["uncertain_threshold"]:
        return "uncertain"
    return "no_digit"


def blank_prediction() -> Prediction:
    return Prediction(None, None, 0.0, "no_digit", [0.0] * 10, (0, 0, 0, 0), preprocess.BLANK, "blank")
