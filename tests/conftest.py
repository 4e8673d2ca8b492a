import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

from core.data import Mnist, content_sha256

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "streamlit_app.py")
TIMEOUT = 180  # the first run starts the model worker: TensorFlow's import and three models


def synthetic_arrays(n_train=600, n_test=200, seed=0):
    """Tiny learnable digits: class k is a bright bar at row 2+2k (so a model can reach 100%)."""
    rng = np.random.default_rng(seed)

    def make(n):
        y = rng.integers(0, 10, n).astype(np.uint8)
        x = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        for i, k in enumerate(y):
            x[i, 2 + 2 * k: 4 + 2 * k, 4:24] = 255
        return x, y

    return (*make(n_train), *make(n_test))


@pytest.fixture(scope="session")
def tiny_mnist():
    arrays = synthetic_arrays()
    return Mnist(*arrays, sha256=content_sha256(arrays), source="synthetic")


@pytest.fixture(scope="session")
def tiny_npz(tmp_path_factory) -> str:
    """The synthetic digits as an MNIST .npz (Keras layout), for code that loads data by path."""
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    np.savez(path, **dict(zip(("x_train", "y_train", "x_test", "y_test"), synthetic_arrays())))
    return str(path)


@pytest.fixture(scope="session")
def tiny_bundle(tiny_mnist, tmp_path_factory):
    """A linear model trained for 3 epochs on synthetic digits."""
    from core import models, train

    out = tmp_path_factory.mktemp("bundles") / "linear"
    cfg = models.spec("linear").defaults.with_(epochs=3, val_split=100)
    train.train(cfg, tiny_mnist, out)
    return out


@pytest.fixture(scope="module")
def app_test():
    """AppTest of the dashboard, opened on `page` (a file under pages/) after the frame's first run."""
    from streamlit.testing.v1 import AppTest

    def make(page=None):
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.run()
        if page:
            at.switch_page(page).run()
        return at
    return make


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """A scratch runs folder, so the tests never touch artifacts/runs."""
    from core import bundle

    monkeypatch.setattr(bundle, "RUNS", tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def mnist():
    """The real thing; fetched once into the user's cache."""
    from core.data import load_mnist

    return load_mnist()
