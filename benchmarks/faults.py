"""Faults against a running dashboard, as people and crashes cause them: damaged meta, job and cache
files, a run deleted while another tab uses it, the model worker and the training worker killed,
odd images and malformed uploads. Prints the exception boxes seen (target 0), runs lost or wrongly
deleted (target 0), and per kind of image the answer time and the memory the worker and the server
took on top of what they held before.

    python benchmarks/faults.py [--malformed 200]

It works on copies: a scratch runs folder and a copy of the digitrec cache (DIGITREC_RUNS, _HOME).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere: core/ is beside
from benchmarks import browser as B  # noqa: E402
from core import bundle, runs as run_folder  # noqa: E402
from core.data import home_dir  # noqa: E402

EXCEPTION = "[data-testid=stException]"
PAGES = {"Home": "/", "Draw & upload": "/draw", "Train & compare": "/train", "Confusion matrix": "/mistakes"}


def png(img: Image.Image, fmt="PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def odd_images() -> dict[str, tuple[bytes, str, bool]]:
    """{kind: (file bytes, file name, number mode)}: the images issue 18 found costly or failing."""
    line = np.zeros((200, 1024), np.uint8)
    line[100, 10:1010] = 255
    short = np.zeros((16, 64), np.uint8)
    short[8, 2:62] = 255
    deep = np.zeros((7000, 7000), np.uint16)
    deep[3000:4000, 3400:3600] = 60000  # a "1", 16 bits a sample
    rgba = np.zeros((7000, 7000, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[3000:4000, 3400:3600, :3] = 255
    near = np.zeros((3990, 3990, 4), np.uint8)  # just under the pixel limit (decode.MAX_PIXELS_LOSSLESS)
    near[..., 3] = 255
    near[2000:3000, 2300:2500, :3] = 255
    near16 = np.zeros((3990, 3990), np.uint16)
    near16[2000:3000, 2300:2500] = 60000
    lab = Image.new("LAB", (300, 300), (90, 128, 128))
    lab.paste((10, 128, 128), (120, 60, 180, 240))
    seven = np.zeros((3000, 4000))
    seven[800:2000, 1500:2700] = np.kron(_seven(), np.ones((43, 43)))[:1200, :1200] / 255
    from core import synth

    return {
        "thin line 1024x200, number mode": (png(Image.fromarray(line)), "line.png", True),
        "thin line 64x16, number mode": (png(Image.fromarray(short)), "short.png", True),
        "7000x7000 16-bit PNG": (png(Image.fromarray(deep)), "deep.png", False),
        "7000x7000 RGBA PNG": (png(Image.fromarray(rgba)), "rgba.png", False),
        "3990x3990 RGBA PNG": (png(Image.fromarray(near)), "near.png", False),
        "3990x3990 16-bit PNG": (png(Image.fromarray(near16)), "near16.png", False),
        "CIELAB TIFF": (png(lab, "TIFF"), "lab.tif", False),
        "12-megapixel phone JPEG": (png(synth.ink_on_paper(seven, np.random.default_rng(0)), "JPEG", quality=90),
                                    "phone.jpg", False),
    }


def _seven() -> np.ndarray:
    img = Image.new("L", (28, 28), 0)
    from PIL import ImageDraw

    ImageDraw.Draw(img).line([(6, 5), (22, 5), (12, 24)], fill=255, width=3)
    return np.asarray(img, float)


def malformed(n: int, seed: int = 0) -> list[tuple[str, bytes]]:
    """`n` files that are not readable images, five ways."""
    rng = np.random.default_rng(seed)
    good_png, good_jpg = png(Image.fromarray(_seven().astype(np.uint8))), png(Image.new("RGB", (64, 64)), "JPEG")
    bomb = bytearray(good_png)
    bomb[16:24] = (100000).to_bytes(4, "big") * 2  # the header claims 100,000 x 100,000 pixels
    makers = [
        lambda i: (f"noise{i}.png", rng.bytes(int(rng.integers(1, 5000)))),
        lambda i: (f"cut{i}.png", good_png[: int(rng.integers(8, len(good_png) - 1))]),
        lambda i: (f"cut{i}.jpg", good_jpg[: int(rng.integers(4, len(good_jpg) - 1))]),
        lambda i: (f"empty{i}.png", b""),
        lambda i: (f"bomb{i}.png", bytes(bomb)),
    ]
    return [makers[i % len(makers)](i) for i in range(n)]


class Peak:
    """Samples the RSS of some processes every 20 ms; `extra` is the peak above the first sample."""

    def __init__(self, pids: dict[str, int | None]):
        self.pids = {k: v for k, v in pids.items() if v}
        self.start = {k: B.rss_mb(p) for k, p in self.pids.items()}
        self.peak = dict(self.start)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done.wait(0.02):
            for k, p in self.pids.items():
                self.peak[k] = max(self.peak[k], B.rss_mb(p))

    def stop(self) -> dict[str, float]:
        self.done.set()
        self.thread.join()
        return {k: self.peak[k] - self.start[k] for k in self.pids}


class Count:
    """Exception boxes seen, where."""

    def __init__(self):
        self.seen: list[str] = []

    def check(self, page, where: str) -> None:
        n = page.locator(EXCEPTION).count()
        if n:
            self.seen.append(f"{where}: {n} ({page.locator(EXCEPTION).first.inner_text()[:120]!r})")


def make_runs(runs: Path) -> dict[str, str]:
    """Good and damaged runs, and a damaged job record; {name: what is wrong}."""
    base = bundle.ARTIFACTS / "baseline"
    damage = {
        "good": None, "victim": None,
        "wrong-types": lambda d: _meta(d, test_accuracy="0.91"),
        "null-config": lambda d: _meta(d, config=None),
        "zero-meta": lambda d: (d / bundle.META_FILE).write_bytes(b""),
        "lfs-model": lambda d: (d / bundle.MODEL_FILE).write_text(
            "version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 1\n"),
    }
    for name, hurt in damage.items():
        shutil.copytree(base, runs / name)
        if hurt:
            hurt(runs / name)
    job = runs / ".jobs" / "20991231-235959-000000001-1"
    job.mkdir(parents=True)
    (job / "request.json").write_bytes(b"")
    return {k: ("fine" if v is None else "damaged") for k, v in damage.items()}


def _meta(d: Path, **changes) -> None:
    meta = json.loads((d / bundle.META_FILE).read_text())
    meta.update(changes)
    (d / bundle.META_FILE).write_text(json.dumps(meta))


def visit(page, url: str, count: Count, where: str, timeout: float = 180) -> None:
    page.goto(url)
    B.wait_ready(page, timeout)
    count.check(page, where)


def pick_model(page, label_start: str) -> None:
    page.locator("[data-testid=stSidebar] [data-testid=stSelectbox] input").click()
    page.get_by_role("option").filter(has_text=label_start).first.click()
    B.wait_ready(page)


def upload(page, files: list[Path], timeout: float = 120) -> float:
    """Upload on the Draw page's Upload tab; seconds until the script has run with them."""
    page.get_by_role("tab", name="Upload").click()
    start = time.perf_counter()
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files([str(f) for f in files])
    # each file's answer (or its warning) is drawn under a divider: wait for the last one
    page.wait_for_function("(n) => document.querySelectorAll('[data-testid=stMain] hr').length >= n",
                           arg=min(len(files), 50), timeout=timeout * 1000)
    B.wait_ready(page, timeout)
    return time.perf_counter() - start


def kill_training(page, server, count: Count) -> None:
    """Train from the page, SIGKILL the worker in its first epoch, come back to the page."""
    visit(page, server.url + "/train", count, "Train")
    page.locator(".st-key-go_train button").click()
    page.wait_for_function("() => /epoch \\d of/.test(document.querySelector('.st-key-live')?.innerText || '')",
                           timeout=300000)
    os.kill(B.child(server.pid, "core.worker"), signal.SIGKILL)
    time.sleep(2)
    visit(page, server.url + "/train", count, "Train, training worker killed")
    live = page.locator(".st-key-live").inner_text()
    print(f"training worker killed: the page says {'failed' if 'fail' in live.lower() else live[:80]!r}", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--malformed", type=int, default=200, help="malformed files to upload (in batches of 50)")
    ap.add_argument("--no-training", action="store_true", help="skip killing a training worker mid-run")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        runs, home, files = tmp / "runs", tmp / "home", tmp / "files"
        files.mkdir()
        shutil.copytree(home_dir(), home)  # MNIST and the score caches, so pages open at once
        made = make_runs(runs)
        before = {p.name for p in runs.iterdir() if not p.name.startswith(".")}
        count, rows = Count(), []
        env = {"DIGITREC_RUNS": str(runs), "DIGITREC_HOME": str(home), "DIGITREC_REFUSALS_N": "12"}
        with B.streamlit_server(env=env, timeout=120) as server, B.chromium() as browser:
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            # 1. every page with damaged runs, a damaged job record and damaged caches around
            for name, path in PAGES.items():
                visit(page, server.url + path, count, f"{name}, damaged runs and job record")
            for f in (home / "predictions").glob("*"):
                f.write_bytes(b"")  # every score cache 0 bytes, as after a crash
            for f in (home / "evalsets").glob("*.npz"):
                f.write_bytes(b"PK\x03\x04 broken")
            visit(page, server.url + "/mistakes", count, "Confusion, damaged caches")
            print(f"pages with {sum(v == 'damaged' for v in made.values())} damaged runs, a damaged job record and "
                  f"damaged caches: {len(count.seen)} exception boxes", flush=True)

            # 2. a run deleted in another tab while this one uses it
            visit(page, server.url + "/draw", count, "Draw")
            B.wait_canvas(page)
            pick_model(page, "victim")
            B.wait_canvas(page)
            B.stroke(page, B.SEVEN[0])
            B.wait_answer_change(page, "no digit", 60)
            run_folder.delete(runs / "victim", runs, home / "predictions")  # the other tab's Delete
            B.stroke(page, B.ONE[0])
            try:  # the page reruns whole and the sidebar says the model is gone
                page.wait_for_function("() => /victim.*gone/s.test(document.querySelector("
                                       "'[data-testid=stSidebar]')?.innerText || '')", timeout=60000)
            except Exception:  # noqa: BLE001 - reported below
                pass
            B.wait_ready(page, 60)
            count.check(page, "Draw, model deleted in another tab")
            said = page.locator("[data-testid=stSidebar]").inner_text()
            chosen = page.locator("[data-testid=stSidebar] [data-testid=stSelectbox] input").input_value()
            print(f"run deleted under a tab: {'named' if 'victim' in said else 'NOT named'} in the sidebar, "
                  f"now using {chosen!r}; exception boxes so far {len(count.seen)}", flush=True)

            # 3. the model worker killed
            B.reset_canvas(page)
            os.kill(B.child(server.pid, "core.service"), signal.SIGKILL)
            start = time.perf_counter()
            B.stroke(page, B.SEVEN[0])
            text = B.wait_answer_change(page, "no digit", 120)
            count.check(page, "Draw, model worker killed")
            print(f"model worker killed: next answer {text.splitlines()[0]!r} after "
                  f"{time.perf_counter() - start:.1f} s; new worker {B.child(server.pid, 'core.service')}", flush=True)

            # 4. the training worker killed mid-run
            if not args.no_training:
                kill_training(page, server, count)

            # 5. odd images, one at a time, with the memory they cost
            worker_pid = B.child(server.pid, "core.service")
            for kind, (data, fname, number) in odd_images().items():
                visit(page, server.url + "/draw", count, "Draw")
                if number:
                    page.locator("[data-testid=stButtonGroup] button", has_text="a number").click()
                    B.wait_ready(page)
                path = files / fname
                path.write_bytes(data)
                peak = Peak({"worker": worker_pid, "server": server.pid})
                seconds = upload(page, [path])
                extra = peak.stop()
                count.check(page, f"upload {kind}")
                answer = page.locator(".st-key-upload_0, [data-testid=stAlertContentWarning]").first
                answer = " ".join(answer.inner_text().split())[:70] if answer.count() else "(nothing shown)"
                rows.append((kind, len(data), seconds, extra.get("worker", 0), extra.get("server", 0)))
                print(f"{kind:34s} {len(data) / 1e6:6.2f} MB  {seconds:5.1f} s  worker +{extra.get('worker', 0):5.0f} MB"
                      f"  server +{extra.get('server', 0):5.0f} MB  {answer}", flush=True)

            # 6. malformed files, 50 at a time
            bad = malformed(args.malformed)
            worst = 0.0
            for i in range(0, len(bad), 50):
                visit(page, server.url + "/draw", count, "Draw")
                paths = []
                for name, data in bad[i: i + 50]:
                    (files / name).write_bytes(data)
                    paths.append(files / name)
                worst = max(worst, upload(page, paths))
                count.check(page, f"malformed files {i}-{i + len(paths)}")
            print(f"{len(bad)} malformed files in batches of 50: slowest batch {worst:.1f} s", flush=True)
            for name, path in PAGES.items():
                visit(page, server.url + path, count, f"{name}, at the end")

        after = {p.name for p in runs.iterdir() if not p.name.startswith(".")}
        lost = sorted(before - after - {"victim"})
        print()
        print(f"exception boxes: {len(count.seen)}" + "".join(f"\n  {s}" for s in count.seen))
        print(f"script errors in the browser: {len(errors)}")
        print(f"runs lost or wrongly deleted: {len(lost)} {lost}")
        print(f"worst upload answer: {max(r[2] for r in rows):.1f} s; worst extra memory: worker "
              f"{max(r[3] for r in rows):.0f} MB, server {max(r[4] for r in rows):.0f} MB")
        return 1 if count.seen or lost else 0


if __name__ == "__main__":
    sys.exit(main())
