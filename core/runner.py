"""Training runs for the dashboard: each in a process of its own, one at a time per runs folder.

Why a process: a Streamlit rerun (a slider, a page switch, a reload) aborts the script that started
it, and Streamlit calls `keras.backend.clear_session()` after every script run. A worker process
keeps training through both, leaves the dashboard answering while it uses the cores, and a crash
in it cannot take the server down.

Everything goes through files in `<runs>/.jobs/<id>/`, so any session (a reload, another tab, a
restarted server) sees the same run:
- `request.json`: the settings of each run in the job (one, or two for "train both");
- `events.jsonl`: what the worker did, one JSON object a line (begin, batch, epoch, saved, end);
- `stop`: present when someone pressed Stop; the worker stops after the current batch.
Reading a job folder is `core/jobs.py`; the worker's side is `core/worker.py`; renaming,
deleting and cleaning runs is `core/runs.py`.
One at a time: the worker holds an exclusive lock on `<runs>/.train.lock` for as long as it lives
(the kernel drops it when the process dies, however it dies), so a second start is refused with
the running job, and a job whose worker is gone without an `end` event is reported as failed.
"""
from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from . import bundle, models, train
from .jobs import JOBS_DIR, DamagedJob, Job, job_folders, read

LOCK_FILE = ".train.lock"
END_GRACE = 5.0  # s a start waits for a worker that has said "end" to let go of the lock
ROOT = Path(__file__).resolve().parent.parent


class Busy(RuntimeError):
    """A run is going already; `job` is its status."""

    def __init__(self, job: "Job | None"):
        super().__init__(f"a training is running: {job.summary()}" if job is not None else
                         "a training is starting in another tab")
        self.job = job


class RunError(RuntimeError):
    """A run could not be started, renamed or deleted; the message says why, for the user."""


# Seconds per training image per epoch at each model's own settings, from `make bench` (README,
# 2026-11-24, 2-core machine): the estimate until this machine has runs of its own to go by.
RATE = {"linear": 3.6e-5, "mlp": 6.5e-5, "keras_example": 4.0e-4, "cnn_fast": 5.3e-4, "cnn": 1.1e-3}
START_UP = 8.0  # s: the worker's TensorFlow import, MNIST from the cache, the test set scored, the save


def train_images(cfg: models.TrainConfig, total: int = 60000) -> int:
    """Images one epoch goes through: MNIST's share (as `train.split` takes it) plus the drawings."""
    return train.split_sizes(cfg, total)[0] + cfg.drawn + cfg.styled + cfg.nondigits


def estimate_seconds(cfg: models.TrainConfig, past: list[bundle.Meta] = ()) -> float:
    """About how long a run takes here: the rate of the most alike finished run in `past` (same
    model, then same batch size and hidden units), else the benchmark's; times images x epochs."""
    def alike(m):
        return (m.config.get("batch_size") == cfg.batch_size) + (m.config.get("hidden", 100) == cfg.hidden)

    same = [m for m in past if m.name == cfg.model and m.train_seconds and m.train_images and m.epochs]
    if same:
        m = max(same, key=alike)
        rate = m.train_seconds / (m.train_images * m.epochs)
    else:
        rate = RATE.get(cfg.model, RATE["cnn"])
    return START_UP + rate * train_images(cfg) * cfg.epochs


# ---------------------------------------------------------------- the caller's side
def _lock_path(runs: Path) -> Path:
    return runs / LOCK_FILE


def _locked(runs: Path) -> bool:
    """True while a worker holds the lock."""
    path = _lock_path(runs)
    if not path.exists():
        return False
    with open(path, "a") as f:
        if not _try_lock(f):
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False


def _try_lock(f, wait: float = 0.0) -> bool:
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


def latest(runs_dir: str | Path | None = None) -> Job | None:
    """The newest readable job (running or finished), or None. Damaged job folders are skipped
    (`damaged` lists them)."""
    runs = Path(runs_dir or bundle.RUNS)
    folders = job_folders(runs)
    for folder in reversed(folders):
        try:
            # the newest *readable* job is the one a live worker runs: a damaged folder that sorts
            # later (a clock far ahead) must not make the running job look failed
            return read(folder, alive=_locked(runs))
        except DamagedJob:
            continue
    return None


def damaged(runs_dir: str | Path | None = None) -> list[str]:
    """Job folders that cannot be read, for the page to name."""
    out = []
    for folder in job_folders(Path(runs_dir or bundle.RUNS)):
        try:
            read(folder, alive=False)
        except DamagedJob as e:
            out.append(str(e))
    return out


def run_name(cfg: models.TrainConfig, when: float | None = None) -> str:
    """A readable, unique-enough folder name: model, the settings the sliders set, time."""
    hidden = f"-h{cfg.hidden}" if cfg.model == "mlp" else ""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when or time.time()))
    return f"{cfg.model}{hidden}-e{cfg.epochs}-{stamp}"


def start(configs: list[models.TrainConfig], runs_dir: str | Path | None = None, data: str | None = None,
          env: dict | None = None) -> Job:
    """Start a worker that trains `configs` one after another and saves each as a bundle in the
    runs folder. Raises Busy if a run is going, RunError if the folder cannot be written,
    InvalidConfig for a setting out of range. `data`: MNIST from this file (tests)."""
    configs = [c.check() for c in configs]
    if not configs:
        raise RunError("nothing to train")
    runs = Path(runs_dir or bundle.RUNS)
    try:
        runs.mkdir(parents=True, exist_ok=True)
        lock = open(_lock_path(runs), "a")
    except OSError as e:
        raise RunError(f"cannot write the runs folder {runs}: {e.strerror or e}") from None
    try:
        if not _try_lock(lock):
            job = latest(runs)
            if job is not None and not job.of("end"):
                raise Busy(job)
            # The newest job has ended (or there is none): its worker lets go of the lock a moment
            # later, or another tab holds it while it makes its job folder. Never report the
            # finished job as the one running.
            if not _try_lock(lock, wait=END_GRACE):
                job = latest(runs)
                raise Busy(job if job is not None and not job.of("end") else None)
        now = time.time()
        # UTC: in the hour the clocks go back, local time would sort a new job before older ones
        job_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now)) + f"-{time.time_ns() % 10**9:09d}-{os.getpid()}"
        folder = runs / JOBS_DIR / job_id
        names = _unique([run_name(c, now) for c in configs], runs)
        try:
            folder.mkdir(parents=True)
            bundle.write_text_atomic(folder / "request.json", json.dumps(
                {"configs": [asdict(c) for c in configs], "names": names, "data": data, "created": now}, indent=1))
        except OSError as e:
            raise RunError(f"cannot write the runs folder {runs}: {e.strerror or e}") from None
        # The worker inherits the locked file: the lock is its for as long as it lives.
        log = open(folder / "worker.log", "wb")
        subprocess.Popen([sys.executable, "-m", "core.worker", str(folder), str(lock.fileno())], cwd=ROOT,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}, pass_fds=[lock.fileno()],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        return read(folder, alive=True)
    finally:
        lock.close()  # ours; the worker keeps its own copy (and the lock with it)


def _unique(names: list[str], runs: Path) -> list[str]:
    out = []
    for name in names:
        base, k = name, 2
        while (runs / name).exists() or name in out:
            name, k = f"{base}-{k}", k + 1
        out.append(name)
    return out


def stop(job: Job) -> None:
    """Ask the worker to stop after its current batch (or before training, while it starts); the
    epochs done so far are kept."""
    (job.folder / "stop").touch()


def end(job: Job) -> None:
    """End a hung worker at once (SIGKILL; nothing of the current run is saved): the kernel drops
    its lock, the job reads as failed and the next run can start."""
    pid = next((e.get("pid") for e in job.events if e["event"] == "loading"), None)
    stop(job)
    if pid:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # gone already
