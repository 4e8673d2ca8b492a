"""Memory over a long session: the dashboard used for --minutes by one person who draws with each of
the three shipped models in turn, opens the Confusion page now and then, and starts a baseline
training every 10 minutes. Prints the server's and the model worker's RSS each minute, and at the
start and the end.

    python benchmarks/soak.py [--minutes 30]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere: core/ is beside
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

from benchmarks import browser as B  # noqa: E402
from benchmarks.faults import pick_model  # noqa: E402

MODELS = ("cnn", "improved", "baseline")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as runs, B.streamlit_server(env={"DIGITREC_RUNS": runs}) as server, \
            B.chromium() as browser:
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        trainer = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.goto(server.url + "/draw")
        B.wait_ready(page, 120)
        B.wait_canvas(page)
        B.draw_and_time(page, B.SEVEN)
        B.reset_canvas(page)

        def memory() -> str:
            worker = B.child(server.pid, "core.service")
            return f"server {B.rss_mb(server.pid):.0f} MB, model worker {B.rss_mb(worker) if worker else 0:.0f} MB"

        print(f"start: {memory()}", flush=True)
        start, last_train, last_print, strokes, rounds, slow = time.monotonic(), -1e9, time.monotonic(), 0, 0, 0
        while (now := time.monotonic()) - start < args.minutes * 60:
            if now - last_train >= 600:  # a training every 10 minutes, from another tab
                trainer.goto(server.url + "/train")
                B.wait_ready(trainer, 120)
                trainer.locator(".st-key-go_train button").click()
                last_train = now
            for name in MODELS:
                pick_model(page, name)
                B.wait_canvas(page)
                for digit in (7, 1, 0):  # one stroke each: a half-drawn 4 may read "no digit", as before
                    try:
                        B.draw_and_time(page, B.DIGITS[digit])
                        B.reset_canvas(page)
                        strokes += len(B.DIGITS[digit])
                    except PlaywrightTimeout:  # an answer slower than 15 s: counted, and the page reloaded
                        slow += 1
                        page.reload()
                        B.wait_ready(page, 120)
                        B.wait_canvas(page)
            rounds += 1
            if rounds % 5 == 0:  # the Confusion page, and back
                page.goto(server.url + "/mistakes")
                B.wait_ready(page, 300)
                page.goto(server.url + "/draw")
                B.wait_ready(page, 120)
                B.wait_canvas(page)
            if time.monotonic() - last_print >= 60:
                print(f"{(time.monotonic() - start) / 60:4.1f} min, {strokes} strokes: {memory()}", flush=True)
                last_print = time.monotonic()
        print(f"end after {(time.monotonic() - start) / 60:.1f} min, {strokes} strokes, "
              f"{len(list(Path(runs).glob('linear-*')))} trainings saved, {slow} answers slower than 15 s: {memory()}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
