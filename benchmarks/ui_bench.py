"""The dashboard's speed as a person meets it: Playwright driving Debian's chromium against `streamlit run`.

    python benchmarks/ui_bench.py [--strokes 40] [--sessions 4]

Prints:
- home page interactive: server up (health check answers) -> home page rendered and idle;
- stroke end -> answer visible: from the pointer's release to the first frame whose answer headline
  changed, timed inside the page (performance.now), with one session, then with `--sessions`
  sessions drawing at once (each its own browser process);
- a 4000x3000 phone JPEG: from handing the file to the uploader to its answer visible;
- server memory: RSS of the Streamlit process and of the model worker, the three shipped models loaded;
- while a training runs (the improved network, in the training worker): stroke end -> answer
  visible with one session, and a reload of the Train page -> its live progress on screen.
Runs trained here go to a scratch folder, not artifacts/runs.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere: core/ is beside
from benchmarks import browser as B  # noqa: E402

DIGITS = list(B.DIGITS.items())


def mnist_seven():
    from core.data import load_mnist

    m = load_mnist()
    return m.x_test[list(m.y_test).index(7)]


def phone_photo(digit, size=(4000, 3000)) -> bytes:
    """A 12-megapixel phone photo of a digit on paper, as JPEG: the heaviest upload people send."""
    import io

    import numpy as np

    from core import synth

    ink = np.zeros(size[::-1])
    patch = np.asarray(synth.digit_patch(digit, 1200, np.random.default_rng(0)), float) / 255
    ink[800:2000, 1500:2700] = patch
    buf = io.BytesIO()
    synth.ink_on_paper(ink, np.random.default_rng(0)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def summary(ms: list) -> str:
    done = sorted(m for m in ms if m is not None)
    if not done:
        return "no answer"
    p95 = done[min(len(done) - 1, int(round(0.95 * (len(done) - 1))))]
    return (f"median {statistics.median(done):.0f} ms, p95 {p95:.0f} ms, max {done[-1]:.0f} ms "
            f"({len(done)} strokes{'' if len(done) == len(ms) else f', {len(ms) - len(done)} unanswered'})")


def open_draw_page(browser, url: str):
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.goto(url + "/draw")
    B.wait_ready(page, 120)
    B.wait_canvas(page)
    return page


def draw_many(page, strokes: int, wrong: list) -> list:
    """Draw digits one after another (reset between them); the time of each last stroke."""
    times = []
    for i in range(strokes):
        digit, strokes_of = DIGITS[i % len(DIGITS)]
        ms, text = B.draw_and_time(page, strokes_of)
        times.append(ms)
        if not text.startswith(str(digit)):
            wrong.append((digit, text))
        B.reset_canvas(page)
    return times


def session(args) -> list:
    """One person drawing, in a browser process of its own (for the concurrent run)."""
    url, strokes, barrier, nice = args
    os.nice(nice)
    with B.chromium() as browser:
        page = open_draw_page(browser, url)
        barrier.wait()
        return draw_many(page, strokes, [])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strokes", type=int, default=40, help="digits drawn by the single session")
    ap.add_argument("--sessions", type=int, default=4)
    ap.add_argument("--per-session", type=int, default=20, help="digits each concurrent session draws")
    ap.add_argument("--nice", type=int, default=0,
                    help="run the concurrent sessions' browsers at this niceness: on one 2-core machine "
                         "four browsers compete with the server for CPU, as real users' browsers do not")
    args = ap.parse_args(argv)
    (B.ROOT / "test-output").mkdir(exist_ok=True)

    runs_dir = tempfile.mkdtemp(prefix="digitrec-bench-runs-")
    with B.streamlit_server(env={"DIGITREC_RUNS": runs_dir}) as server, B.chromium() as browser:
        up = time.perf_counter()
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.goto(server.url + "/")
        B.wait_ready(page, 120)
        page.wait_for_selector("[data-testid=stDataFrame]")
        print(f"home page interactive {time.perf_counter() - up:.2f} s after the server answered its health check")
        page.close()

        page = open_draw_page(browser, server.url)
        for _ in range(3):  # warm up: the worker's first calls, the browser's first chart
            B.draw_and_time(page, B.SEVEN)
            B.reset_canvas(page)
        wrong = []
        single = draw_many(page, args.strokes, wrong)
        print(f"stroke end -> answer visible, 1 session: {summary(single)}; answers wrong: {len(wrong)} {wrong[:3]}")

        with tempfile.TemporaryDirectory() as tmp:
            photo = Path(tmp) / "phone.jpg"
            photo.write_bytes(phone_photo(mnist_seven()))
            times = []
            for i in range(5):
                page.reload()
                B.wait_ready(page, 60)
                page.get_by_role("tab", name="Upload").click()
                start = time.perf_counter()
                page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(str(photo))
                page.wait_for_selector(".st-key-upload_0 .headline", timeout=30000)
                times.append((time.perf_counter() - start) * 1000)
                assert page.locator(".st-key-upload_0 .headline").inner_text().strip() == "7"
            print(f"4000x3000 JPEG ({photo.stat().st_size / 1e6:.1f} MB) uploaded -> answer visible: "
                  f"median {statistics.median(times):.0f} ms, max {max(times):.0f} ms (5 uploads)")
        page.close()

        ctx = multiprocessing.get_context("spawn")
        barrier = ctx.Manager().Barrier(args.sessions)
        with ctx.Pool(args.sessions) as pool:
            runs = pool.map(session, [(server.url, args.per_session, barrier, args.nice)] * args.sessions)
        print(f"stroke end -> answer visible, {args.sessions} sessions drawing at once"
              f"{f' (browsers at nice {args.nice})' if args.nice else ''}: {summary([m for r in runs for m in r])}")

        worker = B.child(server.pid, "core.service")
        mem = B.rss_mb(server.pid)
        kids = B.rss_mb(worker) if worker else 0.0
        print(f"server memory (RSS): Streamlit {mem:.0f} MB + model worker {kids:.0f} MB = {mem + kids:.0f} MB "
              f"(three shipped models loaded)")

        during_training(browser, server.url, Path(runs_dir), args.strokes)
    return 0


def during_training(browser, url: str, runs: Path, strokes: int) -> None:
    """Draw, and reload the Train page, while the improved network trains in its worker."""
    from core import models, runner

    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.goto(url + "/train")
    B.wait_ready(page, 60)
    idle = []
    for _ in range(5):  # the same reload with no training: what the page and the browser cost alone
        start = time.perf_counter()
        page.reload()
        page.wait_for_selector(".st-key-live", timeout=30000)
        idle.append((time.perf_counter() - start) * 1000)
    page.close()
    print(f"reload of the Train page, no training -> its live panel on screen: median "
          f"{statistics.median(idle):.0f} ms, max {max(idle):.0f} ms (5 reloads)")
    job = runner.start([models.spec("mlp").defaults.with_(epochs=30)], runs)
    try:
        while not runner.latest(runs).of("batch"):  # training proper, not TensorFlow's import
            time.sleep(0.2)
        page = open_draw_page(browser, url)
        wrong = []
        times = draw_many(page, strokes, wrong)
        print(f"stroke end -> answer visible, 1 session, while the improved network trains: {summary(times)}; "
              f"answers wrong: {len(wrong)}")
        page.goto(url + "/train")
        B.wait_ready(page, 60)
        reloads = []
        for _ in range(5):
            start = time.perf_counter()
            page.reload()
            page.wait_for_function("() => /epoch \\d+ of 30 · batch/.test(document.querySelector('.st-key-live')?.innerText || '')",
                                   timeout=30000)
            reloads.append((time.perf_counter() - start) * 1000)
        print(f"reload of the Train page during training -> live progress on screen: median "
              f"{statistics.median(reloads):.0f} ms, max {max(reloads):.0f} ms (5 reloads)")
        page.close()
    finally:
        runner.stop(job)


if __name__ == "__main__":
    sys.exit(main())
