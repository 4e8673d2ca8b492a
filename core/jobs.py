"""A training job's folder, `<runs>/.jobs/<id>/`, read into a `Job` (what was asked, what the
worker said so far): the one reader of `request.json` and `events.jsonl` (core.runner writes the
request and starts the worker, core.worker writes the events)."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

JOBS_DIR = ".jobs"
# a worker silent this long is stuck: starting takes ~10 s and a batch well under a second for the
# networks the page trains (none makes extra training images, which would take minutes unreported)
HUNG_AFTER = 60.0


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


def snapshot_path(folder: Path, run: int) -> Path:
    """Where the worker keeps what run `run` of the job has learned so far (core.inside)."""
    return Path(folder) / f"snapshots-{run}.npz"


class DamagedJob(ValueError):
    """A job folder whose request cannot be read (0 bytes after a crash, edited by hand)."""


def read(folder: Path, alive: bool) -> Job:
    """The job in `folder`; `alive`: its worker still holds the lock (the caller knows which job
    is the newest readable one)."""
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
    return Job(folder.name, folder, request, events, alive)


def job_folders(runs: Path) -> list[Path]:
    """Job folders, oldest first (ids sort by their UTC time)."""
    jobs = runs / JOBS_DIR
    if not jobs.is_dir():
        return []
    return sorted((d for d in jobs.iterdir() if (d / "request.json").is_file()), key=lambda d: d.name)
