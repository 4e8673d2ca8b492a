"""The training worker: a process of its own (started by runner.start) that trains every run of
one job, saves each as a bundle and writes what it does to the job's events.jsonl."""
from __future__ import annotations

import fcntl
import json
import math
import os
import sys
import time
from pathlib import Path

from . import inside, models, train
from .data import load_mnist
from .jobs import snapshot_path
from .runner import train_images

NICE = 19  # the worker yields the CPU to the dashboard (drawing, reloads) while it trains; alone, it runs at full speed
BATCH_EVERY = 0.25  # seconds between progress events: smooth enough, cheap on 60,000/32 batches


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
            live = snapshot_path(folder, i)
            meta = train.train(cfg, mnist, runs / name, callbacks=[progress], replace=False,
                               extra_meta={"made_by": "dashboard", "job": folder.name},
                               on_snapshot=lambda snaps, live=live: inside.write_snapshots(live, snaps))
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
