"""The model worker: answers, input errors raised as they are, restarts after a crash, and keeps
TensorFlow out of the calling process (what keeps Streamlit's per-run clean-up off the models)."""
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from core import bundle, decode
from core.service import Service
from tests.images import png_bytes, stroke_digit


@pytest.fixture(scope="module")
def service():
    s = Service()
    yield s
    s.close()


def seven_png():
    from PIL import Image

    return png_bytes(Image.fromarray(stroke_digit()))


def test_predicts_in_the_worker(service, tiny_bundle):
    p = service.predict(tiny_bundle, seven_png())
    assert p.status in {"ok", "uncertain", "no_digit"} and len(p.probabilities) == 10
    assert p.input.shape == (28, 28) and service.pid != os.getpid()


def test_reads_a_number(service, tiny_bundle):
    pair = np.hstack([stroke_digit(), stroke_digit()])
    r = service.read(tiny_bundle, pair)
    assert len(r.digits) == 2 and r.digits[0].box[0] < r.digits[1].box[0]


def test_probabilities_of_a_batch(service, tiny_bundle, tiny_mnist):
    p = service.probabilities(tiny_bundle, tiny_mnist.x_test[:50])
    assert p.shape == (50, 10) and np.allclose(p.sum(axis=1), 1)


def test_bad_input_is_raised_as_itself(service, tiny_bundle, tmp_path):
    with pytest.raises(decode.ImageError, match="not an image"):
        service.predict(tiny_bundle, b"hello")
    with pytest.raises(bundle.BundleError):
        service.load(tmp_path / "missing")
    assert service.predict(tiny_bundle, seven_png()).input.shape == (28, 28)  # still serving


def test_a_killed_worker_is_replaced(service, tiny_bundle):
    service.predict(tiny_bundle, seven_png())
    old = service.pid
    os.kill(old, signal.SIGKILL)
    time.sleep(0.2)
    assert service.predict(tiny_bundle, seven_png()).input.shape == (28, 28)
    assert service.pid != old


def test_a_changed_bundle_is_loaded_anew(service, tiny_bundle, tmp_path):
    copy = tmp_path / "b"
    shutil.copytree(tiny_bundle, copy)
    first = service.load(copy)
    meta = bundle.read_meta(copy)
    bundle.write_meta(copy, {**meta.raw, "test_accuracy": 0.5})
    assert service.load(copy)["test_accuracy"] == 0.5 != first["test_accuracy"]


GUARD = """
import sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("streamlit_app.py", default_timeout=300).run()
at.switch_page("pages/draw.py").run()
at.file_uploader(key="upload").set_value(("seven.png", open(sys.argv[1], "rb").read(), "image/png")).run()
shown = [m.value for m in at.markdown if "class='headline'" in m.value]
for page in ("pages/train.py", "pages/mistakes.py"):  # the other pages: training and scoring stay out too
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
loaded = [m for m in ("tensorflow", "keras") if m in sys.modules]
import gc
# what Streamlit's gc.collect(2) after every script run walks: everything imported at start-up must
# be frozen out of its reach (ui.settle_startup), so only the objects made since are tracked
frozen, tracked = gc.get_freeze_count(), len(gc.get_objects())
print("answers:", shown, "loaded:", loaded, f"frozen: {frozen}, tracked: {tracked}")
sys.exit(1 if loaded or len(shown) != 2 or frozen < 50000 or tracked > frozen // 2 else 0)
"""


def test_tensorflow_never_loads_in_the_dashboard(tmp_path):
    """The guard behind the dashboard's speed: Streamlit calls keras.backend.clear_session() and
    gc.collect(2) after every script run; neither may reach the models, and the home page must
    not wait for TensorFlow's import. The app runs in a process of its own, answers an upload,
    must not have imported TensorFlow or Keras after every page ran, and the start-up's objects must
    be frozen out of the collector's reach, so a full collection stays cheap (ui.settle_startup;
    without it, ~60 ms a run: benchmarks/ui_bench.py times it)."""
    (tmp_path / "seven.png").write_bytes(seven_png())
    r = subprocess.run([sys.executable, "-c", GUARD, str(tmp_path / "seven.png")], cwd=bundle.ARTIFACTS.parent,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr[-2000:]
    assert "loaded: []" in r.stdout


def test_a_damaged_calibration_file_is_a_bundle_error(service, tiny_bundle, tmp_path):
    """A Git LFS pointer where ood.npz should be: the bundle is unusable, the worker says which."""
    copy = tmp_path / "lfs"
    shutil.copytree(tiny_bundle, copy)
    (copy / "ood.npz").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n")
    with pytest.raises(bundle.BundleError, match="lfs.*cannot be loaded"):
        service.load(copy)
    assert service.predict(tiny_bundle, seven_png()).input.shape == (28, 28)  # the worker still serves


def test_the_worker_keeps_a_few_models_and_forgets_deleted_ones(tiny_bundle, tmp_path):
    from core import service as svc

    cache = {}
    copies = []
    for i in range(svc.MAX_MODELS + 2):
        copies.append(tmp_path / f"m{i}")
        shutil.copytree(tiny_bundle, copies[-1])
        svc._recognizer(cache, str(copies[-1]))
    assert len(cache) == svc.MAX_MODELS and str(copies[0]) not in {k[0] for k in cache}  # least recent out
    shutil.rmtree(copies[-1])
    svc._recognizer(cache, str(copies[-2]))
    assert str(copies[-1]) not in {k[0] for k in cache}
