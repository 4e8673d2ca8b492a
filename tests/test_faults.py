"""Damaged files, vanished runs and races must never take a page down or act on the wrong run."""
import json
import shutil

import pytest

from core import bundle, jobs, runner
from core import runs as run_folder
from tests.test_app import TRAIN, no_exception

PAGES = (None, "pages/draw.py", TRAIN, "pages/mistakes.py")


def make_run(runs_dir, name: str, **meta_changes):
    """A copy of the shipped baseline as a run, its meta.json changed as asked."""
    d = runs_dir / name
    shutil.copytree(bundle.ARTIFACTS / "baseline", d)
    meta = json.loads((d / "meta.json").read_text())
    meta.update(meta_changes)
    (d / "meta.json").write_text(json.dumps(meta))
    return d


def test_delete_acts_on_the_run_chosen_even_if_it_vanished(app_test, runs):
    for name in ("a", "b", "c"):
        make_run(runs, name)
    at = app_test(TRAIN)
    at.selectbox(key="manage_run").set_value(str(runs / "b")).run()
    shutil.rmtree(runs / "b")  # deleted in another tab meanwhile
    at.button(key="manage_delete").click().run()
    assert (runs / "a").is_dir() and (runs / "c").is_dir()  # nothing else was deleted
    assert any("b is gone" in w.value for w in at.warning), [w.value for w in at.warning]
    no_exception(at)


@pytest.mark.parametrize("changes", [{"test_accuracy": "0.91"}, {"config": None}, {"stopped": "yes"},
                                     {"test_per_class": ["x"] * 10}, {"members": [{"styled": "many"}]}])
def test_a_meta_with_wrong_types_is_left_out_on_every_page(app_test, runs, changes):
    make_run(runs, "damaged", **changes)
    make_run(runs, "fine")
    for page in PAGES:
        at = app_test(page)
        no_exception(at)
    home = app_test()
    assert not any(o.startswith("damaged") for o in home.sidebar.selectbox(key="model_path").options)
    assert any("damaged" in c.value for c in home.sidebar.caption)  # named, with the reason


def test_a_damaged_job_file_is_skipped(app_test, runs):
    folder = runs / jobs.JOBS_DIR / "20991231-235959-000000001-1"
    folder.mkdir(parents=True)
    (folder / "request.json").write_bytes(b"")  # 0 bytes after a crash
    assert runner.latest(runs) is None and len(runner.damaged(runs)) == 1
    at = app_test(TRAIN)
    no_exception(at)
    assert any("20991231-235959-000000001-1" in c.value for c in at.caption)  # named on the page


def test_train_while_another_tab_is_starting_says_so(app_test, runs):
    import fcntl

    at = app_test(TRAIN)
    with open(runs / runner.LOCK_FILE, "a") as held:  # the other tab has the lock, no job folder yet
        fcntl.flock(held, fcntl.LOCK_EX)
        at.button(key="go_train").click().run()
    no_exception(at)
    assert any("starting in another tab" in w.value for w in at.warning), [w.value for w in at.warning]


def test_rename_refuses_shipped_names_gone_runs_and_a_trailing_newline(runs):
    make_run(runs, "a")
    with pytest.raises(runner.RunError, match="1-64"):
        run_folder.rename(runs / "a", "name\n", runs)
    with pytest.raises(runner.RunError, match="exists"):
        run_folder.rename(runs / "a", "cnn", runs)
    with pytest.raises(runner.RunError, match="gone"):
        run_folder.delete(runs / "nope", runs)
    with pytest.raises(runner.RunError, match="only runs"):
        run_folder.delete(bundle.ARTIFACTS / "baseline", runs)


def test_a_save_never_replaces_a_folder_it_did_not_create(tmp_path):
    class Model:
        def save(self, path):
            path.write_bytes(b"model")

    other = tmp_path / "run"
    other.mkdir()
    (other / "mine").write_text("someone's renamed run")
    saved = bundle.save(Model(), {"name": "x"}, other, replace=False)
    assert saved == tmp_path / "run-2" and (other / "mine").is_file()
    assert bundle.save(Model(), {"name": "y"}, other)  # the default replaces, as `make pretrained` wants
    assert not (other / "mine").exists()


def test_writes_are_synced_before_the_rename(tmp_path, monkeypatch):
    synced = []
    monkeypatch.setattr(bundle, "_sync", lambda p: synced.append(p.name))
    bundle.write_text_atomic(tmp_path / "f.json", "{}")
    assert synced[0].startswith(".tmp-") and synced[1] == tmp_path.name


def test_an_unreadable_meta_is_a_bundle_error(tmp_path, monkeypatch):
    d = make_run(tmp_path, "r")
    real = type(d).read_text

    def denied(self, *a, **k):
        if self.name == "meta.json":
            raise PermissionError(13, "Permission denied")
        return real(self, *a, **k)
    monkeypatch.setattr(type(d), "read_text", denied)
    with pytest.raises(bundle.BundleError, match="cannot be read"):
        bundle.read_meta(d)


@pytest.mark.parametrize("damage", [b"", b"PK\x03\x04 not really a zip"])
def test_damaged_caches_are_made_anew(tmp_path, tiny_mnist, damage, monkeypatch):
    from core import evaluate

    monkeypatch.setitem(evaluate.SETS, "photos", ("a few photos", 6))

    calls = []
    compute = lambda: calls.append(1) or [[0.5, 0.5]]  # noqa: E731
    first = evaluate.cached_predictions(bundle.ARTIFACTS / "baseline", "mnist", compute, tmp_path)
    cache = next(tmp_path.glob("baseline-*-mnist.npz"))
    cache.write_bytes(damage)
    again = evaluate.cached_predictions(bundle.ARTIFACTS / "baseline", "mnist", compute, tmp_path)
    assert len(calls) == 2 and (again == first).all()

    x, y, index = evaluate.evaluation_set("photos", tiny_mnist, tmp_path)
    next(tmp_path.glob("photos-*.npz")).write_bytes(damage)
    x2, y2, _ = evaluate.evaluation_set("photos", tiny_mnist, tmp_path)
    assert (x2 == x).all() and (y2 == y).all()


def test_a_model_deleted_in_another_tab_is_a_message_on_the_next_upload(app_test, runs):
    from tests.images import photo_of_seven

    run = make_run(runs, "soon-gone")
    at = app_test()
    at.sidebar.selectbox(key="model_path").set_value(str(run)).run()
    at.switch_page("pages/draw.py").run()
    shutil.rmtree(run)  # another tab deletes it
    at.file_uploader(key="upload").set_value(("seven.jpg", photo_of_seven(), "image/jpeg")).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = [w.value for w in at.warning] + [e.value for e in at.error]
    assert any("soon-gone" in m for m in shown), shown


def test_clean_removes_leftovers_old_jobs_and_orphaned_scores(tmp_path):
    runs, caches = tmp_path / "runs", tmp_path / "predictions"
    make_run(runs, "kept")
    (runs / ".kept-new-abc").mkdir()  # a save killed half-way
    (runs / ".tmp-1-meta.json").write_text("")
    (runs / ".deleted-x-1").mkdir()
    for i in range(run_folder.KEEP_JOBS + 3):
        job = runs / jobs.JOBS_DIR / f"20260101-0000{i:02d}-000000000-1"
        job.mkdir(parents=True)
        (job / "request.json").write_text(json.dumps({"configs": [], "names": [], "created": 0}))
    caches.mkdir()
    (caches / "kept-0123-mnist.npy").write_bytes(b"x")
    (caches / "gone-0123-mnist.npy").write_bytes(b"x")
    removed = run_folder.clean(runs, caches)
    assert {".kept-new-abc", ".tmp-1-meta.json", ".deleted-x-1", "gone-0123-mnist.npy"} <= set(removed)
    assert (runs / "kept").is_dir() and (caches / "kept-0123-mnist.npy").is_file()
    assert len(list((runs / jobs.JOBS_DIR).iterdir())) == run_folder.KEEP_JOBS


def test_an_upload_is_read_once_not_on_every_rerun(app_test, monkeypatch):
    from core.service import Service
    from tests.images import photo_of_seven

    calls = []
    real = Service.predict
    monkeypatch.setattr(Service, "predict", lambda self, *a: calls.append(1) or real(self, *a))
    at = app_test("pages/draw.py")
    at.file_uploader(key="upload").set_value(("seven.jpg", photo_of_seven(noise=3.0), "image/jpeg")).run()
    at.toggle(key="compare").set_value(False).run()  # reruns that change nothing about the file
    at.run()
    assert len(calls) == 1 and not at.exception


def test_more_than_50_files_are_capped_with_a_message(app_test):
    from tests.images import png_bytes, stroke_digit
    from PIL import Image

    one = png_bytes(Image.fromarray(stroke_digit(size=60, width=6)))
    at = app_test("pages/draw.py")
    at.file_uploader(key="upload").set_value([(f"d{i}.png", one, "image/png") for i in range(53)]).run()
    assert any("first 50" in w.value for w in at.warning) and not at.exception


def test_a_damaged_job_that_sorts_later_does_not_hide_the_running_one(runs, tiny_npz):
    from tests.test_runner import SLOW, wait

    future = runs / jobs.JOBS_DIR / "20991231-235959-000000001-1"
    future.mkdir(parents=True)
    (future / "request.json").write_bytes(b"")
    job = runner.start([SLOW], runs, data=tiny_npz)
    seen = wait(runs, lambda j: j is not None and j.of("begin"))
    assert seen.id == job.id and seen.state == "running"  # not "failed" because a later folder is damaged
    runner.stop(seen)
    wait(runs, lambda j: j.state != "running")


def test_the_card_says_how_many_networks_learned_more_styled_digits(app_test, runs):
    """An averaged bundle whose networks learned different numbers of seen-style digits says so."""
    d = make_run(runs, "four", members=[{"seed": 0, "styled": 20000}, {"seed": 0, "traced_letters": True, "styled": 20000},
                                        {"seed": 0, "styled": 50000}, {"seed": 0, "traced_letters": True, "styled": 50000}])
    assert bundle.read_meta(d).styled == (20000, 20000, 50000, 50000)
    at = app_test()
    at.sidebar.selectbox(key="model_path").set_value(str(d)).run()
    card = " ".join(m.value for m in at.sidebar.markdown)
    assert ("4 networks trained apart, 2 of them also on letters traced by hand, 2 on 50,000 digits in "
            "the seen styles (the others on 20,000)") in card
    no_exception(at)
