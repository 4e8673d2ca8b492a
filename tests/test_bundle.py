import os
import shutil
import time

from core import bundle


def test_available_lists_shipped_first_then_runs_newest_first(tiny_bundle, tmp_path):
    runs = tmp_path / "runs"
    for name in ("old", "new"):
        shutil.copytree(tiny_bundle, runs / name)
        time.sleep(0.01)
    os.utime(runs / "old" / bundle.META_FILE, (1, 1))
    (runs / "half-written").mkdir()  # no meta.json: not a bundle
    (runs / ".new-tmp").mkdir()
    found = bundle.available(runs)
    assert [p.name for p in found[:3]] == list(bundle.SHIPPED)
    assert [p.name for p in found[3:]] == ["new", "old"]


def test_checksum_changes_with_any_file(tiny_bundle, tmp_path):
    b = shutil.copytree(tiny_bundle, tmp_path / "b")
    first = bundle.checksum(b)
    assert bundle.checksum(b) == first
    (b / bundle.META_FILE).write_text((b / bundle.META_FILE).read_text() + " ")
    assert bundle.checksum(b) != first
    assert bundle.checksum(tmp_path / "nothing") == "missing"
