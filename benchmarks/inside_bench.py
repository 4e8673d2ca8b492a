"""What the inside-the-network views cost on this machine, and prints one line per figure:

- the per-epoch snapshots' share of a training (baseline and improved, their recipes);
- the snapshots' file size in each shipped bundle;
- one image through the model worker's `inside` call (what the Draw page's Inside view waits for);
- the Map: the test set placed on each shipped model's main feature axes, first time and from disk;
- with --browser: from a stroke's end to the Draw page's Inside view redrawn, in Chromium.

    python benchmarks/inside_bench.py [--repeats 50] [--skip-training]
    python benchmarks/inside_bench.py --browser 20   # the Inside view's time on screen, in Chromium
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere: core/ is beside
from benchmarks import browser as B  # noqa: E402
from core import bundle, inside, models, train  # noqa: E402
from core.data import load_mnist  # noqa: E402
from core.service import Service  # noqa: E402


def training_overhead(mnist) -> None:
    """The snapshots' cost measured where it is paid: the time spent taking them (a validation
    pass and a copy of the weights) and writing the live file after each epoch, as the training
    worker does, against the whole training. Timing two whole trainings against each other on
    this shared 2-core machine moved by more than the cost itself (+/-10% between equal runs)."""
    spent = [0.0]

    class Timed(inside.Recording):
        def take(self, model, epoch):
            start = time.perf_counter()
            super().take(model, epoch)
            spent[0] += time.perf_counter() - start

    def write_live(path, snaps):
        start = time.perf_counter()
        inside.write_snapshots(path, snaps)
        spent[0] += time.perf_counter() - start

    for kind in ("linear", "mlp"):
        cfg = models.spec(kind).defaults
        spent[0] = 0.0
        with tempfile.TemporaryDirectory() as tmp:
            recording, inside.Recording = inside.Recording, Timed
            try:
                start = time.perf_counter()
                train.train(cfg, mnist, Path(tmp) / kind, on_snapshot=lambda s: write_live(Path(tmp) / "live.npz", s))
                total = time.perf_counter() - start
            finally:
                inside.Recording = recording
        print(f"train {kind} ({cfg.epochs} epochs): {total:.1f} s, of which {spent[0]:.2f} s taking and writing "
              f"snapshots: {spent[0] / (total - spent[0]):+.1%}", flush=True)


INSIDE_UPDATE_JS = """() => { window.__insideChange = new Promise((resolve) => {
  // From the next pointerup (a stroke's end, or the Undo button) to the last change inside the
  // Inside view, once the script run that made it is over and the view has been still for 0.5 s.
  let start = null, last = null;
  const obs = new MutationObserver((ms) => {
    if (start !== null && ms.some((m) => (m.target.closest ? m.target : m.target.parentElement)?.closest('.st-key-inside')))
      last = performance.now();
  });
  obs.observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
  window.addEventListener('pointerup', () => {
    start = performance.now();
    const poll = () => {
      const now = performance.now(), app = document.querySelector('[data-testid=stApp]');
      if (last !== null && app.dataset.testScriptState === 'notRunning' && now - last > 500) {
        obs.disconnect(); resolve(last - start);
      } else if (now - start > 15000) { obs.disconnect(); resolve(null); }
      else setTimeout(poll, 20);
    };
    setTimeout(poll, 20);
  }, {capture: true, once: true});
}); }"""
BAR = [[(80, 42), (140, 40)]]  # a bar on top of a "1": it reads 7, and Undo takes it back to 1
UNDO = "[data-testid=stBidiComponentIsolated] .dc-toolbar button[title=Undo]"


def browser_latency(changes: int) -> None:
    """In Chromium, the Draw page with the shipped default model and its Inside view open: a "1"
    turned into a "7" by a stroke, then back by Undo, `changes` times; each time, the ms from the
    pointer's release to the Inside view's last change on screen."""
    times, answers = [], []
    with B.streamlit_server() as server, B.chromium() as browser:
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.goto(server.url + "/draw")
        B.wait_ready(page, 120)
        B.wait_canvas(page)
        B.draw_and_time(page, B.ONE)
        page.get_by_text("Inside the network").click()
        page.wait_for_function("() => document.querySelectorAll('.st-key-inside img').length >= 1",
                               timeout=60000)
        B.wait_ready(page)
        for i in range(changes):
            page.evaluate(INSIDE_UPDATE_JS)
            if i % 2 == 0:
                B.stroke(page, BAR[0])
            else:
                page.locator(UNDO).click()
            times.append(page.evaluate("() => window.__insideChange"))
            answers.append(B.headline(page))
    done = sorted(t for t in times if t is not None)
    print(f"stroke or undo -> Inside view redrawn, in Chromium ({len(done)} of {changes} changes seen; answers "
          f"{' '.join(dict.fromkeys(answers))}): median {statistics.median(done):.0f} ms, max {done[-1]:.0f} ms", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--skip-training", action="store_true")
    ap.add_argument("--browser", type=int, default=0, metavar="N",
                    help="only the Inside view's time on screen in Chromium, over N changes of the drawing")
    args = ap.parse_args(argv)
    if args.browser:
        browser_latency(args.browser)
        return 0
    mnist = load_mnist()
    if not args.skip_training:
        training_overhead(mnist)
    shipped = [bundle.ARTIFACTS / n for n in bundle.SHIPPED]
    for b in shipped:
        f = b / inside.SNAPSHOT_FILE
        print(f"{b.name}: {f.stat().st_size / 1e6:.2f} MB of snapshots" if f.is_file() else f"{b.name}: no snapshots")
    service = Service().start()
    try:
        for b in shipped:
            service.inside(b, mnist.x_test[0])  # loads the model, builds its probe
            times = []
            for i in range(args.repeats):
                start = time.perf_counter()
                service.inside(b, mnist.x_test[i])
                times.append((time.perf_counter() - start) * 1000)
            print(f"{b.name}: inside view of one image through the model worker: median {statistics.median(times):.0f} ms, "
                  f"p95 {sorted(times)[int(0.95 * len(times)) - 1]:.0f} ms", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            for b in shipped:
                where = Path(tmp) / f"{b.name}.npz"
                start = time.perf_counter()
                bundle.cached_arrays(where, ("coords", "refused"), lambda: service.map(b, mnist.x_test))
                first = time.perf_counter() - start
                start = time.perf_counter()
                bundle.cached_arrays(where, ("coords", "refused"), lambda: service.map(b, mnist.x_test))
                print(f"{b.name}: map of the 10,000 test images {first:.1f} s first time, "
                      f"{(time.perf_counter() - start) * 1000:.0f} ms from disk", flush=True)
    finally:
        service.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
