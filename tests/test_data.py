import gzip
import struct

import numpy as np
import pytest

from core import data
from tests.conftest import synthetic_arrays


def write_npz(path, arrays):
    np.savez(path, **dict(zip(data.KEYS, arrays)))


def write_idx(folder, arrays, gz):
    folder.mkdir(parents=True, exist_ok=True)
    for key, a in zip(data.KEYS, arrays):
        raw = bytes([0, 0, 8, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape) + a.tobytes()
        name = data.IDX_NAMES[key] + (".gz" if gz else "")
        (folder / name).write_bytes(gzip.compress(raw) if gz else raw)


def test_npz_round_trip(tmp_path):
    arrays = synthetic_arrays(50, 20)
    write_npz(tmp_path / "m.npz", arrays)
    m = data.load_mnist(tmp_path / "m.npz", expected_sha256=data.content_sha256(arrays))
    assert m.x_train.shape == (50, 28, 28) and m.x_train.dtype == np.uint8
    for got, want in zip(m.arrays(), arrays):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder(tmp_path, gz):
    arrays = synthetic_arrays(30, 10)
    write_idx(tmp_path / "idx", arrays, gz)
    m = data.load_mnist(tmp_path / "idx", expected_sha256=data.content_sha256(arrays))
    np.testing.assert_array_equal(m.x_test, arrays[2])
    np.testing.assert_array_equal(m.y_train, arrays[1])


def test_truncated_idx_is_refused(tmp_path):
    arrays = synthetic_arrays(30, 10)
    write_idx(tmp_path / "idx", arrays, gz=False)
    f = tmp_path / "idx" / "train-images-idx3-ubyte"
    f.write_bytes(f.read_bytes()[:-100])
    with pytest.raises(data.DataError, match="truncated"):
        data.load_mnist(tmp_path / "idx", expected_sha256=None)


def test_truncated_npz_is_refused(tmp_path):
    write_npz(tmp_path / "m.npz", synthetic_arrays(30, 10))
    raw = (tmp_path / "m.npz").read_bytes()
    (tmp_path / "m.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(data.DataError, match="not a readable .npz"):
        data.load_mnist(tmp_path / "m.npz", expected_sha256=None)


def test_wrong_checksum_is_refused(tmp_path):
    write_npz(tmp_path / "m.npz", synthetic_arrays(30, 10))
    with pytest.raises(data.DataError, match="checksum"):
        data.load_mnist(tmp_path / "m.npz")  # expects real MNIST


def test_wrong_file_gives_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(data.DataError, match="not a readable"):
        data.load_mnist(tmp_path / "notes.txt")
    with pytest.raises(data.DataError, match="no such file"):
        data.load_mnist(tmp_path / "missing.npz")


def test_cache_written_once_then_used(tmp_path):
    arrays = synthetic_arrays(30, 10)
    digest = data.content_sha256(arrays)
    calls = []

    def source():
        calls.append(1)
        return arrays

    m1 = data.load_mnist(home=tmp_path, expected_sha256=digest, sources=[("fake", source)])
    m2 = data.load_mnist(home=tmp_path, expected_sha256=digest, sources=[("fake", source)])
    assert len(calls) == 1 and "fake" in m1.source and m2.source.endswith(data.CACHE_NAME)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_corrupt_cache_is_rebuilt(tmp_path):
    arrays = synthetic_arrays(30, 10)
    digest = data.content_sha256(arrays)
    (tmp_path / data.CACHE_NAME).write_bytes(b"PK\x03\x04 half a zip")
    m = data.load_mnist(home=tmp_path, expected_sha256=digest, sources=[("fake", lambda: arrays)])
    assert m.sha256 == digest
    assert data.load_mnist(home=tmp_path, expected_sha256=digest, download=False).sha256 == digest


def test_no_source_says_what_was_tried(tmp_path):
    def broken():
        raise OSError("network unreachable")

    with pytest.raises(data.DataError) as e:
        data.load_mnist(home=tmp_path, sources=[("net", broken)])
    assert "net: OSError: network unreachable" in str(e.value) and "--data" in str(e.value)


def test_home_follows_env(tmp_path):
    assert data.home_dir({"DIGITREC_HOME": str(tmp_path)}) == tmp_path
    assert data.home_dir({"XDG_CACHE_HOME": "/c"}).as_posix() == "/c/digitrec"


def test_unpickler_refuses_code():
    import io
    import pickle

    evil = pickle.dumps(print)  # any callable other than numpy's array classes
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        data._NumpyOnlyUnpickler(io.BytesIO(evil)).load()


def test_unpickler_reads_numpy_arrays():
    import io
    import pickle

    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    got = data._NumpyOnlyUnpickler(io.BytesIO(pickle.dumps((a, np.arange(3)), protocol=2))).load()
    np.testing.assert_array_equal(got[0], a)


@pytest.mark.mnist
def test_real_mnist(mnist):
    assert mnist.x_train.shape == (60000, 28, 28) and mnist.x_test.shape == (10000, 28, 28)
    assert np.bincount(mnist.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert abs(mnist.x_train.mean() / 255 - 0.1307) < 1e-3
    assert abs(mnist.x_train.std() / 255 - 0.3081) < 1e-3
