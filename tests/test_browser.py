"""The dashboard in a real browser, as a person uses it: Playwright drives Debian's chromium against
`streamlit run`. Screenshots go to test-output/."""

import pytest

from benchmarks import browser as B
from tests.images import photo_of_seven

pytestmark = pytest.mark.browser
SHOTS = B.ROOT / "test-output"


@pytest.fixture(scope="module")
def browser():
    SHOTS.mkdir(exist_ok=True)
    with B.chromium() as b:
        yield b


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app, with its runs in a scratch folder (never artifacts/runs)."""
    SHOTS.mkdir(exist_ok=True)
    with B.streamlit_server(env={"DIGITREC_RUNS": str(tmp_path_factory.mktemp("runs")),
                                 "DIGITREC_REFUSALS_N": "12"}) as s:  # the Refusals view: a few per style
        yield s


@pytest.fixture
def tab(browser, server):
    """A fresh browser tab on the app; fails the test on any script error in the page."""
    ctx = browser.new_context(viewport={"width": 1300, "height": 1000})
    pg = ctx.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ctx.close()
    assert not errors, errors


@pytest.fixture
def page(tab, server):
    """The Draw & upload page, canvas ready."""
    tab.goto(server.url + "/draw")
    B.wait_ready(tab, 120)
    B.wait_canvas(tab)
    return tab


def test_draw_a_seven(page):
    ms, text = B.draw_and_time(page, B.SEVEN)
    page.screenshot(path=SHOTS / "draw-seven.png", full_page=True)
    assert text.startswith("7"), text
    assert ms is not None  # the answer came (its time is benchmarks/ui_bench.py's)
    assert page.locator("[data-testid=stException]").count() == 0
    assert not page.locator(".st-key-answer_mini").is_visible()  # beside the canvas already: not repeated


def test_a_stroke_from_the_top_edge_with_no_hover_counts(page):
    """A finger's stroke: no hover first, starting on the canvas's top edge, in the corner where the
    component's invisible toolbar used to lie. It must be drawn and read."""
    page.mouse.move(5, 5)  # the pointer is far away: nothing on the canvas is hovered
    before = B.headline(page)
    B.stroke(page, [(235, 2), (235, 270)], hover=False)
    text = B.wait_answer_change(page, before)
    page.screenshot(path=SHOTS / "draw-top-edge.png", full_page=True)
    assert text.startswith("1"), text


def test_undo_and_reset_update_the_answer(page):
    B.draw_and_time(page, B.ONE)
    before = B.headline(page)
    B.stroke(page, [(60, 60), (220, 60)])  # a bar across the top: no longer a 1
    B.wait_answer_change(page, before)
    after = B.headline(page)
    page.locator("[data-testid=stBidiComponentIsolated] .dc-toolbar button[title=Undo]").click()
    assert B.wait_answer_change(page, after).startswith("1")
    B.reset_canvas(page)
    assert B.answer_text(page).startswith("no digit")


def test_number_mode_reads_two_drawn_digits(page):
    page.locator("[data-testid=stButtonGroup] button", has_text="a number").click()
    B.wait_ready(page)
    B.wait_canvas(page)
    B.stroke(page, [(60, 50), (60, 230)])
    B.wait_answer_change(page, "no digit")
    before = B.headline(page)
    B.stroke(page, [(130, 60), (250, 60), (180, 230)])
    text = B.wait_answer_change(page, before)
    page.screenshot(path=SHOTS / "number-mode.png", full_page=True)
    assert text.startswith("17"), text


def test_upload_a_phone_photo(page, tmp_path):
    photo = tmp_path / "seven.jpg"
    photo.write_bytes(photo_of_seven((4000, 3000)))
    page.get_by_role("tab", name="Upload").click()
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(str(photo))
    page.wait_for_selector(".st-key-upload_0", timeout=30000)
    page.screenshot(path=SHOTS / "upload-photo.png", full_page=True)
    assert page.locator(".st-key-upload_0").inner_text().strip().startswith("7")


def test_a_bad_upload_is_a_message_not_a_crash(page, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"this is not a picture")
    good = tmp_path / "seven.png"
    good.write_bytes(photo_of_seven())
    page.get_by_role("tab", name="Upload").click()
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files([str(bad), str(good)])
    page.wait_for_selector("[data-testid=stAlertContentWarning]", timeout=30000)
    assert "notes.png" in page.locator("[data-testid=stAlertContentWarning]").inner_text()
    page.wait_for_selector(".st-key-upload_1", timeout=30000)
    assert page.locator(".st-key-upload_1").inner_text().strip().startswith("7")
    assert page.locator("[data-testid=stException]").count() == 0


@pytest.mark.parametrize("path,title", [("/draw", "Draw & upload"), ("/train", "Train & compare"),
                                        ("/mistakes", "Confusion matrix"), ("/", "digitrec")])
def test_deep_link_on_a_fresh_server(browser, path, title):
    """The first page a fresh server serves, opened by its URL: the app's own navigation and
    model picker, not Streamlit's folder-of-pages mode."""
    with B.streamlit_server() as fresh:
        pg = browser.new_page(viewport={"width": 1300, "height": 1000})
        pg.goto(fresh.url + path)
        B.wait_ready(pg, 120)
        pg.wait_for_selector("h1")
        assert pg.locator("h1").first.inner_text().startswith(title)
        nav = pg.locator("[data-testid=stSidebarNav]").inner_text()
        assert all(p in nav for p in ("Home", "Draw & upload", "Train & compare", "Confusion matrix"))
        assert "streamlit app" not in nav.lower()
        # the rerun that leaves the folder mode may still be drawing the sidebar: wait for the picker
        pg.wait_for_selector("[data-testid=stSidebar] [data-testid=stSelectbox]", timeout=30000)
        assert pg.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").count() == 1
        pg.screenshot(path=SHOTS / f"fresh{path.replace('/', '-') or '-home'}.png", full_page=True)
        pg.close()


def table_rows(page, key: str) -> list[list[str]]:
    """The cells of an st.dataframe, row by row (from the grid's accessible table)."""
    cells = page.locator(f".st-key-{key} table tbody tr")
    return [r.locator("td").all_inner_texts() for r in cells.all()]


def slide(page, key: str, presses: int) -> None:
    """Move a slider with the keyboard, as a person can: focus its thumb, press an arrow key."""
    thumb = page.locator(f".st-key-{key} input[type=range]")
    thumb.wait_for(state="attached", timeout=30000)
    thumb.focus()
    for _ in range(abs(presses)):
        thumb.press("ArrowRight" if presses > 0 else "ArrowLeft")
    B.wait_ready(page)


def test_train_a_baseline_watch_it_and_find_it_in_the_table(tab, server):
    tab.goto(server.url + "/train")
    B.wait_ready(tab, 120)
    tab.wait_for_selector(".st-key-runs_table table tbody tr", state="attached")
    rows_before = len(table_rows(tab, "runs_table"))
    slide(tab, "train_epochs", -2)  # 5 -> 3
    slide(tab, "train_batch", -1)  # 32 -> 16: more batches, time to look around
    assert tab.locator(".st-key-train_epochs input[type=range]").input_value() == "3"
    tab.locator(".st-key-go_train button").click()
    tab.wait_for_function("() => /epoch 1 of 3/.test(document.querySelector('.st-key-live')?.innerText || '')",
                          timeout=60000)
    # switch page and come back while it trains: the run is still there, still going
    tab.locator("[data-testid=stSidebarNav] a", has_text="Draw & upload").click()
    B.wait_ready(tab)
    tab.locator("[data-testid=stSidebarNav] a", has_text="Train & compare").click()
    tab.wait_for_function("() => /epoch \\d of 3 · batch/.test(document.querySelector('.st-key-live')?.innerText || '')",
                          timeout=60000)
    assert tab.locator(".st-key-train_epochs input[type=range]").input_value() == "3"  # the settings stayed
    tab.wait_for_selector(".st-key-live_weights img", timeout=30000)  # the templates, as they form
    points = "() => document.querySelector('.st-key-live .js-plotly-plot')?.data?.[0]?.x?.length || 0"
    # generous waits: the worker runs at nice 19, so on a machine busy with other work an epoch can
    # take minutes; on a quiet one these return within seconds
    tab.wait_for_function(f"() => ({points})() >= 1", timeout=300000)
    first = tab.evaluate(points)
    tab.screenshot(path=SHOTS / "train-live.png", full_page=True)
    tab.wait_for_selector("[data-testid=stAlertContentSuccess]", timeout=600000)
    assert tab.evaluate(points) == 3 > first  # the curve grew epoch by epoch
    assert "test accuracy" in tab.locator("[data-testid=stAlertContentSuccess]").inner_text()
    tab.wait_for_function(f"() => document.querySelectorAll('.st-key-runs_table table tbody tr').length > {rows_before}",
                          timeout=10000)
    new = [r for r in table_rows(tab, "runs_table") if r and r[0].startswith("linear-e3-")]
    assert len(new) == 1 and new[0][1] == "run" and new[0][4] == "3"
    tab.screenshot(path=SHOTS / "train-done.png", full_page=True)
    assert tab.locator("[data-testid=stException]").count() == 0


CLICK_CELL_JS = """() => {
  // The off-diagonal cell with the most images, and where it is on screen.
  const g = document.querySelector('.st-key-cm_chart .js-plotly-plot');
  const z = g.calcdata[0][0].z, xa = g._fullLayout.xaxis, ya = g._fullLayout.yaxis, box = g.getBoundingClientRect();
  let best = [0, 0, -1];
  z.forEach((row, t) => row.forEach((v, p) => { if (t !== p && v > best[2]) best = [t, p, v]; }));
  return {t: best[0], p: best[1], count: best[2],
          x: box.left + xa._offset + xa.c2p(String(best[1])), y: box.top + ya._offset + ya.c2p(String(best[0]))};
}"""


def click_and_see(tab, point, heading: str) -> None:
    """Point at a chart's mark as a person does (hover, then click), and wait for the heading it opens."""
    tab.mouse.move(point["x"] - 3, point["y"] - 3)
    tab.mouse.move(point["x"], point["y"], steps=3)
    tab.mouse.click(point["x"], point["y"])
    tab.wait_for_function("(h) => [...document.querySelectorAll('h3')].some(e => e.innerText.startsWith(h))",
                          arg=heading, timeout=30000)
    B.wait_ready(tab)


def test_click_a_cell_to_see_its_mistakes_and_compare_two_models(tab, server):
    tab.goto(server.url + "/mistakes")
    B.wait_ready(tab, 180)
    tab.wait_for_selector(".st-key-cm_chart .js-plotly-plot", timeout=180000)
    tab.wait_for_selector(".st-key-gallery img", timeout=30000)
    cell = tab.evaluate(CLICK_CELL_JS)
    assert cell["count"] > 0
    click_and_see(tab, cell, f"True {cell['t']}, read as {cell['p']}")
    captions = tab.locator(".st-key-gallery [data-testid=stImageCaption]").all_inner_texts()
    assert len(captions) == min(cell["count"], 50)
    assert all(c.startswith(f"true {cell['t']} → {cell['p']} ·") for c in captions), captions
    tab.screenshot(path=SHOTS / "mistakes-cell.png", full_page=True)
    counts = tab.locator(".st-key-diff_counts [data-testid=stMetricValue]").all_inner_texts()
    fixed, broken = (int(c.replace(",", "")) for c in counts)
    assert fixed + broken > 0
    assert tab.get_by_role("tab", name=f"Fixed by improved ({fixed})").count() == 1
    assert tab.get_by_role("tab", name=f"Broken by improved ({broken})").count() == 1
    shown = tab.locator(".st-key-gallery_fixed [data-testid=stImageCaption]").all_inner_texts()
    assert len(shown) == min(fixed, 50) and all(" cnn " in c and " improved " in c for c in shown)
    assert tab.locator("[data-testid=stException]").count() == 0


BAR_JS = """(name) => {
  // The middle of the widest segment of the bar trace `name` (a refusal test), on screen.
  const g = document.querySelector('.st-key-refusals .js-plotly-plot');
  const t = g._fullData.findIndex(d => d.name === name);
  if (t < 0) return null;
  const d = g._fullData[t], xa = g._fullLayout.xaxis, ya = g._fullLayout.yaxis, box = g.getBoundingClientRect();
  let best = -1;
  d.x.forEach((v, i) => { if (best < 0 || v > d.x[best]) best = i; });
  if (!(d.x[best] > 0)) return null;
  const cd = g.calcdata[t][best];  // a horizontal bar: from base b to b + s along x, at position p
  const x0 = xa.c2p(cd.b || 0), x1 = xa.c2p((cd.b || 0) + cd.s);
  return {style: d.customdata[best][0], outcome: d.customdata[best][1],
          x: box.left + xa._offset + (x0 + x1) / 2, y: box.top + ya._offset + ya.c2p(cd.p)};
}"""


def open_view(tab, server, view: str, key: str) -> None:
    """The Confusion page's `view`, its chart (in `st-key-<key>`) drawn."""
    tab.goto(server.url + "/mistakes")
    B.wait_ready(tab, 180)
    tab.locator(".st-key-cm_view button", has_text=view).click()
    tab.wait_for_selector(f".st-key-{key} .js-plotly-plot", timeout=300000)
    B.wait_ready(tab)


def test_click_a_refused_bar_to_see_its_images(tab, server):
    open_view(tab, server, "Refusals", "refusals")
    bar = next(b for b in (tab.evaluate(BAR_JS, n) for n in ("other", "low confidence", "gate", "novelty")) if b)
    click_and_see(tab, bar, f"{bar['style']}: {bar['outcome'].replace('_', ' ')} (")
    assert tab.locator(".st-key-rf_gallery img").count() >= 1
    tab.screenshot(path=SHOTS / "refusals.png", full_page=True)
    assert tab.locator("[data-testid=stException]").count() == 0


def pick_model(page, label: str) -> None:
    """The sidebar's model picker, as a person uses it: open it, click the option."""
    page.locator("[data-testid=stSidebar] [data-testid=stSelectbox] input").click()
    page.get_by_role("option", name=label).click()
    B.wait_ready(page)


def test_the_first_choice_on_a_fresh_server_sticks(browser):
    """The very first session of a fresh server once lost its first choice of model (Streamlit's
    first run took the pages/ folder for an old-style app): choose, switch page, still chosen."""
    with B.streamlit_server() as fresh:
        pg = browser.new_page(viewport={"width": 1300, "height": 1000})
        pg.goto(fresh.url + "/")
        B.wait_ready(pg, 120)
        pg.wait_for_selector("[data-testid=stDataFrame]")
        pick_model(pg, "baseline")
        picker = pg.locator("[data-testid=stSidebar] [data-testid=stSelectbox] input")
        assert picker.input_value().startswith("baseline")
        pg.locator("[data-testid=stSidebarNav] a", has_text="Confusion matrix").click()
        pg.wait_for_function("() => [...document.querySelectorAll('[data-testid=stMetricValue]')]"
                             ".some(e => e.innerText.includes(' of 10,000'))", timeout=120000)
        assert picker.input_value().startswith("baseline")
        assert "baseline" in pg.locator("[data-testid=stCaptionContainer]").all_inner_texts()[0]
        pg.close()


def test_on_a_phone_the_answer_stays_in_view_while_drawing(browser, server):
    """390x844 with touch: the columns stack and the answer falls below the canvas; its headline
    is repeated above the canvas, inside the screen, after a stroke drawn with a finger."""
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    pg = ctx.new_page()
    pg.goto(server.url + "/draw")
    B.wait_ready(pg, 120)
    B.wait_canvas(pg)
    pg.locator(B.CANVAS).scroll_into_view_if_needed()
    B.touch_stroke(pg, B.SEVEN[0])
    mini = pg.locator(".st-key-answer_mini .headline-mini")
    pg.wait_for_function("() => /^7/.test(document.querySelector('.st-key-answer_mini .headline-mini')?.innerText || '')",
                         timeout=30000)
    box, canvas = mini.bounding_box(), pg.locator(B.CANVAS).bounding_box()
    pg.screenshot(path=SHOTS / "phone-draw.png")
    assert 0 <= box["y"] and box["y"] + box["height"] <= 844  # on screen, with the canvas
    assert box["y"] < canvas["y"] < 844
    assert "%" in mini.inner_text()  # and its confidence
    ctx.close()


POINT_JS = """() => {
  // A mistake's point on the map (a cross), and the plot area's middle, on screen.
  const g = document.querySelector('.st-key-map .js-plotly-plot');
  const xa = g._fullLayout.xaxis, ya = g._fullLayout.yaxis, box = g.getBoundingClientRect();
  const at = (x, y) => ({x: box.left + xa._offset + xa.c2p(x), y: box.top + ya._offset + ya.c2p(y)});
  for (const d of g._fullData) {
    const k = [...d.marker.symbol].findIndex(s => s === 'x');
    if (k >= 0) return {point: at(d.x[k], d.y[k]), middle: {x: box.left + xa._offset + xa._length / 2,
                                                             y: box.top + ya._offset + ya._length / 2},
                        n: g._fullData.reduce((a, t) => a + t.x.length, 0)};
  }
  return null;
}"""


def test_map_click_a_point_then_lasso_a_group(tab, server):
    open_view(tab, server, "Map", "map")
    found = tab.evaluate(POINT_JS)
    assert found["n"] == 10000  # every MNIST test image
    click_and_see(tab, found["point"], "Image #")
    assert tab.locator("[data-testid=stMain] [data-testid=stImage] img").count() >= 9  # the image and its 8 neighbours
    tab.locator(".st-key-map .modebar-btn[data-title='Lasso Select']").click()
    m = found["middle"]
    tab.mouse.move(m["x"] - 40, m["y"] - 40)
    tab.mouse.down()
    for dx, dy in ((40, -40), (40, 40), (-40, 40), (-40, -40)):
        tab.mouse.move(m["x"] + dx, m["y"] + dy, steps=5)
    tab.mouse.up()
    tab.wait_for_function("() => [...document.querySelectorAll('h3')].some(e => / images selected/.test(e.innerText))",
                          timeout=30000)
    B.wait_ready(tab)
    assert tab.locator(".st-key-map_gallery img").count() >= 2
    tab.screenshot(path=SHOTS / "map.png", full_page=True)
    assert tab.locator("[data-testid=stException]").count() == 0


def test_inside_view_of_a_drawing(page):
    B.draw_and_time(page, B.SEVEN)
    page.get_by_text("Inside the network").click()
    page.wait_for_function("() => document.querySelectorAll('.st-key-inside img').length >= 4",  # a grid a layer
                           timeout=60000)
    page.screenshot(path=SHOTS / "inside-draw.png", full_page=True)
    assert page.locator("[data-testid=stException]").count() == 0


def test_watch_a_run_learn(tab, server):
    tab.goto(server.url + "/train")
    B.wait_ready(tab, 120)
    tab.wait_for_selector(".st-key-weights img", timeout=60000)
    B.wait_ready(tab)
    # the newest runs (a run trained earlier in this module), else the shipped baseline and improved
    assert tab.locator(".st-key-weights [data-testid=stSlider]").count() >= 1
    tab.screenshot(path=SHOTS / "watch-learn.png", full_page=True)
    assert tab.locator("[data-testid=stException]").count() == 0
