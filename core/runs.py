"""The runs folder: rename and delete runs trained from the dashboard, and clean what crashes and
time leave behind. Never a shipped bundle, never a name the running job will save under."""
from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

from . import bundle
from .data import home_dir
from .jobs import job_folders
from .runner import RunError, latest

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # used with fullmatch: "$" lets a trailing newline pass
KEEP_JOBS = 20  # finished job folders kept (their events are what the live panel replays)


def predictions_dir() -> Path:
    """Where the dashboard keeps models' scores on the evaluation sets (bundle.cache_name)."""
    return home_dir() / "predictions"


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


def delete(bundle_dir: str | Path, runs_dir: str | Path | None = None, caches: str | Path | None = None) -> None:
    """Delete a run: it leaves the pickers at once (a hidden rename), then its files go, and its
    scores in `caches` (default predictions_dir()) with them."""
    src, runs = Path(bundle_dir), Path(runs_dir or bundle.RUNS)
    _a_run(src, runs, "deleted")
    prefix = bundle.cache_name(src, "")
    gone = runs / f".deleted-{src.name}-{time.time_ns()}"
    try:
        os.rename(src, gone)
    except OSError as e:
        raise RunError(f"cannot delete {src.name}: {e.strerror or e}") from None
    shutil.rmtree(gone, ignore_errors=True)
    caches = Path(caches or predictions_dir())
    for f in caches.glob(f"{prefix}*") if caches.is_dir() else []:
        f.unlink(missing_ok=True)


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
        old_jobs = [f for f in job_folders(runs)[:-KEEP_JOBS] if f not in busy]
        for p in leftovers + old_jobs:
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            removed.append(p.name)
    if caches is not None and Path(caches).is_dir():
        names = {p.name for p in bundle.available(runs)}
        for f in Path(caches).iterdir():  # bundle.cache_name
            if f.is_file() and not any(f.name.startswith(f"{n}-") for n in names):
                f.unlink(missing_ok=True)
                removed.append(f.name)
    return removed


