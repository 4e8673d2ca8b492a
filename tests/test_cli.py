import json

import numpy as np
import pytest
from click.testing import CliRunner

from core import bundle, cli, data
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
    assert bundle.read_meta(out).config["traced_letters"] is False
    r = run("train", "linear", "--epochs", 1, "--val-split", 50, "--traced-letters", "--out", tmp_path / "t",
            "--data", npz, "--unverified")
    assert r.exit_code == 0 and bundle.read_meta(tmp_path / "t").config["traced_letters"] is True
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


@pytest.fixture
def images(tmp_path):
    from PIL import Image

    from tests.images import stroke_digit

    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.fromarray(255 - stroke_digit()).save(folder / "seven.png")
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.txt").write_text("not an image, and not picked up from a folder")
    return folder


def test_predict_json_lines_and_per_file_errors(tiny_bundle, images):
    r = run("predict", "--bundle", tiny_bundle, "--json", images)
    assert r.exit_code == 1  # some files failed
    lines = [json.loads(line) for line in r.output.strip().splitlines()]
    by_name = {l["file"].rsplit("/", 1)[-1]: l for l in lines}
    assert set(by_name) == {"seven.png", "broken.png", "empty.jpg"}
    ok = by_name["seven.png"]
    assert set(ok) >= {"file", "digit", "guess", "confidence", "status", "probabilities"}
    assert "error" in by_name["broken.png"] and "empty" in by_name["empty.jpg"]["error"]


def test_predict_human_output(tiny_bundle, images):
    r = run("predict", "--bundle", tiny_bundle, images / "seven.png")
    assert r.exit_code == 0 and "seven.png:" in r.output and "Traceback" not in r.output


def test_read_json(tiny_bundle, images):
    r = run("read", "--bundle", tiny_bundle, "--json", images / "seven.png")
    line = json.loads(r.output)
    assert r.exit_code == 0 and set(line) >= {"file", "text", "status", "digits"}


def test_predict_text_file_and_missing(tiny_bundle, images, tmp_path):
    r = run("predict", "--bundle", tiny_bundle, images / "notes.txt", tmp_path / "missing.png")
    assert r.exit_code == 1 and r.output.count("error") == 2 and "Traceback" not in r.output


def test_predict_missing_bundle(tmp_path, images):
    r = run("predict", "--bundle", tmp_path / "nope", images / "seven.png")
    assert r.exit_code == 1 and "no such bundle" in r.output


def test_predict_empty_folder(tiny_bundle, tmp_path):
    (tmp_path / "empty").mkdir()
    r = run("predict", "--bundle", tiny_bundle, tmp_path / "empty")
    assert r.exit_code == 1 and "no image files found" in r.output
