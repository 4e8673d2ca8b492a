"""The page in a real browser: Playwright driving Debian's chromium against a live server."""
import base64
import io
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.test_preprocess import stroke_digit

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"


@pytest.fixture(scope="module")
def server():
    from werkzeug.serving import make_server

    from core.web import create_app

    srv = make_server("127.0.0.1", 0, create_app(), threaded=True)  # the shipped model
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run `make browser-deps`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = ctx.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.goto(server + "/")
    yield pg
    ctx.close()
    assert not errors, errors  # no script errors, no CSP violations


def png(arr) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def number_image():
    row = np.full((200, 660), 255, np.uint8)
    for i, shape in enumerate(["7", "5", "7"]):
        row[:, 10 + i * 215: 210 + i * 215] = 255 - stroke_digit(shape=shape)
    return row


def wait_answer(page):
    page.wait_for_selector("#answer:not([hidden])", timeout=15000)
    return page.inner_text("#digit").strip()


def test_draw_a_seven(page):
    box = page.locator("#pad").bounding_box()
    x0, y0 = box["x"], box["y"]
    page.mouse.move(x0 + 70, y0 + 60)
    page.mouse.down()
    for t in np.linspace(0, 1, 12):  # top bar
        page.mouse.move(x0 + 70 + 140 * t, y0 + 60)
    for t in np.linspace(0, 1, 16):  # the long diagonal
        page.mouse.move(x0 + 210 - 90 * t, y0 + 60 + 170 * t)
    page.mouse.up()
    assert wait_answer(page) == "7"
    assert page.locator("#bars li").count() == 10
    assert page.get_attribute("#seen", "src").startswith("data:image/png")
    page.screenshot(path=SHOTS / "draw-7.png", full_page=True)
    page.click("#clear")
    assert page.locator("#hint").is_visible()


def test_upload_a_file(page, tmp_path):
    f = tmp_path / "seven.png"
    f.write_bytes(png(255 - stroke_digit()))
    page.set_input_files("#file", str(f))
    assert wait_answer(page) == "7"
    page.screenshot(path=SHOTS / "upload-7.png", full_page=True)


def test_drag_and_drop(page):
    b64 = base64.b64encode(png(255 - stroke_digit())).decode()
    dt = page.evaluate_handle("""(b64) => {
        const bin = atob(b64), bytes = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], "dropped.png", {type: "image/png"}));
        return dt;
    }""", b64)
    page.dispatch_event("#drop", "drop", {"dataTransfer": dt})
    assert wait_answer(page) == "7"


def test_number_mode(page, tmp_path):
    page.click("label[for=mode-number]")
    f = tmp_path / "number.png"
    f.write_bytes(png(number_image()))
    page.set_input_files("#file", str(f))
    page.locator("#digits .chip").nth(2).wait_for(timeout=15000)
    assert page.locator("#digits .chip").count() == 3
    assert page.inner_text("#digit").strip() == "757"
    page.screenshot(path=SHOTS / "number-757.png", full_page=True)


def test_phone_sized_screen(browser, server):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    pg = ctx.new_page()
    pg.goto(server + "/")
    width = pg.evaluate("document.documentElement.scrollWidth")
    pg.screenshot(path=SHOTS / "phone.png", full_page=True)
    ctx.close()
    assert width <= 390  # nothing sticks out sideways
