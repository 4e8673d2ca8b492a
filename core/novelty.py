"""Scores on the classifier's own outputs: temperature scaling of its probabilities, and novelty
(how unlike MNIST's digits its features are). Fitted by calibrate.py, used by the recognizer."""
from __future__ import annotations

import numpy as np

OOD_FILE = "ood.npz"
PCA_DIMS = 48  # features are reduced to this before the Mahalanobis distance: stable with ~10k images


def scale_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax(log p / T): T > 1 softens over-confident outputs; rows are renormalised."""
    logp = np.log(np.clip(probs, 1e-12, None)) / temperature
    logp -= logp.max(axis=1, keepdims=True)
    e = np.exp(logp)
    return e / e.sum(axis=1, keepdims=True)


def fit_temperature(probs: np.ndarray, y: np.ndarray) -> float:
    """The T for softmax(log p / T) that minimises the negative log-likelihood of the true labels."""
    from scipy.optimize import minimize_scalar

    logp = np.log(np.clip(probs, 1e-12, None))
    y = np.asarray(y, int)

    def nll(log_t):
        z = logp / np.exp(log_t)
        z -= z.max(axis=1, keepdims=True)
        return float(-(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(axis=1))).mean())

    return float(np.exp(minimize_scalar(nll, bounds=(-3, 3), method="bounded").x))


class Novelty:
    """How unlike MNIST digits an input is: the smallest class-conditional Mahalanobis distance of
    the network's own features (the input of its last Dense layer), after PCA."""

    def __init__(self, mean, components, class_means, precision, threshold=np.inf):
        self.mean, self.components = mean, components
        self.class_means, self.precision, self.threshold = class_means, precision, float(threshold)

    @classmethod
    def fit(cls, features: np.ndarray, y: np.ndarray) -> "Novelty":
        mean = features.mean(axis=0)
        # the components from about 5,000 rows: only those are centred (the features are 10k x 16k)
        _, _, vt = np.linalg.svd(features[:: max(1, len(features) // 5000)] - mean, full_matrices=False)
        # kept in float32, the features' own precision: half the file (the bundle's largest), and
        # calibration's thresholds are measured on this very projection
        mean, components = mean.astype(np.float32), vt[:PCA_DIMS].T.astype(np.float32)
        z = cls(mean, components, None, None).project(features).astype(np.float64)  # the covariance sums 10k rows
        class_means = np.stack([z[y == k].mean(axis=0) for k in range(10)])
        resid = z - class_means[y]
        cov = resid.T @ resid / len(z) + 1e-6 * np.eye(z.shape[1])
        return cls(mean, components, class_means, np.linalg.inv(cov))

    def project(self, features: np.ndarray) -> np.ndarray:
        """Features in the PCA space the distances are measured in."""
        return (features - self.mean) @ self.components

    def score(self, features: np.ndarray) -> np.ndarray:
        z = self.project(features)
        d = z[:, None, :] - self.class_means[None]
        return np.sqrt(np.einsum("nkd,de,nke->nk", d, self.precision, d).min(axis=1))

    def save(self, path) -> None:
        np.savez(path, mean=self.mean, components=self.components, class_means=self.class_means,
                 precision=self.precision, threshold=self.threshold)

    @classmethod
    def load(cls, path) -> "Novelty":
        with np.load(path, allow_pickle=False) as z:
            return cls(z["mean"], z["components"], z["class_means"], z["precision"], z["threshold"])
