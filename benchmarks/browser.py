"""Driving the dashboard as a person does: `streamlit run` on a free port, Debian's chromium through
Playwright, strokes drawn with the mouse. Used by the benchmarks and by tests/test_browser.py."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
READY = "[data-testid=stApp][data-test-script-state=notRunning]"
CANVAS = "[data-testid=stBidiComponentIsolated] canvas.upper-canvas"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# Strokes in canvas pixels (280x280), each a list of points.
SEVEN = [[(60, 50), (220, 50), (120, 245)]]
ONE = [[(140, 40), (140, 245)]]
ZERO = [[(140, 40), (200, 80), (215, 150), (190, 225), (140, 245), (90, 225), (65, 150), (80, 80), (140, 40)]]
FOUR = [[(90, 40), (70, 160), (210, 160)], [(170, 60), (170, 250)]]
DIGITS = {7: SEVEN, 1: ONE, 0: ZERO, 4: FOUR}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(env: dict | None = None, timeout: float = 60):
    """A fresh `streamlit run streamlit_app.py` on a free port; yields its base URL."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port)]
    log = open(ROOT / "test-output" / f"streamlit-{port}.log", "wb") if (ROOT / "test-output").is_dir() \
        else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not start (exit code {proc.poll()})") from None
                time.sleep(0.1)
        proc.url = url
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise RuntimeError("Debian's chromium is missing: run `make browser-deps`")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def wait_ready(page, timeout: float = 60) -> None:
    page.wait_for_selector(READY, timeout=timeout * 1000)


def wait_canvas(page, timeout: float = 30) -> None:
    """The canvas is up and the page's fix to it (ui.py) is in place."""
    page.wait_for_selector(CANVAS, timeout=timeout * 1000)
    page.wait_for_function("() => !!document.querySelector('[data-testid=stBidiComponentIsolated]')"
                           "?.shadowRoot?.querySelector('style[data-digitrec]')", timeout=timeout * 1000)


def stroke(page, points, canvas=CANVAS, hover: bool = True) -> None:
    """One stroke with the mouse. hover=False: the pointer jumps straight to the first point and
    presses at once, as a finger or stylus does (nothing is hovered first)."""
    box = page.locator(canvas).bounding_box()
    x0, y0 = box["x"], box["y"]
    (fx, fy), rest = points[0], points[1:]
    if hover:
        page.mouse.move(x0 + fx, y0 + fy)
    else:
        page.mouse.move(x0 + fx, y0 + fy, steps=1)
    page.mouse.down()
    for x, y in rest:
        page.mouse.move(x0 + x, y0 + y, steps=6)
    page.mouse.up()


def touch_stroke(page, points, canvas=CANVAS) -> None:
    """One stroke with a finger (touch events through the browser's DevTools protocol)."""
    box = page.locator(canvas).bounding_box()
    cdp = page.context.new_cdp_session(page)
    at = [{"x": box["x"] + x, "y": box["y"] + y} for x, y in points]
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [at[0]]})
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        for t in range(1, 7):
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [
                {"x": box["x"] + x0 + (x1 - x0) * t / 6, "y": box["y"] + y0 + (y1 - y0) * t / 6}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


HEADLINE = ".st-key-answer .headline"  # the digit, the number, "uncertain" or "no digit"
ANSWER_CHANGE_JS = """(before) => { window.__answerChange = new Promise((resolve) => {
  // Time from the next pointerup to the first frame whose answer text differs from `before`.
  const onUp = () => {
    const start = performance.now();
    const check = () => {
      const el = document.querySelector('%s');
      const text = el ? el.innerText.trim() : '';
      if (text && text !== before) resolve({ms: performance.now() - start, text});
      else if (performance.now() - start > 15000) resolve({ms: null, text});
      else requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  };
  window.addEventListener('pointerup', onUp, {capture: true, once: true});
}); }""" % HEADLINE


def draw_and_time(page, strokes) -> tuple[float | None, str]:
    """Draw `strokes`; (ms from the last stroke's end to a new answer on screen, the answer's text)."""
    for s in strokes[:-1]:  # its answer may read as before ("no digit" for a 4's first stroke)
        stroke(page, s)
        page.wait_for_timeout(400)  # the canvas sends 200 ms after a stroke, then the script runs
        wait_ready(page)
    before = headline(page)
    page.evaluate(ANSWER_CHANGE_JS, before)
    stroke(page, strokes[-1])
    result = page.evaluate("() => window.__answerChange")
    return result["ms"], result["text"]


def wait_answer_change(page, before: str, timeout: float = 15) -> str:
    """Waits for the headline to differ from `before`; returns the whole answer's text."""
    page.wait_for_function("([sel, b]) => { const e = document.querySelector(sel);"
                           " return e && e.innerText.trim() && e.innerText.trim() !== b; }",
                           arg=[HEADLINE, before], timeout=timeout * 1000)
    return answer_text(page)


def headline(page) -> str:
    el = page.locator(HEADLINE)
    return el.inner_text().strip() if el.count() else ""


def answer_text(page) -> str:
    el = page.locator(".st-key-answer")
    return el.inner_text().strip() if el.count() else ""


def reset_canvas(page) -> None:
    """The canvas's own reset button; waits for the empty-canvas answer."""
    page.locator("[data-testid=stBidiComponentIsolated] .dc-toolbar button[aria-label*=eset], "
                 "[data-testid=stBidiComponentIsolated] .dc-toolbar button[title*=eset]").first.click()
    page.wait_for_function("() => (document.querySelector('.st-key-answer')?.innerText || '').startsWith('no digit')",
                           timeout=15000)


# ---------------------------------------------------------------- the dashboard's processes
def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def child(pid: int, module: str) -> int | None:
    """The child process of `pid` running `python -m <module>`."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        for kid in (task / "children").read_text().split():
            try:
                if module in Path(f"/proc/{kid}/cmdline").read_bytes().decode(errors="replace"):
                    return int(kid)
            except OSError:
                pass
    return None
