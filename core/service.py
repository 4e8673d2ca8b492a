"""The networks in a worker process of their own, so TensorFlow never loads in the caller.

Why a process: Streamlit, after every script run, calls `keras.backend.clear_session()` when
Keras is imported (TensorFlow's kernel cache is lost: the next prediction costs ~10x) and runs a
full `gc.collect(2)`, which with TensorFlow's objects in the heap holds the GIL for hundreds of
ms. Kept in a worker, TensorFlow is out of reach of both, the dashboard starts without importing
it, and a crash in the native code cannot take the server down: the next call starts a new worker.

The worker holds one `Recognizer` per bundle, keyed by path and `bundle.checksum`, so a bundle
that changes on disk is loaded anew. Calls are serialised (one lock): a prediction takes ~10 ms.
"""
from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from . import bundle, decode, inside
from .evaluate import saliency
from .recognizer import Recognizer

START_SECONDS = 120  # TensorFlow's import plus three models; a slow first start is not a hang
ROOT = Path(__file__).resolve().parent.parent  # the worker runs `python -m core.service` from here


class ServiceError(RuntimeError):
    """The worker failed in a way that says nothing about the input (it died, or timed out)."""


MAX_MODELS = 8  # models kept loaded in the worker (~50-200 MB each); the least recently used goes first


# ---------------------------------------------------------------- inside the worker
def _recognizer(cache: dict, bundle_dir: str):
    """The bundle's Recognizer, loaded once per version of its files. Any failure to build one (a
    damaged gate.keras, a Git LFS pointer for ood.npz, ...) is a BundleError naming the bundle."""
    for old in [k for k in cache if not Path(k[0]).is_dir()]:
        del cache[old]  # deleted or renamed runs leave memory too
    key = (bundle_dir, bundle.checksum(bundle_dir))
    if key in cache:
        cache[key] = cache.pop(key)  # most recently used last
        return cache[key]
    for old in [k for k in cache if k[0] == bundle_dir]:
        del cache[old]  # a retrained bundle replaces its old model
    try:
        rec = Recognizer(bundle_dir)
    except bundle.BundleError:
        raise
    except Exception as e:  # noqa: BLE001 - whatever broke, this bundle cannot be used
        raise bundle.BundleError(f"{bundle_dir}: cannot be loaded ({e.__class__.__name__}: {e})") from None
    while len(cache) >= MAX_MODELS:
        del cache[next(iter(cache))]
    cache[key] = rec
    return rec


def _handle(cache: dict, op: str, args: dict):
    if op == "ping":
        return os.getpid()
    rec = _recognizer(cache, args["bundle"])
    if op == "load":
        return rec.card()
    if op == "predict":
        return rec.predict(args["image"])
    if op == "read":
        return rec.read(args["image"])
    if op == "probabilities":
        return rec.probabilities(args["images"])
    if op == "judge":  # the whole answer per 28x28 image, without the image itself (it is the caller's)
        return [dataclasses.replace(p, input=None) for p in rec.classify(args["images"])]
    if op == "map":  # a set in feature space: main axes, and which images the recognizer refuses
        preds, feats = rec.classify_with_features(args["images"])
        coords = inside.pca(feats)
        refused = [p.status != "ok" for p in preds]
        return {"coords": coords.astype(np.float32), "refused": np.asarray(refused)}
    if op == "inside":  # what one prepared 28x28 image does in each layer
        return inside.activations(rec.model, args["image"])
    if op == "saliency":
        return saliency(rec.probabilities, args["image"], args["target"])
    raise ValueError(f"unknown operation {op!r}")


def _serve(conn) -> None:  # runs in the child; covered through Service
    cache: dict = {}
    while True:
        try:
            op, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply = ("ok", _handle(cache, op, args))
        except (decode.ImageError, bundle.BundleError) as e:
            reply = ("error", e)  # the caller's input was at fault: raise it there as is
        except Exception as e:  # anything else: report it, keep serving
            reply = ("error", ServiceError(f"{e.__class__.__name__}: {e}"))
        try:
            conn.send(reply)
        except OSError:
            return  # the caller has gone (the server stopped): so do we


# ---------------------------------------------------------------- in the caller
class Service:
    """A handle on the worker; thread-safe. The worker starts on the first call (or `start()`)."""

    def __init__(self, timeout: float = 60.0):
        self.timeout = timeout
        self._lock = threading.Lock()
        self._proc = None
        self._conn = None
        self._fresh = False  # the worker has not answered yet: allow for its start-up

    def start(self) -> "Service":
        """Start the worker now, in the background: the first call then waits less."""
        with self._lock:
            self._ensure()
        return self

    def _ensure(self) -> None:
        if self._alive():
            return
        self._stop()
        # A fresh interpreter, not multiprocessing: its "spawn" re-runs the caller's __main__,
        # which under Streamlit is the app script itself; "fork" would copy the server's threads.
        ours, theirs = socket.socketpair()
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3")}
        self._proc = subprocess.Popen([sys.executable, "-m", "core.service", str(theirs.fileno())],
                                      cwd=ROOT, env=env, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        theirs.close()
        self._conn = Connection(ours.detach())
        self._fresh = True

    def _alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._alive():
            self._proc.kill()
            self._proc.wait(5)
        self._proc = self._conn = None

    def close(self) -> None:
        with self._lock:
            self._stop()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def call(self, op: str, **args):
        """Run `op` in the worker. Input errors (ImageError, BundleError) are raised as they are;
        a worker that died is restarted once and the call retried."""
        with self._lock:
            for attempt in (1, 2):
                self._ensure()
                wait = START_SECONDS + self.timeout if self._fresh else self.timeout
                try:
                    self._conn.send((op, args))
                    if not self._conn.poll(wait):
                        self._stop()
                        raise ServiceError(f"the model worker did not answer {op!r} in {wait:.0f} s")
                    status, value = self._conn.recv()
                except (EOFError, OSError, BrokenPipeError):
                    self._stop()  # it died (killed, out of memory, a native crash): start anew
                    if attempt == 2:
                        raise ServiceError("the model worker stopped twice in a row") from None
                    continue
                self._fresh = False
                if status == "error":
                    raise value
                return value

    # What the pages ask for, named.
    def load(self, bundle_dir: str | Path) -> dict:
        return self.call("load", bundle=str(bundle_dir))

    def predict(self, bundle_dir: str | Path, image):
        return self.call("predict", bundle=str(bundle_dir), image=image)

    def read(self, bundle_dir: str | Path, image):
        return self.call("read", bundle=str(bundle_dir), image=image)

    def probabilities(self, bundle_dir: str | Path, images):
        return self.call("probabilities", bundle=str(bundle_dir), images=images)

    def judge(self, bundle_dir: str | Path, images):
        """A Prediction (status, reason, guess, confidence) for every 28x28 image."""
        return self.call("judge", bundle=str(bundle_dir), images=images)

    def map(self, bundle_dir: str | Path, images) -> dict:
        """A set's images on the network's main feature axes ({"coords", "refused"})."""
        return self.call("map", bundle=str(bundle_dir), images=images)

    def inside(self, bundle_dir: str | Path, image) -> dict:
        """core.inside.activations of a prepared 28x28 image."""
        return self.call("inside", bundle=str(bundle_dir), image=image)

    def saliency(self, bundle_dir: str | Path, image, target: int):
        return self.call("saliency", bundle=str(bundle_dir), image=image, target=int(target))


if __name__ == "__main__":
    from core.service import _serve as serve  # by its module name: errors it sends unpickle in the caller

    serve(Connection(int(sys.argv[1])))
