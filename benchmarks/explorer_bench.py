"""The confusion-matrix page's speed: scoring a model once, switching afterwards, a gallery page.

    python benchmarks/explorer_bench.py

Prints:
- the shipped CNN scored on the 10,000 MNIST test images the first time, in a fresh model worker
  (the model already loaded, as the dashboard warms it at start; and with its loading);
- server-side time of the page's script run (AppTest, in-process, predictions cached) when
  switching model, view, and cell;
- in Chromium against `streamlit run`: a 50-image gallery page, from the page-number change to
  every image decoded on screen (the baseline, which has hundreds of mistakes).
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from core import bundle  # noqa: E402
from core.data import load_mnist  # noqa: E402
from core.service import Service  # noqa: E402
from benchmarks import browser as B  # noqa: E402


def first_scoring() -> None:
    x = load_mnist().x_test
    cnn = bundle.ARTIFACTS / "cnn"
    worker = Service().start()
    try:
        start = time.perf_counter()
        worker.load(cnn)
        loaded = time.perf_counter()
        worker.probabilities(cnn, x)
        done = time.perf_counter()
    finally:
        worker.close()
    print(f"cnn on 10,000 test images, first time: {done - loaded:.2f} s scoring "
          f"({done - start:.2f} s with loading the model in a fresh worker)")


def switching(repeat: int = 5) -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=600)
    at.run()
    at.switch_page("pages/mistakes.py").run()
    timings = {"model": [], "view": [], "cell": []}
    for r in range(repeat):
        for what, act in (("view", lambda: at.segmented_control(key="cm_how").set_value(["recall", "count"][r % 2])),
                          ("cell", lambda: at.session_state.__setitem__("cm_cell", (4, 9) if r % 2 else None))):
            act()
            start = time.perf_counter()
            at.run()
            timings[what].append((time.perf_counter() - start) * 1000)
    home = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=600)
    home.run()
    for r in range(repeat + 1):
        home.sidebar.selectbox(key="model_path").set_value(str(bundle.ARTIFACTS / bundle.SHIPPED[r % 3])).run()
        home.switch_page("pages/mistakes.py")
        start = time.perf_counter()
        home.run()
        if r:  # the first visit scores; later ones are what a user switching models waits for
            timings["model"].append((time.perf_counter() - start) * 1000)
        home.switch_page("pages/home.py").run()
    for what, ms in timings.items():
        print(f"switch {what}: server-side script run median {statistics.median(ms):.0f} ms, max {max(ms):.0f} ms "
              f"({len(ms)} switches)")


def gallery(repeat: int = 5) -> None:
    with tempfile.TemporaryDirectory() as runs, B.streamlit_server(env={"DIGITREC_RUNS": runs}) as server, \
            B.chromium() as browser:
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.goto(server.url + "/")
        B.wait_ready(page, 120)
        page.locator("[data-testid=stSidebar] [data-testid=stSelectbox] input").click()
        page.get_by_role("option", name="baseline").click()
        B.wait_ready(page)
        page.locator("[data-testid=stSidebarNav] a", has_text="Confusion matrix").click()
        page.wait_for_selector(".st-key-gallery img", timeout=180000)
        field = page.locator(".st-key-cm_page input")
        times = []
        for i in range(repeat):
            before = page.locator(".st-key-gallery img").first.get_attribute("src")
            field.fill(str(i + 2))
            start = time.perf_counter()
            field.press("Enter")
            page.wait_for_function(
                "(before) => { const imgs = [...document.querySelectorAll('.st-key-gallery img')];"
                " return imgs.length === 50 && imgs[0].getAttribute('src') !== before"
                " && imgs.every(i => i.complete && i.naturalWidth > 0); }", arg=before, timeout=30000)
            times.append((time.perf_counter() - start) * 1000)
            B.wait_ready(page)
        print(f"50-image gallery page, change of page -> every image on screen: median "
              f"{statistics.median(times):.0f} ms, max {max(times):.0f} ms ({repeat} pages)")


if __name__ == "__main__":
    first_scoring()
    switching()
    gallery()
