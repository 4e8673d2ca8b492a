"""Widgets the pages share: the drawing canvas and how an answer is shown. Layout only; every
result comes from core/."""
from __future__ import annotations

import gc

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from core import bundle, figures
from core.recognizer import REASONS, REFUSAL_TESTS, tests_on

CANVAS = 280  # px: ten times MNIST's 28, big enough for a finger


def settle_startup() -> None:
    """Once per server process: move everything imported so far (Streamlit, Plotly, pandas, NumPy,
    ...) out of the garbage collector's reach. Streamlit runs a full gc.collect(2) after every
    script run, which otherwise walks those ~130,000 objects each time: ~60 ms holding the GIL per
    stroke, per session. They live as long as the server anyway."""
    if not getattr(settle_startup, "done", False):
        gc.freeze()
        settle_startup.done = True


# Two fixes to the canvas component (streamlit-drawable-canvas 0.13), made from the page: a tiny
# component of ours (isolate_styles=False, so its script runs in the page) reaches into the
# canvas's shadow root.
# 1. Its toolbar (undo, redo, reset) is invisible and lies *over* the canvas's top-right corner
#    until the pointer hovers it, so a stroke that starts there with no hover first (a finger, a
#    stylus, a quick mouse) lands on the toolbar and is lost. A style sheet pins the toolbar,
#    visible, above the canvas.
# 2. It sends a stroke 200 ms after the pointer is released (a debounce), which is most of the
#    time a person waits for the answer. When a stroke ends we press the component's own
#    "Update the app with this drawing" button, which sends at once and cancels the pending send.
# tests/test_browser.py draws from the top edge with no hover; benchmarks/ui_bench.py times it.
_CANVAS_FIX_JS = """
export default function () {
  // Only the visible card takes the pointer; the toolbar's padding lets strokes through.
  const css = ".dc-toolbar{opacity:1 !important;top:-2.65rem !important;pointer-events:none}" +
              ".dc-toolbar-card{pointer-events:auto}";
  const fix = (host) => {
    const root = host.shadowRoot;
    if (!root || !root.querySelector(".dc-toolbar") || root.querySelector("style[data-digitrec]")) return;
    const style = document.createElement("style");
    style.dataset.digitrec = "1";
    style.textContent = css;
    root.appendChild(style);
    let drawing = false;
    root.addEventListener("pointerdown", (e) => { drawing = e.target.classList.contains("upper-canvas"); }, true);
    const release = () => {
      if (!drawing) return;
      drawing = false;
      // after the component's own handlers (they save the stroke in a microtask)
      setTimeout(() => root.querySelector('.dc-toolbar button[title^="Update the app"]')?.click(), 0);
    };
    window.addEventListener("pointerup", release, true);
    window.addEventListener("pointercancel", release, true);
  };
  const all = () => document.querySelectorAll('[data-testid="stBidiComponentIsolated"]').forEach(fix);
  all();
  const timer = setInterval(all, 200);  // the canvas fills its shadow root after mounting, unseen by observers
  return () => clearInterval(timer);
}
"""
_canvas_fix = st.components.v2.component("digitrec.canvas_fix", js=_CANVAS_FIX_JS, isolate_styles=False)


def canvas(key: str, brush: int):
    """A 280x280 canvas, white ink on black like MNIST. Returns the RGBA pixels, or None while
    nothing is drawn."""
    _canvas_fix(key=f"{key}_fix")
    st.markdown('<div style="height:2.2rem"></div>', unsafe_allow_html=True)  # room for the toolbar
    result = st_canvas(stroke_width=brush, stroke_color="#ffffff", background_color="#000000",
                       width=CANVAS, height=CANVAS, drawing_mode="freedraw", return_image_data=True,
                       key=key)
    drawn = result.json_data and result.json_data.get("objects")
    return result.image_data if drawn else None


def big(text: str, rem: float = 5) -> None:
    """The answer's headline: the digit, the number, "uncertain" or "no digit"."""
    st.markdown(f"<div class='headline' style='font-size:{rem}rem;font-weight:700;line-height:1.1'>{text}</div>",
                unsafe_allow_html=True)


def headline_above(text: str) -> None:
    """The answer's headline again, above the canvas, for narrow screens only: there the columns
    stack and the answer falls below the canvas, out of view while one draws."""
    st.html("<style>@media (min-width: 640px) {.st-key-answer_mini {display: none}}</style>")
    st.markdown(f"<div class='headline-mini' style='font-size:1.8rem;font-weight:700;line-height:1.2'>{text}</div>",
                unsafe_allow_html=True)


def status_sentence(p, calibration: dict | None = None) -> str:
    """One plain sentence: what the status means for this answer."""
    if p.status == "ok":
        return f"The network is {p.confidence:.0%} sure."
    if p.guess is None:
        return "No ink was found: the picture looks blank."
    if p.status == "uncertain":
        need = f" (it answers from {calibration['ok_threshold']:.0%})" if calibration else ""
        return f"Most likely a {p.guess}, but only {p.confidence:.0%} sure{need}: too unsure to answer."
    why = REASONS.get(getattr(p, "reason", ""), "This ink is unlike the digits the network knows")
    return f"{why}, so it gives no digit. Its best guess would have been {p.guess}."


def headline(p) -> str:
    return str(p.digit) if p.status == "ok" else ("uncertain" if p.status == "uncertain" else "no digit")


def short_answer(p) -> str:
    """The headline and its confidence, in a few characters."""
    return headline(p) + (f" · {p.confidence:.0%}" if p.guess is not None else "")


def number_headline(r) -> str:
    return r.text if r.status == "ok" else ("no digit" if r.text is None else f"uncertain: {r.text}")


def digit_answer(p, calibration: dict | None = None, key: str = "answer", compact: bool = False) -> None:
    """The answer to one digit: the digit large, why, the ten probabilities, what the network saw."""
    with st.container(key=key):
        big(headline(p), 3 if compact else 5)
        st.markdown(f"**{p.status}**: {status_sentence(p, calibration)}")
    if p.guess is None:
        return
    chart, saw = st.columns([3, 1]) if not compact else (st.container(), None)
    with chart.container(key=f"{key}_probs"):
        probability_bars(p.probabilities, p.guess)
    if saw is not None:
        saw.image(enlarge(p.input), caption="what the network saw (28x28)", width=140)


def probability_bars(probs, highlight: int | None = None) -> None:
    """The ten probabilities as plain bars: one HTML element, no chart library. A stroke redraws
    them, and a Plotly figure cost about 20 ms to build, and more to draw, each time."""
    bars = "".join(
        f"<div title='{d}: {v:.1%}' style='flex:1;display:flex;flex-direction:column;align-items:center'>"
        f"<div style='flex:1;width:70%;display:flex;flex-direction:column;justify-content:flex-end'>"
        f"<span style='font-size:.7rem;text-align:center'>{v:.0%}</span>"
        f"<div style='height:calc({max(v, 0.005):.3f} * (100% - 1rem));"
        f"background:{'#e4572e' if d == highlight else '#8aa1b1'}'></div></div><span>{d}</span></div>"
        for d, v in enumerate(np.asarray(probs, float)))
    st.html(f"<div class='probabilities' role='img' aria-label='probability of each digit' "
            f"style='display:flex;gap:4px;height:180px'>{bars}</div>")


def number_answer(r, image, key: str = "answer") -> None:
    """A number: the digits read, a box per digit over the image, a confidence per digit."""
    with st.container(key=key):
        big(number_headline(r), 4)
        st.markdown({"ok": "**ok**: every digit was read with confidence.",
                     "uncertain": "**uncertain**: at least one digit is not sure (see below).",
                     "no_digit": "**no_digit**: no digit was found."}[r.status])
    if r.digits:
        st.image(figures.boxed(image, [p.box for p in r.digits], [str(p.guess) for p in r.digits]),
                 caption="each box is one digit, read left to right")
        st.dataframe([{"digit": p.guess, "confidence": p.confidence, "status": p.status} for p in r.digits],
                     hide_index=True, column_config={"confidence": st.column_config.ProgressColumn(
                         format="percent", min_value=0.0, max_value=1.0)})


def steps(step_images) -> None:
    """Each preprocessing step as a picture, so a learner sees why a plain resize fails."""
    cols = st.columns(len(step_images))
    for col, (name, img) in zip(cols, step_images):
        col.image(enlarge(img) if img.shape == (28, 28) else img, caption=name, clamp=True)


def panels(shown, key: str) -> None:
    """core.inside panels in order (layer by layer): a title, the tiles with their labels, and
    what they show."""
    for i, p in enumerate(shown):
        with st.container(key=f"{key}_panel{i}"):
            st.markdown(f"**{p.title}**")
            grid = figures.tile_grid(p.images, p.labels, p.cols, p.diverging)
            st.image(grid, width=min(grid.shape[1], 760), output_format="PNG")  # PNG: blocks stay sharp
            st.caption(p.about)


def gallery(images, captions, width: int = 84) -> None:
    """28x28 digits enlarged, in rows, each with its caption: one element for the lot (fast)."""
    st.image([enlarge(img, 3) for img in images], caption=captions, width=width)


def enlarge(img: np.ndarray, factor: int = 5) -> np.ndarray:
    """Pixels as blocks (nearest neighbour): the 28x28 input stays visibly 28x28."""
    return np.kron(np.asarray(img), np.ones((factor, factor), np.uint8))


def _refusal_tests(cal: dict) -> str:
    """"its own *not a digit* class and a digit-or-not gate": the tests a calibration switched
    on (recognizer.tests_on), in words, in the order they are asked."""
    names = [REFUSAL_TESTS[t][1] for t in tests_on(cal)]
    if not names:
        return "no other test"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def model_card(meta: bundle.Meta | None) -> None:
    """What a user should know about a model: how good, how big, how made, how it says "not sure"."""
    def pct(v):
        return "n/a" if v is None else f"{v:.2%}"

    if meta is None:
        st.caption("Its meta.json cannot be read.")
        return
    cal = meta.calibration
    epochs = f"{meta.epochs} of {meta.epochs_planned} epochs (stopped)" if meta.stopped else f"{meta.epochs} epochs"
    st.markdown(
        f"**{meta.name}**: test accuracy **{pct(meta.test_accuracy)}** on the 10,000 "
        f"MNIST test images (validation {pct(meta.val_accuracy)})  \n"
        f"{meta.parameters:,} parameters · {epochs} · {meta.train_images:,} training images · "
        f"{meta.train_seconds:.0f} s to train · made {(meta.created or '?')[:16].replace('T', ' ')}")
    if meta.networks > 1 or meta.read_at != 28:
        learned = f", {meta.traced_letters} of them also on letters traced by hand" if meta.traced_letters else ""
        most = max(meta.styled)
        if 0 < min(meta.styled) < most:  # recipes that differ in how many seen-style digits they learned
            learned += (f", {sum(v == most for v in meta.styled)} on {most:,} digits in the seen styles "
                        f"(the others on {min(meta.styled):,})")
        st.markdown((f"{meta.networks} networks trained apart{learned}, their answers averaged. "
                     if meta.networks > 1 else "")
                    + (f"Reads each image shrunk to {meta.read_at} px in its 28x28 frame, the size at which "
                       "it read the validation digits best." if meta.read_at != 28 else ""))
    if cal:
        st.markdown(
            f"Calibrated: answers from {cal['ok_threshold']:.0%} confidence (temperature "
            f"{cal['temperature']}); {_refusal_tests(cal)} say *no digit*. "
            f"On {cal.get('measured_on', 'held-out images')} "
            f"it refused {cal.get('digits_refused', 0):.1%} of digits"
            + (f" (at most {cal['worst_style_refused']:.1%}, {cal['worst_style']})" if "worst_style" in cal else "")
            + f" and {cal.get('nondigits_refused', 0):.1%} of non-digits"
            f"{'' if cal.get('held_out') else ' (not held out: the model trained on those digits)'}.")
    else:
        st.markdown("Not calibrated: it answers from 50% confidence and has no check for non-digits.")
