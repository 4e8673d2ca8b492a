import json

import numpy as np
import pytest
from click.testing import CliRunner

from digitrec import cli, data
from tests.conftest import synthetic_arrays


@pytest.fixture
def npz(tmp_path):
    path = tmp_path / "mini.npz"
    np.savez(path, **dict(zip(data.KEYS, synthetic_arrays(300, 100))))
    return path


def run(*args):
    return CliRunner().invoke(cli.main, [str(a) for a in args])


def test_help_lists_commands():
    r = run("--help")
    assert r.exit_code == 0
    for cmd in ("data", "train", "evaluate", "compare"):
        assert cmd in r.output


def test_unknown_model_is_one_line(tmp_path):
    r = run("train", "resnet", "--out", tmp_path / "x")
    assert r.exit_code != 0 and "unknown model 'resnet'" in r.output and "Traceback" not in r.output


def test_missing_bundle(tmp_path):
    r = run("evaluate", tmp_path / "nope")
    assert r.exit_code == 1 and "no such bundle" in r.output and "Traceback" not in r.output


def test_wrong_data_file(tmp_path):
    f = tmp_path / "data.txt"
    f.write_text("not mnist")
    r = run("data", "--data", f)
    assert r.exit_code == 1 and "not a readable .npz" in r.output


def test_foreign_data_fails_checksum(npz):
    r = run("data", "--data", npz)
    assert r.exit_code == 1 and "checksum" in r.output


def test_train_evaluate_compare(tmp_path, npz):
    out = tmp_path / "b"
    r = run("train", "linear", "--epochs", 1, "--val-split", 50, "--out", out, "--data", npz, "--unverified")
    assert r.exit_code == 0, r.output
    assert "test accuracy" in r.output and (out / "model.keras").is_file()
    r = run("evaluate", out, "--data", npz, "--unverified", "--report", tmp_path / "rep")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "rep" / "report.html").is_file()
    r = run("compare", out, out)
    assert r.exit_code == 0 and r.output.count("linear") == 2


def test_bundle_of_other_version(tiny_bundle, tmp_path):
    import shutil

    target = tmp_path / "old"
    shutil.copytree(tiny_bundle, target)
    meta = json.loads((target / "meta.json").read_text())
    meta["bundle_version"] = 99
    (target / "meta.json").write_text(json.dumps(meta))
    r = run("compare", target)
    assert r.exit_code == 1 and "version 99" in r.output and "Traceback" not in r.output
