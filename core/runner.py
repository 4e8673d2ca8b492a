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
One at a time: the worker holds an exclusive lock on `<runs>/.train.lock` for as long as it lives
(the kernel drops it when the process dies, however it dies), so a second start is refused with
the running job, and a job whose worker is gone without an `end` event is reported as failed.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import bundle, models, train
from .data import load_mnist

LOCK_FILE = ".train.lock"
JOBS_DIR = ".jobs"
NICE = 19  # the worker yields the CPU to the dashboard (drawing, reloads) while it trains; alone, it runs at full speed
BATCH_EVERY = 0.25  # seconds between progress events: smooth enough, cheap on 60,000/32 batches
# a worker silent this long is stuck: starting takes ~10 s and a batch well under a second for the
# networks the page trains (none makes extra training images, which would take minutes unreported)
HUNG_AFTER = 60.0
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # used with fullmatch: "$" lets a trailing newline pass
ROOT = Path(__file__).resolve().parent.parent


class Busy(RuntimeError):
    """A run is going already; `job` is its status."""

    def __init__(self, job: "Job | None"):
        super().__init__(f"a training is running: {job.summary()}" if job is not None else
                         "a training is starting in another tab")
        self.job = job


class RunError(RuntimeError):
    """A run could not be started, renamed or deleted; the message says why, for the user."""


@dataclass
class Job:
    """A job's state as read from its folder: what was asked, what happened so far."""
    id: str
    folder: Path
    request: dict
    events: list = field(default_factory=list)
    alive: bool = False  # its worker still holds the lock

    @property
    def configs(self) -> list[dict]:
        return self.request["configs"]

    @property
    def state(self) -> str:
        """running, done, stopped or failed."""
        end = next((e for e in reversed(self.events) if e["event"] == "end"), None)
        if end is not None:
            return end["state"]
        return "running" if self.alive else "failed"

    @property
    def error(self) -> str | None:
        errors = [e["message"] for e in self.events if e["event"] == "error"]
        if errors:
            return errors[-1]
        if self.state == "failed":
            return "the training worker stopped without a word (killed, out of memory, or the server restarted)"
        return None

    @property
    def seconds(self) -> float:
        """Wall time from the request to the end (or to now): start-up included, as a user waits."""
        end = next((e["t"] for e in reversed(self.events) if e["event"] == "end"), None)
        return (end or time.time()) - self.request["created"]

    @property
    def silent(self) -> float:
        """Seconds since the worker last said anything (its request counts as the first word)."""
        last = max([e["t"] for e in self.events] + [self.request["created"]])
        return time.time() - last

    @property
    def hung(self) -> bool:
        """Running, but silent for longer than a worker ever is (it reports every BATCH_EVERY s)."""
        return self.state == "running" and self.silent > HUNG_AFTER

    def of(self, kind: str, run: int | None = None) -> list[dict]:
        return [e for e in self.events if e["event"] == kind and (run is None or e.get("run") == run)]

    @property
    def run(self) -> int:
        """Index of the run in progress (or the last one)."""
        return max((e["run"] for e in self.events if "run" in e), default=0)

    def history(self, run: int) -> dict:
        """Keras-style {metric: [per epoch]} of one run so far."""
        out: dict = {}
        for e in self.of("epoch", run):
            for k, v in e["logs"].items():
                out.setdefault(k, []).append(v)
        return out

    def progress(self) -> dict:
        """Where the current run is: epoch, batch, fraction done, seconds elapsed and left."""
        run = self.run
        begin = next(iter(self.of("begin", run)), None)
        cfg = self.configs[run]
        out = {"run": run, "runs": len(self.configs), "name": self.request["names"][run], "model": cfg["model"],
               "epochs": cfg["epochs"], "epoch": 0, "step": 0, "steps": 0, "fraction": 0.0,
               "elapsed": 0.0, "left": None}
        if begin is None:
            return out
        last = ([begin] + self.of("batch", run) + self.of("epoch", run))
        last = max(last, key=lambda e: e["t"])
        done_epochs = len(self.of("epoch", run))
        steps = begin["steps"]
        step = steps if last["event"] == "epoch" else last.get("step", 0)
        epoch = done_epochs if last["event"] == "epoch" else last.get("epoch", 0)
        fraction = min(1.0, (epoch * steps + step) / max(1, cfg["epochs"] * steps))
        end = time.time() if self.state == "running" else last["t"]
        elapsed = end - begin["t"]
        left = elapsed / fraction * (1 - fraction) if fraction > 0.02 and self.state == "running" else None
        out.update(epoch=epoch, step=step, steps=steps, fraction=fraction, elapsed=elapsed, left=left)
        return out

    def summary(self) -> str:
        p = self.progress()
        left = f", about {p['left']:.0f} s left" if p["left"] is not None else ""
        return (f"{p['name']} ({p['model']}, {p['epochs']} epochs), run {p['run'] + 1} of {p['runs']}, "
                f"{p['fraction']:.0%} done{left}")


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


class DamagedJob(ValueError):
    """A job folder whose request cannot be read (0 bytes after a crash, edited by hand)."""


def read(folder: Path, alive: bool | None = None) -> Job:
    folder = Path(folder)
    try:
        request = json.loads((folder / "request.json").read_text())
        if not isinstance(request, dict) or not isinstance(request.get("configs"), list) \
                or not isinstance(request.get("names"), list) or not isinstance(request.get("created"), (int, float)):
            raise ValueError("not a job request")
    except (OSError, ValueError) as e:
        raise DamagedJob(f"{folder / 'request.json'}: {e}") from None
    events = []
    path = folder / "events.jsonl"
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                pass  # a line being written right now
    if alive is None:
        alive = _locked(folder.parent.parent) and _latest_folder(folder.parent.parent) == folder
    return Job(folder.name, folder, request, events, alive)


def _job_folders(runs: Path) -> list[Path]:
    """Job folders, oldest first (ids sort by their UTC time)."""
    jobs = runs / JOBS_DIR
    if not jobs.is_dir():
        return []
    return sorted((d for d in jobs.iterdir() if (d / "request.json").is_file()), key=lambda d: d.name)


def _latest_folder(runs: Path) -> Path | None:
    folders = _job_folders(runs)
    return folders[-1] if folders else None


def latest(runs_dir: str | Path | None = None) -> Job | None:
    """The newest readable job (running or finished), or None. Damaged job folders are skipped
    (`damaged` lists them)."""
    runs = Path(runs_dir or bundle.RUNS)
    folders = _job_folders(runs)
    for folder in reversed(folders):
        try:
            return read(folder, alive=_locked(runs) and folder == folders[-1])
        except DamagedJob:
            continue
    return None


def damaged(runs_dir: str | Path | None = None) -> list[str]:
    """Job folders that cannot be read, for the page to name."""
    out = []
    for folder in _job_folders(Path(runs_dir or bundle.RUNS)):
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
            # a worker that has just said "end" lets go of the lock a moment later
            if job is None or job.of("end") == [] or not _try_lock(lock, wait=5.0):
                raise Busy(job)
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
        subprocess.Popen([sys.executable, "-m", "core.runner", str(folder), str(lock.fileno())], cwd=ROOT,
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


def _a_run(src: Path, runs: Path, verb: str) -> None:
    """RunError unless `src` is an existing run of `runs` (never a shipped bundle)."""
    if bundle.is_shipped(src) or src.parent.resolve() != runs.resolve():
        raise RunError(f"only runs trained from the dashboard can be {verb}; {src.name} is not one")
    if not src.is_dir():
        raise RunError(f"{src.name} is gone (deleted or renamed in another tab?); nothing was {verb}")


def reserved(runs_dir: str | Path | None = None) -> set[str]:
    """Names the running job will save its runs under."""
    job = latest(runs_dir)
    return set(job.request["names"]) if job is not None and job.state == "running" else set()


def rename(bundle_dir: str | Path, new_name: str, runs_dir: str | Path | None = None) -> Path:
    """Rename a run (only runs, never a shipped bundle). Raises RunError with the reason."""
    src, runs = Path(bundle_dir), Path(runs_dir or bundle.RUNS)
    _a_run(src, runs, "renamed")
    if not NAME.fullmatch(new_name):
        raise RunError("a name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    dst = runs / new_name
    if dst.exists() or new_name in bundle.SHIPPED:
        raise RunError(f"a model named {new_name!r} exists already")
    if new_name in reserved(runs):
        raise RunError(f"the running training will save a run as {new_name!r}; choose another name")
    try:
        os.rename(src, dst)
    except OSError as e:
        raise RunError(f"cannot rename {src.name}: {e.strerror or e}") from None
    return dst


def delete(bundle_dir: str | Path, runs_dir: str | Path | None = None) -> None:
    """Delete a run: it leaves the pickers at once (a hidden rename), then its files go."""
    src, runs = Path(bundle_dir), Path(runs_dir or bundle.RUNS)
    _a_run(src, runs, "deleted")
    gone = runs / f".deleted-{src.name}-{time.time_ns()}"
    try:
        os.rename(src, gone)
    except OSError as e:
        raise RunError(f"cannot delete {src.name}: {e.strerror or e}") from None
    shutil.rmtree(gone, ignore_errors=True)


KEEP_JOBS = 20  # finished job folders kept (their events are what the live panel replays)


def clean(runs_dir: str | Path | None = None, caches: str | Path | None = None) -> list[str]:
    """Remove what crashes and time leave behind: half-saved bundles (`.<name>-new-*`), deleted runs
    not yet gone (`.deleted-*`), temporary files (`.tmp-*`), all but the newest KEEP_JOBS finished
    jobs, and in `caches` the scores of bundles that no longer exist. Never a running job's files.
    Returns what it removed."""
    runs = Path(runs_dir or bundle.RUNS)
    removed = []
    if runs.is_dir():
        running = latest(runs)
        busy = {running.folder} if running is not None and running.state == "running" else set()
        leftovers = [p for p in runs.iterdir() if p.name.startswith((".deleted-", ".tmp-")) or
                     (p.name.startswith(".") and "-new-" in p.name)]
        if busy:  # a running job may be saving right now: its half-saved folder is not a leftover
            leftovers = [p for p in leftovers if not any(f".{n}-new-" in p.name for n in running.request["names"])]
        old_jobs = [f for f in _job_folders(runs)[:-KEEP_JOBS] if f not in busy]
        for p in leftovers + old_jobs:
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            removed.append(p.name)
    if caches is not None and Path(caches).is_dir():
        names = {p.name for p in bundle.available(runs)}
        for f in Path(caches).iterdir():  # <bundle name>-<checksum>-<set>...: see evaluate.cached_predictions
            if f.is_file() and not any(f.name.startswith(f"{n}-") for n in names):
                f.unlink(missing_ok=True)
                removed.append(f.name)
    return removed


# ---------------------------------------------------------------- inside the worker
class _Events:
    def __init__(self, folder: Path):
        self.file = open(folder / "events.jsonl", "a", buffering=1)  # a line at a time

    def __call__(self, event: str, **data) -> None:
        self.file.write(json.dumps({"event": event, "t": time.time(), **data}) + "\n")


def _progress_callback(keras, emit, run: int, stop_file: Path, steps: int):
    class Progress(keras.callbacks.Callback):
        """Reports batches and epochs; stops after the current batch once `stop_file` exists."""

        def __init__(self):
            super().__init__()
            self.epoch, self.last = 0, 0.0

        def on_train_begin(self, logs=None):
            emit("begin", run=run, steps=steps)

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            now = time.monotonic()
            if now - self.last >= BATCH_EVERY:
                self.last = now
                emit("batch", run=run, epoch=self.epoch, step=batch + 1)
                if stop_file.exists():
                    self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            emit("epoch", run=run, epoch=epoch + 1, logs={k: float(v) for k, v in (logs or {}).items()})

    return Progress()


def work(folder: Path) -> str:
    """Train every run of the job in `folder`; returns the final state."""
    import math

    folder = Path(folder)
    request = json.loads((folder / "request.json").read_text())
    emit = _Events(folder)
    emit("loading", pid=os.getpid())
    try:
        import keras

        stop_file = folder / "stop"
        mnist = load_mnist(path=request["data"], expected_sha256=None) if request.get("data") else load_mnist()
        runs = folder.parent.parent
        for i, (cfg_dict, name) in enumerate(zip(request["configs"], request["names"])):
            if stop_file.exists():
                break
            cfg = models.TrainConfig(**cfg_dict)
            steps = math.ceil(train_images(cfg, len(mnist.x_train)) / cfg.batch_size)
            progress = _progress_callback(keras, emit, i, stop_file, steps)
            meta = train.train(cfg, mnist, runs / name, callbacks=[progress], replace=False,
                               extra_meta={"made_by": "dashboard", "job": folder.name})
            emit("saved", run=i, bundle=meta["bundle"], test_accuracy=meta["test_accuracy"],
                 stopped=meta["stopped"], epochs_done=meta["epochs_done"])
        state = "stopped" if stop_file.exists() else "done"
    except Exception as e:  # noqa: BLE001 - reported on the page; the next run starts afresh
        emit("error", message=f"{e.__class__.__name__}: {e}")
        state = "failed"
    emit("end", state=state)
    return state


if __name__ == "__main__":
    os.nice(NICE)
    try:  # Linux puts a new session in a scheduling group of its own, where nice alone counts for nothing
        Path("/proc/self/autogroup").write_text(str(NICE))
    except OSError:
        pass  # no autogroups here: os.nice is enough
    lock_fd = int(sys.argv[2])  # held open, and with it the lock, until the job ends
    work(Path(sys.argv[1]))
    fcntl.flock(lock_fd, fcntl.LOCK_UN)
    os._exit(0)  # everything is saved and said; TensorFlow's teardown would only hold the lock file's users up
