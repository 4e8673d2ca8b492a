"""The training runner: a worker process per job, progress events, Stop, one at a time, atomic
saves, a worker that dies. Synthetic data and the linear model: each run takes seconds."""
import dataclasses
import json
import os
import signal
import time

import pytest

from core import bundle, jobs, models, runner, worker
from core import runs as run_folder



def runs_in(folder) -> list[str]:
    """The runs the pickers list from `folder` (the shipped bundles come first, left out here)."""
    return [p.name for p in bundle.available(folder) if p.parent == folder]


def wait(runs, until, timeout=600.0):  # returns as soon as `until`; long only on a busy day
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = runner.latest(runs)
        if until(job):
            return job
        time.sleep(0.1)
    raise AssertionError(f"timed out; events: {[e['event'] for e in runner.latest(runs).events]}")


QUICK = models.spec("linear").defaults.with_(epochs=2, val_split=100)
SLOW = QUICK.with_(epochs=100, batch_size=1)  # 50,000 steps: runs until stopped or killed


def test_a_run_reports_progress_and_saves_a_bundle(tmp_path, tiny_npz):
    job = runner.start([QUICK], tmp_path, data=tiny_npz)
    assert job.state == "running"
    job = wait(tmp_path, lambda j: j.state != "running")
    assert job.state == "done", job.error
    assert [e["epoch"] for e in job.of("epoch", 0)] == [1, 2]
    assert set(job.history(0)) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    saved = job.of("saved", 0)[0]
    meta = bundle.read_meta(saved["bundle"])
    assert meta.raw["made_by"] == "dashboard" and meta.epochs_planned == 2 and not meta.stopped
    assert len(meta.test_per_class) == 10 and meta.test_accuracy == saved["test_accuracy"]
    assert runs_in(tmp_path) == [job.request["names"][0]]
    assert job.progress()["fraction"] == 1.0 and job.progress()["left"] is None


def test_one_run_at_a_time_and_stop_keeps_a_labelled_run(tmp_path, tiny_npz):
    job = runner.start([SLOW], tmp_path, data=tiny_npz)
    wait(tmp_path, lambda j: j.of("batch"))
    with pytest.raises(runner.Busy) as busy:
        runner.start([QUICK], tmp_path, data=tiny_npz)
    assert busy.value.job.id == job.id and "linear" in str(busy.value)
    p = runner.latest(tmp_path).progress()
    assert 0 < p["fraction"] < 1 and p["epochs"] == 100
    # it yields the CPU to the dashboard, also across Linux's per-session scheduling groups
    pid = runner.latest(tmp_path).of("loading")[0]["pid"]
    assert os.getpriority(os.PRIO_PROCESS, pid) == worker.NICE
    group = f"/proc/{pid}/autogroup"
    if os.path.exists(group):
        assert open(group).read().split()[-1] == str(worker.NICE)
    runner.stop(job)
    job = wait(tmp_path, lambda j: j.state != "running", timeout=30)
    assert job.state == "stopped"
    meta = bundle.read_meta(job.of("saved")[0]["bundle"])
    assert meta.stopped and meta.epochs < meta.epochs_planned == 100
    runner.start([QUICK], tmp_path, data=tiny_npz)  # free again
    assert wait(tmp_path, lambda j: j.state != "running").state == "done"


def test_a_worker_that_dies_is_reported_and_leaves_no_bundle(tmp_path, tiny_npz):
    runner.start([SLOW], tmp_path, data=tiny_npz)
    job = wait(tmp_path, lambda j: j.of("batch"))
    os.kill(job.of("loading")[0]["pid"], signal.SIGKILL)
    job = wait(tmp_path, lambda j: j.state != "running", timeout=10)
    assert job.state == "failed" and "stopped without a word" in job.error
    assert runs_in(tmp_path) == []
    runner.start([QUICK], tmp_path, data=tiny_npz)  # the next run works
    assert wait(tmp_path, lambda j: j.state != "running").state == "done"


def test_train_both_runs_each_in_turn(tmp_path, tiny_npz):
    both = [QUICK.with_(epochs=1), models.spec("mlp").defaults.with_(epochs=1, val_split=100, hidden=16)]
    runner.start(both, tmp_path, data=tiny_npz)
    job = wait(tmp_path, lambda j: j.state != "running")
    assert job.state == "done" and len(job.of("saved")) == 2
    names = job.request["names"]
    assert names[0].startswith("linear-e1-") and names[1].startswith("mlp-h16-e1-")
    assert bundle.read_meta(tmp_path / names[1]).parameters == 784 * 16 + 16 + 16 * 10 + 10


def test_a_failure_inside_the_worker_is_reported(tmp_path):
    runner.start([QUICK], tmp_path, data=str(tmp_path / "missing.npz"))
    job = wait(tmp_path, lambda j: j.state != "running")
    assert job.state == "failed" and "missing.npz" in job.error


def test_bad_settings_and_unwritable_folder_are_refused(tmp_path):
    with pytest.raises(models.InvalidConfig, match="epochs"):
        runner.start([QUICK.with_(epochs=0)], tmp_path)
    with pytest.raises(models.InvalidConfig, match="hidden"):
        runner.start([QUICK.with_(hidden=0)], tmp_path)
    with pytest.raises(models.UnknownModel):
        runner.start([QUICK.with_(model="resnet")], tmp_path)
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(runner.RunError, match="cannot write"):
        runner.start([QUICK], tmp_path / "a-file" / "runs")
    assert runner.latest(tmp_path) is None


def fake_run(runs, name):
    d = runs / name
    d.mkdir(parents=True)
    (d / bundle.MODEL_FILE).write_bytes(b"")
    bundle.write_meta(d, {"bundle_version": bundle.BUNDLE_VERSION, "name": "linear"})
    return d


def test_rename_and_delete_runs_only(tmp_path):
    runs, caches = tmp_path / "runs", tmp_path / "predictions"
    run = fake_run(runs, "a")
    other = fake_run(runs, "b")
    renamed = run_folder.rename(run, "first-try", runs)
    assert renamed.name == "first-try" and not run.exists()
    for bad in ("", ".hidden", "a/b", "x" * 65, "b"):
        with pytest.raises(runner.RunError):
            run_folder.rename(renamed, bad, runs)
    with pytest.raises(runner.RunError, match="only runs"):
        run_folder.rename(bundle.ARTIFACTS / "cnn", "mine", runs)
    with pytest.raises(runner.RunError, match="only runs"):
        run_folder.delete(bundle.ARTIFACTS / "cnn", runs)
    caches.mkdir()
    for b in (renamed, other):  # scores of both runs; deleting one removes its own only
        (caches / bundle.cache_name(b, "mnist.npz")).write_bytes(b"x")
    run_folder.delete(renamed, runs, caches)
    assert runs_in(runs) == ["b"]
    assert sorted(p.name for p in runs.iterdir()) == ["b"]
    assert [p.name for p in caches.iterdir()] == [bundle.cache_name(other, "mnist.npz")]


def test_progress_from_events():
    now = time.time()
    job = jobs.Job("j", None, {"configs": [{"model": "mlp", "epochs": 4}], "names": ["m"]}, [
        {"event": "begin", "run": 0, "steps": 100, "t": now - 10},
        {"event": "epoch", "run": 0, "epoch": 1, "logs": {"loss": 0.5}, "t": now - 6},
        {"event": "batch", "run": 0, "epoch": 1, "step": 50, "t": now - 1},
    ], alive=True)
    p = job.progress()
    assert (p["epoch"], p["step"], p["steps"]) == (1, 50, 100)
    assert p["fraction"] == pytest.approx(150 / 400)
    assert p["left"] == pytest.approx(10 / 0.375 * 0.625, rel=0.05)
    assert job.history(0) == {"loss": [0.5]}
    assert jobs.Job("j", None, job.request, job.events, alive=False).state == "failed"


@pytest.mark.mnist
def test_a_run_from_the_page_matches_the_cli(tmp_path, mnist):
    """The page builds its config as the CLI does (the model's defaults, then the settings)."""
    import subprocess
    import sys

    cfg = models.spec("mlp").defaults.with_(epochs=1, limit=3000, hidden=32, seed=3)
    runner.start([cfg], tmp_path / "runs")
    cli = tmp_path / "cli"
    subprocess.run([sys.executable, "-m", "core", "train", "mlp", "--epochs", "1", "--limit", "3000",
                    "--hidden", "32", "--seed", "3", "--out", str(cli)], check=True, cwd=runner.ROOT,
                   capture_output=True)
    job = wait(tmp_path / "runs", lambda j: j.state != "running")
    page = bundle.read_meta(job.of("saved")[0]["bundle"])
    assert page.config == bundle.read_meta(cli).config
    assert page.test_accuracy == pytest.approx(bundle.read_meta(cli).test_accuracy, abs=0.01)
    assert page.parameters == 784 * 32 + 32 + 32 * 10 + 10


def test_a_silent_worker_is_hung_and_can_be_ended(tmp_path, tiny_npz, monkeypatch):
    job = runner.start([SLOW], tmp_path, data=tiny_npz)
    job = wait(tmp_path, lambda j: j.of("batch"))
    assert not job.hung
    monkeypatch.setattr(time, "time", lambda real=time.time: real() + jobs.HUNG_AFTER + 5)
    assert job.hung and job.silent > jobs.HUNG_AFTER  # what the page sees a minute later
    monkeypatch.undo()
    runner.end(job)
    job = wait(tmp_path, lambda j: j.state != "running", timeout=10)
    assert job.state == "failed"
    runner.start([QUICK], tmp_path, data=tiny_npz)  # the lock went with the worker
    assert wait(tmp_path, lambda j: j.state != "running").state == "done"


def test_stop_while_starting_trains_nothing(tmp_path, tiny_npz):
    job = runner.start([QUICK], tmp_path, data=tiny_npz)
    runner.stop(job)  # before the worker has loaded anything
    job = wait(tmp_path, lambda j: j.state != "running", timeout=60)
    assert job.state == "stopped" and not job.of("saved") and runs_in(tmp_path) == []


def test_busy_while_another_tab_starts_never_names_the_finished_job(tmp_path, monkeypatch):
    import fcntl

    monkeypatch.setattr(runner, "END_GRACE", 0.2)
    cfg = models.spec("linear").defaults.with_(epochs=1)
    old = tmp_path / jobs.JOBS_DIR / "20260101-000000-000000000-1"  # an earlier job, finished
    old.mkdir(parents=True)
    bundle.write_text_atomic(old / "request.json", json.dumps(
        {"configs": [dataclasses.asdict(cfg)], "names": ["old"], "data": None, "created": 1.0}))
    (old / "events.jsonl").write_text(json.dumps({"event": "end", "t": 2.0, "state": "done"}) + "\n")
    with open(tmp_path / runner.LOCK_FILE, "a") as held:  # another tab has the lock, no folder yet
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(runner.Busy) as busy:
            runner.start([cfg], tmp_path)
    assert busy.value.job is None and "starting in another tab" in str(busy.value)
    assert runner.latest(tmp_path).id == old.name  # nothing new was written


def test_the_estimate_follows_the_most_alike_finished_run():
    def run(name, seconds, images, epochs, done=None, **cfg):
        return bundle.parse_meta({"name": name, "train_seconds": seconds, "train_images": images,
                                  "config": {"epochs": epochs, **cfg}, **({"epochs_done": done} if done else {})})

    cfg = models.spec("mlp").defaults.with_(epochs=4, hidden=64)
    cold = runner.estimate_seconds(cfg)  # no run yet: the benchmark's rate
    past = [run("mlp", 100.0, 1000, 10, hidden=64, batch_size=cfg.batch_size),
            run("mlp", 1.0, 1000, 10, hidden=512, batch_size=7), run("linear", 1.0, 1000, 1)]
    rate = 100.0 / (1000 * 10)
    assert runner.estimate_seconds(cfg, past) == pytest.approx(runner.START_UP + rate * runner.train_images(cfg) * 4)
    assert runner.estimate_seconds(cfg, past) != pytest.approx(cold)
    # a stopped run's rate counts the epochs it did, not those it planned
    stopped = [run("mlp", 100.0, 1000, 10, done=2, hidden=64, batch_size=cfg.batch_size)]
    assert runner.estimate_seconds(cfg, stopped) == pytest.approx(runner.START_UP + 5 * rate * runner.train_images(cfg) * 4)
